/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The storage interface's front (which engine a path names, a service's
 * connection and statement cache, read snapshots, errors) and its SQLite
 * engine: opening a connection with Nimbus's settings, the schema and its
 * version, and the mapping of SQLite failures to the error model. The
 * PostgreSQL engine is store_pg.c; operations call the same nimbus__stmt,
 * nimbus__bind_*, nimbus__step and nimbus__col_* whichever engine runs.
 *
 * Settings: WAL (readers never block the writer), synchronous=FULL (a
 * COMMIT that returned survives power loss, which is what makes
 * RecordObservations durable at return), a busy timeout for locks held by
 * other processes, and foreign keys on (off on the writer's connection,
 * which checks the station itself: writer.c). The schema version lives in
 * PRAGMA user_version; nimbus__store_migrate creates or upgrades to version 2
 * (1 plus an index) and refuses
 * a file written by a newer Nimbus rather than guessing.
 *
 * Every statement is reset as soon as its caller is done with it: an
 * unreset SELECT would keep its connection's read snapshot open, and later
 * reads on that connection would see old data.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "service_internal.h"

#define STATION_COLS "id, name, city, country, latitude, longitude, elevation"
#define OBS_COLS                                                                                   \
    "station_id, observed_at, temperature, humidity, pressure, wind_speed, wind_direction, "       \
    "precipitation, seq"

/* What makes an INSERT of observations an upsert: a row already stored
 * under (station_id, observed_at) is replaced by different values, and
 * takes the new seq; the same values again change nothing
 * (sqlite3_changes() does not count it: a duplicate). The WHERE is the
 * duplicate rule of nimbus_observation_same_values, which the writer
 * applies before a batch's statements of many rows (observation.c,
 * store_many): change one, change both. */
#define OBS_UPSERT                                                                                 \
    " ON CONFLICT (station_id, observed_at) DO UPDATE SET"                                         \
    " temperature = excluded.temperature, humidity = excluded.humidity,"                           \
    " pressure = excluded.pressure, wind_speed = excluded.wind_speed,"                             \
    " wind_direction = excluded.wind_direction, precipitation = excluded.precipitation,"           \
    " seq = excluded.seq"                                                                          \
    " WHERE temperature IS NOT excluded.temperature OR humidity IS NOT excluded.humidity"          \
    " OR pressure IS NOT excluded.pressure OR wind_speed IS NOT excluded.wind_speed"               \
    " OR wind_direction IS NOT excluded.wind_direction"                                            \
    " OR precipitation IS NOT excluded.precipitation"
/* NIMBUS__OBS_UPSERT_ROWS (50) rows of nine parameters. */
#define OBS_ROW "(?,?,?,?,?,?,?,?,?)"
#define OBS_ROWS5 OBS_ROW "," OBS_ROW "," OBS_ROW "," OBS_ROW "," OBS_ROW
#define OBS_ROWS25 OBS_ROWS5 "," OBS_ROWS5 "," OBS_ROWS5 "," OBS_ROWS5 "," OBS_ROWS5
#define OBS_ROWS50 OBS_ROWS25 "," OBS_ROWS25

