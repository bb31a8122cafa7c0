/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The follower: on PostgreSQL several Nimbus processes share one database,
 * and each must hand its own hub (its stream subscribers) every observation
 * any of them stored, in seq order, exactly once, and must let its caches
 * go stale when another process changes what they hold.
 *
 * Why it can read the table: the writers of every process take one row lock
 * (meta's seq row, SELECT ... FOR UPDATE) before they assign seqs and hold
 * it to COMMIT, so seq order is commit order, and a query for "seq > S"
 * never sees a seq while a smaller one is still to commit. Reading
 * "seq > fed" in seq order therefore misses nothing and repeats nothing;
 * fed moves only under this file's lock, which every feeder takes.
 *
 * Who feeds the hub, always under the follower's lock, in seq order:
 * - the writer, after each COMMIT (nimbus__follow_published): when nothing
 *   was committed elsewhere since it last fed (one process alone, or the
 *   usual case), it publishes its group from memory, as on SQLite; else it
 *   reads what lies between first, which includes its own rows;
 * - the follower thread, on a notification: each group NOTIFYs "seq:HEAD"
 *   in its transaction (delivered at COMMIT, in commit order), and the
 *   thread reads "seq > fed" on its own connection, which LISTENs;
 * - the same thread on a slow timer (--follow-poll, NIMBUS__FOLLOW_POLL_MS
 *   by default), so that a notification lost with a connection costs at
 *   most that delay; the timer's query also finds a dead connection;
 * - a subscriber whose fromSeq is ahead of this process's head (it saw that
 *   seq through another process): it catches up on its own connection
 *   before being refused (subscribe.c).
 * A lost connection is reconnected (every NIMBUS__FOLLOW_RETRY_MS at most)
 * and catches up from fed: nothing missed, nothing twice.
 *
 * Caches: rows brought in stamp their stations' generations
 * (freshness.c); "station:ID" notifications (CreateStation, UpdateStation,
 * DeleteStation, retention) stamp that station and the set of stations;
 * after a reconnection every generation moves, since a station notification
 * may have been lost with the connection. A kept answer so goes stale in
 * this process once it has seen the write that changed it: at once for
 * this process's own writes, within a notification's delay (a few
 * milliseconds) for another's.
 *
 * What is not seen: a row replaced (a correction) or deleted (DeleteStation,
 * retention) by another process before this one read it is fed as it is
 * when read, at its new seq or not at all, which is what a replay from
 * fromSeq returns too.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "nimbus_log.h"
#include "service_internal.h"

static bool stopping(nimbus__follower_t *f)
{
    pthread_mutex_lock(&f->wake_lock);
    bool stop = f->stopping;
    pthread_mutex_unlock(&f->wake_lock);
    return stop;
}

/* ---- feeding the hub -------------------------------------------------------- */

/* Publishes rows (in seq order, all above fed) and moves fed and the head.
 * Caller holds the follower's lock. */
static void feed(nimbus_core_t *core, const nimbus_observation_t *rows, size_t n)
{
    nimbus__follower_t *f = &core->follower;
    if (n == 0) {
        return;
    }
    nimbus__gens_stamp_rows(core, rows, n);
    pthread_mutex_lock(&core->hub_lock);
    atomic_store(&core->head_seq, rows[n - 1].seq);
    nimbus__hub_publish(core, rows, n);
    pthread_mutex_unlock(&core->hub_lock);
    f->fed = rows[n - 1].seq;
}

/* Reads and feeds "seq > fed" until none is left. Caller holds the lock.
 *
 * The counter is read first: every seq up to it was committed before that
 * read (seq order is commit order), so the rows read next hold all of those
 * still stored, and once they are fed the head may move to the counter even
 * when its newest rows are gone (a station deleted, a row corrected): a
 * client that saw that head through another process can resume here. */
static int catch_up_locked(nimbus_core_t *core, nimbus_service_t *svc, nimbus_error_t *err)
{
    nimbus__follower_t *f = &core->follower;
    nimbus__st_t *head = nimbus__stmt(svc, NIMBUS__STMT_HEAD_GET, err);
    if (head == NULL) {
        return -1;
    }
    int rc = nimbus__step(head);
    int64_t counter = rc == NIMBUS__STEP_ROW ? nimbus__col_int64(head, 0) : 0;
    nimbus__reset(head);
    if (rc != NIMBUS__STEP_ROW) {
        return nimbus__store_error(svc, rc, "reading the head seq", err);
    }
    for (;;) {
        nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_OBSERVATIONS_AFTER_SEQ, err);
        if (st == NULL) {
            return -1;
        }
        nimbus__bind_int64(st, 1, f->fed);
        nimbus__bind_int64(st, 2, NIMBUS__FOLLOW_BATCH);
        nimbus_observation_t *rows = NULL;
        size_t n = 0;
        if (nimbus__observations_collect(svc, st, &rows, &n, err) != 0) {
            return -1;
        }
        feed(core, rows, n);
        free(rows);
        if (n < NIMBUS__FOLLOW_BATCH) {
            break;
        }
        if (stopping(f)) {
            return 0; /* a stopping core need not read a whole backlog */
        }
    }
    if (counter > f->fed) {
        pthread_mutex_lock(&core->hub_lock);
        atomic_store(&core->head_seq, counter);
        pthread_mutex_unlock(&core->hub_lock);
        f->fed = counter;
    }
    return 0;
}

