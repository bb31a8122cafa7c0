/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST front-end's one entry point: the server hands it every request
 * under /v1/ except /v1/stream (and unknown paths, which it answers 404 in
 * problem+json). Everything else of json_api/rest is private to it.
 */
#ifndef NIMBUS_REST_H
#define NIMBUS_REST_H

#include "nimbus_http.h"

/* Answers req on w's thread: routing by the binding table, the operation
 * through the core, the answer or a problem+json. */
void nimbus_rest_handle(nimbus_worker_t *w, struct evhttp_request *req);

#endif
