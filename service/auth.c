/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * API keys and the role check every operation starts with. A key is
 * "name:secret:role": the name is 1-64 characters of A-Z a-z 0-9 . _ -, the
 * secret 1-256 printable ASCII characters other than ':' and space, the role
 * read, write or admin (each includes the ones before it). Names and
 * secrets must be unique, so a Bearer secret names exactly one key.
 *
 * Secrets are compared with CRYPTO_memcmp over the whole fixed-size,
 * zero-padded buffer, and a Bearer secret is compared with every key, so the
 * time taken does not tell how much of a guess was right or which key it
 * came close to.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "service_internal.h"

static bool name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool secret_char(char c)
{
    return c > 0x20 && c < 0x7F && c != ':';
}

int nimbus_core_add_key(nimbus_core_t *core, const char *spec, nimbus_error_t *err)
{
    const char *first = spec == NULL ? NULL : strchr(spec, ':');
    const char *last = spec == NULL ? NULL : strrchr(spec, ':');
    if (first == NULL || first == last) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key must look like NAME:SECRET:ROLE");
    }
    size_t name_len = (size_t)(first - spec);
    size_t secret_len = (size_t)(last - first - 1);
    const char *secret = first + 1;
    nimbus_role_t role;
    if (name_len < 1 || name_len > NIMBUS_KEY_NAME_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's name must be 1-%d characters", NIMBUS_KEY_NAME_MAX);
    }
    for (size_t i = 0; i < name_len; i++) {
        if (!name_char(spec[i])) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "an API key's name may hold only A-Z, a-z, 0-9, '.', '_' "
                                    "and '-'");
        }
    }
    if (secret_len < 1 || secret_len > NIMBUS_KEY_SECRET_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's secret must be 1-%d characters",
                                NIMBUS_KEY_SECRET_MAX);
    }
    for (size_t i = 0; i < secret_len; i++) {
        if (!secret_char(secret[i])) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "an API key's secret may hold only printable ASCII other "
                                    "than ':' and space");
        }
    }
    if (!nimbus_role_from_name(last + 1, &role)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's role must be read, write or admin");
    }
    if (core->key_count == NIMBUS__KEY_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "at most %d API keys",
                                NIMBUS__KEY_MAX);
    }
    nimbus__key_t key;
    memset(&key, 0, sizeof(key));
    memcpy(key.name, spec, name_len);
    memcpy(key.secret, secret, secret_len);
    key.secret_len = secret_len;
    key.role = role;
    for (size_t i = 0; i < core->key_count; i++) {
        if (strcmp(core->keys[i].name, key.name) == 0) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "API key name '%s' is given twice", key.name);
        }
        if (strcmp(core->keys[i].secret, key.secret) == 0) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "API keys '%s' and '%s' share a secret", core->keys[i].name,
                                    key.name);
        }
    }
    core->keys[core->key_count++] = key;
    return 0;
}

size_t nimbus_core_key_count(const nimbus_core_t *core)
{
    return core->key_count;
}

/* Constant-time equality of a presented secret and a key's. */
static bool secret_equal(const nimbus__key_t *key, const unsigned char *padded, size_t len)
{
    int diff = CRYPTO_memcmp(key->secret, padded, sizeof(key->secret));
    return (diff == 0) & (len == key->secret_len);
}

/* authorize, saying which key matched (*key: NULL for trusted callers, an
 * open server and a wrong or missing key; the key also when its role falls
 * short). */
static int authorize(const nimbus_core_t *core, const nimbus_credentials_t *creds,
                     nimbus_role_t needed, const nimbus__key_t **key_out, nimbus_error_t *err)
{
    *key_out = NULL;
    if (creds != NULL && creds->kind == NIMBUS_CRED_TRUSTED) {
        return 0;
    }
    if (core->key_count == 0) {
        return 0;
    }
    if (creds == NULL || (creds->kind != NIMBUS_CRED_SECRET && creds->kind != NIMBUS_CRED_NAMED) ||
        creds->secret == NULL || (creds->kind == NIMBUS_CRED_NAMED && creds->name == NULL)) {
        return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "an API key is required");
    }
    unsigned char padded[NIMBUS_KEY_SECRET_MAX + 1];
    memset(padded, 0, sizeof(padded));
    size_t len = strnlen(creds->secret, sizeof(padded));
    memcpy(padded, creds->secret, len < NIMBUS_KEY_SECRET_MAX ? len : NIMBUS_KEY_SECRET_MAX);

    const nimbus__key_t *match = NULL;
    for (size_t i = 0; i < core->key_count; i++) {
        const nimbus__key_t *key = &core->keys[i];
        bool name_ok = creds->kind != NIMBUS_CRED_NAMED || strcmp(key->name, creds->name) == 0;
        /* Compare every secret, matching or not, so timing reveals nothing. */
        if (secret_equal(key, padded, len) && name_ok) {
            match = key;
        }
    }
    /* Not memset: the buffer is dead after this, so the store could be
     * optimised away and leave the presented secret on the stack. */
    OPENSSL_cleanse(padded, sizeof(padded));
    if (match == NULL) {
        return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "the API key is not valid");
    }
    *key_out = match;
    if (match->role < needed) {
        return nimbus_error_set(
            err, NIMBUS_PERMISSION_DENIED, "API key '%s' has the %s role; this operation needs %s",
            match->name, nimbus_role_name(match->role), nimbus_role_name(needed));
    }
    return 0;
}