int nimbus__follow_catch_up(nimbus_core_t *core, nimbus_service_t *svc, nimbus_error_t *err)
{
    if (core->engine != NIMBUS__POSTGRES) {
        return 0;
    }
    pthread_mutex_lock(&core->follower.lock);
    int rc = catch_up_locked(core, svc, err);
    pthread_mutex_unlock(&core->follower.lock);
    return rc;
}

void nimbus__follow_published(nimbus_core_t *core, nimbus_service_t *wsvc, int64_t first_seq,
                              const nimbus_observation_t *obs, size_t count)
{
    nimbus__follower_t *f = &core->follower;
    pthread_mutex_lock(&f->lock);
    if (f->fed == first_seq) {
        /* Nothing committed elsewhere between: the group is next. */
        feed(core, obs, count);
    } else if (f->fed < first_seq || (count > 0 && f->fed < obs[count - 1].seq)) {
        nimbus_error_t err;
        if (catch_up_locked(core, wsvc, &err) != 0) {
            /* The follower thread reads them at its next notification or
             * poll; subscribers get them late, never lost. */
            nimbus_log(NIMBUS_LOG_WARN, "reading other nodes' observations: %s", err.message);
        }
    }
    pthread_mutex_unlock(&f->lock);
}

/* ---- notifying ---------------------------------------------------------------- */

static int notify(nimbus_service_t *wsvc, const char *payload, nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(wsvc, NIMBUS__STMT_NOTIFY, err);
    if (st == NULL) {
        return -1;
    }
    atomic_store(&wsvc->core->follower.writer_pid, PQbackendPID(wsvc->pg));
    nimbus__bind_text(st, 1, payload);
    int rc = nimbus__step(st);
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_ROW && rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(wsvc, rc, "notifying the other nodes", err);
    }
    return 0;
}

int nimbus__follow_notify_station(nimbus_service_t *wsvc, const char *id, nimbus_error_t *err)
{
    char payload[16 + NIMBUS_STATION_ID_MAX];
    snprintf(payload, sizeof payload, "station:%s", id);
    return notify(wsvc, payload, err);
}

int nimbus__follow_notify_group(nimbus_service_t *wsvc, struct nimbus__job_queue *group,
                                int64_t old_seq, int64_t new_seq, nimbus_error_t *err)
{
    nimbus__job_t *job;
    STAILQ_FOREACH(job, group, link)
    {
        if (job->rc != NIMBUS__JOB_WRITTEN) {
            continue;
        }
        const char *station = NULL;
        if (job->op == NIMBUS_OP_CreateStation || job->op == NIMBUS_OP_UpdateStation) {
            station = job->in.station.id;
        } else if (job->op == NIMBUS_OP_DeleteStation) {
            station = job->in.id;
        }
        if (station != NULL && nimbus__follow_notify_station(wsvc, station, err) != 0) {
            return -1;
        }
    }
    if (new_seq == old_seq) {
        return 0;
    }
    char payload[32];
    snprintf(payload, sizeof payload, "seq:%lld", (long long)new_seq);
    return notify(wsvc, payload, err);
}

/* Wakes the follower thread from its wait (to stop, or to wait anew). */
static void wake(nimbus__follower_t *f)
{
    uint64_t one = 1;
    if (write(f->wake_fd, &one, sizeof one) != (ssize_t)sizeof one) {
        /* the eventfd cannot be full: it is drained at every wake */
    }
}

/* Empties the eventfd once it woke a wait. */
static void drain(nimbus__follower_t *f)
{
    uint64_t v;
    if (read(f->wake_fd, &v, sizeof v) != (ssize_t)sizeof v) {
        /* nothing was written: nothing to drain */
    }
}

void nimbus_core_set_follow_poll(nimbus_core_t *core, long ms)
{
    nimbus__follower_t *f = &core->follower;
    /* Read by the follower thread before each wait; woken, it waits anew
     * with it, rather than finishing a longer wait first. */
    atomic_store(&f->poll_ms, ms > 0 ? (int64_t)ms : 0);
    if (core->engine == NIMBUS__POSTGRES && f->started) {
        wake(f);
    }
}

/* ---- the follower thread --------------------------------------------------------- */

/* Sleeps ms, or less when woken (to stop, or by a new poll interval). */
static void pause_ms(nimbus__follower_t *f, int ms)
{
    struct pollfd p = {.fd = f->wake_fd, .events = POLLIN};
    if (poll(&p, 1, ms) > 0) {
        drain(f);
    }
}

