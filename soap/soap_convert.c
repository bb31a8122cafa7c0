/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gSOAP structs <-> core types. Pure data movement: no field rule is
 * checked here (the core's validators do that for every protocol alike).
 * The only refusals are values the core types cannot hold: a string longer
 * than its fixed array (necessarily longer than the contract allows) and a
 * dateTime nimbus_time_parse cannot read. Output is allocated in the gSOAP
 * context, so soap_end() frees a whole response at once.
 */
#include <string.h>

#include "soap_internal.h"

static nimbus_opt_double_t opt_in(const double *v)
{
    nimbus_opt_double_t o = {v != NULL, v ? *v : 0.0};
    return o;
}

int nimbus__soap_station_in(const struct nimbus__Station *in, const char *what,
                            nimbus_station_t *out, nimbus_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (!in) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is required", what);
    }
    if (nimbus_station_set_text(out, what, in->id, in->name, in->city, in->country, err) != 0) {
        return -1;
    }
    out->latitude = in->latitude;
    out->longitude = in->longitude;
    out->elevation = opt_in(in->elevation);
    return 0;
}

int nimbus__soap_time_in(const char *text, const char *what, bool *has, int64_t *out,
                         nimbus_error_t *err)
{
    *has = false;
    *out = 0;
    if (!text) {
        return 0;
    }
    if (nimbus_time_parse(text, what, out, err) != 0) {
        return -1;
    }
    *has = true;
    return 0;
}

int nimbus__soap_observation_in(const struct nimbus__Observation *in, const char *what,
                                nimbus_observation_t *out, nimbus_error_t *err)
{
    memset(out, 0, sizeof *out);
    if (nimbus_observation_set_station(out, what, in->stationId, err) != 0) {
        return -1;
    }
    char field[64];
    snprintf(field, sizeof field, "%s.observedAt", what);
    bool has = false;
    if (nimbus__soap_time_in(in->observedAt, field, &has, &out->observed_at, err)) {
        return -1;
    }
    if (!has) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is required", field);
    }
    out->temperature = opt_in(in->temperature);
    out->humidity = opt_in(in->humidity);
    out->pressure = opt_in(in->pressure);
    out->wind_speed = opt_in(in->windSpeed);
    out->wind_direction = opt_in(in->windDirection);
    out->precipitation = opt_in(in->precipitation);
    return 0; /* seq is output only: ignored on input */
}

double *nimbus__soap_opt_double_out(struct soap *soap, nimbus_opt_double_t v)
{
    if (!v.present) {
        return NULL;
    }
    double *d = soap_malloc(soap, sizeof *d);
    if (d) {
        *d = v.value;
    }
    return d;
}

/* An optional double that failed to allocate is indistinguishable from an
 * absent one, so callers check presence against the source afterwards. */
static bool opt_ok(nimbus_opt_double_t v, const double *out)
{
    return !v.present || out != NULL;
}

int nimbus__soap_station_fill(struct soap *soap, const nimbus_station_t *in,
                              struct nimbus__Station *out)
{
    soap_default_nimbus__Station(soap, out);
    out->id = soap_strdup(soap, in->id);
    out->name = soap_strdup(soap, in->name);
    out->city = soap_strdup(soap, in->city);
    out->country = soap_strdup(soap, in->country);
    out->latitude = in->latitude;
    out->longitude = in->longitude;
    out->elevation = nimbus__soap_opt_double_out(soap, in->elevation);
    if (!out->id || !out->name || !out->city || !out->country ||
        !opt_ok(in->elevation, out->elevation)) {
        return -1;
    }
    return 0;
}

struct nimbus__Station *nimbus__soap_station_out(struct soap *soap, const nimbus_station_t *in)
{
    struct nimbus__Station *s = soap_new_nimbus__Station(soap, -1);
    if (!s || nimbus__soap_station_fill(soap, in, s)) {
        return NULL;
    }
    return s;
}

int nimbus__soap_observation_out(struct soap *soap, const nimbus_observation_t *in,
                                 struct nimbus__Observation *out)
{
    soap_default_nimbus__Observation(soap, out);
    char *when = soap_malloc(soap, NIMBUS_TIME_TEXT_SIZE);
    if (!when) {
        return -1;
    }
    out->observedAt = nimbus_time_format(in->observed_at, when);
    if (in->station_id[0] && !(out->stationId = soap_strdup(soap, in->station_id))) {
        return -1;
    }
    out->temperature = nimbus__soap_opt_double_out(soap, in->temperature);
    out->humidity = nimbus__soap_opt_double_out(soap, in->humidity);
    out->pressure = nimbus__soap_opt_double_out(soap, in->pressure);
    out->windSpeed = nimbus__soap_opt_double_out(soap, in->wind_speed);
    out->windDirection = nimbus__soap_opt_double_out(soap, in->wind_direction);
    out->precipitation = nimbus__soap_opt_double_out(soap, in->precipitation);
    if (!opt_ok(in->temperature, out->temperature) || !opt_ok(in->humidity, out->humidity) ||
        !opt_ok(in->pressure, out->pressure) || !opt_ok(in->wind_speed, out->windSpeed) ||
        !opt_ok(in->wind_direction, out->windDirection) ||
        !opt_ok(in->precipitation, out->precipitation)) {
        return -1;
    }
    if (in->seq > 0) {
        if (!(out->seq = soap_malloc(soap, sizeof *out->seq))) {
            return -1;
        }
        *out->seq = in->seq;
    }
    return 0;
}

static struct nimbus__Summary *summary_out(struct soap *soap, const nimbus_summary_t *in)
{
    struct nimbus__Summary *s = soap_new_nimbus__Summary(soap, -1);
    if (!s) {
        return NULL;
    }
    s->count = in->count;
    s->minTemperature = nimbus__soap_opt_double_out(soap, in->min_temperature);
    s->maxTemperature = nimbus__soap_opt_double_out(soap, in->max_temperature);
    s->meanTemperature = nimbus__soap_opt_double_out(soap, in->mean_temperature);
    s->totalPrecipitation = in->total_precipitation;
    if (!opt_ok(in->min_temperature, s->minTemperature) ||
        !opt_ok(in->max_temperature, s->maxTemperature) ||
        !opt_ok(in->mean_temperature, s->meanTemperature)) {
        return NULL;
    }
    return s;
}

struct nimbus__WeatherReport *nimbus__soap_report_out(struct soap *soap,
                                                      const nimbus_weather_report_t *in,
                                                      struct nimbus__WeatherReport *out)
{
    soap_default_nimbus__WeatherReport(soap, out);
    if (!(out->station = nimbus__soap_station_out(soap, &in->station))) {
        return NULL;
    }
    if (in->has_latest) {
        out->latest = soap_new_nimbus__Observation(soap, -1);
        if (!out->latest || nimbus__soap_observation_out(soap, &in->latest, out->latest)) {
            return NULL;
        }
    }
    if (in->has_last24h && !(out->last24h = summary_out(soap, &in->last24h))) {
        return NULL;
    }
    return out;
}
