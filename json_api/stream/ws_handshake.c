/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 6455 opening handshake checks and the Sec-WebSocket-Accept value. The
 * key must decode to exactly 16 bytes (4.2.1 item 5); we check that rather
 * than only its length so a garbage key is refused before we upgrade.
 */
#include "ws_handshake.h"

#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "nimbus_http.h"
#include "nimbus_util.h"

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* true when key is base64 of exactly 16 bytes (24 characters, "==" last). */
static bool key_is_valid(const char *key)
{
    unsigned char raw[16];
    return key &&
           nimbus_base64_decode(key, strlen(key), raw, sizeof raw, NIMBUS_BASE64_STD_LENIENT) == 16;
}

int nimbus__ws_accept_key(const char *key, char out[NIMBUS_WS_ACCEPT_SIZE])
{
    out[0] = '\0';
    if (!key_is_valid(key)) {
        return -1;
    }
    char joined[24 + sizeof WS_GUID];
    memcpy(joined, key, 24);
    memcpy(joined + 24, WS_GUID, sizeof WS_GUID);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, strlen(joined), digest);
    nimbus_base64_encode(digest, SHA_DIGEST_LENGTH, out, NIMBUS_WS_ACCEPT_SIZE, NIMBUS_BASE64_STD);
    return 0;
}

int nimbus__ws_upgrade_check(const nimbus_ws_upgrade_headers_t *h, nimbus_error_t *err)
{
    if (!h->is_get) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "the WebSocket upgrade must be a GET");
        return 405;
    }
    if (!nimbus_http_has_token(h->upgrade, "websocket") ||
        !nimbus_http_has_token(h->connection, "Upgrade")) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "/v1/stream answers a WebSocket upgrade (Upgrade: websocket, "
                         "Connection: Upgrade), Accept: text/event-stream (server-sent events) "
                         "or Accept: application/x-ndjson");
        return 426;
    }
    if (!h->version || strcmp(h->version, "13") != 0) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "unsupported Sec-WebSocket-Version (this server speaks 13)");
        return 426;
    }
    if (!key_is_valid(h->key)) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "Sec-WebSocket-Key must be base64 of 16 bytes");
        return 400;
    }
    return 0;
}

bool nimbus__ws_origin_allowed(const char *origin, const char *host, const char *allowed)
{
    if (!origin) {
        return true;
    }
    if (nimbus_http_origin_listed(allowed, origin)) {
        return true;
    }
    const char *rest = NULL;
    if (strncasecmp(origin, "http://", 7) == 0) {
        rest = origin + 7;
    } else if (strncasecmp(origin, "https://", 8) == 0) {
        rest = origin + 8;
    }
    return rest && host && *host && strcasecmp(rest, host) == 0;
}
