/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * soapcpp2 input: the service description wsdl2h produced from
 * wsdl/nimbus.wsdl (nimbus.h, in the build tree) plus the WS-Security
 * header we accept. soapcpp2 -c turns this into soapStub.h, soapH.h,
 * soapC.c, soapServer.c and soapClient.c.
 */
#import "nimbus.h"
#import "nimbus_wsse.h"
