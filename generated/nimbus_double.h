/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * soapcpp2 input: declares xsd__double as an external (custom) type, so
 * soapcpp2 emits calls to serializers we write ourselves (nimbus_double.c)
 * instead of gSOAP's printf("%.17lg"). Imported through typemap.dat.
 */
extern typedef double xsd__double;
