/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/store.c, core.c and write.c on real files: the seq
 * counter across close and reopen and after deletes (contract "Sequence
 * numbers": never reused), schema version (and the upgrade from version 1),
 * directory creation, and storage
 * failures injected in turn (a lock held by another process, a failing
 * statement mid-batch, a full disk, a read-only database, a corrupt or
 * unopenable file). Each must give a clean UNAVAILABLE or INTERNAL with
 * nothing half-written and the next write working.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../service/service_internal.h"
#include "test_util.h"

static const nimbus_credentials_t *T = &nimbus_test_trusted;

static int64_t raw_count(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void record_n(nimbus_service_t *svc, const char *id, int64_t from, int n,
                     nimbus_record_observations_response_t *res, int expect_rc, nimbus_error_t *err)
{
    nimbus_observation_t obs[50];
    for (int i = 0; i < n && i < 50; i++) {
        obs[i] = nimbus_test_obs(from + i, 1);
    }
    CU_ASSERT_EQUAL(nimbus_test_record(svc, id, obs, (size_t)n, res, err), expect_rc);
}

static void test_seq_survives_reopen(void)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/deep/er/dir/db.sqlite", nimbus_test_dir());
    nimbus_error_t err;
    nimbus_core_t *core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 0);
    nimbus_service_t *svc = nimbus_service_new(core, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    CU_ASSERT_PTR_EQUAL(nimbus_service_core(svc), core);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_test_create(svc, "b", "Berlin", "DE");
    nimbus_record_observations_response_t res;
    record_n(svc, "a", 0, 5, &res, 0, &err);
    record_n(svc, "b", 0, 3, &res, 0, &err);
    CU_ASSERT_EQUAL(res.last_seq, 8);
    /* Durable and visible to another connection at return. */
    CU_ASSERT_EQUAL(raw_count(path, "SELECT count(*) FROM observations"), 8);
    CU_ASSERT_EQUAL(raw_count(path, "PRAGMA user_version"), NIMBUS__SCHEMA_VERSION);
    nimbus_test_close(core, svc);

    core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 8);
    svc = nimbus_service_new(core, &err);
    /* Deleting the station holding the newest seqs does not move the
     * counter back. */
    nimbus_delete_station_request_t dreq = {"b"};
    nimbus_delete_station_response_t dres = {0};
    CU_ASSERT_EQUAL(nimbus_service_delete_station(svc, T, &dreq, &dres, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 8);
    record_n(svc, "a", 100, 1, &res, 0, &err);
    CU_ASSERT_EQUAL(res.first_seq, 9);
    nimbus_test_close(core, svc);

    core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 9);
    int64_t stations = 0;
    CU_ASSERT_EQUAL(nimbus_core_station_count(core, &stations, &err), 0);
    CU_ASSERT_EQUAL(stations, 1);
    nimbus_core_free(core);
    nimbus_core_free(NULL);
    nimbus_service_free(NULL);
}

static void test_settings(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    sqlite3_stmt *st;
    const struct {
        const char *pragma;
        const char *want;
    } pragmas[] = {{"PRAGMA journal_mode", "wal"},
                   {"PRAGMA synchronous", "2"},
                   {"PRAGMA foreign_keys", "1"},
                   {"PRAGMA busy_timeout", "5000"}};
    for (size_t i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(sqlite3_prepare_v2(svc->db, pragmas[i].pragma, -1, &st, NULL),
                              SQLITE_OK);
        CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_ROW);
        CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(st, 0), pragmas[i].want);
        sqlite3_finalize(st);
    }
    nimbus_test_close(core, svc);
}

static void test_newer_schema_refused(void)
{
    const char *path = nimbus_test_db_path();
    nimbus_error_t err;
    nimbus_core_t *core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    nimbus_core_free(core);
    sqlite3 *db;
    CU_ASSERT_EQUAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    CU_ASSERT_PTR_NULL(nimbus_core_open(path, &err));
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "newer"));
}

/* A version 1 file (before the (station_id, seq) index of contract 1.1's
 * feed) gets the index when it is opened, keeps its rows, and a filtered
 * read after a seq works on it. */
