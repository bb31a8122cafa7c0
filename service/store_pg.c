/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The PostgreSQL engine of the storage interface (libpq), chosen by a
 * postgresql:// URI: connecting with Nimbus's session settings, the schema
 * and its version, the statements in PostgreSQL's dialect, and the
 * statement calls (bind, step, columns) that store.c's inline functions
 * forward to when a service runs on PostgreSQL.
 *
 * Statements are prepared once per connection (PQprepare) and run with
 * their parameters as text, the whole result fetched at once: every query
 * Nimbus runs is bounded by a LIMIT or by one station. Doubles travel as
 * text both ways: "%.17g" in, and PostgreSQL's shortest exact form out
 * (extra_float_digits = 3), so a value reads back bit for bit.
 *
 * Settings: synchronous_commit = on for every session (a COMMIT that
 * returned is on disk, which is what makes an acknowledged write durable;
 * a server configured otherwise does not weaken it); text compared and
 * ordered byte-wise (COLLATE "C" on the key columns: station ids sort and
 * page as in SQLite, whatever the database's locale); cities matched
 * ignoring ASCII case only, as SQLite's NOCASE does, through translate(),
 * which an expression index serves.
 *
 * A connection that breaks (the server restarted, a network failure) is
 * reset on its next use and its statements prepared again; the call that
 * found it broken fails with UNAVAILABLE. The schema lives in the first
 * schema of the connection's search_path, so one database can hold several
 * independent stores (the tests do).
 */
#include <inttypes.h>
#include <libpq-fe.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

#define PARAMS_MAX 12

struct nimbus__pg_st {
    nimbus_service_t *svc;
    int id;
    int nparams;
    /* Bound values: text at off[i] in buf (len[i] bytes, NUL-terminated),
     * or SQL NULL (unset or bound as NULL). */
    char *buf;
    size_t used, cap;
    size_t off[PARAMS_MAX];
    bool set[PARAMS_MAX];
    PGresult *res; /* the result being read; NULL before the step */
    int row, rows;
    int64_t changes;
};

#define STATION_COLS "id, name, city, country, latitude, longitude, elevation"
#define OBS_COLS                                                                                   \
    "station_id, observed_at, temperature, humidity, pressure, wind_speed, wind_direction, "       \
    "precipitation, seq"
/* ASCII case folding only (SQLite's NOCASE), which lower() is not in a
 * UTF-8 locale. */
#define FOLD(x) "translate(" x ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"

/* NULL: run as a simple query (transaction control), not prepared. */
static const char *const stmt_sql[NIMBUS__STMT_COUNT] = {
    [NIMBUS__STMT_BEGIN] = NULL,
    [NIMBUS__STMT_READ_BEGIN] = NULL,
    [NIMBUS__STMT_COMMIT] = NULL,
    [NIMBUS__STMT_ROLLBACK] = NULL,
    /* The row lock taken here is held to COMMIT: it serialises every
     * writer of every process, so seqs are assigned in commit order. */
    [NIMBUS__STMT_SEQ_GET] = "SELECT value FROM meta WHERE key = 'seq' FOR UPDATE",
    [NIMBUS__STMT_SEQ_SET] = "UPDATE meta SET value = $1::bigint WHERE key = 'seq'",
    [NIMBUS__STMT_STATION_GET] = "SELECT " STATION_COLS " FROM stations WHERE id = $1::text",
    [NIMBUS__STMT_STATION_INSERT] =
        "INSERT INTO stations (" STATION_COLS ") VALUES ($1::text, $2::text, $3::text, $4::text,"
        " $5::float8, $6::float8, $7::float8)",
    [NIMBUS__STMT_STATION_UPDATE] =
        "UPDATE stations SET name = $2::text, city = $3::text, country = $4::text,"
        " latitude = $5::float8, longitude = $6::float8, elevation = $7::float8 WHERE id = "
        "$1::text",
    [NIMBUS__STMT_STATION_DELETE] = "DELETE FROM stations WHERE id = $1::text",
    [NIMBUS__STMT_STATION_OBS_DELETE] = "DELETE FROM observations WHERE station_id = $1::text",
    [NIMBUS__STMT_STATION_COUNT] = "SELECT count(*) FROM stations",
    [NIMBUS__STMT_STATION_LIST] = "SELECT " STATION_COLS " FROM stations"
                                  " WHERE ($1::text IS NULL OR " FOLD("city") " = " FOLD(
                                      "$1::text") ")"
                                                  " AND ($2::text IS NULL OR country = $2::text)"
                                                  " AND id > $3::text ORDER BY id LIMIT $4::bigint",
    [NIMBUS__STMT_STATION_CITY] =
        "SELECT " STATION_COLS " FROM stations"
        " WHERE " FOLD("city") " = " FOLD(
            "$1::text") " AND ($2::text IS NULL OR country = $2::text) ORDER BY id",
    [NIMBUS__STMT_OBS_UPSERT] =
        "INSERT INTO observations (" OBS_COLS ") VALUES ($1::text, $2::bigint, $3::float8,"
        " $4::float8, $5::float8, $6::float8, $7::float8, $8::float8, $9::bigint)"
        " ON CONFLICT (station_id, observed_at) DO UPDATE SET"
        " temperature = excluded.temperature, humidity = excluded.humidity,"
        " pressure = excluded.pressure, wind_speed = excluded.wind_speed,"
        " wind_direction = excluded.wind_direction, precipitation = excluded.precipitation,"
        " seq = excluded.seq"
        /* As on SQLite: the same values again change nothing (0 rows). */
        " WHERE observations.temperature IS DISTINCT FROM excluded.temperature"
        " OR observations.humidity IS DISTINCT FROM excluded.humidity"
        " OR observations.pressure IS DISTINCT FROM excluded.pressure"
        " OR observations.wind_speed IS DISTINCT FROM excluded.wind_speed"
        " OR observations.wind_direction IS DISTINCT FROM excluded.wind_direction"
        " OR observations.precipitation IS DISTINCT FROM excluded.precipitation",
    [NIMBUS__STMT_OBS_RANGE] = "SELECT " OBS_COLS " FROM observations WHERE station_id = $1::text"
                               " AND observed_at >= $2::bigint AND observed_at < $3::bigint"
                               " ORDER BY observed_at LIMIT $4::bigint",
    [NIMBUS__STMT_OBS_LATEST] = "SELECT " OBS_COLS " FROM observations WHERE station_id = $1::text"
                                " ORDER BY observed_at DESC LIMIT 1",
    [NIMBUS__STMT_OBS_SUMMARY] = "SELECT count(*), count(temperature), min(temperature),"
                                 " max(temperature), avg(temperature),"
                                 " coalesce(sum(precipitation), 0)"
                                 " FROM observations WHERE station_id = $1::text"
                                 " AND observed_at > $2::bigint AND observed_at <= $3::bigint",
    [NIMBUS__STMT_OBS_SINCE_ALL] = "SELECT " OBS_COLS " FROM observations WHERE seq > $1::bigint"
                                   " ORDER BY seq LIMIT $2::bigint",
    [NIMBUS__STMT_STATION_IDS] = "SELECT id FROM stations ORDER BY id",
    [NIMBUS__STMT_OBS_EXPIRE] =
        "DELETE FROM observations WHERE station_id = $1::text AND observed_at < LEAST($2::bigint,"
        " coalesce((SELECT observed_at FROM observations WHERE station_id = $1::text"
        " ORDER BY observed_at LIMIT 1 OFFSET $3::bigint), $2::bigint))",
    /* One station's rows in ($2, $3) by seq, on observations_station_seq. */
    [NIMBUS__STMT_OBS_SINCE_STATION] =
        "SELECT " OBS_COLS " FROM observations WHERE station_id = $1::text"
        " AND seq > $2::bigint AND seq < $3::bigint ORDER BY seq LIMIT $4::bigint",
    [NIMBUS__STMT_HEAD_GET] = "SELECT value FROM meta WHERE key = 'seq'",
    [NIMBUS__STMT_MARK_GET] = "SELECT value FROM meta WHERE key = $1::text",
    [NIMBUS__STMT_MARK_SET] = "INSERT INTO meta (key, value) VALUES ($1::text, $2::bigint)"
                              " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    [NIMBUS__STMT_NOTIFY] = "SELECT pg_notify('" NIMBUS__FOLLOW_CHANNEL "', $1::text)",
};

/* The simple queries of the transaction statements. */
static const char *simple_sql(int id)
{
    if (id == NIMBUS__STMT_BEGIN) {
        return "BEGIN ISOLATION LEVEL READ COMMITTED";
    }
    if (id == NIMBUS__STMT_READ_BEGIN) {
        /* One snapshot for every query of a read, as SQLite's BEGIN. */
        return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    }
    if (id == NIMBUS__STMT_COMMIT) {
        return "COMMIT";
    }
    return id == NIMBUS__STMT_ROLLBACK ? "ROLLBACK" : NULL;
}

static const char schema_v1[] =
    "CREATE TABLE meta (key text COLLATE \"C\" PRIMARY KEY, value bigint, data bytea);"
    "INSERT INTO meta (key, value) VALUES ('seq', 0), ('schema_version', 1);"
    "CREATE TABLE stations ("
    " id text COLLATE \"C\" PRIMARY KEY, name text NOT NULL, city text NOT NULL,"
    " country text COLLATE \"C\" NOT NULL, latitude float8 NOT NULL,"
    " longitude float8 NOT NULL, elevation float8);"
    "CREATE INDEX stations_city ON stations ((" FOLD(
        "city") "), country, id);"
                "CREATE TABLE observations ("
                " station_id text COLLATE \"C\" NOT NULL REFERENCES stations (id) ON DELETE "
                "CASCADE,"
                " observed_at bigint NOT NULL,"
                " temperature float8, humidity float8, pressure float8, wind_speed float8,"
                " wind_direction float8, precipitation float8,"
                " seq bigint NOT NULL,"
                " PRIMARY KEY (station_id, observed_at));"
                "CREATE UNIQUE INDEX observations_seq ON observations (seq);";

/* Every session: durable commits, exact doubles, UTF-8, and a bounded
 * wait for a lock held by a stuck session (as SQLite's busy timeout; a
 * session whose process died releases its locks at once, so only a
 * process that hangs holding the seq lock is waited for this long). */
#define STR_(x) #x
#define STR(x) STR_(x)
static const char session_sql[] = "SET synchronous_commit = on; SET extra_float_digits = 3;"
                                  " SET client_encoding = 'UTF8';"
                                  " SET lock_timeout = " STR(NIMBUS__PG_LOCK_TIMEOUT_MS);

/* Keeps the reason of a failure in svc (SQLSTATE and message). */
static void keep_error(nimbus_service_t *svc, const PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    snprintf(svc->pg_state, sizeof svc->pg_state, "%s", state ? state : "");
    if (msg == NULL && svc->pg != NULL) {
        msg = PQerrorMessage(svc->pg);
    }
    snprintf(svc->pg_message, sizeof svc->pg_message, "%s",
             msg && *msg ? msg : "the connection to PostgreSQL failed");
    svc->pg_message[strcspn(svc->pg_message, "\n")] = '\0';
}

int nimbus__pg_exec(nimbus_service_t *svc, const char *sql)
{
    PGresult *res = PQexec(svc->pg, sql);
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = 0;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        keep_error(svc, res);
        rc = NIMBUS__PG_FAILED;
    }
    PQclear(res);
    return rc;
}

