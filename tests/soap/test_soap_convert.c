/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * soap/soap_convert.c: gSOAP structs to core types and back. Values the core
 * types cannot hold are refused (never truncated into something valid);
 * optional fields stay absent both ways; time text goes through the core's
 * parser and formatter.
 */
#include "nimbus_cunit.h"
#include <string.h>

#include "nimbus_soap_namespaces.h"
#include "soap_internal.h"

static struct soap *soap;

static void test_station_in(void)
{
    double elevation = 12.5;
    struct nimbus__Station in = {"st-1", "Name", "Zürich", "CH", 47.37, 8.54, &elevation};
    nimbus_station_t out;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus__soap_station_in(&in, "station", &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out.city, "Zürich");
    CU_ASSERT_TRUE(out.elevation.present);
    CU_ASSERT_EQUAL(out.elevation.value, 12.5);
    in.elevation = NULL;
    CU_ASSERT_EQUAL(nimbus__soap_station_in(&in, "station", &out, &err), 0);
    CU_ASSERT_FALSE(out.elevation.present);

    char long_id[64];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    in.id = long_id; /* 63 > 32: refused, not cut to a valid 32 */
    CU_ASSERT_EQUAL(nimbus__soap_station_in(&in, "station", &out, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "station.id"));
    CU_ASSERT_EQUAL(nimbus__soap_station_in(NULL, "station", &out, &err), -1);
}

static void test_observation_in(void)
{
    double t = -3.25;
    struct nimbus__Observation in;
    memset(&in, 0, sizeof in);
    in.observedAt = "2024-05-01T20:00:00.5+08:00";
    in.temperature = &t;
    nimbus_observation_t out;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus__soap_observation_in(&in, "observations[0]", &out, &err), 0);
    char when[NIMBUS_TIME_TEXT_SIZE];
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(out.observed_at, when), "2024-05-01T12:00:00Z");
    CU_ASSERT_STRING_EQUAL(out.station_id, ""); /* omitted: taken from the call */
    CU_ASSERT_TRUE(out.temperature.present);
    CU_ASSERT_FALSE(out.humidity.present);

    in.observedAt = "yesterday";
    CU_ASSERT_EQUAL(nimbus__soap_observation_in(&in, "observations[0]", &out, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    in.observedAt = NULL;
    CU_ASSERT_EQUAL(nimbus__soap_observation_in(&in, "observations[0]", &out, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "observations[0].observedAt"));
}

static void test_report_out(void)
{
    nimbus_weather_report_t r;
    memset(&r, 0, sizeof r);
    strcpy(r.station.id, "st-2");
    strcpy(r.station.name, "N");
    strcpy(r.station.city, "C");
    strcpy(r.station.country, "US");
    struct nimbus__WeatherReport out;
    CU_ASSERT_PTR_NOT_NULL_FATAL(nimbus__soap_report_out(soap, &r, &out));
    CU_ASSERT_STRING_EQUAL(out.station->id, "st-2");
    CU_ASSERT_PTR_NULL(out.station->elevation); /* absent stays absent */
    CU_ASSERT_PTR_NULL(out.latest);
    CU_ASSERT_PTR_NULL(out.last24h);

    r.has_latest = true;
    r.latest.observed_at = 1714564800; /* 2024-05-01T12:00:00Z */
    r.latest.seq = 7;
    r.latest.humidity = (nimbus_opt_double_t){true, 40.0801};
    r.has_last24h = true;
    r.last24h.count = 1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(nimbus__soap_report_out(soap, &r, &out));
    CU_ASSERT_STRING_EQUAL(out.latest->observedAt, "2024-05-01T12:00:00Z");
    CU_ASSERT_PTR_NOT_NULL_FATAL(out.latest->seq);
    CU_ASSERT_EQUAL(*out.latest->seq, 7);
    CU_ASSERT_EQUAL(*out.latest->humidity, 40.0801);
    CU_ASSERT_PTR_NULL(out.latest->temperature);
    CU_ASSERT_PTR_NULL(out.last24h->meanTemperature);
    CU_ASSERT_EQUAL(out.last24h->count, 1);
    /* The custom serializer prints the shortest round-trip text. */
    CU_ASSERT_STRING_EQUAL(soap_xsd__double2s(soap, 40.0801), "40.0801");
    CU_ASSERT_STRING_EQUAL(soap_xsd__double2s(soap, 0.1 + 0.2), "0.30000000000000004");
}

int main(void)
{
    soap = soap_new();
    if (!soap) {
        return 1;
    }
    soap_set_namespaces(soap, nimbus_soap11_namespaces);
    static const nimbus_test_case_t cases[] = {
        {"station in", test_station_in},
        {"observation in", test_observation_in},
        {"report out", test_report_out},
        {NULL, NULL},
    };
    int status = nimbus_test_run("soap_convert", cases);
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
    return status;
}
