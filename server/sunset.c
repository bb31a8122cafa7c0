/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * --soap-sunset DATE and --soap-sunset-link URL: the date SOAP goes away,
 * which every SOAP answer then tells its client in-band (Deprecation,
 * Sunset and Link headers, added by nimbus_http_add_sunset), and where the
 * migration guide is. The date is read as UTC, a day (midnight) or a
 * second; the URL must be one a Link header can carry between < and >
 * without escaping (printable ASCII, no blank, quote, < or >).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "server_internal.h"

static int parse_date(const char *arg, long long *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    char z = 0;
    size_t len = strlen(arg);
    if (len == 10 && sscanf(arg, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) == 3 &&
        n == 10) {
        /* a day: its first second */
    } else if (len == 20 &&
               sscanf(arg, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &z, &n) == 7 &&
               n == 20 && (z == 'Z' || z == 'z') && (arg[10] == 'T' || arg[10] == 't')) {
        /* a second, UTC */
    } else {
        return -1;
    }
    int year = tm.tm_year, mon = tm.tm_mon, mday = tm.tm_mday;
    if (year < 1970 || year > 9999 || mon < 1 || mon > 12 || mday < 1 || mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59) {
        return -1;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    struct tm back;
    /* timegm normalises 2027-02-30 into March: refuse what moved. */
    if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != mday || back.tm_mon != mon - 1) {
        return -1;
    }
    *out = (long long)t;
    return 0;
}

int nimbus__sunset_option(bool sunset, const char *arg, nimbus_config_t *config, char *why,
                          size_t why_size)
{
    if (sunset) {
        if (parse_date(arg, &config->soap_sunset) != 0 || config->soap_sunset == 0) {
            snprintf(why, why_size,
                     "needs a UTC date, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, not '%s'", arg);
            return -1;
        }
        /* SOAP is deprecated from the moment the server says so: its
         * start (never after the sunset, RFC 9745 section 2.1). */
        long long now = (long long)time(NULL);
        config->soap_deprecated = now < config->soap_sunset ? now : config->soap_sunset;
        return 0;
    }
    size_t len = strlen(arg);
    bool ok = len > 0 && len < sizeof config->soap_sunset_link;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char ch = (unsigned char)arg[i];
        ok = ch > 0x20 && ch < 0x7f && ch != '<' && ch != '>' && ch != '"' && ch != '\\';
    }
    if (!ok ||
        (strncmp(arg, "https://", 8) != 0 && strncmp(arg, "http://", 7) != 0 && arg[0] != '/')) {
        snprintf(why, why_size,
                 "needs an http(s):// URL or a path starting with /, of at most %zu printable "
                 "characters without blanks, quotes, < or >, not '%s'",
                 sizeof config->soap_sunset_link - 1, arg);
        return -1;
    }
    memcpy(config->soap_sunset_link, arg, len + 1);
    return 0;
}
