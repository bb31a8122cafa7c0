/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rule table and the contract's type tables (see nimbus_fields.h), and
 * the checks generated from them. Field order is the contract's order: it
 * is the order JSON members are written in, the order of the WSDL's
 * xsd:sequence, and the order value checks run in, so the first rule broken
 * is the one reported, whatever the protocol.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "service_internal.h"

const nimbus_rule_t nimbus_rules[NIMBUS_RULE_COUNT] = {
#define NIMBUS_X_RULE_ROW(Name, kind, min, max, def, pattern, unit, example)                       \
    {#Name, NIMBUS_RULE_KIND_##kind, min, max, def, pattern, unit, example},
    NIMBUS_RULES(NIMBUS_X_RULE_ROW)
#undef NIMBUS_X_RULE_ROW
};

const nimbus_rule_t *nimbus_rule_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < NIMBUS_RULE_COUNT; i++) {
        if (strcmp(nimbus_rules[i].name, name) == 0) {
            return &nimbus_rules[i];
        }
    }
    return NULL;
}

/* ---- the contract's types ------------------------------------------------ */

static const nimbus_field_t station_fields[] = {
    NIMBUS__CHARS(nimbus_station_t, "id", id, NIMBUS_FIELD_REQUIRED, StationId),
    NIMBUS__CHARS(nimbus_station_t, "name", name, NIMBUS_FIELD_REQUIRED, StationName),
    NIMBUS__CHARS(nimbus_station_t, "city", city, NIMBUS_FIELD_REQUIRED, City),
    NIMBUS__CHARS(nimbus_station_t, "country", country, NIMBUS_FIELD_REQUIRED, Country),
    NIMBUS__DOUBLE(nimbus_station_t, "latitude", latitude, Latitude),
    NIMBUS__DOUBLE(nimbus_station_t, "longitude", longitude, Longitude),
    NIMBUS__OPT_DOUBLE(nimbus_station_t, "elevation", elevation, Elevation),
};
const nimbus_type_t nimbus_station_type = NIMBUS__TYPE("Station", nimbus_station_t, station_fields);

static const nimbus_field_t observation_fields[] = {
    NIMBUS__CHARS(nimbus_observation_t, "stationId", station_id,
                  NIMBUS_FIELD_EMPTY_ABSENT | NIMBUS_FIELD_REFERENCE, StationId),
    NIMBUS__TIME(nimbus_observation_t, "observedAt", observed_at, NIMBUS_FIELD_NO_AUX,
                 NIMBUS_FIELD_REQUIRED, NULL),
    NIMBUS__OPT_DOUBLE(nimbus_observation_t, "temperature", temperature, Temperature),
    NIMBUS__OPT_DOUBLE(nimbus_observation_t, "humidity", humidity, Humidity),
    NIMBUS__OPT_DOUBLE(nimbus_observation_t, "pressure", pressure, Pressure),
    NIMBUS__OPT_DOUBLE(nimbus_observation_t, "windSpeed", wind_speed, WindSpeed),
    NIMBUS__OPT_DOUBLE(nimbus_observation_t, "windDirection", wind_direction, WindDirection),
    NIMBUS__OPT_DOUBLE(nimbus_observation_t, "precipitation", precipitation, Precipitation),
    NIMBUS__INT64(nimbus_observation_t, "seq", seq, NIMBUS_FIELD_NO_AUX,
                  NIMBUS_FIELD_OUTPUT_ONLY | NIMBUS_FIELD_ZERO_ABSENT),
};
const nimbus_type_t nimbus_observation_type =
    NIMBUS__TYPE("Observation", nimbus_observation_t, observation_fields);

static const nimbus_field_t summary_fields[] = {
    NIMBUS__INT(nimbus_summary_t, "count", count),
    NIMBUS__OPT_DOUBLE_FREE(nimbus_summary_t, "minTemperature", min_temperature),
    NIMBUS__OPT_DOUBLE_FREE(nimbus_summary_t, "maxTemperature", max_temperature),
    NIMBUS__OPT_DOUBLE_FREE(nimbus_summary_t, "meanTemperature", mean_temperature),
    NIMBUS__DOUBLE_FREE(nimbus_summary_t, "totalPrecipitation", total_precipitation),
};
const nimbus_type_t nimbus_summary_type = NIMBUS__TYPE("Summary", nimbus_summary_t, summary_fields);

