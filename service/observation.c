/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The observation operations: RecordObservations, GetObservations, and the
 * seq-ordered replay the stream uses (nimbus_service_observations_since).
 *
 * RecordObservations is all-or-nothing. Every observation is validated on
 * the caller's thread before storage is touched; then the writer (writer.c)
 * runs the batch inside its group transaction, comparing each with what is
 * stored under (stationId, observedAt): identical values are a duplicate
 * (no seq, not published), different values a correction (replaced, new
 * seq, published), and a new one is stored with the next seq. Seqs follow
 * the order of the batch. Within one batch, a
 * repeat of an observedAt with identical values counts as a duplicate; with
 * different values the batch is refused naming both indexes, since neither
 * order of applying them is obviously what the client meant. The call is
 * answered after the group's COMMIT (synchronous=FULL), so what it reports
 * is durable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

void nimbus__observation_from_row(nimbus__st_t *st, int col, nimbus_observation_t *out)
{
    memset(out, 0, sizeof(*out));
    const char *id = nimbus__col_text(st, col);
    snprintf(out->station_id, sizeof(out->station_id), "%s", id ? id : "");
    out->observed_at = nimbus__col_int64(st, col + 1);
    nimbus_opt_double_t *fields[] = {&out->temperature, &out->humidity,       &out->pressure,
                                     &out->wind_speed,  &out->wind_direction, &out->precipitation};
    for (int i = 0; i < 6; i++) {
        fields[i]->present = !nimbus__col_null(st, col + 2 + i);
        fields[i]->value = fields[i]->present ? nimbus__col_double(st, col + 2 + i) : 0;
    }
    out->seq = nimbus__col_int64(st, col + 8);
}

static void bind_opt(nimbus__st_t *st, int i, const nimbus_opt_double_t *v)
{
    if (v->present) {
        nimbus__bind_double(st, i, v->value);
    } else {
        nimbus__bind_null(st, i);
    }
}

int nimbus__observations_collect(nimbus_service_t *svc, nimbus__st_t *st,
                                 nimbus_observation_t **rows, size_t *count, nimbus_error_t *err)
{
    size_t cap = 0;
    int rc;
    *rows = NULL;
    *count = 0;
    while ((rc = nimbus__step(st)) == NIMBUS__STEP_ROW) {
        nimbus_observation_t *grown = nimbus_grow(*rows, &cap, *count + 1, sizeof(**rows), 16);
        if (grown == NULL) {
            nimbus__reset(st);
            free(*rows);
            *rows = NULL;
            *count = 0;
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading observations");
        }
        *rows = grown;
        nimbus__observation_from_row(st, 0, &(*rows)[(*count)++]);
    }
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        free(*rows);
        *rows = NULL;
        *count = 0;
        return nimbus__store_error(svc, rc, "reading observations", err);
    }
    return 0;
}

/* One observation's place in the batch, sorted to find repeats. */
typedef struct slot {
    int64_t observed_at;
    size_t index;
} slot_t;

static int slot_compare(const void *a, const void *b)
{
    const slot_t *x = a, *y = b;
    if (x->observed_at != y->observed_at) {
        return x->observed_at < y->observed_at ? -1 : 1;
    }
    return x->index < y->index ? -1 : (x->index > y->index);
}

