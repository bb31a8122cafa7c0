/*
 * RFC 6455 opening handshake checks and the Sec-WebSocket-Accept value. The
 * key must decode to exactly 16 bytes (4.2.1 item 5); we check that rather
 * than only its length so a garbage key is refused before we upgrade.
 */
#include "ws_handshake.h"

#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool nimbus__ws_header_has_token(const char *value, const char *token)
{
    if (!value)
        return false;
    size_t tlen = strlen(token);
    const char *p = value;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == tlen && strncasecmp(start, token, tlen) == 0)
            return true;
    }
    return false;
}

/* true when key is 24 base64 characters encoding 16 bytes ("...==" form). */
static bool key_is_valid(const char *key)
{
    if (!key || strlen(key) != 24 || key[22] != '=' || key[23] != '=')
        return false;
    unsigned char raw[24];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)key, 24);
    /* EVP_DecodeBlock counts the two padding characters as zero bytes. */
    return n == 18;
}

int nimbus__ws_accept_key(const char *key, char out[NIMBUS_WS_ACCEPT_SIZE])
{
    out[0] = '\0';
    if (!key_is_valid(key))
        return -1;
    char joined[24 + sizeof WS_GUID];
    memcpy(joined, key, 24);
    memcpy(joined + 24, WS_GUID, sizeof WS_GUID);
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, strlen(joined), digest);
    EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
    return 0;
}

int nimbus__ws_upgrade_check(const nimbus_ws_upgrade_headers_t *h, nimbus_error_t *err)
{
    if (!h->is_get) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "the WebSocket upgrade must be a GET");
        return 405;
    }
    if (!nimbus__ws_header_has_token(h->upgrade, "websocket") ||
        !nimbus__ws_header_has_token(h->connection, "Upgrade")) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "/v1/stream is a WebSocket endpoint: send Upgrade: websocket and "
                         "Connection: Upgrade");
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
    if (!origin)
        return true;
    if (allowed &&
        (nimbus__ws_header_has_token(allowed, "*") || nimbus__ws_header_has_token(allowed, origin)))
        return true;
    const char *rest = NULL;
    if (strncasecmp(origin, "http://", 7) == 0)
        rest = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        rest = origin + 8;
    return rest && host && *host && strcasecmp(rest, host) == 0;
}