bool nimbus__pg_in_transaction(nimbus_service_t *svc)
{
    PGTransactionStatusType t = PQtransactionStatus(svc->pg);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* The highest $n in sql: the statement's parameter count. */
static int count_params(const char *sql)
{
    int n = 0;
    for (const char *p = strchr(sql, '$'); p != NULL; p = strchr(p + 1, '$')) {
        int k = atoi(p + 1);
        n = k > n ? k : n;
    }
    return n;
}

static int prepare_all(nimbus_service_t *svc, nimbus_error_t *err)
{
    if (nimbus__pg_exec(svc, session_sql) != 0) {
        return nimbus__store_error(svc, NIMBUS__PG_FAILED, "configuring the session", err);
    }
    for (int i = 0; i < NIMBUS__STMT_COUNT; i++) {
        if (stmt_sql[i] == NULL) {
            continue;
        }
        char name[32];
        snprintf(name, sizeof name, "nimbus_%d", i);
        PGresult *res = PQprepare(svc->pg, name, stmt_sql[i], 0, NULL);
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            keep_error(svc, res);
            PQclear(res);
            return nimbus__store_error(svc, NIMBUS__PG_FAILED, "preparing a query", err);
        }
        PQclear(res);
    }
    svc->pg_prepared = true;
    return 0;
}

