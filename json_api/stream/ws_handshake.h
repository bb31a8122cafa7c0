/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The opening handshake of RFC 6455 (section 4.2), as pure functions over
 * header values so that it can be unit-tested without a socket: which
 * upgrade requests we accept, and the Sec-WebSocket-Accept answer
 * (base64(SHA-1(key + GUID)), computed with OpenSSL's libcrypto).
 */
#ifndef NIMBUS_WS_HANDSHAKE_H
#define NIMBUS_WS_HANDSHAKE_H

#include <stdbool.h>

#include "nimbus_error.h"

/* 28 base64 characters of a SHA-1 digest, plus NUL. */
#define NIMBUS_WS_ACCEPT_SIZE 29

/* The headers of an upgrade request that matter; NULL when absent.
 * Borrowed for the call. */
typedef struct nimbus_ws_upgrade_headers {
    bool is_get;
    const char *upgrade;    /* must list the token "websocket" */
    const char *connection; /* must list the token "Upgrade" */
    const char *key;        /* base64 of 16 bytes */
    const char *version;    /* must be "13" */
} nimbus_ws_upgrade_headers_t;

/*
 * Checks h against RFC 6455 4.2.1. Returns 0 when the upgrade may proceed,
 * else the HTTP status to refuse with and INVALID_ARGUMENT in err:
 * 405 for a method other than GET, 426 when the request is not an upgrade to
 * websocket or asks for a version other than 13 (the reply must then carry
 * "Sec-WebSocket-Version: 13"), 400 for a missing or malformed key.
 */
int nimbus__ws_upgrade_check(const nimbus_ws_upgrade_headers_t *h, nimbus_error_t *err);

/*
 * Cross-site WebSocket hijacking guard. Browsers always send Origin on an
 * upgrade; other clients usually do not. Returns true when origin is NULL,
 * names the same host:port as the Host header (http or https), or is listed
 * in `allowed` (--cors-origin, read by nimbus_http_origin_listed exactly as
 * CORS reads it).
 */
bool nimbus__ws_origin_allowed(const char *origin, const char *host, const char *allowed);

/* Writes the Sec-WebSocket-Accept value for key into out. Returns 0, or -1
 * when key is not base64 of exactly 16 bytes (out is then ""). */
int nimbus__ws_accept_key(const char *key, char out[NIMBUS_WS_ACCEPT_SIZE]);

#endif
