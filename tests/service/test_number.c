/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/number.c against what nimbus_double_format promises: the
 * shortest decimal text (at most 17 significant digits) that reads back as
 * exactly d, written into the caller's 32 bytes and never beyond them, and
 * "0" for zero of either sign and for non-finite values.
 *
 * "Shortest" is checked against an independent brute force: the smallest
 * precision p in 1..17 for which "%.{p}g" reads back exactly. The text we get
 * must read back exactly and have no more significant digits than p. The
 * values come from the edges of the double range, one power of two per
 * binade (every exponent, subnormals included), random bit patterns (so
 * every exponent is equally likely) and random subnormals.
 *
 * The formatter writes into a larger buffer whose bytes after the first 32
 * are canaries, so a write past the promised 32 bytes is seen here even
 * where a sanitizer would not (the overflow stays inside our own array).
 */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

enum { PROMISED = 32, CANARY_BYTES = 32, CANARY = 0xA5, DETAILS = 10 };

/* Failures of one property within one test: the first DETAILS are reported
 * with the value, the rest are counted and reported once, so a systematic
 * bug names its values without burying the output. */
typedef struct {
    const char *what;
    int failures;
} tally_t;

static void fail(tally_t *t, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(tally_t *t, unsigned line, const char *fmt, ...)
{
    t->failures++;
    if (t->failures > DETAILS) {
        return;
    }
    char msg[512];
    int n = snprintf(msg, sizeof msg, "%s: ", t->what);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    CU_assertImplementation(CU_FALSE, line, msg, __FILE__, "", CU_FALSE);
}

static void tally_done(const tally_t *t, int checked)
{
    if (t->failures > DETAILS) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s: %d of %d values failed (first %d shown above)", t->what,
                 t->failures, checked, DETAILS);
        CU_assertImplementation(CU_FALSE, __LINE__, msg, __FILE__, "", CU_FALSE);
    }
}

/* Significant digits in a %g-style text: the mantissa's digits without the
 * leading zeros ("0.001") or the trailing ones ("100", "1.50"), which a
 * shorter precision prints as well. "0" has none. */
static int significant_digits(const char *s)
{
    const char *first = NULL, *last = NULL;
    for (const char *p = s; *p && *p != 'e' && *p != 'E'; p++) {
        if (*p >= '1' && *p <= '9') {
            if (!first) {
                first = p;
            }
            last = p;
        }
    }
    if (!first) {
        return 0;
    }
    int n = 0;
    for (const char *p = first; p <= last; p++) {
        n += (*p >= '0' && *p <= '9');
    }
    return n;
}

/* The brute force: the fewest significant digits that read back as d. */
static int shortest_precision(double d)
{
    char tmp[64];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*g", p, d);
        if (strtod(tmp, NULL) == d) {
            return p;
        }
    }
    return 18; /* impossible for a finite double: 17 digits always suffice */
}

/* The text Nimbus has always sent, which the fast path must reproduce byte
 * for byte: "%.{p}g" for the first p from 15 (from 1 for subnormals) that
 * reads back exactly. */
static void reference_text(double d, char out[64])
{
    for (int p = fabs(d) < DBL_MIN ? 1 : 15; p <= 17; p++) {
        snprintf(out, 64, "%.*g", p, d);
        if (strtod(out, NULL) == d) {
            return;
        }
    }
}

typedef struct {
    tally_t bounds, exact, shortest, same;
    int checked;
} checks_t;

#define CHECKS_INIT                                                                                \
    {                                                                                              \
        {"wrote past the promised 32 bytes or left no terminator in them", 0},                     \
            {"does not read back as exactly the same double", 0},                                  \
            {"not the shortest text that reads back exactly", 0},                                  \
            {"not the text \"%.Pg\" (P from 15) has always given", 0}, 0                           \
    }

/* Formats d into a canary-guarded buffer, checks the canaries and the
 * terminator, copies the text to out (at least PROMISED bytes). */
static void format_guarded(checks_t *c, double d, char *out, unsigned line)
{
    unsigned char big[PROMISED + CANARY_BYTES];
    memset(big, CANARY, sizeof big);
    char *ret = nimbus_double_format(d, (char *)big);
    if (ret != (char *)big) {
        fail(&c->bounds, line, "d=%a: did not return the caller's buffer", d);
    }
    for (size_t i = PROMISED; i < sizeof big; i++) {
        if (big[i] != CANARY) {
            fail(&c->bounds, line, "d=%a (%.17g): byte %zu overwritten", d, d, i);
            break;
        }
    }
    if (!memchr(big, '\0', PROMISED)) {
        fail(&c->bounds, line, "d=%a (%.17g): no terminator in the first 32 bytes", d, d);
        big[PROMISED - 1] = '\0';
    }
    memcpy(out, big, PROMISED);
}

/* Every promise for one finite value. */
static void check_value_at(checks_t *c, double d, unsigned line)
{
    char buf[PROMISED];
    format_guarded(c, d, buf, line);
    c->checked++;
    double back = strtod(buf, NULL);
    if (back != d) {
        fail(&c->exact, line, "d=%a (%.17g) printed \"%s\" which reads back as %a", d, d, buf,
             back);
        return;
    }
    int ours = significant_digits(buf);
    int best = d == 0.0 ? 0 : shortest_precision(d);
    if (ours > best) {
        fail(
            &c->shortest, line,
            "d=%a (%.17g) printed \"%s\" (%d significant digits) but \"%%.%dg\" reads back exactly",
            d, d, buf, ours, best);
    }
    char ref[64];
    reference_text(d, ref);
    if (d != 0.0 && strcmp(buf, ref) != 0) {
        fail(&c->same, line, "d=%a (%.17g) printed \"%s\", not \"%s\"", d, d, buf, ref);
    }
}
#define check_value(c, d) check_value_at((c), (d), __LINE__)

