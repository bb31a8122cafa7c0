/*
 * The JSON conversions the WebSocket endpoint needs: request params to the
 * core's request structs, and responses and items to JSON text. A thin
 * adapter: the spellings are the contract's and the rules are the core's;
 * these functions only check JSON types.
 *
 * Output is written as text with nimbus_double_format (the shortest text
 * that reads back as the same double, as SOAP prints it): jansson would
 * print 0.1 as 0.10000000000000001.
 */
#ifndef NIMBUS_STREAM_CODEC_H
#define NIMBUS_STREAM_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nimbus_service.h"

/* A growable text buffer. An allocation failure sets `failed` and makes
 * every later append a no-op, so callers check once at the end. */
typedef struct nimbus_strbuf {
    char *text; /* NUL-terminated; owned (free with free()) */
    size_t len;
    size_t cap;
    bool failed;
} nimbus_strbuf_t;

void nimbus__sb_add(nimbus_strbuf_t *sb, const char *s, size_t n);
void nimbus__sb_cstr(nimbus_strbuf_t *sb, const char *s);
void nimbus__sb_json_string(nimbus_strbuf_t *sb, const char *s); /* quoted, escaped */
void nimbus__sb_double(nimbus_strbuf_t *sb, double d);
void nimbus__sb_int(nimbus_strbuf_t *sb, int64_t v);
/* Hands the text over (caller frees) and resets sb; NULL if any append
 * failed. *len (may be NULL) gets its length. */
char *nimbus__sb_take(nimbus_strbuf_t *sb, size_t *len);

/* params[key] as a string: *out borrowed from params (NULL when absent or
 * null). A non-string, or an absent one when required: -1 with
 * INVALID_ARGUMENT naming key. */
int nimbus__codec_string(json_t *params, const char *key, bool required, const char **out,
                         nimbus_error_t *err);
/* params[key] as an integer; *has false when absent or null. */
int nimbus__codec_integer(json_t *params, const char *key, bool *has, int64_t *out,
                          nimbus_error_t *err);
/* params[key] as a dateTime string (nimbus_time_parse); *has as above. */
int nimbus__codec_time(json_t *params, const char *key, bool *has, int64_t *out,
                       nimbus_error_t *err);

/* Append the contract's JSON object for each type. */
void nimbus__codec_station(nimbus_strbuf_t *sb, const nimbus_station_t *station);
void nimbus__codec_observation(nimbus_strbuf_t *sb, const nimbus_observation_t *obs);
void nimbus__codec_report(nimbus_strbuf_t *sb, const nimbus_weather_report_t *report);

/* Runs a SINGLE operation with params; on success *result is its response
 * fields as JSON object text (heap, the caller frees). Returns 0 or -1 with
 * err. */
int nimbus__codec_call_single(nimbus_service_t *svc, const nimbus_credentials_t *creds,
                              nimbus_op_t op, json_t *params, char **result, nimbus_error_t *err);

#endif
