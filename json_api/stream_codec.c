/*
 * JSON conversions for the WebSocket endpoint (see stream_codec.h). Input is
 * read with jansson; output is written as text so that numbers print the
 * way every protocol prints them (nimbus_double_format). Field names are
 * the contract's camelCase; optional fields are omitted when absent, and
 * null in input means absent.
 */
#include "stream_codec.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_call.h"

/* ---- text ------------------------------------------------------------------ */

void nimbus__sb_add(nimbus_strbuf_t *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *bigger = realloc(sb->text, cap);
        if (!bigger) {
            sb->failed = true;
            return;
        }
        sb->text = bigger;
        sb->cap = cap;
    }
    memcpy(sb->text + sb->len, s, n);
    sb->len += n;
    sb->text[sb->len] = '\0';
}

void nimbus__sb_cstr(nimbus_strbuf_t *sb, const char *s)
{
    nimbus__sb_add(sb, s, strlen(s));
}

void nimbus__sb_json_string(nimbus_strbuf_t *sb, const char *s)
{
    nimbus__sb_add(sb, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        nimbus__sb_add(sb, run, (size_t)(p - run));
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else
            snprintf(esc, sizeof esc, "\\u%04x", c);
        nimbus__sb_cstr(sb, esc);
        run = p + 1;
    }
    nimbus__sb_cstr(sb, run);
    nimbus__sb_add(sb, "\"", 1);
}

void nimbus__sb_double(nimbus_strbuf_t *sb, double d)
{
    char buf[32];
    nimbus__sb_cstr(sb, nimbus_double_format(d, buf));
}

void nimbus__sb_int(nimbus_strbuf_t *sb, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    nimbus__sb_cstr(sb, buf);
}

char *nimbus__sb_take(nimbus_strbuf_t *sb, size_t *len)
{
    char *text = sb->failed ? NULL : sb->text;
    if (!text && !sb->failed) {
        text = calloc(1, 1); /* nothing appended: "" */
    }
    if (sb->failed)
        free(sb->text);
    if (len)
        *len = text ? sb->len : 0;
    memset(sb, 0, sizeof *sb);
    return text;
}

/* ---- reading params ------------------------------------------------------------ */

int nimbus__codec_string(json_t *params, const char *key, bool required, const char **out,
                         nimbus_error_t *err)
{
    json_t *v = json_object_get(params, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is required", key);
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be a string", key);
    *out = json_string_value(v);
    return 0;
}

int nimbus__codec_integer(json_t *params, const char *key, bool *has, int64_t *out,
                          nimbus_error_t *err)
{
    json_t *v = json_object_get(params, key);
    *has = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be an integer", key);
    *has = true;
    *out = json_integer_value(v);
    return 0;
}

int nimbus__codec_time(json_t *params, const char *key, bool *has, int64_t *out,
                       nimbus_error_t *err)
{
    const char *text;
    *has = false;
    if (nimbus__codec_string(params, key, false, &text, err) != 0)
        return -1;
    if (!text)
        return 0;
    if (nimbus_time_parse(text, key, out, err) != 0)
        return -1;
    *has = true;
    return 0;
}

/* Copies string field `key` of obj into dst (size bytes); absent gives "",
 * which the core's validation then reports with the field's rule. */
static int copy_field(json_t *obj, const char *what, const char *key, char *dst, size_t size,
                      nimbus_error_t *err)
{
    const char *v;
    char name[96];
    snprintf(name, sizeof name, "%s.%s", what, key);
    json_t *holder = json_object_get(obj, key);
    if (holder && !json_is_null(holder) &&
        (!json_is_string(holder) ||
         strlen(json_string_value(holder)) != json_string_length(holder)))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be a string", name);
    v = holder ? json_string_value(holder) : NULL;
    if (v && strlen(v) >= size)
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is too long", name);
    snprintf(dst, size, "%s", v ? v : "");
    return 0;
}

static int read_number(json_t *obj, const char *what, const char *key, bool required,
                       nimbus_opt_double_t *out, nimbus_error_t *err)
{
    json_t *v = json_object_get(obj, key);
    out->present = false;
    if (!v || json_is_null(v)) {
        if (required)
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s.%s is required", what, key);
        return 0;
    }
    if (!json_is_number(v))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s.%s must be a number", what, key);
    out->present = true;
    out->value = json_number_value(v);
    return 0;
}

static int station_from_json(json_t *obj, nimbus_station_t *st, nimbus_error_t *err)
{
    memset(st, 0, sizeof *st);
    if (!json_is_object(obj))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "station must be an object");
    nimbus_opt_double_t lat, lon;
    if (copy_field(obj, "station", "id", st->id, sizeof st->id, err) != 0 ||
        copy_field(obj, "station", "name", st->name, sizeof st->name, err) != 0 ||
        copy_field(obj, "station", "city", st->city, sizeof st->city, err) != 0 ||
        copy_field(obj, "station", "country", st->country, sizeof st->country, err) != 0 ||
        read_number(obj, "station", "latitude", true, &lat, err) != 0 ||
        read_number(obj, "station", "longitude", true, &lon, err) != 0 ||
        read_number(obj, "station", "elevation", false, &st->elevation, err) != 0)
        return -1;
    st->latitude = lat.value;
    st->longitude = lon.value;
    return 0;
}

