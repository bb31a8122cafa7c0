/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/validate.c: every field rule of contract "Data types" at
 * its limit and one past it, UTF-8 and control characters, the country
 * list, and messages that name the field.
 */
#include <math.h>
#include <string.h>

#include "test_util.h"

static void expect_station_bad(const nimbus_station_t *s, const char *field)
{
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_station_validate(s, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    if (strstr(err.message, field) == NULL) {
        fprintf(stderr, "message '%s' does not name %s\n", err.message, field);
        CU_FAIL("message does not name the field");
    }
}

static void expect_station_ok(const nimbus_station_t *s)
{
    nimbus_error_t err;
    int rc = nimbus_station_validate(s, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "refused: %s\n", err.message);
    }
}

static void fill(char *dst, const char *unit, int times)
{
    dst[0] = '\0';
    for (int i = 0; i < times; i++) {
        strcat(dst, unit);
    }
}

static void test_station_id(void)
{
    nimbus_station_t s = nimbus_test_station("a", "Berlin", "DE");
    fill(s.id, "x", NIMBUS_STATION_ID_MAX);
    expect_station_ok(&s);
    strcpy(s.id, "A-z_09");
    expect_station_ok(&s);
    s.id[0] = '\0';
    expect_station_bad(&s, "station.id");
    strcpy(s.id, "a b");
    expect_station_bad(&s, "station.id");
    strcpy(s.id, "a.b");
    expect_station_bad(&s, "station.id");
    strcpy(s.id, "\xc3\xa9");
    expect_station_bad(&s, "station.id");
    nimbus_error_t err;
    char long_id[64];
    fill(long_id, "x", NIMBUS_STATION_ID_MAX + 1);
    CU_ASSERT_EQUAL(nimbus_station_id_validate(long_id, "id", &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "id must be 1-32"));
    CU_ASSERT_EQUAL(nimbus_station_id_validate(NULL, "id", &err), -1);
}

static void test_station_text(void)
{
    nimbus_station_t s = nimbus_test_station("a", "Berlin", "DE");
    /* Lengths count code points: 128 two-byte and 128 four-byte chars fit. */
    fill(s.name, "\xc3\xa9", NIMBUS_STATION_NAME_MAX);
    expect_station_ok(&s);
    fill(s.name, "\xf0\x9f\x8c\xa7", NIMBUS_STATION_NAME_MAX);
    expect_station_ok(&s);
    fill(s.name, "n", NIMBUS_STATION_NAME_MAX + 1);
    expect_station_bad(&s, "station.name");
    s.name[0] = '\0';
    expect_station_bad(&s, "station.name");
    strcpy(s.name, "bad\xff");
    expect_station_bad(&s, "station.name must be valid UTF-8");
    strcpy(s.name, "tab\there");
    expect_station_bad(&s, "station.name must not contain control");
    strcpy(s.name, "nonchar \xef\xbf\xbf");
    expect_station_bad(&s, "station.name");
    /* The array is full with no NUL: too long, never read past. */
    memset(s.name, 'n', sizeof(s.name));
    expect_station_bad(&s, "station.name");

    s = nimbus_test_station("a", "Berlin", "DE");
    fill(s.city, "\xe6\x9d\xb1", NIMBUS_CITY_MAX);
    expect_station_ok(&s);
    fill(s.city, "c", NIMBUS_CITY_MAX + 1);
    expect_station_bad(&s, "station.city");
    s.city[0] = '\0';
    expect_station_bad(&s, "station.city");
}

static void test_station_numbers(void)
{
    nimbus_station_t s = nimbus_test_station("a", "Berlin", "DE");
    const struct {
        double *field;
        double lo, hi;
        const char *name;
    } ranges[] = {
        {&s.latitude, -90, 90, "station.latitude"},
        {&s.longitude, -180, 180, "station.longitude"},
        {&s.elevation.value, -500, 9000, "station.elevation"},
    };
    s.elevation.present = true;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        double keep = *ranges[i].field;
        *ranges[i].field = ranges[i].lo;
        expect_station_ok(&s);
        *ranges[i].field = ranges[i].hi;
        expect_station_ok(&s);
        *ranges[i].field = nextafter(ranges[i].lo, -INFINITY);
        expect_station_bad(&s, ranges[i].name);
        *ranges[i].field = nextafter(ranges[i].hi, INFINITY);
        expect_station_bad(&s, ranges[i].name);
        *ranges[i].field = NAN;
        expect_station_bad(&s, ranges[i].name);
        *ranges[i].field = INFINITY;
        expect_station_bad(&s, ranges[i].name);
        *ranges[i].field = keep;
    }
    /* An absent elevation is not checked. */
    s.elevation.present = false;
    s.elevation.value = NAN;
    expect_station_ok(&s);
}