/* Validates the batch and marks in-batch repeats in dup[]. */
static int validate_batch(const nimbus_record_observations_request_t *req, bool *dup,
                          nimbus_error_t *err)
{
    for (size_t i = 0; i < req->count; i++) {
        const nimbus_observation_t *o = &req->observations[i];
        char what[40];
        snprintf(what, sizeof(what), "observations[%zu]", i);
        if (o->station_id[0] != '\0' &&
            strncmp(o->station_id, req->station_id, sizeof(o->station_id)) != 0) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "%s.stationId must be omitted or equal stationId (%s)", what,
                                    req->station_id);
        }
        if (nimbus_observation_validate(o, what, err) != 0) {
            return -1;
        }
    }
    slot_t *order = malloc(req->count * sizeof(*order));
    if (order == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < req->count; i++) {
        order[i] = (slot_t){req->observations[i].observed_at, i};
    }
    qsort(order, req->count, sizeof(*order), slot_compare);
    int ret = 0;
    size_t first = 0; /* first index of the current run of equal observedAt */
    for (size_t k = 0; k < req->count; k++) {
        if (k == 0 || order[k].observed_at != order[k - 1].observed_at) {
            first = order[k].index;
            continue;
        }
        if (!nimbus_observation_same_values(&req->observations[first],
                                            &req->observations[order[k].index])) {
            ret = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                   "observations[%zu] and observations[%zu] have the same "
                                   "observedAt but different values",
                                   first, order[k].index);
            break;
        }
        dup[order[k].index] = true;
    }
    free(order);
    return ret;
}

/* Binds o, to be stored with seq, as row k (from 0) of an upsert whose
 * rows have nine parameters each. */
static void bind_row(nimbus__st_t *st, int k, const nimbus_observation_t *o, int64_t seq)
{
    int b = 9 * k;
    nimbus__bind_text(st, b + 1, o->station_id);
    nimbus__bind_int64(st, b + 2, o->observed_at);
    bind_opt(st, b + 3, &o->temperature);
    bind_opt(st, b + 4, &o->humidity);
    bind_opt(st, b + 5, &o->pressure);
    bind_opt(st, b + 6, &o->wind_speed);
    bind_opt(st, b + 7, &o->wind_direction);
    bind_opt(st, b + 8, &o->precipitation);
    nimbus__bind_int64(st, b + 9, seq);
}

/* Stores one observation unless it is identical to the stored one, in
 * one statement (the upsert's WHERE leaves an identical row alone).
 * Returns 1 stored, 0 duplicate, -1 error. */
static int store_one(nimbus_service_t *svc, const nimbus_observation_t *o, int64_t seq,
                     nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_OBS_UPSERT, err);
    if (st == NULL) {
        return -1;
    }
    bind_row(st, 0, o, seq);
    int rc = nimbus__step(st);
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(svc, rc, "storing an observation", err);
    }
    return nimbus__changes(st) > 0 ? 1 : 0;
}

/* ---- a batch in statements of many rows (SQLite) ---------------------------
 *
 * Row by row, every observation is its own statement, and SQLite seeks
 * each of its b-trees from the root for it: its cursors close with the
 * statement. In statements of NIMBUS__OBS_UPSERT_ROWS rows a batch of
 * 1,000 costs a third less CPU per observation (docs/performance.md,
 * "Row 8: a batch in statements of 50 rows"). But a duplicate takes no
 * seq and the seqs of a batch follow each other, so which rows are
 * duplicates must be known before their seqs are bound: the stored rows
 * of the batch's observedAt range are read first, in one range read, and
 * compared here as the upsert's WHERE would compare them. When that range
 * holds many more rows than the batch (a sparse batch over a dense
 * history), the batch goes row by row instead, so the read stays bounded
 * by the batch's size. */

/* Marks in dup the observations of obs (one station, no observedAt twice)
 * stored already with the same values. Returns 1, or 0 when the range
 * holds too many other rows to read for it, or -1 on error. */
