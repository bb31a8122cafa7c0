/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Named yes/no marks stored in the database's meta table under the key
 * "mark:<name>". They describe the database rather than the process (the
 * demo feeder uses "demo" to recognise a database it seeded, across
 * restarts), so they live in the database and survive copies, backups and
 * `nimbus migrate`.
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

/* Runs statement id with the key bound as ?1 (and value as ?2 for SET) on
 * a connection of its own; *found and *out receive the first row's
 * column 0. */
static int mark_exec(nimbus_core_t *core, nimbus__stmt_id_t id, const char *key, int value,
                     bool *found, int *out, nimbus_error_t *err)
{
    nimbus_service_t *svc = nimbus_service_new(core, err);
    if (svc == NULL) {
        return -1;
    }
    nimbus__st_t *st = nimbus__stmt(svc, id, err);
    int ret = -1;
    if (st != NULL) {
        nimbus__bind_text(st, 1, key);
        if (id == NIMBUS__STMT_MARK_SET) {
            nimbus__bind_int64(st, 2, value);
        }
        int rc = nimbus__step(st);
        if (rc == NIMBUS__STEP_ROW || rc == NIMBUS__STEP_DONE) {
            if (found) {
                *found = rc == NIMBUS__STEP_ROW;
            }
            if (out && rc == NIMBUS__STEP_ROW) {
                *out = (int)nimbus__col_int64(st, 0);
            }
            ret = 0;
        } else {
            nimbus__store_error(svc, rc, "reading or writing a database mark", err);
        }
        nimbus__reset(st);
    }
    nimbus_service_free(svc);
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
    if (mark_exec(core, NIMBUS__STMT_MARK_GET, key, 0, &found, &stored, err) != 0) {
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
    return mark_exec(core, NIMBUS__STMT_MARK_SET, key, value ? 1 : 0, NULL, NULL, err);
}
