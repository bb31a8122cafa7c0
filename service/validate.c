/*
 * The contract's field rules, enforced here and nowhere else, so SOAP, REST
 * and WebSocket refuse the same input with the same message. Text must be
 * valid UTF-8 without control characters (they cannot travel in XML 1.0),
 * lengths count code points, numbers must be finite and inside the
 * contract's range, and country is an assigned ISO 3166-1 alpha-2 code or
 * XK (docs/data-rules.md lists the choices).
 */
#include <math.h>
#include <stdio.h>
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

/* Checks a free-text field of 1..max code points held in at most `size`
 * bytes (the char array of a struct, or a borrowed string: strnlen never
 * reads past its NUL). `name` is the field's full name for the message. */
static int text_validate(const char *s, size_t size, long max, const char *name,
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

static int range_validate(double v, double lo, double hi, const char *what, const char *field,
                          nimbus_error_t *err)
{
    if (!isfinite(v) || v < lo || v > hi) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s%s%s must be between %g and %g",
                                what, *what ? "." : "", field, lo, hi);
    }
    return 0;
}

static int opt_range_validate(const nimbus_opt_double_t *v, double lo, double hi, const char *what,
                              const char *field, nimbus_error_t *err)
{
    return v->present ? range_validate(v->value, lo, hi, what, field, err) : 0;
}

int nimbus_station_id_validate(const char *id, const char *what, nimbus_error_t *err)
{
    if (what == NULL) {
        what = "id";
    }
    size_t len = id == NULL ? 0 : strnlen(id, NIMBUS_STATION_ID_MAX + 1);
    bool ok = len >= 1 && len <= NIMBUS_STATION_ID_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char c = id[i];
        ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    }
    if (!ok) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "%s must be 1-%d characters of A-Z, a-z, 0-9, '_' and '-'", what,
                                NIMBUS_STATION_ID_MAX);
    }
    return 0;
}

int nimbus_city_validate(const char *city, const char *what, nimbus_error_t *err)
{
    return text_validate(city, NIMBUS_CITY_MAX * 4 + 1, NIMBUS_CITY_MAX, what ? what : "city", err);
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

/* Copies a client's string into a fixed array. A value the array cannot
 * hold is longer than its field allows, so `refuse` (the field's own
 * validator, run on the whole string) necessarily fails and words the
 * refusal exactly as for any other bad value of that field. */
static int text_set(char *dst, size_t size, const char *src, const char *name,
                    int (*refuse)(const char *, const char *, long, nimbus_error_t *), long max,
                    nimbus_error_t *err)
{
    if (src == NULL) {
        src = "";
    }
    size_t len = strlen(src);
    if (len >= size) {
        if (refuse(src, name, max, err) != 0) {
            return -1;
        }
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is too long", name);
    }
    memcpy(dst, src, len + 1);
    return 0;
}

static int refuse_text(const char *s, const char *name, long max, nimbus_error_t *err)
{
    return text_validate(s, strlen(s) + 1, max, name, err);
}

static int refuse_id(const char *s, const char *name, long max, nimbus_error_t *err)
{
    (void)max;
    return nimbus_station_id_validate(s, name, err);
}

static int refuse_country(const char *s, const char *name, long max, nimbus_error_t *err)
{
    (void)max;
    return nimbus_country_validate(s, name, err);
}

int nimbus_station_set_text(nimbus_station_t *out, const char *what, const char *id,
                            const char *name, const char *city, const char *country,
                            nimbus_error_t *err)
{
    char field[96];
    snprintf(field, sizeof field, "%s.id", what);
    if (text_set(out->id, sizeof out->id, id, field, refuse_id, 0, err) != 0) {
        return -1;
    }
    snprintf(field, sizeof field, "%s.name", what);
    if (text_set(out->name, sizeof out->name, name, field, refuse_text, NIMBUS_STATION_NAME_MAX,
                 err) != 0) {
        return -1;
    }
    snprintf(field, sizeof field, "%s.city", what);
    if (text_set(out->city, sizeof out->city, city, field, refuse_text, NIMBUS_CITY_MAX, err) !=
        0) {
        return -1;
    }
    snprintf(field, sizeof field, "%s.country", what);
    return text_set(out->country, sizeof out->country, country, field, refuse_country, 0, err);
}

int nimbus_observation_set_station(nimbus_observation_t *out, const char *what,
                                   const char *station_id, nimbus_error_t *err)
{
    char field[96];
    snprintf(field, sizeof field, "%s.stationId", what);
    return text_set(out->station_id, sizeof out->station_id, station_id, field, refuse_id, 0, err);
}

int nimbus_record_batch_validate(size_t count, nimbus_error_t *err)
{
    if (count < 1 || count > NIMBUS_RECORD_BATCH_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "observations must hold 1-%d observations",
                                NIMBUS_RECORD_BATCH_MAX);
    }
    return 0;
}

int nimbus_station_validate(const nimbus_station_t *s, nimbus_error_t *err)
{
    if (s == NULL) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "station is required");
    }
    if (nimbus_station_id_validate(s->id, "station.id", err) != 0 ||
        text_validate(s->name, sizeof(s->name), NIMBUS_STATION_NAME_MAX, "station.name", err) !=
            0 ||
        text_validate(s->city, sizeof(s->city), NIMBUS_CITY_MAX, "station.city", err) != 0 ||
        nimbus_country_validate(s->country, "station.country", err) != 0 ||
        range_validate(s->latitude, -90, 90, "station", "latitude", err) != 0 ||
        range_validate(s->longitude, -180, 180, "station", "longitude", err) != 0 ||
        opt_range_validate(&s->elevation, -500, 9000, "station", "elevation", err) != 0) {
        return -1;
    }
    return 0;
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
    if (o->observed_at < INT64_C(-62135596800) || o->observed_at > INT64_C(253402300799)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "%s.observedAt must be between 0001-01-01T00:00:00Z and "
                                "9999-12-31T23:59:59Z",
                                what);
    }
    if (opt_range_validate(&o->temperature, -100, 70, what, "temperature", err) != 0 ||
        opt_range_validate(&o->humidity, 0, 100, what, "humidity", err) != 0 ||
        opt_range_validate(&o->pressure, 100, 1100, what, "pressure", err) != 0 ||
        opt_range_validate(&o->wind_speed, 0, 150, what, "windSpeed", err) != 0 ||
        opt_range_validate(&o->wind_direction, 0, 360, what, "windDirection", err) != 0 ||
        opt_range_validate(&o->precipitation, 0, 1000, what, "precipitation", err) != 0) {
        return -1;
    }
    return 0;
}

static bool opt_same(const nimbus_opt_double_t *a, const nimbus_opt_double_t *b)
{
    return a->present == b->present && (!a->present || a->value == b->value);
}

bool nimbus_observation_same_values(const nimbus_observation_t *a, const nimbus_observation_t *b)
{
    return a->observed_at == b->observed_at && opt_same(&a->temperature, &b->temperature) &&
           opt_same(&a->humidity, &b->humidity) && opt_same(&a->pressure, &b->pressure) &&
           opt_same(&a->wind_speed, &b->wind_speed) &&
           opt_same(&a->wind_direction, &b->wind_direction) &&
           opt_same(&a->precipitation, &b->precipitation);
}