static int find_duplicates(nimbus_service_t *w, const nimbus_observation_t *obs, size_t count,
                           bool *dup, nimbus_error_t *err)
{
    int64_t lo = obs[0].observed_at, hi = obs[0].observed_at;
    for (size_t i = 1; i < count; i++) {
        lo = obs[i].observed_at < lo ? obs[i].observed_at : lo;
        hi = obs[i].observed_at > hi ? obs[i].observed_at : hi;
    }
    nimbus__st_t *st = nimbus__stmt(w, NIMBUS__STMT_OBS_RANGE, err);
    if (st == NULL) {
        return -1;
    }
    size_t most = NIMBUS__STORE_MANY_RANGE(count);
    nimbus__bind_text(st, 1, obs[0].station_id);
    nimbus__bind_int64(st, 2, lo);
    nimbus__bind_int64(st, 3, hi + 1); /* observedAt is bounded far below INT64_MAX */
    nimbus__bind_int64(st, 4, (int64_t)most + 1);
    nimbus_observation_t *stored;
    size_t n;
    if (nimbus__observations_collect(w, st, &stored, &n, err) != 0) {
        return -1;
    }
    if (n > most) {
        free(stored);
        return 0;
    }
    /* stored is in observedAt order (the query's ORDER BY). */
    for (size_t i = 0; i < count && n > 0; i++) {
        size_t a = 0, b = n;
        while (a < b) {
            size_t m = a + (b - a) / 2;
            if (stored[m].observed_at < obs[i].observed_at) {
                a = m + 1;
            } else {
                b = m;
            }
        }
        /* The rule the upsert's WHERE applies too (IS: absent equals
         * absent; numerically). */
        dup[i] = a < n && nimbus_observation_same_values(&stored[a], &obs[i]);
    }
    free(stored);
    return 1;
}

/* Stores rows[0..NIMBUS__OBS_UPSERT_ROWS), none a duplicate, in one
 * statement. */
static int store_rows(nimbus_service_t *w, nimbus_observation_t *const *rows, nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(w, NIMBUS__STMT_OBS_UPSERT_MANY, err);
    if (st == NULL) {
        return -1;
    }
    for (int k = 0; k < NIMBUS__OBS_UPSERT_ROWS; k++) {
        bind_row(st, k, rows[k], rows[k]->seq);
    }
    int rc = nimbus__step(st);
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(w, rc, "storing observations", err);
    }
    if (nimbus__changes(st) != NIMBUS__OBS_UPSERT_ROWS) {
        /* The range read said none of them was stored as it is. */
        return nimbus_error_set(err, NIMBUS_INTERNAL,
                                "storing observations: %lld of %d rows written",
                                (long long)nimbus__changes(st), NIMBUS__OBS_UPSERT_ROWS);
    }
    atomic_fetch_add_explicit(&w->core->writer.many_statements, 1, memory_order_relaxed);
    return 0;
}

/* The batch of job in statements of many rows: its duplicates counted in
 * *duplicates, every other observation stored with the next seq, in
 * batch order. Returns 1 when done, 0 when the batch is to go row by row
 * (nothing was written), -1 on error. */
