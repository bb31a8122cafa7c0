/*
 * Core types to JSON text, and problem+json (see nimbus_json.h). Writes text
 * directly into an evbuffer so that doubles print as nimbus_double_format
 * prints them (the same text SOAP sends) and no json_t tree is built per
 * response. Failures of evbuffer_add are collected in one flag per call so
 * the encoders stay linear.
 */
#include "nimbus_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Collects evbuffer failures: once one append fails, later ones are
 * skipped and the encoder returns -1. */
typedef struct writer {
    struct evbuffer *out;
    int failed;
} writer_t;

static void put(writer_t *w, const char *s, size_t n)
{
    if (!w->failed && evbuffer_add(w->out, s, n) != 0)
        w->failed = 1;
}

static void puts_(writer_t *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Length of the valid UTF-8 sequence starting at p (a byte >= 0x80), or 0
 * when it is not one. */
static size_t utf8_seq(const char *p)
{
    unsigned char c = (unsigned char)*p;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    for (size_t i = 1; i < n; i++) {
        if (((unsigned char)p[i] & 0xC0) != 0x80)
            return 0;
    }
    return n && nimbus_utf8_length(p, n) == 1 ? n : 0;
}

/* Writes s as a JSON string. Text that is not UTF-8 (it can only come from
 * a client's bytes echoed in an error message) is written as U+FFFD, so the
 * output is always valid JSON. */
static void put_string(writer_t *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            size_t n = utf8_seq(p);
            if (n) {
                p += n - 1;
                continue;
            }
            put(w, run, (size_t)(p - run));
            puts_(w, "\\ufffd");
            run = p + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F)
            continue;
        put(w, run, (size_t)(p - run));
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            esc[2] = 0;
        }
        puts_(w, esc);
        run = p + 1;
    }
    puts_(w, run);
    put(w, "\"", 1);
}

/* `,"name":` (or without the comma for the first member). */
static void put_key(writer_t *w, bool *first, const char *name)
{
    if (!*first)
        put(w, ",", 1);
    *first = false;
    put(w, "\"", 1);
    puts_(w, name);
    put(w, "\":", 2);
}

static void put_double(writer_t *w, bool *first, const char *name, double d)
{
    char buf[32];
    put_key(w, first, name);
    puts_(w, nimbus_double_format(d, buf));
}

static void put_opt(writer_t *w, bool *first, const char *name, const nimbus_opt_double_t *v)
{
    if (v->present)
        put_double(w, first, name, v->value);
}

static void put_int(writer_t *w, bool *first, const char *name, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    put_key(w, first, name);
    puts_(w, buf);
}

static void put_str(writer_t *w, bool *first, const char *name, const char *s)
{
    put_key(w, first, name);
    put_string(w, s);
}

static void station(writer_t *w, const nimbus_station_t *s)
{
    bool first = true;
    put(w, "{", 1);
    put_str(w, &first, "id", s->id);
    put_str(w, &first, "name", s->name);
    put_str(w, &first, "city", s->city);
    put_str(w, &first, "country", s->country);
    put_double(w, &first, "latitude", s->latitude);
    put_double(w, &first, "longitude", s->longitude);
    put_opt(w, &first, "elevation", &s->elevation);
    put(w, "}", 1);
}

static void observation(writer_t *w, const nimbus_observation_t *o)
{
    char when[NIMBUS_TIME_TEXT_SIZE];
    bool first = true;
    put(w, "{", 1);
    put_str(w, &first, "stationId", o->station_id);
    put_str(w, &first, "observedAt", nimbus_time_format(o->observed_at, when));
    put_opt(w, &first, "temperature", &o->temperature);
    put_opt(w, &first, "humidity", &o->humidity);
    put_opt(w, &first, "pressure", &o->pressure);
    put_opt(w, &first, "windSpeed", &o->wind_speed);
    put_opt(w, &first, "windDirection", &o->wind_direction);
    put_opt(w, &first, "precipitation", &o->precipitation);
    if (o->seq > 0)
        put_int(w, &first, "seq", o->seq);
    put(w, "}", 1);
}

static void summary(writer_t *w, const nimbus_summary_t *s)
{
    bool first = true;
    put(w, "{", 1);
    put_int(w, &first, "count", s->count);
    put_opt(w, &first, "minTemperature", &s->min_temperature);
    put_opt(w, &first, "maxTemperature", &s->max_temperature);
    put_opt(w, &first, "meanTemperature", &s->mean_temperature);
    put_double(w, &first, "totalPrecipitation", s->total_precipitation);
    put(w, "}", 1);
}