static const char *const stmt_sql[NIMBUS__STMT_COUNT] = {
    [NIMBUS__STMT_BEGIN] = "BEGIN IMMEDIATE",
    [NIMBUS__STMT_READ_BEGIN] = "BEGIN",
    [NIMBUS__STMT_COMMIT] = "COMMIT",
    [NIMBUS__STMT_ROLLBACK] = "ROLLBACK",
    [NIMBUS__STMT_SEQ_GET] = "SELECT value FROM meta WHERE key = 'seq'",
    [NIMBUS__STMT_SEQ_SET] = "UPDATE meta SET value = ?1 WHERE key = 'seq'",
    [NIMBUS__STMT_STATION_GET] = "SELECT " STATION_COLS " FROM stations WHERE id = ?1",
    [NIMBUS__STMT_STATION_INSERT] =
        "INSERT INTO stations (" STATION_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [NIMBUS__STMT_STATION_UPDATE] = "UPDATE stations SET name = ?2, city = ?3, country = ?4, "
                                    "latitude = ?5, longitude = ?6, elevation = ?7 WHERE id = ?1",
    [NIMBUS__STMT_STATION_DELETE] = "DELETE FROM stations WHERE id = ?1",
    [NIMBUS__STMT_STATION_OBS_DELETE] = "DELETE FROM observations WHERE station_id = ?1",
    [NIMBUS__STMT_STATION_COUNT] = "SELECT count(*) FROM stations",
    [NIMBUS__STMT_STATION_LIST] = "SELECT " STATION_COLS " FROM stations"
                                  " WHERE (?1 IS NULL OR city = ?1 COLLATE NOCASE)"
                                  " AND (?2 IS NULL OR country = ?2)"
                                  " AND id > ?3 ORDER BY id LIMIT ?4",
    [NIMBUS__STMT_STATION_CITY] = "SELECT " STATION_COLS " FROM stations"
                                  " WHERE city = ?1 COLLATE NOCASE"
                                  " AND (?2 IS NULL OR country = ?2) ORDER BY id",
    [NIMBUS__STMT_OBS_UPSERT] = "INSERT INTO observations (" OBS_COLS
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)" OBS_UPSERT,
    [NIMBUS__STMT_OBS_UPSERT_MANY] =
        "INSERT INTO observations (" OBS_COLS ") VALUES " OBS_ROWS50 OBS_UPSERT,
    [NIMBUS__STMT_OBS_RANGE] = "SELECT " OBS_COLS " FROM observations"
                               " WHERE station_id = ?1 AND observed_at >= ?2 AND observed_at < ?3"
                               " ORDER BY observed_at LIMIT ?4",
    [NIMBUS__STMT_OBS_LATEST] = "SELECT " OBS_COLS " FROM observations WHERE station_id = ?1"
                                " ORDER BY observed_at DESC LIMIT 1",
    [NIMBUS__STMT_OBS_SUMMARY] = "SELECT count(*), count(temperature), min(temperature),"
                                 " max(temperature), avg(temperature), total(precipitation)"
                                 " FROM observations WHERE station_id = ?1"
                                 " AND observed_at > ?2 AND observed_at <= ?3",
    [NIMBUS__STMT_OBS_SINCE_ALL] = "SELECT " OBS_COLS " FROM observations WHERE seq > ?1"
                                   " ORDER BY seq LIMIT ?2",
    [NIMBUS__STMT_STATION_IDS] = "SELECT id FROM stations ORDER BY id",
    /* A station's oldest rows before ?2, at most ?3 of them: before the
     * (?3+1)th oldest when there are that many. */
    [NIMBUS__STMT_OBS_EXPIRE] =
        "DELETE FROM observations WHERE station_id = ?1 AND observed_at < min(?2, coalesce("
        "(SELECT observed_at FROM observations WHERE station_id = ?1 ORDER BY observed_at"
        " LIMIT 1 OFFSET ?3), ?2))",
    [NIMBUS__STMT_HEAD_GET] = "SELECT value FROM meta WHERE key = 'seq'",
    [NIMBUS__STMT_MARK_GET] = "SELECT value FROM meta WHERE key = ?1",
    [NIMBUS__STMT_MARK_SET] = "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
    /* One station's rows in (?2, ?3) by seq, on observations_station_seq. */
    [NIMBUS__STMT_OBS_SINCE_STATION] = "SELECT " OBS_COLS " FROM observations"
                                       " WHERE station_id = ?1 AND seq > ?2 AND seq < ?3"
                                       " ORDER BY seq LIMIT ?4",
};

static const char schema_v1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('seq', 0), ('cursor_key', randomblob(32));"
    "CREATE TABLE stations ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL, country TEXT NOT NULL,"
    " latitude REAL NOT NULL, longitude REAL NOT NULL, elevation REAL) WITHOUT ROWID;"
    "CREATE INDEX stations_city ON stations (city COLLATE NOCASE, country, id);"
    "CREATE TABLE observations ("
    " station_id TEXT NOT NULL REFERENCES stations (id) ON DELETE CASCADE,"
    " observed_at INTEGER NOT NULL,"
    " temperature REAL, humidity REAL, pressure REAL, wind_speed REAL,"
    " wind_direction REAL, precipitation REAL,"
    " seq INTEGER NOT NULL,"
    " PRIMARY KEY (station_id, observed_at)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX observations_seq ON observations (seq);"
    "PRAGMA user_version = 1;";

/* Version 2 (contract 1.1, GetObservationFeed): a station's rows by seq,
 * so that "after seq S, of these stations" costs what it returns, however
 * long the station has been quiet (a poller that is caught up asks just
 * that, every time). Built once when a version 1 file is opened. */
static const char schema_v2[] =
    "CREATE INDEX observations_station_seq ON observations (station_id, seq);"
    "PRAGMA user_version = 2;";

