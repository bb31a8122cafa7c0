/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of json_api/json: the one JSON writer, round trips of every
 * contract type through the writer and the request reader, each input rule
 * (camelCase names, null = absent, unknown members and wrong JSON types
 * named, seq ignored), hostile JSON (depth, huge numbers, invalid UTF-8,
 * duplicate keys, NUL) refused by the reader and by the envelope's jansson
 * parse alike, problem+json for every code, and the table-driven call and
 * list pages against a real core on a temporary SQLite file. The reader's
 * answers are compared with the old tree decoder's by test_json_diff.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nimbus_cunit.h"

#include "nimbus_json.h"

/* The text written to b, NUL-terminated, taken from b (left empty);
 * caller frees. */
static char *take(nimbus_json_writer_t *b)
{
    char *s = nimbus_json_writer_steal(b, NULL);
    CU_ASSERT_FATAL(s != NULL);
    return s;
}

static int nimbus_json_station_encode(nimbus_json_writer_t *w, const nimbus_station_t *s)
{
    nimbus_json_write_object(w, &nimbus_station_type, s);
    return nimbus_json_writer_failed(w) ? -1 : 0;
}

static int nimbus_json_observation_encode(nimbus_json_writer_t *w, const nimbus_observation_t *o)
{
    nimbus_json_write_object(w, &nimbus_observation_type, o);
    return nimbus_json_writer_failed(w) ? -1 : 0;
}

static int nimbus_json_report_encode(nimbus_json_writer_t *w, const nimbus_weather_report_t *r)
{
    nimbus_json_write_object(w, &nimbus_report_type, r);
    return nimbus_json_writer_failed(w) ? -1 : 0;
}

static int nimbus_json_string_encode(nimbus_json_writer_t *w, const char *s)
{
    nimbus_json_string(w, s);
    return nimbus_json_writer_failed(w) ? -1 : 0;
}

static int nimbus_json_problem_encode(nimbus_json_writer_t *w, const nimbus_error_t *err)
{
    return nimbus_json_problem_write(w, err, 0);
}

/* One page of a list operation with params decoded as the call does. */
static int list_page(nimbus_service_t *s, const nimbus_credentials_t *caller, nimbus_op_t op,
                     json_t *params, const char *cursor, int64_t limit, nimbus_json_item_fn item,
                     void *arg, char next[NIMBUS_CURSOR_SIZE], nimbus_error_t *err)
{
    nimbus_json_request_t req;
    int rc = nimbus_json_request_decode(op, params, &req, err);
    if (rc == 0) {
        rc = nimbus_json_list_page(s, caller, &req, cursor, limit, item, arg, next, err);
    }
    nimbus_json_request_cleanup(&req);
    return rc;
}

static json_t *parse(const char *text)
{
    nimbus_error_t err;
    json_t *v = nimbus_json_parse(text, strlen(text), &err);
    if (!v) {
        fprintf(stderr, "parse failed: %s\n", err.message);
    }
    return v;
}

/* Reads text as the station of a CreateStation body (REST's reading: the
 * body is the field's value, named "station"); id_known: as UpdateStation's
 * path, which lets the station leave its id out. The request (*req) is the
 * caller's to clean up. */
static int read_station(const char *text, bool id_known, nimbus_json_request_t *req,
                        nimbus_error_t *err)
{
    nimbus_json_request_init(req, id_known ? NIMBUS_OP_UpdateStation : NIMBUS_OP_CreateStation);
    const nimbus_json_target_t target = {
        .container = "station", .value_field = "station", .id_known = id_known, .in_order = true};
    return nimbus_json_request_read(text, strlen(text), &target, req, err);
}

static const nimbus_station_t *station_of(const nimbus_json_request_t *req)
{
    return req->op == NIMBUS_OP_UpdateStation ? &req->u.update_station.station
                                              : &req->u.create_station.station;
}

/* Reads `before` observation objects then text as a RecordObservations
 * batch's items, so refusals name it "observations[<before>]". */
