/*
 * `call` over WebSocket (see stream_call.h): params -> request, the core's
 * nimbus_service_<op>, response -> JSON; LIST operations as cursors that
 * fetch one page at a time. The request fields and their JSON spelling are
 * the REST API's; the rules are the core's (limit range, ids, values), so
 * this file only checks JSON types.
 */
#include "stream_call.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_codec.h"

/* Results fetched per page when the caller gave no limit (or more remain). */
#define STREAM_CALL_PAGE 100

struct nimbus_stream_call {
    nimbus_service_t *svc;
    const nimbus_credentials_t *creds;
    nimbus_op_t op;
    char *a; /* city (ListStations, GetCityWeather) or stationId */
    char *b; /* country */
    char cursor[NIMBUS_CURSOR_SIZE];
    bool has_from, has_to;
    int64_t from, to;
    bool has_limit;
    int64_t remaining; /* with has_limit: results still allowed */
    bool loaded, last_page;
    nimbus_list_stations_response_t stations;
    nimbus_get_observations_response_t observations;
    nimbus_get_city_weather_response_t reports;
    size_t index;
    size_t given;
    size_t pages; /* fetched so far */
};

/* Copies the optional string params[key] into *out (NULL when absent). */
static int dup_param(json_t *params, const char *key, char **out, nimbus_error_t *err)
{
    const char *v = NULL;
    *out = NULL;
    if (nimbus__codec_string(params, key, false, &v, err) != 0)
        return -1;
    if (v && !(*out = strdup(v)))
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    return 0;
}

static void page_cleanup(nimbus_stream_call_t *c)
{
    nimbus_list_stations_response_cleanup(&c->stations);
    nimbus_get_observations_response_cleanup(&c->observations);
    nimbus_get_city_weather_response_cleanup(&c->reports);
    memset(&c->stations, 0, sizeof c->stations);
    memset(&c->observations, 0, sizeof c->observations);
    memset(&c->reports, 0, sizeof c->reports);
    c->index = 0;
    c->loaded = false;
}

/* Fetches the next page into c. The first page asks for the caller's own
 * limit (so the core checks its range); later ones for what remains. */
static int fetch_page(nimbus_stream_call_t *c, nimbus_error_t *err)
{
    bool first = c->pages++ == 0;
    int64_t limit = STREAM_CALL_PAGE;
    if (c->has_limit)
        limit = first ? c->remaining : (c->remaining < limit ? c->remaining : limit);
    const char *cursor = c->cursor[0] ? c->cursor : NULL;
    page_cleanup(c);
    int rc;
    const char *next = "";
    switch (c->op) {
    case NIMBUS_OP_ListStations: {
        nimbus_list_stations_request_t req = {c->a, c->b, true, limit, cursor};
        rc = nimbus_service_list_stations(c->svc, c->creds, &req, &c->stations, err);
        next = c->stations.next_cursor;
        break;
    }
    case NIMBUS_OP_GetObservations: {
        nimbus_get_observations_request_t req = {c->a,  c->has_from, c->from, c->has_to,
                                                 c->to, true,        limit,   cursor};
        rc = nimbus_service_get_observations(c->svc, c->creds, &req, &c->observations, err);
        next = c->observations.next_cursor;
        break;
    }
    default: {
        nimbus_get_city_weather_request_t req = {c->a, c->b};
        rc = nimbus_service_get_city_weather(c->svc, c->creds, &req, &c->reports, err);
        break;
    }
    }
    if (rc != 0) {
        page_cleanup(c);
        c->last_page = true;
        return -1;
    }
    c->loaded = true;
    snprintf(c->cursor, sizeof c->cursor, "%s", next ? next : "");
    c->last_page = c->cursor[0] == '\0';
    return 0;
}

static size_t page_count(const nimbus_stream_call_t *c)
{
    switch (c->op) {
    case NIMBUS_OP_ListStations:
        return c->stations.count;
    case NIMBUS_OP_GetObservations:
        return c->observations.count;
    default:
        return c->reports.count;
    }
}

