/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The feed (contract 1.1): what a subscriber of the stream gets, for
 * clients that can only poll, and the consistent start of a subscription.
 *
 * - GetObservationFeed: the stored observations with seq > afterSeq (of the
 *   listed stations, or all) in increasing seq, at most `limit`, with
 *   lastSeq (what to pass next time) and headSeq (the newest seq). It reads
 *   through the store's "observations since seq" statements, the ones the
 *   stream's replay uses, so a poller sees exactly what a resuming
 *   subscriber is replayed: each observation once under its current seq (a
 *   correction moves it to its new seq, so it is seen again, once), in seq
 *   order. The seq index (observations_seq), and with stations the
 *   (station_id, seq) index, make a page cost its own rows, whatever the
 *   history's length (the growth rows 11c and 11d of scripts/bench
 *   measure it).
 * - nimbus_service_snapshot: the latest observation (greatest observedAt)
 *   of each station and the newest seq, read in one snapshot of storage, so
 *   a subscription with "snapshot": true starts from one consistent picture
 *   and continues live from exactly that seq.
 *
 * - nimbus_service_subscribe_options_check: the rules of subscribe's 1.1
 *   options (snapshot, heartbeat), which every framing of the stream
 *   shares.
 *
 * Both reads take the newest seq from the same read transaction as the rows
 * (the counter is stored with every write), not from the core's in-memory
 * head: every observation up to that seq is in what was read and none
 * above it, so lastSeq <= headSeq always holds and a snapshot's seq is the
 * exact seam between what it shows and what comes live.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

/* The newest seq as stored in the read transaction open on svc. */
static int snapshot_seq(nimbus_service_t *svc, int64_t *seq, nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_HEAD_GET, err);
    if (st == NULL) {
        return -1;
    }
    int rc = nimbus__step(st);
    if (rc == NIMBUS__STEP_ROW) {
        *seq = nimbus__col_int64(st, 0);
        nimbus__reset(st);
        return 0;
    }
    nimbus__reset(st);
    if (rc == NIMBUS__STEP_DONE) {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "database is damaged: no seq counter");
    }
    return nimbus__store_error(svc, rc, "reading the newest seq", err);
}

/* The rules of the request that do not need storage, in field order. */
static int check_request(const nimbus_get_observation_feed_request_t *req, int64_t *limit,
                         nimbus_error_t *err)
{
    if (req->has_after_seq && req->after_seq < 0) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "afterSeq must be an integer >= 0");
    }
    if (req->station_count > 0 && req->stations == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "GetObservationFeed: stations missing");
    }
    const nimbus_type_t *type = nimbus_op_table[NIMBUS_OP_GetObservationFeed].request;
    if (nimbus_type_validate(type, req, "", err) != 0) {
        return -1;
    }
    return nimbus__limit_resolve(req->has_limit, req->limit, limit, err);
}

int nimbus_service_get_observation_feed(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                        const nimbus_get_observation_feed_request_t *req,
                                        nimbus_get_observation_feed_response_t *res,
                                        nimbus_error_t *err)
{
    if (req == NULL || res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL,
                                "GetObservationFeed called without a request");
    }
    int64_t limit = 0;
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(GetObservationFeed), err) != 0 ||
        check_request(req, &limit, err) != 0) {
        return -1;
    }
    int64_t after = req->has_after_seq ? req->after_seq : 0;
    /* The stations, the head and the page in one snapshot. */
    if (nimbus__read_begin(svc, err) != 0) {
        return -1;
    }
    int64_t head = 0;
    for (size_t i = 0; i < req->station_count; i++) {
        int found = nimbus__station_get(svc, req->stations[i], NULL, err);
        if (found <= 0) {
            nimbus__read_end(svc);
            return found < 0 ? -1
                             : nimbus_error_set(err, NIMBUS_NOT_FOUND, "station %s does not exist",
                                                req->stations[i]);
        }
    }
    if (snapshot_seq(svc, &head, err) != 0) {
        nimbus__read_end(svc);
        return -1;
    }
    /* A seq beyond the head was never assigned: the caller holds a seq of
     * another database (or a reset one), and going on would silently skip
     * whatever gets those numbers next. */
    if (after > head) {
        nimbus__read_end(svc);
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "afterSeq %lld is greater than the newest seq %lld",
                                (long long)after, (long long)head);
    }
    nimbus_observation_t *rows = NULL;
    size_t count = 0;
    int rc = after == head
                 ? 0
                 : nimbus_service_observations_since(svc, req->stations, req->station_count, after,
                                                     (size_t)limit, &rows, &count, err);
    nimbus__read_end(svc);
    if (rc != 0) {
        return -1;
    }
    res->observations = rows;
    res->count = count;
    res->last_seq = count > 0 ? rows[count - 1].seq : after;
    res->head_seq = head;
    return 0;
}