/* Connects to uri: defaults first, so that the URI's own parameters
 * override them. NULL when out of memory; check PQstatus.
 *
 * The TCP settings find a connection whose peer vanished without a word
 * (a host down, a network cut): a silent idle connection (the follower
 * waiting for notifications) within about 25 s by keepalives, one with a
 * query unanswered within 30 s (tcp_user_timeout), instead of the kernel's
 * hours; the connection then fails, and is reset and caught up as any
 * broken one. A Unix socket ignores them. */
static PGconn *connect_uri(const char *uri)
{
    const char *const keys[] = {"connect_timeout",
                                "application_name",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "tcp_user_timeout",
                                "dbname",
                                NULL};
    const char *const values[] = {"10", "nimbus", "1", "10", "5", "3", "30000", uri, NULL};
    return PQconnectdbParams(keys, values, 1);
}

/* svc->pg connected to the core's database, no statement prepared. */
static int connect_only(nimbus_service_t *svc, nimbus_error_t *err)
{
    svc->pg = connect_uri(svc->core->path);
    if (svc->pg == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory connecting to PostgreSQL");
    }
    if (PQstatus(svc->pg) != CONNECTION_OK) {
        keep_error(svc, NULL);
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot connect to PostgreSQL: %s",
                                svc->pg_message);
    }
    return 0;
}