static int read_observation(const char *text, int before, nimbus_json_request_t *req,
                            nimbus_error_t *err)
{
    char body[1024];
    int n = snprintf(body, sizeof body, "{\"stationId\":\"s\",\"observations\":[");
    for (int i = 0; i < before; i++) {
        n += snprintf(body + n, sizeof body - (size_t)n,
                      "{\"observedAt\":\"2024-01-01T00:00:00Z\"},");
    }
    snprintf(body + n, sizeof body - (size_t)n, "%s]}", text);
    nimbus_json_request_init(req, NIMBUS_OP_RecordObservations);
    const nimbus_json_target_t target = {.container = "params"};
    return nimbus_json_request_read(body, strlen(body), &target, req, err);
}

static const nimbus_station_t BERLIN = {"ber-1", "Berlin \"Mitte\"\n", "Berlin", "DE", 40.0801,
                                        0.1,     {true, -0.5}};

static void test_station_round_trip(void)
{
    nimbus_json_writer_t wb, *b = &wb;
    nimbus_json_writer_init(b);
    CU_ASSERT_EQUAL(nimbus_json_station_encode(b, &BERLIN), 0);
    char *text = take(b);
    CU_ASSERT_STRING_EQUAL(text, "{\"id\":\"ber-1\",\"name\":\"Berlin \\\"Mitte\\\"\\u000a\","
                                 "\"city\":\"Berlin\",\"country\":\"DE\",\"latitude\":40.0801,"
                                 "\"longitude\":0.1,\"elevation\":-0.5}");
    nimbus_json_request_t req;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(read_station(text, false, &req, &err), 0);
    const nimbus_station_t *back = station_of(&req);
    CU_ASSERT_STRING_EQUAL(back->id, BERLIN.id);
    CU_ASSERT_STRING_EQUAL(back->name, BERLIN.name);
    CU_ASSERT_STRING_EQUAL(back->city, BERLIN.city);
    CU_ASSERT_STRING_EQUAL(back->country, BERLIN.country);
    CU_ASSERT_EQUAL(back->latitude, BERLIN.latitude);
    CU_ASSERT_EQUAL(back->longitude, BERLIN.longitude);
    CU_ASSERT_TRUE(back->elevation.present && back->elevation.value == BERLIN.elevation.value);
    nimbus_json_request_cleanup(&req);
    free(text);

    nimbus_station_t bare = BERLIN;
    bare.elevation.present = false;
    CU_ASSERT_EQUAL(nimbus_json_station_encode(b, &bare), 0);
    text = take(b);
    CU_ASSERT_PTR_NULL(strstr(text, "elevation"));
    free(text);
    nimbus_json_writer_cleanup(b);
}

static void test_observation_round_trip(void)
{
    nimbus_observation_t o = {"s1",       1714564800,  {true, 12.25}, {false, 0}, {true, 1013.25},
                              {false, 0}, {true, 360}, {true, 0},     42};
    nimbus_json_writer_t wb, *b = &wb;
    nimbus_json_writer_init(b);
    CU_ASSERT_EQUAL(nimbus_json_observation_encode(b, &o), 0);
    char *text = take(b);
    CU_ASSERT_STRING_EQUAL(text, "{\"stationId\":\"s1\",\"observedAt\":\"2024-05-01T12:00:00Z\","
                                 "\"temperature\":12.25,\"pressure\":1013.25,"
                                 "\"windDirection\":360,\"precipitation\":0,\"seq\":42}");
    nimbus_json_request_t req;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(read_observation(text, 0, &req, &err), 0);
    CU_ASSERT_EQUAL_FATAL(req.u.record_observations.count, 1);
    const nimbus_observation_t *back = &req.u.record_observations.observations[0];
    CU_ASSERT_EQUAL(back->seq, 0); /* seq is ignored on input */
    CU_ASSERT_TRUE(nimbus_observation_same_values(back, &o));
    CU_ASSERT_STRING_EQUAL(back->station_id, o.station_id);
    CU_ASSERT_EQUAL(back->observed_at, o.observed_at);
    nimbus_json_request_cleanup(&req);
    free(text);
    nimbus_json_writer_cleanup(b);
}

