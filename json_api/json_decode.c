/*
 * JSON text and jansson values to core types (see nimbus_json.h). Only the
 * JSON shape is checked here: member names, JSON types, presence of the
 * members a value cannot be built without, and that a string fits the
 * core's fixed-size field. Whether a value keeps the contract's rules is
 * decided by the core's validators, so SOAP, REST and WebSocket refuse the
 * same input with the same message.
 */
#include "json_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Depth of v: 0 for a scalar, 1 + the deepest child for a container. Stops
 * counting past limit so a hostile document costs no more than it must. */
static int depth_of(json_t *v, int limit)
{
    if (limit < 0)
        return 1;
    int deepest = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child)
        {
            int d = depth_of(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            int d = depth_of(child, limit - 1);
            if (d > deepest)
                deepest = d;
        }
        return deepest + 1;
    }
    return 0;
}

json_t *nimbus_json_parse(const char *text, size_t len, nimbus_error_t *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(text ? text : "", text ? len : 0,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "malformed JSON at line %d, column %d: %s",
                         jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (depth_of(v, NIMBUS_JSON_MAX_DEPTH) > NIMBUS_JSON_MAX_DEPTH) {
        json_decref(v);
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "JSON nested deeper than %d levels",
                         NIMBUS_JSON_MAX_DEPTH);
        return NULL;
    }
    return v;
}

/* ---- members ----------------------------------------------------------- */

int nimbus__json_check_members(json_t *obj, const char *what, const char *const *allowed,
                               nimbus_error_t *err)
{
    if (!json_is_object(obj)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be a JSON object", what);
    }
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(allowed[i], key) == 0;
        if (!known) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s%sunknown member \"%.64s\"",
                                    what, *what ? ": " : "", key);
        }
    }
    return 0;
}

/* obj[key], or NULL when absent or null. */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static int name_error(nimbus_error_t *err, const char *what, const char *key, const char *text)
{
    return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s%s%s %s", what, *what ? "." : "", key,
                            text);
}

int nimbus__json_get_string(json_t *obj, const char *what, const char *key, bool required,
                            const char **out, nimbus_error_t *err)
{
    *out = NULL;
    json_t *v = member(obj, key);
    if (!v)
        return required ? name_error(err, what, key, "is required") : 0;
    if (!json_is_string(v))
        return name_error(err, what, key, "must be a string");
    *out = json_string_value(v);
    return 0;
}

int nimbus__json_get_double(json_t *obj, const char *what, const char *key, bool required,
                            nimbus_opt_double_t *out, nimbus_error_t *err)
{
    out->present = false;
    out->value = 0;
    json_t *v = member(obj, key);
    if (!v)
        return required ? name_error(err, what, key, "is required") : 0;
    if (!json_is_number(v))
        return name_error(err, what, key, "must be a number");
    out->present = true;
    out->value = json_number_value(v);
    return 0;
}

int nimbus__json_get_integer(json_t *obj, const char *what, const char *key, bool *has,
                             int64_t *out, nimbus_error_t *err)
{
    *has = false;
    *out = 0;
    json_t *v = member(obj, key);
    if (!v)
        return 0;
    /* 10.0 is an integer a person may well write; 10.5 is not. */
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9.2e18 || d > 9.2e18)
            return name_error(err, what, key, "must be an integer");
        *out = (int64_t)d;
    } else if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else {
        return name_error(err, what, key, "must be an integer");
    }
    *has = true;
    return 0;
}

int nimbus__json_get_time(json_t *obj, const char *what, const char *key, bool *has, int64_t *out,
                          nimbus_error_t *err)
{
    const char *text;
    *has = false;
    *out = 0;
    if (nimbus__json_get_string(obj, what, key, false, &text, err) != 0)
        return -1;
    if (!text)
        return 0;
    char name[96];
    snprintf(name, sizeof name, "%s%s%s", what, *what ? "." : "", key);
    if (nimbus_time_parse(text, name, out, err) != 0)
        return -1;
    *has = true;
    return 0;
}

/* ---- types -------------------------------------------------------------- */

static const char *const station_members[] = {"id",       "name",      "city",      "country",
                                              "latitude", "longitude", "elevation", NULL};

int nimbus_json_station_decode(json_t *obj, const char *what, bool id_required,
                               nimbus_station_t *out, nimbus_error_t *err)
{
    memset(out, 0, sizeof *out);
    const char *id, *name, *city, *country;
    nimbus_opt_double_t lat, lon;
    if (nimbus__json_check_members(obj, what, station_members, err) != 0 ||
        nimbus__json_get_string(obj, what, "id", id_required, &id, err) != 0 ||
        nimbus__json_get_string(obj, what, "name", true, &name, err) != 0 ||
        nimbus__json_get_string(obj, what, "city", true, &city, err) != 0 ||
        nimbus__json_get_string(obj, what, "country", true, &country, err) != 0 ||
        nimbus__json_get_double(obj, what, "latitude", true, &lat, err) != 0 ||
        nimbus__json_get_double(obj, what, "longitude", true, &lon, err) != 0 ||
        nimbus__json_get_double(obj, what, "elevation", false, &out->elevation, err) != 0) {
        return -1;
    }
    if (nimbus_station_set_text(out, what, id, name, city, country, err) != 0)
        return -1;
    out->latitude = lat.value;
    out->longitude = lon.value;
    return 0;
}

static const char *const observation_members[] = {
    "stationId", "observedAt",    "temperature",   "humidity", "pressure",
    "windSpeed", "windDirection", "precipitation", "seq",      NULL};

int nimbus_json_observation_decode(json_t *obj, const char *what, nimbus_observation_t *out,
                                   nimbus_error_t *err)
{
    memset(out, 0, sizeof *out);
    const char *station_id;
    bool has_time;
    nimbus_opt_double_t seq;
    if (nimbus__json_check_members(obj, what, observation_members, err) != 0 ||
        nimbus__json_get_string(obj, what, "stationId", false, &station_id, err) != 0 ||
        nimbus__json_get_time(obj, what, "observedAt", &has_time, &out->observed_at, err) != 0 ||
        nimbus__json_get_double(obj, what, "temperature", false, &out->temperature, err) != 0 ||
        nimbus__json_get_double(obj, what, "humidity", false, &out->humidity, err) != 0 ||
        nimbus__json_get_double(obj, what, "pressure", false, &out->pressure, err) != 0 ||
        nimbus__json_get_double(obj, what, "windSpeed", false, &out->wind_speed, err) != 0 ||
        nimbus__json_get_double(obj, what, "windDirection", false, &out->wind_direction, err) !=
            0 ||
        nimbus__json_get_double(obj, what, "precipitation", false, &out->precipitation, err) != 0 ||
        /* seq is output only: read for its type, then ignored. */
        nimbus__json_get_double(obj, what, "seq", false, &seq, err) != 0) {
        return -1;
    }
    if (!has_time)
        return name_error(err, what, "observedAt", "is required");
    return nimbus_observation_set_station(out, what, station_id, err);
}