static void test_country(void)
{
    nimbus_error_t err;
    static const char *good[] = {"DE", "US", "XK", "AX", "ZW", "GB", "SS", "BQ", NULL};
    static const char *bad[] = {"de", "UK", "EU", "ZZ", "D", "DEU", "", "D1", "AA", NULL};
    for (size_t i = 0; good[i] != NULL; i++) {
        CU_ASSERT_EQUAL(nimbus_country_validate(good[i], "country", &err), 0);
    }
    for (size_t i = 0; bad[i] != NULL; i++) {
        CU_ASSERT_EQUAL(nimbus_country_validate(bad[i], "station.country", &err), -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "station.country"));
    }
    CU_ASSERT_EQUAL(nimbus_country_validate(NULL, "country", &err), -1);
    /* The list holds the 249 assigned codes plus XK. */
    int assigned = 0;
    char code[3] = {0};
    for (code[0] = 'A'; code[0] <= 'Z'; code[0]++) {
        for (code[1] = 'A'; code[1] <= 'Z'; code[1]++) {
            assigned += nimbus_country_validate(code, "c", &err) == 0;
        }
    }
    CU_ASSERT_EQUAL(assigned, 250);
}

static void test_city(void)
{
    nimbus_error_t err;
    char city[400];
    fill(city, "\xc3\xbc", NIMBUS_CITY_MAX);
    CU_ASSERT_EQUAL(nimbus_city_validate(city, "city", &err), 0);
    fill(city, "c", NIMBUS_CITY_MAX + 1);
    CU_ASSERT_EQUAL(nimbus_city_validate(city, "city", &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "city must be 1-64 characters");
    CU_ASSERT_EQUAL(nimbus_city_validate("", "city", &err), -1);
    CU_ASSERT_EQUAL(nimbus_city_validate(NULL, "city", &err), -1);
    CU_ASSERT_EQUAL(nimbus_city_validate("\xc0\xaf", "city", &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "city must be valid UTF-8");
}

static void expect_obs_bad(const nimbus_observation_t *o, const char *message)
{
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_observation_validate(o, "observations[3]", &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    if (strcmp(err.message, message) != 0) {
        fprintf(stderr, "got '%s', want '%s'\n", err.message, message);
        CU_FAIL("wrong message");
    }
}

static void test_observation(void)
{
    nimbus_observation_t o = nimbus_test_obs(0, 20);
    struct {
        nimbus_opt_double_t *field;
        double lo, hi;
        const char *message;
    } ranges[] = {
        {&o.temperature, -100, 70, "observations[3].temperature must be between -100 and 70"},
        {&o.humidity, 0, 100, "observations[3].humidity must be between 0 and 100"},
        {&o.pressure, 100, 1100, "observations[3].pressure must be between 100 and 1100"},
        {&o.wind_speed, 0, 150, "observations[3].windSpeed must be between 0 and 150"},
        {&o.wind_direction, 0, 360, "observations[3].windDirection must be between 0 and 360"},
        {&o.precipitation, 0, 1000, "observations[3].precipitation must be between 0 and 1000"},
    };
    nimbus_error_t err;
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        nimbus_opt_double_t keep = *ranges[i].field;
        ranges[i].field->present = true;
        ranges[i].field->value = ranges[i].lo;
        CU_ASSERT_EQUAL(nimbus_observation_validate(&o, "observations[3]", &err), 0);
        ranges[i].field->value = ranges[i].hi;
        CU_ASSERT_EQUAL(nimbus_observation_validate(&o, "observations[3]", &err), 0);
        ranges[i].field->value = nextafter(ranges[i].lo, -INFINITY);
        expect_obs_bad(&o, ranges[i].message);
        ranges[i].field->value = nextafter(ranges[i].hi, INFINITY);
        expect_obs_bad(&o, ranges[i].message);
        ranges[i].field->value = NAN;
        expect_obs_bad(&o, ranges[i].message);
        ranges[i].field->value = -INFINITY;
        expect_obs_bad(&o, ranges[i].message);
        ranges[i].field->present = false; /* absent: not checked */
        CU_ASSERT_EQUAL(nimbus_observation_validate(&o, "observations[3]", &err), 0);
        *ranges[i].field = keep;
    }
    o.observed_at = INT64_C(253402300800);
    CU_ASSERT_EQUAL(nimbus_observation_validate(&o, "observations[3]", &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "observations[3].observedAt"));
}

static void test_same_values(void)
{
    nimbus_observation_t a = nimbus_test_obs(100, 20), b = a;
    b.seq = 99;
    strcpy(b.station_id, "other");
    CU_ASSERT_TRUE(nimbus_observation_same_values(&a, &b));
    b.humidity = (nimbus_opt_double_t){true, 0};
    CU_ASSERT_FALSE(nimbus_observation_same_values(&a, &b));
    b = a;
    b.temperature.value = 20.000000000000004;
    CU_ASSERT_FALSE(nimbus_observation_same_values(&a, &b));
    b = a;
    b.observed_at++;
    CU_ASSERT_FALSE(nimbus_observation_same_values(&a, &b));
}

static void test_utf8(void)
{
    CU_ASSERT_EQUAL(nimbus_utf8_length("", 0), 0);
    CU_ASSERT_EQUAL(nimbus_utf8_length("abc", 3), 3);
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xc3\xa9\xe2\x82\xac\xf0\x9f\x8c\xa7", 9), 3);
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xf4\x8f\xbf\xbf", 4), 1);  /* U+10FFFF */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xf4\x90\x80\x80", 4), -1); /* past U+10FFFF */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xed\xa0\x80", 3), -1);     /* surrogate */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xc0\x80", 2), -1);         /* overlong NUL */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xe0\x80\xaf", 3), -1);     /* overlong */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xf0\x80\x80\xaf", 4), -1); /* overlong */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xc3", 1), -1);             /* truncated */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\x80", 1), -1);             /* stray continuation */
    CU_ASSERT_EQUAL(nimbus_utf8_length("\xc3\x41", 2), -1);
}

