/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The write transaction: the one way any operation changes storage.
 *
 *   nimbus__write_begin   lock core->write_lock, BEGIN IMMEDIATE, read seq
 *   ... the operation's statements ...
 *   nimbus__write_commit  store seq, COMMIT, publish, set head, unlock
 *   nimbus__write_abort   ROLLBACK, unlock
 *
 * Holding the process-wide lock across BEGIN..COMMIT means our own workers
 * never meet SQLITE_BUSY between themselves, and seqs are committed and then
 * published to the hub in exactly the order they were assigned. The seq
 * counter lives in the meta table and is written in the same transaction as
 * the observations it numbers, so it is gap-free, survives restarts, and is
 * never reused (deleting observations does not move it back). The in-memory
 * head moves only after COMMIT succeeded; on any failure the transaction is
 * rolled back so nothing is half-written.
 */
#include "service_internal.h"

static int step_done(nimbus_service_t *svc, nimbus__stmt_id_t id, const char *doing,
                     nimbus_error_t *err)
{
    sqlite3_stmt *st = nimbus__stmt(svc, id, err);
    if (st == NULL) {
        return -1;
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        return nimbus__store_error(svc->db, rc, doing, err);
    }
    return 0;
}

void nimbus__write_abort(nimbus_service_t *svc)
{
    nimbus__rollback(svc);
    pthread_mutex_unlock(&svc->core->write_lock);
}

int nimbus__write_begin(nimbus_service_t *svc, int64_t *seq, nimbus_error_t *err)
{
    pthread_mutex_lock(&svc->core->write_lock);
    /* A transaction left open by an earlier failure that could not even
     * roll back (out of memory): end it rather than fail forever. */
    nimbus__rollback(svc);
    if (step_done(svc, NIMBUS__STMT_BEGIN, "starting a write", err) != 0) {
        nimbus__write_abort(svc);
        return -1;
    }
    sqlite3_stmt *st = nimbus__stmt(svc, NIMBUS__STMT_SEQ_GET, err);
    if (st == NULL) {
        nimbus__write_abort(svc);
        return -1;
    }
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        if (rc == SQLITE_DONE) {
            nimbus_error_set(err, NIMBUS_UNAVAILABLE, "database is damaged: no seq counter");
        } else {
            nimbus__store_error(svc->db, rc, "reading the seq counter", err);
        }
        nimbus__write_abort(svc);
        return -1;
    }
    *seq = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
}

int nimbus__write_commit(nimbus_service_t *svc, int64_t old_seq, int64_t new_seq,
                         const nimbus_observation_t *obs, size_t count, nimbus_error_t *err)
{
    if (new_seq != old_seq) {
        sqlite3_stmt *st = nimbus__stmt(svc, NIMBUS__STMT_SEQ_SET, err);
        if (st == NULL) {
            nimbus__write_abort(svc);
            return -1;
        }
        sqlite3_bind_int64(st, 1, new_seq);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            nimbus__store_error(svc->db, rc, "storing the seq counter", err);
            nimbus__write_abort(svc);
            return -1;
        }
    }
    if (step_done(svc, NIMBUS__STMT_COMMIT, "committing", err) != 0) {
        nimbus__write_abort(svc);
        return -1;
    }
    if (new_seq != old_seq) {
        atomic_store(&svc->core->head_seq, new_seq);
    }
    atomic_fetch_add(&svc->core->write_gen, 1);
    if (count > 0) {
        nimbus__hub_publish(svc->core, obs, count);
    }
    pthread_mutex_unlock(&svc->core->write_lock);
    return 0;
}
