/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The station operations: ListStations, GetStation, CreateStation,
 * UpdateStation, DeleteStation, and the station helpers other files use.
 * Each operation authorizes, validates, then touches storage. A write is
 * checked on the caller's thread and becomes a job the writer runs in its
 * group transaction (writer.c): its apply function refuses (ALREADY_EXISTS,
 * NOT_FOUND) before it changes anything, so a refused write fails alone.
 *
 * Station ids compare exactly (case-sensitive). City filters match whole
 * names, ignoring ASCII case only (SQLite's NOCASE); see docs/data-rules.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src != NULL ? src : "");
}

void nimbus__station_from_row(nimbus__st_t *st, int col, nimbus_station_t *out)
{
    memset(out, 0, sizeof(*out));
    copy_text(out->id, sizeof(out->id), nimbus__col_text(st, col));
    copy_text(out->name, sizeof(out->name), nimbus__col_text(st, col + 1));
    copy_text(out->city, sizeof(out->city), nimbus__col_text(st, col + 2));
    copy_text(out->country, sizeof(out->country), nimbus__col_text(st, col + 3));
    out->latitude = nimbus__col_double(st, col + 4);
    out->longitude = nimbus__col_double(st, col + 5);
    out->elevation.present = !nimbus__col_null(st, col + 6);
    out->elevation.value = out->elevation.present ? nimbus__col_double(st, col + 6) : 0;
}

static void bind_station(nimbus__st_t *st, const nimbus_station_t *s)
{
    nimbus__bind_text(st, 1, s->id);
    nimbus__bind_text(st, 2, s->name);
    nimbus__bind_text(st, 3, s->city);
    nimbus__bind_text(st, 4, s->country);
    nimbus__bind_double(st, 5, s->latitude);
    nimbus__bind_double(st, 6, s->longitude);
    if (s->elevation.present) {
        nimbus__bind_double(st, 7, s->elevation.value);
    } else {
        nimbus__bind_null(st, 7);
    }
}

int nimbus__station_get(nimbus_service_t *svc, const char *id, nimbus_station_t *out,
                        nimbus_error_t *err)
{
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_STATION_GET, err);
    if (st == NULL) {
        return -1;
    }
    nimbus__bind_text(st, 1, id);
    int rc = nimbus__step(st);
    int ret = 0;
    if (rc == NIMBUS__STEP_ROW) {
        if (out != NULL) {
            nimbus__station_from_row(st, 0, out);
        }
        ret = 1;
    } else if (rc != NIMBUS__STEP_DONE) {
        ret = nimbus__store_error(svc, rc, "reading a station", err);
    }
    nimbus__reset(st);
    return ret;
}

int nimbus__limit_resolve(bool has_limit, int64_t limit, int64_t *out, nimbus_error_t *err)
{
    if (!has_limit) {
        *out = NIMBUS_LIST_LIMIT_DEFAULT;
        return 0;
    }
    if (limit < 1 || limit > NIMBUS_LIST_LIMIT_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "limit must be between 1 and %d",
                                NIMBUS_LIST_LIMIT_MAX);
    }
    *out = limit;
    return 0;
}

static int not_found(const char *id, nimbus_error_t *err)
{
    return nimbus_error_set(err, NIMBUS_NOT_FOUND, "station %s does not exist", id);
}

int nimbus_service_station_exists(nimbus_service_t *svc, const char *id, nimbus_error_t *err)
{
    if (nimbus_station_id_validate(id, "station id", err) != 0) {
        return nimbus_error_set(err, NIMBUS_NOT_FOUND, "station does not exist");
    }
    int found = nimbus__station_get(svc, id, NULL, err);
    if (found < 0) {
        return -1;
    }
    return found ? 0 : not_found(id, err);
}

int nimbus_service_get_station(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_get_station_request_t *req,
                               nimbus_get_station_response_t *res, nimbus_error_t *err)
{
    if (req == NULL || res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "GetStation called without a request");
    }
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(GetStation), err) != 0 ||
        nimbus_station_id_validate(req->id, "id", err) != 0) {
        return -1;
    }
    int found = nimbus__station_get(svc, req->id, &res->station, err);
    if (found < 0) {
        return -1;
    }
    return found ? 0 : not_found(req->id, err);
}

/* ---- writes: checked here, run by the writer (writer.c) ------------------ */

static int apply_create(nimbus_service_t *w, nimbus__job_t *job, int64_t *seq, nimbus_error_t *err)
{
    (void)seq;
    const nimbus_station_t *s = &job->in.station;
    int found = nimbus__station_get(w, s->id, NULL, err);
    if (found != 0) {
        return found > 0 ? (nimbus_error_set(err, NIMBUS_ALREADY_EXISTS,
                                             "station %s already exists", s->id),
                            1)
                         : -1;
    }
    nimbus__st_t *st = nimbus__stmt(w, NIMBUS__STMT_STATION_INSERT, err);
    if (st == NULL) {
        return -1;
    }
    bind_station(st, s);
    int rc = nimbus__step(st);
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(w, rc, "storing the station", err);
    }
    job->res.create_station.station = *s;
    return 0;
}