static int store_many(nimbus_service_t *w, nimbus__job_t *job, int64_t *seq, int64_t *duplicates,
                      nimbus_error_t *err)
{
    size_t count = job->in.record.count;
    nimbus_observation_t *obs = job->in.record.obs;
    bool *dup = calloc(count, sizeof(*dup));
    if (dup == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    int found = find_duplicates(w, obs, count, dup, err);
    if (found <= 0) {
        free(dup);
        return found;
    }
    nimbus_observation_t *rows[NIMBUS__OBS_UPSERT_ROWS];
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        if (dup[i]) {
            (*duplicates)++;
            continue;
        }
        obs[i].seq = ++*seq;
        rows[n++] = &obs[i];
        if (n == NIMBUS__OBS_UPSERT_ROWS) {
            if (store_rows(w, rows, err) != 0) {
                free(dup);
                return -1;
            }
            n = 0;
        }
    }
    for (size_t k = 0; k < n; k++) {
        int r = store_one(w, rows[k], rows[k]->seq, err);
        if (r <= 0) {
            free(dup);
            return r < 0 ? -1
                         : nimbus_error_set(err, NIMBUS_INTERNAL,
                                            "storing observations: a row was already stored");
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (!dup[i] && nimbus__writer_stored(w, &obs[i], err) != 0) {
            free(dup);
            return -1;
        }
    }
    free(dup);
    atomic_fetch_add_explicit(&w->core->writer.many_batches, 1, memory_order_relaxed);
    return 1;
}

/* The batch, run by the writer in its group transaction: refused (station
 * gone) before anything is written, then each observation stored or found
 * a duplicate, seqs taken from the group's counter in batch order. */
static int apply_record(nimbus_service_t *w, nimbus__job_t *job, int64_t *seq, nimbus_error_t *err)
{
    const char *station_id = job->in.record.station_id;
    int found = nimbus__station_get(w, station_id, NULL, err);
    if (found <= 0) {
        return found < 0 ? -1
                         : (nimbus_error_set(err, NIMBUS_NOT_FOUND, "station %s does not exist",
                                             station_id),
                            1);
    }
    int64_t first = *seq;
    int64_t duplicates = job->in.record.repeats;
    int many = w->pg == NULL && job->in.record.count >= NIMBUS__STORE_MANY_MIN
                   ? store_many(w, job, seq, &duplicates, err)
                   : 0;
    if (many < 0) {
        return -1;
    }
    for (size_t i = 0; i < job->in.record.count && many == 0; i++) {
        nimbus_observation_t *o = &job->in.record.obs[i];
        o->seq = *seq + 1;
        int r = store_one(w, o, o->seq, err);
        if (r < 0) {
            return -1;
        }
        if (r == 0) {
            duplicates++;
            continue;
        }
        if (nimbus__writer_stored(w, o, err) != 0) {
            return -1;
        }
        (*seq)++;
    }
    nimbus_record_observations_response_t *res = &job->res.record_observations;
    int64_t n = *seq - first;
    res->accepted = n;
    res->duplicates = duplicates;
    w->core->metrics.group_duplicates += duplicates;
    res->has_seq = n > 0;
    res->first_seq = n > 0 ? first + 1 : 0;
    res->last_seq = n > 0 ? *seq : 0;
    return 0;
}

int nimbus__record_observations_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                    const nimbus_record_observations_request_t *req,
                                    nimbus__job_t **out, nimbus_error_t *err)
{
    *out = NULL;
    if (req == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL,
                                "RecordObservations called without a request");
    }
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(RecordObservations), err) != 0 ||
        nimbus_station_id_validate(req->station_id, "stationId", err) != 0) {
        return -1;
    }
    if (nimbus_record_batch_validate(req->observations ? req->count : 0, err) != 0) {
        return -1;
    }
    bool *dup = calloc(req->count, sizeof(*dup));
    nimbus__job_t *job = nimbus__job_new(NIMBUS_OP_RecordObservations, apply_record);
    nimbus_observation_t *obs = malloc(req->count * sizeof(*obs));
    if (dup == NULL || job == NULL || obs == NULL) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        goto fail;
    }
    if (validate_batch(req, dup, err) != 0) {
        goto fail;
    }
    /* The job keeps the batch without its in-batch repeats (counted as
     * duplicates), each with the call's station. */
    size_t n = 0;
    for (size_t i = 0; i < req->count; i++) {
        if (dup[i]) {
            job->in.record.repeats++;
            continue;
        }
        obs[n] = req->observations[i];
        memcpy(obs[n].station_id, req->station_id, strlen(req->station_id) + 1);
        n++;
    }
    memcpy(job->in.record.station_id, req->station_id, strlen(req->station_id) + 1);
    job->in.record.obs = obs;
    job->in.record.count = n;
    free(dup);
    *out = job;
    return 0;
fail:
    free(dup);
    free(obs);
    nimbus__job_free(job);
    return -1;
}

