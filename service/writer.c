/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The writer: the one thread that runs write transactions, with group
 * commit. Workers check a write (caller, every value rule) on their own
 * thread, copy what it needs into a job and queue it; the writer takes
 * every job waiting and runs them all in one transaction on its own
 * connection:
 *
 *   BEGIN IMMEDIATE; read the seq counter
 *   each job's apply, in queue order: refused alone (nothing changed), or
 *       written (seqs assigned from the counter, stored observations kept
 *       for publication), or a storage failure (the whole group fails)
 *   store the seq counter; COMMIT          -- one fsync for the group
 *   under the hub lock: head seq, then publish the stored observations
 *   hand each job back: to its service's completion queue (the worker's
 *       thread answers it) or to the thread waiting for it
 *
 * Durability is unchanged: no job is handed back before the COMMIT that
 * holds its write returned (synchronous=FULL), and a failed COMMIT fails
 * every job of the group, having stored nothing. Seqs are assigned,
 * committed and published in one order. Workers never wait for the writer
 * (they go on serving; their readers' WAL snapshots never wait for it
 * either), and a slow fsync or a WAL checkpoint (which SQLite runs on the
 * committing connection) costs the writer's thread, not a worker's.
 *
 * A group is bounded (NIMBUS__GROUP_JOBS_MAX jobs, NIMBUS__GROUP_OBS_MAX
 * observations), so one transaction, and the wait of its first job, stays
 * short under any load.
 *
 * Scheduling: the writer (and the checkpointer) run under SCHED_BATCH. A
 * worker wakes the writer with every job it queues; a SCHED_OTHER thread
 * woken on the worker's core preempts it on the spot (it slept, so the
 * scheduler owes it time), and every read in flight then waits for a
 * group that holds one write. A SCHED_BATCH thread has the same weight
 * (its fair share of a busy core, never starved: a nice value starved the
 * writer and halved row 6) but does not preempt on wakeup; it runs at the
 * worker's next tick or sleep, by which time more jobs have queued. Row 7
 * of docs/performance.md: readers' p99 under 64 writers x2.45 -> x1.45-1.88
 * of their p99 without writers. A worker busy for milliseconds in one
 * callback (a fan-out) would keep a commit whose fsync has returned
 * waiting for the core until the next tick (4 ms at HZ=250); it yields at
 * points while a group runs (nimbus_core_commit_pending).
 *
 * On PostgreSQL the same loop runs with three differences: reading the
 * counter (SELECT ... FOR UPDATE) takes a row lock held to COMMIT, which
 * serialises the writers of every process sharing the database, so seqs
 * are assigned in commit order across them; the group NOTIFYs the other
 * processes before its COMMIT (follow.c); and after it, the hub gets first
 * what other processes committed below the group's seqs, then the group's
 * own observations (nimbus__follow_published).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus_log.h"
#include "service_internal.h"

#define NIMBUS__GROUP_JOBS_MAX 1024
#define NIMBUS__GROUP_OBS_MAX 20000

/* A thread waiting for one job (nimbus__job_run). */
struct nimbus__sync {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool finished;
};

nimbus__job_t *nimbus__job_new(nimbus_op_t op, nimbus__apply_fn apply)
{
    nimbus__job_t *job = calloc(1, sizeof(*job));
    if (job != NULL) {
        job->op = op;
        job->apply = apply;
    }
    return job;
}

void nimbus__job_free(nimbus__job_t *job)
{
    if (job == NULL) {
        return;
    }
    if (job->op == NIMBUS_OP_RecordObservations) {
        free(job->in.record.obs);
    }
    free(job);
}

static size_t job_weight(const nimbus__job_t *job)
{
    return job->op == NIMBUS_OP_RecordObservations ? job->in.record.count : 1;
}

static void enqueue(nimbus_core_t *core, nimbus__job_t *job)
{
    nimbus__writer_t *wr = &core->writer;
    pthread_mutex_lock(&wr->lock);
    STAILQ_INSERT_TAIL(&wr->queue, job, link);
    pthread_cond_signal(&wr->cond);
    pthread_mutex_unlock(&wr->lock);
}