static void test_report_encode(void)
{
    nimbus_weather_report_t r;
    memset(&r, 0, sizeof r);
    r.station = BERLIN;
    nimbus_json_writer_t wb, *b = &wb;
    nimbus_json_writer_init(b);
    CU_ASSERT_EQUAL(nimbus_json_report_encode(b, &r), 0);
    char *text = take(b);
    CU_ASSERT_PTR_NULL(strstr(text, "latest"));
    CU_ASSERT_PTR_NULL(strstr(text, "last24h"));
    free(text);
    r.has_latest = r.has_last24h = true;
    r.latest.observed_at = 0;
    strcpy(r.latest.station_id, "ber-1");
    r.last24h.count = 1;
    r.last24h.total_precipitation = 0;
    CU_ASSERT_EQUAL(nimbus_json_report_encode(b, &r), 0);
    text = take(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, ",\"latest\":{\"stationId\":\"ber-1\",\"observedAt\":"
                                        "\"1970-01-01T00:00:00Z\"},\"last24h\":{\"count\":1,"
                                        "\"totalPrecipitation\":0}}"));
    free(text);
    nimbus_json_writer_cleanup(b);
}

static void test_string_encode(void)
{
    nimbus_json_writer_t wb, *b = &wb;
    nimbus_json_writer_init(b);
    /* Valid UTF-8 is copied; bytes that are not UTF-8 (a truncated sequence,
     * a stray continuation, an overlong, a surrogate) become U+FFFD. */
    CU_ASSERT_EQUAL(nimbus_json_string_encode(b, "a\xff b\xc3\xa9 \xf0\x9f\x8c\xa7 \x80 "
                                                 "\xc0\xaf \xed\xa0\x80 \x7f\x01 \xe2\x82"),
                    0);
    char *text = take(b);
    CU_ASSERT_STRING_EQUAL(text, "\"a\\ufffd b\xc3\xa9 \xf0\x9f\x8c\xa7 \\ufffd "
                                 "\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd \\u007f\\u0001 "
                                 "\\ufffd\\ufffd\"");
    json_t *v = parse(text); /* and jansson, a strict parser, agrees it is JSON */
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
    free(text);
    nimbus_error_t err;
    nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "unknown query parameter \"%s\"", "\xfe");
    nimbus_json_problem_encode(b, &err);
    text = take(b);
    v = parse(text);
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
    free(text);
    nimbus_json_writer_cleanup(b);
}

