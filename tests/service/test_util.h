/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers shared by the core's unit tests: a scratch directory per test
 * program (removed at exit), an open core and service on a real SQLite file
 * in it, and ready-made valid stations and observations. The CUnit runner
 * is tests/lib/nimbus_cunit.h, included here for every core test.
 */
#ifndef NIMBUS_TEST_UTIL_H
#define NIMBUS_TEST_UTIL_H

#include "nimbus_cunit.h"
#include "nimbus_service.h"

/* A fresh database path inside the scratch directory ("<dir>/<n>/db.sqlite",
 * its directory not yet created), or with NIMBUS_TEST_PG_URI set, the URI
 * of a fresh schema of that PostgreSQL database. Static storage, valid
 * until the next call. */
const char *nimbus_test_db_path(void);

/* NIMBUS_TEST_PG_URI, or NULL when the tests run on SQLite. */
const char *nimbus_test_pg_uri(void);

/* The scratch directory itself. */
const char *nimbus_test_dir(void);

/* Opens a core on a fresh database and one service on it. */
void nimbus_test_open(nimbus_core_t **core, nimbus_service_t **svc);
void nimbus_test_close(nimbus_core_t *core, nimbus_service_t *svc);

/* A valid station with the given id, city and country. */
nimbus_station_t nimbus_test_station(const char *id, const char *city, const char *country);
/* A valid observation at t with a temperature. */
nimbus_observation_t nimbus_test_obs(int64_t t, double temperature);

/* Creates a station with trusted credentials; CU-asserts success. */
void nimbus_test_create(nimbus_service_t *svc, const char *id, const char *city,
                        const char *country);
/* Records obs for station id with trusted credentials; returns the call's
 * result and fills res. */
int nimbus_test_record(nimbus_service_t *svc, const char *id, const nimbus_observation_t *obs,
                       size_t count, nimbus_record_observations_response_t *res,
                       nimbus_error_t *err);

extern const nimbus_credentials_t nimbus_test_trusted;

/* The writer thread's own connection, where every write runs: tests inject
 * storage failures into it (a trigger, a page limit, query_only) between
 * writes. Only while no write is in flight: the writer touches it only
 * while it runs a job, and the hand-over of each job orders the two. */
struct sqlite3;
struct sqlite3 *nimbus_test_writer_db(nimbus_core_t *core);

#endif
