/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * GetWeather and GetCityWeather: the hot read path. A report is the station,
 * its latest observation (greatest observedAt, one index seek backwards) and
 * a summary of the 24 hours ending at that observation, window
 * (latest - 24 h, latest], computed by SQLite aggregates over the
 * (station_id, observed_at) primary key, so no observation is copied out.
 *
 * Each service keeps the reports it computed, tagged with the core's write
 * generation; any committed write moves the generation on, so a report is
 * reused only while nothing at all has been written since. Between writes
 * (the common case for a read-heavy API) GetWeather costs no SQL at all.
 */
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"

#define WINDOW_SECONDS (24 * 3600)

int nimbus__weather_fill(nimbus_service_t *svc, nimbus_weather_report_t *report,
                         nimbus_error_t *err)
{
    report->has_latest = false;
    report->has_last24h = false;
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_OBS_LATEST, err);
    if (st == NULL) {
        return -1;
    }
    nimbus__bind_text(st, 1, report->station.id);
    int rc = nimbus__step(st);
    if (rc == NIMBUS__STEP_ROW) {
        nimbus__observation_from_row(st, 0, &report->latest);
        report->has_latest = true;
    }
    nimbus__reset(st);
    if (rc == NIMBUS__STEP_DONE) {
        return 0;
    }
    if (rc != NIMBUS__STEP_ROW) {
        return nimbus__store_error(svc, rc, "reading the latest observation", err);
    }
    st = nimbus__stmt(svc, NIMBUS__STMT_OBS_SUMMARY, err);
    if (st == NULL) {
        return -1;
    }
    int64_t end = report->latest.observed_at;
    nimbus__bind_text(st, 1, report->station.id);
    nimbus__bind_int64(st, 2, end - WINDOW_SECONDS);
    nimbus__bind_int64(st, 3, end);
    rc = nimbus__step(st);
    if (rc != NIMBUS__STEP_ROW) {
        nimbus__reset(st);
        return nimbus__store_error(svc, rc, "summarising observations", err);
    }
    nimbus_summary_t *sum = &report->last24h;
    memset(sum, 0, sizeof(*sum));
    sum->count = (int)nimbus__col_int64(st, 0);
    if (nimbus__col_int64(st, 1) > 0) {
        sum->min_temperature = (nimbus_opt_double_t){true, nimbus__col_double(st, 2)};
        sum->max_temperature = (nimbus_opt_double_t){true, nimbus__col_double(st, 3)};
        sum->mean_temperature = (nimbus_opt_double_t){true, nimbus__col_double(st, 4)};
    }
    sum->total_precipitation = nimbus__col_double(st, 5);
    nimbus__reset(st);
    report->has_last24h = true;
    return 0;
}

/* FNV-1a of the id, folded onto the cache's slots. */
static size_t slot_index(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h % NIMBUS__WEATHER_CACHE_SLOTS;
}

int nimbus_service_get_weather(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_get_weather_request_t *req,
                               nimbus_get_weather_response_t *res, nimbus_error_t *err)
{
    if (req == NULL || res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "GetWeather called without a request");
    }
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(GetWeather), err) != 0 ||
        nimbus_station_id_validate(req->station_id, "stationId", err) != 0) {
        return -1;
    }
    /* The stamp is taken before the snapshot, so the snapshot holds at
     * least every write it counts: an entry kept under it is never older
     * than what it claims. */
    nimbus__weather_slot_t *slot = &svc->weather_cache[slot_index(req->station_id)];
    if (nimbus_core_stamp_fresh(svc->core, &slot->stamp) &&
        strcmp(slot->report.station.id, req->station_id) == 0) {
        res->report = slot->report;
        return 0;
    }
    nimbus_stamp_t stamp;
    nimbus_core_stamp(svc->core, NIMBUS_OP_GetWeather, &(nimbus_request_t){.get_weather = *req},
                      &stamp);
    /* All reads in one snapshot, so the summary matches the latest. */
    if (nimbus__read_begin(svc, err) != 0) {
        return -1;
    }
    int ret = -1;
    int found = nimbus__station_get(svc, req->station_id, &res->report.station, err);
    if (found == 0) {
        nimbus_error_set(err, NIMBUS_NOT_FOUND, "station %s does not exist", req->station_id);
    } else if (found > 0) {
        ret = nimbus__weather_fill(svc, &res->report, err);
    }
    nimbus__read_end(svc);
    if (ret == 0) {
        slot->stamp = stamp;
        slot->report = res->report;
    }
    return ret;
}

int nimbus_service_get_city_weather(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                    const nimbus_get_city_weather_request_t *req,
                                    nimbus_get_city_weather_response_t *res, nimbus_error_t *err)
{
    if (req == NULL || res == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "GetCityWeather called without a request");
    }
    const char *country = req->country != NULL && req->country[0] != '\0' ? req->country : NULL;
    if (nimbus_core_authorize(svc->core, caller, NIMBUS__ROLE(GetCityWeather), err) != 0 ||
        nimbus_city_validate(req->city, "city", err) != 0 ||
        (country != NULL && nimbus_country_validate(country, "country", err) != 0)) {
        return -1;
    }
    if (nimbus__read_begin(svc, err) != 0) {
        return -1;
    }
    nimbus_weather_report_t *reports = NULL;
    size_t count = 0, cap = 0;
    int rc;
    nimbus__st_t *st = nimbus__stmt(svc, NIMBUS__STMT_STATION_CITY, err);
    if (st == NULL) {
        goto fail;
    }
    nimbus__bind_text(st, 1, req->city);
    if (country != NULL) {
        nimbus__bind_text(st, 2, country);
    }
    while ((rc = nimbus__step(st)) == NIMBUS__STEP_ROW) {
        nimbus_weather_report_t *grown = nimbus_grow(reports, &cap, count + 1, sizeof(*reports), 8);
        if (grown == NULL) {
            nimbus__reset(st);
            nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading reports");
            goto fail;
        }
        reports = grown;
        memset(&reports[count], 0, sizeof(reports[count]));
        nimbus__station_from_row(st, 0, &reports[count++].station);
    }
    nimbus__reset(st);
    if (rc != NIMBUS__STEP_DONE) {
        nimbus__store_error(svc, rc, "listing the city's stations", err);
        goto fail;
    }
    if (count == 0) {
        nimbus_error_set(err, NIMBUS_NOT_FOUND, "no station in city %s%s%s", req->city,
                         country ? ", " : "", country ? country : "");
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        if (nimbus__weather_fill(svc, &reports[i], err) != 0) {
            goto fail;
        }
    }
    nimbus__read_end(svc);
    res->reports = reports;
    res->count = count;
    return 0;
fail:
    nimbus__read_end(svc);
    free(reports);
    return -1;
}

void nimbus_get_weather_response_cleanup(nimbus_get_weather_response_t *res)
{
    (void)res; /* owns no heap memory */
}

void nimbus_get_city_weather_response_cleanup(nimbus_get_city_weather_response_t *res)
{
    if (res == NULL) {
        return;
    }
    free(res->reports);
    res->reports = NULL;
    res->count = 0;
}