int nimbus__pg_open_service(nimbus_service_t *svc, nimbus_error_t *err)
{
    if (connect_only(svc, err) != 0) {
        return -1;
    }
    for (int i = 0; i < NIMBUS__STMT_COUNT; i++) {
        struct nimbus__pg_st *p = calloc(1, sizeof *p);
        if (p == NULL) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        }
        p->svc = svc;
        p->id = i;
        p->nparams = stmt_sql[i] ? count_params(stmt_sql[i]) : 0;
        svc->stmts[i].pg = p;
    }
    return prepare_all(svc, err);
}

void nimbus__pg_close_service(nimbus_service_t *svc)
{
    for (int i = 0; i < NIMBUS__STMT_COUNT; i++) {
        struct nimbus__pg_st *p = svc->stmts[i].pg;
        if (p != NULL) {
            PQclear(p->res);
            free(p->buf);
            free(p);
            svc->stmts[i].pg = NULL;
        }
    }
    PQfinish(svc->pg);
    svc->pg = NULL;
}

int nimbus__pg_ensure(nimbus_service_t *svc, nimbus_error_t *err)
{
    if (PQstatus(svc->pg) == CONNECTION_OK && svc->pg_prepared) {
        return 0;
    }
    svc->pg_prepared = false;
    for (int i = 0; i < NIMBUS__STMT_COUNT; i++) {
        nimbus__pg_reset(&svc->stmts[i]);
    }
    if (PQstatus(svc->pg) != CONNECTION_OK) {
        PQreset(svc->pg);
        if (PQstatus(svc->pg) != CONNECTION_OK) {
            keep_error(svc, NULL);
            return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot reconnect to PostgreSQL: %s",
                                    svc->pg_message);
        }
    }
    return prepare_all(svc, err);
}