/* Reads text as a station and expects INVALID_ARGUMENT mentioning want. */
static void station_refused(const char *text, const char *want)
{
    nimbus_json_request_t req;
    nimbus_error_t err;
    nimbus_error_clear(&err);
    CU_ASSERT_NOT_EQUAL(read_station(text, false, &req, &err), 0);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    if (!strstr(err.message, want)) {
        fprintf(stderr, "\n%s: message \"%s\" lacks \"%s\"\n", text, err.message, want);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
    nimbus_json_request_cleanup(&req);
}

#define S_HEAD "{\"id\":\"a\",\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\""

static void test_input_rules(void)
{
    station_refused(S_HEAD ",\"latitude\":1,\"longitude\":2,\"Elevation\":3}", "\"Elevation\"");
    station_refused(S_HEAD ",\"latitude\":\"1\",\"longitude\":2}",
                    "station.latitude must be a number");
    station_refused(S_HEAD ",\"latitude\":true,\"longitude\":2}", "station.latitude");
    station_refused(S_HEAD ",\"latitude\":1}", "station.longitude is required");
    station_refused(S_HEAD ",\"latitude\":1,\"longitude\":null}", "station.longitude is required");
    station_refused("{\"id\":5,\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
                    "\"longitude\":2}",
                    "station.id must be a string");
    station_refused("{\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
                    "\"longitude\":2}",
                    "station.id is required");
    station_refused("[]", "station must be a JSON object");
    station_refused("{\"id\":\"a\",\"name\":\"n\",\"city\":\"c\",\"country\":\"DEU\","
                    "\"latitude\":1,\"longitude\":2}",
                    "station.country");
    char big[700];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    char text[900];
    snprintf(text, sizeof text,
             "{\"id\":\"a\",\"name\":\"%s\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
             "\"longitude\":2}",
             big);
    station_refused(text, "station.name must be 1-128 characters");
    /* A wrong type anywhere is reported before a string that is too long. */
    snprintf(text, sizeof text,
             "{\"id\":\"a\",\"name\":\"%s\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
             "\"longitude\":\"2\"}",
             big);
    station_refused(text, "station.longitude must be a number");

    /* null is absent; integers are numbers; id optional when asked. */
    nimbus_json_request_t req;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(read_station("{\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
                                 "\"longitude\":-2,\"elevation\":null}",
                                 true, &req, &err),
                    0);
    const nimbus_station_t *s = station_of(&req);
    CU_ASSERT_STRING_EQUAL(s->id, "");
    CU_ASSERT_FALSE(s->elevation.present);
    CU_ASSERT_EQUAL(s->longitude, -2.0);
    nimbus_json_request_cleanup(&req);

    /* dateTimes through the core's parser: offsets converted, fraction dropped. */
    CU_ASSERT_EQUAL(read_observation("{\"observedAt\":\"2024-05-01T12:00:00.9+08:00\",\"seq\":7,"
                                     "\"temperature\":null}",
                                     0, &req, &err),
                    0);
    const nimbus_observation_t *o = &req.u.record_observations.observations[0];
    CU_ASSERT_EQUAL(o->observed_at, 1714564800 - 8 * 3600);
    CU_ASSERT_FALSE(o->temperature.present);
    CU_ASSERT_STRING_EQUAL(o->station_id, "");
    nimbus_json_request_cleanup(&req);
    CU_ASSERT_NOT_EQUAL(read_observation("{\"observedAt\":\"yesterday\"}", 3, &req, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "observations[3].observedAt"));
    nimbus_json_request_cleanup(&req);
    CU_ASSERT_NOT_EQUAL(read_observation("{\"temperature\":1}", 0, &req, &err), 0);
    CU_ASSERT_STRING_EQUAL(err.message, "observations[0].observedAt is required");
    nimbus_json_request_cleanup(&req);
    CU_ASSERT_NOT_EQUAL(
        read_observation("{\"observedAt\":\"2024-05-01T12:00:00Z\",\"seq\":\"x\"}", 0, &req, &err),
        0);
    CU_ASSERT_STRING_EQUAL(err.message, "observations[0].seq must be a number");
    nimbus_json_request_cleanup(&req);
    /* One rule for integers: 10 and 10.0 are, 10.5 is not. */
    const nimbus_json_target_t params = {.container = "params"};
    nimbus_json_request_init(&req, NIMBUS_OP_ListStations);
    CU_ASSERT_EQUAL(nimbus_json_request_read("{\"limit\":10.0}", 14, &params, &req, &err), 0);
    CU_ASSERT_EQUAL(req.u.list_stations.limit, 10);
    CU_ASSERT_TRUE(req.u.list_stations.has_limit);
    nimbus_json_request_cleanup(&req);
    nimbus_json_request_init(&req, NIMBUS_OP_ListStations);
    CU_ASSERT_EQUAL(nimbus_json_request_read("{\"limit\":10.5}", 14, &params, &req, &err),
                    NIMBUS_JSON_READ_FIELDS);
    CU_ASSERT_STRING_EQUAL(err.message, "limit must be an integer");
    nimbus_json_request_cleanup(&req);
}

/* Expects the request reader and the envelope's jansson parse to refuse
 * text, both mentioning want. */
static void parse_refused(const char *text, size_t len, const char *want)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    json_t *v = nimbus_json_parse(text, len, &err);
    CU_ASSERT_PTR_NULL(v);
    json_decref(v);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    if (!strstr(err.message, want)) {
        fprintf(stderr, "\nmessage \"%s\" lacks \"%s\"\n", err.message, want);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));

    nimbus_json_request_t req;
    nimbus_json_request_init(&req, NIMBUS_OP_ListStations);
    const nimbus_json_target_t target = {.container = "params"};
    nimbus_error_clear(&err);
    CU_ASSERT_EQUAL(nimbus_json_request_read(text, len, &target, &req, &err),
                    NIMBUS_JSON_READ_SYNTAX);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    if (!strstr(err.message, want)) {
        fprintf(stderr, "\nreader: message \"%s\" lacks \"%s\"\n", err.message, want);
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, want));
    nimbus_json_request_cleanup(&req);
}

/* An array of n values (one is the array), or an object of n - 1
 * members ("kNNNNN":"v": names are not values). Caller frees. */
