/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The SOAP contract through gSOAP client stubs generated at build time from
 * wsdl/nimbus.wsdl, against a real server (started by with_server.py with
 * the keys in soap_client_util.c and --max-body 32768). Every operation
 * succeeds, and raises each fault code it can raise: INVALID_ARGUMENT,
 * NOT_FOUND, ALREADY_EXISTS, UNAUTHENTICATED, PERMISSION_DENIED and
 * PAYLOAD_TOO_LARGE. The whole suite runs twice, over the SOAP 1.1 binding
 * and over the SOAP 1.2 binding, checking HTTP status and faultcode per
 * version. Usage: test_soap_client BASE_URL
 */
#include "nimbus_cunit.h"
#include <stdio.h>
#include <string.h>

#include "soap_client_util.h"

static const double ELEVATION = 10.5;

static void create(test_key_t who, const char *suffix, const char *city)
{
    struct soap *soap = test_client(AUTH_BEARER, who);
    struct _nimbus__CreateStation req = {
        test_station(soap, test_id(soap, suffix), city, 40.0801, &ELEVATION)};
    struct _nimbus__CreateStationResponse res;
    int rc = CALL(CreateStation, soap, &req, &res);
    EXPECT_OK(soap, rc);
    test_client_free(soap);
}

static void test_create_get_update(void)
{
    create(KEY_WRITER, "alpha", "Alphaville");

    struct soap *soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetStation get = {test_id(soap, "alpha")};
    struct _nimbus__GetStationResponse got;
    EXPECT_OK(soap, CALL(GetStation, soap, &get, &got));
    CU_ASSERT_PTR_NOT_NULL_FATAL(got.station);
    CU_ASSERT_STRING_EQUAL(got.station->id, get.id);
    CU_ASSERT_STRING_EQUAL(got.station->city, "Alphaville");
    CU_ASSERT_EQUAL(got.station->latitude, 40.0801); /* exact: shortest round-trip text */
    CU_ASSERT_PTR_NOT_NULL_FATAL(got.station->elevation);
    CU_ASSERT_EQUAL(*got.station->elevation, ELEVATION);
    test_client_free(soap);

    /* CreateStation: ALREADY_EXISTS, INVALID_ARGUMENT, PERMISSION_DENIED,
     * UNAUTHENTICATED (none, wrong Basic secret). */
    struct {
        test_auth_t how;
        test_key_t key;
        const char *suffix;
        double latitude;
        const char *code;
    } creates[] = {
        {AUTH_BEARER, KEY_WRITER, "alpha", 1.0, "ALREADY_EXISTS"},
        {AUTH_BEARER, KEY_WRITER, "beta", 91.0, "INVALID_ARGUMENT"},
        {AUTH_BEARER, KEY_READER, "gamma", 1.0, "PERMISSION_DENIED"},
        {AUTH_NONE, KEY_WRITER, "delta", 1.0, "UNAUTHENTICATED"},
        {AUTH_BASIC, KEY_WRONG, "delta", 1.0, "UNAUTHENTICATED"},
    };
    for (size_t i = 0; i < sizeof creates / sizeof creates[0]; i++) {
        soap = test_client(creates[i].how, creates[i].key);
        struct _nimbus__CreateStation req = {
            test_station(soap, test_id(soap, creates[i].suffix), "X", creates[i].latitude, NULL)};
        struct _nimbus__CreateStationResponse res;
        EXPECT_FAULT(soap, CALL(CreateStation, soap, &req, &res), creates[i].code);
        test_client_free(soap);
    }

    /* GetStation: NOT_FOUND, INVALID_ARGUMENT, UNAUTHENTICATED. */
    struct {
        test_auth_t how;
        const char *id;
        const char *code;
    } gets[] = {
        {AUTH_BASIC, "no-such-station", "NOT_FOUND"},
        {AUTH_BASIC, "bad id!", "INVALID_ARGUMENT"},
        {AUTH_NONE, "no-such-station", "UNAUTHENTICATED"},
    };
    for (size_t i = 0; i < sizeof gets / sizeof gets[0]; i++) {
        soap = test_client(gets[i].how, KEY_READER);
        struct _nimbus__GetStation req = {(char *)gets[i].id};
        EXPECT_FAULT(soap, CALL(GetStation, soap, &req, &got), gets[i].code);
        test_client_free(soap);
    }

    /* UpdateStation replaces every field: the omitted elevation is gone. */
    soap = test_client(AUTH_BASIC, KEY_WRITER);
    struct _nimbus__UpdateStation up = {
        test_station(soap, test_id(soap, "alpha"), "Alphaville", -33.5, NULL)};
    struct _nimbus__UpdateStationResponse upd;
    EXPECT_OK(soap, CALL(UpdateStation, soap, &up, &upd));
    CU_ASSERT_PTR_NOT_NULL_FATAL(upd.station);
    CU_ASSERT_EQUAL(upd.station->latitude, -33.5);
    CU_ASSERT_PTR_NULL(upd.station->elevation);
    test_client_free(soap);

    struct {
        test_key_t key;
        const char *suffix;
        const char *country;
        const char *code;
    } updates[] = {
        {KEY_WRITER, "nobody", "US", "NOT_FOUND"},
        {KEY_WRITER, "alpha", "usa", "INVALID_ARGUMENT"},
        {KEY_READER, "alpha", "US", "PERMISSION_DENIED"},
        {KEY_WRONG, "alpha", "US", "UNAUTHENTICATED"},
    };
    for (size_t i = 0; i < sizeof updates / sizeof updates[0]; i++) {
        soap = test_client(AUTH_BEARER, updates[i].key);
        struct _nimbus__UpdateStation req = {
            test_station(soap, test_id(soap, updates[i].suffix), "X", 1.0, NULL)};
        req.station->country = (char *)updates[i].country;
        EXPECT_FAULT(soap, CALL(UpdateStation, soap, &req, &upd), updates[i].code);
        test_client_free(soap);
    }
}

