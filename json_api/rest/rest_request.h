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
 * Reads the JSON body (text, len bytes; NULL reads as "") of a request
 * bound by b, matched as m, into req (initialised for b->op): the body's
 * members are the request's fields but those the query carries, and one
 * that the path carries may repeat it (NIMBUS_REST_BODY_MEMBERS), or the
 * body is one field's value (NIMBUS_REST_BODY_FIELD). Returns 0; -1 with
 * err when the body must be refused before anything else is looked at (not
 * JSON, nested too deeply, not an object: "the request body must be a JSON
 * object"); or 1 with err when its members do not make the request
 * ("request body: unknown member "x"", "stationId in the body must equal
 * the path's", "observations[3].temperature must be a number"), which the
 * caller hands to nimbus__rest_request to report after the path and the
 * query, as when the body was read last.
 */
int nimbus__rest_body(const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                      const char *text, size_t len, nimbus_json_request_t *req,
                      nimbus_error_t *err);

/*
 * Fills req (for b->op, initialised, its body already read by
 * nimbus__rest_body) from the path's {param} (m) and the parsed query (may
 * be NULL; its values are borrowed, so it must outlive req), then reports
 * body_err (the body's refusal from nimbus__rest_body, or NULL). Refusals
 * are INVALID_ARGUMENT and name the part: "unknown query parameter "x"",
 * "query parameter limit is given more than once", "limit must be an
 * integer", "path parameter id is not valid text". Call
 * nimbus_json_request_cleanup on req either way.
 */
int nimbus__rest_request(const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                         const struct evkeyvalq *query, const nimbus_error_t *body_err,
                         nimbus_json_request_t *req, nimbus_error_t *err);

#endif
