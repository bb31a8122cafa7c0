/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one place a nimbus_error_t becomes a SOAP Fault (contract, "Errors"):
 * faultcode SOAP-ENV:Client or SOAP-ENV:Server in SOAP 1.1, Sender or
 * Receiver in SOAP 1.2 (the side comes from the error table in
 * nimbus_error.h), faultstring / Reason = the message, and a detail holding
 * <ServiceFault><code/><message/></ServiceFault> as the WSDL declares. The
 * HTTP status is chosen by the host from the code and the SOAP version.
 * gSOAP's own failures (malformed XML, wrong types, unknown elements) come
 * here too and leave as INVALID_ARGUMENT, so clients see one fault shape.
 */
#include <stdio.h>
#include <string.h>

#include "soap_internal.h"

/* The request's id as an element of its own beside ServiceFault in the
 * Fault's detail, which takes any element (the WSDL's ServiceFault stays
 * as declared), so that a user can quote it as with problem+json's
 * requestId: <requestId xmlns="urn:nimbus:weather:v1">ID</requestId>. An id
 * holds only A-Z a-z 0-9 . _ - (nimbus_http_request_id_valid): nothing to
 * escape. NULL without one. In soap's memory. */
static char *request_id_element(struct soap *soap)
{
    nimbus_soap_worker_t *ws = soap->user;
    const char *id = ws ? ws->request_id : NULL;
    if (!id || !nimbus_http_request_id_valid(id)) {
        return NULL;
    }
    size_t size = strlen(id) + 64;
    char *xml = soap_malloc(soap, size);
    if (xml) {
        snprintf(xml, size, "<requestId xmlns=\"urn:nimbus:weather:v1\">%s</requestId>", id);
    }
    return xml;
}

/* The SOAP version the Fault will be written in. Before the envelope was
 * read gSOAP has none yet; the host's choice from the Content-Type stands
 * in, matching the namespace table it installed. */
static void settle_version(struct soap *soap)
{
    nimbus_soap_worker_t *ws = soap->user;
    if (soap->version != 1 && soap->version != 2) {
        soap->version = (short)(ws && ws->version == 2 ? 2 : 1);
    }
}

int nimbus__soap_fault(struct soap *soap, const nimbus_error_t *err)
{
    nimbus_soap_worker_t *ws = soap->user;
    nimbus_code_t code = err->code == NIMBUS_OK ? NIMBUS_INTERNAL : err->code;
    const char *text = err->message[0] ? err->message : nimbus_code_name(code);
    settle_version(soap);
    if (ws) {
        ws->fault_code = code;
        ws->retry_after_s = err->retry_after_s;
    }

    char *message = soap_strdup(soap, text);
    struct _nimbus__ServiceFault *sf = soap_new__nimbus__ServiceFault(soap, -1);
    if (!message || !sf) {
        return soap->error = SOAP_EOM;
    }
    if (nimbus_code_is_server_fault(code)) {
        soap_receiver_fault(soap, message, NULL);
    } else {
        soap_sender_fault(soap, message, NULL);
    }

    if (soap_s2nimbus__ErrorCode(soap, nimbus_code_name(code), &sf->code) != SOAP_OK) {
        soap->error = SOAP_FAULT; /* cannot happen: the WSDL lists every code */
        sf->code = nimbus__ErrorCode__INTERNAL;
    }
    sf->message = message;
    /* soap_faultdetail creates the Detail of the right version. */
    if (!soap_faultdetail(soap)) {
        return soap->error = SOAP_EOM;
    }
    struct SOAP_ENV__Detail *detail =
        soap->version == 2 ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
    detail->__any = request_id_element(soap);
    detail->__type = 0;
    detail->fault = NULL;
    detail->nimbus__ServiceFault = sf;
    return soap->error = SOAP_FAULT;
}

void nimbus__soap_fault_from_gsoap(struct soap *soap)
{
    int cause = soap->error;
    settle_version(soap);
    soap_set_fault(soap); /* gSOAP's own wording for soap->error */
    const char *why = soap_fault_string(soap);
    nimbus_error_t err;
    nimbus_error_set(&err, cause == SOAP_EOM ? NIMBUS_INTERNAL : NIMBUS_INVALID_ARGUMENT,
                     "malformed SOAP request: %s", why && *why ? why : "unreadable message");
    /* Start from a clean Fault so no gSOAP detail or subcode leaks through. */
    soap->fault = NULL;
    nimbus__soap_fault(soap, &err);
}
