/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The contract's field rules, enforced here and nowhere else, so SOAP, REST
 * and WebSocket refuse the same input with the same message. The bounds
 * come from the rule table (nimbus_fields.h) and the checks run over the
 * type tables (fields.c); this file holds what a table cannot: text must be
 * valid UTF-8 without control characters (they cannot travel in XML 1.0),
 * lengths count code points, a station id's alphabet, and country is an
 * assigned ISO 3166-1 alpha-2 code or XK (docs/data-rules.md lists the
 * choices).
 */
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "service_internal.h"

/* For each first letter A..Z, the second letters that make an assigned
 * ISO 3166-1 alpha-2 code (the iso-codes list, 249 codes), plus XK for
 * Kosovo, which is user-assigned but in common use. */
static const char *const country_table[26] = {
    "DEFGILMOQRSTUWXZ",        /* A */
    "ABDEFGHIJLMNOQRSTVWYZ",   /* B */
    "ACDFGHIKLMNORUVWXYZ",     /* C */
    "EJKMOZ",                  /* D */
    "CEGHRST",                 /* E */
    "IJKMOR",                  /* F */
    "ABDEFGHILMNPQRSTUWY",     /* G */
    "KMNRTU",                  /* H */
    "DELMNOQRST",              /* I */
    "EMOP",                    /* J */
    "EGHIMNPRWYZ",             /* K */
    "ABCIKRSTUVY",             /* L */
    "ACDEFGHKLMNOPQRSTUVWXYZ", /* M */
    "ACEFGILOPRUZ",            /* N */
    "M",                       /* O */
    "AEFGHKLMNRSTWY",          /* P */
    "A",                       /* Q */
    "EOSUW",                   /* R */
    "ABCDEGHIJKLMNORSTVXYZ",   /* S */
    "CDFGHJKLMNORTVWZ",        /* T */
    "AGMSYZ",                  /* U */
    "ACEGINU",                 /* V */
    "FS",                      /* W */
    "K",                       /* X */
    "ET",                      /* Y */
    "AMW",                     /* Z */
};

bool nimbus__country_is_assigned(const char *code)
{
    if (code == NULL || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z' ||
        code[2] != '\0') {
        return false;
    }
    return strchr(country_table[code[0] - 'A'], code[1]) != NULL;
}

int nimbus_integral(double d, int64_t *out)
{
    if (!isfinite(d) || d != floor(d)) {
        return -1;
    }
    /* 2^63 is exactly representable; anything from it up does not fit. */
    *out = d >= 9223372036854775808.0   ? INT64_MAX
           : d < -9223372036854775808.0 ? INT64_MIN
                                        : (int64_t)d;
    return 0;
}

int nimbus_integral_text(const char *text, int64_t *out)
{
    /* Plain digits first: exact for every int64, and the common case. */
    const char *p = text[0] == '-' ? text + 1 : text;
    if (*p < '0' || *p > '9') {
        return -1;
    }
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (*end == '\0') {
        *out = errno == ERANGE ? (n < 0 ? INT64_MIN : INT64_MAX) : n;
        return 0;
    }
    /* "10.0", "1e3": a number, integral or not. */
    double d = strtod(text, &end);
    if (*end != '\0') {
        return -1;
    }
    return nimbus_integral(d, out);
}

long nimbus_utf8_length(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    long count = 0;
    size_t i = 0;
    if (s == NULL) {
        return len == 0 ? 0 : -1;
    }
    while (i < len) {
        unsigned char c = p[i];
        size_t n;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            count++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return -1; /* continuation byte, overlong C0/C1, or past F4 */
        }
        if (len - i <= n) {
            return -1;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80) {
                return -1;
            }
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return -1;
        }
        i += n + 1;
        count++;
    }
    return count;
}

int nimbus__text_validate(const char *s, size_t size, long max, const char *name,
                          nimbus_error_t *err)
{
    size_t len = s == NULL ? 0 : strnlen(s, size);
    if (len == size) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be 1-%ld characters", name,
                                max);
    }
    long chars = nimbus_utf8_length(s, len);
    if (chars < 0) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be valid UTF-8", name);
    }
    if (chars < 1 || chars > max) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be 1-%ld characters", name,
                                max);
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "%s must not contain control characters", name);
        }
        /* U+FFFE and U+FFFF (EF BF BE/BF) are not allowed in XML either. */
        if (c == 0xEF && i + 2 < len && (unsigned char)s[i + 1] == 0xBF &&
            ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF)) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "%s must not contain U+FFFE or U+FFFF", name);
        }
    }
    return 0;
}