static void test_version_1_upgraded(void)
{
    const char *path = nimbus_test_db_path();
    nimbus_error_t err;
    nimbus_core_t *core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    nimbus_service_t *svc = nimbus_service_new(core, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_test_create(svc, "b", "Berlin", "DE");
    nimbus_record_observations_response_t res;
    record_n(svc, "a", 0, 5, &res, 0, &err);
    record_n(svc, "b", 0, 3, &res, 0, &err);
    nimbus_test_close(core, svc);
    sqlite3 *db;
    CU_ASSERT_EQUAL(sqlite3_open(path, &db), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db,
                                 "DROP INDEX observations_station_seq; PRAGMA user_version = 1;",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    sqlite3_close(db);
    const char *index_count =
        "SELECT count(*) FROM sqlite_master WHERE name = 'observations_station_seq'";
    CU_ASSERT_EQUAL(raw_count(path, index_count), 0);

    core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(raw_count(path, "PRAGMA user_version"), 2);
    CU_ASSERT_EQUAL(raw_count(path, index_count), 1);
    svc = nimbus_service_new(core, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    const char *const b[] = {"b"};
    nimbus_observation_t *out = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(nimbus_service_observations_since(svc, b, 1, 6, 100, &out, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 2); /* b's seqs are 6, 7, 8 */
    if (n == 2) {
        CU_ASSERT_EQUAL(out[0].seq, 7);
        CU_ASSERT_EQUAL(out[1].seq, 8);
    }
    free(out);
    nimbus_test_close(core, svc);
}

static void test_bad_files(void)
{
    nimbus_error_t err;
    /* Not a database at all. */
    char path[600];
    snprintf(path, sizeof(path), "%s/garbage.db", nimbus_test_dir());
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int i = 0; i < 4096; i++) {
        fputc((i * 7919) & 0xFF, f);
    }
    fclose(f);
    CU_ASSERT_PTR_NULL(nimbus_core_open(path, &err));
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);

    /* A database whose header was overwritten. */
    const char *db_path = nimbus_test_db_path();
    nimbus_core_t *core = nimbus_core_open(db_path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    nimbus_core_free(core);
    f = fopen(db_path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("this is no longer SQLite", f);
    fclose(f);
    CU_ASSERT_PTR_NULL(nimbus_core_open(db_path, &err));
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);

    /* A directory where the file should be; a file where a directory
     * should be. */
    CU_ASSERT_PTR_NULL(nimbus_core_open(nimbus_test_dir(), &err));
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    snprintf(path, sizeof(path), "%s/garbage.db/sub/db.sqlite", nimbus_test_dir());
    CU_ASSERT_PTR_NULL(nimbus_core_open(path, &err));
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    CU_ASSERT_PTR_NULL(nimbus_core_open("", &err));
    CU_ASSERT_PTR_NULL(nimbus_core_open(NULL, &err));
}

/* Another connection (as another process would) holds the write lock. */
static void test_busy(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    record_n(svc, "a", 0, 2, &res, 0, &err);
    sqlite3_busy_timeout(nimbus_test_writer_db(core), 20);
    sqlite3 *other;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(core->path, &other), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

    record_n(svc, "a", 10, 3, &res, -1, &err);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    nimbus_create_station_request_t creq = {nimbus_test_station("b", "Rome", "IT")};
    nimbus_create_station_response_t cres = {0};
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, T, &creq, &cres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    /* Reads still work beside the writer (WAL). */
    nimbus_get_weather_request_t wreq = {"a"};
    nimbus_get_weather_response_t wres = {0};
    CU_ASSERT_EQUAL(nimbus_service_get_weather(svc, T, &wreq, &wres, &err), 0);
    CU_ASSERT_EQUAL(wres.report.last24h.count, 2);

    CU_ASSERT_EQUAL(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 2);
    /* The write lock was released: the next write works, seq gap-free. */
    record_n(svc, "a", 10, 3, &res, 0, &err);
    CU_ASSERT_EQUAL(res.first_seq, 3);
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, T, &creq, &cres, &err), 0);
    nimbus_test_close(core, svc);
}

/* A statement fails in the middle of a batch: the rows before it must not
 * stay. */
static void test_failure_mid_batch(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    record_n(svc, "a", 0, 2, &res, 0, &err);
    CU_ASSERT_EQUAL(sqlite3_exec(nimbus_test_writer_db(core),
                                 "CREATE TEMP TRIGGER inject BEFORE INSERT ON main.observations"
                                 " WHEN NEW.observed_at = 103"
                                 " BEGIN SELECT RAISE(ABORT, 'injected'); END",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    record_n(svc, "a", 100, 5, &res, -1, &err);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INTERNAL);
    CU_ASSERT_EQUAL(raw_count(core->path, "SELECT count(*) FROM observations"), 2);
    CU_ASSERT_EQUAL(raw_count(core->path, "SELECT value FROM meta WHERE key = 'seq'"), 2);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 2);
    CU_ASSERT_EQUAL(
        sqlite3_exec(nimbus_test_writer_db(core), "DROP TRIGGER inject", NULL, NULL, NULL),
        SQLITE_OK);
    record_n(svc, "a", 100, 5, &res, 0, &err);
    CU_ASSERT_EQUAL(res.first_seq, 3);
    CU_ASSERT_EQUAL(res.last_seq, 7);
    nimbus_test_close(core, svc);
}

static void test_disk_full(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    CU_ASSERT_EQUAL(
        sqlite3_exec(nimbus_test_writer_db(core), "PRAGMA max_page_count = 1", NULL, NULL, NULL),
        SQLITE_OK);
    /* Far more than the pages the database has room for. */
    nimbus_observation_t *obs = calloc(NIMBUS_RECORD_BATCH_MAX, sizeof(*obs));
    CU_ASSERT_PTR_NOT_NULL_FATAL(obs);
    for (int i = 0; i < NIMBUS_RECORD_BATCH_MAX; i++) {
        obs[i] = nimbus_test_obs(i, 1);
        obs[i].humidity = (nimbus_opt_double_t){true, 50};
        obs[i].pressure = (nimbus_opt_double_t){true, 1000};
    }
    for (int round = 0; round < 3; round++) {
        CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, NIMBUS_RECORD_BATCH_MAX, &res, &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    }
    CU_ASSERT_EQUAL(raw_count(core->path, "SELECT count(*) FROM observations"), 0);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 0);
    /* With room again, the same batch goes in whole. */
    CU_ASSERT_EQUAL(sqlite3_exec(nimbus_test_writer_db(core), "PRAGMA max_page_count = 1000000",
                                 NULL, NULL, NULL),
                    SQLITE_OK);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, NIMBUS_RECORD_BATCH_MAX, &res, &err), 0);
    CU_ASSERT_EQUAL(res.first_seq, 1);
    free(obs);
    nimbus_test_close(core, svc);
}

