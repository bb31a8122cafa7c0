/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The checkpointer: a thread of its own that copies the WAL back into the
 * database file, so neither the writer nor a worker ever does.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses
 * wal_autocheckpoint pages, on the committing connection: the writer would
 * stop committing while it copies and fsyncs the whole WAL (seconds once
 * the WAL is large, and a WAL grows large exactly under heavy writing), and
 * every write waiting behind it would stall. So the writer's connection has
 * automatic checkpoints off; its WAL hook (called after each commit with
 * the WAL's size in pages) wakes this thread once the WAL holds
 * NIMBUS__CHECKPOINT_PAGES pages, and this thread runs a PASSIVE checkpoint
 * on its own connection: it copies what no reader still needs and never
 * waits for readers or the writer, and the writer starts the WAL over from
 * its beginning once a checkpoint has copied all of it. Readers in WAL
 * mode are never blocked by any of this.
 *
 * Under writes that never pause, a PASSIVE checkpoint may never find the
 * WAL wholly copied (the writer appends while it copies), and the WAL would
 * grow without bound. So once the WAL holds NIMBUS__WAL_PAGES_MAX pages
 * the writer itself, between two groups, runs a RESTART checkpoint
 * (nimbus__checkpoint_restart): it copies the few frames the passive runs
 * left and makes the next group start the WAL over; journal_size_limit
 * gives the file back. That pause, bounded by one checkpoint's worth of
 * copying, is the price of a bounded WAL; it is paid by writes, never by
 * reads, and it cannot be put off by a checkpointer thread that the
 * scheduler keeps waiting.
 *
 * Stopping: after the writer stopped, one last PASSIVE checkpoint; SQLite
 * checkpoints and removes the WAL when the last connection closes.
 */
#include <stdio.h>

#include "service_internal.h"

/* Called by SQLite on the writer's thread after each COMMIT. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    nimbus__checkpointer_t *cp = arg;
    /* pages counts the whole WAL, copied or not: wake for every
     * NIMBUS__CHECKPOINT_PAGES new pages, counted again from the start
     * once the WAL has started over. */
    int before = atomic_exchange(&cp->wal_pages, pages);
    if (pages < before) {
        atomic_store(&cp->next_at, NIMBUS__CHECKPOINT_PAGES);
    }
    if (pages >= atomic_load(&cp->next_at)) {
        pthread_mutex_lock(&cp->lock);
        cp->wanted = true;
        pthread_cond_signal(&cp->cond);
        pthread_mutex_unlock(&cp->lock);
    }
    return SQLITE_OK;
}

static void checkpoint(nimbus__checkpointer_t *cp)
{
    int wal = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(cp->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &wal, &copied);
    atomic_store(&cp->next_at,
                 (rc == SQLITE_OK ? wal : atomic_load(&cp->wal_pages)) + NIMBUS__CHECKPOINT_PAGES);
    atomic_fetch_add(&cp->runs, 1);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        atomic_fetch_add(&cp->failures, 1);
    }
}

static void *checkpointer_main(void *arg)
{
    nimbus__checkpointer_t *cp = arg;
    nimbus__writer_thread_batch();
    pthread_mutex_lock(&cp->lock);
    for (;;) {
        while (!cp->wanted && !cp->stopping) {
            pthread_cond_wait(&cp->cond, &cp->lock);
        }
        if (cp->stopping) {
            break;
        }
        cp->wanted = false;
        pthread_mutex_unlock(&cp->lock);
        checkpoint(cp);
        pthread_mutex_lock(&cp->lock);
    }
    pthread_mutex_unlock(&cp->lock);
    checkpoint(cp);
    return NULL;
}

void nimbus__checkpoint_restart(nimbus_core_t *core, sqlite3 *writer_db)
{
    nimbus__checkpointer_t *cp = &core->checkpointer;
    if (atomic_load(&cp->wal_pages) < NIMBUS__WAL_PAGES_MAX) {
        return;
    }
    int wal = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(writer_db, NULL, SQLITE_CHECKPOINT_RESTART, &wal, &copied);
    atomic_fetch_add(&cp->restarts, 1);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
        atomic_fetch_add(&cp->failures, 1);
    }
}

int nimbus__checkpointer_start(nimbus_core_t *core, sqlite3 *writer_db, nimbus_error_t *err)
{
    nimbus__checkpointer_t *cp = &core->checkpointer;
    if (pthread_mutex_init(&cp->lock, NULL) != 0 || pthread_cond_init(&cp->cond, NULL) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create the checkpointer's lock");
    }
    cp->initialised = true;
    atomic_store(&cp->next_at, NIMBUS__CHECKPOINT_PAGES);
    if (nimbus__store_connect(core->path, &cp->db, err) != 0) {
        return -1;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = %lld",
             (long long)NIMBUS__WAL_PAGES_MAX * 4096);
    if (sqlite3_exec(writer_db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot configure the writer's connection");
    }
    sqlite3_wal_hook(writer_db, wal_hook, cp);
    if (pthread_create(&cp->thread, NULL, checkpointer_main, cp) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot start the checkpointer thread");
    }
    cp->started = true;
    return 0;
}

void nimbus__checkpointer_stop(nimbus_core_t *core)
{
    nimbus__checkpointer_t *cp = &core->checkpointer;
    if (cp->started) {
        pthread_mutex_lock(&cp->lock);
        cp->stopping = true;
        pthread_cond_signal(&cp->cond);
        pthread_mutex_unlock(&cp->lock);
        pthread_join(cp->thread, NULL);
        cp->started = false;
    }
    if (cp->db != NULL) {
        sqlite3_close(cp->db);
        cp->db = NULL;
    }
    if (cp->initialised) {
        pthread_mutex_destroy(&cp->lock);
        pthread_cond_destroy(&cp->cond);
        cp->initialised = false;
    }
}
