/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The process-wide core and the per-thread service handles. The core owns
 * what all workers share (the database path or URI, the writer thread, the
 * hub lock, the in-memory head seq, the cursor key, the API keys and the
 * hub's listeners); each service owns one connection (SQLite or
 * PostgreSQL), its statement cache and the queue of its finished writes, so
 * workers read in parallel without sharing a connection.
 *
 * nimbus_core_open brings the schema up to date, loads the seq counter once
 * and starts the writer; after that the counter in memory moves only under
 * the hub lock, right after the COMMIT that stored it (on SQLite) or once
 * what was committed up to it was handed to the hub (on PostgreSQL, where
 * other processes commit too: follow.c), so nimbus_core_head_seq is one
 * atomic load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "service_internal.h"

nimbus_core_t *nimbus_core_open(const char *path, nimbus_error_t *err)
{
    if (path == NULL || path[0] == '\0') {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "database path is required");
        return NULL;
    }
    nimbus_core_t *core = calloc(1, sizeof(*core));
    if (core == NULL) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    core->path = strdup(path);
    if (core->path == NULL) {
        free(core);
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&core->rates.lock, NULL) != 0) {
        free(core->path);
        free(core);
        nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create the rate limits' lock");
        return NULL;
    }
    if (pthread_mutex_init(&core->hub_lock, NULL) != 0) {
        free(core->path);
        free(core);
        nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create the hub lock");
        return NULL;
    }
    if (nimbus__keys_init(core) != 0) {
        pthread_mutex_destroy(&core->hub_lock);
        free(core->path);
        free(core);
        nimbus_error_set(err, NIMBUS_INTERNAL, "cannot set up the API keys");
        return NULL;
    }
    atomic_init(&core->head_seq, 0);
    atomic_init(&core->write_gen, 1);
    for (size_t i = 0; i < sizeof core->gens / sizeof core->gens[0]; i++) {
        atomic_init(&core->gens[i], 1);
    }
    core->next_listener_id = 1;
    core->subscriptions = nimbus_counts_new();
    if (core->subscriptions == NULL || nimbus__metrics_init(core) != 0) {
        nimbus_core_free(core);
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }

    core->engine = nimbus__is_pg_uri(path) ? NIMBUS__POSTGRES : NIMBUS__SQLITE;
    if (core->engine == NIMBUS__POSTGRES) {
        if (nimbus__pg_migrate(core, err) != 0 || nimbus__writer_start(core, err) != 0 ||
            nimbus__follower_start(core, err) != 0) {
            nimbus_core_free(core);
            return NULL;
        }
        return core;
    }
    sqlite3 *db = NULL;
    if (nimbus__mkdir_parents(path, err) != 0 || nimbus__store_connect(path, &db, err) != 0 ||
        nimbus__store_migrate(core, db, err) != 0) {
        sqlite3_close(db);
        nimbus_core_free(core);
        return NULL;
    }
    sqlite3_close(db);
    if (nimbus__writer_start(core, err) != 0) {
        nimbus_core_free(core);
        return NULL;
    }
    return core;
}

void nimbus_core_free(nimbus_core_t *core)
{
    if (core == NULL) {
        return;
    }
    /* Every write still queued is run first: nothing acknowledged or
     * waited for is dropped. */
    nimbus__writer_stop(core);
    nimbus__follower_stop(core);
    pthread_mutex_destroy(&core->hub_lock);
    pthread_mutex_destroy(&core->rates.lock);
    nimbus_counts_free(core->subscriptions);
    nimbus__metrics_cleanup(core);
    free(core->rates.buckets);
    free(core->listeners);
    free(core->path);
    /* Even hashes of secrets should not linger in freed memory. */
    nimbus__keys_free(core);
    free(core);
}

bool nimbus_core_shared(const nimbus_core_t *core)
{
    return core->engine == NIMBUS__POSTGRES;
}

void nimbus_store_label(const char *path, char *out, size_t size)
{
    if (size == 0) {
        return;
    }
    snprintf(out, size, "%s", path);
    if (!nimbus__is_pg_uri(path)) {
        return;
    }
    /* scheme://user:PASSWORD@host... and ?...&password=PASSWORD&... */
    char buf[1024];
    size_t n = 0;
    const char *p = path;
    const char *auth = strstr(path, "//") + 2;
    const char *at = strchr(auth, '@');
    const char *end = auth + strcspn(auth, "/?");
    const char *colon = strchr(auth, ':');
    while (*p != '\0' && n + 4 < sizeof buf) {
        bool user_password =
            at != NULL && at < end && colon != NULL && colon < at && p == colon + 1;
        bool query_password =
            p > path && (p[-1] == '?' || p[-1] == '&') && strncmp(p, "password=", 9) == 0;
        if (user_password || query_password) {
            if (query_password) {
                memcpy(buf + n, p, 9);
                n += 9;
                p += 9;
            }
            memcpy(buf + n, "***", 3);
            n += 3;
            p = user_password ? at : p + strcspn(p, "&");
            continue;
        }
        buf[n++] = *p++;
    }
    buf[n] = '\0';
    snprintf(out, size, "%s", buf);
}

int64_t nimbus_core_head_seq(nimbus_core_t *core)
{
    return atomic_load(&core->head_seq);
}

int nimbus_core_station_count(nimbus_core_t *core, int64_t *count, nimbus_error_t *err)
{
    nimbus_service_t *svc = nimbus_service_new(core, err);
    if (svc == NULL) {
        return -1;
    }
    int ret = -1;
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_STATION_COUNT, err);
    if (st != NULL) {
        int rc = nimbus__step(st);
        if (rc == NIMBUS__STEP_ROW) {
            *count = nimbus__col_int64(st, 0);
            ret = 0;
        } else {
            nimbus__store_error(svc, rc, "counting stations", err);
        }
        nimbus__reset(st);
    }
    nimbus_service_free(svc);
    return ret;
}

nimbus_service_t *nimbus_service_new(nimbus_core_t *core, nimbus_error_t *err)
{
    nimbus_service_t *svc = calloc(1, sizeof(*svc));
    if (svc == NULL) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    svc->core = core;
    STAILQ_INIT(&svc->done);
    atomic_init(&svc->pending, 0);
    if (pthread_mutex_init(&svc->done_lock, NULL) != 0) {
        free(svc);
        nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create a lock");
        return NULL;
    }
    if (nimbus__store_open_service(svc, err) != 0) {
        nimbus_service_free(svc);
        return NULL;
    }
    return svc;
}

void nimbus_service_free(nimbus_service_t *svc)
{
    if (svc == NULL) {
        return;
    }
    nimbus__store_close_service(svc);
    pthread_mutex_destroy(&svc->done_lock);
    free(svc);
}

nimbus_core_t *nimbus_service_core(nimbus_service_t *svc)
{
    return svc->core;
}