static void test_list_stations(void)
{
    char city[32];
    snprintf(city, sizeof city, "Listville%d", nimbus_test_version);
    create(KEY_ADMIN, "list-c", city);
    create(KEY_ADMIN, "list-a", city);
    create(KEY_ADMIN, "list-b", city);

    struct soap *soap = test_client(AUTH_WSSE, KEY_READER);
    int two = 2;
    struct _nimbus__ListStations req = {city, "US", &two, NULL};
    struct _nimbus__ListStationsResponse page;
    EXPECT_OK(soap, CALL(ListStations, soap, &req, &page));
    CU_ASSERT_EQUAL_FATAL(page.__sizestation, 2);
    CU_ASSERT_STRING_EQUAL(page.station[0].id, test_id(soap, "list-a")); /* ordered by id */
    CU_ASSERT_STRING_EQUAL(page.station[1].id, test_id(soap, "list-b"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(page.nextCursor);
    char cursor[128];
    snprintf(cursor, sizeof cursor, "%s", page.nextCursor); /* outlives this context */
    test_client_free(soap);

    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__ListStations next = {city, "US", &two, cursor}; /* same query */
    EXPECT_OK(soap, CALL(ListStations, soap, &next, &page));
    CU_ASSERT_EQUAL_FATAL(page.__sizestation, 1);
    CU_ASSERT_STRING_EQUAL(page.station[0].id, test_id(soap, "list-c"));
    CU_ASSERT_PTR_NULL(page.nextCursor); /* the last page has none */
    test_client_free(soap);

    int zero = 0;
    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__ListStations bad = {city, NULL, &zero, NULL};
    EXPECT_FAULT(soap, CALL(ListStations, soap, &bad, &page), "INVALID_ARGUMENT");
    test_client_free(soap);

    soap = test_client(AUTH_BEARER, KEY_WRONG);
    EXPECT_FAULT(soap, CALL(ListStations, soap, &req, &page), "UNAUTHENTICATED");
    test_client_free(soap);
}

static int record(const char *station_suffix, struct nimbus__Observation *obs, int count,
                  struct soap *soap, struct _nimbus__RecordObservationsResponse *res)
{
    struct _nimbus__RecordObservations req = {test_id(soap, station_suffix), count, obs};
    return CALL(RecordObservations, soap, &req, res);
}

static void test_observations(void)
{
    create(KEY_WRITER, "obs", "Obsville");
    struct soap *soap = test_client(AUTH_BEARER, KEY_WRITER);
    char *sid = test_id(soap, "obs");
    struct nimbus__Observation batch[3] = {
        *test_observation(soap, sid, "2024-05-01T10:00:00Z", 11.5),
        *test_observation(soap, NULL, "2024-05-01T19:00:00+08:00", 12.25), /* 11:00Z */
        *test_observation(soap, sid, "2024-05-01T12:00:00.75", 13.0),      /* no zone: UTC */
    };
    struct _nimbus__RecordObservationsResponse rec;
    EXPECT_OK(soap, record("obs", batch, 3, soap, &rec));
    CU_ASSERT_EQUAL(rec.accepted, 3);
    CU_ASSERT_EQUAL(rec.duplicates, 0);
    CU_ASSERT_FATAL(rec.firstSeq && rec.lastSeq);
    CU_ASSERT_EQUAL(*rec.lastSeq - *rec.firstSeq, 2);
    test_client_free(soap);

    /* The same again: duplicates, nothing stored, no seq. */
    soap = test_client(AUTH_BEARER, KEY_WRITER);
    struct nimbus__Observation again = *test_observation(soap, NULL, "2024-05-01T10:00:00Z", 11.5);
    EXPECT_OK(soap, record("obs", &again, 1, soap, &rec));
    CU_ASSERT_EQUAL(rec.accepted, 0);
    CU_ASSERT_EQUAL(rec.duplicates, 1);
    CU_ASSERT_PTR_NULL(rec.firstSeq);
    test_client_free(soap);

    /* Faults: a bad value, a foreign stationId, an unknown station, a
     * reader, a wrong WS-Security password. */
    struct {
        test_auth_t how;
        test_key_t key;
        const char *station;
        const char *obs_station;
        double temperature;
        const char *code;
    } bad[] = {
        {AUTH_BEARER, KEY_WRITER, "obs", NULL, 500.0, "INVALID_ARGUMENT"},
        {AUTH_BEARER, KEY_WRITER, "obs", "someone-else", 1.0, "INVALID_ARGUMENT"},
        {AUTH_BEARER, KEY_WRITER, "nowhere", NULL, 1.0, "NOT_FOUND"},
        {AUTH_BEARER, KEY_READER, "obs", NULL, 1.0, "PERMISSION_DENIED"},
        {AUTH_WSSE, KEY_WRONG, "obs", NULL, 1.0, "UNAUTHENTICATED"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        soap = test_client(bad[i].how, bad[i].key);
        struct nimbus__Observation o =
            *test_observation(soap, bad[i].obs_station, "2024-05-02T00:00:00Z", bad[i].temperature);
        EXPECT_FAULT(soap, record(bad[i].station, &o, 1, soap, &rec), bad[i].code);
        test_client_free(soap);
    }

    /* GetObservations: ordered, UTC text, window, paging. */
    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetObservations q = {test_id(soap, "obs"), NULL, NULL, NULL, NULL};
    struct _nimbus__GetObservationsResponse obs;
    EXPECT_OK(soap, CALL(GetObservations, soap, &q, &obs));
    CU_ASSERT_EQUAL_FATAL(obs.__sizeobservation, 3);
    CU_ASSERT_STRING_EQUAL(obs.observation[0].observedAt, "2024-05-01T10:00:00Z");
    CU_ASSERT_STRING_EQUAL(obs.observation[1].observedAt, "2024-05-01T11:00:00Z");
    CU_ASSERT_STRING_EQUAL(obs.observation[2].observedAt, "2024-05-01T12:00:00Z");
    CU_ASSERT_EQUAL(*obs.observation[1].temperature, 12.25);
    CU_ASSERT_PTR_NOT_NULL(obs.observation[0].seq);
    CU_ASSERT_PTR_NULL(obs.observation[0].humidity);
    test_client_free(soap);

    soap = test_client(AUTH_BEARER, KEY_READER);
    int one = 1;
    struct _nimbus__GetObservations win = {test_id(soap, "obs"), "2024-05-01T11:00:00Z",
                                           "2024-05-01T12:00:00Z", &one, NULL};
    EXPECT_OK(soap, CALL(GetObservations, soap, &win, &obs));
    CU_ASSERT_EQUAL_FATAL(obs.__sizeobservation, 1); /* from inclusive, to exclusive */
    CU_ASSERT_STRING_EQUAL(obs.observation[0].observedAt, "2024-05-01T11:00:00Z");
    CU_ASSERT_PTR_NULL(obs.nextCursor);
    test_client_free(soap);

    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetObservations first = {test_id(soap, "obs"), NULL, NULL, &one, NULL};
    EXPECT_OK(soap, CALL(GetObservations, soap, &first, &obs));
    CU_ASSERT_EQUAL_FATAL(obs.__sizeobservation, 1);
    CU_ASSERT_PTR_NOT_NULL(obs.nextCursor);
    test_client_free(soap);

    struct {
        const char *station;
        const char *from;
        const char *code;
    } qbad[] = {{"nowhere", NULL, "NOT_FOUND"}, {"obs", "yesterday", "INVALID_ARGUMENT"}};
    for (size_t i = 0; i < sizeof qbad / sizeof qbad[0]; i++) {
        soap = test_client(AUTH_BEARER, KEY_READER);
        struct _nimbus__GetObservations r = {test_id(soap, qbad[i].station), (char *)qbad[i].from,
                                             NULL, NULL, NULL};
        EXPECT_FAULT(soap, CALL(GetObservations, soap, &r, &obs), qbad[i].code);
        test_client_free(soap);
    }
    soap = test_client(AUTH_NONE, KEY_READER);
    q.stationId = test_id(soap, "obs"); /* the earlier context is gone */
    EXPECT_FAULT(soap, CALL(GetObservations, soap, &q, &obs), "UNAUTHENTICATED");
    test_client_free(soap);
}

static void test_weather(void)
{
    char city[32];
    snprintf(city, sizeof city, "Weathertown%d", nimbus_test_version);
    create(KEY_WRITER, "wx-b", city);
    create(KEY_WRITER, "wx-a", city);
    struct soap *soap = test_client(AUTH_BEARER, KEY_WRITER);
    struct nimbus__Observation two[2] = {
        *test_observation(soap, NULL, "2024-06-01T00:00:00Z", 10.0),
        *test_observation(soap, NULL, "2024-06-01T06:00:00Z", 20.0),
    };
    struct _nimbus__RecordObservationsResponse rec;
    EXPECT_OK(soap, record("wx-b", two, 2, soap, &rec));
    test_client_free(soap);

    soap = test_client(AUTH_BASIC, KEY_READER);
    struct _nimbus__GetWeather gw = {test_id(soap, "wx-b")};
    struct _nimbus__GetWeatherResponse w;
    EXPECT_OK(soap, CALL(GetWeather, soap, &gw, &w));
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.report);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.report->latest);
    CU_ASSERT_STRING_EQUAL(w.report->latest->observedAt, "2024-06-01T06:00:00Z");
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.report->last24h);
    CU_ASSERT_EQUAL(w.report->last24h->count, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w.report->last24h->meanTemperature);
    CU_ASSERT_EQUAL(*w.report->last24h->meanTemperature, 15.0);
    test_client_free(soap);

    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetCityWeather gc = {city, "US"};
    struct _nimbus__GetCityWeatherResponse cw;
    EXPECT_OK(soap, CALL(GetCityWeather, soap, &gc, &cw));
    CU_ASSERT_EQUAL_FATAL(cw.__sizereport, 2);
    CU_ASSERT_STRING_EQUAL(cw.report[0].station->id, test_id(soap, "wx-a"));
    CU_ASSERT_PTR_NULL(cw.report[0].latest); /* no observations: absent */
    CU_ASSERT_PTR_NULL(cw.report[0].last24h);
    CU_ASSERT_PTR_NOT_NULL(cw.report[1].latest);
    test_client_free(soap);

    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetWeather nowhere = {"nowhere"};
    EXPECT_FAULT(soap, CALL(GetWeather, soap, &nowhere, &w), "NOT_FOUND");
    test_client_free(soap);
    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetWeather badid = {"a b"};
    EXPECT_FAULT(soap, CALL(GetWeather, soap, &badid, &w), "INVALID_ARGUMENT");
    test_client_free(soap);
    soap = test_client(AUTH_NONE, KEY_READER);
    gw.stationId = test_id(soap, "wx-b"); /* the earlier context is gone */
    EXPECT_FAULT(soap, CALL(GetWeather, soap, &gw, &w), "UNAUTHENTICATED");
    test_client_free(soap);

    struct {
        const char *city;
        const char *country;
        const char *code;
    } cbad[] = {{"Atlantis", NULL, "NOT_FOUND"},
                {city, "FR", "NOT_FOUND"},
                {city, "usa", "INVALID_ARGUMENT"}};
    for (size_t i = 0; i < sizeof cbad / sizeof cbad[0]; i++) {
        soap = test_client(AUTH_BEARER, KEY_READER);
        struct _nimbus__GetCityWeather r = {(char *)cbad[i].city, (char *)cbad[i].country};
        EXPECT_FAULT(soap, CALL(GetCityWeather, soap, &r, &cw), cbad[i].code);
        test_client_free(soap);
    }
    soap = test_client(AUTH_BEARER, KEY_WRONG);
    EXPECT_FAULT(soap, CALL(GetCityWeather, soap, &gc, &cw), "UNAUTHENTICATED");
    test_client_free(soap);
}

