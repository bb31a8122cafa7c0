/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * API keys and the role check every operation starts with. A key has a
 * name (1-64 characters of A-Z a-z 0-9 . _ -), a role (read, write or
 * admin, each including the ones before it) and a secret, which the core
 * never keeps: only a random salt and SHA-256(salt || secret). Keys come
 * from --api-key ("name:secret:role", for development: the secret is then
 * on the command line) and from the key file (keyfile.c), which SIGHUP
 * reads again.
 *
 * The keys in force are one immutable snapshot (nimbus__keyset_t). A check
 * takes a reference to it under keys_lock (a pointer load and an atomic
 * increment), then hashes and compares without any lock; a reload builds
 * the next snapshot aside, swaps the pointer under the same lock and drops
 * the reference the core held, so the old snapshot is freed by whichever
 * check finishes with it last. A check therefore sees the old keys or the
 * new ones whole, never a mixture, and neither side ever waits for the
 * other's hashing.
 *
 * A presented secret is hashed with every key's salt and compared with
 * CRYPTO_memcmp with every key's hash, matching or not, so the time taken
 * does not tell which key a guess came close to. Names are unique, so
 * Basic and UsernameToken name one key; generated secrets are 256 random
 * bits, so a Bearer secret names one key too (two --api-key keys sharing a
 * secret are refused).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

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

bool nimbus_key_name_valid(const char *name)
{
    size_t n = 0;
    for (; name && name[n]; n++) {
        if (n == NIMBUS_KEY_NAME_MAX || !name_char(name[n])) {
            return false;
        }
    }
    return n > 0;
}

/* SHA-256, fetched from the provider once rather than at every digest
 * (which halves the cost of a check: every request makes one or more). */
static EVP_MD *sha256;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* SHA-256(salt || secret[0..len)): len at most NIMBUS_KEY_SECRET_MAX + 1
 * (a longer secret never matches, so its tail need not be hashed). */
static void key_hash(const unsigned char salt[NIMBUS_KEY_SALT_SIZE], const char *secret, size_t len,
                     unsigned char out[NIMBUS_KEY_HASH_SIZE])
{
    pthread_once(&sha256_once, sha256_fetch);
    unsigned char buf[NIMBUS_KEY_SALT_SIZE + NIMBUS_KEY_SECRET_MAX + 1];
    memcpy(buf, salt, NIMBUS_KEY_SALT_SIZE);
    memcpy(buf + NIMBUS_KEY_SALT_SIZE, secret, len);
    unsigned int n = 0;
    if (EVP_Digest(buf, NIMBUS_KEY_SALT_SIZE + len, out, &n, sha256 ? sha256 : EVP_sha256(),
                   NULL) != 1 ||
        n != NIMBUS_KEY_HASH_SIZE) {
        /* Never a match: no stored hash is all ones and a salt's own. */
        memset(out, 0xff, NIMBUS_KEY_HASH_SIZE);
    }
    OPENSSL_cleanse(buf, NIMBUS_KEY_SALT_SIZE + len);
}

bool nimbus_key_entry_matches(const nimbus_key_entry_t *entry, const char *secret)
{
    size_t len = strnlen(secret, NIMBUS_KEY_SECRET_MAX + 1);
    unsigned char h[NIMBUS_KEY_HASH_SIZE];
    key_hash(entry->salt, secret, len, h);
    int diff = CRYPTO_memcmp(h, entry->hash, sizeof h);
    OPENSSL_cleanse(h, sizeof h);
    return (diff == 0) & (len <= NIMBUS_KEY_SECRET_MAX);
}

static int check_secret(const char *secret, size_t len, nimbus_error_t *err)
{
    if (len < 1 || len > NIMBUS_KEY_SECRET_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's secret must be 1-%d characters",
                                NIMBUS_KEY_SECRET_MAX);
    }
    for (size_t i = 0; i < len; i++) {
        if (!secret_char(secret[i])) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "an API key's secret may hold only printable ASCII other "
                                    "than ':' and space");
        }
    }
    return 0;
}

int nimbus_key_entry_make(const char *name, nimbus_role_t role, const char *secret,
                          nimbus_key_entry_t *entry, nimbus_error_t *err)
{
    memset(entry, 0, sizeof *entry);
    if (!nimbus_key_name_valid(name)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's name must be 1-%d characters of A-Z, a-z, 0-9, "
                                "'.', '_' and '-'",
                                NIMBUS_KEY_NAME_MAX);
    }
    size_t len = strnlen(secret, NIMBUS_KEY_SECRET_MAX + 1);
    if (check_secret(secret, len, err) != 0) {
        return -1;
    }
    if (RAND_bytes(entry->salt, sizeof entry->salt) != 1) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "the random generator failed");
    }
    snprintf(entry->name, sizeof entry->name, "%s", name);
    entry->role = role;
    key_hash(entry->salt, secret, len, entry->hash);
    return 0;
}