bool nimbus__is_pg_uri(const char *path)
{
    return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

/* PostgreSQL's SQLSTATE classes that say "not now" rather than "a bug":
 * the connection, resources (disk full, too many connections), an
 * operator (shutdown), the system (I/O), a rolled back transaction
 * (deadlock, serialization), a lock not available, a read-only server (a
 * standby), corrupted data. */
static bool pg_state_unavailable(const char *state)
{
    static const char *const classes[] = {"08", "53", "57", "58", "40", "55", "XX"};
    if (state[0] == '\0' || strcmp(state, "25006") == 0) {
        return true; /* "": the connection itself failed */
    }
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        if (strncmp(state, classes[i], 2) == 0) {
            return true;
        }
    }
    return false;
}

int nimbus__store_error(nimbus_service_t *svc, int rc, const char *doing, nimbus_error_t *err)
{
    if (svc != NULL && svc->pg != NULL) {
        if (rc != NIMBUS__PG_FAILED) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "storage failed while %s: code %d", doing,
                                    rc);
        }
        bool unavailable = pg_state_unavailable(svc->pg_state);
        return nimbus_error_set(err, unavailable ? NIMBUS_UNAVAILABLE : NIMBUS_INTERNAL,
                                "storage %s while %s: %s%s%s%s",
                                unavailable ? "is unavailable" : "failed", doing, svc->pg_message,
                                svc->pg_state[0] ? " (SQLSTATE " : "",
                                svc->pg_state[0] ? svc->pg_state : "", svc->pg_state[0] ? ")" : "");
    }
    switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
    case SQLITE_PERM:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "storage is unavailable while %s: %s",
                                doing, sqlite3_errstr(rc));
    default:
        break;
    }
    return nimbus_error_set(err, NIMBUS_INTERNAL, "storage failed while %s: %s", doing,
                            sqlite3_errstr(rc));
}

int nimbus__mkdir_parents(const char *path, nimbus_error_t *err)
{
    char *copy = strdup(path);
    if (copy == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    for (char *p = copy + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot create directory %s: %s", copy,
                             strerror(errno));
            free(copy);
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return 0;
}

static int exec(sqlite3 *db, const char *sql, const char *doing, nimbus_error_t *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        return nimbus__store_error(NULL, rc, doing, err);
    }
    return 0;
}

/* SQLite counts every allocation it makes under one process-wide mutex
 * for sqlite3_status() and sqlite3_memory_used(), which Nimbus never asks
 * for. Without it a batch write (row 8 of docs/performance.md) costs 5.7%
 * less CPU per observation (both builds loaded side by side, six runs:
 * 3.4-6.4% less). Settable only before SQLite initialises, which its first
 * connection does; later (a test that opened one before, say) the call is
 * refused and changes nothing. */
static void sqlite_settings(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int nimbus__store_connect(const char *path, sqlite3 **out, nimbus_error_t *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_settings);
    *out = NULL;
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK) {
        if (db == NULL) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory opening %s", path);
        }
        nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot open database %s: %s", path,
                         sqlite3_errmsg(db));
        sqlite3_close(db);
        return -1;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, NIMBUS__BUSY_TIMEOUT_MS);
    if (exec(db, "PRAGMA journal_mode = WAL", "enabling WAL", err) != 0 ||
        exec(db, "PRAGMA synchronous = FULL", "setting synchronous", err) != 0 ||
        exec(db, "PRAGMA foreign_keys = ON", "enabling foreign keys", err) != 0) {
        sqlite3_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

static int read_meta(nimbus_core_t *core, sqlite3 *db, nimbus_error_t *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &st, NULL);
    if (rc != SQLITE_OK) {
        return nimbus__store_error(NULL, rc, "reading the schema", err);
    }
    bool have_seq = false, have_key = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        if (key != NULL && strcmp(key, "seq") == 0) {
            atomic_store(&core->head_seq, sqlite3_column_int64(st, 1));
            have_seq = true;
        } else if (key != NULL && strcmp(key, "cursor_key") == 0 &&
                   sqlite3_column_bytes(st, 1) == NIMBUS__CURSOR_KEY_SIZE) {
            memcpy(core->cursor_key, sqlite3_column_blob(st, 1), NIMBUS__CURSOR_KEY_SIZE);
            have_key = true;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        return nimbus__store_error(NULL, rc, "reading the schema", err);
    }
    if (!have_seq || !have_key) {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                                "database is damaged: its meta table lacks seq or cursor_key");
    }
    return 0;
}