int nimbus__job_run(nimbus_service_t *svc, nimbus__job_t *job, nimbus_response_t *out,
                    nimbus_error_t *err)
{
    struct nimbus__sync sync = {.finished = false};
    pthread_mutex_init(&sync.lock, NULL);
    pthread_cond_init(&sync.cond, NULL);
    job->sync = &sync;
    enqueue(svc->core, job);
    pthread_mutex_lock(&sync.lock);
    while (!sync.finished) {
        pthread_cond_wait(&sync.cond, &sync.lock);
    }
    pthread_mutex_unlock(&sync.lock);
    pthread_cond_destroy(&sync.cond);
    pthread_mutex_destroy(&sync.lock);
    int rc = job->rc;
    if (rc == 0) {
        *out = job->res;
    } else if (err != NULL) {
        *err = job->err;
    }
    nimbus__job_free(job);
    return rc;
}

void nimbus__job_submit(nimbus_service_t *svc, nimbus__job_t *job, nimbus_response_t *out,
                        nimbus_call_done_fn done, void *arg)
{
    job->owner = svc;
    job->done = done;
    job->arg = arg;
    job->out = out;
    atomic_fetch_add(&svc->pending, 1);
    enqueue(svc->core, job);
}

int nimbus__writer_stored(nimbus_service_t *wsvc, const nimbus_observation_t *obs,
                          nimbus_error_t *err)
{
    nimbus__writer_t *wr = &wsvc->core->writer;
    nimbus_observation_t *grown =
        nimbus_grow(wr->stored, &wr->stored_cap, wr->stored_count + 1, sizeof(*grown), 1024);
    if (grown == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    wr->stored = grown;
    wr->stored[wr->stored_count++] = *obs;
    return 0;
}

/* ---- one group ------------------------------------------------------------ */

static int step_done(nimbus_service_t *svc, nimbus__stmt_id_t id, const char *doing,
                     nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(svc, id, err);
    if (st == NULL) {
        return -1;
    }
    int rc = nimbus__step(st);
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(svc, rc, doing, err);
    }
    return 0;
}

/* BEGIN IMMEDIATE and the seq counter. On failure nothing is open. */
static int group_begin(nimbus_service_t *wsvc, int64_t *seq, nimbus_error_t *err)
{
    /* A transaction left open by a failure that could not even roll back
     * (out of memory): end it rather than fail forever. */
    nimbus__rollback(wsvc);
    if (step_done(wsvc, NIMBUS__STMT_BEGIN, "starting a write", err) != 0) {
        nimbus__rollback(wsvc);
        return -1;
    }
    nimbus__st_t *st = nimbus__stmt(wsvc, NIMBUS__STMT_SEQ_GET, err);
    int rc = st != NULL ? nimbus__step(st) : NIMBUS__PG_FAILED;
    if (rc == NIMBUS__STEP_ROW) {
        *seq = nimbus__col_int64(st, 0);
        nimbus__reset(st);
        return 0;
    }
    if (st != NULL) {
        nimbus__reset(st);
        if (rc == NIMBUS__STEP_DONE) {
            nimbus_error_set(err, NIMBUS_UNAVAILABLE, "database is damaged: no seq counter");
        } else {
            nimbus__store_error(wsvc, rc, "reading the seq counter", err);
        }
    }
    nimbus__rollback(wsvc);
    return -1;
}