static const nimbus_field_t report_fields[] = {
    NIMBUS__OBJECT(nimbus_weather_report_t, "station", station, NIMBUS_FIELD_NO_AUX,
                   NIMBUS_FIELD_REQUIRED, nimbus_station_type),
    NIMBUS__OBJECT(nimbus_weather_report_t, "latest", latest,
                   offsetof(nimbus_weather_report_t, has_latest), 0, nimbus_observation_type),
    NIMBUS__OBJECT(nimbus_weather_report_t, "last24h", last24h,
                   offsetof(nimbus_weather_report_t, has_last24h), 0, nimbus_summary_type),
};
const nimbus_type_t nimbus_report_type =
    NIMBUS__TYPE("WeatherReport", nimbus_weather_report_t, report_fields);

const nimbus_field_t *nimbus_type_field(const nimbus_type_t *type, const char *name)
{
    for (size_t i = 0; name != NULL && i < type->count; i++) {
        if (strcmp(type->fields[i].name, name) == 0) {
            return &type->fields[i];
        }
    }
    return NULL;
}

/* ---- reading a field --------------------------------------------------- */

static const void *at(const void *value, size_t offset)
{
    return (const char *)value + offset;
}

static bool flag_at(const void *value, size_t offset)
{
    bool b;
    memcpy(&b, at(value, offset), sizeof b);
    return b;
}

bool nimbus_field_absent(const nimbus_field_t *f, const void *value)
{
    switch (f->kind) {
    case NIMBUS_FIELD_CHARS:
        return (f->flags & NIMBUS_FIELD_EMPTY_ABSENT) &&
               *(const char *)at(value, f->offset) == '\0';
    case NIMBUS_FIELD_STRING: {
        const char *s;
        memcpy(&s, at(value, f->offset), sizeof s);
        return s == NULL;
    }
    case NIMBUS_FIELD_OPT_DOUBLE: {
        nimbus_opt_double_t v;
        memcpy(&v, at(value, f->offset), sizeof v);
        return !v.present;
    }
    case NIMBUS_FIELD_INT64:
        if (f->flags & NIMBUS_FIELD_ZERO_ABSENT) {
            int64_t v;
            memcpy(&v, at(value, f->offset), sizeof v);
            return v == 0;
        }
        return f->aux != NIMBUS_FIELD_NO_AUX && !flag_at(value, f->aux);
    case NIMBUS_FIELD_TIME:
    case NIMBUS_FIELD_OBJECT:
        return f->aux != NIMBUS_FIELD_NO_AUX && !flag_at(value, f->aux);
    case NIMBUS_FIELD_STRINGS: {
        /* None given is the same as an empty list: "every one". */
        size_t n;
        memcpy(&n, at(value, f->aux), sizeof n);
        return n == 0;
    }
    case NIMBUS_FIELD_ARRAY:
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_INT:
        break;
    }
    return false;
}

/* ---- checks ------------------------------------------------------------ */

int nimbus_rule_check_text(const nimbus_rule_t *rule, const char *text, const char *name,
                           nimbus_error_t *err)
{
    switch (rule->kind) {
    case NIMBUS_RULE_KIND_ID:
        return nimbus_station_id_validate(text, name, err);
    case NIMBUS_RULE_KIND_COUNTRY:
        return nimbus_country_validate(text, name, err);
    case NIMBUS_RULE_KIND_TEXT:
        return nimbus__text_validate(text, text == NULL ? 1 : strlen(text) + 1, (long)rule->max,
                                     name, err);
    case NIMBUS_RULE_KIND_OPAQUE: {
        size_t len = text == NULL ? 0 : strlen(text);
        if (len < (size_t)rule->min || len > (size_t)rule->max) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is invalid", name);
        }
        return 0;
    }
    case NIMBUS_RULE_KIND_RANGE:
    case NIMBUS_RULE_KIND_INTEGER:
        break;
    }
    return nimbus_error_set(err, NIMBUS_INTERNAL, "%s: rule %s is not a text rule", name,
                            rule->name);
}

int nimbus_rule_check_number(const nimbus_rule_t *rule, double v, const char *name,
                             nimbus_error_t *err)
{
    if (rule->kind == NIMBUS_RULE_KIND_INTEGER) {
        if (v < rule->min || v > rule->max || v != floor(v)) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be between %g and %g",
                                    name, rule->min, rule->max);
        }
        return 0;
    }
    if (!isfinite(v) || v < rule->min || v > rule->max) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be between %g and %g", name,
                                rule->min, rule->max);
    }
    return 0;
}

/* "what.name", or "name" when what is "". */
static const char *full_name(char *buf, size_t size, const char *what, const char *name)
{
    snprintf(buf, size, "%s%s%s", what, *what ? "." : "", name);
    return buf;
}