/* Text too long for a core array is refused with the field's own rule,
 * word for word what a short but invalid value of that field gets. */
static void test_set_text(void)
{
    static char big[2048];
    nimbus_station_t st;
    nimbus_error_t err;
    memset(&st, 0, sizeof st);
    CU_ASSERT_EQUAL(nimbus_station_set_text(&st, "station", "ok-1", "Name", "City", "DE", &err), 0);
    CU_ASSERT_STRING_EQUAL(st.id, "ok-1");
    CU_ASSERT_STRING_EQUAL(st.country, "DE");
    CU_ASSERT_EQUAL(nimbus_station_set_text(&st, "station", NULL, "N", "C", "FR", &err), 0);
    CU_ASSERT_STRING_EQUAL(st.id, "");

    fill(big, "x", NIMBUS_STATION_ID_MAX + 1);
    CU_ASSERT_EQUAL(nimbus_station_set_text(&st, "station", big, "N", "C", "DE", &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message,
                           "station.id must be 1-32 characters of A-Z, a-z, 0-9, '_' and '-'");
    /* A name of 513 bytes: more than 128 characters whatever they are. */
    fill(big, "\xc3\xa9", 256);
    strcat(big, "x");
    CU_ASSERT_EQUAL(nimbus_station_set_text(&st, "station", "a", big, "C", "DE", &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "station.name must be 1-128 characters");
    fill(big, "\xff", 300); /* too long and not UTF-8: the UTF-8 rule speaks */
    CU_ASSERT_EQUAL(nimbus_station_set_text(&st, "station", "a", "N", big, "DE", &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "station.city must be valid UTF-8");
    CU_ASSERT_EQUAL(nimbus_station_set_text(&st, "station", "a", "N", "C", "DEU", &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "station.country must be an ISO 3166-1 alpha-2 code of "
                                        "two upper-case letters, such as DE");

    nimbus_observation_t obs;
    memset(&obs, 0, sizeof obs);
    CU_ASSERT_EQUAL(nimbus_observation_set_station(&obs, "observations[0]", "s-1", &err), 0);
    CU_ASSERT_STRING_EQUAL(obs.station_id, "s-1");
    fill(big, "y", 40);
    CU_ASSERT_EQUAL(nimbus_observation_set_station(&obs, "observations[2]", big, &err), -1);
    CU_ASSERT_STRING_EQUAL(
        err.message,
        "observations[2].stationId must be 1-32 characters of A-Z, a-z, 0-9, '_' and '-'");
}

static void test_batch_size(void)
{
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_record_batch_validate(1, &err), 0);
    CU_ASSERT_EQUAL(nimbus_record_batch_validate(NIMBUS_RECORD_BATCH_MAX, &err), 0);
    CU_ASSERT_EQUAL(nimbus_record_batch_validate(0, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_STRING_EQUAL(err.message, "observations must hold 1-1000 observations");
    CU_ASSERT_EQUAL(nimbus_record_batch_validate(NIMBUS_RECORD_BATCH_MAX + 1, &err), -1);
}

/* Every RANGE rule of the station and observation tables, at its limits
 * and one step past each: a checklist over the table, so a rule added to
 * it is tested at its limits without a line here. */
static void check_limits(const nimbus_type_t *type, void *value, const char *what,
                         int (*validate)(const void *, nimbus_error_t *))
{
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        if (!f->rule || f->rule->kind != NIMBUS_RULE_KIND_RANGE) {
            continue;
        }
        char *at = (char *)value + f->offset;
        double saved;
        nimbus_opt_double_t saved_opt;
        memcpy(&saved, at, sizeof saved);
        memcpy(&saved_opt, at, sizeof saved_opt);
        const double tries[] = {f->rule->min, f->rule->max, nextafter(f->rule->min, -INFINITY),
                                nextafter(f->rule->max, INFINITY)};
        for (size_t k = 0; k < 4; k++) {
            if (f->kind == NIMBUS_FIELD_OPT_DOUBLE) {
                nimbus_opt_double_t v = {true, tries[k]};
                memcpy(at, &v, sizeof v);
            } else {
                memcpy(at, &tries[k], sizeof tries[k]);
            }
            nimbus_error_t err;
            nimbus_error_clear(&err);
            int rc = validate(value, &err);
            char want[96];
            snprintf(want, sizeof want, "%s.%s must be between", what, f->name);
            if (k < 2) {
                CU_ASSERT_EQUAL(rc, 0);
            } else {
                CU_ASSERT_EQUAL(rc, -1);
                CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
                if (!strstr(err.message, want)) {
                    fprintf(stderr, "\n%s: \"%s\"\n", want, err.message);
                }
                CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
            }
        }
        if (f->kind == NIMBUS_FIELD_OPT_DOUBLE) {
            memcpy(at, &saved_opt, sizeof saved_opt);
        } else {
            memcpy(at, &saved, sizeof saved);
        }
    }
}

static int validate_station(const void *s, nimbus_error_t *err)
{
    return nimbus_station_validate(s, err);
}

static int validate_observation(const void *o, nimbus_error_t *err)
{
    return nimbus_observation_validate(o, "o", err);
}

static void test_every_range_at_its_limits(void)
{
    nimbus_station_t s = nimbus_test_station("lim", "Oslo", "NO");
    check_limits(&nimbus_station_type, &s, "station", validate_station);
    nimbus_observation_t o = nimbus_test_obs(0, 1);
    check_limits(&nimbus_observation_type, &o, "o", validate_observation);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"every range rule at its limits and one past", test_every_range_at_its_limits},
        {"station.id", test_station_id},
        {"station name and city", test_station_text},
        {"station numbers", test_station_numbers},
        {"country codes", test_country},
        {"city filter", test_city},
        {"observation ranges", test_observation},
        {"same values", test_same_values},
        {"utf-8", test_utf8},
        {"text into core arrays", test_set_text},
        {"batch size", test_batch_size},
        {NULL, NULL},
    };
    return nimbus_test_run("validate", cases);
}
