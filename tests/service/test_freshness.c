/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/freshness.c: a read's stamp stays fresh exactly until a
 * committed write changes what its answer depends on, and goes stale before
 * that write is answered (every write here is synchronous, so "after the
 * call returned" is "after the client was answered"). A write that changes
 * nothing (only duplicates, or refused) leaves station stamps fresh; writes
 * never get a stamp.
 *
 * The station ids are fixed; "a" and "b" land in different slots of the
 * core's table (checked by the first test, so a change of hash that put them
 * together would fail loudly rather than make the isolation checks vacuous).
 */
#include <string.h>

#include "test_util.h"

static const nimbus_credentials_t *T = &nimbus_test_trusted;

static nimbus_stamp_t stamp_of(nimbus_core_t *core, nimbus_op_t op, nimbus_request_t req)
{
    nimbus_stamp_t s = {0, 0};
    CU_ASSERT_TRUE(nimbus_core_stamp(core, op, &req, &s));
    CU_ASSERT_NOT_EQUAL(s.gen, 0);
    return s;
}

static nimbus_stamp_t weather_stamp(nimbus_core_t *core, const char *id)
{
    return stamp_of(core, NIMBUS_OP_GetWeather, (nimbus_request_t){.get_weather = {id}});
}

static void record(nimbus_service_t *svc, const char *id, int64_t t, int64_t accepted)
{
    nimbus_observation_t o = nimbus_test_obs(t, 12.5);
    nimbus_record_observations_response_t res;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, id, &o, 1, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, accepted);
}

static void test_observations_stale_their_station_only(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_test_create(svc, "b", "Berlin", "DE");
    nimbus_stamp_t a = weather_stamp(core, "a");
    nimbus_stamp_t b = weather_stamp(core, "b");
    CU_ASSERT_NOT_EQUAL(a.slot, b.slot);
    nimbus_stamp_t obs_a =
        stamp_of(core, NIMBUS_OP_GetObservations,
                 (nimbus_request_t){.get_observations = {"a", false, 0, false, 0, false, 0, NULL}});
    nimbus_stamp_t station_a =
        stamp_of(core, NIMBUS_OP_GetStation, (nimbus_request_t){.get_station = {"a"}});
    nimbus_stamp_t list = stamp_of(core, NIMBUS_OP_ListStations, (nimbus_request_t){0});
    nimbus_stamp_t city = stamp_of(core, NIMBUS_OP_GetCityWeather,
                                   (nimbus_request_t){.get_city_weather = {"Berlin", NULL}});
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &a));

    record(svc, "b", 1714564800, 1);
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &a));
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &obs_a));
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &station_a));
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &list)); /* no station changed */
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &b));
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &city)); /* any write */

    record(svc, "a", 1714564800, 1);
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &a));
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &obs_a));
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &station_a));
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &list));

    /* A new stamp is fresh again, and a duplicate changes nothing. */
    a = weather_stamp(core, "a");
    record(svc, "a", 1714564800, 0);
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &a));
    nimbus_test_close(core, svc);
}

static void test_station_writes_stale_the_set(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_stamp_t list = stamp_of(core, NIMBUS_OP_ListStations, (nimbus_request_t){0});
    nimbus_stamp_t a = weather_stamp(core, "a");
    nimbus_test_create(svc, "b", "Paris", "FR");
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &list));
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &a));

    list = stamp_of(core, NIMBUS_OP_ListStations, (nimbus_request_t){0});
    nimbus_station_t s = nimbus_test_station("a", "Hamburg", "DE");
    nimbus_update_station_response_t ures;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_service_update_station(
                        svc, T, &(nimbus_update_station_request_t){NULL, s}, &ures, &err),
                    0);
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &list));
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &a));

    list = stamp_of(core, NIMBUS_OP_ListStations, (nimbus_request_t){0});
    a = weather_stamp(core, "a");
    nimbus_delete_station_response_t dres;
    CU_ASSERT_EQUAL(
        nimbus_service_delete_station(svc, T, &(nimbus_delete_station_request_t){"a"}, &dres, &err),
        0);
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &list));
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &a));
    nimbus_test_close(core, svc);
}

/* A write refused by what is stored changes nothing it could stale. */
static void test_refused_write_changes_nothing(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_stamp_t a = weather_stamp(core, "a");
    nimbus_stamp_t list = stamp_of(core, NIMBUS_OP_ListStations, (nimbus_request_t){0});
    nimbus_station_t s = nimbus_test_station("a", "Berlin", "DE");
    nimbus_create_station_response_t cres;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(
        nimbus_service_create_station(svc, T, &(nimbus_create_station_request_t){s}, &cres, &err),
        -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_ALREADY_EXISTS);
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &a));
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(core, &list));
    nimbus_test_close(core, svc);
}

static void test_writes_have_no_stamp(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    for (size_t i = 0; i < NIMBUS_OP_COUNT; i++) {
        nimbus_stamp_t s = {7, 7};
        nimbus_request_t req;
        memset(&req, 0, sizeof req);
        req.get_weather.station_id = "a"; /* every read's id is its first member */
        bool kept = nimbus_core_stamp(core, (nimbus_op_t)i, &req, &s);
        CU_ASSERT_EQUAL(kept, nimbus_op_table[i].role == NIMBUS_ROLE_READ);
        if (!kept) {
            CU_ASSERT_EQUAL(s.gen, 7); /* left alone */
        }
    }
    nimbus_stamp_t none = {0, 0};
    CU_ASSERT_FALSE(nimbus_core_stamp_fresh(core, &none));
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"observations stale their station only", test_observations_stale_their_station_only},
        {"station writes stale the set", test_station_writes_stale_the_set},
        {"refused write changes nothing", test_refused_write_changes_nothing},
        {"writes have no stamp", test_writes_have_no_stamp},
        {NULL, NULL},
    };
    return nimbus_test_run("freshness", cases);
}
