/*
 * Server messages of the WebSocket protocol, written as text (see
 * stream_codec.h for why not jansson). Everything we send must be valid
 * UTF-8 or the client fails the connection with 1007, so an error message
 * that nimbus_error_set cut inside a multi-byte character is trimmed back
 * to the last whole one.
 */
#include "stream_wire.h"

#include <stdio.h>
#include <string.h>

#include "nimbus_types.h"
#include "stream_codec.h"

static void envelope(nimbus_strbuf_t *sb, const char *type, const char *id)
{
    nimbus__sb_cstr(sb, "{\"type\":");
    nimbus__sb_json_string(sb, type);
    nimbus__sb_cstr(sb, ",\"id\":");
    if (id)
        nimbus__sb_json_string(sb, id);
    else
        nimbus__sb_cstr(sb, "null");
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
    nimbus_strbuf_t sb = {0};
    envelope(&sb, "error", id);
    nimbus__sb_cstr(&sb, ",\"code\":");
    nimbus__sb_json_string(&sb, nimbus_code_name(code));
    nimbus__sb_cstr(&sb, ",\"message\":");
    nimbus__sb_json_string(&sb, message);
    nimbus__sb_cstr(&sb, "}");
    return nimbus__sb_take(&sb, len);
}

char *nimbus__stream_message_text(const char *type, const char *id, const char *key,
                                  const char *value, size_t *len)
{
    nimbus_strbuf_t sb = {0};
    envelope(&sb, type, id);
    if (key) {
        nimbus__sb_cstr(&sb, ",");
        nimbus__sb_json_string(&sb, key);
        nimbus__sb_cstr(&sb, ":");
        nimbus__sb_cstr(&sb, value);
    }
    nimbus__sb_cstr(&sb, "}");
    return nimbus__sb_take(&sb, len);
}
