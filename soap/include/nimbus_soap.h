/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SOAP front-end's entry points: POST /soap (SOAP 1.1 and 1.2) and GET
 * /soap?wsdl. Everything else of soap/ (the gSOAP context hosted on evhttp,
 * the pre-parse scan, the converters, the Fault renderer) is private to it.
 *
 * Ownership: nimbus_soap_worker_new returns state the server owns and
 * frees with nimbus_soap_worker_free after w's loop has ended; NULL with
 * err.
 */
#ifndef NIMBUS_SOAP_H
#define NIMBUS_SOAP_H

#include "nimbus_http.h"

nimbus_soap_worker_t *nimbus_soap_worker_new(nimbus_worker_t *w, nimbus_error_t *err);
void nimbus_soap_worker_free(nimbus_soap_worker_t *soap);
void nimbus_soap_handle(nimbus_worker_t *w, struct evhttp_request *req);

#endif
