/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/mark.c: database marks read false until set, keep their
 * value across closing and reopening the file, and refuse bad names.
 */
#include <string.h>

#include "test_util.h"

static void test_mark_unset_reads_false_and_set_persists(void)
{
    const char *path = nimbus_test_db_path();
    nimbus_error_t err;
    nimbus_core_t *core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    bool value = true;
    CU_ASSERT_EQUAL(nimbus_core_get_mark(core, "demo", &value, &err), 0);
    CU_ASSERT_FALSE(value);
    CU_ASSERT_EQUAL(nimbus_core_set_mark(core, "demo", true, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_get_mark(core, "demo", &value, &err), 0);
    CU_ASSERT_TRUE(value);
    CU_ASSERT_EQUAL(nimbus_core_get_mark(core, "other", &value, &err), 0);
    CU_ASSERT_FALSE(value);
    nimbus_core_free(core);

    core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    CU_ASSERT_EQUAL(nimbus_core_get_mark(core, "demo", &value, &err), 0);
    CU_ASSERT_TRUE(value);
    CU_ASSERT_EQUAL(nimbus_core_set_mark(core, "demo", false, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_get_mark(core, "demo", &value, &err), 0);
    CU_ASSERT_FALSE(value);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 0); /* marks are not observations */
    nimbus_core_free(core);
}

static void test_mark_names_are_checked(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    bool value;
    const char *bad[] = {"", "Demo", "seq'--", "a b", "abcdefghijklmnopqrstuvwxyz0123456", NULL};
    for (int i = 0; bad[i]; i++) {
        CU_ASSERT_EQUAL(nimbus_core_get_mark(core, bad[i], &value, &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
        CU_ASSERT_EQUAL(nimbus_core_set_mark(core, bad[i], true, &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    }
    /* 32 characters is the longest name. */
    CU_ASSERT_EQUAL(nimbus_core_set_mark(core, "abcdefghijklmnopqrstuvwxyz012345", true, &err), 0);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"unset reads false; set persists across reopen",
         test_mark_unset_reads_false_and_set_persists},
        {"names are checked", test_mark_names_are_checked},
        {NULL, NULL},
    };
    return nimbus_test_run("mark", cases);
}
