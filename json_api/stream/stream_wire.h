/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The server's messages on /v1/stream as text. nimbus__stream_error_text is
 * THE one place a nimbus_error_t becomes a WebSocket `error` message; every
 * other server message is built by nimbus__stream_message_text (or starts
 * with nimbus__stream_prefix_text), so ids are always echoed the same way (a
 * JSON string, or null when none could be read) and `type` comes first.
 * Strings are escaped by the one JSON writer (nimbus_json.h).
 */
#ifndef NIMBUS_STREAM_WIRE_H
#define NIMBUS_STREAM_WIRE_H

#include <stddef.h>

#include "nimbus_error.h"

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

#endif
