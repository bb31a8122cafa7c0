/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/station.c against a real SQLite file: create, get,
 * update (every field replaced, absent elevation), delete, the errors of
 * contract "Operations" (ALREADY_EXISTS, NOT_FOUND, id mismatch), and
 * ListStations paging across many pages with and without filters.
 */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const nimbus_credentials_t *T = &nimbus_test_trusted;

static void test_create_get(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    nimbus_create_station_request_t creq = {nimbus_test_station("st-1", "Berlin", "DE")};
    creq.station.elevation = (nimbus_opt_double_t){true, 34.5};
    nimbus_create_station_response_t cres = {0};
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, T, &creq, &cres, &err), 0);
    CU_ASSERT_STRING_EQUAL(cres.station.id, "st-1");

    nimbus_get_station_request_t greq = {"st-1"};
    nimbus_get_station_response_t gres = {0};
    CU_ASSERT_EQUAL_FATAL(nimbus_service_get_station(svc, T, &greq, &gres, &err), 0);
    CU_ASSERT_EQUAL(memcmp(&gres.station, &creq.station, sizeof(gres.station)), 0);
    nimbus_get_station_response_cleanup(&gres);

    /* ALREADY_EXISTS for a taken id; ids are case-sensitive. */
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, T, &creq, &cres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_ALREADY_EXISTS);
    strcpy(creq.station.id, "ST-1");
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, T, &creq, &cres, &err), 0);

    greq.id = "nope";
    CU_ASSERT_EQUAL(nimbus_service_get_station(svc, T, &greq, &gres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    greq.id = "bad id!";
    CU_ASSERT_EQUAL(nimbus_service_get_station(svc, T, &greq, &gres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);

    strcpy(creq.station.id, "st-2");
    creq.station.latitude = 91;
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, T, &creq, &cres, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "station.latitude must be between -90 and 90");
    greq.id = "st-2";
    CU_ASSERT_EQUAL(nimbus_service_get_station(svc, T, &greq, &gres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    nimbus_test_close(core, svc);
}

static void test_update(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    nimbus_create_station_request_t creq = {nimbus_test_station("u1", "Berlin", "DE")};
    creq.station.elevation = (nimbus_opt_double_t){true, 100};
    nimbus_create_station_response_t cres = {0};
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, T, &creq, &cres, &err), 0);

    /* Every field replaced; an absent elevation becomes absent. */
    nimbus_update_station_request_t ureq = {"u1", nimbus_test_station("u1", "Paris", "FR")};
    strcpy(ureq.station.name, "Renamed");
    ureq.station.latitude = -10;
    nimbus_update_station_response_t ures = {0};
    CU_ASSERT_EQUAL(nimbus_service_update_station(svc, T, &ureq, &ures, &err), 0);
    nimbus_get_station_request_t greq = {"u1"};
    nimbus_get_station_response_t gres = {0};
    CU_ASSERT_EQUAL(nimbus_service_get_station(svc, T, &greq, &gres, &err), 0);
    CU_ASSERT_STRING_EQUAL(gres.station.name, "Renamed");
    CU_ASSERT_STRING_EQUAL(gres.station.city, "Paris");
    CU_ASSERT_STRING_EQUAL(gres.station.country, "FR");
    CU_ASSERT_EQUAL(gres.station.latitude, -10);
    CU_ASSERT_FALSE(gres.station.elevation.present);

    /* The body may leave the id out; the addressed one is used. */
    ureq.station.id[0] = '\0';
    CU_ASSERT_EQUAL(nimbus_service_update_station(svc, T, &ureq, &ures, &err), 0);
    CU_ASSERT_STRING_EQUAL(ures.station.id, "u1");
    /* Without a path id, the body's is the one addressed. */
    ureq.id = NULL;
    strcpy(ureq.station.id, "u1");
    CU_ASSERT_EQUAL(nimbus_service_update_station(svc, T, &ureq, &ures, &err), 0);

    ureq.id = "u1";
    strcpy(ureq.station.id, "u2");
    CU_ASSERT_EQUAL(nimbus_service_update_station(svc, T, &ureq, &ures, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "station.id"));

    ureq.id = "missing";
    strcpy(ureq.station.id, "missing");
    CU_ASSERT_EQUAL(nimbus_service_update_station(svc, T, &ureq, &ures, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);

    ureq.id = "u1";
    strcpy(ureq.station.id, "u1");
    strcpy(ureq.station.country, "XX");
    CU_ASSERT_EQUAL(nimbus_service_update_station(svc, T, &ureq, &ures, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "station.country"));
    nimbus_test_close(core, svc);
}

static void test_delete(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    nimbus_test_create(svc, "d1", "Oslo", "NO");
    nimbus_observation_t obs[3] = {nimbus_test_obs(10, 1), nimbus_test_obs(20, 2),
                                   nimbus_test_obs(30, 3)};
    nimbus_record_observations_response_t rres;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "d1", obs, 3, &rres, &err), 0);

    nimbus_delete_station_request_t dreq = {"d1"};
    nimbus_delete_station_response_t dres = {0};
    CU_ASSERT_EQUAL(nimbus_service_delete_station(svc, T, &dreq, &dres, &err), 0);
    nimbus_delete_station_response_cleanup(&dres);
    CU_ASSERT_EQUAL(nimbus_service_delete_station(svc, T, &dreq, &dres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    CU_ASSERT_EQUAL(nimbus_service_station_exists(svc, "d1", &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);

    /* Recreated, it has none of the old observations. */
    nimbus_test_create(svc, "d1", "Oslo", "NO");
    nimbus_get_observations_request_t oreq = {.station_id = "d1"};
    nimbus_get_observations_response_t ores = {0};
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &oreq, &ores, &err), 0);
    CU_ASSERT_EQUAL(ores.count, 0);
    nimbus_get_observations_response_cleanup(&ores);
    int64_t n = -1;
    CU_ASSERT_EQUAL(nimbus_core_station_count(core, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 1);
    nimbus_test_close(core, svc);
}

/* Pages through ListStations; returns the ids seen, comma-separated. */
static size_t list_all(nimbus_service_t *svc, const char *city, const char *country, int64_t limit,
                       char *ids, size_t size, size_t *pages)
{
    nimbus_list_stations_request_t req = {city, country, true, limit, NULL};
    char cursor[NIMBUS_CURSOR_SIZE] = "";
    size_t total = 0;
    ids[0] = '\0';
    *pages = 0;
    for (;;) {
        nimbus_list_stations_response_t res = {0};
        nimbus_error_t err;
        req.cursor = cursor[0] ? cursor : NULL;
        int rc = nimbus_service_list_stations(svc, T, &req, &res, &err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        (*pages)++;
        CU_ASSERT_TRUE(res.count <= (size_t)limit);
        /* A page that has a next cursor is full: no cursor to an empty page. */
        CU_ASSERT_TRUE(res.next_cursor[0] == '\0' || res.count == (size_t)limit);
        for (size_t i = 0; i < res.count; i++) {
            strncat(ids, res.stations[i].id, size - strlen(ids) - 2);
            strcat(ids, ",");
            total++;
        }
        snprintf(cursor, sizeof(cursor), "%s", res.next_cursor);
        nimbus_list_stations_response_cleanup(&res);
        if (cursor[0] == '\0') {
            break;
        }
    }
    return total;
}

static void test_list_paging(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    char id[16];
    for (int i = 0; i < 57; i++) {
        snprintf(id, sizeof(id), "s%03d", i);
        nimbus_test_create(svc, id,
                           i % 3 == 0   ? "Berlin"
                           : i % 3 == 1 ? "BERLIN"
                                        : "Bern",
                           i % 2 == 0 ? "DE" : "CH");
    }
    char *ids = malloc(4096);
    size_t pages;
    CU_ASSERT_EQUAL(list_all(svc, NULL, NULL, 10, ids, 4096, &pages), 57);
    CU_ASSERT_EQUAL(pages, 6);
    CU_ASSERT_EQUAL(strncmp(ids, "s000,s001,s002,", 15), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(ids, "s055,s056,"));
    /* Exactly full pages: the last full page has no cursor. */
    CU_ASSERT_EQUAL(list_all(svc, NULL, NULL, 57, ids, 4096, &pages), 57);
    CU_ASSERT_EQUAL(pages, 1);
    CU_ASSERT_EQUAL(list_all(svc, NULL, NULL, 19, ids, 4096, &pages), 57);
    CU_ASSERT_EQUAL(pages, 3);
    CU_ASSERT_EQUAL(list_all(svc, NULL, NULL, 1, ids, 4096, &pages), 57);
    CU_ASSERT_EQUAL(pages, 57);
    /* City matches whole names ignoring ASCII case. */
    CU_ASSERT_EQUAL(list_all(svc, "berlin", NULL, 7, ids, 4096, &pages), 38);
    CU_ASSERT_EQUAL(list_all(svc, "Berlin", "DE", 4, ids, 4096, &pages), 19);
    CU_ASSERT_EQUAL(list_all(svc, "bern", "CH", 4, ids, 4096, &pages), 9);
    CU_ASSERT_EQUAL(list_all(svc, "Ber", NULL, 4, ids, 4096, &pages), 0);
    CU_ASSERT_EQUAL(pages, 1);
    CU_ASSERT_EQUAL(list_all(svc, NULL, "CH", 1000, ids, 4096, &pages), 28);
    /* Empty filters mean no filter. */
    CU_ASSERT_EQUAL(list_all(svc, "", "", 100, ids, 4096, &pages), 57);
    free(ids);
    nimbus_test_close(core, svc);
}

static void test_list_arguments(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    nimbus_list_stations_response_t res = {0};
    nimbus_list_stations_request_t req = {NULL, NULL, true, 0, NULL};
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &req, &res, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "limit must be between 1 and 1000");
    req.limit = 1001;
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &req, &res, &err), -1);
    req.limit = 1000;
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &req, &res, &err), 0);
    nimbus_list_stations_response_cleanup(&res);
    req.has_limit = false;
    for (int i = 0; i < 101; i++) {
        char id[8];
        snprintf(id, sizeof(id), "x%d", i);
        nimbus_test_create(svc, id, "Rome", "IT");
    }
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &req, &res, &err), 0);
    CU_ASSERT_EQUAL(res.count, NIMBUS_LIST_LIMIT_DEFAULT);
    CU_ASSERT_NOT_EQUAL(res.next_cursor[0], '\0');
    nimbus_list_stations_response_cleanup(&res);
    req.country = "it";
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &req, &res, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "country"));
    req.country = NULL;
    req.cursor = "garbage";
    CU_ASSERT_EQUAL(nimbus_service_list_stations(svc, T, &req, &res, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "cursor is invalid");
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"create and get", test_create_get},
        {"update replaces every field", test_update},
        {"delete removes observations", test_delete},
        {"list paging with and without filters", test_list_paging},
        {"list arguments", test_list_arguments},
        {NULL, NULL},
    };
    return nimbus_test_run("station", cases);
}