static void name_of(const nimbus__key_t *key, char *who)
{
    if (who) {
        snprintf(who, NIMBUS_KEY_NAME_MAX + 1, "%s", key ? key->name : "");
    }
}

int nimbus_core_authorize(const nimbus_core_t *core, const nimbus_credentials_t *creds,
                          nimbus_role_t needed, nimbus_error_t *err)
{
    return nimbus_core_authorize_as(core, creds, needed, NULL, err);
}

int nimbus_core_authorize_as(const nimbus_core_t *core, const nimbus_credentials_t *creds,
                             nimbus_role_t needed, char *who, nimbus_error_t *err)
{
    const nimbus__key_t *key;
    int rc = authorize(core, creds, needed, &key, err);
    name_of(key, who);
    return rc;
}

/* Whose limits apply: the key's, or the client address's on a server
 * without keys. After a successful authorize. */
static void subject_of(const nimbus__key_t *key, const char *client,
                       char out[NIMBUS_COUNTS_NAME_MAX])
{
    if (key) {
        snprintf(out, NIMBUS_COUNTS_NAME_MAX, "key %s", key->name);
    } else {
        snprintf(out, NIMBUS_COUNTS_NAME_MAX, "addr %.60s", client ? client : "?");
    }
}

int nimbus_core_admit(nimbus_core_t *core, const nimbus_credentials_t *creds, const char *client,
                      nimbus_role_t needed, nimbus_error_t *err)
{
    return nimbus_core_admit_as(core, creds, client, needed, NULL, err);
}

int nimbus_core_admit_as(nimbus_core_t *core, const nimbus_credentials_t *creds, const char *client,
                         nimbus_role_t needed, char *who, nimbus_error_t *err)
{
    const nimbus__key_t *key;
    int rc = authorize(core, creds, needed, &key, err);
    name_of(key, who);
    if (rc != 0) {
        return -1;
    }
    if (creds != NULL && creds->kind == NIMBUS_CRED_TRUSTED) {
        return 0;
    }
    char subject[NIMBUS_COUNTS_NAME_MAX];
    subject_of(key, client, subject);
    return nimbus__rate_take(core, subject, err);
}

void nimbus_core_set_subscription_limit(nimbus_core_t *core, size_t per_key)
{
    core->subscriptions_per_key = per_key;
}

int nimbus_core_subscription_hold(nimbus_core_t *core, const nimbus_credentials_t *creds,
                                  const char *client, char subject[NIMBUS_COUNTS_NAME_MAX],
                                  nimbus_error_t *err)
{
    const nimbus__key_t *key;
    subject[0] = '\0';
    if (authorize(core, creds, NIMBUS_ROLE_READ, &key, err) != 0) {
        return -1;
    }
    if (creds != NULL && creds->kind == NIMBUS_CRED_TRUSTED) {
        return 0;
    }
    subject_of(key, client, subject);
    int rc = nimbus_counts_take(core->subscriptions, subject, core->subscriptions_per_key, 0);
    if (rc != 0) {
        subject[0] = '\0';
        return rc < 0 ? nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory")
                      : nimbus_error_set(
                            err, NIMBUS_RESOURCE_EXHAUSTED, "at most %zu subscriptions per %s",
                            core->subscriptions_per_key, key ? "API key" : "client address");
    }
    return 0;
}

void nimbus_core_subscription_release(nimbus_core_t *core, const char *subject)
{
    if (subject && *subject) {
        nimbus_counts_give(core->subscriptions, subject);
    }
}
