/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one error model of Nimbus. Every failure in the core is a code from
 * NIMBUS_ERROR_CODES plus a human-readable message; the transports map the
 * code to a SOAP fault, a problem+json document or a WebSocket `error`
 * message, each in exactly one place, using the HTTP status and fault side
 * recorded here. Nothing in this file allocates, so an error can always be
 * reported, even when memory has run out.
 */
#ifndef NIMBUS_ERROR_H
#define NIMBUS_ERROR_H

#include <stdbool.h>

/* X(enum suffix, HTTP status for REST, true when the SOAP fault is the
 * server's (Server/Receiver), false when it is the client's (Client/Sender)) */
#define NIMBUS_ERROR_CODES(X)                                                                      \
    X(INVALID_ARGUMENT, 400, false)                                                                \
    X(UNAUTHENTICATED, 401, false)                                                                 \
    X(PERMISSION_DENIED, 403, false)                                                               \
    X(NOT_FOUND, 404, false)                                                                       \
    X(ALREADY_EXISTS, 409, false)                                                                  \
    X(PAYLOAD_TOO_LARGE, 413, false)                                                               \
    X(RESOURCE_EXHAUSTED, 429, false)                                                              \
    X(UNAVAILABLE, 503, true)                                                                      \
    X(INTERNAL, 500, true)

typedef enum nimbus_code {
    NIMBUS_OK = 0,
#define NIMBUS_X_ENUM(name, status, server) NIMBUS_##name,
    NIMBUS_ERROR_CODES(NIMBUS_X_ENUM)
#undef NIMBUS_X_ENUM
} nimbus_code_t;

/* NIMBUS_OK and the codes: a constant rather than an enumerator, so that a
 * switch over nimbus_code_t names every code and nothing else. */
#define NIMBUS_X_CODE_ONE(name, status, server) +1
#define NIMBUS_CODE_COUNT (1 NIMBUS_ERROR_CODES(NIMBUS_X_CODE_ONE))

#define NIMBUS_ERROR_MESSAGE_MAX 256

typedef struct nimbus_error {
    nimbus_code_t code;
    char message[NIMBUS_ERROR_MESSAGE_MAX];
    /* RESOURCE_EXHAUSTED from a rate limit: whole seconds until a retry can
     * succeed (each protocol says it: Retry-After, or the WebSocket error's
     * retryAfter); 0 otherwise. */
    int retry_after_s;
} nimbus_error_t;

/* Sets err to NIMBUS_OK with an empty message. err may be NULL. */
void nimbus_error_clear(nimbus_error_t *err);

/* Records code and a printf-style message (truncated to fit) in err, which
 * may be NULL. Returns -1 so that callers can write
 * `return nimbus_error_set(err, NIMBUS_NOT_FOUND, "...")`. */
int nimbus_error_set(nimbus_error_t *err, nimbus_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The contract's spelling of code ("INVALID_ARGUMENT"), or "INTERNAL" for a
 * value outside the list. Static storage. */
const char *nimbus_code_name(nimbus_code_t code);

/* Parses the contract's spelling; returns false if name is not a code. */
bool nimbus_code_from_name(const char *name, nimbus_code_t *code);

/* HTTP status a REST response carries for code (200 for NIMBUS_OK). */
int nimbus_code_http_status(nimbus_code_t code);

/* true when the SOAP fault for code is Server (1.1) / Receiver (1.2). */
bool nimbus_code_is_server_fault(nimbus_code_t code);

#endif
