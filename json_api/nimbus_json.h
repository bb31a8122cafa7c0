/*
 * The JSON codecs of Nimbus: the contract's types to JSON text and back, the
 * table-driven `call` that turns a JSON params object into a core operation
 * and its response into JSON, and the one renderer of problem+json. REST and
 * the WebSocket endpoint both build on this header, so a field is spelled,
 * decoded and printed in one place.
 *
 * Output is written as text straight into an evbuffer rather than through
 * json_dumps: jansson prints doubles with 17 significant digits
 * (40.080100000000002) while every Nimbus protocol prints the shortest text
 * that reads back as the same double (nimbus_double_format, as SOAP does),
 * and building a json_t tree only to serialise it costs several microseconds
 * a request. Input is parsed with jansson (nimbus_json_parse), which rejects
 * duplicate keys, NUL in strings, invalid UTF-8, numbers out of range and
 * nesting deeper than NIMBUS_JSON_MAX_DEPTH.
 *
 * Input rules (the contract's): member names are the contract's camelCase
 * exactly; `null` means absent; an unknown member is INVALID_ARGUMENT naming
 * it; a member of the wrong JSON type is INVALID_ARGUMENT naming the field;
 * dateTimes are read with nimbus_time_parse; `seq` is accepted and ignored on
 * input. The codecs check only JSON shape: every value rule is the core's.
 *
 * Every function here is reentrant and touches no global state.
 */
#ifndef NIMBUS_JSON_H
#define NIMBUS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "nimbus_service.h"

/* Deepest nesting of arrays and objects accepted in a request. The deepest
 * valid request ({"observations":[{...}]} inside a WebSocket message) needs
 * 4; the margin leaves room for future fields. jansson's own limit is 2048. */
#define NIMBUS_JSON_MAX_DEPTH 16

/* ---- parsing ---------------------------------------------------------- */

/*
 * Parses text (len bytes, need not be NUL-terminated) as one JSON value with
 * JSON_REJECT_DUPLICATES, and checks its depth. Returns a new reference the
 * caller releases with json_decref, or NULL with INVALID_ARGUMENT in err
 * whose message carries jansson's line and column ("malformed JSON at line 1,
 * column 7: ...").
 */
json_t *nimbus_json_parse(const char *text, size_t len, nimbus_error_t *err);

/* ---- decoding: JSON -> core types --------------------------------------- */

/*
 * Each reads a JSON object into *out (cleared first). `what` names the value
 * in messages ("station", "observations[3]"). Strings in *out are copies.
 * nimbus_json_station_decode: `id_required` false lets `id` be absent (the
 * REST PUT body, whose path carries it); *out->id is then "".
 * nimbus_json_observation_decode: stationId may be absent (""), observedAt is
 * required.
 * Return 0, or -1 with INVALID_ARGUMENT naming the member.
 */
int nimbus_json_station_decode(json_t *obj, const char *what, bool id_required,
                               nimbus_station_t *out, nimbus_error_t *err);
int nimbus_json_observation_decode(json_t *obj, const char *what, nimbus_observation_t *out,
                                   nimbus_error_t *err);

/* ---- encoding: core types -> JSON text ---------------------------------- */

/* Each appends one JSON object to out, optional fields omitted when absent.
 * Return 0, or -1 when out could not grow (out then holds a partial value). */
int nimbus_json_station_encode(struct evbuffer *out, const nimbus_station_t *station);
int nimbus_json_observation_encode(struct evbuffer *out, const nimbus_observation_t *obs);
int nimbus_json_summary_encode(struct evbuffer *out, const nimbus_summary_t *summary);
int nimbus_json_report_encode(struct evbuffer *out, const nimbus_weather_report_t *report);

/* Appends s as a quoted JSON string (escaping '"', '\\' and control
 * characters; other UTF-8 is copied as is). Returns 0 or -1 as above. */
int nimbus_json_string_encode(struct evbuffer *out, const char *s);

/* ---- errors ------------------------------------------------------------- */

/*
 * The one renderer of problem+json (RFC 9457) for a core error: appends
 * {"type":"urn:nimbus:problem:<code>","title":...,"status":...,"detail":...,
 * "code":...} to out and returns the HTTP status to send with it (the code's,
 * from NIMBUS_ERROR_CODES). The media type is NIMBUS_JSON_PROBLEM_TYPE.
 */
#define NIMBUS_JSON_PROBLEM_TYPE "application/problem+json"
int nimbus_json_problem_encode(struct evbuffer *out, const nimbus_error_t *err);

/* The same document for an HTTP status that has no code of its own (405,
 * 415): `status` and `title` follow that status, `code` stays err's. status
 * 0 means the code's own. Returns the status to send. */
int nimbus_json_problem_encode_status(struct evbuffer *out, const nimbus_error_t *err, int status);

/* The problem `type` URI and the short title of code (static storage). */
const char *nimbus_json_problem_type(nimbus_code_t code);
const char *nimbus_json_problem_title(nimbus_code_t code);

/* ---- calls: JSON params -> operation -> JSON response ------------------- */

/*
 * The members each operation's params object may hold (the contract's
 * request fields in JSON), NULL-terminated, static storage; used by
 * decoding, the OpenAPI document and the tests. Beyond the contract,
 * UpdateStation also takes `id` (the REST path's station, which the body's
 * station.id must then equal when present).
 */
const char *const *nimbus_json_op_params(nimbus_op_t op);

/* How nimbus_json_call writes the response. */
typedef enum nimbus_json_shape {
    /* The response fields as one object: {"station":{...}}, {} for
     * DeleteStation (WebSocket `result`). */
    NIMBUS_JSON_FIELDS,
    /* REST bodies: the single field's value alone where the contract's REST
     * response is that value (GetStation, CreateStation, UpdateStation: the
     * Station; GetWeather: the WeatherReport); nothing for DeleteStation;
     * otherwise as NIMBUS_JSON_FIELDS. */
    NIMBUS_JSON_REST_BODY
} nimbus_json_shape_t;

/*
 * Decodes params (a JSON object, or NULL for none; borrowed) into op's
 * request, calls nimbus_service_<op> as caller, and appends the response to
 * out in the given shape. Returns 0, or -1 with err (INVALID_ARGUMENT for bad
 * params, else whatever the operation failed with; out is then unchanged).
 */
int nimbus_json_call(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                     json_t *params, nimbus_json_shape_t shape, struct evbuffer *out,
                     nimbus_error_t *err);

/*
 * One page of a LIST operation (ListStations, GetObservations,
 * GetCityWeather), item by item, for streaming without holding every result.
 * Decodes params like nimbus_json_call, except that `cursor` (NULL: the
 * params' own) and `limit` (> 0: overrides the params' limit) are given, so
 * the caller can walk the pages. Calls item(arg, text, len) once per result
 * with that result's JSON object text (len bytes, also NUL-terminated;
 * valid only during the call). A non-zero return from item stops the walk
 * and is returned as is, err untouched. Otherwise writes the next page's
 * cursor into next_cursor ("" on the last page; GetCityWeather has one
 * page) and returns 0, or -1 with err on failure.
 */
typedef int (*nimbus_json_item_fn)(void *arg, const char *text, size_t len);
int nimbus_json_list_page(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                          json_t *params, const char *cursor, int64_t limit,
                          nimbus_json_item_fn item, void *arg, char next_cursor[NIMBUS_CURSOR_SIZE],
                          nimbus_error_t *err);

#endif