/* (Re)connects the follower's service, LISTENs, moves every generation and
 * catches up. 0, or -1 (try again later). */
static int resume(nimbus_core_t *core, bool first)
{
    nimbus__follower_t *f = &core->follower;
    nimbus_error_t err;
    if (nimbus__pg_ensure(f->svc, &err) != 0 ||
        nimbus__pg_exec(f->svc, "LISTEN " NIMBUS__FOLLOW_CHANNEL) != 0) {
        return -1;
    }
    if (!first) {
        atomic_fetch_add(&f->reconnects, 1);
        nimbus__gens_stamp_all(core);
    }
    if (nimbus__follow_catch_up(core, f->svc, &err) != 0) {
        return -1;
    }
    return 0;
}

/* Handles the notifications received: stamps the stations named; true when
 * a read is due (a head this process has not fed). */
static bool take_notifications(nimbus_core_t *core)
{
    nimbus__follower_t *f = &core->follower;
    bool due = false;
    PGnotify *n;
    while ((n = PQnotifies(f->svc->pg)) != NULL) {
        atomic_fetch_add(&f->notifications, 1);
        if (n->be_pid == atomic_load(&f->writer_pid)) {
            PQfreemem(n); /* this process's own: done by its writer */
            continue;
        }
        if (strncmp(n->extra, "station:", 8) == 0) {
            nimbus__gens_stamp_station(core, n->extra + 8);
        } else if (strncmp(n->extra, "seq:", 4) == 0) {
            long long head = strtoll(n->extra + 4, NULL, 10);
            pthread_mutex_lock(&f->lock);
            due = due || head > f->fed;
            pthread_mutex_unlock(&f->lock);
        } else {
            due = true;
        }
        PQfreemem(n);
    }
    return due;
}

static void *follower_main(void *arg)
{
    nimbus_core_t *core = arg;
    nimbus__follower_t *f = &core->follower;
    bool connected = resume(core, true) == 0;
    while (!stopping(f)) {
        if (!connected) {
            pause_ms(f, NIMBUS__FOLLOW_RETRY_MS);
            if (stopping(f)) {
                break;
            }
            connected = resume(core, false) == 0;
            continue;
        }
        struct pollfd p[2] = {{.fd = PQsocket(f->svc->pg), .events = POLLIN},
                              {.fd = f->wake_fd, .events = POLLIN}};
        int64_t poll_ms = atomic_load(&f->poll_ms);
        int ready = poll(p, 2, poll_ms > 0 ? (int)poll_ms : NIMBUS__FOLLOW_POLL_MS);
        if (ready < 0 && errno != EINTR) {
            pause_ms(f, 10);
            continue;
        }
        bool due = ready == 0; /* the fallback poll */
        if (ready == 0) {
            atomic_fetch_add(&f->polls, 1);
        }
        if (p[1].revents != 0) {
            drain(f); /* stopping (checked above) or a new poll interval */
            if (ready == 1 && p[0].revents == 0) {
                continue;
            }
        }
        if (p[0].revents != 0) {
            if (PQconsumeInput(f->svc->pg) == 0) {
                connected = false; /* reconnected, then caught up */
                continue;
            }
        }
        due = take_notifications(core) || due;
        if (due) {
            nimbus_error_t err;
            if (nimbus__follow_catch_up(core, f->svc, &err) != 0) {
                connected = false;
            }
        }
    }
    return NULL;
}

int nimbus__follower_start(nimbus_core_t *core, nimbus_error_t *err)
{
    nimbus__follower_t *f = &core->follower;
    f->wake_fd = -1;
    if (pthread_mutex_init(&f->lock, NULL) != 0 || pthread_mutex_init(&f->wake_lock, NULL) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create the follower's locks");
    }
    f->initialised = true;
    f->fed = atomic_load(&core->head_seq);
    f->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (f->wake_fd < 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create the follower's eventfd");
    }
    f->svc = nimbus_service_new(core, err);
    if (f->svc == NULL) {
        return -1;
    }
    if (pthread_create(&f->thread, NULL, follower_main, core) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot start the follower thread");
    }
    f->started = true;
    return 0;
}

void nimbus__follower_stop(nimbus_core_t *core)
{
    nimbus__follower_t *f = &core->follower;
    if (f->started) {
        pthread_mutex_lock(&f->wake_lock);
        f->stopping = true;
        pthread_mutex_unlock(&f->wake_lock);
        wake(f);
        pthread_join(f->thread, NULL);
        f->started = false;
    }
    nimbus_service_free(f->svc);
    f->svc = NULL;
    if (f->initialised) {
        if (f->wake_fd >= 0) {
            close(f->wake_fd);
            f->wake_fd = -1;
        }
        pthread_mutex_destroy(&f->lock);
        pthread_mutex_destroy(&f->wake_lock);
        f->initialised = false;
    }
}
