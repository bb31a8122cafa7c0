/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/subscribe.c: the rules of a stream subscription, each
 * at its limit and one past it, in the order a client meets them.
 */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

static void expect_refused(int rc, const nimbus_error_t *err, nimbus_code_t code,
                           const char *message)
{
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(err->code, code);
    if (message && strcmp(err->message, message) != 0) {
        fprintf(stderr, "message '%s', expected '%s'\n", err->message, message);
        CU_FAIL("unexpected message");
    }
}

static void test_from_seq_range(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    const nimbus_credentials_t *who = &nimbus_test_trusted;
    int64_t from = 0;
    /* Absent: live from the head. 0..head: resume. */
    CU_ASSERT_EQUAL(nimbus_service_subscribe_check(svc, who, NULL, 0, NULL, 5, &err), 0);
    CU_ASSERT_EQUAL(nimbus_service_subscribe_check(svc, who, NULL, 0, &from, 5, &err), 0);
    from = 5;
    CU_ASSERT_EQUAL(nimbus_service_subscribe_check(svc, who, NULL, 0, &from, 5, &err), 0);
    from = 6;
    expect_refused(nimbus_service_subscribe_check(svc, who, NULL, 0, &from, 5, &err), &err,
                   NIMBUS_INVALID_ARGUMENT, "fromSeq 6 is greater than the newest seq 5");
    from = -1;
    expect_refused(nimbus_service_subscribe_check(svc, who, NULL, 0, &from, 5, &err), &err,
                   NIMBUS_INVALID_ARGUMENT, "fromSeq must be an integer >= 0");
    nimbus_test_close(core, svc);
}

static void test_station_filter(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    const nimbus_credentials_t *who = &nimbus_test_trusted;
    nimbus_test_create(svc, "here", "Berlin", "DE");
    const char *ok[] = {"here"};
    CU_ASSERT_EQUAL(nimbus_service_subscribe_check(svc, who, ok, 1, NULL, 0, &err), 0);
    const char *missing[] = {"here", "gone"};
    expect_refused(nimbus_service_subscribe_check(svc, who, missing, 2, NULL, 0, &err), &err,
                   NIMBUS_NOT_FOUND, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "gone"));
    const char *bad[] = {"no spaces"};
    expect_refused(nimbus_service_subscribe_check(svc, who, bad, 1, NULL, 0, &err), &err,
                   NIMBUS_INVALID_ARGUMENT,
                   "stations[0] must be 1-32 characters of A-Z, a-z, 0-9, '_' and '-'");
    /* An empty list is a mistake, not "every station" (that is NULL). */
    expect_refused(nimbus_service_subscribe_check(svc, who, ok, 0, NULL, 0, &err), &err,
                   NIMBUS_INVALID_ARGUMENT, NULL);
    static const char *many[NIMBUS_SUBSCRIBE_STATIONS_MAX + 1];
    for (size_t i = 0; i <= NIMBUS_SUBSCRIBE_STATIONS_MAX; i++) {
        many[i] = "here";
    }
    CU_ASSERT_EQUAL(nimbus_service_subscribe_check(svc, who, many, NIMBUS_SUBSCRIBE_STATIONS_MAX,
                                                   NULL, 0, &err),
                    0);
    expect_refused(nimbus_service_subscribe_check(svc, who, many, NIMBUS_SUBSCRIBE_STATIONS_MAX + 1,
                                                  NULL, 0, &err),
                   &err, NIMBUS_INVALID_ARGUMENT,
                   "stations must be an array of 1-1000 station ids (omit it for every station)");
    nimbus_test_close(core, svc);
}

static void test_reader_needed(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "viewer:v13wer:read", &err), 0);
    nimbus_credentials_t nobody = {NIMBUS_CRED_NONE, NULL, NULL};
    nimbus_credentials_t viewer = {NIMBUS_CRED_SECRET, NULL, "v13wer"};
    int64_t from = 99; /* authentication is checked before anything else */
    expect_refused(nimbus_service_subscribe_check(svc, &nobody, NULL, 0, &from, 0, &err), &err,
                   NIMBUS_UNAUTHENTICATED, NULL);
    CU_ASSERT_EQUAL(nimbus_service_subscribe_check(svc, &viewer, NULL, 0, NULL, 0, &err), 0);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"fromSeq in 0..head", test_from_seq_range},
        {"station filter", test_station_filter},
        {"a reader's key is needed", test_reader_needed},
        {NULL, NULL},
    };
    return nimbus_test_run("subscribe", cases);
}
