/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A REST request's parts (path segment, query, JSON body) read straight
 * into the operation's request struct, through the binding table and the
 * operation's field table. Internal to json_api/rest.
 */
#ifndef NIMBUS_REST_REQUEST_H
#define NIMBUS_REST_REQUEST_H

#include <sys/queue.h>

#include <event2/keyvalq_struct.h>

#include "rest_binding.h"
#include "rest_route.h"

/*
 * Fills req (for b->op) from the path's {param} (m), the parsed query
 * (may be NULL; its values are borrowed, so it must outlive req) and the
 * body (a JSON object, or NULL when b reads none; borrowed likewise).
 * Refusals are INVALID_ARGUMENT and name the part: "unknown query parameter
 * "x"", "query parameter limit is given more than once", "limit must be an
 * integer", "request body: unknown member "x"", "stationId in the body
 * must equal the path's", "path parameter id is not valid text". Call
 * nimbus_json_request_cleanup on req either way.
 */
int nimbus__rest_request(const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                         const struct evkeyvalq *query, json_t *body, nimbus_json_request_t *req,
                         nimbus_error_t *err);

#endif