static char *values_text(int n, bool object)
{
    char *text = malloc((size_t)n * 16 + 8);
    size_t len = 0;
    text[len++] = object ? '{' : '[';
    for (int i = 0; i < n - 1; i++) {
        len += (size_t)(object ? sprintf(text + len, "%s\"k%05d\":\"v\"", i ? "," : "", i)
                               : sprintf(text + len, "%s%s", i ? "," : "", i % 2 ? "1.5" : "null"));
    }
    text[len++] = object ? '}' : ']';
    text[len] = '\0';
    return text;
}

static void test_value_count(void)
{
    for (int object = 0; object < 2; object++) {
        for (int n = NIMBUS_JSON_MAX_VALUES; n <= NIMBUS_JSON_MAX_VALUES + 1; n++) {
            char *text = values_text(n, object);
            nimbus_error_t err;
            nimbus_error_clear(&err);
            json_t *v = nimbus_json_parse(text, strlen(text), &err);
            if (n == NIMBUS_JSON_MAX_VALUES) { /* at the limit */
                CU_ASSERT_PTR_NOT_NULL(v);
            } else { /* one past */
                CU_ASSERT_PTR_NULL(v);
                CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
                CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "at most 20000 values"));
            }
            json_decref(v);
            free(text);
        }
    }
    /* Strings holding what looks like structure count once. */
    const char *tricky = "{\"a\":\"[1,2,{\\\"b\\\":3}]\",\"b\":[\"x\",{\"c\":\"]\"}]}";
    nimbus_error_t err;
    json_t *v = nimbus_json_parse(tricky, strlen(tricky), &err);
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
}

static void test_bad_json(void)
{
    parse_refused("{\"a\":1,\"a\":2}", 13, "duplicate");
    parse_refused("{\"a\":\n  1e400}", 14, "line 2, column 7");
    parse_refused("{\"a\":123456789012345678901234567890}", 36, "malformed JSON");
    parse_refused("{\"a\":\"\xff\xfe\"}", 10, "malformed JSON");
    parse_refused("{\"a\":\"\xc0\xaf\"}", 10, "malformed JSON"); /* overlong '/' */
    parse_refused("{\"a\":\"x\\u0000y\"}", 16, "malformed JSON");
    parse_refused("{\"a\":\"\\ud800\"}", 14, "malformed JSON"); /* lone surrogate */
    parse_refused("{\"a\":1} x", 9, "malformed JSON at line 1, column 9: ");
    parse_refused("", 0, "malformed JSON at line 1, column 0: ");
    parse_refused(NULL, 0, "malformed JSON");

    /* Depth: exactly the limit parses, one more does not. */
    char deep[2 * NIMBUS_JSON_MAX_DEPTH + 8];
    size_t n = 0;
    for (int i = 0; i < NIMBUS_JSON_MAX_DEPTH; i++) {
        deep[n++] = '[';
    }
    for (int i = 0; i < NIMBUS_JSON_MAX_DEPTH; i++) {
        deep[n++] = ']';
    }
    nimbus_error_t err;
    json_t *v = nimbus_json_parse(deep, n, &err);
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
    /* The reader reads it too (then refuses it: not an object). */
    nimbus_json_request_t req;
    nimbus_json_request_init(&req, NIMBUS_OP_ListStations);
    const nimbus_json_target_t target = {.container = "params"};
    CU_ASSERT_EQUAL(nimbus_json_request_read(deep, n, &target, &req, &err),
                    NIMBUS_JSON_READ_SYNTAX);
    CU_ASSERT_STRING_EQUAL(err.message, "params must be a JSON object");
    nimbus_json_request_cleanup(&req);
    char deeper[sizeof deep + 2];
    deeper[0] = '[';
    memcpy(deeper + 1, deep, n);
    deeper[n + 1] = ']';
    parse_refused(deeper, n + 2, "nested deeper");
    /* Far beyond jansson's own limit: refused, no crash. */
    size_t huge = 100000;
    char *abyss = malloc(huge);
    CU_ASSERT_FATAL(abyss != NULL);
    memset(abyss, '[', huge);
    parse_refused(abyss, huge, "malformed JSON at line 1, column 2049: ");
    free(abyss);
}

