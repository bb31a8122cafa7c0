/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The data types of the contract (Station, Observation, WeatherReport,
 * Summary) as plain C values, and the rules each field must keep. These are
 * the only types the core works on: the SOAP binding and the JSON codecs
 * convert to and from them and never check a rule themselves; every check
 * lives in the nimbus_*_validate functions below, generated from the field
 * tables of nimbus_fields.h, so all three protocols refuse the same input
 * with the same message.
 *
 * Strings live in fixed arrays sized for the contract's longest value (in
 * UTF-8 bytes, four per character), so these structs own no heap memory and
 * can be copied with `=`.
 */
#ifndef NIMBUS_TYPES_H
#define NIMBUS_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus_error.h"

/* Limits of the contract, in characters (Unicode code points). */
#define NIMBUS_STATION_ID_MAX 32
#define NIMBUS_STATION_NAME_MAX 128
#define NIMBUS_CITY_MAX 64
#define NIMBUS_COUNTRY_LEN 2
#define NIMBUS_LIST_LIMIT_DEFAULT 100
#define NIMBUS_LIST_LIMIT_MAX 1000
#define NIMBUS_RECORD_BATCH_MAX 1000
/* Stations one GetObservationFeed call may name (1.1). */
#define NIMBUS_FEED_STATIONS_MAX 1000
/* An opaque paging cursor, as text, including its terminating NUL. */
#define NIMBUS_CURSOR_SIZE 96
/* "YYYY-MM-DDThh:mm:ssZ" plus NUL. */
#define NIMBUS_TIME_TEXT_SIZE 21
/* The dateTimes the contract's output form can write: 0001-01-01T00:00:00Z
 * and 9999-12-31T23:59:59Z, in seconds since the epoch. */
#define NIMBUS_TIME_MIN INT64_C(-62135596800)
#define NIMBUS_TIME_MAX INT64_C(253402300799)

/* A double the contract marks optional: absent unless `present`. */
typedef struct nimbus_opt_double {
    bool present;
    double value;
} nimbus_opt_double_t;

typedef struct nimbus_station {
    char id[NIMBUS_STATION_ID_MAX + 1];
    char name[NIMBUS_STATION_NAME_MAX * 4 + 1];
    char city[NIMBUS_CITY_MAX * 4 + 1];
    char country[NIMBUS_COUNTRY_LEN + 1];
    double latitude;
    double longitude;
    nimbus_opt_double_t elevation;
} nimbus_station_t;

typedef struct nimbus_observation {
    char station_id[NIMBUS_STATION_ID_MAX + 1]; /* "" when omitted in a batch */
    int64_t observed_at;                        /* seconds since 1970-01-01T00:00:00Z */
    nimbus_opt_double_t temperature;
    nimbus_opt_double_t humidity;
    nimbus_opt_double_t pressure;
    nimbus_opt_double_t wind_speed;
    nimbus_opt_double_t wind_direction;
    nimbus_opt_double_t precipitation;
    int64_t seq; /* output only; 0 means not assigned */
} nimbus_observation_t;

typedef struct nimbus_summary {
    int count;
    nimbus_opt_double_t min_temperature;
    nimbus_opt_double_t max_temperature;
    nimbus_opt_double_t mean_temperature;
    double total_precipitation;
} nimbus_summary_t;

typedef struct nimbus_weather_report {
    nimbus_station_t station;
    bool has_latest;
    nimbus_observation_t latest;
    bool has_last24h;
    nimbus_summary_t last24h;
} nimbus_weather_report_t;

/*
 * Validation. Each returns 0 when the value keeps every rule of the contract,
 * or -1 with INVALID_ARGUMENT in err naming the field (and, for batches, the
 * observation's index). `what` prefixes the field name in the message, e.g.
 * "station" gives "station.latitude must be between -90 and 90".
 */
int nimbus_station_id_validate(const char *id, const char *what, nimbus_error_t *err);
int nimbus_station_validate(const nimbus_station_t *station, nimbus_error_t *err);
/* Checks the values only; the station reference is the operation's job. */
int nimbus_observation_validate(const nimbus_observation_t *obs, const char *what,
                                nimbus_error_t *err);
int nimbus_city_validate(const char *city, const char *what, nimbus_error_t *err);
int nimbus_country_validate(const char *country, const char *what, nimbus_error_t *err);

/*
 * Filling core types from a client's strings (NULL reads as ""). A value too
 * long for its array breaks its field's rule and is refused with that
 * rule's own message, so no adapter words a rule of its own. `what` names
 * the value in messages ("station", "observations[3]"). Fields other than
 * the ones named are left as they are.
 */
int nimbus_station_set_text(nimbus_station_t *out, const char *what, const char *id,
                            const char *name, const char *city, const char *country,
                            nimbus_error_t *err);
int nimbus_observation_set_station(nimbus_observation_t *out, const char *what,
                                   const char *station_id, nimbus_error_t *err);
/* A RecordObservations batch holds 1..NIMBUS_RECORD_BATCH_MAX observations;
 * adapters call this before allocating for a batch the core would refuse. */
int nimbus_record_batch_validate(size_t count, nimbus_error_t *err);

/* true when the two observations carry the same values (seq ignored): a
 * duplicate rather than a correction. */
bool nimbus_observation_same_values(const nimbus_observation_t *a, const nimbus_observation_t *b);

/* The one rule for integral numbers, whatever the protocol: 10 and 10.0 are
 * the integer 10, 10.5 is not an integer. A value beyond int64 is clamped
 * to INT64_MIN/INT64_MAX (so the field's range words the refusal: "limit
 * must be between 1 and 1000", not "must be an integer"). Returns 0 with
 * *out, or -1 when d is not integral (or not finite). */
int nimbus_integral(double d, int64_t *out);

/* Reads decimal text (a query or path value) by the same rule: an optional
 * '-', digits, optionally ".0..." or an exponent, nothing else. 0 or -1. */
int nimbus_integral_text(const char *text, int64_t *out);

/* Number of code points in s if s is valid UTF-8 (no overlongs, surrogates
 * or values past U+10FFFF), else -1. */
long nimbus_utf8_length(const char *s, size_t len);

/*
 * dateTime text. nimbus_time_parse reads xsd:dateTime / RFC 3339
 * ("2024-05-01T12:00:00Z", "...+08:00", with or without fractional seconds,
 * no zone meaning UTC), converts to UTC and drops the fraction. Returns 0, or
 * -1 with INVALID_ARGUMENT naming `what`.
 * nimbus_time_format writes the contract's output form "YYYY-MM-DDThh:mm:ssZ"
 * into buf (NIMBUS_TIME_TEXT_SIZE bytes) and returns buf.
 */
int nimbus_time_parse(const char *text, const char *what, int64_t *out, nimbus_error_t *err);
char *nimbus_time_format(int64_t t, char buf[NIMBUS_TIME_TEXT_SIZE]);

/* Shortest decimal text (at most 17 significant digits) that reads back as
 * exactly d, e.g. 40.0801 -> "40.0801". Used by every protocol's encoder so
 * that SOAP and JSON print the same numbers. buf needs 32 bytes. */
char *nimbus_double_format(double d, char buf[32]);

#endif
