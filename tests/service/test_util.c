/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Shared test helpers (see test_util.h). The scratch directory is made with
 * mkdtemp under $TMPDIR (or /tmp) and removed with everything in it when
 * the program exits, so tests leave nothing behind.
 *
 * With NIMBUS_TEST_PG_URI set (the ctest fixture pg_cluster sets it for the
 * service_pg_* runs of these same programs), every fresh database is a
 * fresh schema of that PostgreSQL database instead of a SQLite file: the
 * URI names it in its search_path, so the core creates its tables there;
 * the schemas are dropped at exit.
 */
#define _XOPEN_SOURCE 700
#include "test_util.h"

#include "service_internal.h"

#include <ftw.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const nimbus_credentials_t nimbus_test_trusted = {NIMBUS_CRED_TRUSTED, NULL, NULL};

static char scratch[512];
static char db_path[600];
static int db_counter;

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void remove_scratch(void)
{
    if (scratch[0] != '\0') {
        nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
}

const char *nimbus_test_dir(void)
{
    if (scratch[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        snprintf(scratch, sizeof(scratch), "%s/nimbus-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (mkdtemp(scratch) == NULL) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(remove_scratch);
    }
    return scratch;
}

const char *nimbus_test_pg_uri(void)
{
    const char *uri = getenv("NIMBUS_TEST_PG_URI");
    return uri != NULL && *uri != '\0' ? uri : NULL;
}

/* Runs sql on the test database; exits the program when it cannot. */
static void pg_run(const char *sql)
{
    PGconn *c = PQconnectdb(nimbus_test_pg_uri());
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PGresult *r = PQstatus(c) == CONNECTION_OK ? PQexec(c, sql) : NULL;
    if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
        exit(2);
    }
    PQclear(r);
    PQfinish(c);
}

static void drop_schemas(void)
{
    for (int i = 1; i <= db_counter; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS nimbus_t%ld_%d CASCADE", (long)getpid(),
                 i);
        pg_run(sql);
    }
}

const char *nimbus_test_db_path(void)
{
    const char *uri = nimbus_test_pg_uri();
    if (uri == NULL) {
        snprintf(db_path, sizeof(db_path), "%s/%d/db.sqlite", nimbus_test_dir(), ++db_counter);
        return db_path;
    }
    if (db_counter == 0) {
        atexit(drop_schemas);
    }
    char schema[64], sql[128];
    snprintf(schema, sizeof schema, "nimbus_t%ld_%d", (long)getpid(), ++db_counter);
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s", schema);
    pg_run(sql);
    snprintf(db_path, sizeof(db_path), "%s%coptions=-csearch_path%%3D%s", uri,
             strchr(uri, '?') ? '&' : '?', schema);
    return db_path;
}

void nimbus_test_open(nimbus_core_t **core, nimbus_service_t **svc)
{
    nimbus_error_t err;
    *core = nimbus_core_open(nimbus_test_db_path(), &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*core);
    *svc = nimbus_service_new(*core, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*svc);
}

void nimbus_test_close(nimbus_core_t *core, nimbus_service_t *svc)
{
    nimbus_service_free(svc);
    nimbus_core_free(core);
}

nimbus_station_t nimbus_test_station(const char *id, const char *city, const char *country)
{
    nimbus_station_t s;
    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.name, sizeof(s.name), "Station %s", id);
    snprintf(s.city, sizeof(s.city), "%s", city);
    snprintf(s.country, sizeof(s.country), "%s", country);
    s.latitude = 52.52;
    s.longitude = 13.405;
    return s;
}

nimbus_observation_t nimbus_test_obs(int64_t t, double temperature)
{
    nimbus_observation_t o;
    memset(&o, 0, sizeof(o));
    o.observed_at = t;
    o.temperature.present = true;
    o.temperature.value = temperature;
    return o;
}

void nimbus_test_create(nimbus_service_t *svc, const char *id, const char *city,
                        const char *country)
{
    nimbus_create_station_request_t req = {nimbus_test_station(id, city, country)};
    nimbus_create_station_response_t res;
    memset(&res, 0, sizeof(res));
    nimbus_error_t err;
    int rc = nimbus_service_create_station(svc, &nimbus_test_trusted, &req, &res, &err);
    if (rc != 0) {
        fprintf(stderr, "create %s: %s\n", id, err.message);
    }
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    nimbus_create_station_response_cleanup(&res);
}

int nimbus_test_record(nimbus_service_t *svc, const char *id, const nimbus_observation_t *obs,
                       size_t count, nimbus_record_observations_response_t *res,
                       nimbus_error_t *err)
{
    nimbus_record_observations_request_t req = {id, obs, count};
    memset(res, 0, sizeof(*res));
    int rc = nimbus_service_record_observations(svc, &nimbus_test_trusted, &req, res, err);
    nimbus_record_observations_response_cleanup(res);
    return rc;
}

struct sqlite3 *nimbus_test_writer_db(nimbus_core_t *core)
{
    return core->writer.svc->db; /* NULL on PostgreSQL */
}
