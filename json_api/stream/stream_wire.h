/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The server's messages on /v1/stream as text, in each of its three
 * framings (contract 1.1: the resource is the same, the request chooses):
 *
 *   WS      one WebSocket text message each: {"type":T,"id":ID,...}
 *   NDJSON  the same object without "id", then "\n" (one subscription per
 *           response, so there is nothing for an id to tell apart)
 *   SSE     "event: T\n", "id: N\n" where the event marks a point to
 *           resume from (an observation's seq, a snapshot's or heartbeat's
 *           head), "data: {...members}\n\n"; an observation's data is the
 *           Observation itself
 *
 * nimbus__stream_error_text is THE one place a nimbus_error_t becomes a
 * WebSocket `error` message; every other server message is built by
 * nimbus__stream_event_text (nimbus__stream_message_text is its WebSocket
 * form), so ids are always echoed the same way (a JSON string, or null when
 * none could be read) and `type` comes first. Strings are escaped by the one
 * JSON writer (nimbus_json.h); our JSON never holds a raw line break, so an
 * SSE event's data is always one line.
 */
#ifndef NIMBUS_STREAM_WIRE_H
#define NIMBUS_STREAM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "nimbus_error.h"

typedef enum nimbus_stream_framing {
    NIMBUS_STREAM_WS,
    NIMBUS_STREAM_SSE,
    NIMBUS_STREAM_NDJSON
} nimbus_stream_framing_t;

/* "text/event-stream" or "application/x-ndjson" (WS: NULL). */
const char *nimbus__stream_media_type(nimbus_stream_framing_t framing);

/* {"type":"error","id":ID,"code":CODE,"message":TEXT,"requestId":RID}; id
 * NULL gives null; request_id is the connection's (its upgrade's
 * X-Request-Id, for a user to quote), and NULL or "" leaves it out.
 * Returns heap text the caller frees with free(), or NULL when out of
 * memory. *len (may be NULL) receives its length. */
char *nimbus__stream_error_text(const char *id, const nimbus_error_t *err, const char *request_id,
                                size_t *len);

/* {"type":TYPE,"id":ID} plus, when key is not NULL, "key":VALUE where value
 * is JSON text written as is. Returns heap text the caller frees, or NULL
 * when out of memory. */
char *nimbus__stream_message_text(const char *type, const char *id, const char *key,
                                  const char *value, size_t *len);

/* The start of such a message up to and including `"key":`, for messages
 * sent many times with different values (a subscription's observations):
 * prefix + VALUE + "}" is the whole message. Heap text, as above. */
char *nimbus__stream_prefix_text(const char *type, const char *id, const char *key, size_t *len);

/* One server message in `framing`: type, the subscription's or call's id
 * (WS only), members as JSON member text ("\"seq\":5", several separated
 * by commas; NULL for none), and the SSE event id (event_id < 0: none).
 * Returns heap text the caller frees, or NULL when out of memory. */
char *nimbus__stream_event_text(nimbus_stream_framing_t framing, const char *type, const char *id,
                                const char *members, int64_t event_id, size_t *len);

#endif
