/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/weather.c: contract "WeatherReport". latest is the
 * greatest observedAt (not the last recorded); last24h covers
 * (latest - 24 h, latest] exactly; temperatures absent when none;
 * totalPrecipitation 0 when none; GetCityWeather ordered by id, city
 * matched ignoring ASCII case, NOT_FOUND when nothing matches.
 */
#include <string.h>

#include "test_util.h"

static const nimbus_credentials_t *T = &nimbus_test_trusted;
#define DAY 86400

static nimbus_weather_report_t weather(nimbus_service_t *svc, const char *id)
{
    nimbus_get_weather_request_t req = {id};
    nimbus_get_weather_response_t res;
    memset(&res, 0, sizeof(res));
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_service_get_weather(svc, T, &req, &res, &err), 0);
    nimbus_get_weather_response_cleanup(&res);
    return res.report;
}

static void test_no_observations(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "w", "Berlin", "DE");
    nimbus_weather_report_t r = weather(svc, "w");
    CU_ASSERT_STRING_EQUAL(r.station.id, "w");
    CU_ASSERT_FALSE(r.has_latest);
    CU_ASSERT_FALSE(r.has_last24h);
    nimbus_error_t err;
    nimbus_get_weather_request_t req = {"missing"};
    nimbus_get_weather_response_t res = {0};
    CU_ASSERT_EQUAL(nimbus_service_get_weather(svc, T, &req, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    req.station_id = "";
    CU_ASSERT_EQUAL(nimbus_service_get_weather(svc, T, &req, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    nimbus_test_close(core, svc);
}

static void test_window_edges(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "w", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t rres;
    int64_t latest = 1714564800;
    nimbus_observation_t obs[5] = {
        nimbus_test_obs(latest, 10),           /* the latest, recorded first */
        nimbus_test_obs(latest - DAY, -40),    /* exactly 24 h before: outside */
        nimbus_test_obs(latest - DAY + 1, 30), /* one second inside */
        nimbus_test_obs(latest - 3600, 20),    nimbus_test_obs(latest - 7200, 0),
    };
    obs[0].precipitation = (nimbus_opt_double_t){true, 1.25};
    obs[1].precipitation = (nimbus_opt_double_t){true, 100};
    obs[2].precipitation = (nimbus_opt_double_t){true, 0.5};
    obs[4].temperature.present = false; /* not in min/max/mean */
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "w", obs, 5, &rres, &err), 0);
    nimbus_weather_report_t r = weather(svc, "w");
    CU_ASSERT_TRUE(r.has_latest);
    CU_ASSERT_EQUAL(r.latest.observed_at, latest);
    CU_ASSERT_EQUAL(r.latest.seq, 1);
    CU_ASSERT_TRUE(r.has_last24h);
    CU_ASSERT_EQUAL(r.last24h.count, 4);
    CU_ASSERT_TRUE(r.last24h.min_temperature.present);
    CU_ASSERT_EQUAL(r.last24h.min_temperature.value, 10);
    CU_ASSERT_EQUAL(r.last24h.max_temperature.value, 30);
    CU_ASSERT_EQUAL(r.last24h.mean_temperature.value, 20);
    CU_ASSERT_EQUAL(r.last24h.total_precipitation, 1.75);
    nimbus_test_close(core, svc);
}

static void test_no_temperatures(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "w", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t rres;
    nimbus_observation_t o = nimbus_test_obs(1000, 0);
    o.temperature.present = false;
    o.wind_speed = (nimbus_opt_double_t){true, 3};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "w", &o, 1, &rres, &err), 0);
    nimbus_weather_report_t r = weather(svc, "w");
    CU_ASSERT_TRUE(r.has_latest);
    CU_ASSERT_EQUAL(r.latest.wind_speed.value, 3);
    CU_ASSERT_TRUE(r.has_last24h);
    CU_ASSERT_EQUAL(r.last24h.count, 1);
    CU_ASSERT_FALSE(r.last24h.min_temperature.present);
    CU_ASSERT_FALSE(r.last24h.max_temperature.present);
    CU_ASSERT_FALSE(r.last24h.mean_temperature.present);
    CU_ASSERT_EQUAL(r.last24h.total_precipitation, 0);
    nimbus_test_close(core, svc);
}