static int observation_from_json(json_t *obj, size_t index, nimbus_observation_t *o,
                                 nimbus_error_t *err)
{
    char what[48];
    snprintf(what, sizeof what, "observations[%zu]", index);
    memset(o, 0, sizeof *o);
    if (!json_is_object(obj))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be an object", what);
    if (copy_field(obj, what, "stationId", o->station_id, sizeof o->station_id, err) != 0)
        return -1;
    json_t *at = json_object_get(obj, "observedAt");
    char name[64];
    snprintf(name, sizeof name, "%s.observedAt", what);
    if (!json_is_string(at))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is required (a dateTime)", name);
    if (nimbus_time_parse(json_string_value(at), name, &o->observed_at, err) != 0)
        return -1;
    return read_number(obj, what, "temperature", false, &o->temperature, err) != 0 ||
                   read_number(obj, what, "humidity", false, &o->humidity, err) != 0 ||
                   read_number(obj, what, "pressure", false, &o->pressure, err) != 0 ||
                   read_number(obj, what, "windSpeed", false, &o->wind_speed, err) != 0 ||
                   read_number(obj, what, "windDirection", false, &o->wind_direction, err) != 0 ||
                   read_number(obj, what, "precipitation", false, &o->precipitation, err) != 0
               ? -1
               : 0;
}

/* ---- writing ------------------------------------------------------------------- */

static void opt_number(nimbus_strbuf_t *sb, const char *key, const nimbus_opt_double_t *v)
{
    if (!v->present)
        return;
    nimbus__sb_cstr(sb, ",\"");
    nimbus__sb_cstr(sb, key);
    nimbus__sb_cstr(sb, "\":");
    nimbus__sb_double(sb, v->value);
}

void nimbus__codec_station(nimbus_strbuf_t *sb, const nimbus_station_t *st)
{
    nimbus__sb_cstr(sb, "{\"id\":");
    nimbus__sb_json_string(sb, st->id);
    nimbus__sb_cstr(sb, ",\"name\":");
    nimbus__sb_json_string(sb, st->name);
    nimbus__sb_cstr(sb, ",\"city\":");
    nimbus__sb_json_string(sb, st->city);
    nimbus__sb_cstr(sb, ",\"country\":");
    nimbus__sb_json_string(sb, st->country);
    nimbus__sb_cstr(sb, ",\"latitude\":");
    nimbus__sb_double(sb, st->latitude);
    nimbus__sb_cstr(sb, ",\"longitude\":");
    nimbus__sb_double(sb, st->longitude);
    opt_number(sb, "elevation", &st->elevation);
    nimbus__sb_cstr(sb, "}");
}

void nimbus__codec_observation(nimbus_strbuf_t *sb, const nimbus_observation_t *o)
{
    char at[NIMBUS_TIME_TEXT_SIZE];
    nimbus__sb_cstr(sb, "{\"stationId\":");
    nimbus__sb_json_string(sb, o->station_id);
    nimbus__sb_cstr(sb, ",\"observedAt\":\"");
    nimbus__sb_cstr(sb, nimbus_time_format(o->observed_at, at));
    nimbus__sb_cstr(sb, "\"");
    opt_number(sb, "temperature", &o->temperature);
    opt_number(sb, "humidity", &o->humidity);
    opt_number(sb, "pressure", &o->pressure);
    opt_number(sb, "windSpeed", &o->wind_speed);
    opt_number(sb, "windDirection", &o->wind_direction);
    opt_number(sb, "precipitation", &o->precipitation);
    if (o->seq > 0) {
        nimbus__sb_cstr(sb, ",\"seq\":");
        nimbus__sb_int(sb, o->seq);
    }
    nimbus__sb_cstr(sb, "}");
}