/* The seq counter (when it moved) and COMMIT; on failure rolled back. */
static int group_commit(nimbus_service_t *wsvc, int64_t old_seq, int64_t new_seq,
                        nimbus_error_t *err)
{
    if (new_seq != old_seq) {
        nimbus__st_t *st = nimbus__stmt(wsvc, NIMBUS__STMT_SEQ_SET, err);
        if (st == NULL) {
            nimbus__rollback(wsvc);
            return -1;
        }
        nimbus__bind_int64(st, 1, new_seq);
        int rc = nimbus__step(st);
        nimbus__reset(st);
        if (rc != NIMBUS__STEP_DONE) {
            nimbus__store_error(wsvc, rc, "storing the seq counter", err);
            nimbus__rollback(wsvc);
            return -1;
        }
    }
    if (step_done(wsvc, NIMBUS__STMT_COMMIT, "committing", err) != 0) {
        nimbus__rollback(wsvc);
        return -1;
    }
    return 0;
}

/* Hands a finished job back. */
static void finish(nimbus__job_t *job)
{
    if (job->sync != NULL) {
        struct nimbus__sync *sync = job->sync;
        pthread_mutex_lock(&sync->lock);
        sync->finished = true;
        pthread_cond_signal(&sync->cond);
        pthread_mutex_unlock(&sync->lock);
        return; /* the waiter frees the job */
    }
    nimbus_service_t *owner = job->owner;
    pthread_mutex_lock(&owner->done_lock);
    bool was_empty = STAILQ_EMPTY(&owner->done);
    STAILQ_INSERT_TAIL(&owner->done, job, link);
    pthread_mutex_unlock(&owner->done_lock);
    if (was_empty) {
        owner->wake(owner->wake_arg);
    }
}

static void run_group(nimbus_core_t *core, struct nimbus__job_queue *group)
{
    nimbus__writer_t *wr = &core->writer;
    nimbus_service_t *wsvc = wr->svc;
    nimbus_error_t err;
    nimbus_error_clear(&err);
    int64_t first_seq = 0;
    wr->stored_count = 0;
    core->metrics.group_duplicates = 0;
    int rc = group_begin(wsvc, &first_seq, &err);
    int64_t seq = first_seq;
    nimbus__job_t *job;
    STAILQ_FOREACH(job, group, link)
    {
        job->rc = NIMBUS__JOB_PENDING;
        if (rc != 0) {
            continue;
        }
        nimbus_error_clear(&job->err);
        int r = job->apply(wsvc, job, &seq, &job->err);
        if (r > 0) {
            job->rc = NIMBUS__JOB_REFUSED;
        } else if (r < 0) {
            err = job->err;
            rc = -1;
            nimbus__rollback(wsvc);
        } else {
            job->rc = NIMBUS__JOB_WRITTEN;
            nimbus__writer_touch(wr, job);
        }
    }
    if (rc == 0 && core->engine == NIMBUS__POSTGRES &&
        nimbus__follow_notify_group(wsvc, group, first_seq, seq, &err) != 0) {
        rc = -1;
        nimbus__rollback(wsvc);
    }
    if (rc == 0) {
        uint64_t commit_start = nimbus_clock_us(CLOCK_MONOTONIC);
        rc = group_commit(wsvc, first_seq, seq, &err);
        nimbus__metrics_commit(core, nimbus_clock_us(CLOCK_MONOTONIC) - commit_start,
                               wr->stored_count, rc == 0);
    }
    pthread_mutex_lock(&wr->lock);
    wr->failing = rc != 0;
    if (rc != 0) {
        snprintf(wr->failing_why, sizeof wr->failing_why, "storage: %.200s", err.message);
    }
    pthread_mutex_unlock(&wr->lock);
    if (rc == 0 && core->engine == NIMBUS__POSTGRES) {
        pthread_mutex_lock(&core->hub_lock);
        nimbus__writer_publish_gens(core);
        pthread_mutex_unlock(&core->hub_lock);
        /* Other processes may have committed seqs below ours that this one
         * has not fed to its hub yet: they go first. */
        nimbus__follow_published(core, wsvc, first_seq, wr->stored, wr->stored_count);
    } else if (rc == 0) {
        pthread_mutex_lock(&core->hub_lock);
        if (seq != first_seq) {
            atomic_store(&core->head_seq, seq);
        }
        nimbus__writer_publish_gens(core);
        if (wr->stored_count > 0) {
            nimbus__hub_publish(core, wr->stored, wr->stored_count);
        }
        pthread_mutex_unlock(&core->hub_lock);
    } else {
        /* Whatever a failed COMMIT left, no kept answer may claim to
         * predate it. */
        nimbus__writer_publish_gens(core);
    }
    /* A failed group stored nothing: every job not refused on its own
     * fails with the group's error. */
    while ((job = STAILQ_FIRST(group)) != NULL) {
        STAILQ_REMOVE_HEAD(group, link);
        if (job->rc == NIMBUS__JOB_REFUSED) {
            job->rc = -1;
        } else if (rc != 0) {
            job->rc = -1;
            job->err = err;
        } else {
            job->rc = 0;
        }
        finish(job);
    }
}