static void test_city(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "z9", "Springfield", "US");
    nimbus_test_create(svc, "a1", "SPRINGFIELD", "US");
    nimbus_test_create(svc, "m5", "springfield", "AU");
    nimbus_test_create(svc, "x", "Springfield East", "US");
    nimbus_error_t err;
    nimbus_record_observations_response_t rres;
    nimbus_observation_t o = nimbus_test_obs(5000, 12);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "m5", &o, 1, &rres, &err), 0);

    nimbus_get_city_weather_request_t req = {"Springfield", NULL};
    nimbus_get_city_weather_response_t res = {0};
    CU_ASSERT_EQUAL_FATAL(nimbus_service_get_city_weather(svc, T, &req, &res, &err), 0);
    CU_ASSERT_EQUAL_FATAL(res.count, 3);
    CU_ASSERT_STRING_EQUAL(res.reports[0].station.id, "a1");
    CU_ASSERT_STRING_EQUAL(res.reports[1].station.id, "m5");
    CU_ASSERT_STRING_EQUAL(res.reports[2].station.id, "z9");
    CU_ASSERT_FALSE(res.reports[0].has_latest);
    CU_ASSERT_TRUE(res.reports[1].has_latest);
    CU_ASSERT_EQUAL(res.reports[1].last24h.mean_temperature.value, 12);
    nimbus_get_city_weather_response_cleanup(&res);
    CU_ASSERT_PTR_NULL(res.reports);

    req.country = "US";
    CU_ASSERT_EQUAL_FATAL(nimbus_service_get_city_weather(svc, T, &req, &res, &err), 0);
    CU_ASSERT_EQUAL(res.count, 2);
    nimbus_get_city_weather_response_cleanup(&res);

    req.country = "DE";
    CU_ASSERT_EQUAL(nimbus_service_get_city_weather(svc, T, &req, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    req = (nimbus_get_city_weather_request_t){"Atlantis", NULL};
    CU_ASSERT_EQUAL(nimbus_service_get_city_weather(svc, T, &req, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    req.city = "";
    CU_ASSERT_EQUAL(nimbus_service_get_city_weather(svc, T, &req, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    req = (nimbus_get_city_weather_request_t){"Springfield", "usa"};
    CU_ASSERT_EQUAL(nimbus_service_get_city_weather(svc, T, &req, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    nimbus_get_city_weather_response_cleanup(&res);
    nimbus_test_close(core, svc);
}

/* Reports are reused between writes; any write, through any service,
 * must show in the next answer. */
static void test_cached_reports_follow_writes(void)
{
    nimbus_core_t *core;
    nimbus_service_t *reader, *writer;
    nimbus_test_open(&core, &reader);
    nimbus_error_t err;
    writer = nimbus_service_new(core, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(writer);
    nimbus_test_create(writer, "c", "Berlin", "DE");
    nimbus_record_observations_response_t rres;
    nimbus_weather_report_t r = weather(reader, "c");
    CU_ASSERT_FALSE(r.has_latest);
    r = weather(reader, "c"); /* answered from the cache */
    CU_ASSERT_FALSE(r.has_latest);

    nimbus_observation_t o = nimbus_test_obs(1000, 5);
    CU_ASSERT_EQUAL(nimbus_test_record(writer, "c", &o, 1, &rres, &err), 0);
    r = weather(reader, "c");
    CU_ASSERT_TRUE(r.has_latest);
    CU_ASSERT_EQUAL(r.latest.temperature.value, 5);

    o.temperature.value = 6; /* correction */
    CU_ASSERT_EQUAL(nimbus_test_record(writer, "c", &o, 1, &rres, &err), 0);
    r = weather(reader, "c");
    CU_ASSERT_EQUAL(r.latest.temperature.value, 6);
    CU_ASSERT_EQUAL(r.latest.seq, 2);

    nimbus_update_station_request_t ureq = {"c", nimbus_test_station("c", "Hamburg", "DE")};
    nimbus_update_station_response_t ures = {0};
    CU_ASSERT_EQUAL(nimbus_service_update_station(writer, T, &ureq, &ures, &err), 0);
    r = weather(reader, "c");
    CU_ASSERT_STRING_EQUAL(r.station.city, "Hamburg");

    /* Another station never gets this one's report. */
    nimbus_test_create(writer, "d", "Berlin", "DE");
    r = weather(reader, "d");
    CU_ASSERT_STRING_EQUAL(r.station.id, "d");
    CU_ASSERT_FALSE(r.has_latest);

    nimbus_delete_station_request_t dreq = {"c"};
    nimbus_delete_station_response_t dres = {0};
    CU_ASSERT_EQUAL(nimbus_service_delete_station(writer, T, &dreq, &dres, &err), 0);
    nimbus_get_weather_request_t req = {"c"};
    nimbus_get_weather_response_t res = {0};
    CU_ASSERT_EQUAL(nimbus_service_get_weather(reader, T, &req, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    nimbus_service_free(writer);
    nimbus_test_close(core, reader);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"station without observations", test_no_observations},
        {"24 hour window edges", test_window_edges},
        {"no temperatures, no precipitation", test_no_temperatures},
        {"city weather", test_city},
        {"cached reports follow writes", test_cached_reports_follow_writes},
        {NULL, NULL},
    };
    return nimbus_test_run("weather", cases);
}