void nimbus__codec_report(nimbus_strbuf_t *sb, const nimbus_weather_report_t *r)
{
    nimbus__sb_cstr(sb, "{\"station\":");
    nimbus__codec_station(sb, &r->station);
    if (r->has_latest) {
        nimbus__sb_cstr(sb, ",\"latest\":");
        nimbus__codec_observation(sb, &r->latest);
    }
    if (r->has_last24h) {
        nimbus__sb_cstr(sb, ",\"last24h\":{\"count\":");
        nimbus__sb_int(sb, r->last24h.count);
        opt_number(sb, "minTemperature", &r->last24h.min_temperature);
        opt_number(sb, "maxTemperature", &r->last24h.max_temperature);
        opt_number(sb, "meanTemperature", &r->last24h.mean_temperature);
        nimbus__sb_cstr(sb, ",\"totalPrecipitation\":");
        nimbus__sb_double(sb, r->last24h.total_precipitation);
        nimbus__sb_cstr(sb, "}");
    }
    nimbus__sb_cstr(sb, "}");
}

char *nimbus__stream_observation_text(const nimbus_observation_t *obs, size_t *len)
{
    nimbus_strbuf_t sb = {0};
    nimbus__codec_observation(&sb, obs);
    return nimbus__sb_take(&sb, len);
}

/* ---- single operations ------------------------------------------------------------ */

static int record(nimbus_service_t *svc, const nimbus_credentials_t *creds, json_t *params,
                  nimbus_strbuf_t *sb, nimbus_error_t *err)
{
    nimbus_record_observations_request_t req = {0};
    nimbus_record_observations_response_t res = {0};
    nimbus_observation_t *obs = NULL;
    int rc = -1;
    json_t *list = json_object_get(params, "observations");
    if (nimbus__codec_string(params, "stationId", false, &req.station_id, err) != 0)
        goto out;
    if (!json_is_array(list)) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "observations must be an array");
        goto out;
    }
    req.count = json_array_size(list);
    if (req.count > 0 && !(obs = calloc(req.count, sizeof *obs))) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < req.count; i++)
        if (observation_from_json(json_array_get(list, i), i, &obs[i], err) != 0)
            goto out;
    req.observations = obs;
    if (nimbus_service_record_observations(svc, creds, &req, &res, err) != 0)
        goto out;
    nimbus__sb_cstr(sb, "{\"accepted\":");
    nimbus__sb_int(sb, res.accepted);
    nimbus__sb_cstr(sb, ",\"duplicates\":");
    nimbus__sb_int(sb, res.duplicates);
    if (res.has_seq) {
        nimbus__sb_cstr(sb, ",\"firstSeq\":");
        nimbus__sb_int(sb, res.first_seq);
        nimbus__sb_cstr(sb, ",\"lastSeq\":");
        nimbus__sb_int(sb, res.last_seq);
    }
    nimbus__sb_cstr(sb, "}");
    rc = 0;
out:
    nimbus_record_observations_response_cleanup(&res);
    free(obs);
    return rc;
}

