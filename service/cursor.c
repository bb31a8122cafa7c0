/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Paging cursors. A cursor is the key of the last row of a page (a station
 * id, or an observation's observedAt), so the next page starts right after
 * it (keyset paging: no row is skipped or repeated when rows are added or
 * removed between pages).
 *
 * Layout, then base64url without padding:
 *   version (1 byte, 1) | kind (1) | key | tag (16)
 *   key: STATIONS: length (1) + id bytes; OBSERVATIONS: int64 big-endian
 *   tag: HMAC-SHA256(core->cursor_key, everything before it || 0 || scope),
 *        first 16 bytes
 * The scope is the query's filters as text; it is authenticated but not
 * carried, so a cursor replayed with other filters, edited, truncated or
 * made up fails the tag and gets "cursor is invalid". The key is random per
 * database (meta table), so cursors stay valid across restarts.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "service_internal.h"

#define CURSOR_VERSION 1
#define TAG_SIZE 16
#define RAW_MAX 64

static int tag(const nimbus_core_t *core, const unsigned char *raw, size_t n, const char *scope,
               unsigned char out[TAG_SIZE])
{
    unsigned char buf[RAW_MAX + 1 + 1024];
    size_t scope_len = strlen(scope);
    if (n + 1 + scope_len > sizeof(buf)) {
        return -1;
    }
    memcpy(buf, raw, n);
    buf[n] = 0;
    memcpy(buf + n + 1, scope, scope_len);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (HMAC(EVP_sha256(), core->cursor_key, NIMBUS__CURSOR_KEY_SIZE, buf, n + 1 + scope_len, md,
             &md_len) == NULL ||
        md_len < TAG_SIZE) {
        return -1;
    }
    memcpy(out, md, TAG_SIZE);
    return 0;
}

int nimbus__cursor_encode(const nimbus_core_t *core, const nimbus__cursor_t *c, const char *scope,
                          char out[NIMBUS_CURSOR_SIZE], nimbus_error_t *err)
{
    unsigned char raw[RAW_MAX];
    size_t n = 0;
    raw[n++] = CURSOR_VERSION;
    raw[n++] = (unsigned char)c->kind;
    if (c->kind == NIMBUS__CURSOR_STATIONS) {
        size_t len = strnlen(c->text_key, NIMBUS_STATION_ID_MAX + 1);
        if (len > NIMBUS_STATION_ID_MAX) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "cursor key too long");
        }
        raw[n++] = (unsigned char)len;
        memcpy(raw + n, c->text_key, len);
        n += len;
    } else {
        uint64_t v = (uint64_t)c->int_key;
        for (int i = 7; i >= 0; i--) {
            raw[n++] = (unsigned char)(v >> (i * 8));
        }
    }
    if (tag(core, raw, n, scope, raw + n) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot sign the cursor");
    }
    n += TAG_SIZE;
    if (nimbus_base64_encode(raw, n, out, NIMBUS_CURSOR_SIZE, NIMBUS_BASE64_URL) < 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cursor too long");
    }
    return 0;
}

int nimbus__cursor_decode(const nimbus_core_t *core, const char *text, nimbus__cursor_kind_t kind,
                          const char *scope, nimbus__cursor_t *out, nimbus_error_t *err)
{
    unsigned char raw[RAW_MAX];
    size_t text_len = strnlen(text, NIMBUS_CURSOR_SIZE);
    long decoded = text_len == NIMBUS_CURSOR_SIZE
                       ? -1
                       : nimbus_base64_decode(text, text_len, raw, sizeof raw, NIMBUS_BASE64_URL);
    if (decoded < 0) {
        goto invalid;
    }
    size_t n = (size_t)decoded;
    if (n < 2 + TAG_SIZE) {
        goto invalid;
    }
    unsigned char expected[TAG_SIZE];
    if (tag(core, raw, n - TAG_SIZE, scope, expected) != 0 ||
        CRYPTO_memcmp(expected, raw + n - TAG_SIZE, TAG_SIZE) != 0) {
        goto invalid;
    }
    n -= TAG_SIZE;
    if (raw[0] != CURSOR_VERSION || raw[1] != (unsigned char)kind) {
        goto invalid;
    }
    memset(out, 0, sizeof(*out));
    out->kind = kind;
    if (kind == NIMBUS__CURSOR_STATIONS) {
        if (n < 3 || raw[2] > NIMBUS_STATION_ID_MAX || n != 3u + raw[2]) {
            goto invalid;
        }
        memcpy(out->text_key, raw + 3, raw[2]);
        out->text_key[raw[2]] = '\0';
    } else {
        if (n != 10) {
            goto invalid;
        }
        uint64_t v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | raw[2 + i];
        }
        out->int_key = (int64_t)v;
    }
    return 0;
invalid:
    return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "cursor is invalid");
}