int nimbus_key_secret_new(char *out, nimbus_error_t *err)
{
    unsigned char raw[NIMBUS_KEY_NEW_SECRET_BYTES];
    if (RAND_bytes(raw, sizeof raw) != 1) {
        out[0] = '\0';
        return nimbus_error_set(err, NIMBUS_INTERNAL, "the random generator failed");
    }
    long n = nimbus_base64_encode(raw, sizeof raw, out, NIMBUS_KEY_NEW_SECRET_LEN + 1,
                                  NIMBUS_BASE64_URL);
    OPENSSL_cleanse(raw, sizeof raw);
    if (n != NIMBUS_KEY_NEW_SECRET_LEN) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot encode a new secret");
    }
    return 0;
}

/* ---- the snapshot in force ---------------------------------------------- */

static nimbus__keyset_t *keys_acquire(nimbus_core_t *core)
{
    pthread_mutex_lock(&core->keys_lock);
    nimbus__keyset_t *ks = core->keyset;
    atomic_fetch_add_explicit(&ks->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&core->keys_lock);
    return ks;
}

static void keys_release(nimbus__keyset_t *ks)
{
    if (ks && atomic_fetch_sub_explicit(&ks->refs, 1, memory_order_acq_rel) == 1) {
        OPENSSL_cleanse(ks, sizeof *ks);
        free(ks);
    }
}

static bool name_taken_label(const nimbus_core_t *core, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(core->key_labels[i], name) == 0) {
            return true;
        }
    }
    return false;
}

size_t nimbus__key_label_count(const nimbus_core_t *core)
{
    return atomic_load_explicit(&core->key_label_count, memory_order_acquire);
}

const char *nimbus__key_label(const nimbus_core_t *core, size_t i)
{
    return core->key_labels[i];
}

/* The snapshot of dev_keys and file_keys, put in force. Under keys_lock.
 * The old one goes when its last check finishes. 0, or -1 with err. */
static int keys_publish_locked(nimbus_core_t *core, nimbus_error_t *err)
{
    if (core->dev_key_count + core->file_key_count > NIMBUS_KEYS_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "at most %d API keys in all",
                                NIMBUS_KEYS_MAX);
    }
    nimbus__keyset_t *ks = calloc(1, sizeof *ks);
    if (ks == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    atomic_init(&ks->refs, 1);
    memcpy(ks->keys, core->dev_keys, core->dev_key_count * sizeof ks->keys[0]);
    if (core->file_key_count > 0) {
        memcpy(ks->keys + core->dev_key_count, core->file_keys,
               core->file_key_count * sizeof ks->keys[0]);
    }
    ks->count = core->dev_key_count + core->file_key_count;
    ks->required = core->dev_key_count > 0 || core->key_file;
    size_t labels = atomic_load_explicit(&core->key_label_count, memory_order_relaxed);
    for (size_t i = 0; i < ks->count && labels < NIMBUS_KEYS_MAX; i++) {
        if (!name_taken_label(core, labels, ks->keys[i].name)) {
            memcpy(core->key_labels[labels], ks->keys[i].name, sizeof core->key_labels[0]);
            atomic_store_explicit(&core->key_label_count, ++labels, memory_order_release);
        }
    }
    nimbus__keyset_t *old = core->keyset;
    core->keyset = ks;
    keys_release(old); /* the core's reference; checks under way keep theirs */
    return 0;
}

int nimbus__keys_init(nimbus_core_t *core)
{
    if (pthread_mutex_init(&core->keys_lock, NULL) != 0) {
        return -1;
    }
    nimbus_error_t err;
    if (keys_publish_locked(core, &err) != 0) {
        pthread_mutex_destroy(&core->keys_lock);
        return -1;
    }
    return 0;
}

void nimbus__keys_free(nimbus_core_t *core)
{
    keys_release(core->keyset);
    core->keyset = NULL;
    OPENSSL_cleanse(core->dev_keys, sizeof core->dev_keys);
    if (core->file_keys) {
        OPENSSL_cleanse(core->file_keys, core->file_key_count * sizeof core->file_keys[0]);
        free(core->file_keys);
        core->file_keys = NULL;
    }
    pthread_mutex_destroy(&core->keys_lock);
}