int nimbus_station_id_validate(const char *id, const char *what, nimbus_error_t *err)
{
    const nimbus_rule_t *rule = NIMBUS_RULE(StationId);
    if (what == NULL) {
        what = "id";
    }
    size_t max = (size_t)rule->max;
    size_t len = id == NULL ? 0 : strnlen(id, max + 1);
    bool ok = len >= (size_t)rule->min && len <= max;
    for (size_t i = 0; ok && i < len; i++) {
        char c = id[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    }
    if (!ok) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "%s must be 1-%zu characters of A-Z, a-z, 0-9, '_' and '-'", what,
                                max);
    }
    return 0;
}

int nimbus_city_validate(const char *city, const char *what, nimbus_error_t *err)
{
    return nimbus_rule_check_text(NIMBUS_RULE(City), city, what ? what : "city", err);
}

int nimbus_country_validate(const char *country, const char *what, nimbus_error_t *err)
{
    if (what == NULL) {
        what = "country";
    }
    if (!nimbus__country_is_assigned(country)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "%s must be an ISO 3166-1 alpha-2 code of two upper-case "
                                "letters, such as DE",
                                what);
    }
    return 0;
}

/* Sets the CHARS field `name` of type from text, naming it "what.name". */
static int set_text(const nimbus_type_t *type, void *value, const char *what, const char *name,
                    const char *text, nimbus_error_t *err)
{
    char full[160];
    snprintf(full, sizeof full, "%s.%s", what, name);
    return nimbus_field_set_text(nimbus_type_field(type, name), value, full, text, err);
}

int nimbus_station_set_text(nimbus_station_t *out, const char *what, const char *id,
                            const char *name, const char *city, const char *country,
                            nimbus_error_t *err)
{
    const nimbus_type_t *t = &nimbus_station_type;
    if (set_text(t, out, what, "id", id, err) != 0 || set_text(t, out, what, "name", name, err) ||
        set_text(t, out, what, "city", city, err) != 0 ||
        set_text(t, out, what, "country", country, err) != 0) {
        return -1;
    }
    return 0;
}

int nimbus_observation_set_station(nimbus_observation_t *out, const char *what,
                                   const char *station_id, nimbus_error_t *err)
{
    return set_text(&nimbus_observation_type, out, what, "stationId", station_id, err);
}

int nimbus_array_count_validate(const nimbus_field_t *field, size_t count, nimbus_error_t *err)
{
    if (count < field->min_items || (field->max_items != 0 && count > field->max_items)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must hold %zu-%zu %s",
                                field->name, field->min_items, field->max_items, field->name);
    }
    return 0;
}

int nimbus_record_batch_validate(size_t count, nimbus_error_t *err)
{
    return nimbus_array_count_validate(
        nimbus_type_field(nimbus_op_table[NIMBUS_OP_RecordObservations].request, "observations"),
        count, err);
}

int nimbus_station_validate(const nimbus_station_t *s, nimbus_error_t *err)
{
    if (s == NULL) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "station is required");
    }
    return nimbus_type_validate(&nimbus_station_type, s, "station", err);
}

int nimbus_observation_validate(const nimbus_observation_t *o, const char *what,
                                nimbus_error_t *err)
{
    if (what == NULL) {
        what = "observation";
    }
    if (o == NULL) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is required", what);
    }
    return nimbus_type_validate(&nimbus_observation_type, o, what, err);
}

static bool opt_same(const nimbus_opt_double_t *a, const nimbus_opt_double_t *b)
{
    return a->present == b->present && (!a->present || a->value == b->value);
}

/* The observation upsert's WHERE (store.c, store_pg.c: OBS_UPSERT) says
 * the same of a stored row: change one, change both. */
bool nimbus_observation_same_values(const nimbus_observation_t *a, const nimbus_observation_t *b)
{
    return a->observed_at == b->observed_at && opt_same(&a->temperature, &b->temperature) &&
           opt_same(&a->humidity, &b->humidity) && opt_same(&a->pressure, &b->pressure) &&
           opt_same(&a->wind_speed, &b->wind_speed) &&
           opt_same(&a->wind_direction, &b->wind_direction) &&
           opt_same(&a->precipitation, &b->precipitation);
}