static int apply_update(nimbus_service_t *w, nimbus__job_t *job, int64_t *seq, nimbus_error_t *err)
{
    (void)seq;
    const nimbus_station_t *s = &job->in.station;
    nimbus__st_t *st = nimbus__stmt(w, NIMBUS__STMT_STATION_UPDATE, err);
    if (st == NULL) {
        return -1;
    }
    bind_station(st, s);
    int rc = nimbus__step(st);
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(w, rc, "updating the station", err);
    }
    if (nimbus__changes(st) == 0) {
        not_found(s->id, err); /* nothing was changed */
        return 1;
    }
    job->res.update_station.station = *s;
    return 0;
}

static int apply_delete(nimbus_service_t *w, nimbus__job_t *job, int64_t *seq, nimbus_error_t *err)
{
    (void)seq;
    const char *id = job->in.id;
    int found = nimbus__station_get(w, id, NULL, err);
    if (found <= 0) {
        return found < 0 ? -1 : (not_found(id, err), 1);
    }
    static const nimbus__stmt_id_t steps[] = {NIMBUS__STMT_STATION_OBS_DELETE,
                                              NIMBUS__STMT_STATION_DELETE};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        nimbus__st_t *st = nimbus__stmt(w, steps[i], err);
        if (st == NULL) {
            return -1;
        }
        nimbus__bind_text(st, 1, id);
        int rc = nimbus__step(st);
        nimbus__reset(st);
        if (rc != NIMBUS__STEP_DONE) {
            return nimbus__store_error(w, rc, "deleting the station", err);
        }
    }
    return 0;
}

static nimbus__job_t *new_job(nimbus_op_t op, nimbus__apply_fn apply, nimbus_error_t *err)
{
    nimbus__job_t *job = nimbus__job_new(op, apply);
    if (job == NULL) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    return job;
}

int nimbus__create_station_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_create_station_request_t *req, nimbus__job_t **out,
                               nimbus_error_t *err)
{
    *out = NULL;
    if (req == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "CreateStation called without a request");
    }
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(CreateStation), err) != 0 ||
        nimbus_station_validate(&req->station, err) != 0) {
        return -1;
    }
    nimbus__job_t *job = new_job(NIMBUS_OP_CreateStation, apply_create, err);
    if (job == NULL) {
        return -1;
    }
    job->in.station = req->station;
    *out = job;
    return 0;
}

int nimbus__update_station_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_update_station_request_t *req, nimbus__job_t **out,
                               nimbus_error_t *err)
{
    *out = NULL;
    if (req == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "UpdateStation called without a request");
    }
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(UpdateStation), err) != 0) {
        return -1;
    }
    nimbus_station_t s = req->station;
    if (req->id != NULL) {
        /* An id left out of the station means the one addressed, which is
         * then the station's id and is checked as station.id, as it would
         * be had the client written it there: the same request answers the
         * same over every protocol. */
        if (s.id[0] == '\0') {
            if (nimbus_field_set_text(nimbus_type_field(&nimbus_station_type, "id"), &s,
                                      "station.id", req->id, err) != 0) {
                return -1;
            }
        } else if (strncmp(s.id, req->id, sizeof(s.id)) != 0) {
            if (nimbus_station_id_validate(req->id, "id", err) != 0) {
                return -1;
            }
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "station.id must equal the id of the station updated (%s)",
                                    req->id);
        }
    }
    if (nimbus_station_validate(&s, err) != 0) {
        return -1;
    }
    nimbus__job_t *job = new_job(NIMBUS_OP_UpdateStation, apply_update, err);
    if (job == NULL) {
        return -1;
    }
    job->in.station = s;
    *out = job;
    return 0;
}

int nimbus__delete_station_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_delete_station_request_t *req, nimbus__job_t **out,
                               nimbus_error_t *err)
{
    *out = NULL;
    if (req == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "DeleteStation called without a request");
    }
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(DeleteStation), err) != 0 ||
        nimbus_station_id_validate(req->id, "id", err) != 0) {
        return -1;
    }
    nimbus__job_t *job = new_job(NIMBUS_OP_DeleteStation, apply_delete, err);
    if (job == NULL) {
        return -1;
    }
    memcpy(job->in.id, req->id, strlen(req->id) + 1); /* valid: at most 32 characters */
    *out = job;
    return 0;
}

int nimbus_service_create_station(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                  const nimbus_create_station_request_t *req,
                                  nimbus_create_station_response_t *res, nimbus_error_t *err)
{
    nimbus__job_t *job;
    nimbus_response_t out;
    if (res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "CreateStation called without a response");
    }
    if (nimbus__create_station_job(svc, caller, req, &job, err) != 0 ||
        nimbus__job_run(svc, job, &out, err) != 0) {
        return -1;
    }
    *res = out.create_station;
    return 0;
}