int nimbus__store_migrate(nimbus_core_t *core, sqlite3 *db, nimbus_error_t *err)
{
    if (exec(db, "BEGIN IMMEDIATE", "preparing the schema", err) != 0) {
        return -1;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    int version = -1;
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            version = sqlite3_column_int(st, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        nimbus__store_error(NULL, rc, "reading the schema version", err);
        goto fail;
    }
    if (version > NIMBUS__SCHEMA_VERSION) {
        nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                         "database schema version %d is newer than this server's (%d)", version,
                         NIMBUS__SCHEMA_VERSION);
        goto fail;
    }
    /* Later versions add steps here: if (version < 3) { ...; } */
    if (version < 1 && exec(db, schema_v1, "creating the schema", err) != 0) {
        goto fail;
    }
    if (version < 2 && exec(db, schema_v2, "indexing observations by station and seq", err) != 0) {
        goto fail;
    }
    if (read_meta(core, db, err) != 0) {
        goto fail;
    }
    if (exec(db, "COMMIT", "creating the schema", err) != 0) {
        goto fail;
    }
    return 0;
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int nimbus__store_open_service(nimbus_service_t *svc, nimbus_error_t *err)
{
    if (svc->core->engine == NIMBUS__POSTGRES) {
        return nimbus__pg_open_service(svc, err);
    }
    if (nimbus__store_connect(svc->core->path, &svc->db, err) != 0) {
        return -1;
    }
    /* Prepare everything now: a bad query fails here, not under load, and
     * ROLLBACK never needs memory for preparing when memory is short. */
    for (int i = 0; i < NIMBUS__STMT_COUNT; i++) {
        if (stmt_sql[i] != NULL && nimbus__stmt(svc, (nimbus__stmt_id_t)i, err) == NULL) {
            return -1;
        }
    }
    return 0;
}

void nimbus__store_close_service(nimbus_service_t *svc)
{
    if (svc->pg != NULL) {
        nimbus__pg_close_service(svc);
        return;
    }
    for (int i = 0; i < NIMBUS__STMT_COUNT; i++) {
        sqlite3_finalize(svc->stmts[i].lite);
        svc->stmts[i].lite = NULL;
    }
    sqlite3_close(svc->db);
    svc->db = NULL;
}

nimbus__st_t *nimbus__stmt(nimbus_service_t *svc, nimbus__stmt_id_t id, nimbus_error_t *err)
{
    nimbus__st_t *st = &svc->stmts[id];
    if (svc->pg != NULL) {
        if (nimbus__pg_ensure(svc, err) != 0) {
            return NULL;
        }
        nimbus__pg_reset(st);
        nimbus__pg_clear_bindings(st);
        return st;
    }
    if (st->lite == NULL) {
        if (stmt_sql[id] == NULL) {
            nimbus_error_set(err, NIMBUS_INTERNAL, "no query %d for SQLite", (int)id);
            return NULL;
        }
        int rc = sqlite3_prepare_v3(svc->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->lite,
                                    NULL);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(st->lite);
            st->lite = NULL;
            nimbus__store_error(NULL, rc, "preparing a query", err);
            return NULL;
        }
        return st;
    }
    sqlite3_reset(st->lite);
    sqlite3_clear_bindings(st->lite);
    return st;
}

int nimbus__read_begin(nimbus_service_t *svc, nimbus_error_t *err)
{
    nimbus__read_end(svc); /* never join a transaction left open by a failure */
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_READ_BEGIN, err);
    if (st == NULL) {
        return -1;
    }
    int rc = nimbus__step(st);
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        return nimbus__store_error(svc, rc, "starting a read", err);
    }
    return 0;
}

void nimbus__rollback(nimbus_service_t *svc)
{
    if (svc->pg != NULL) {
        if (nimbus__pg_in_transaction(svc)) {
            nimbus__pg_exec(svc, "ROLLBACK");
        }
        return;
    }
    if (sqlite3_get_autocommit(svc->db)) {
        return;
    }
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_ROLLBACK, NULL);
    if (st != NULL) {
        sqlite3_step(st->lite);
        sqlite3_reset(st->lite);
    }
    if (!sqlite3_get_autocommit(svc->db)) {
        /* The cached statement could not be used (e.g. out of memory): a
         * transaction must not stay open on this connection. */
        sqlite3_exec(svc->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

void nimbus__read_end(nimbus_service_t *svc)
{
    /* Reads wrote nothing; ROLLBACK ends the snapshot, and it also undoes
     * (never commits) a write a failure could have left open. */
    nimbus__rollback(svc);
}