int nimbus_service_record_observations(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                       const nimbus_record_observations_request_t *req,
                                       nimbus_record_observations_response_t *res,
                                       nimbus_error_t *err)
{
    nimbus__job_t *job;
    nimbus_response_t out;
    if (res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL,
                                "RecordObservations called without a response");
    }
    if (nimbus__record_observations_job(svc, caller, req, &job, err) != 0 ||
        nimbus__job_run(svc, job, &out, err) != 0) {
        return -1;
    }
    *res = out.record_observations;
    return 0;
}

int nimbus_service_get_observations(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                    const nimbus_get_observations_request_t *req,
                                    nimbus_get_observations_response_t *res, nimbus_error_t *err)
{
    if (req == NULL || res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "GetObservations called without a request");
    }
    int64_t limit = 0;
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(GetObservations), err) != 0 ||
        nimbus_station_id_validate(req->station_id, "stationId", err) != 0 ||
        nimbus__limit_resolve(req->has_limit, req->limit, &limit, err) != 0) {
        return -1;
    }
    if (req->has_from && req->has_to && req->from > req->to) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "from must not be after to");
    }
    char scope[160];
    snprintf(scope, sizeof(scope), "observations|%s|%s%lld|%s%lld", req->station_id,
             req->has_from ? "" : "-", req->has_from ? (long long)req->from : 0LL,
             req->has_to ? "" : "-", req->has_to ? (long long)req->to : 0LL);
    int64_t lower = req->has_from ? req->from : INT64_MIN;
    int64_t upper = req->has_to ? req->to : INT64_MAX;
    if (req->cursor != NULL && req->cursor[0] != '\0') {
        nimbus__cursor_t after;
        if (nimbus__cursor_decode(svc->core, req->cursor, NIMBUS__CURSOR_OBSERVATIONS, scope,
                                  &after, err) != 0) {
            return -1;
        }
        if (after.int_key == INT64_MAX) {
            upper = lower = INT64_MAX; /* nothing can follow */
        } else if (after.int_key + 1 > lower) {
            lower = after.int_key + 1;
        }
    }
    /* The station check and the page in one snapshot. */
    if (nimbus__read_begin(svc, err) != 0) {
        return -1;
    }
    int found = nimbus__station_get(svc, req->station_id, NULL, err);
    if (found <= 0) {
        nimbus__read_end(svc);
        return found < 0 ? -1
                         : nimbus_error_set(err, NIMBUS_NOT_FOUND, "station %s does not exist",
                                            req->station_id);
    }
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_OBS_RANGE, err);
    if (st == NULL) {
        nimbus__read_end(svc);
        return -1;
    }
    nimbus__bind_text(st, 1, req->station_id);
    nimbus__bind_int64(st, 2, lower);
    nimbus__bind_int64(st, 3, upper);
    nimbus__bind_int64(st, 4, limit + 1);
    nimbus_observation_t *rows;
    size_t count;
    int rc = nimbus__observations_collect(svc, st, &rows, &count, err);
    nimbus__read_end(svc);
    if (rc != 0) {
        return -1;
    }
    res->next_cursor[0] = '\0';
    if (count > (size_t)limit) {
        count = (size_t)limit;
        nimbus__cursor_t next = {.kind = NIMBUS__CURSOR_OBSERVATIONS,
                                 .int_key = rows[count - 1].observed_at};
        if (nimbus__cursor_encode(svc->core, &next, scope, res->next_cursor, err) != 0) {
            free(rows);
            return -1;
        }
    }
    res->observations = rows;
    res->count = count;
    return 0;
}

