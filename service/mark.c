/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Named yes/no marks stored in the database's meta table under the key
 * "mark:<name>". They describe the database rather than the process (the
 * demo feeder uses "demo" to recognise a database it seeded, across
 * restarts), so they live in the file and survive copies and backups.
 */
#include <stdio.h>
#include <string.h>

#include "service_internal.h"

#define MARK_NAME_MAX 32

static int mark_key(const char *name, char key[MARK_NAME_MAX + 6], nimbus_error_t *err)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > MARK_NAME_MAX ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != len) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "mark name must be 1-%d characters of a-z 0-9 _", MARK_NAME_MAX);
    }
    snprintf(key, MARK_NAME_MAX + 6, "mark:%s", name);
    return 0;
}

/* Runs sql with the key bound as ?1 (and value as ?2 when sql has it) on a
 * connection of its own; *found and *out receive the first row's column 0. */
static int mark_exec(nimbus_core_t *core, const char *sql, const char *key, int value, bool *found,
                     int *out, nimbus_error_t *err)
{
    sqlite3 *db = NULL;
    if (nimbus__store_connect(core->path, &db, err) != 0) {
        return -1;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    int ret = -1;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 2) {
            sqlite3_bind_int(st, 2, value);
        }
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
            if (found) {
                *found = rc == SQLITE_ROW;
            }
            if (out && rc == SQLITE_ROW) {
                *out = sqlite3_column_int(st, 0);
            }
            ret = 0;
        }
    }
    if (ret != 0) {
        nimbus__store_error(db, rc, "reading or writing a database mark", err);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ret;
}

int nimbus_core_get_mark(nimbus_core_t *core, const char *name, bool *value, nimbus_error_t *err)
{
    char key[MARK_NAME_MAX + 6];
    *value = false;
    if (mark_key(name, key, err) != 0) {
        return -1;
    }
    bool found = false;
    int stored = 0;
    if (mark_exec(core, "SELECT value FROM meta WHERE key = ?1", key, 0, &found, &stored, err) !=
        0) {
        return -1;
    }
    *value = found && stored != 0;
    return 0;
}

int nimbus_core_set_mark(nimbus_core_t *core, const char *name, bool value, nimbus_error_t *err)
{
    char key[MARK_NAME_MAX + 6];
    if (mark_key(name, key, err) != 0) {
        return -1;
    }
    return mark_exec(core, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)", key,
                     value ? 1 : 0, NULL, NULL, err);
}