static void test_problem(void)
{
    nimbus_json_writer_t wb, *b = &wb;
    nimbus_json_writer_init(b);
    for (int c = NIMBUS_OK + 1; c < NIMBUS_CODE_COUNT; c++) {
        nimbus_error_t err;
        nimbus_error_set(&err, (nimbus_code_t)c, "why \"%d\"", c);
        int status = nimbus_json_problem_encode(b, &err);
        CU_ASSERT_EQUAL(status, nimbus_code_http_status((nimbus_code_t)c));
        char *text = take(b);
        json_t *v = parse(text);
        CU_ASSERT_FATAL(v != NULL);
        CU_ASSERT_EQUAL(json_object_size(v), 5);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "status")), status);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "code")),
                               nimbus_code_name((nimbus_code_t)c));
        CU_ASSERT_PTR_NOT_NULL(strstr(json_string_value(json_object_get(v, "detail")), "why"));
        CU_ASSERT_EQUAL(
            strncmp(json_string_value(json_object_get(v, "type")), "urn:nimbus:problem:", 19), 0);
        json_decref(v);
        free(text);
    }
    nimbus_error_t ok;
    nimbus_error_clear(&ok);
    CU_ASSERT_EQUAL(nimbus_json_problem_encode(b, &ok), 500); /* never a 200 error */
    nimbus_json_writer_cleanup(b);
    nimbus_error_t bad;
    nimbus_error_set(&bad, NIMBUS_INVALID_ARGUMENT, "x");
    CU_ASSERT_EQUAL(nimbus_json_problem_write(b, &bad, 415), 415);
    char *text = take(b);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"status\":415"));
    free(text);
    nimbus_json_writer_cleanup(b);
}

/* ---- calls against a real core ------------------------------------------ */

static char db_dir[64];
static nimbus_core_t *core;
static nimbus_service_t *svc;
static const nimbus_credentials_t anyone = {NIMBUS_CRED_NONE, NULL, NULL};

static int call_text(nimbus_op_t op, const char *params, nimbus_json_shape_t shape, char **out,
                     nimbus_error_t *err)
{
    json_t *p = params ? parse(params) : NULL;
    nimbus_json_writer_t wb, *b = &wb;
    nimbus_json_writer_init(b);
    int rc = nimbus_json_call(svc, &anyone, op, p, shape, b, err);
    *out = take(b);
    nimbus_json_writer_cleanup(b);
    json_decref(p);
    return rc;
}

static int count_items(void *arg, const char *text, size_t len)
{
    CU_ASSERT_EQUAL(strlen(text), len);
    CU_ASSERT_EQUAL(text[0], '{');
    (*(int *)arg)++;
    return 0;
}

/* Stops the walk after the first item with a caller's own value. */
static int stop_after_one(void *arg, const char *text, size_t len)
{
    (void)text;
    (void)len;
    (*(int *)arg)++;
    return -2;
}

