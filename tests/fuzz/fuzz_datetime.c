/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: the core's dateTime text (service/time.c), which every
 * protocol reads dateTime values with (SOAP's converter, REST's query and
 * path, JSON bodies). The input is the text, NUL-terminated as the callers
 * hand it over; its first 8 bytes are also read as an instant.
 *
 * Properties checked besides the sanitizers':
 *   - nimbus_time_parse answers 0, or -1 with INVALID_ARGUMENT and a message
 *     naming the field;
 *   - what it accepts is within 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z,
 *     and is what an independent reading gives: the same grammar checked
 *     here by sscanf-free code and the instant computed by glibc's timegm
 *     (64-bit time_t) from the fields, less the offset, the fraction
 *     dropped, 24:00:00 the next midnight;
 *   - round trip: format(parse(text)) is 20 characters of the contract's
 *     "YYYY-MM-DDThh:mm:ssZ" and parses back to the same instant;
 *   - any int64 instant formats to that shape (clamped into the range) and
 *     reads back as itself when it is in range.
 *
 * Seeds: tests/fuzz/corpus/datetime/; dictionary: datetime.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nimbus_types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TIME_MIN INT64_C(-62135596800) /* 0001-01-01T00:00:00Z */
#define TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */

static void die(const char *why, const char *text, int64_t a, int64_t b)
{
    fprintf(stderr, "fuzz_datetime: %s\n  text: \"%s\"\n  values: %lld %lld\n", why, text,
            (long long)a, (long long)b);
    abort();
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

static int num(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* The oracle: the grammar of docs/data-rules.md ("Dates and times") and
 * timegm for the calendar. true with *out when text is a valid dateTime. */
static bool oracle(const char *s, int64_t *out)
{
    size_t n = strlen(s);
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    if (n < 19) {
        return false;
    }
    for (size_t i = 0; i < 19; i++) {
        bool ok = shape[i] == 'd'   ? digit(s[i])
                  : shape[i] == 'T' ? (s[i] == 'T' || s[i] == 't')
                                    : s[i] == shape[i];
        if (!ok) {
            return false;
        }
    }
    size_t i = 19;
    bool fraction_zero = true;
    if (s[i] == '.') {
        i++;
        if (!digit(s[i])) {
            return false;
        }
        while (digit(s[i])) {
            fraction_zero = fraction_zero && s[i] == '0';
            i++;
        }
    }
    int offset = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        if (!digit(s[i + 1]) || !digit(s[i + 2]) || s[i + 3] != ':' || !digit(s[i + 4]) ||
            !digit(s[i + 5])) {
            return false;
        }
        int oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
        if (oh > 14 || om > 59 || (oh == 14 && om > 0)) {
            return false;
        }
        offset = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
        i += 6;
    }
    if (s[i] != '\0') {
        return false;
    }
    int year = num(s, 4), month = num(s + 5, 2), day = num(s + 8, 2);
    int hour = num(s + 11, 2), minute = num(s + 14, 2), second = num(s + 17, 2);
    if (year < 1 || month < 1 || month > 12 || day < 1) {
        return false;
    }
    /* Whether the day exists: timegm normalises 31 April into 1 May. */
    struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day, .tm_hour = 12};
    time_t noon = timegm(&tm);
    if (tm.tm_mday != day || tm.tm_mon != month - 1) {
        return false;
    }
    bool end_of_day = hour == 24 && minute == 0 && second == 0 && fraction_zero;
    if ((hour > 23 && !end_of_day) || minute > 59 || second > 59) {
        return false;
    }
    *out = (int64_t)noon - 12 * 3600 + hour * 3600 + minute * 60 + second - offset;
    return true;
}

static void check_shape(const char *text, const char *f)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(f) != 20) {
        die("formatted text is not 20 characters", text, 0, 0);
    }
    for (size_t i = 0; i < 20; i++) {
        if (shape[i] == 'd' ? !digit(f[i]) : f[i] != shape[i]) {
            die("formatted text is not YYYY-MM-DDThh:mm:ssZ", f, 0, 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';

    int64_t t = 0;
    nimbus_error_t err;
    nimbus_error_clear(&err);
    int rc = nimbus_time_parse(text, "observedAt", &t, &err);
    int64_t want = 0;
    bool valid = oracle(text, &want) && want >= TIME_MIN && want <= TIME_MAX;
    if (rc != 0 && rc != -1) {
        die("unexpected return", text, rc, 0);
    }
    if (rc != 0 && (err.code != NIMBUS_INVALID_ARGUMENT || !strstr(err.message, "observedAt"))) {
        die("a refusal that is not INVALID_ARGUMENT naming the field", text, err.code, 0);
    }
    if ((rc == 0) != valid) {
        die(rc == 0 ? "accepted what the oracle refuses" : "refused what the oracle accepts", text,
            t, want);
    }
    if (rc == 0) {
        if (t != want) {
            die("a different instant than the oracle's", text, t, want);
        }
        char buf[NIMBUS_TIME_TEXT_SIZE];
        const char *f = nimbus_time_format(t, buf);
        check_shape(text, f);
        int64_t back = 0;
        if (nimbus_time_parse(f, NULL, &back, &err) != 0 || back != t) {
            die("parse -> format -> parse is not the same instant", f, t, back);
        }
    }

    /* Any instant: the shape, and in range a round trip. */
    if (size >= 8) {
        int64_t any;
        memcpy(&any, data, sizeof any);
        char buf[NIMBUS_TIME_TEXT_SIZE];
        const char *f = nimbus_time_format(any, buf);
        check_shape(text, f);
        int64_t back = 0;
        if (nimbus_time_parse(f, NULL, &back, &err) != 0) {
            die("a formatted instant does not parse", f, any, 0);
        }
        int64_t clamped = any < TIME_MIN ? TIME_MIN : any > TIME_MAX ? TIME_MAX : any;
        if (back != clamped) {
            die("format -> parse is not the same instant", f, any, back);
        }
    }
    free(text);
    return 0;
}