/* A name already in force among the other source's keys, or NULL. */
static const char *name_taken(const nimbus_key_entry_t *keys, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(keys[i].name, name) == 0) {
            return keys[i].name;
        }
    }
    return NULL;
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
    if (name_len < 1 || name_len > NIMBUS_KEY_NAME_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's name must be 1-%d characters", NIMBUS_KEY_NAME_MAX);
    }
    char name[NIMBUS_KEY_NAME_MAX + 1];
    memcpy(name, spec, name_len);
    name[name_len] = '\0';
    if (!nimbus_key_name_valid(name)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's name may hold only A-Z, a-z, 0-9, '.', '_' "
                                "and '-'");
    }
    if (check_secret(first + 1, secret_len, err) != 0) {
        return -1;
    }
    char secret[NIMBUS_KEY_SECRET_MAX + 1];
    memcpy(secret, first + 1, secret_len);
    secret[secret_len] = '\0';
    nimbus_role_t role;
    if (!nimbus_role_from_name(last + 1, &role)) {
        OPENSSL_cleanse(secret, sizeof secret);
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "an API key's role must be read, write or admin");
    }
    nimbus_key_entry_t key;
    int rc = nimbus_key_entry_make(name, role, secret, &key, err);
    pthread_mutex_lock(&core->keys_lock);
    if (rc != 0) {
        /* err says why */
    } else if (core->dev_key_count == NIMBUS_KEYS_MAX) {
        rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "at most %d API keys", NIMBUS_KEYS_MAX);
    } else if (name_taken(core->dev_keys, core->dev_key_count, name)) {
        rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "API key name '%s' is given twice",
                              name);
    } else if (name_taken(core->file_keys, core->file_key_count, name)) {
        rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                              "API key name '%s' is in the key file too", name);
    } else {
        /* The secret is at hand only now: no two keys may share one, or a
         * Bearer secret would not name one key. */
        for (size_t i = 0; i < core->keyset->count && rc == 0; i++) {
            if (nimbus_key_entry_matches(&core->keyset->keys[i], secret)) {
                rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                      "API keys '%s' and '%s' share a secret",
                                      core->keyset->keys[i].name, name);
            }
        }
        if (rc == 0) {
            core->dev_keys[core->dev_key_count++] = key;
            if (keys_publish_locked(core, err) != 0) {
                core->dev_key_count--;
                rc = -1;
            }
        }
    }
    pthread_mutex_unlock(&core->keys_lock);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(&key, sizeof key);
    return rc;
}

int nimbus_core_load_key_file(nimbus_core_t *core, const char *path, size_t *count,
                              nimbus_error_t *err)
{
    nimbus_key_entry_t *keys = NULL;
    size_t n = 0;
    if (nimbus_key_file_read(path, &keys, &n, err) != 0) {
        return -1;
    }
    int rc = 0;
    pthread_mutex_lock(&core->keys_lock);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (name_taken(core->dev_keys, core->dev_key_count, keys[i].name)) {
            rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                  "%s: key '%s' is given by --api-key too", path, keys[i].name);
        }
    }
    if (rc == 0) {
        nimbus_key_entry_t *old = core->file_keys;
        size_t old_count = core->file_key_count;
        bool old_file = core->key_file;
        core->file_keys = keys;
        core->file_key_count = n;
        core->key_file = true;
        if (keys_publish_locked(core, err) != 0) {
            core->file_keys = old;
            core->file_key_count = old_count;
            core->key_file = old_file;
            rc = -1;
        } else {
            if (count) {
                *count = n;
            }
            keys = old;
            n = old_count;
        }
    }
    pthread_mutex_unlock(&core->keys_lock);
    if (keys) {
        OPENSSL_cleanse(keys, n * sizeof keys[0]);
        free(keys);
    }
    return rc;
}

size_t nimbus_core_key_count(nimbus_core_t *core)
{
    nimbus__keyset_t *ks = keys_acquire(core);
    size_t n = ks->count;
    keys_release(ks);
    return n;
}

bool nimbus_core_keys_required(nimbus_core_t *core)
{
    nimbus__keyset_t *ks = keys_acquire(core);
    bool required = ks->required;
    keys_release(ks);
    return required;
}

/* ---- checks ------------------------------------------------------------- */

/* Who a check found: the key's name and role (name "" for trusted
 * callers, an open server and a wrong or missing key; the key also when
 * its role falls short). */