static void test_call(void)
{
    char *out;
    nimbus_error_t err;
    for (int i = 0; i < 5; i++) {
        char p[256];
        snprintf(p, sizeof p,
                 "{\"station\":{\"id\":\"s%d\",\"name\":\"S\",\"city\":\"Oslo\",\"country\":"
                 "\"NO\",\"latitude\":59.9,\"longitude\":10.75}}",
                 i);
        CU_ASSERT_EQUAL(call_text(NIMBUS_OP_CreateStation, p, NIMBUS_JSON_FIELDS, &out, &err), 0);
        CU_ASSERT_EQUAL(strncmp(out, "{\"station\":{\"id\":\"s", 19), 0);
        free(out);
    }
    CU_ASSERT_EQUAL(
        call_text(NIMBUS_OP_GetStation, "{\"id\":\"s1\"}", NIMBUS_JSON_VALUE, &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out,
                           "{\"id\":\"s1\",\"name\":\"S\",\"city\":\"Oslo\",\"country\":\"NO\","
                           "\"latitude\":59.9,\"longitude\":10.75}");
    free(out);
    CU_ASSERT_EQUAL(
        call_text(NIMBUS_OP_DeleteStation, "{\"id\":\"s4\"}", NIMBUS_JSON_FIELDS, &out, &err), 0);
    CU_ASSERT_STRING_EQUAL(out, "{}");
    free(out);
    CU_ASSERT_EQUAL(
        call_text(NIMBUS_OP_GetStation, "{\"id\":\"s4\"}", NIMBUS_JSON_FIELDS, &out, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    CU_ASSERT_STRING_EQUAL(out, ""); /* nothing written on failure */
    free(out);
    CU_ASSERT_EQUAL(call_text(NIMBUS_OP_GetStation, "{\"id\":\"s1\",\"extra\":1}",
                              NIMBUS_JSON_FIELDS, &out, &err),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "\"extra\""));
    free(out);
    CU_ASSERT_EQUAL(call_text(NIMBUS_OP_GetStation, NULL, NIMBUS_JSON_FIELDS, &out, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "id is required"));
    free(out);
    CU_ASSERT_EQUAL(call_text(NIMBUS_OP_RecordObservations,
                              "{\"stationId\":\"s1\",\"observations\":[{\"observedAt\":"
                              "\"2024-01-01T00:00:00Z\",\"temperature\":0.1}]}",
                              NIMBUS_JSON_FIELDS, &out, &err),
                    0);
    CU_ASSERT_STRING_EQUAL(out, "{\"accepted\":1,\"duplicates\":0,\"firstSeq\":1,\"lastSeq\":1}");
    free(out);
    CU_ASSERT_EQUAL(
        call_text(NIMBUS_OP_ListStations, "{\"limit\":2.5}", NIMBUS_JSON_FIELDS, &out, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "limit must be an integer"));
    free(out);

    /* Page by page: 4 stations in pages of 3, then the last page. */
    char cursor[NIMBUS_CURSOR_SIZE];
    int items = 0;
    json_t *p = parse("{\"city\":\"Oslo\"}");
    CU_ASSERT_EQUAL(list_page(svc, &anyone, NIMBUS_OP_ListStations, p, NULL, 3, count_items, &items,
                              cursor, &err),
                    0);
    CU_ASSERT_EQUAL(items, 3);
    CU_ASSERT_NOT_EQUAL(cursor[0], '\0');
    char next[NIMBUS_CURSOR_SIZE];
    CU_ASSERT_EQUAL(list_page(svc, &anyone, NIMBUS_OP_ListStations, p, cursor, 3, count_items,
                              &items, next, &err),
                    0);
    CU_ASSERT_EQUAL(items, 4);
    CU_ASSERT_STRING_EQUAL(next, "");
    json_decref(p);
    p = parse("{\"city\":\"Oslo\"}");
    items = 0;
    CU_ASSERT_EQUAL(list_page(svc, &anyone, NIMBUS_OP_GetCityWeather, p, NULL, 0, count_items,
                              &items, next, &err),
                    0);
    CU_ASSERT_EQUAL(items, 4);
    items = 0;
    CU_ASSERT_EQUAL(list_page(svc, &anyone, NIMBUS_OP_GetCityWeather, p, NULL, 0, stop_after_one,
                              &items, next, &err),
                    -2);
    CU_ASSERT_EQUAL(items, 1);
    CU_ASSERT_EQUAL(
        list_page(svc, &anyone, NIMBUS_OP_GetStation, p, NULL, 0, count_items, &items, next, &err),
        -1);
    json_decref(p);
}

static int setup(void)
{
    strcpy(db_dir, "/tmp/nimbus-json-XXXXXX");
    if (!mkdtemp(db_dir)) {
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/t.db", db_dir);
    nimbus_error_t err;
    core = nimbus_core_open(path, &err);
    svc = core ? nimbus_service_new(core, &err) : NULL;
    return svc ? 0 : -1;
}

static int teardown(void)
{
    nimbus_service_free(svc);
    nimbus_core_free(core);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", db_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    static const nimbus_test_case_t codec[] = {
        {"station round trip", test_station_round_trip},
        {"observation round trip", test_observation_round_trip},
        {"report encode", test_report_encode},
        {"string encode", test_string_encode},
        {"input rules", test_input_rules},
        {"bad JSON", test_bad_json},
        {"value count", test_value_count},
        {"problem+json", test_problem},
        {NULL, NULL},
    };
    static const nimbus_test_case_t call[] = {{"call", test_call}, {NULL, NULL}};
    static const nimbus_test_suite_t suites[] = {
        {"json_codec", NULL, NULL, codec},
        {"json_call", setup, teardown, call},
        {NULL, NULL, NULL, NULL},
    };
    return nimbus_test_run_suites(suites);
}