/* One station-shaped operation: Get/Create/Update/Delete. */
static int station_op(nimbus_service_t *svc, const nimbus_credentials_t *creds, nimbus_op_t op,
                      json_t *params, nimbus_strbuf_t *sb, nimbus_error_t *err)
{
    const char *id = NULL;
    nimbus_station_t out;
    int rc;
    if (op == NIMBUS_OP_GetStation || op == NIMBUS_OP_DeleteStation ||
        op == NIMBUS_OP_UpdateStation) {
        if (nimbus__codec_string(params, "id", op != NIMBUS_OP_UpdateStation, &id, err) != 0)
            return -1;
    }
    if (op == NIMBUS_OP_GetStation) {
        nimbus_get_station_request_t req = {id};
        nimbus_get_station_response_t res = {0};
        rc = nimbus_service_get_station(svc, creds, &req, &res, err);
        out = res.station;
        nimbus_get_station_response_cleanup(&res);
    } else if (op == NIMBUS_OP_DeleteStation) {
        nimbus_delete_station_request_t req = {id};
        nimbus_delete_station_response_t res = {0};
        rc = nimbus_service_delete_station(svc, creds, &req, &res, err);
        nimbus_delete_station_response_cleanup(&res);
        if (rc == 0)
            nimbus__sb_cstr(sb, "{}");
        return rc;
    } else if (op == NIMBUS_OP_CreateStation) {
        nimbus_create_station_request_t req;
        nimbus_create_station_response_t res = {0};
        if (station_from_json(json_object_get(params, "station"), &req.station, err) != 0)
            return -1;
        rc = nimbus_service_create_station(svc, creds, &req, &res, err);
        out = res.station;
        nimbus_create_station_response_cleanup(&res);
    } else {
        nimbus_update_station_request_t req;
        memset(&req, 0, sizeof req);
        req.id = id;
        nimbus_update_station_response_t res = {0};
        if (station_from_json(json_object_get(params, "station"), &req.station, err) != 0)
            return -1;
        rc = nimbus_service_update_station(svc, creds, &req, &res, err);
        out = res.station;
        nimbus_update_station_response_cleanup(&res);
    }
    if (rc != 0)
        return -1;
    nimbus__sb_cstr(sb, "{\"station\":");
    nimbus__codec_station(sb, &out);
    nimbus__sb_cstr(sb, "}");
    return 0;
}

int nimbus__codec_call_single(nimbus_service_t *svc, const nimbus_credentials_t *creds,
                              nimbus_op_t op, json_t *params, char **result, nimbus_error_t *err)
{
    nimbus_strbuf_t sb = {0};
    int rc;
    *result = NULL;
    if (op == NIMBUS_OP_RecordObservations) {
        rc = record(svc, creds, params, &sb, err);
    } else if (op == NIMBUS_OP_GetWeather) {
        nimbus_get_weather_request_t req = {NULL};
        nimbus_get_weather_response_t res = {0};
        rc = nimbus__codec_string(params, "stationId", false, &req.station_id, err);
        if (rc == 0)
            rc = nimbus_service_get_weather(svc, creds, &req, &res, err);
        if (rc == 0) {
            nimbus__sb_cstr(&sb, "{\"report\":");
            nimbus__codec_report(&sb, &res.report);
            nimbus__sb_cstr(&sb, "}");
        }
        nimbus_get_weather_response_cleanup(&res);
    } else {
        rc = station_op(svc, creds, op, params, &sb, err);
    }
    if (rc != 0) {
        free(nimbus__sb_take(&sb, NULL));
        return -1;
    }
    *result = nimbus__sb_take(&sb, NULL);
    if (!*result)
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    return 0;
}

/* ---- problem+json ------------------------------------------------------------------ */

void nimbus__stream_reply_problem(nimbus_worker_t *w, struct evhttp_request *req, int status,
                                  const nimbus_error_t *err, const nimbus_request_log_t *log)
{
    nimbus_code_t code = err && err->code != NIMBUS_OK ? err->code : NIMBUS_INTERNAL;
    nimbus_strbuf_t sb = {0};
    nimbus__sb_cstr(&sb, "{\"type\":\"about:blank\",\"title\":");
    nimbus__sb_json_string(&sb, nimbus_code_name(code));
    nimbus__sb_cstr(&sb, ",\"status\":");
    nimbus__sb_int(&sb, status);
    nimbus__sb_cstr(&sb, ",\"detail\":");
    nimbus__sb_json_string(&sb, err && err->message[0] ? err->message : nimbus_code_name(code));
    nimbus__sb_cstr(&sb, ",\"code\":");
    nimbus__sb_json_string(&sb, nimbus_code_name(code));
    nimbus__sb_cstr(&sb, "}");
    size_t len;
    char *text = nimbus__sb_take(&sb, &len);
    struct evbuffer *body = evbuffer_new();
    if (body && text)
        evbuffer_add(body, text, len);
    free(text);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/problem+json");
    nimbus_http_reply(w, req, status, body, log);
    if (body)
        evbuffer_free(body);
}
