/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `call` over WebSocket: any row of NIMBUS_OPERATIONS, with its request
 * fields as JSON. A SINGLE operation answers at once with its result; a LIST
 * operation becomes a cursor that yields one item at a time, fetching the
 * next page from the core only when the previous one is used up, so a
 * streamed call never holds more than one page (at most
 * NIMBUS_LIST_LIMIT_MAX results) in memory. `limit` caps the total.
 * Decoding and encoding are the JSON codecs' (nimbus_json.h); this file only
 * drives them page by page.
 */
#ifndef NIMBUS_STREAM_CALL_H
#define NIMBUS_STREAM_CALL_H

#include <stddef.h>

#include <jansson.h>

#include "nimbus_service.h"

typedef struct nimbus_stream_call nimbus_stream_call_t;

/*
 * Starts operation `op` (the contract's name) for caller with params (a JSON
 * object or NULL, borrowed). On success returns 0 and either sets *result to
 * the response fields as JSON object text (SINGLE operations; heap, the
 * caller frees) or *call to a cursor the caller frees with
 * nimbus__stream_call_free (LIST operations); the other is NULL. Returns -1
 * with err (INVALID_ARGUMENT for an unknown op or bad params, or whatever the
 * operation failed with). creds must stay valid while the call lives.
 */
int nimbus__stream_call_start(nimbus_service_t *svc, const nimbus_credentials_t *creds,
                              const char *op, json_t *params, char **result,
                              nimbus_stream_call_t **call, nimbus_error_t *err);

/* The next item of a LIST call: returns 1 with *item its JSON object text
 * (heap, the caller frees), 0 when every item was given, -1 with err when
 * fetching a page failed or memory ran out (the call is then finished). */
int nimbus__stream_call_next(nimbus_stream_call_t *call, char **item, nimbus_error_t *err);

/* Items given so far. */
size_t nimbus__stream_call_count(const nimbus_stream_call_t *call);

void nimbus__stream_call_free(nimbus_stream_call_t *call); /* NULL-safe */

#endif