typedef struct who {
    char name[NIMBUS_KEY_NAME_MAX + 1];
} who_t;

static int authorize(nimbus_core_t *core, const nimbus_credentials_t *creds, nimbus_role_t needed,
                     who_t *who, nimbus_error_t *err)
{
    who->name[0] = '\0';
    if (creds != NULL && creds->kind == NIMBUS_CRED_TRUSTED) {
        return 0;
    }
    nimbus__keyset_t *ks = keys_acquire(core);
    if (!ks->required) {
        keys_release(ks);
        return 0;
    }
    if (creds == NULL || (creds->kind != NIMBUS_CRED_SECRET && creds->kind != NIMBUS_CRED_NAMED) ||
        creds->secret == NULL || (creds->kind == NIMBUS_CRED_NAMED && creds->name == NULL)) {
        keys_release(ks);
        return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "an API key is required");
    }
    const nimbus_key_entry_t *match = NULL;
    for (size_t i = 0; i < ks->count; i++) {
        const nimbus_key_entry_t *key = &ks->keys[i];
        bool name_ok = creds->kind != NIMBUS_CRED_NAMED || strcmp(key->name, creds->name) == 0;
        /* Hash and compare for every key, matching or not, so timing
         * reveals nothing. */
        if (nimbus_key_entry_matches(key, creds->secret) && name_ok) {
            match = key;
        }
    }
    if (match == NULL) {
        keys_release(ks);
        return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "the API key is not valid");
    }
    memcpy(who->name, match->name, sizeof who->name);
    nimbus_role_t role = match->role;
    keys_release(ks);
    if (role < needed) {
        return nimbus_error_set(err, NIMBUS_PERMISSION_DENIED,
                                "API key '%s' has the %s role; this operation needs %s", who->name,
                                nimbus_role_name(role), nimbus_role_name(needed));
    }
    return 0;
}

static void name_of(const who_t *who, char *out)
{
    if (out) {
        memcpy(out, who->name, NIMBUS_KEY_NAME_MAX + 1);
    }
}

int nimbus_core_authorize(nimbus_core_t *core, const nimbus_credentials_t *creds,
                          nimbus_role_t needed, nimbus_error_t *err)
{
    return nimbus_core_authorize_as(core, creds, needed, NULL, err);
}

int nimbus_core_authorize_as(nimbus_core_t *core, const nimbus_credentials_t *creds,
                             nimbus_role_t needed, char *out, nimbus_error_t *err)
{
    who_t who;
    int rc = authorize(core, creds, needed, &who, err);
    name_of(&who, out);
    return rc;
}

/* Whose limits apply: the key's, or the client address's on a server
 * without keys. After a successful authorize. */
static void subject_of(const who_t *who, const char *client, char out[NIMBUS_COUNTS_NAME_MAX])
{
    if (who->name[0]) {
        snprintf(out, NIMBUS_COUNTS_NAME_MAX, "key %s", who->name);
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
                         nimbus_role_t needed, char *out, nimbus_error_t *err)
{
    who_t who;
    int rc = authorize(core, creds, needed, &who, err);
    name_of(&who, out);
    if (rc != 0) {
        return -1;
    }
    /* Without a rate (the default) there is no subject to name: this runs
     * for every call, and naming it costs a snprintf. */
    if ((creds != NULL && creds->kind == NIMBUS_CRED_TRUSTED) || !nimbus__rate_limited(core)) {
        return 0;
    }
    char subject[NIMBUS_COUNTS_NAME_MAX];
    subject_of(&who, client, subject);
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
    who_t who;
    subject[0] = '\0';
    if (authorize(core, creds, NIMBUS_ROLE_READ, &who, err) != 0) {
        return -1;
    }
    if (creds != NULL && creds->kind == NIMBUS_CRED_TRUSTED) {
        return 0;
    }
    subject_of(&who, client, subject);
    int rc = nimbus_counts_take(core->subscriptions, subject, core->subscriptions_per_key, 0);
    if (rc != 0) {
        subject[0] = '\0';
        return rc < 0 ? nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory")
                      : nimbus_error_set(err, NIMBUS_RESOURCE_EXHAUSTED,
                                         "at most %zu subscriptions per %s",
                                         core->subscriptions_per_key,
                                         who.name[0] ? "API key" : "client address");
    }
    return 0;
}

void nimbus_core_subscription_release(nimbus_core_t *core, const char *subject)
{
    if (subject && *subject) {
        nimbus_counts_give(core->subscriptions, subject);
    }
}