/* The checks of one present field; name words a refusal. */
static int field_check(const nimbus_field_t *f, const void *value, const char *name,
                       nimbus_error_t *err)
{
    switch (f->kind) {
    case NIMBUS_FIELD_CHARS: {
        const char *s = at(value, f->offset);
        if (f->rule == NULL) {
            return 0;
        }
        if (f->rule->kind == NIMBUS_RULE_KIND_TEXT) {
            /* Bounded by the array: a value filled without a NUL is too
             * long, never read past. */
            return nimbus__text_validate(s, f->size, (long)f->rule->max, name, err);
        }
        return nimbus_rule_check_text(f->rule, s, name, err);
    }
    case NIMBUS_FIELD_STRING: {
        const char *s;
        memcpy(&s, at(value, f->offset), sizeof s);
        return f->rule != NULL ? nimbus_rule_check_text(f->rule, s, name, err) : 0;
    }
    case NIMBUS_FIELD_DOUBLE: {
        double d;
        memcpy(&d, at(value, f->offset), sizeof d);
        return f->rule != NULL ? nimbus_rule_check_number(f->rule, d, name, err) : 0;
    }
    case NIMBUS_FIELD_OPT_DOUBLE: {
        nimbus_opt_double_t d;
        memcpy(&d, at(value, f->offset), sizeof d);
        return f->rule != NULL ? nimbus_rule_check_number(f->rule, d.value, name, err) : 0;
    }
    case NIMBUS_FIELD_TIME: {
        int64_t t;
        memcpy(&t, at(value, f->offset), sizeof t);
        if (t < NIMBUS_TIME_MIN || t > NIMBUS_TIME_MAX) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "%s must be between 0001-01-01T00:00:00Z and "
                                    "9999-12-31T23:59:59Z",
                                    name);
        }
        return 0;
    }
    case NIMBUS_FIELD_INT64: {
        int64_t v;
        memcpy(&v, at(value, f->offset), sizeof v);
        return f->rule != NULL ? nimbus_rule_check_number(f->rule, (double)v, name, err) : 0;
    }
    case NIMBUS_FIELD_OBJECT:
        return nimbus_type_validate(f->type, at(value, f->offset), name, err);
    case NIMBUS_FIELD_STRINGS: {
        /* The count, then each item by the rule, named as the JSON array's
         * item ("stations[2]"), as a subscription's filter is. */
        const char *const *items;
        size_t n;
        memcpy(&items, at(value, f->offset), sizeof items);
        memcpy(&n, at(value, f->aux), sizeof n);
        if (nimbus_array_count_validate(f, n, err) != 0) {
            return -1;
        }
        for (size_t i = 0; f->rule != NULL && i < n; i++) {
            char item[192];
            snprintf(item, sizeof item, "%s[%zu]", name, i);
            if (nimbus_rule_check_text(f->rule, items[i], item, err) != 0) {
                return -1;
            }
        }
        return 0;
    }
    case NIMBUS_FIELD_INT:
    case NIMBUS_FIELD_ARRAY:
        break;
    }
    return 0;
}

static int field_validate(const nimbus_field_t *f, const void *value, const char *what,
                          nimbus_error_t *err)
{
    if ((f->flags & (NIMBUS_FIELD_OUTPUT_ONLY | NIMBUS_FIELD_REFERENCE)) ||
        nimbus_field_absent(f, value)) {
        return 0;
    }
    /* The checks are pure: a valid value (nearly every one) is checked
     * once, and the full name ("observations[3].temperature") is written
     * only to word a refusal. */
    nimbus_error_t scratch;
    if (field_check(f, value, f->name, &scratch) == 0) {
        return 0;
    }
    char name[160];
    full_name(name, sizeof name, what, f->name);
    return field_check(f, value, name, err);
}

int nimbus_type_validate(const nimbus_type_t *type, const void *value, const char *what,
                         nimbus_error_t *err)
{
    for (size_t i = 0; i < type->count; i++) {
        if (field_validate(&type->fields[i], value, what, err) != 0) {
            return -1;
        }
    }
    return 0;
}

int nimbus_field_set_text(const nimbus_field_t *f, void *value, const char *name, const char *text,
                          nimbus_error_t *err)
{
    if (text == NULL) {
        text = "";
    }
    size_t len = strlen(text);
    if (len >= f->size) {
        /* Longer than any valid value, so the field's own rule refuses it
         * and words the refusal as for any other bad value. */
        if (f->rule != NULL && nimbus_rule_check_text(f->rule, text, name, err) != 0) {
            return -1;
        }
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is too long", name);
    }
    memcpy((char *)value + f->offset, text, len + 1);
    return 0;
}
