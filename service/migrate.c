/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `nimbus migrate --from PATH --to URI`: copies a SQLite database into an
 * empty PostgreSQL one, keeping every seq, the seq counter (so the next
 * write continues after the source's newest seq, even when rows holding the
 * newest seqs were deleted), the cursor key (so cursors handed out by the
 * SQLite server stay valid) and the marks. Everything is copied in one
 * PostgreSQL transaction, with COPY: a copy either lands whole or not at
 * all, and a target that already holds data is refused rather than merged.
 *
 * The source is opened read-only and never changed; stop the server that
 * uses it first (a running one could commit after the copy began: SQLite's
 * snapshot keeps the copy consistent, but those later writes would not be
 * in it).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

/* A growing text buffer of COPY rows, flushed to the connection when full. */
typedef struct copy_buf {
    PGconn *pg;
    char *text;
    size_t len, cap;
    bool failed;
} copy_buf_t;

static void put(copy_buf_t *b, const char *s, size_t n)
{
    if (b->failed) {
        return;
    }
    if (b->len + n > b->cap) {
        if (b->len > 0 && PQputCopyData(b->pg, b->text, (int)b->len) != 1) {
            b->failed = true;
            return;
        }
        b->len = 0;
        if (n > b->cap) {
            char *grown = realloc(b->text, n + 65536);
            if (grown == NULL) {
                b->failed = true;
                return;
            }
            b->text = grown;
            b->cap = n + 65536;
        }
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
}

/* One field: COPY's text format (backslash escapes, \N for NULL). */
static void field(copy_buf_t *b, sqlite3_stmt *st, int col, bool last)
{
    char num[40];
    switch (sqlite3_column_type(st, col)) {
    case SQLITE_NULL:
        put(b, "\\N", 2);
        break;
    case SQLITE_INTEGER:
        put(b, num, (size_t)snprintf(num, sizeof num, "%lld", sqlite3_column_int64(st, col)));
        break;
    case SQLITE_FLOAT:
        put(b, num, (size_t)snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, col)));
        break;
    default: {
        const char *s = (const char *)sqlite3_column_text(st, col);
        for (; s != NULL && *s != '\0'; s++) {
            const char *esc = *s == '\\'   ? "\\\\"
                              : *s == '\t' ? "\\t"
                              : *s == '\n' ? "\\n"
                              : *s == '\r' ? "\\r"
                                           : NULL;
            if (esc != NULL) {
                put(b, esc, 2);
            } else {
                put(b, s, 1);
            }
        }
    }
    }
    put(b, last ? "\n" : "\t", 1);
}

static int sqlite_fail(sqlite3 *db, const char *doing, nimbus_error_t *err)
{
    return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "%s: %s", doing, sqlite3_errmsg(db));
}

static int pg_fail(PGconn *pg, const char *doing, nimbus_error_t *err)
{
    char msg[200];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
    msg[strcspn(msg, "\n")] = '\0';
    return nimbus_error_set(err, NIMBUS_UNAVAILABLE, "%s: %s", doing, msg);
}

static int exec_ok(PGconn *pg, const char *sql, const char *doing, nimbus_error_t *err)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType s = PQresultStatus(r);
    PQclear(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : pg_fail(pg, doing, err);
}

/* Copies every row of `select` on db into `copy` on pg; *rows counts them. */
static int copy_table(sqlite3 *db, PGconn *pg, const char *select, const char *copy, int64_t *rows,
                      nimbus_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, select, -1, &st, NULL) != SQLITE_OK) {
        return sqlite_fail(db, "reading the source", err);
    }
    PGresult *r = PQexec(pg, copy);
    bool in_copy = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!in_copy) {
        sqlite3_finalize(st);
        return pg_fail(pg, "starting the copy", err);
    }
    copy_buf_t b = {.pg = pg};
    int cols = sqlite3_column_count(st), rc;
    *rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !b.failed) {
        for (int c = 0; c < cols; c++) {
            field(&b, st, c, c == cols - 1);
        }
        (*rows)++;
    }
    sqlite3_finalize(st);
    if (!b.failed && b.len > 0 && PQputCopyData(pg, b.text, (int)b.len) != 1) {
        b.failed = true;
    }
    free(b.text);
    bool read_ok = rc == SQLITE_DONE;
    if (PQputCopyEnd(pg, read_ok && !b.failed ? NULL : "source read failed") != 1) {
        return pg_fail(pg, "ending the copy", err);
    }
    r = PQgetResult(pg);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    while ((r = PQgetResult(pg)) != NULL) {
        PQclear(r);
    }
    if (!read_ok) {
        return sqlite_fail(db, "reading the source", err);
    }
    if (!ok || b.failed) {
        return pg_fail(pg, "copying", err);
    }
    return 0;
}