/* ---- statements ------------------------------------------------------------ */

static bool bind_room(struct nimbus__pg_st *p, int i, size_t len)
{
    if (i < 1 || i > PARAMS_MAX || i > p->nparams) {
        return false;
    }
    if (p->used + len + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 256;
        while (cap < p->used + len + 1) {
            cap *= 2;
        }
        char *grown = realloc(p->buf, cap);
        if (grown == NULL) {
            return false;
        }
        p->buf = grown;
        p->cap = cap;
    }
    return true;
}

void nimbus__pg_bind(nimbus__st_t *st, int i, const char *text, size_t len)
{
    struct nimbus__pg_st *p = st->pg;
    if (!bind_room(p, i, len)) {
        p->set[i > 0 && i <= PARAMS_MAX ? i - 1 : 0] = false; /* reads as NULL */
        return;
    }
    memcpy(p->buf + p->used, text, len);
    p->buf[p->used + len] = '\0';
    p->off[i - 1] = p->used;
    p->set[i - 1] = true;
    p->used += len + 1;
}

void nimbus__pg_bind_int64(nimbus__st_t *st, int i, int64_t v)
{
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRId64, v);
    nimbus__pg_bind(st, i, text, (size_t)n);
}

void nimbus__pg_bind_double(nimbus__st_t *st, int i, double v)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%.17g", v);
    nimbus__pg_bind(st, i, text, (size_t)n);
}

void nimbus__pg_bind_null(nimbus__st_t *st, int i)
{
    if (i >= 1 && i <= PARAMS_MAX) {
        st->pg->set[i - 1] = false;
    }
}

void nimbus__pg_reset(nimbus__st_t *st)
{
    struct nimbus__pg_st *p = st->pg;
    if (p != NULL && p->res != NULL) {
        PQclear(p->res);
        p->res = NULL;
    }
}

void nimbus__pg_clear_bindings(nimbus__st_t *st)
{
    struct nimbus__pg_st *p = st->pg;
    p->used = 0;
    memset(p->set, 0, sizeof p->set);
}

int nimbus__pg_step(nimbus__st_t *st)
{
    struct nimbus__pg_st *p = st->pg;
    nimbus_service_t *svc = p->svc;
    if (p->res != NULL) {
        return ++p->row < p->rows ? NIMBUS__STEP_ROW : NIMBUS__STEP_DONE;
    }
    if (!svc->pg_prepared) {
        snprintf(svc->pg_state, sizeof svc->pg_state, "08000");
        snprintf(svc->pg_message, sizeof svc->pg_message, "the connection was lost");
        return NIMBUS__PG_FAILED;
    }
    const char *simple = simple_sql(p->id);
    PGresult *res;
    if (simple != NULL) {
        res = PQexec(svc->pg, simple);
    } else {
        const char *values[PARAMS_MAX];
        for (int i = 0; i < p->nparams; i++) {
            values[i] = p->set[i] ? p->buf + p->off[i] : NULL;
        }
        char name[32];
        snprintf(name, sizeof name, "nimbus_%d", p->id);
        res = PQexecPrepared(svc->pg, name, p->nparams, values, NULL, NULL, 0);
    }
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK) {
        p->res = res;
        p->rows = PQntuples(res);
        p->row = 0;
        return p->rows > 0 ? NIMBUS__STEP_ROW : NIMBUS__STEP_DONE;
    }
    if (status == PGRES_COMMAND_OK) {
        p->changes = strtoll(PQcmdTuples(res), NULL, 10);
        /* COMMIT of a transaction that had failed answers "ROLLBACK". */
        bool rolled_back = p->id == NIMBUS__STMT_COMMIT && strcmp(PQcmdStatus(res), "COMMIT") != 0;
        PQclear(res);
        if (rolled_back) {
            snprintf(svc->pg_state, sizeof svc->pg_state, "40000");
            snprintf(svc->pg_message, sizeof svc->pg_message, "the transaction was rolled back");
            return NIMBUS__PG_FAILED;
        }
        return NIMBUS__STEP_DONE;
    }
    keep_error(svc, res);
    PQclear(res);
    if (PQstatus(svc->pg) != CONNECTION_OK) {
        svc->pg_prepared = false; /* reset at the next nimbus__stmt */
    }
    return NIMBUS__PG_FAILED;
}

