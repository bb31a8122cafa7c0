/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TLS for every protocol on the port (SOAP, REST, WebSocket, dashboard):
 * OpenSSL under libevent's bufferevent_openssl, one per connection, made by
 * the connection guard (conn.c) in evhttp's bufferevent callback, so evhttp
 * and the stream read and write plaintext as before.
 *
 * Settings: TLS 1.2 and newer; for TLS 1.2 only ECDHE key exchange with
 * AES-GCM or ChaCha20-Poly1305 (Mozilla's "intermediate" list); TLS 1.3
 * with OpenSSL's defaults; the server's cipher preference; no
 * renegotiation, no compression. The certificate file may hold the chain.
 *
 * Reload (SIGHUP): the files are read into a new context and swapped in
 * under a lock; connections keep the context they started with (each SSL
 * holds a reference), so nothing is dropped, and a failed reload keeps the
 * old certificate and says why.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "nimbus_http.h"

struct nimbus_tls {
    pthread_mutex_t lock;
    SSL_CTX *ctx; /* the current one; under lock */
    char cert[4096];
    char key[4096];
};

static void openssl_error(nimbus_error_t *err, const char *doing, const char *path)
{
    char detail[160] = "";
    unsigned long e = ERR_get_error();
    if (e) {
        ERR_error_string_n(e, detail, sizeof detail);
    }
    ERR_clear_error();
    nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s %s: %s", doing, path,
                     *detail ? detail : "unknown error");
}

static SSL_CTX *load(const char *cert, const char *key, nimbus_error_t *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION);
    if (SSL_CTX_set_cipher_list(ctx,
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        openssl_error(err, "setting the ciphers for", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        openssl_error(err, "cannot use the certificate", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        openssl_error(err, "cannot use the private key", key);
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        openssl_error(err, "the private key does not match the certificate in", cert);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

nimbus_tls_t *nimbus_tls_new(const char *cert, const char *key, nimbus_error_t *err)
{
    nimbus_tls_t *t = calloc(1, sizeof *t);
    if (!t) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    snprintf(t->cert, sizeof t->cert, "%s", cert);
    snprintf(t->key, sizeof t->key, "%s", key);
    t->ctx = load(cert, key, err);
    if (!t->ctx || pthread_mutex_init(&t->lock, NULL) != 0) {
        SSL_CTX_free(t->ctx);
        free(t);
        return NULL;
    }
    return t;
}

int nimbus_tls_reload(nimbus_tls_t *t, nimbus_error_t *err)
{
    SSL_CTX *fresh = load(t->cert, t->key, err);
    if (!fresh) {
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    SSL_CTX *old = t->ctx;
    t->ctx = fresh;
    pthread_mutex_unlock(&t->lock);
    SSL_CTX_free(old); /* connections on it hold their own references */
    return 0;
}

SSL *nimbus_tls_ssl(nimbus_tls_t *t)
{
    pthread_mutex_lock(&t->lock);
    SSL *ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->lock);
    return ssl;
}

void nimbus_tls_free(nimbus_tls_t *t)
{
    if (t) {
        SSL_CTX_free(t->ctx);
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
}
