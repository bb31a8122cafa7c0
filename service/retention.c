/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Retention (--retention): observations whose observedAt is older than the
 * configured age are deleted, in steps of at most NIMBUS__RETENTION_BATCH
 * rows, one transaction each, by the writer thread between groups of
 * writes, so it never holds up a request and never competes with another
 * writer. A step runs when the writer has nothing queued: at once after a
 * step that deleted a full batch (there may be more), else once every
 * NIMBUS__RETENTION_IDLE_MS.
 *
 * It walks station by station through the primary key (station_id,
 * observed_at), oldest first, so each station's old rows are a range read,
 * not a scan. Seqs are never reused or moved back: deleting a row leaves a
 * gap below the head, which the stream's replay reports (a replay from a
 * seq older than what is kept starts at the oldest row kept).
 *
 * Every station a step touched is stamped in freshness.c like any write,
 * so no kept answer shows a deleted observation; on PostgreSQL it is also
 * notified, so the other processes sharing the database stamp it too, and
 * a step takes the writers' lock first, so it is serialised with every
 * writer of every process (each process runs its own steps; what one
 * deleted, the next finds gone).
 */
#include <stdio.h>
#include <time.h>

#include "service_internal.h"

void nimbus_core_set_retention(nimbus_core_t *core, int64_t seconds)
{
    nimbus__writer_t *wr = &core->writer;
    pthread_mutex_lock(&wr->lock);
    wr->retention_s = seconds > 0 ? seconds : 0;
    wr->retention_due = true; /* a first step soon, rather than in a minute */
    pthread_cond_signal(&wr->cond);
    pthread_mutex_unlock(&wr->lock);
}

uint64_t nimbus_core_retention_removed(nimbus_core_t *core)
{
    return atomic_load(&core->writer.retention_removed);
}

/* Runs a cached statement that returns no row (BEGIN, COMMIT). */
static int exec_stmt(nimbus_service_t *w, nimbus__stmt_id_t id)
{
    nimbus_error_t err;
    nimbus__st_t *st = nimbus__stmt(w, id, &err);
    int rc = st ? nimbus__step(st) : NIMBUS__PG_FAILED;
    if (st) {
        nimbus__reset(st);
    }
    return rc == NIMBUS__STEP_DONE ? 0 : -1;
}

/* One step: up to NIMBUS__RETENTION_BATCH rows older than the cutoff.
 * Returns the rows deleted, or -1 when storage failed (the step is rolled
 * back; the next one tries again). Writer thread. */
int64_t nimbus__retention_step(nimbus_core_t *core, int64_t retention_s)
{
    nimbus__writer_t *wr = &core->writer;
    nimbus_service_t *w = wr->svc;
    nimbus_error_t err;
    int64_t cutoff = (int64_t)time(NULL) - retention_s;
    nimbus__rollback(w);
    if (exec_stmt(w, NIMBUS__STMT_BEGIN) != 0) {
        nimbus__rollback(w);
        return -1;
    }
    if (core->engine == NIMBUS__POSTGRES) {
        /* The writers' lock (writer.c): a step never deadlocks with a
         * DeleteStation of any process, nor with another process's step. */
        nimbus__st_t *lock = nimbus__stmt(w, NIMBUS__STMT_SEQ_GET, &err);
        int lrc = lock ? nimbus__step(lock) : NIMBUS__PG_FAILED;
        if (lock) {
            nimbus__reset(lock);
        }
        if (lrc != NIMBUS__STEP_ROW) {
            nimbus__rollback(w);
            return -1;
        }
    }
    nimbus__st_t *list = nimbus__stmt(w, NIMBUS__STMT_STATION_IDS, &err);
    nimbus__st_t *del = nimbus__stmt(w, NIMBUS__STMT_OBS_EXPIRE, &err);
    if (list == NULL || del == NULL) {
        nimbus__rollback(w);
        return -1;
    }
    int64_t left = NIMBUS__RETENTION_BATCH, removed = 0;
    int rc;
    while (left > 0 && (rc = nimbus__step(list)) == NIMBUS__STEP_ROW) {
        const char *id = (const char *)nimbus__col_text(list, 0);
        nimbus__bind_text(del, 1, id);
        nimbus__bind_int64(del, 2, cutoff);
        nimbus__bind_int64(del, 3, left);
        int drc = nimbus__step(del);
        nimbus__reset(del);
        if (drc != NIMBUS__STEP_DONE) {
            nimbus__reset(list);
            nimbus__rollback(w);
            return -1;
        }
        int64_t n = nimbus__changes(del);
        if (n > 0) {
            removed += n;
            left -= n;
            nimbus__writer_touch_station(wr, id);
            if (core->engine == NIMBUS__POSTGRES &&
                nimbus__follow_notify_station(w, id, &err) != 0) {
                nimbus__reset(list);
                nimbus__rollback(w);
                return -1;
            }
        }
    }
    nimbus__reset(list);
    if (exec_stmt(w, NIMBUS__STMT_COMMIT) != 0) {
        nimbus__rollback(w);
        return -1;
    }
    if (removed > 0) {
        pthread_mutex_lock(&core->hub_lock);
        nimbus__writer_publish_gens(core);
        pthread_mutex_unlock(&core->hub_lock);
        atomic_fetch_add(&wr->retention_removed, (uint64_t)removed);
    }
    return removed;
}