static void checks_done(const checks_t *c)
{
    tally_done(&c->bounds, c->checked);
    tally_done(&c->exact, c->checked);
    tally_done(&c->shortest, c->checked);
    tally_done(&c->same, c->checked);
}

static void check(double d, const char *expected)
{
    checks_t c = CHECKS_INIT;
    char buf[PROMISED];
    format_guarded(&c, d, buf, __LINE__);
    CU_ASSERT_STRING_EQUAL(buf, expected);
    checks_done(&c);
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

/* The longest texts (sign, 17 digits, point, three-digit negative exponent)
 * and the values where "shortest" is easiest to get wrong. */
static void test_edge_values(void)
{
    checks_t c = CHECKS_INIT;
    const double values[] = {
        DBL_MAX,
        DBL_MIN,
        DBL_TRUE_MIN,
        9007199254740993.0,
        M_PI,
        1e300,
        1e23,
        5e-324,
        2 * DBL_TRUE_MIN,
        3 * DBL_TRUE_MIN,
        1e-310,
        2.2250738585072009e-308, /* largest subnormal */
        nextafter(DBL_MIN, 1.0),
        nextafter(DBL_MAX, 0.0),
        nextafter(1.0, 2.0),
        nextafter(1.0, 0.0),
        -1.2345678901234567e-300,
        1.7976931348623157e308,
        0.1 + 0.2,
        123456789012345678.0,
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        check_value(&c, values[i]);
        check_value(&c, -values[i]);
    }
    CU_ASSERT_EQUAL(significant_digits("-1.2345678901234567e-300"), 17);
    checks_done(&c);
}

/* One power of two per binade, each exponent from the smallest subnormal to
 * the largest normal, and its neighbours. */
static void test_every_binade(void)
{
    checks_t c = CHECKS_INIT;
    for (int e = DBL_MIN_EXP - DBL_MANT_DIG; e < DBL_MAX_EXP; e++) {
        double d = ldexp(1.0, e);
        check_value(&c, d);
        check_value(&c, nextafter(d, 0.0));
        check_value(&c, -nextafter(d, INFINITY));
    }
    checks_done(&c);
}

/* splitmix64: a fixed seed, 64 random bits per call on every platform. */
static uint64_t next_bits(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* Random bit patterns: uniform over the exponents, both signs, subnormals
 * included (exponent field 0, about one value in 2048). */
static void test_random_bits(void)
{
    checks_t c = CHECKS_INIT;
    uint64_t state = 20240607;
    for (int i = 0; i < 100000; i++) {
        double d = from_bits(next_bits(&state));
        if (isfinite(d)) {
            check_value(&c, d);
        }
    }
    checks_done(&c);
}

/* Subnormals alone, whose precision shrinks with their size. */
static void test_random_subnormals(void)
{
    checks_t c = CHECKS_INIT;
    uint64_t state = 1074;
    for (int i = 0; i < 5000; i++) {
        uint64_t bits = next_bits(&state);
        /* the mantissa's width varies too, so tiny ones are as common as large */
        int width = 1 + (int)(bits >> 58) % 52;
        uint64_t mantissa = next_bits(&state) & ((UINT64_C(1) << width) - 1);
        double d = from_bits((bits & UINT64_C(0x8000000000000000)) | (mantissa ? mantissa : 1));
        check_value(&c, d);
    }
    checks_done(&c);
}

/* Decimal values of everyday magnitudes, as sensors produce them. */
static void test_everyday_values(void)
{
    checks_t c = CHECKS_INIT;
    srand(7);
    for (int i = 0; i < 20000; i++) {
        check_value(&c, ((double)rand() / RAND_MAX - 0.5) * pow(10, rand() % 20 - 10));
    }
    checks_done(&c);
}

/* Readings with a few decimals (coordinates, temperatures, pressures): the
 * values the fast path serves most, each digit count from 0 to 9 decimals
 * and magnitudes from 0.001 to a million. */
static void test_decimal_readings(void)
{
    checks_t c = CHECKS_INIT;
    uint64_t state = 40;
    for (int i = 0; i < 200000; i++) {
        uint64_t bits = next_bits(&state);
        int decimals = (int)(bits % 10);
        int64_t units = (int64_t)((bits >> 8) % 1000000000) - 500000000;
        check_value(&c, (double)units / pow(10, decimals));
    }
    checks_done(&c);
}

static void test_never_nan(void)
{
    check(NAN, "0");
    check(-NAN, "0");
    check(INFINITY, "0");
    check(-INFINITY, "0");
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"common values", test_common_values},
        {"edge values", test_edge_values},
        {"every binade", test_every_binade},
        {"random bit patterns", test_random_bits},
        {"random subnormals", test_random_subnormals},
        {"everyday values", test_everyday_values},
        {"decimal readings", test_decimal_readings},
        {"never nan or inf", test_never_nan},
        {NULL, NULL},
    };
    return nimbus_test_run("number", cases);
}
