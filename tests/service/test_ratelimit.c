/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/ratelimit.c through nimbus_core_admit: a bucket holds
 * --burst calls (at the limit all pass, one past is RESOURCE_EXHAUSTED
 * with a retry time), refills at --rate, belongs to one key (or one client
 * address on a server without keys), and the table of buckets stays
 * bounded under a flood of distinct addresses without losing track of a
 * busy one. Trusted callers (the server itself) are never limited.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "test_util.h"

static nimbus_credentials_t key(const char *secret)
{
    return (nimbus_credentials_t){NIMBUS_CRED_SECRET, NULL, secret};
}

static void test_burst_then_refused_then_refilled(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "a:sa:read", &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "b:sb:read", &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_set_rate(core, 10, 5, &err), 0);
    nimbus_credentials_t a = key("sa"), b = key("sb");
    for (int i = 0; i < 5; i++) { /* the burst: all five pass */
        CU_ASSERT_EQUAL(nimbus_core_admit(core, &a, "127.0.0.1", NIMBUS_ROLE_READ, &err), 0);
    }
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &a, "127.0.0.1", NIMBUS_ROLE_READ, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_RESOURCE_EXHAUSTED);
    CU_ASSERT_EQUAL(err.retry_after_s, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "rate limit"));
    /* Another key has its own bucket; the address does not matter. */
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &b, "127.0.0.1", NIMBUS_ROLE_READ, &err), 0);
    /* A wrong key is refused as such, not counted. */
    nimbus_credentials_t bad = key("nope");
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &bad, "127.0.0.1", NIMBUS_ROLE_READ, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAUTHENTICATED);
    CU_ASSERT_EQUAL(err.retry_after_s, 0);
    /* 10 a second: after 0.25 s two more pass, the third does not. */
    usleep(250000);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &a, NULL, NIMBUS_ROLE_READ, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &a, NULL, NIMBUS_ROLE_READ, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &a, NULL, NIMBUS_ROLE_READ, &err), -1);
    /* The server's own calls are never limited. */
    for (int i = 0; i < 100; i++) {
        CU_ASSERT_EQUAL(
            nimbus_core_admit(core, &nimbus_test_trusted, NULL, NIMBUS_ROLE_ADMIN, &err), 0);
    }
    nimbus_test_close(core, svc);
}

static void test_open_server_limits_by_address(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_set_rate(core, 1, 2, &err), 0);
    nimbus_credentials_t none = {NIMBUS_CRED_NONE, NULL, NULL};
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &none, "10.0.0.1", NIMBUS_ROLE_ADMIN, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &none, "10.0.0.1", NIMBUS_ROLE_ADMIN, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &none, "10.0.0.1", NIMBUS_ROLE_ADMIN, &err), -1);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, &none, "10.0.0.2", NIMBUS_ROLE_ADMIN, &err), 0);
    /* No limit: every call passes. */
    CU_ASSERT_EQUAL(nimbus_core_set_rate(core, 0, 0, &err), 0);
    for (int i = 0; i < 1000; i++) {
        CU_ASSERT_EQUAL(nimbus_core_admit(core, &none, "10.0.0.1", NIMBUS_ROLE_ADMIN, &err), 0);
    }
    nimbus_test_close(core, svc);
}

/* 100,000 distinct addresses, one call each, while one busy address keeps
 * calling: the busy one's bucket is never forgotten (it is never the
 * oldest nor refilled), so it stays limited. */
static void test_flood_of_addresses(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_set_rate(core, 0.001, 3, &err), 0);
    nimbus_credentials_t none = {NIMBUS_CRED_NONE, NULL, NULL};
    int busy_refused = 0;
    for (int i = 0; i < 100000; i++) {
        char addr[32];
        snprintf(addr, sizeof addr, "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        CU_ASSERT_EQUAL(nimbus_core_admit(core, &none, addr, NIMBUS_ROLE_READ, &err), 0);
        if (i % 10 == 0) {
            busy_refused +=
                nimbus_core_admit(core, &none, "192.0.2.1", NIMBUS_ROLE_READ, &err) != 0;
        }
    }
    CU_ASSERT_EQUAL(busy_refused, 10000 - 3);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"burst, then refused, then refilled", test_burst_then_refused_then_refilled},
        {"open server limits by address", test_open_server_limits_by_address},
        {"flood of addresses", test_flood_of_addresses},
        {NULL, NULL},
    };
    return nimbus_test_run("ratelimit", cases);
}