const char *nimbus__pg_col_text(nimbus__st_t *st, int col)
{
    struct nimbus__pg_st *p = st->pg;
    if (p->res == NULL || p->row >= p->rows || PQgetisnull(p->res, p->row, col)) {
        return NULL;
    }
    return PQgetvalue(p->res, p->row, col);
}

bool nimbus__pg_col_null(nimbus__st_t *st, int col)
{
    struct nimbus__pg_st *p = st->pg;
    return p->res == NULL || p->row >= p->rows || PQgetisnull(p->res, p->row, col);
}

int64_t nimbus__pg_changes(nimbus__st_t *st)
{
    return st->pg->changes;
}

/* ---- schema ------------------------------------------------------------------ */

/* The first value of sql's first row as text into out ("" for none or
 * NULL); 0 or NIMBUS__PG_FAILED. */
static int query_text(nimbus_service_t *svc, const char *sql, char *out, size_t size)
{
    PGresult *res = PQexec(svc->pg, sql);
    if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
        keep_error(svc, res);
        PQclear(res);
        return NIMBUS__PG_FAILED;
    }
    snprintf(out, size, "%s",
             PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return 0;
}

static int read_meta(nimbus_core_t *core, nimbus_service_t *svc, nimbus_error_t *err)
{
    char text[2 * NIMBUS__CURSOR_KEY_SIZE + 8];
    if (query_text(svc, "SELECT value FROM meta WHERE key = 'seq'", text, sizeof text) != 0) {
        return nimbus__store_error(svc, NIMBUS__PG_FAILED, "reading the schema", err);
    }
    if (text[0] == '\0') {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                                "database is damaged: its meta table lacks seq");
    }
    atomic_store(&core->head_seq, strtoll(text, NULL, 10));
    if (query_text(svc, "SELECT data FROM meta WHERE key = 'cursor_key'", text, sizeof text) != 0) {
        return nimbus__store_error(svc, NIMBUS__PG_FAILED, "reading the schema", err);
    }
    /* bytea's hex output: \x then two digits a byte. */
    if (strlen(text) != 2 + 2 * NIMBUS__CURSOR_KEY_SIZE || text[0] != '\\' || text[1] != 'x') {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                                "database is damaged: its meta table lacks cursor_key");
    }
    if (!nimbus_hex_decode_lower(text + 2, 2 * NIMBUS__CURSOR_KEY_SIZE, core->cursor_key,
                                 NIMBUS__CURSOR_KEY_SIZE)) {
        return nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                                "database is damaged: its cursor_key is not hexadecimal");
    }
    return 0;
}

