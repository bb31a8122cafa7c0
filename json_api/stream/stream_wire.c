/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Server messages of the stream protocol, written with the one JSON writer
 * (json_api/json). Everything we send must be valid UTF-8 or the client
 * fails the connection with 1007, so an error message that nimbus_error_set
 * cut inside a multi-byte character is trimmed back to the last whole one.
 */
#include "stream_wire.h"

#include <stdio.h>
#include <string.h>

#include "nimbus_json.h"
#include "nimbus_types.h"

/* {"type":TYPE,"id":ID, left open for the message's own members. */
static void envelope(nimbus_json_writer_t *w, const char *type, const char *id)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", type);
    nimbus_json_member_string(w, "id", id); /* NULL writes null */
}

char *nimbus__stream_error_text(const char *id, const nimbus_error_t *err, const char *request_id,
                                size_t *len)
{
    nimbus_code_t code = err && err->code != NIMBUS_OK ? err->code : NIMBUS_INTERNAL;
    char message[NIMBUS_ERROR_MESSAGE_MAX];
    snprintf(message, sizeof message, "%s", err && err->message[0] ? err->message : "");
    size_t mlen = strlen(message);
    for (int cut = 0; cut < 4 && mlen > 0 && nimbus_utf8_length(message, mlen) < 0; cut++) {
        message[--mlen] = '\0';
    }
    if (mlen == 0 || nimbus_utf8_length(message, mlen) < 0) {
        snprintf(message, sizeof message, "%s", nimbus_code_name(code));
    }
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    envelope(&w, "error", id);
    nimbus_json_member_string(&w, "code", nimbus_code_name(code));
    nimbus_json_member_string(&w, "message", message);
    if (request_id && *request_id) {
        nimbus_json_member_string(&w, "requestId", request_id);
    }
    nimbus_json_object_end(&w);
    return nimbus_json_writer_steal(&w, len);
}

char *nimbus__stream_prefix_text(const char *type, const char *id, const char *key, size_t *len)
{
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    envelope(&w, type, id);
    nimbus_json_key(&w, key);
    return nimbus_json_writer_steal(&w, len);
}

char *nimbus__stream_message_text(const char *type, const char *id, const char *key,
                                  const char *value, size_t *len)
{
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    envelope(&w, type, id);
    if (key) {
        nimbus_json_key(&w, key);
        nimbus_json_raw(&w, value, strlen(value));
    }
    nimbus_json_object_end(&w);
    return nimbus_json_writer_steal(&w, len);
}

const char *nimbus__stream_media_type(nimbus_stream_framing_t framing)
{
    switch (framing) {
    case NIMBUS_STREAM_SSE:
        return "text/event-stream";
    case NIMBUS_STREAM_NDJSON:
        return "application/x-ndjson";
    case NIMBUS_STREAM_WS:
        break;
    }
    return NULL;
}

char *nimbus__stream_event_text(nimbus_stream_framing_t framing, const char *type, const char *id,
                                const char *members, int64_t event_id, size_t *len)
{
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    switch (framing) {
    case NIMBUS_STREAM_WS:
    case NIMBUS_STREAM_NDJSON:
        nimbus_json_object_begin(&w);
        nimbus_json_member_string(&w, "type", type);
        if (framing == NIMBUS_STREAM_WS) {
            nimbus_json_member_string(&w, "id", id);
        }
        if (members && *members) {
            nimbus_json_raw(&w, members, strlen(members)); /* after its comma */
        }
        nimbus_json_object_end(&w);
        if (framing == NIMBUS_STREAM_NDJSON) {
            nimbus_json_raw(&w, "\n", 1);
        }
        break;
    case NIMBUS_STREAM_SSE: {
        char head[96];
        int n = event_id >= 0 ? snprintf(head, sizeof head, "event: %s\nid: %lld\ndata: {", type,
                                         (long long)event_id)
                              : snprintf(head, sizeof head, "event: %s\ndata: {", type);
        nimbus_json_raw(&w, head, (size_t)n);
        if (members) {
            nimbus_json_raw(&w, members, strlen(members));
        }
        nimbus_json_raw(&w, "}\n\n", 3);
        break;
    }
    }
    return nimbus_json_writer_steal(&w, len);
}
