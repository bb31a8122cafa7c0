/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Number formatting shared by every encoder, so SOAP and JSON print the same
 * digits for the same stored double: the shortest decimal that reads back
 * as exactly the same value, written as "%.Pg" writes it with P = 15, 16 or
 * 17 (the fewest of those that suffice), which is the text Nimbus has
 * always sent. Negative zero prints as "0": it compares equal to 0 (a
 * duplicate, not a correction), so printing a sign would only make equal
 * values look different. Inputs are validated finite; a non-finite value
 * prints as "0" rather than as text no client could parse.
 *
 * One pass, exact: d = m * 2^e is bracketed by the midpoints to its
 * neighbours, and the fewest decimals after the point that put an integer
 * n * 10^-k inside that interval are found with 128-bit integer arithmetic
 * (the interval is inclusive when m is even, as strtod rounds a tie to the
 * even neighbour); of those n the one closest to d is taken, as printf
 * rounds. This covers every normal double from about 1e-20 to 1.8e16, all
 * the contract's values. Anything else (subnormals, huge magnitudes, more
 * than 21 decimals) takes the plain path: "%.Pg" for P from 15 (from 1 for
 * subnormals, which carry fewer digits) until strtod reads it back.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_types.h"

__extension__ typedef unsigned __int128 u128;

#define MAX_DECIMALS 21 /* 10^21 * 2^55 < 2^128 */

/* The plain path: the shortest "%.Pg" that reads back. */
static void format_slow(double d, char buf[32])
{
    char text[48]; /* the longest, "-2.2250738585072014e-308", is 24 */
    for (int precision = fabs(d) < DBL_MIN ? 1 : 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, d);
        if (strtod(text, NULL) == d) {
            break;
        }
    }
    memcpy(buf, text, strlen(text) + 1);
}

/* n's decimal digits into out (no terminator); returns how many. */
static int digits_of(uint64_t n, char out[20])
{
    char tmp[20];
    int len = 0;
    do {
        tmp[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n != 0);
    for (int i = 0; i < len; i++) {
        out[i] = tmp[len - 1 - i];
    }
    return len;
}

/* The exact search. Returns 0 with the shortest decimal as n * 10^-k, or
 * -1 when d is outside what 128 bits hold. d is finite, positive, normal. */
static int shortest(double d, uint64_t *n_out, int *k_out)
{
    int exp2;
    double frac = frexp(d, &exp2); /* d = frac * 2^exp2, frac in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(frac, 53);
    int e = exp2 - 53; /* d = m * 2^e, m in [2^52, 2^53) */
    int s = 2 - e;     /* the interval's ends are (4m +- 2) / 2^s */
    if (s < 1 || s > 120) {
        return -1;
    }
    /* The neighbour below is closer when m is a power of two (the
     * exponent steps down there), except at the smallest normal. */
    u128 lo_num = 4 * (u128)m - (m == (UINT64_C(1) << 52) && d != DBL_MIN ? 1 : 2);
    u128 hi_num = 4 * (u128)m + 2;
    u128 mid_num = 4 * (u128)m;
    bool inclusive = (m & 1) == 0;
    u128 den = (u128)1 << s;
    u128 scale = 1;
    for (int k = 0; k <= MAX_DECIMALS; k++, scale *= 10) {
        u128 lo = lo_num * scale, hi = hi_num * scale, mid = mid_num * scale;
        u128 n_lo = lo / den + (lo % den != 0);
        u128 n_hi = hi / den;
        if (!inclusive) {
            if (lo % den == 0) {
                n_lo++;
            }
            if (hi % den == 0) {
                n_hi--;
            }
        }
        if (n_lo > n_hi) {
            continue;
        }
        /* The candidate closest to d, ties to even as printf rounds. */
        u128 q = mid / den, r = mid % den;
        u128 n = 2 * r < den ? q : 2 * r > den ? q + 1 : q + (q & 1);
        n = n < n_lo ? n_lo : n > n_hi ? n_hi : n;
        if (n > UINT64_MAX) {
            return -1;
        }
        *n_out = (uint64_t)n;
        *k_out = k;
        return 0;
    }
    return -1;
}

char *nimbus_double_format(double d, char buf[32])
{
    if (!isfinite(d) || d == 0.0) {
        buf[0] = '0';
        buf[1] = '\0';
        return buf;
    }
    double a = fabs(d);
    uint64_t n;
    int k;
    if (a < DBL_MIN || shortest(a, &n, &k) != 0) {
        format_slow(d, buf);
        return buf;
    }
    /* n * 10^-k as significant digits and the exponent of the first. */
    char dig[20];
    int len = digits_of(n, dig);
    while (len > 1 && dig[len - 1] == '0') {
        len--; /* only when k is 0: a minimal k leaves no trailing zero */
        k--;
    }
    int x = len - 1 - k; /* d = dig[0].dig[1..] * 10^x */
    int precision = len > 15 ? len : 15;
    char *p = buf;
    if (d < 0) {
        *p++ = '-';
    }
    if (x < -4 || x >= precision) {
        /* %g's exponent form: d.ddd e+XX, two exponent digits at least. */
        *p++ = dig[0];
        if (len > 1) {
            *p++ = '.';
            memcpy(p, dig + 1, (size_t)len - 1);
            p += len - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        int ax = x < 0 ? -x : x;
        if (ax >= 100) {
            *p++ = (char)('0' + ax / 100);
        }
        *p++ = (char)('0' + ax / 10 % 10);
        *p++ = (char)('0' + ax % 10);
    } else if (x < 0) {
        *p++ = '0';
        *p++ = '.';
        for (int i = 0; i < -x - 1; i++) {
            *p++ = '0';
        }
        memcpy(p, dig, (size_t)len);
        p += len;
    } else {
        for (int i = 0; i <= x; i++) {
            *p++ = i < len ? dig[i] : '0';
        }
        if (len > x + 1) {
            *p++ = '.';
            memcpy(p, dig + x + 1, (size_t)(len - x - 1));
            p += len - x - 1;
        }
    }
    *p = '\0';
    return buf;
}