static void test_read_only(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    CU_ASSERT_EQUAL(
        sqlite3_exec(nimbus_test_writer_db(core), "PRAGMA query_only = 1", NULL, NULL, NULL),
        SQLITE_OK);
    record_n(svc, "a", 0, 3, &res, -1, &err);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    nimbus_delete_station_request_t dreq = {"a"};
    nimbus_delete_station_response_t dres = {0};
    CU_ASSERT_EQUAL(nimbus_service_delete_station(svc, T, &dreq, &dres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    nimbus_get_station_request_t greq = {"a"};
    nimbus_get_station_response_t gres = {0};
    CU_ASSERT_EQUAL(nimbus_service_get_station(svc, T, &greq, &gres, &err), 0);
    CU_ASSERT_EQUAL(
        sqlite3_exec(nimbus_test_writer_db(core), "PRAGMA query_only = 0", NULL, NULL, NULL),
        SQLITE_OK);
    record_n(svc, "a", 0, 3, &res, 0, &err);
    CU_ASSERT_EQUAL(res.first_seq, 1);
    nimbus_test_close(core, svc);
}

/* SQLite's allocator, wrapped so that one chosen allocation fails. */
static sqlite3_mem_methods real_mem;
static int alloc_countdown = -1; /* fail when it reaches 0; -1: disarmed */
static int alloc_failures;

static bool alloc_should_fail(void)
{
    if (alloc_countdown < 0) {
        return false;
    }
    if (alloc_countdown-- == 0) {
        alloc_failures++;
        return true;
    }
    return false;
}

static void *failing_malloc(int n)
{
    return alloc_should_fail() ? NULL : real_mem.xMalloc(n);
}

static void *failing_realloc(void *p, int n)
{
    return alloc_should_fail() ? NULL : real_mem.xRealloc(p, n);
}

static void install_failing_allocator(void)
{
    sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem);
    sqlite3_mem_methods m = real_mem;
    m.xMalloc = failing_malloc;
    m.xRealloc = failing_realloc;
    sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
}

/* Each operation is run with its 1st, 2nd, 3rd... SQLite allocation
 * failing until it gets through: every failure is a clean error, nothing is
 * half-written, and (under ASan) nothing leaks. */
static void test_allocation_failures(void)
{
    nimbus_error_t err;
    const char *path = nimbus_test_db_path();
    nimbus_core_t *core = NULL;
    for (int n = 0; core == NULL && n < 5000; n++) {
        alloc_countdown = n;
        core = nimbus_core_open(path, &err);
        alloc_countdown = -1;
        if (core == NULL) {
            CU_ASSERT_TRUE(err.code == NIMBUS_INTERNAL || err.code == NIMBUS_UNAVAILABLE);
        }
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    nimbus_service_t *svc = NULL;
    for (int n = 0; svc == NULL && n < 5000; n++) {
        alloc_countdown = n;
        svc = nimbus_service_new(core, &err);
        alloc_countdown = -1;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");

    nimbus_observation_t obs[20];
    for (int i = 0; i < 20; i++) {
        obs[i] = nimbus_test_obs(i * 60, i);
    }
    int failures = 0;
    int64_t stored = 0;
    for (int n = 0; n < 5000; n++) {
        nimbus_record_observations_response_t res;
        alloc_countdown = n;
        int rc = nimbus_test_record(svc, "a", obs, 20, &res, &err);
        alloc_countdown = -1;
        stored = raw_count(core->path, "SELECT count(*) FROM observations");
        if (rc == 0) {
            CU_ASSERT_EQUAL(res.first_seq, 1);
            CU_ASSERT_EQUAL(stored, 20);
            break;
        }
        failures++;
        CU_ASSERT_TRUE(err.code == NIMBUS_INTERNAL || err.code == NIMBUS_UNAVAILABLE);
        CU_ASSERT_EQUAL(stored, 0);
        CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 0);
    }
    CU_ASSERT_EQUAL(stored, 20);
    CU_ASSERT_TRUE(failures > 0);

    /* Reads under the same treatment, and the connection stays usable. */
    bool ok = false;
    for (int n = 0; !ok && n < 5000; n++) {
        nimbus_get_city_weather_request_t req = {"Berlin", NULL};
        nimbus_get_city_weather_response_t res = {0};
        alloc_countdown = n;
        ok = nimbus_service_get_city_weather(svc, T, &req, &res, &err) == 0;
        alloc_countdown = -1;
        if (ok) {
            CU_ASSERT_EQUAL(res.count, 1);
            CU_ASSERT_EQUAL(res.reports[0].last24h.count, 20);
        } else {
            CU_ASSERT_TRUE(err.code == NIMBUS_INTERNAL || err.code == NIMBUS_UNAVAILABLE);
        }
        nimbus_get_city_weather_response_cleanup(&res);
    }
    CU_ASSERT_TRUE(ok);
    ok = false;
    for (int n = 0; !ok && n < 5000; n++) {
        nimbus_list_stations_request_t req = {.has_limit = true, .limit = 1};
        nimbus_list_stations_response_t res = {0};
        alloc_countdown = n;
        ok = nimbus_service_list_stations(svc, T, &req, &res, &err) == 0;
        alloc_countdown = -1;
        nimbus_list_stations_response_cleanup(&res);
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_TRUE(alloc_failures > 0);
    nimbus_test_close(core, svc);
}

static void test_error_mapping(void)
{
    nimbus_error_t err;
    const struct {
        int rc;
        nimbus_code_t code;
    } rows[] = {
        {SQLITE_BUSY, NIMBUS_UNAVAILABLE},     {SQLITE_IOERR_FSYNC, NIMBUS_UNAVAILABLE},
        {SQLITE_FULL, NIMBUS_UNAVAILABLE},     {SQLITE_READONLY, NIMBUS_UNAVAILABLE},
        {SQLITE_CORRUPT, NIMBUS_UNAVAILABLE},  {SQLITE_NOTADB, NIMBUS_UNAVAILABLE},
        {SQLITE_CANTOPEN, NIMBUS_UNAVAILABLE}, {SQLITE_MISUSE, NIMBUS_INTERNAL},
        {SQLITE_CONSTRAINT, NIMBUS_INTERNAL},  {SQLITE_NOMEM, NIMBUS_INTERNAL},
        {SQLITE_ERROR, NIMBUS_INTERNAL},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        CU_ASSERT_EQUAL(nimbus__store_error(NULL, rows[i].rc, "testing", &err), -1);
        CU_ASSERT_EQUAL(err.code, rows[i].code);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "testing"));
    }
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"seq survives reopen and deletes", test_seq_survives_reopen},
        {"connection settings", test_settings},
        {"newer schema refused", test_newer_schema_refused},
        {"version 1 upgraded to 2", test_version_1_upgraded},
        {"corrupt and unopenable files", test_bad_files},
        {"lock held elsewhere", test_busy},
        {"failure in the middle of a batch", test_failure_mid_batch},
        {"disk full", test_disk_full},
        {"read-only database", test_read_only},
        {"SQLite result mapping", test_error_mapping},
        {"allocation failures in turn", test_allocation_failures},
        {NULL, NULL},
    };
    install_failing_allocator(); /* before SQLite initialises */
    return nimbus_test_run("store", cases);
}
