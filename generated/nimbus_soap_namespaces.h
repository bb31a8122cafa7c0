/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Namespace tables for the generated gSOAP code (see nimbus_namespaces.c):
 * SOAP 1.1 first or SOAP 1.2 first. Install one with
 * soap_set_namespaces(soap, table) before receiving a message; the tables
 * are static and shared read-only by every thread.
 */
#ifndef NIMBUS_SOAP_NAMESPACES_H
#define NIMBUS_SOAP_NAMESPACES_H

#include "stdsoap2.h"

extern struct Namespace nimbus_soap11_namespaces[];
extern struct Namespace nimbus_soap12_namespaces[];

#endif