void nimbus__writer_thread_batch(void)
{
    /* Unprivileged and harmless to refuse: the thread then stays as it was. */
    struct sched_param none = {.sched_priority = 0};
    int rc = pthread_setschedparam(pthread_self(), SCHED_BATCH, &none);
    if (rc != 0) {
        nimbus_log(NIMBUS_LOG_WARN, "cannot run the writer's threads under SCHED_BATCH: %s",
                   strerror(rc));
    }
}

static void *writer_main(void *arg)
{
    nimbus_core_t *core = arg;
    nimbus__writer_t *wr = &core->writer;
    nimbus__writer_thread_batch();
    pthread_mutex_lock(&wr->lock);
    for (;;) {
        while (STAILQ_EMPTY(&wr->queue) && !wr->stopping &&
               !(wr->retention_s > 0 && wr->retention_due)) {
            if (wr->retention_s > 0) {
                /* Idle: a retention step once the pause is over. */
                struct timespec until;
                clock_gettime(CLOCK_REALTIME, &until);
                until.tv_sec += NIMBUS__RETENTION_IDLE_MS / 1000;
                if (pthread_cond_timedwait(&wr->cond, &wr->lock, &until) == ETIMEDOUT) {
                    wr->retention_due = true;
                }
            } else {
                pthread_cond_wait(&wr->cond, &wr->lock);
            }
        }
        if (STAILQ_EMPTY(&wr->queue) && wr->stopping) {
            break; /* stopping, and nothing left to run */
        }
        if (STAILQ_EMPTY(&wr->queue)) {
            /* Nothing to write: delete what is past the retention. */
            int64_t keep = wr->retention_s;
            wr->retention_due = false;
            pthread_mutex_unlock(&wr->lock);
            int64_t removed = nimbus__retention_step(core, keep);
            if (core->engine == NIMBUS__SQLITE) {
                nimbus__checkpoint_restart(core, wr->svc->db);
            }
            pthread_mutex_lock(&wr->lock);
            if (removed == NIMBUS__RETENTION_BATCH) {
                wr->retention_due = true; /* more may be left */
            }
            continue;
        }
        /* Everything waiting, up to the group's bounds. */
        struct nimbus__job_queue group = STAILQ_HEAD_INITIALIZER(group);
        size_t jobs = 0, weight = 0;
        nimbus__job_t *job;
        while ((job = STAILQ_FIRST(&wr->queue)) != NULL && jobs < NIMBUS__GROUP_JOBS_MAX &&
               (jobs == 0 || weight + job_weight(job) <= NIMBUS__GROUP_OBS_MAX)) {
            STAILQ_REMOVE_HEAD(&wr->queue, link);
            STAILQ_INSERT_TAIL(&group, job, link);
            jobs++;
            weight += job_weight(job);
        }
        pthread_mutex_unlock(&wr->lock);
        atomic_store(&wr->in_group, true);
        run_group(core, &group);
        atomic_store(&wr->in_group, false);
        if (core->engine == NIMBUS__SQLITE) {
            nimbus__checkpoint_restart(core, wr->svc->db);
        }
        pthread_mutex_lock(&wr->lock);
    }
    pthread_mutex_unlock(&wr->lock);
    return NULL;
}

