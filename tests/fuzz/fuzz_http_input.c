/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: what every protocol reads from an HTTP request before
 * any body, in server/http (http.c) and json_api/rest: the Authorization
 * header (nimbus_http_credentials: Bearer, and Basic with lenient base64),
 * percent-decoding (nimbus_http_uri_decode), the query string
 * (nimbus_http_parse_query) and the REST path and query read into a
 * request (nimbus__rest_match, nimbus__rest_request).
 *
 * The input is "<sizes><Authorization value>\n<request target>": the first
 * byte sizes the credentials buffer (from 1 byte to the SOAP binding's own
 * size) and the decode buffer; the Authorization value goes onto a real
 * evhttp_request (no connection) when evhttp takes it; the target is
 * "path?query" as the server receives it.
 *
 * Properties checked besides the sanitizers' (every output buffer is a
 * heap block of exactly the size the callee is told, so a byte past it is
 * an ASan report):
 *   - credentials: a refusal is UNAUTHENTICATED with a message; Bearer
 *     gives the token with blanks trimmed, exactly when it is not empty and
 *     fits; Basic gives name and secret exactly when an independent
 *     base64 decoder (RFC 4648 with padding, unused bits allowed) reads the
 *     value to a string without NUL that has a ':' and fits, split at the
 *     first ':'; name:secret encoded again reads back the same; any other
 *     scheme is refused;
 *   - percent-decoding agrees with an independent decoder on the result
 *     and on which error (malformed, NUL, no room) comes first, and
 *     decoded text encoded again decodes to itself;
 *   - a query parses into exactly the pairs an independent splitter finds
 *     (split at '&', then the first '=', empty pairs dropped), or is
 *     refused with INVALID_ARGUMENT when one of them does not decode or
 *     decodes to a line break (which evhttp's list would drop unseen: the
 *     bug this target found, "?city=a%0Ab" listing every city);
 *   - a REST path's captured parameter fits its buffer, and reading the
 *     request from it and the query answers 0 or INVALID_ARGUMENT (never
 *     INTERNAL: no client text may reach a field the binding cannot read).
 *
 * Seeds: tests/fuzz/corpus/http_input/; dictionary: http_input.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_http.h"
#include "nimbus_json.h"
#include "nimbus_util.h"
#include "rest_request.h"
#include "rest_route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The SOAP binding's buffer (soap_internal.h's NIMBUS_SOAP_CRED_BUF). */
#define CRED_BUF_MAX (NIMBUS_KEY_NAME_MAX + NIMBUS_KEY_SECRET_MAX + 8)

static void die(const char *why, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_http_input: %s\n  [%s]\n  [%s]\n", why, a ? a : "-", b ? b : "-");
    abort();
}

/* ---- credentials ---------------------------------------------------- */

static int b64_value(char c)
{
    return c >= 'A' && c <= 'Z'   ? c - 'A'
           : c >= 'a' && c <= 'z' ? c - 'a' + 26
           : c >= '0' && c <= '9' ? c - '0' + 52
           : c == '+'             ? 62
           : c == '/'             ? 63
                                  : -1;
}

/* RFC 4648 section 4 with padding, non-zero unused bits allowed. The number
 * of bytes written into out (malloc'd by the caller, len bytes suffice), or
 * -1. */