static char *page_item(const nimbus_stream_call_t *c, size_t i)
{
    nimbus_strbuf_t sb = {0};
    switch (c->op) {
    case NIMBUS_OP_ListStations:
        nimbus__codec_station(&sb, &c->stations.stations[i]);
        break;
    case NIMBUS_OP_GetObservations:
        nimbus__codec_observation(&sb, &c->observations.observations[i]);
        break;
    default:
        nimbus__codec_report(&sb, &c->reports.reports[i]);
        break;
    }
    return nimbus__sb_take(&sb, NULL);
}

int nimbus__stream_call_next(nimbus_stream_call_t *c, char **item, nimbus_error_t *err)
{
    *item = NULL;
    for (;;) {
        if (c->has_limit && c->remaining <= 0)
            return 0;
        if (c->loaded && c->index < page_count(c)) {
            *item = page_item(c, c->index);
            if (!*item) {
                c->last_page = true;
                c->remaining = 0;
                c->has_limit = true;
                return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
            }
            c->index++;
            c->given++;
            if (c->has_limit)
                c->remaining--;
            return 1;
        }
        if (c->last_page)
            return 0;
        if (fetch_page(c, err) != 0)
            return -1;
    }
}

size_t nimbus__stream_call_count(const nimbus_stream_call_t *c)
{
    return c->given;
}

void nimbus__stream_call_free(nimbus_stream_call_t *c)
{
    if (!c)
        return;
    page_cleanup(c);
    free(c->a);
    free(c->b);
    free(c);
}

/* Reads the parameters of a LIST operation and fetches its first page, so
 * that a bad request is an `error` before any `item`. */
static int start_list(nimbus_service_t *svc, const nimbus_credentials_t *creds, nimbus_op_t op,
                      json_t *params, nimbus_stream_call_t **out, nimbus_error_t *err)
{
    nimbus_stream_call_t *c = calloc(1, sizeof *c);
    if (!c)
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    c->svc = svc;
    c->creds = creds;
    c->op = op;
    const char *cursor = NULL;
    if (op == NIMBUS_OP_GetObservations) {
        if (dup_param(params, "stationId", &c->a, err) != 0 ||
            nimbus__codec_time(params, "from", &c->has_from, &c->from, err) != 0 ||
            nimbus__codec_time(params, "to", &c->has_to, &c->to, err) != 0)
            goto fail;
    } else if (dup_param(params, "city", &c->a, err) != 0 ||
               dup_param(params, "country", &c->b, err) != 0) {
        goto fail;
    }
    if (op != NIMBUS_OP_GetCityWeather) {
        if (nimbus__codec_integer(params, "limit", &c->has_limit, &c->remaining, err) != 0 ||
            nimbus__codec_string(params, "cursor", false, &cursor, err) != 0)
            goto fail;
        if (cursor && strlen(cursor) >= sizeof c->cursor) {
            nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "cursor is not valid");
            goto fail;
        }
        snprintf(c->cursor, sizeof c->cursor, "%s", cursor ? cursor : "");
    }
    if (fetch_page(c, err) != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    nimbus__stream_call_free(c);
    return -1;
}

int nimbus__stream_call_start(nimbus_service_t *svc, const nimbus_credentials_t *creds,
                              const char *op, json_t *params, char **result,
                              nimbus_stream_call_t **call, nimbus_error_t *err)
{
    *result = NULL;
    *call = NULL;
    const nimbus_op_info_t *info = nimbus_op_find(op);
    if (!info)
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "unknown operation \"%.64s\"", op);
    json_t *empty = NULL;
    if (!params) {
        params = empty = json_object();
        if (!params)
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    int rc;
    if (info->kind == NIMBUS_OP_KIND_LIST)
        rc = start_list(svc, creds, info->op, params, call, err);
    else
        rc = nimbus__codec_call_single(svc, creds, info->op, params, result, err);
    json_decref(empty);
    return rc;
}
