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

/* The answer of a SINGLE call: rc 0 with the response fields as JSON
 * object text (heap, len bytes, now the callee's), or -1 with err (valid
 * during the call only). */
typedef void (*nimbus_stream_result_fn)(void *arg, int rc, char *text, size_t len,
                                        const nimbus_error_t *err);

/*
 * Starts operation `op` (the contract's name) for caller with params (a JSON
 * object or NULL, borrowed). A LIST operation returns 0 with *call set to a
 * cursor the caller frees with nimbus__stream_call_free. A SINGLE operation
 * returns 0 with *call NULL and answers through result(arg, ...): before
 * this returns for a read, or later on svc's thread for a write, once it
 * committed (the worker goes on serving meanwhile). Returns -1 with err
 * (INVALID_ARGUMENT for an unknown op or bad params, the caller's refusal,
 * or whatever a LIST operation's first page failed with); result is then
 * not called. creds must stay valid while a LIST call lives. The call is
 * taken from the caller's rate limit (client: the peer's address, the
 * subject when the server has no keys) before its params are read.
 */
int nimbus__stream_call_start(nimbus_service_t *svc, const nimbus_credentials_t *creds,
                              const char *client, const char *op, json_t *params,
                              nimbus_stream_result_fn result, void *arg,
                              nimbus_stream_call_t **call, nimbus_error_t *err);

/* The next item of a LIST call: returns 1 with *item its JSON object text
 * (heap, the caller frees), 0 when every item was given, -1 with err when
 * fetching a page failed or memory ran out (the call is then finished). */
int nimbus__stream_call_next(nimbus_stream_call_t *call, char **item, nimbus_error_t *err);

/* Items given so far. */
size_t nimbus__stream_call_count(const nimbus_stream_call_t *call);

void nimbus__stream_call_free(nimbus_stream_call_t *call); /* NULL-safe */

#endif