static void test_delete(void)
{
    create(KEY_WRITER, "doomed", "Doomtown");
    struct {
        test_key_t key;
        const char *suffix;
        const char *code; /* NULL: succeeds */
    } steps[] = {
        {KEY_WRITER, "doomed", "PERMISSION_DENIED"}, /* admin only */
        {KEY_WRONG, "doomed", "UNAUTHENTICATED"},
        {KEY_ADMIN, "bad id!", "INVALID_ARGUMENT"},
        {KEY_ADMIN, "doomed", NULL},
        {KEY_ADMIN, "doomed", "NOT_FOUND"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct soap *soap = test_client(AUTH_BASIC, steps[i].key);
        struct _nimbus__DeleteStation req = {test_id(soap, steps[i].suffix)};
        if (strcmp(steps[i].suffix, "bad id!") == 0) {
            req.id = (char *)steps[i].suffix;
        }
        struct _nimbus__DeleteStationResponse res;
        int rc = CALL(DeleteStation, soap, &req, &res);
        if (steps[i].code) {
            EXPECT_FAULT(soap, rc, steps[i].code);
        } else {
            EXPECT_OK(soap, rc);
        }
        test_client_free(soap);
    }
    struct soap *soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetStation get = {test_id(soap, "doomed")};
    struct _nimbus__GetStationResponse got;
    EXPECT_FAULT(soap, CALL(GetStation, soap, &get, &got), "NOT_FOUND");
    test_client_free(soap);
}

/* A body between --max-body (32 KiB) and evhttp's own hard cap. */
static void test_payload_too_large(void)
{
    create(KEY_WRITER, "big", "Bigtown");
    struct soap *soap = test_client(AUTH_BEARER, KEY_WRITER);
    enum { N = 400 };
    struct nimbus__Observation *many = soap_new_nimbus__Observation(soap, N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(many);
    for (int i = 0; i < N; i++) {
        char when[32];
        snprintf(when, sizeof when, "2024-07-01T%02d:%02d:00Z", i / 60, i % 60);
        many[i] = *test_observation(soap, test_id(soap, "big"), when, 1.0 + i / 1000.0);
    }
    struct _nimbus__RecordObservationsResponse rec;
    EXPECT_FAULT(soap, record("big", many, N, soap, &rec), "PAYLOAD_TOO_LARGE");
    test_client_free(soap);

    /* Any operation: a 40 KB id or name is over the limit before it is a
     * bad id. */
    static char huge[40000];
    memset(huge, 'x', sizeof huge - 1);
    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetStation get = {huge};
    struct _nimbus__GetStationResponse got;
    EXPECT_FAULT(soap, CALL(GetStation, soap, &get, &got), "PAYLOAD_TOO_LARGE");
    test_client_free(soap);
    soap = test_client(AUTH_BEARER, KEY_WRITER);
    struct _nimbus__CreateStation create_req = {
        test_station(soap, test_id(soap, "huge"), "X", 1.0, NULL)};
    create_req.station->name = huge;
    struct _nimbus__CreateStationResponse created;
    EXPECT_FAULT(soap, CALL(CreateStation, soap, &create_req, &created), "PAYLOAD_TOO_LARGE");
    test_client_free(soap);

    /* Nothing was stored. */
    soap = test_client(AUTH_BEARER, KEY_READER);
    struct _nimbus__GetObservations q = {test_id(soap, "big"), NULL, NULL, NULL, NULL};
    struct _nimbus__GetObservationsResponse obs;
    EXPECT_OK(soap, CALL(GetObservations, soap, &q, &obs));
    CU_ASSERT_EQUAL(obs.__sizeobservation, 0);
    test_client_free(soap);
}

static int use_soap11(void)
{
    nimbus_test_version = 1;
    return 0;
}

static int use_soap12(void)
{
    nimbus_test_version = 2;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s BASE_URL\n", argv[0]);
        return 2;
    }
    snprintf(nimbus_test_url, sizeof nimbus_test_url, "%s/soap", argv[1]);
    /* The same tests under each SOAP version; the runner fails the program
     * unless all 12 ran. */
    static const nimbus_test_case_t cases[] = {
        {"create/get/update", test_create_get_update},
        {"list stations", test_list_stations},
        {"observations", test_observations},
        {"weather", test_weather},
        {"delete", test_delete},
        {"payload too large", test_payload_too_large},
        {NULL, NULL},
    };
    static const nimbus_test_suite_t suites[] = {
        {"SOAP 1.1", use_soap11, NULL, cases},
        {"SOAP 1.2", use_soap12, NULL, cases},
        {NULL, NULL, NULL, NULL},
    };
    return nimbus_test_run_suites(suites);
}
