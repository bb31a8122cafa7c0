/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one JSON writer (see nimbus_json.h): every JSON text Nimbus sends
 * (REST bodies, problem+json, stream messages, the OpenAPI document, health)
 * is written here, into one contiguous buffer the caller then hands to the
 * socket whole.
 *
 * Separators are the writer's business: each container remembers whether it
 * holds a value yet, and a key leaves the writer "after a key" so the value
 * that follows takes no comma. Nesting deeper than NIMBUS_JSON_WRITER_DEPTH
 * marks the writer failed rather than writing invalid JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nimbus_json.h"

void nimbus_json_writer_init(nimbus_json_writer_t *w)
{
    memset(w, 0, sizeof *w);
    nimbus_buf_init(&w->buf);
}

void nimbus_json_writer_cleanup(nimbus_json_writer_t *w)
{
    nimbus_buf_cleanup(&w->buf);
    nimbus_json_writer_init(w);
}

bool nimbus_json_writer_failed(const nimbus_json_writer_t *w)
{
    return w->buf.failed;
}

char *nimbus_json_writer_steal(nimbus_json_writer_t *w, size_t *len)
{
    char *text = nimbus_buf_steal(&w->buf, len);
    nimbus_json_writer_init(w);
    return text;
}

static void put(nimbus_json_writer_t *w, const char *s, size_t n)
{
    nimbus_buf_append(&w->buf, s, n);
}

/* Before a value or a key: the comma when the container already holds one. */
static void separate(nimbus_json_writer_t *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (w->depth == 0) {
        return;
    }
    uint32_t bit = UINT32_C(1) << (w->depth - 1);
    if (w->has_member & bit) {
        put(w, ",", 1);
    }
    w->has_member |= bit;
}

static void open_container(nimbus_json_writer_t *w, char c)
{
    separate(w);
    if (w->depth == NIMBUS_JSON_WRITER_DEPTH) {
        w->buf.failed = true;
        return;
    }
    put(w, &c, 1);
    w->depth++;
    w->has_member &= ~(UINT32_C(1) << (w->depth - 1));
}

static void close_container(nimbus_json_writer_t *w, char c)
{
    if (w->depth == 0) {
        w->buf.failed = true;
        return;
    }
    w->depth--;
    w->after_key = false;
    put(w, &c, 1);
}

void nimbus_json_object_begin(nimbus_json_writer_t *w)
{
    open_container(w, '{');
}

void nimbus_json_object_end(nimbus_json_writer_t *w)
{
    close_container(w, '}');
}

void nimbus_json_array_begin(nimbus_json_writer_t *w)
{
    open_container(w, '[');
}

void nimbus_json_array_end(nimbus_json_writer_t *w)
{
    close_container(w, ']');
}

/* Length of the valid UTF-8 sequence starting at p (a byte >= 0x80), or 0
 * when it is not one. */
static size_t utf8_seq(const char *p)
{
    unsigned char c = (unsigned char)*p;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    for (size_t i = 1; i < n; i++) {
        if (((unsigned char)p[i] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return n && nimbus_utf8_length(p, n) == 1 ? n : 0;
}

/* s as a quoted JSON string: runs of plain bytes are copied whole. */
static void put_quoted(nimbus_json_writer_t *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            size_t n = utf8_seq(p);
            if (n) {
                p += n - 1;
                continue;
            }
            put(w, run, (size_t)(p - run));
            put(w, "\\ufffd", 6);
            run = p + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) {
            continue;
        }
        put(w, run, (size_t)(p - run));
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            put(w, esc, 2);
        } else {
            put(w, esc, 6);
        }
        run = p + 1;
    }
    put(w, run, strlen(run));
    put(w, "\"", 1);
}

void nimbus_json_key(nimbus_json_writer_t *w, const char *name)
{
    separate(w);
    put_quoted(w, name);
    put(w, ":", 1);
    w->after_key = true;
}

void nimbus_json_string(nimbus_json_writer_t *w, const char *s)
{
    if (s == NULL) {
        nimbus_json_null(w);
        return;
    }
    separate(w);
    put_quoted(w, s);
}

