/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * dateTime text <-> seconds since the Unix epoch, UTC. Parsing accepts the
 * common ground of xsd:dateTime and RFC 3339 (docs/data-rules.md, "Dates
 * and times"): a four-digit year 0001..9999, 'T', whole seconds with an
 * optional fraction that is dropped (the time moves to the start of its
 * second, whatever the sign of the epoch value), and a zone that is 'Z', an
 * offset +hh:mm / -hh:mm up to 14:00, or nothing (UTC). 24:00:00 is read, as
 * xsd:dateTime says, as midnight at the end of that day. The calendar is
 * the proleptic Gregorian one, computed here with integer arithmetic so the
 * result never depends on the C library's timegm or the process's TZ.
 */
#include "nimbus_types.h"

#define SECONDS_PER_DAY 86400
/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z. */
#define TIME_MIN INT64_C(-62135596800)
#define TIME_MAX INT64_C(253402300799)

/* Days from 1970-01-01 to y-m-d (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Reads exactly n digits at *p into *out and advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c) {
        return false;
    }
    (*p)++;
    return true;
}

/* The grammar and field ranges; *out gets the UTC value (range unchecked). */
static bool parse(const char *p, int64_t *out)
{
    int year, month, day, hour, minute, second;
    if (!digits(&p, 4, &year) || !expect(&p, '-') || !digits(&p, 2, &month) || !expect(&p, '-') ||
        !digits(&p, 2, &day)) {
        return false;
    }
    if (*p != 'T' && *p != 't') {
        return false;
    }
    p++;
    if (!digits(&p, 2, &hour) || !expect(&p, ':') || !digits(&p, 2, &minute) || !expect(&p, ':') ||
        !digits(&p, 2, &second)) {
        return false;
    }
    bool fraction_zero = true;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9') {
            return false;
        }
        while (*p >= '0' && *p <= '9') {
            fraction_zero = fraction_zero && *p == '0';
            p++;
        }
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int oh, om;
        p++;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om)) {
            return false;
        }
        if (oh > 14 || om > 59 || (oh == 14 && om != 0)) {
            return false;
        }
        offset = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (*p != '\0') {
        return false;
    }
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        return false;
    }
    bool end_of_day = hour == 24 && minute == 0 && second == 0 && fraction_zero;
    if ((hour > 23 && !end_of_day) || minute > 59 || second > 59) {
        return false;
    }
    int64_t t =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    *out = t - offset;
    return true;
}

int nimbus_time_parse(const char *text, const char *what, int64_t *out, nimbus_error_t *err)
{
    if (what == NULL) {
        what = "dateTime";
    }
    int64_t t = 0;
    if (text == NULL || !parse(text, &t)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "%s must be a dateTime such as 2024-05-01T12:00:00Z "
                                "(YYYY-MM-DDThh:mm:ss, optional fraction, Z or +hh:mm)",
                                what);
    }
    if (t < TIME_MIN || t > TIME_MAX) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "%s must be between 0001-01-01T00:00:00Z and "
                                "9999-12-31T23:59:59Z",
                                what);
    }
    if (out != NULL) {
        *out = t;
    }
    return 0;
}

/* Writes v as exactly n decimal digits at p. */
static char *put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

char *nimbus_time_format(int64_t t, char buf[NIMBUS_TIME_TEXT_SIZE])
{
    /* Stored values are validated; anything else is clamped into range so
     * the output keeps its fixed shape. */
    if (t < TIME_MIN) {
        t = TIME_MIN;
    } else if (t > TIME_MAX) {
        t = TIME_MAX;
    }
    int64_t days = t / SECONDS_PER_DAY;
    int64_t rem = t % SECONDS_PER_DAY;
    if (rem < 0) {
        rem += SECONDS_PER_DAY;
        days--;
    }
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    char *p = put_digits(buf, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem % 60, 2);
    *p++ = 'Z';
    *p = '\0';
    return buf;
}
