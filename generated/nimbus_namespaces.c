/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The XML namespace tables of the generated code, kept here instead of the
 * soapcpp2-generated .nsmap so that both orders exist: gSOAP takes the SOAP
 * version of a message it cannot parse (and so of the Fault it answers with)
 * from the first entry, so the host picks nimbus_soap11_namespaces or
 * nimbus_soap12_namespaces per request from the Content-Type. Each entry's
 * third column is the other version's URI, which gSOAP also accepts on input.
 * `namespaces` is the default that soap_init() installs (libgsoap refers to
 * it by that name).
 */
#include "soapH.h"

#include "nimbus_soap_namespaces.h"

#define NIMBUS_NS_COMMON                                                                           \
    {"xsi", "http://www.w3.org/2001/XMLSchema-instance", "http://www.w3.org/*/XMLSchema-instance", \
     NULL},                                                                                        \
        {"xsd", "http://www.w3.org/2001/XMLSchema", "http://www.w3.org/*/XMLSchema", NULL},        \
        {"nimbus", "urn:nimbus:weather:v1", NULL, NULL},                                           \
        {"wsse",                                                                                   \
         "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",      \
         NULL, NULL},                                                                              \
        {"wsu",                                                                                    \
         "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd",     \
         NULL, NULL},                                                                              \
    {                                                                                              \
        NULL, NULL, NULL, NULL                                                                     \
    }

struct Namespace nimbus_soap11_namespaces[] = {
    {"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/",
     "http://www.w3.org/2003/05/soap-envelope", NULL},
    {"SOAP-ENC", "http://schemas.xmlsoap.org/soap/encoding/",
     "http://www.w3.org/2003/05/soap-encoding", NULL},
    NIMBUS_NS_COMMON};

struct Namespace nimbus_soap12_namespaces[] = {
    {"SOAP-ENV", "http://www.w3.org/2003/05/soap-envelope",
     "http://schemas.xmlsoap.org/soap/envelope/", NULL},
    {"SOAP-ENC", "http://www.w3.org/2003/05/soap-encoding",
     "http://schemas.xmlsoap.org/soap/encoding/", NULL},
    NIMBUS_NS_COMMON};

struct Namespace namespaces[] = {{"SOAP-ENV", "http://schemas.xmlsoap.org/soap/envelope/",
                                  "http://www.w3.org/2003/05/soap-envelope", NULL},
                                 {"SOAP-ENC", "http://schemas.xmlsoap.org/soap/encoding/",
                                  "http://www.w3.org/2003/05/soap-encoding", NULL},
                                 NIMBUS_NS_COMMON};