void nimbus_json_int(nimbus_json_writer_t *w, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    separate(w);
    put(w, buf, (size_t)n);
}

void nimbus_json_double(nimbus_json_writer_t *w, double v)
{
    char buf[32];
    separate(w);
    put(w, buf, strlen(nimbus_double_format(v, buf)));
}

void nimbus_json_bool(nimbus_json_writer_t *w, bool v)
{
    separate(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void nimbus_json_null(nimbus_json_writer_t *w)
{
    separate(w);
    put(w, "null", 4);
}

void nimbus_json_raw(nimbus_json_writer_t *w, const char *json, size_t len)
{
    separate(w);
    put(w, json, len);
}

void nimbus_json_member_string(nimbus_json_writer_t *w, const char *key, const char *s)
{
    nimbus_json_key(w, key);
    nimbus_json_string(w, s);
}

void nimbus_json_member_int(nimbus_json_writer_t *w, const char *key, int64_t v)
{
    nimbus_json_key(w, key);
    nimbus_json_int(w, v);
}

/* ---- problem+json ----------------------------------------------------- */

const char *nimbus_json_problem_type(nimbus_code_t code)
{
    switch (code) {
#define NIMBUS_X_TYPE(name, status, server)                                                        \
    case NIMBUS_##name:                                                                            \
        return "urn:nimbus:problem:" #name;
        NIMBUS_ERROR_CODES(NIMBUS_X_TYPE)
#undef NIMBUS_X_TYPE
    case NIMBUS_OK:
        break;
    }
    return "urn:nimbus:problem:INTERNAL";
}

const char *nimbus_json_problem_title(nimbus_code_t code)
{
    switch (code) {
    case NIMBUS_INVALID_ARGUMENT:
        return "Invalid argument";
    case NIMBUS_UNAUTHENTICATED:
        return "Authentication required";
    case NIMBUS_PERMISSION_DENIED:
        return "Permission denied";
    case NIMBUS_NOT_FOUND:
        return "Not found";
    case NIMBUS_ALREADY_EXISTS:
        return "Already exists";
    case NIMBUS_PAYLOAD_TOO_LARGE:
        return "Payload too large";
    case NIMBUS_RESOURCE_EXHAUSTED:
        return "Resource exhausted";
    case NIMBUS_UNAVAILABLE:
        return "Service unavailable";
    case NIMBUS_INTERNAL:
    case NIMBUS_OK:
        break;
    }
    return "Internal error";
}

int nimbus_json_problem_write(nimbus_json_writer_t *w, const nimbus_error_t *err, int status)
{
    return nimbus_json_problem_write_id(w, err, status, NULL);
}

int nimbus_json_problem_write_id(nimbus_json_writer_t *w, const nimbus_error_t *err, int status,
                                 const char *request_id)
{
    /* A success code here is a caller's bug; report it as one rather than
     * send a 200 that carries an error. */
    nimbus_code_t code = err && err->code > NIMBUS_OK && (int)err->code < NIMBUS_CODE_COUNT
                             ? err->code
                             : NIMBUS_INTERNAL;
    const char *title = nimbus_json_problem_title(code);
    /* Statuses HTTP needs that no code of the contract has: the body says
     * the status the response carries (RFC 9457 3.1.3). */
    if (status == 405) {
        title = "Method not allowed";
    } else if (status == 415) {
        title = "Unsupported media type";
    } else if (status == 426) {
        title = "Upgrade required";
    } else {
        status = nimbus_code_http_status(code);
    }
    const char *detail = err && err->message[0] ? err->message : title;
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", nimbus_json_problem_type(code));
    nimbus_json_member_string(w, "title", title);
    nimbus_json_member_int(w, "status", status);
    nimbus_json_member_string(w, "detail", detail);
    nimbus_json_member_string(w, "code", nimbus_code_name(code));
    if (request_id) {
        nimbus_json_member_string(w, "requestId", request_id);
    }
    nimbus_json_object_end(w);
    return status;
}