int nimbus_service_update_station(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                  const nimbus_update_station_request_t *req,
                                  nimbus_update_station_response_t *res, nimbus_error_t *err)
{
    nimbus__job_t *job;
    nimbus_response_t out;
    if (res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "UpdateStation called without a response");
    }
    if (nimbus__update_station_job(svc, caller, req, &job, err) != 0 ||
        nimbus__job_run(svc, job, &out, err) != 0) {
        return -1;
    }
    *res = out.update_station;
    return 0;
}

int nimbus_service_delete_station(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                  const nimbus_delete_station_request_t *req,
                                  nimbus_delete_station_response_t *res, nimbus_error_t *err)
{
    nimbus__job_t *job;
    nimbus_response_t out;
    if (res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "DeleteStation called without a response");
    }
    if (nimbus__delete_station_job(svc, caller, req, &job, err) != 0 ||
        nimbus__job_run(svc, job, &out, err) != 0) {
        return -1;
    }
    return 0;
}

/* The filters a ListStations cursor is bound to. */
static void list_scope(const char *city, const char *country, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "stations|%s|", country ? country : "");
    for (const char *p = city; p != NULL && *p != '\0' && n + 1 < size; p++) {
        char c = *p;
        out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n < size ? n : size - 1] = '\0';
}

int nimbus_service_list_stations(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                 const nimbus_list_stations_request_t *req,
                                 nimbus_list_stations_response_t *res, nimbus_error_t *err)
{
    if (req == NULL || res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "ListStations called without a request");
    }
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(ListStations), err) != 0) {
        return -1;
    }
    /* An empty filter (e.g. "?city=") is the same as no filter. */
    const char *city = req->city != NULL && req->city[0] != '\0' ? req->city : NULL;
    const char *country = req->country != NULL && req->country[0] != '\0' ? req->country : NULL;
    const char *cursor = req->cursor != NULL && req->cursor[0] != '\0' ? req->cursor : NULL;
    int64_t limit = 0;
    if ((city != NULL && nimbus_city_validate(city, "city", err) != 0) ||
        (country != NULL && nimbus_country_validate(country, "country", err) != 0) ||
        nimbus__limit_resolve(req->has_limit, req->limit, &limit, err) != 0) {
        return -1;
    }
    char scope[400];
    list_scope(city, country, scope, sizeof(scope));
    nimbus__cursor_t after;
    if (cursor != NULL && nimbus__cursor_decode(svc->core, cursor, NIMBUS__CURSOR_STATIONS, scope,
                                                &after, err) != 0) {
        return -1;
    }
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_STATION_LIST, err);
    if (st == NULL) {
        return -1;
    }
    if (city != NULL) {
        nimbus__bind_text(st, 1, city);
    }
    if (country != NULL) {
        nimbus__bind_text(st, 2, country);
    }
    /* "" sorts before every id: the first page seeks like any other. */
    nimbus__bind_text(st, 3, cursor != NULL ? after.text_key : "");
    nimbus__bind_int64(st, 4, limit + 1);
    size_t cap = 0, count = 0;
    nimbus_station_t *rows = NULL;
    int rc;
    while ((rc = nimbus__step(st)) == NIMBUS__STEP_ROW) {
        nimbus_station_t *grown = nimbus_grow(rows, &cap, count + 1, sizeof(*rows), 16);
        if (grown == NULL) {
            nimbus__reset(st);
            free(rows);
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory listing stations");
        }
        rows = grown;
        nimbus__station_from_row(st, 0, &rows[count++]);
    }
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        free(rows);
        return nimbus__store_error(svc, rc, "listing stations", err);
    }
    res->next_cursor[0] = '\0';
    if (count > (size_t)limit) {
        count = (size_t)limit;
        nimbus__cursor_t next = {.kind = NIMBUS__CURSOR_STATIONS};
        snprintf(next.text_key, sizeof(next.text_key), "%s", rows[count - 1].id);
        if (nimbus__cursor_encode(svc->core, &next, scope, res->next_cursor, err) != 0) {
            free(rows);
            return -1;
        }
    }
    res->stations = rows;
    res->count = count;
    return 0;
}

void nimbus_list_stations_response_cleanup(nimbus_list_stations_response_t *res)
{
    if (res == NULL) {
        return;
    }
    free(res->stations);
    res->stations = NULL;
    res->count = 0;
    res->next_cursor[0] = '\0';
}

void nimbus_get_station_response_cleanup(nimbus_get_station_response_t *res)
{
    (void)res; /* owns no heap memory */
}

void nimbus_create_station_response_cleanup(nimbus_create_station_response_t *res)
{
    (void)res;
}

void nimbus_update_station_response_cleanup(nimbus_update_station_response_t *res)
{
    (void)res;
}

void nimbus_delete_station_response_cleanup(nimbus_delete_station_response_t *res)
{
    (void)res;
}
