/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/time.c: the dateTime forms accepted (contract
 * "Observation.observedAt", docs/data-rules.md) and refused, UTC
 * conversion of offsets, fraction dropping, range limits and formatting.
 */
#include <string.h>

#include "test_util.h"

static int64_t parse_ok(const char *text)
{
    nimbus_error_t err;
    int64_t t = -1;
    int rc = nimbus_time_parse(text, "observedAt", &t, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "refused %s: %s\n", text, err.message);
    }
    return t;
}

static void parse_bad(const char *text)
{
    nimbus_error_t err;
    int64_t t = 12345;
    CU_ASSERT_EQUAL(nimbus_time_parse(text, "observedAt", &t, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "observedAt"));
    CU_ASSERT_EQUAL(t, 12345);
}

static void test_forms(void)
{
    CU_ASSERT_EQUAL(parse_ok("1970-01-01T00:00:00Z"), 0);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T12:00:00Z"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T12:00:00"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01t12:00:00z"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T20:00:00+08:00"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T06:30:00-05:30"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T12:00:00-00:00"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-02T02:00:00+14:00"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-04-30T22:00:00-14:00"), 1714564800);
}

static void test_fraction_dropped(void)
{
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T12:00:00.999999999Z"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T12:00:00.5+00:00"), 1714564800);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T12:00:00.1"), 1714564800);
    /* Before the epoch the fraction still moves to the start of its second. */
    CU_ASSERT_EQUAL(parse_ok("1969-12-31T23:59:59.9Z"), -1);
}

static void test_calendar(void)
{
    CU_ASSERT_EQUAL(parse_ok("2024-02-29T00:00:00Z"), 1709164800);
    CU_ASSERT_EQUAL(parse_ok("2000-02-29T00:00:00Z"), 951782400);
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
    parse_bad("2024-04-31T00:00:00Z");
    parse_bad("2024-13-01T00:00:00Z");
    parse_bad("2024-00-01T00:00:00Z");
    parse_bad("2024-01-00T00:00:00Z");
    parse_bad("2024-01-32T00:00:00Z");
    CU_ASSERT_EQUAL(parse_ok("2024-12-31T23:59:59Z"), 1735689599);
}

static void test_clock(void)
{
    /* 24:00:00 is the end of the day (xsd:dateTime), nothing else at 24. */
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T24:00:00Z"), 1714608000);
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T24:00:00.000Z"), 1714608000);
    parse_bad("2024-05-01T24:00:01Z");
    parse_bad("2024-05-01T24:01:00Z");
    parse_bad("2024-05-01T24:00:00.5Z");
    parse_bad("2024-05-01T25:00:00Z");
    parse_bad("2024-05-01T12:60:00Z");
    parse_bad("2024-05-01T12:00:60Z");
    CU_ASSERT_EQUAL(parse_ok("2024-05-01T23:59:59Z"), 1714607999);
}

static void test_junk(void)
{
    static const char *bad[] = {"",
                                "now",
                                "2024-05-01",
                                "2024-05-01 12:00:00Z",
                                "2024-05-01T12:00Z",
                                "2024-05-01T12:00:00ZZ",
                                "2024-05-01T12:00:00+0800",
                                "2024-05-01T12:00:00+08",
                                "2024-05-01T12:00:00+15:00",
                                "2024-05-01T12:00:00+14:30",
                                "2024-05-01T12:00:00+08:60",
                                "2024-05-01T12:00:00.Z",
                                "2024-5-01T12:00:00Z",
                                "24-05-01T12:00:00Z",
                                "+2024-05-01T12:00:00Z",
                                "-2024-05-01T12:00:00Z",
                                "12024-05-01T12:00:00Z",
                                "2024-05-01T12:00:00Z ",
                                " 2024-05-01T12:00:00Z",
                                "2024-05-01T1a:00:00Z",
                                "0000-01-01T00:00:00Z",
                                NULL};
    for (size_t i = 0; bad[i] != NULL; i++) {
        parse_bad(bad[i]);
    }
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_time_parse(NULL, "from", NULL, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "from"));
}

static void test_range(void)
{
    CU_ASSERT_EQUAL(parse_ok("0001-01-01T00:00:00Z"), INT64_C(-62135596800));
    CU_ASSERT_EQUAL(parse_ok("9999-12-31T23:59:59Z"), INT64_C(253402300799));
    /* An offset may not carry the instant out of the range. */
    parse_bad("0001-01-01T00:00:00+00:01");
    parse_bad("9999-12-31T23:59:59-00:01");
    parse_bad("9999-12-31T24:00:00Z");
    CU_ASSERT_EQUAL(parse_ok("0001-01-01T00:01:00+00:01"), INT64_C(-62135596800));
}

static void test_format(void)
{
    char buf[NIMBUS_TIME_TEXT_SIZE];
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(0, buf), "1970-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(1714564800, buf), "2024-05-01T12:00:00Z");
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(-1, buf), "1969-12-31T23:59:59Z");
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(INT64_C(-62135596800), buf), "0001-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(INT64_C(253402300799), buf), "9999-12-31T23:59:59Z");
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(951782400, buf), "2000-02-29T00:00:00Z");
    /* Every day of a few years round-trips through text. */
    for (int64_t t = INT64_C(946684800) - 3 * 86400; t < INT64_C(1104537600); t += 86400 + 7) {
        CU_ASSERT_EQUAL(parse_ok(nimbus_time_format(t, buf)), t);
    }
    /* Out-of-range values are clamped, never overflow the buffer. */
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(INT64_MAX, buf), "9999-12-31T23:59:59Z");
    CU_ASSERT_STRING_EQUAL(nimbus_time_format(INT64_MIN, buf), "0001-01-01T00:00:00Z");
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"accepted forms and offsets", test_forms},
        {"fractions are dropped", test_fraction_dropped},
        {"calendar limits", test_calendar},
        {"clock limits and 24:00:00", test_clock},
        {"junk is refused", test_junk},
        {"years 0001..9999", test_range},
        {"formatting", test_format},
        {NULL, NULL},
    };
    return nimbus_test_run("time", cases);
}