static int seq_compare(const void *a, const void *b)
{
    const nimbus_observation_t *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Some stations' rows after after_seq, the first `limit` by seq: each
 * station's first rows on the (station_id, seq) index, merged, so a poll
 * costs what it returns and never a scan of what other stations wrote (a
 * filter on the seq index alone would read the whole table after a quiet
 * station's last row, on every poll of a caught-up poller). Once `limit`
 * rows are held, a station is asked only for rows below the greatest of
 * them, so k stations cost about limit * ln(k) rows. Held: at most
 * 2 * limit rows. The reads happen in one snapshot (the caller's
 * transaction, or one opened here): rows committed between two stations'
 * reads could otherwise be skipped by a reader that resumes after the
 * greatest seq it was given.
 */
static int since_some(nimbus_service_t *svc, const char *const *ids, size_t id_count,
                      int64_t after_seq, size_t limit, nimbus_observation_t **out,
                      size_t *out_count, nimbus_error_t *err)
{
    if (limit > NIMBUS_LIST_LIMIT_MAX * 16) {
        limit = NIMBUS_LIST_LIMIT_MAX * 16; /* a page; the caller asks again */
    }
    nimbus_observation_t *rows = malloc(2 * limit * sizeof *rows);
    if (rows == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading observations");
    }
    bool in_txn =
        svc->pg != NULL ? nimbus__pg_in_transaction(svc) : !sqlite3_get_autocommit(svc->db);
    if (!in_txn && nimbus__read_begin(svc, err) != 0) {
        free(rows);
        return -1;
    }
    size_t n = 0;
    int rc = NIMBUS__STEP_DONE;
    for (size_t i = 0; i < id_count && rc == NIMBUS__STEP_DONE; i++) {
        bool repeated = false;
        for (size_t j = 0; j < i && !repeated; j++) {
            repeated = strcmp(ids[j], ids[i]) == 0;
        }
        if (repeated) {
            continue;
        }
        nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_OBS_SINCE_STATION, err);
        if (st == NULL) {
            rc = -1;
            break;
        }
        int64_t below = n == limit ? rows[limit - 1].seq : INT64_MAX;
        nimbus__bind_text(st, 1, ids[i]);
        nimbus__bind_int64(st, 2, after_seq);
        nimbus__bind_int64(st, 3, below);
        nimbus__bind_int64(st, 4, (int64_t)limit);
        size_t got = 0;
        while ((rc = nimbus__step(st)) == NIMBUS__STEP_ROW) {
            nimbus__observation_from_row(st, 0, &rows[n + got++]);
        }
        nimbus__reset(st);
        nimbus__clear_bindings(st);
        if (got > 0) {
            n += got;
            qsort(rows, n, sizeof *rows, seq_compare);
            if (n > limit) {
                n = limit;
            }
        }
    }
    if (!in_txn) {
        nimbus__read_end(svc); /* a read: nothing to lose */
    }
    if (rc != NIMBUS__STEP_DONE) {
        free(rows);
        return rc == -1 ? -1 : nimbus__store_error(svc, rc, "reading observations", err);
    }
    if (n == 0) {
        free(rows);
        rows = NULL;
    }
    *out = rows;
    *out_count = n;
    return 0;
}

int nimbus_service_observations_since(nimbus_service_t *svc, const char *const *station_ids,
                                      size_t station_count, int64_t after_seq, size_t limit,
                                      nimbus_observation_t **out, size_t *out_count,
                                      nimbus_error_t *err)
{
    *out = NULL;
    *out_count = 0;
    if (limit == 0) {
        return 0;
    }
    if (station_count > 0) {
        return since_some(svc, station_ids, station_count, after_seq, limit, out, out_count, err);
    }
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_OBS_SINCE_ALL, err);
    if (st == NULL) {
        return -1;
    }
    nimbus__bind_int64(st, 1, after_seq);
    nimbus__bind_int64(st, 2, limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
    return nimbus__observations_collect(svc, st, out, out_count, err);
}

void nimbus_record_observations_response_cleanup(nimbus_record_observations_response_t *res)
{
    (void)res; /* owns no heap memory */
}

void nimbus_get_observations_response_cleanup(nimbus_get_observations_response_t *res)
{
    if (res == NULL) {
        return;
    }
    free(res->observations);
    res->observations = NULL;
    res->count = 0;
    res->next_cursor[0] = '\0';
}