static void report(writer_t *w, const nimbus_weather_report_t *r)
{
    put(w, "{\"station\":", 11);
    station(w, &r->station);
    if (r->has_latest) {
        puts_(w, ",\"latest\":");
        observation(w, &r->latest);
    }
    if (r->has_last24h) {
        puts_(w, ",\"last24h\":");
        summary(w, &r->last24h);
    }
    put(w, "}", 1);
}

int nimbus_json_string_encode(struct evbuffer *out, const char *s)
{
    writer_t w = {out, 0};
    put_string(&w, s ? s : "");
    return w.failed ? -1 : 0;
}

int nimbus_json_station_encode(struct evbuffer *out, const nimbus_station_t *s)
{
    writer_t w = {out, 0};
    station(&w, s);
    return w.failed ? -1 : 0;
}

int nimbus_json_observation_encode(struct evbuffer *out, const nimbus_observation_t *o)
{
    writer_t w = {out, 0};
    observation(&w, o);
    return w.failed ? -1 : 0;
}

int nimbus_json_summary_encode(struct evbuffer *out, const nimbus_summary_t *s)
{
    writer_t w = {out, 0};
    summary(&w, s);
    return w.failed ? -1 : 0;
}

int nimbus_json_report_encode(struct evbuffer *out, const nimbus_weather_report_t *r)
{
    writer_t w = {out, 0};
    report(&w, r);
    return w.failed ? -1 : 0;
}

/* ---- problem+json ------------------------------------------------------ */

const char *nimbus_json_problem_type(nimbus_code_t code)
{
    switch (code) {
#define NIMBUS_X_TYPE(name, status, server)                                                        \
    case NIMBUS_##name:                                                                            \
        return "urn:nimbus:problem:" #name;
        NIMBUS_ERROR_CODES(NIMBUS_X_TYPE)
#undef NIMBUS_X_TYPE
    default:
        return "urn:nimbus:problem:INTERNAL";
    }
}

const char *nimbus_json_problem_title(nimbus_code_t code)
{
    switch (code) {
    case NIMBUS_INVALID_ARGUMENT:
        return "Invalid argument";
    case NIMBUS_UNAUTHENTICATED:
        return "Authentication required";
    case NIMBUS_PERMISSION_DENIED:
        return "Permission denied";
    case NIMBUS_NOT_FOUND:
        return "Not found";
    case NIMBUS_ALREADY_EXISTS:
        return "Already exists";
    case NIMBUS_PAYLOAD_TOO_LARGE:
        return "Payload too large";
    case NIMBUS_RESOURCE_EXHAUSTED:
        return "Resource exhausted";
    case NIMBUS_UNAVAILABLE:
        return "Service unavailable";
    default:
        return "Internal error";
    }
}

int nimbus_json_problem_encode(struct evbuffer *out, const nimbus_error_t *err)
{
    return nimbus_json_problem_encode_status(out, err, 0);
}

int nimbus_json_problem_encode_status(struct evbuffer *out, const nimbus_error_t *err, int status)
{
    /* A success code here is a caller's bug; report it as one rather than
     * send a 200 that carries an error. */
    nimbus_code_t code =
        err && err->code > NIMBUS_OK && err->code < NIMBUS_CODE_COUNT ? err->code : NIMBUS_INTERNAL;
    const char *title = nimbus_json_problem_title(code);
    /* Statuses HTTP needs that no code of the contract has: the body says
     * the status the response carries (RFC 9457 3.1.3). */
    if (status == 405)
        title = "Method not allowed";
    else if (status == 415)
        title = "Unsupported media type";
    else if (status == 426)
        title = "Upgrade required";
    else
        status = nimbus_code_http_status(code);
    const char *detail = err && err->message[0] ? err->message : title;
    writer_t w = {out, 0};
    bool first = true;
    put(&w, "{", 1);
    put_str(&w, &first, "type", nimbus_json_problem_type(code));
    put_str(&w, &first, "title", title);
    put_int(&w, &first, "status", status);
    put_str(&w, &first, "detail", detail);
    put_str(&w, &first, "code", nimbus_code_name(code));
    put(&w, "}", 1);
    (void)w.failed; /* a partial body is still sent with the right status */
    return status;
}