static long b64_decode(const char *s, size_t len, unsigned char *out)
{
    if (len % 4 != 0) {
        return -1;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        int pad = 0;
        if (last && s[i + 3] == '=') {
            pad = s[i + 2] == '=' ? 2 : 1;
        }
        int v[4];
        for (int k = 0; k < 4 - pad; k++) {
            v[k] = b64_value(s[i + k]);
            if (v[k] < 0) {
                return -1;
            }
        }
        out[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
        if (pad < 2) {
            out[n++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
        }
        if (pad < 1) {
            out[n++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
        }
    }
    return (long)n;
}

static int credentials(const char *value, size_t bufsize, nimbus_credentials_t *out, char **buf,
                       nimbus_error_t *err)
{
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    if (!req) {
        abort();
    }
    *buf = malloc(bufsize);
    if (!*buf) {
        abort();
    }
    int rc = -2; /* evhttp refused the header value */
    if (evhttp_add_header(evhttp_request_get_input_headers(req), "Authorization", value) == 0) {
        rc = nimbus_http_credentials(req, out, *buf, bufsize, err);
    }
    evhttp_request_free(req);
    return rc;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static void check_credentials(const char *value, size_t bufsize)
{
    nimbus_credentials_t c;
    nimbus_error_t err;
    nimbus_error_clear(&err);
    char *buf;
    int rc = credentials(value, bufsize, &c, &buf, &err);
    if (rc == -2) {
        free(buf);
        return;
    }
    if (rc != 0 && rc != -1) {
        die("credentials: unexpected return", value, NULL);
    }
    if (rc == -1 && (err.code != NIMBUS_UNAUTHENTICATED || err.message[0] == '\0')) {
        die("credentials: a refusal that is not UNAUTHENTICATED", value, err.message);
    }
    const char *v = value;
    while (blank(*v)) {
        v++;
    }
    if (strncasecmp(v, "Bearer ", 7) == 0) {
        const char *t = v + 7;
        while (*t == ' ') {
            t++;
        }
        size_t len = strlen(t);
        while (len > 0 && blank(t[len - 1])) {
            len--;
        }
        bool ok = len > 0 && len < bufsize;
        if ((rc == 0) != ok) {
            die("credentials: Bearer accepted or refused wrongly", value, err.message);
        }
        if (ok && (c.kind != NIMBUS_CRED_SECRET || strlen(c.secret) != len ||
                   memcmp(c.secret, t, len) != 0)) {
            die("credentials: Bearer gave another secret", value, c.secret);
        }
    } else if (strncasecmp(v, "Basic ", 6) == 0) {
        const char *e = v + 6;
        while (*e == ' ') {
            e++;
        }
        size_t len = strlen(e);
        while (len > 0 && blank(e[len - 1])) {
            len--;
        }
        unsigned char *dec = malloc(len + 1);
        long n = b64_decode(e, len, dec);
        bool ok = n > 0 && (size_t)n <= bufsize - 1 && !memchr(dec, '\0', (size_t)n) &&
                  memchr(dec, ':', (size_t)n);
        if ((rc == 0) != ok) {
            die("credentials: Basic accepted or refused wrongly", value, err.message);
        }
        if (ok) {
            size_t name_len = (size_t)((unsigned char *)memchr(dec, ':', (size_t)n) - dec);
            if (c.kind != NIMBUS_CRED_NAMED || strlen(c.name) != name_len ||
                memcmp(c.name, dec, name_len) != 0 ||
                strlen(c.secret) != (size_t)n - name_len - 1 ||
                memcmp(c.secret, dec + name_len + 1, (size_t)n - name_len - 1) != 0) {
                die("credentials: Basic gave another name or secret", value, c.name);
            }
            /* Encoded again (canonically), the same credentials. */
            char enc[2 * CRED_BUF_MAX + 16] = "Basic ";
            if (nimbus_base64_encode(dec, (size_t)n, enc + 6, sizeof enc - 6, NIMBUS_BASE64_STD) <
                0) {
                die("credentials: cannot encode what was decoded", value, NULL);
            }
            nimbus_credentials_t c2;
            char *buf2;
            if (credentials(enc, bufsize, &c2, &buf2, &err) != 0 || c2.kind != NIMBUS_CRED_NAMED ||
                strcmp(c2.name, c.name) != 0 || strcmp(c2.secret, c.secret) != 0) {
                die("credentials: name:secret encoded again reads differently", value, enc);
            }
            free(buf2);
        }
        free(dec);
    } else if (rc == 0 && c.kind != NIMBUS_CRED_NONE) {
        die("credentials: another scheme was accepted", value, NULL);
    } else if (rc == 0) {
        die("credentials: a header that is there read as none", value, NULL);
    }
    free(buf);
}

/* ---- percent-decoding and the query --------------------------------- */

static int hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The oracle: the decoded bytes and their count, or the first error (-1
 * malformed, -2 NUL, -3 no room for it and a NUL in size bytes). */
static int decode(const char *raw, size_t len, bool plus, char *out, size_t size)
{
    size_t n = 0;
    size_t i = 0;
    while (i < len) {
        char c = raw[i];
        if (c == '%') {
            if (len - i < 3 || hex(raw[i + 1]) < 0 || hex(raw[i + 2]) < 0) {
                return -1;
            }
            c = (char)(hex(raw[i + 1]) << 4 | hex(raw[i + 2]));
            if (c == 0) {
                return -2;
            }
            i += 3;
        } else {
            c = plus && c == '+' ? ' ' : c;
            i++;
        }
        if (n + 2 > size) {
            return -3;
        }
        out[n++] = c;
    }
    if (size > 0) {
        out[n] = '\0';
    }
    return (int)n;
}

static void check_decode(const char *raw, size_t len, bool plus, size_t size)
{
    char *out = malloc(size);
    char *want = malloc(len + 1 > size ? len + 1 : size);
    int rc = nimbus_http_uri_decode(raw, len, plus, out, size);
    int wrc = decode(raw, len, plus, want, size);
    if (rc != wrc) {
        die("uri_decode: another result than the oracle's", raw, NULL);
    }
    if (rc >= 0) {
        if (memcmp(out, want, (size_t)rc + 1) != 0) {
            die("uri_decode: other bytes than the oracle's", raw, out);
        }
        /* Encoded again, every byte escaped: the same text. */
        char *enc = malloc(3 * (size_t)rc + 1);
        for (int i = 0; i < rc; i++) {
            snprintf(enc + 3 * i, 4, "%%%02X", (unsigned char)out[i]);
        }
        char *back = malloc((size_t)rc + 1);
        if (nimbus_http_uri_decode(enc, 3 * (size_t)rc, plus, back, (size_t)rc + 1) != rc ||
            memcmp(back, out, (size_t)rc + 1) != 0) {
            die("uri_decode: decoded text encoded again decodes differently", raw, enc);
        }
        free(back);
        free(enc);
    }
    free(want);
    free(out);
}

static void check_query(const char *query, struct evkeyvalq *q, bool *parsed)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    int rc = nimbus_http_parse_query(query, q, &err);
    *parsed = rc == 0;
    if (rc != 0 && (rc != -1 || err.code != NIMBUS_INVALID_ARGUMENT ||
                    !strstr(err.message, "query parameter"))) {
        die("parse_query: a refusal that is not INVALID_ARGUMENT", query, err.message);
    }
    /* The oracle's pairs, compared in order with the list. */
    size_t qlen = strlen(query);
    char *name = malloc(qlen + 1), *value = malloc(qlen + 1);
    const struct evkeyval *e = rc == 0 ? TAILQ_FIRST(q) : NULL;
    bool bad = false;
    for (const char *p = query; *p && !bad;) {
        size_t pair = strcspn(p, "&");
        const char *eq = memchr(p, '=', pair);
        size_t klen = eq ? (size_t)(eq - p) : pair;
        const char *v = eq ? eq + 1 : p + pair;
        size_t vlen = (size_t)(p + pair - v);
        if (decode(p, klen, true, name, qlen + 1) < 0 ||
            decode(v, vlen, true, value, qlen + 1) < 0 || strpbrk(name, "\r\n") ||
            strpbrk(value, "\r\n")) {
            bad = true;
        } else if (rc == 0 && (klen > 0 || vlen > 0)) {
            if (!e || strcmp(e->key, name) != 0 || strcmp(e->value, value) != 0) {
                die("parse_query: another pair than the oracle's", query, e ? e->key : NULL);
            }
            e = TAILQ_NEXT(e, next);
        }
        p += pair + (p[pair] == '&');
    }
    if ((rc == 0) == bad || (rc == 0 && e)) {
        die("parse_query: accepted or refused wrongly, or more pairs", query, err.message);
    }
    free(name);
    free(value);
}

static void check_rest(const char *path, const struct evkeyvalq *q)
{
    nimbus_rest_match_t m;
    size_t count = nimbus__rest_match(path, &m);
    if (count > NIMBUS_OP_COUNT || strlen(m.param) > NIMBUS_REST_SEGMENT_MAX) {
        die("rest: a match past its bounds", path, m.param);
    }
    for (size_t i = 0; i < count; i++) {
        const nimbus_rest_binding_t *b = m.rows[i];
        nimbus_json_request_t req;
        nimbus_json_request_init(&req, b->op);
        nimbus_error_t err;
        nimbus_error_clear(&err);
        int rc = nimbus__rest_request(b, &m, q, NULL, &req, &err);
        if (rc != 0 && (rc != -1 || err.code != NIMBUS_INVALID_ARGUMENT)) {
            die("rest: a refusal that is not INVALID_ARGUMENT", path, err.message);
        }
        nimbus_json_request_cleanup(&req);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    size_t cred_size = 1 + data[0] % CRED_BUF_MAX;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *nl = strchr(text, '\n');
    const char *target = "";
    if (nl) {
        *nl = '\0';
        target = nl + 1;
    }
    check_credentials(text, cred_size);

    size_t tlen = strlen(target);
    check_decode(target, tlen, (data[0] & 1) != 0, 1 + (data[0] * 7u) % (tlen + 2));
    check_decode(target, tlen, (data[0] & 1) == 0, tlen + 1);

    char *path = strdup(target);
    char *qmark = strchr(path, '?');
    struct evkeyvalq q;
    bool parsed = false;
    if (qmark) {
        *qmark = '\0';
        check_query(qmark + 1, &q, &parsed);
    }
    check_rest(path, parsed ? &q : NULL);
    if (parsed) {
        evhttp_clear_headers(&q);
    }
    free(path);
    free(text);
    return 0;
}