static int create_v1(nimbus_service_t *svc, nimbus_error_t *err)
{
    if (nimbus__pg_exec(svc, schema_v1) != 0) {
        return nimbus__store_error(svc, NIMBUS__PG_FAILED, "creating the schema", err);
    }
    unsigned char key[NIMBUS__CURSOR_KEY_SIZE];
    if (RAND_bytes(key, sizeof key) != 1) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "no random bytes for the cursor key");
    }
    char sql[160 + 2 * NIMBUS__CURSOR_KEY_SIZE];
    int n = snprintf(sql, sizeof sql, "INSERT INTO meta (key, data) VALUES ('cursor_key', '\\x");
    for (size_t i = 0; i < sizeof key; i++) {
        n += snprintf(sql + n, sizeof sql - (size_t)n, "%02x", key[i]);
    }
    snprintf(sql + n, sizeof sql - (size_t)n, "'::bytea)");
    if (nimbus__pg_exec(svc, sql) != 0) {
        return nimbus__store_error(svc, NIMBUS__PG_FAILED, "creating the schema", err);
    }
    return 0;
}

int nimbus__pg_migrate(nimbus_core_t *core, nimbus_error_t *err)
{
    /* A bare connection: the statements cannot be prepared before their
     * tables exist. */
    nimbus_service_t *svc = calloc(1, sizeof *svc);
    if (svc == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    svc->core = core;
    int ret = -1;
    if (connect_only(svc, err) != 0) {
        goto done;
    }
    if (nimbus__pg_exec(svc, session_sql) != 0) {
        nimbus__store_error(svc, NIMBUS__PG_FAILED, "configuring the session", err);
        goto done;
    }
    char text[64];
    /* Nodes started together on an empty database: the advisory lock lets
     * one create the schema and the others find it made. */
    if (nimbus__pg_exec(svc, "BEGIN") != 0 ||
        nimbus__pg_exec(svc, "SELECT pg_advisory_xact_lock(7266117040563302004)") != 0 ||
        query_text(svc, "SELECT to_regclass('meta') IS NOT NULL", text, sizeof text) != 0) {
        nimbus__store_error(svc, NIMBUS__PG_FAILED, "preparing the schema", err);
        goto done;
    }
    int version = 0;
    if (strcmp(text, "t") == 0) {
        if (query_text(svc, "SELECT value FROM meta WHERE key = 'schema_version'", text,
                       sizeof text) != 0) {
            nimbus__store_error(svc, NIMBUS__PG_FAILED, "reading the schema version", err);
            goto done;
        }
        version = atoi(text);
        if (version < 1) {
            nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                             "database holds a meta table without a schema version: not "
                             "Nimbus's");
            goto done;
        }
    }
    if (version > NIMBUS__SCHEMA_VERSION) {
        nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                         "database schema version %d is newer than this server's (%d)", version,
                         NIMBUS__SCHEMA_VERSION);
        goto done;
    }
    /* Later versions add steps here: if (version < 3) { ...; } */
    if (version < 1 && create_v1(svc, err) != 0) {
        goto done;
    }
    /* Version 2 (contract 1.1, GetObservationFeed): a station's rows by
     * seq, as on SQLite (store.c). */
    if (version < 2 &&
        (nimbus__pg_exec(svc, "CREATE INDEX observations_station_seq ON observations"
                              " (station_id, seq)") != 0 ||
         nimbus__pg_exec(svc, "UPDATE meta SET value = 2 WHERE key = 'schema_version'") != 0)) {
        nimbus__store_error(svc, NIMBUS__PG_FAILED, "indexing observations by station and seq",
                            err);
        goto done;
    }
    if (read_meta(core, svc, err) != 0) {
        goto done;
    }
    if (nimbus__pg_exec(svc, "COMMIT") != 0) {
        nimbus__store_error(svc, NIMBUS__PG_FAILED, "creating the schema", err);
        goto done;
    }
    ret = 0;
done:
    if (svc->pg != NULL && nimbus__pg_in_transaction(svc)) {
        nimbus__pg_exec(svc, "ROLLBACK");
    }
    nimbus__pg_close_service(svc);
    free(svc);
    return ret;
}