void nimbus_get_observation_feed_response_cleanup(nimbus_get_observation_feed_response_t *res)
{
    if (res == NULL) {
        return;
    }
    free(res->observations);
    res->observations = NULL;
    res->count = 0;
}

/* ---- the snapshot of a subscription --------------------------------------- */

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends the latest observation of station id, if it has one. */
static int latest_of(nimbus_service_t *svc, const char *id, nimbus_observation_t **rows,
                     size_t *count, size_t *cap, nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_OBS_LATEST, err);
    if (st == NULL) {
        return -1;
    }
    nimbus__bind_text(st, 1, id);
    int rc = nimbus__step(st);
    if (rc == NIMBUS__STEP_ROW) {
        nimbus_observation_t *grown = nimbus_grow(*rows, cap, *count + 1, sizeof **rows, 32);
        if (grown == NULL) {
            nimbus__reset(st);
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading a snapshot");
        }
        *rows = grown;
        nimbus__observation_from_row(st, 0, &(*rows)[(*count)++]);
        rc = NIMBUS__STEP_DONE;
    }
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(svc, rc, "reading a snapshot", err);
    }
    return 0;
}

/* Every station's id, in id order, into a heap array of heap strings. */
static int all_stations(nimbus_service_t *svc, char ***ids, size_t *count, nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_STATION_IDS, err);
    size_t cap = 0;
    int rc = NIMBUS__STEP_DONE;
    *ids = NULL;
    *count = 0;
    if (st == NULL) {
        return -1;
    }
    while ((rc = nimbus__step(st)) == NIMBUS__STEP_ROW) {
        char **grown = nimbus_grow(*ids, &cap, *count + 1, sizeof **ids, 64);
        const char *id = nimbus__col_text(st, 0);
        char *copy = grown && id ? strdup(id) : NULL;
        if (grown) {
            *ids = grown;
        }
        if (copy == NULL) {
            nimbus__reset(st);
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading a snapshot");
        }
        (*ids)[(*count)++] = copy;
    }
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(svc, rc, "reading the stations", err);
    }
    return 0;
}

static void free_ids(char **ids, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(ids[i]);
    }
    free(ids);
}

int nimbus_service_snapshot(nimbus_service_t *svc, const char *const *station_ids,
                            size_t station_count, nimbus_observation_t **out, size_t *out_count,
                            int64_t *head, nimbus_error_t *err)
{
    *out = NULL;
    *out_count = 0;
    char **all = NULL;
    size_t all_count = 0;
    const char **sorted = NULL;
    size_t n = 0, cap = 0;
    nimbus_observation_t *rows = NULL;
    int rc = -1;
    if (nimbus__read_begin(svc, err) != 0) {
        return -1;
    }
    if (snapshot_seq(svc, head, err) != 0) {
        goto done;
    }
    if (station_count == 0) {
        if (all_stations(svc, &all, &all_count, err) != 0) {
            goto done;
        }
        sorted = (const char **)all;
        n = all_count;
    } else {
        /* The filter in id order, each station once, as a list of every
         * station would be. */
        sorted = malloc(station_count * sizeof *sorted);
        if (sorted == NULL) {
            nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading a snapshot");
            goto done;
        }
        memcpy(sorted, station_ids, station_count * sizeof *sorted);
        qsort(sorted, station_count, sizeof *sorted, compare_ids);
        for (size_t i = 0; i < station_count; i++) {
            if (n == 0 || strcmp(sorted[n - 1], sorted[i]) != 0) {
                sorted[n++] = sorted[i];
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (latest_of(svc, sorted[i], &rows, out_count, &cap, err) != 0) {
            goto done;
        }
    }
    *out = rows;
    rows = NULL;
    rc = 0;
done:
    nimbus__read_end(svc);
    if (rc != 0) {
        *out_count = 0;
    }
    free(rows);
    if (all != NULL) {
        free_ids(all, all_count);
    } else {
        free(sorted);
    }
    return rc;
}

int nimbus_service_subscribe_options_check(bool has_from_seq, bool snapshot, bool has_heartbeat,
                                           int64_t heartbeat_s, nimbus_error_t *err)
{
    /* A snapshot is where a subscription starts; fromSeq is another start.
     * Both would leave the seam between them undefined. */
    if (snapshot && has_from_seq) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "snapshot cannot be combined with fromSeq: a snapshot starts the "
                                "subscription, fromSeq resumes one");
    }
    if (has_heartbeat &&
        (heartbeat_s < NIMBUS_HEARTBEAT_MIN_S || heartbeat_s > NIMBUS_HEARTBEAT_MAX_S)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "heartbeat must be between %d and %d seconds",
                                NIMBUS_HEARTBEAT_MIN_S, NIMBUS_HEARTBEAT_MAX_S);
    }
    return 0;
}
