/*
 * Server messages of the WebSocket protocol, written as text into an
 * evbuffer (the JSON codecs escape the strings). Everything we send must be
 * valid UTF-8 or the client fails the connection with 1007, so an error
 * message that nimbus_error_set cut inside a multi-byte character is
 * trimmed back to the last whole one.
 */
#include "stream_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_json.h"
#include "nimbus_types.h"

/* Heap copy of buf's contents, NUL-terminated, or NULL when writing to buf
 * failed (`failed`) or memory ran out. Frees buf. */
static char *finish(struct evbuffer *buf, bool failed, size_t *len)
{
    char *text = NULL;
    if (buf && !failed) {
        size_t n = evbuffer_get_length(buf);
        text = malloc(n + 1);
        if (text) {
            evbuffer_remove(buf, text, n);
            text[n] = '\0';
            if (len)
                *len = n;
        }
    }
    if (buf)
        evbuffer_free(buf);
    return text;
}

/* {"type":TYPE,"id":ID (no closing brace). Returns 0 or -1. */
static int envelope(struct evbuffer *b, const char *type, const char *id)
{
    if (evbuffer_add_printf(b, "{\"type\":") < 0 || nimbus_json_string_encode(b, type) != 0 ||
        evbuffer_add_printf(b, ",\"id\":") < 0)
        return -1;
    if (!id)
        return evbuffer_add_printf(b, "null") < 0 ? -1 : 0;
    return nimbus_json_string_encode(b, id);
}

char *nimbus__stream_error_text(const char *id, const nimbus_error_t *err, size_t *len)
{
    nimbus_code_t code = err && err->code != NIMBUS_OK ? err->code : NIMBUS_INTERNAL;
    char message[NIMBUS_ERROR_MESSAGE_MAX];
    snprintf(message, sizeof message, "%s", err && err->message[0] ? err->message : "");
    size_t mlen = strlen(message);
    for (int cut = 0; cut < 4 && mlen > 0 && nimbus_utf8_length(message, mlen) < 0; cut++)
        message[--mlen] = '\0';
    if (mlen == 0 || nimbus_utf8_length(message, mlen) < 0)
        snprintf(message, sizeof message, "%s", nimbus_code_name(code));
    struct evbuffer *b = evbuffer_new();
    bool failed = !b || envelope(b, "error", id) != 0 || evbuffer_add_printf(b, ",\"code\":") < 0 ||
                  nimbus_json_string_encode(b, nimbus_code_name(code)) != 0 ||
                  evbuffer_add_printf(b, ",\"message\":") < 0 ||
                  nimbus_json_string_encode(b, message) != 0 || evbuffer_add(b, "}", 1) != 0;
    return finish(b, failed, len);
}

char *nimbus__stream_prefix_text(const char *type, const char *id, const char *key, size_t *len)
{
    struct evbuffer *b = evbuffer_new();
    bool failed = !b || envelope(b, type, id) != 0 || evbuffer_add(b, ",", 1) != 0 ||
                  nimbus_json_string_encode(b, key) != 0 || evbuffer_add(b, ":", 1) != 0;
    return finish(b, failed, len);
}

char *nimbus__stream_message_text(const char *type, const char *id, const char *key,
                                  const char *value, size_t *len)
{
    struct evbuffer *b = evbuffer_new();
    bool failed = !b || envelope(b, type, id) != 0;
    if (!failed && key)
        failed = evbuffer_add(b, ",", 1) != 0 || nimbus_json_string_encode(b, key) != 0 ||
                 evbuffer_add(b, ":", 1) != 0 || evbuffer_add(b, value, strlen(value)) != 0;
    if (!failed)
        failed = evbuffer_add(b, "}", 1) != 0;
    return finish(b, failed, len);
}
