/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/cursor.c: cursors round-trip, and garbage, edits,
 * truncation, the wrong kind, another filter set or another database's
 * cursor all give INVALID_ARGUMENT "cursor is invalid" (contract: a cursor
 * is opaque; docs/data-rules.md, "Cursors").
 */
#include <string.h>

#include "../../service/service_internal.h"
#include "test_util.h"

static const nimbus_credentials_t *T = &nimbus_test_trusted;

static void expect_invalid(nimbus_core_t *core, const char *text, nimbus__cursor_kind_t kind,
                           const char *scope)
{
    nimbus__cursor_t c;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus__cursor_decode(core, text, kind, scope, &c, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_STRING_EQUAL(err.message, "cursor is invalid");
}

static void test_round_trip(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    char text[NIMBUS_CURSOR_SIZE];
    nimbus__cursor_t in = {.kind = NIMBUS__CURSOR_STATIONS}, out;
    memset(in.text_key, 'z', NIMBUS_STATION_ID_MAX);
    CU_ASSERT_EQUAL(nimbus__cursor_encode(core, &in, "scope", text, &err), 0);
    CU_ASSERT_TRUE(strlen(text) < NIMBUS_CURSOR_SIZE);
    CU_ASSERT_EQUAL(
        strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
        strlen(text));
    CU_ASSERT_EQUAL(nimbus__cursor_decode(core, text, NIMBUS__CURSOR_STATIONS, "scope", &out, &err),
                    0);
    CU_ASSERT_STRING_EQUAL(out.text_key, in.text_key);

    int64_t keys[] = {0, -1, INT64_C(-62135596800), INT64_C(253402300799), INT64_MIN};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        nimbus__cursor_t o = {.kind = NIMBUS__CURSOR_OBSERVATIONS, .int_key = keys[i]};
        CU_ASSERT_EQUAL(nimbus__cursor_encode(core, &o, "s", text, &err), 0);
        CU_ASSERT_EQUAL(
            nimbus__cursor_decode(core, text, NIMBUS__CURSOR_OBSERVATIONS, "s", &out, &err), 0);
        CU_ASSERT_EQUAL(out.int_key, keys[i]);
        /* Kind and scope are bound. */
        expect_invalid(core, text, NIMBUS__CURSOR_STATIONS, "s");
        expect_invalid(core, text, NIMBUS__CURSOR_OBSERVATIONS, "t");
    }
    nimbus_test_close(core, svc);
}

static void test_tampering(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    char text[NIMBUS_CURSOR_SIZE], edited[NIMBUS_CURSOR_SIZE + 8];
    nimbus__cursor_t in = {.kind = NIMBUS__CURSOR_STATIONS};
    strcpy(in.text_key, "station-17");
    CU_ASSERT_EQUAL(nimbus__cursor_encode(core, &in, "q", text, &err), 0);
    size_t len = strlen(text);
    /* Every single-character edit is caught. */
    for (size_t i = 0; i < len; i++) {
        strcpy(edited, text);
        edited[i] = edited[i] == 'A' ? 'B' : 'A';
        expect_invalid(core, edited, NIMBUS__CURSOR_STATIONS, "q");
    }
    for (size_t cut = 0; cut < len; cut++) {
        memcpy(edited, text, cut);
        edited[cut] = '\0';
        expect_invalid(core, edited, NIMBUS__CURSOR_STATIONS, "q");
    }
    snprintf(edited, sizeof(edited), "%sA", text);
    expect_invalid(core, edited, NIMBUS__CURSOR_STATIONS, "q");
    static const char *garbage[] = {
        "x", "====", "not a cursor", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA", "\xff\xfe", "a+b/c", NULL};
    for (size_t i = 0; garbage[i] != NULL; i++) {
        expect_invalid(core, garbage[i], NIMBUS__CURSOR_STATIONS, "q");
    }
    char longest[200];
    memset(longest, 'A', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    expect_invalid(core, longest, NIMBUS__CURSOR_STATIONS, "q");

    /* Another database has another key. */
    nimbus_core_t *core2;
    nimbus_service_t *svc2;
    nimbus_test_open(&core2, &svc2);
    expect_invalid(core2, text, NIMBUS__CURSOR_STATIONS, "q");
    nimbus_test_close(core2, svc2);
    nimbus_test_close(core, svc);
}

/* A cursor from one query is refused by the same operation with other
 * filters, and by the other list operation. */
static void test_bound_to_filters(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof(id), "k%d", i);
        nimbus_test_create(svc, id, "Lyon", "FR");
    }
    nimbus_list_stations_request_t lreq = {"Lyon", NULL, true, 2, NULL};
    nimbus_list_stations_response_t lres = {0};
    CU_ASSERT_EQUAL_FATAL(nimbus_service_list_stations(svc, T, &lreq, &lres, &err), 0);
    char cursor[NIMBUS_CURSOR_SIZE];
    strcpy(cursor, lres.next_cursor);
    nimbus_list_stations_response_cleanup(&lres);
    lreq.cursor = cursor;
    lreq.city = "LYON"; /* same filter as far as matching goes */
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &lreq, &lres, &err), 0);
    CU_ASSERT_STRING_EQUAL(lres.stations[0].id, "k2");
    nimbus_list_stations_response_cleanup(&lres);
    lreq.limit = 3; /* a new page size is fine */
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &lreq, &lres, &err), 0);
    CU_ASSERT_EQUAL(lres.count, 3);
    CU_ASSERT_EQUAL(lres.next_cursor[0], '\0');
    nimbus_list_stations_response_cleanup(&lres);
    lreq.city = NULL;
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &lreq, &lres, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "cursor is invalid");
    lreq.city = "Lyon";
    lreq.country = "FR";
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &lreq, &lres, &err), -1);

    nimbus_observation_t obs[3] = {nimbus_test_obs(1, 1), nimbus_test_obs(2, 1),
                                   nimbus_test_obs(3, 1)};
    nimbus_record_observations_response_t rres;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "k0", obs, 3, &rres, &err), 0);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "k1", obs, 3, &rres, &err), 0);
    nimbus_get_observations_request_t oreq = {.station_id = "k0", .has_limit = true, .limit = 1};
    nimbus_get_observations_response_t ores = {0};
    CU_ASSERT_EQUAL_FATAL(nimbus_service_get_observations(svc, T, &oreq, &ores, &err), 0);
    strcpy(cursor, ores.next_cursor);
    nimbus_get_observations_response_cleanup(&ores);
    oreq.cursor = cursor;
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &oreq, &ores, &err), 0);
    CU_ASSERT_EQUAL(ores.observations[0].observed_at, 2);
    nimbus_get_observations_response_cleanup(&ores);
    oreq.station_id = "k1";
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &oreq, &ores, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "cursor is invalid");
    oreq.station_id = "k0";
    oreq.has_from = true;
    oreq.from = 0;
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &oreq, &ores, &err), -1);
    oreq.has_from = false;
    oreq.has_to = true;
    oreq.to = 100;
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &oreq, &ores, &err), -1);
    /* An observations cursor given to ListStations. */
    lreq = (nimbus_list_stations_request_t){.cursor = cursor};
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &lreq, &lres, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "cursor is invalid");
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"round trip", test_round_trip},
        {"tampering and garbage", test_tampering},
        {"bound to the query's filters", test_bound_to_filters},
        {NULL, NULL},
    };
    return nimbus_test_run("cursor", cases);
}