/* The meta rows (seq, cursor_key, marks) as one UPDATE/INSERT script. */
static int copy_meta(sqlite3 *db, PGconn *pg, int64_t *seq, nimbus_error_t *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &st, NULL) != SQLITE_OK) {
        return sqlite_fail(db, "reading the source's meta table", err);
    }
    int rc, ret = 0;
    bool have_seq = false, have_key = false;
    while (ret == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        char sql[256];
        if (key == NULL) {
            continue;
        }
        if (strcmp(key, "seq") == 0) {
            *seq = sqlite3_column_int64(st, 1);
            have_seq = true;
            snprintf(sql, sizeof sql, "UPDATE meta SET value = %lld WHERE key = 'seq'",
                     (long long)*seq);
        } else if (strcmp(key, "cursor_key") == 0 &&
                   sqlite3_column_bytes(st, 1) == NIMBUS__CURSOR_KEY_SIZE) {
            const unsigned char *k = sqlite3_column_blob(st, 1);
            int n = snprintf(sql, sizeof sql, "UPDATE meta SET data = '\\x");
            for (int i = 0; i < NIMBUS__CURSOR_KEY_SIZE; i++) {
                n += snprintf(sql + n, sizeof sql - (size_t)n, "%02x", k[i]);
            }
            snprintf(sql + n, sizeof sql - (size_t)n, "'::bytea WHERE key = 'cursor_key'");
            have_key = true;
        } else if (strncmp(key, "mark:", 5) == 0 &&
                   strspn(key + 5, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(key + 5)) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO meta (key, value) VALUES ('%s', %lld)"
                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     key, (long long)sqlite3_column_int64(st, 1));
        } else {
            continue;
        }
        ret = exec_ok(pg, sql, "copying the meta table", err);
    }
    sqlite3_finalize(st);
    if (ret == 0 && (!have_seq || !have_key)) {
        ret = nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                               "the source is damaged: its meta table lacks seq or cursor_key");
    }
    return ret;
}

static int64_t count_rows(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    int64_t n = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                    ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                    : -1;
    PQclear(r);
    return n;
}

int nimbus_store_migrate(const char *from, const char *to, nimbus_migrate_report_t *report,
                         nimbus_error_t *err)
{
    memset(report, 0, sizeof *report);
    if (nimbus__is_pg_uri(from) || !nimbus__is_pg_uri(to)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "migrate copies a SQLite file (--from PATH) into PostgreSQL "
                                "(--to postgresql://...)");
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(from, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        nimbus_error_set(err, NIMBUS_UNAVAILABLE, "cannot open %s: %s", from,
                         db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, NIMBUS__BUSY_TIMEOUT_MS);
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    /* Version 2 only added an index (observations_station_seq): the rows
     * of a version 1 file copy the same way. */
    if (version < 1 || version > NIMBUS__SCHEMA_VERSION) {
        nimbus_error_set(err, NIMBUS_UNAVAILABLE,
                         "%s is not a Nimbus database of schema version 1 to %d (found %d)", from,
                         NIMBUS__SCHEMA_VERSION, version);
        sqlite3_close(db);
        return -1;
    }
    /* The target's schema, made the way a node makes it. */
    nimbus_core_t *core = nimbus_core_open(to, err);
    nimbus_service_t *svc = core ? nimbus_service_new(core, err) : NULL;
    int ret = -1;
    if (svc == NULL) {
        goto done;
    }
    PGconn *pg = svc->pg;
    /* One snapshot of the source for every table (a deferred transaction's
     * read lock), and one transaction on the target. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite_fail(db, "reading the source", err);
        goto done;
    }
    if (exec_ok(pg, "BEGIN", "starting the copy", err) != 0 ||
        exec_ok(pg, "SELECT value FROM meta WHERE key = 'seq' FOR UPDATE", "locking the target",
                err) != 0) {
        goto done;
    }
    if (count_rows(pg, "SELECT count(*) FROM stations") != 0 ||
        count_rows(pg, "SELECT count(*) FROM observations") != 0 ||
        count_rows(pg, "SELECT value FROM meta WHERE key = 'seq'") != 0) {
        nimbus_error_set(err, NIMBUS_ALREADY_EXISTS,
                         "the target database already holds Nimbus data; migrate copies into "
                         "an empty one only");
        goto done;
    }
    if (copy_table(db, pg,
                   "SELECT id, name, city, country, latitude, longitude, elevation FROM stations",
                   "COPY stations (id, name, city, country, latitude, longitude, elevation)"
                   " FROM STDIN",
                   &report->stations, err) != 0 ||
        copy_table(db, pg,
                   "SELECT station_id, observed_at, temperature, humidity, pressure, wind_speed,"
                   " wind_direction, precipitation, seq FROM observations ORDER BY seq",
                   "COPY observations (station_id, observed_at, temperature, humidity, pressure,"
                   " wind_speed, wind_direction, precipitation, seq) FROM STDIN",
                   &report->observations, err) != 0 ||
        copy_meta(db, pg, &report->seq, err) != 0) {
        goto done;
    }
    if (exec_ok(pg, "COMMIT", "committing the copy", err) != 0) {
        goto done;
    }
    ret = 0;
done:
    if (svc != NULL && nimbus__pg_in_transaction(svc)) {
        nimbus__pg_exec(svc, "ROLLBACK");
    }
    nimbus_service_free(svc);
    nimbus_core_free(core);
    sqlite3_close(db);
    return ret;
}
