/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/retention.c: with a retention set, observations older
 * than it go (in steps of at most NIMBUS__RETENTION_BATCH, so more than one
 * step here), recent ones stay, the head seq never moves back and the next
 * write gets the next seq, and kept answers of the touched stations go
 * stale. Without a retention nothing is deleted.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "service_internal.h"
#include "test_util.h"

#define DAY 86400

static int64_t count(nimbus_service_t *svc, const char *id)
{
    nimbus_get_observations_request_t req = {id, false, 0, false, 0, true, 1000, NULL};
    int64_t n = 0;
    char cursor[NIMBUS_CURSOR_SIZE] = "";
    for (;;) {
        req.cursor = *cursor ? cursor : NULL;
        nimbus_get_observations_response_t res;
        nimbus_error_t err;
        memset(&res, 0, sizeof res);
        CU_ASSERT_EQUAL_FATAL(
            nimbus_service_get_observations(svc, &nimbus_test_trusted, &req, &res, &err), 0);
        n += (int64_t)res.count;
        snprintf(cursor, sizeof cursor, "%s", res.next_cursor);
        nimbus_get_observations_response_cleanup(&res);
        if (!*cursor) {
            return n;
        }
    }
}

static void record_at(nimbus_service_t *svc, const char *id, int64_t from, int n)
{
    static nimbus_observation_t obs[1000];
    for (int done = 0; done < n;) {
        int k = n - done > 1000 ? 1000 : n - done;
        for (int i = 0; i < k; i++) {
            obs[i] = nimbus_test_obs(from + done + i, 5);
        }
        nimbus_record_observations_response_t res;
        nimbus_error_t err;
        CU_ASSERT_EQUAL_FATAL(nimbus_test_record(svc, id, obs, (size_t)k, &res, &err), 0);
        done += k;
    }
}

static void test_old_observations_go(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_test_create(svc, "b", "Paris", "FR");
    int64_t now = (int64_t)time(NULL);
    record_at(svc, "a", now - 10 * DAY, 1800); /* old */
    record_at(svc, "b", now - 9 * DAY, 700);   /* old */
    record_at(svc, "a", now - 3600, 50);       /* recent */
    record_at(svc, "b", now - 60, 20);         /* recent */
    int64_t head = nimbus_core_head_seq(core);
    CU_ASSERT_EQUAL(head, 2570);
    nimbus_stamp_t stamp;
    CU_ASSERT_TRUE(nimbus_core_stamp(core, NIMBUS_OP_GetObservations,
                                     &(nimbus_request_t){.get_observations = {"a"}}, &stamp));

    nimbus_core_set_retention(core, 5 * DAY);
    for (int i = 0; i < 200 && nimbus_core_retention_removed(core) < 2500; i++) {
        usleep(50000);
    }
    CU_ASSERT_EQUAL(nimbus_core_retention_removed(core), 2500); /* three steps at least */
    CU_ASSERT_EQUAL(count(svc, "a"), 50);
    CU_ASSERT_EQUAL(count(svc, "b"), 20);
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &stamp));
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), head); /* never back */
    nimbus_observation_t o = nimbus_test_obs(now, 7);
    nimbus_record_observations_response_t res;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", &o, 1, &res, &err), 0);
    CU_ASSERT_EQUAL(res.last_seq, head + 1);
    nimbus_test_close(core, svc);
}

static void test_nothing_goes_without_retention(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    record_at(svc, "a", 1000000000, 30); /* 2001 */
    usleep(200000);
    CU_ASSERT_EQUAL(count(svc, "a"), 30);
    CU_ASSERT_EQUAL(nimbus_core_retention_removed(core), 0);
    /* Switched off explicitly: still nothing goes. */
    nimbus_core_set_retention(core, 0);
    usleep(200000);
    CU_ASSERT_EQUAL(count(svc, "a"), 30);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"old observations go", test_old_observations_go},
        {"nothing goes without retention", test_nothing_goes_without_retention},
        {NULL, NULL},
    };
    return nimbus_test_run("retention", cases);
}