bool nimbus_core_commit_pending(nimbus_core_t *core)
{
    return atomic_load(&core->writer.in_group);
}

int nimbus__writer_start(nimbus_core_t *core, nimbus_error_t *err)
{
    nimbus__writer_t *wr = &core->writer;
    STAILQ_INIT(&wr->queue);
    if (pthread_mutex_init(&wr->lock, NULL) != 0 || pthread_cond_init(&wr->cond, NULL) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create the writer's lock");
    }
    wr->svc = nimbus_service_new(core, err);
    if (wr->svc == NULL) {
        return -1;
    }
    /* The writer checks every observation's station in the same
     * transaction before storing (apply_record), and deletes a station's
     * observations itself (apply_delete): SQLite's own per-row parent
     * lookup would repeat that check for each of a batch's rows (a fifth of
     * the writer's time per observation). Nothing else writes. On
     * PostgreSQL the foreign key stays: the database is shared, and tools
     * other than this writer (nimbus migrate, an operator's psql) may write
     * to it; there is no WAL of ours to checkpoint either (the server
     * does its own). */
    if (core->engine == NIMBUS__SQLITE) {
        if (sqlite3_exec(wr->svc->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL) != SQLITE_OK) {
            return nimbus_error_set(err, NIMBUS_INTERNAL,
                                    "cannot configure the writer's connection");
        }
        if (nimbus__checkpointer_start(core, wr->svc->db, err) != 0) {
            return -1;
        }
    }
    if (pthread_create(&wr->thread, NULL, writer_main, core) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot start the writer thread");
    }
    wr->started = true;
    return 0;
}

bool nimbus_core_storage_ok(nimbus_core_t *core, char *why, size_t size)
{
    nimbus__writer_t *wr = &core->writer;
    pthread_mutex_lock(&wr->lock);
    bool ok = wr->started && !wr->failing && !wr->stopping;
    if (!ok && size > 0) {
        snprintf(why, size, "%s",
                 wr->failing ? wr->failing_why : "storage: the writer is not running");
    }
    pthread_mutex_unlock(&wr->lock);
    return ok;
}

void nimbus__writer_stop(nimbus_core_t *core)
{
    nimbus__writer_t *wr = &core->writer;
    if (wr->started) {
        pthread_mutex_lock(&wr->lock);
        wr->stopping = true;
        pthread_cond_signal(&wr->cond);
        pthread_mutex_unlock(&wr->lock);
        pthread_join(wr->thread, NULL);
        wr->started = false;
    }
    /* Before the writer's connection goes: its WAL hook points here. */
    nimbus__checkpointer_stop(core);
    nimbus_service_free(wr->svc);
    wr->svc = NULL;
    free(wr->stored);
    wr->stored = NULL;
    wr->stored_count = wr->stored_cap = 0;
}

/* ---- completions ------------------------------------------------------------- */

void nimbus_service_set_wake(nimbus_service_t *svc, void (*wake)(void *arg), void *arg)
{
    svc->wake = wake;
    svc->wake_arg = arg;
}

void nimbus_service_run_completions(nimbus_service_t *svc)
{
    struct nimbus__job_queue ready = STAILQ_HEAD_INITIALIZER(ready);
    pthread_mutex_lock(&svc->done_lock);
    STAILQ_CONCAT(&ready, &svc->done);
    pthread_mutex_unlock(&svc->done_lock);
    nimbus__job_t *job;
    while ((job = STAILQ_FIRST(&ready)) != NULL) {
        STAILQ_REMOVE_HEAD(&ready, link);
        if (job->rc == 0) {
            *job->out = job->res;
        }
        atomic_fetch_sub(&svc->pending, 1);
        job->done(job->arg, job->rc, &job->err);
        nimbus__job_free(job);
    }
}

size_t nimbus_service_pending(nimbus_service_t *svc)
{
    return atomic_load(&svc->pending);
}
