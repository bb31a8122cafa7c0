/*
 * The table-driven JSON call (see nimbus_json.h): params object -> the
 * operation's request struct -> nimbus_service_<op> -> response as JSON
 * text. Dispatch is generated from NIMBUS_OPERATIONS, so an operation added
 * to the table without a decoder and an encoder here fails to compile.
 *
 * Strings in a decoded request are borrowed from params (jansson keeps them
 * alive while params is referenced); the only heap memory a request owns is
 * the RecordObservations batch, freed in request_cleanup.
 */
#include "json_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- params each operation accepts ---------------------------------------- */

static const char *const list_stations_params[] = {"city", "country", "limit", "cursor", NULL};
static const char *const get_station_params[] = {"id", NULL};
static const char *const create_station_params[] = {"station", NULL};
static const char *const update_station_params[] = {"station", "id", NULL};
static const char *const delete_station_params[] = {"id", NULL};
static const char *const record_observations_params[] = {"stationId", "observations", NULL};
static const char *const get_observations_params[] = {"stationId", "from",   "to",
                                                      "limit",     "cursor", NULL};
static const char *const get_weather_params[] = {"stationId", NULL};
static const char *const get_city_weather_params[] = {"city", "country", NULL};

const char *const *nimbus_json_op_params(nimbus_op_t op)
{
    switch (op) {
#define NIMBUS_X_PARAMS(Name, snake, role, kind, method, path, status)                             \
    case NIMBUS_OP_##Name:                                                                         \
        return snake##_params;
        NIMBUS_OPERATIONS(NIMBUS_X_PARAMS)
#undef NIMBUS_X_PARAMS
    default:
        return NULL;
    }
}

/* ---- requests -------------------------------------------------------------- */

typedef struct request {
    union {
#define NIMBUS_X_REQ(Name, snake, role, kind, method, path, status)                                \
    nimbus_##snake##_request_t snake;
        NIMBUS_OPERATIONS(NIMBUS_X_REQ)
#undef NIMBUS_X_REQ
    } u;
    nimbus_observation_t *batch; /* owned: RecordObservations */
} request_t;

static void request_cleanup(request_t *r)
{
    free(r->batch);
    r->batch = NULL;
}

static int decode_limit(json_t *p, bool *has, int64_t *limit, nimbus_error_t *err)
{
    return nimbus__json_get_integer(p, "", "limit", has, limit, err);
}

static int decode_observations(json_t *p, request_t *r, nimbus_error_t *err)
{
    json_t *arr = json_object_get(p, "observations");
    if (!arr || json_is_null(arr))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "observations is required");
    if (!json_is_array(arr))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "observations must be an array");
    size_t n = json_array_size(arr);
    /* Refused before allocating for a batch the core would refuse. */
    if (nimbus_record_batch_validate(n, err) != 0)
        return -1;
    r->batch = calloc(n, sizeof *r->batch);
    if (!r->batch)
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char what[40];
        snprintf(what, sizeof what, "observations[%zu]", i);
        if (nimbus_json_observation_decode(json_array_get(arr, i), what, &r->batch[i], err) != 0)
            return -1;
    }
    r->u.record_observations.observations = r->batch;
    r->u.record_observations.count = n;
    return 0;
}

static int decode_station_member(json_t *p, bool id_required, nimbus_station_t *out,
                                 nimbus_error_t *err)
{
    json_t *s = json_object_get(p, "station");
    if (!s || json_is_null(s))
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "station is required");
    return nimbus_json_station_decode(s, "station", id_required, out, err);
}

/* Fills r from params p (an object already checked against the op's member
 * list). */
static int decode_request(nimbus_op_t op, json_t *p, request_t *r, nimbus_error_t *err)
{
    switch (op) {
    case NIMBUS_OP_ListStations: {
        nimbus_list_stations_request_t *q = &r->u.list_stations;
        return nimbus__json_get_string(p, "", "city", false, &q->city, err) ||
               nimbus__json_get_string(p, "", "country", false, &q->country, err) ||
               decode_limit(p, &q->has_limit, &q->limit, err) ||
               nimbus__json_get_string(p, "", "cursor", false, &q->cursor, err);
    }
    case NIMBUS_OP_GetStation:
        return nimbus__json_get_string(p, "", "id", true, &r->u.get_station.id, err);
    case NIMBUS_OP_CreateStation:
        return decode_station_member(p, true, &r->u.create_station.station, err);
    case NIMBUS_OP_UpdateStation: {
        nimbus_update_station_request_t *q = &r->u.update_station;
        if (nimbus__json_get_string(p, "", "id", false, &q->id, err) != 0)
            return -1;
        return decode_station_member(p, q->id == NULL, &q->station, err);
    }
    case NIMBUS_OP_DeleteStation:
        return nimbus__json_get_string(p, "", "id", true, &r->u.delete_station.id, err);
    case NIMBUS_OP_RecordObservations:
        return nimbus__json_get_string(p, "", "stationId", true,
                                       &r->u.record_observations.station_id, err) ||
               decode_observations(p, r, err);
    case NIMBUS_OP_GetObservations: {
        nimbus_get_observations_request_t *q = &r->u.get_observations;
        return nimbus__json_get_string(p, "", "stationId", true, &q->station_id, err) ||
               nimbus__json_get_time(p, "", "from", &q->has_from, &q->from, err) ||
               nimbus__json_get_time(p, "", "to", &q->has_to, &q->to, err) ||
               decode_limit(p, &q->has_limit, &q->limit, err) ||
               nimbus__json_get_string(p, "", "cursor", false, &q->cursor, err);
    }
    case NIMBUS_OP_GetWeather:
        return nimbus__json_get_string(p, "", "stationId", true, &r->u.get_weather.station_id, err);
    case NIMBUS_OP_GetCityWeather:
        return nimbus__json_get_string(p, "", "city", true, &r->u.get_city_weather.city, err) ||
               nimbus__json_get_string(p, "", "country", false, &r->u.get_city_weather.country,
                                       err);
    default:
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "unknown operation");
    }
}

static int decode(nimbus_op_t op, json_t *params, request_t *r, nimbus_error_t *err)
{
    memset(r, 0, sizeof *r);
    const char *const *allowed = nimbus_json_op_params(op);
    if (!allowed)
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "unknown operation");
    json_t *empty = NULL;
    if (!params || json_is_null(params)) {
        empty = json_object();
        if (!empty)
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        params = empty;
    }
    int rc = nimbus__json_check_members(params, "params", allowed, err) != 0 ||
                     decode_request(op, params, r, err) != 0
                 ? -1
                 : 0;
    json_decref(empty);
    return rc;
}

/* ---- responses ------------------------------------------------------------- */

/* Appends `"name":[items...]` for an array of count items of type T. */
#define ENCODE_ARRAY(out, name, items, count, encoder)                                             \
    do {                                                                                           \
        if (evbuffer_add_printf(out, "\"%s\":[", name) < 0)                                        \
            return -1;                                                                             \
        for (size_t i_ = 0; i_ < (count); i_++) {                                                  \
            if ((i_ && evbuffer_add(out, ",", 1) != 0) || encoder(out, &(items)[i_]) != 0)         \
                return -1;                                                                         \
        }                                                                                          \
        if (evbuffer_add(out, "]", 1) != 0)                                                        \
            return -1;                                                                             \
    } while (0)

static int encode_cursor(struct evbuffer *out, const char *cursor)
{
    if (!cursor[0])
        return 0;
    return evbuffer_add(out, ",\"nextCursor\":", 14) != 0 ||
                   nimbus_json_string_encode(out, cursor) != 0
               ? -1
               : 0;
}

/* `{"name":` value `}` or the value alone. */
static int wrap_open(struct evbuffer *out, nimbus_json_shape_t shape, const char *name)
{
    return shape == NIMBUS_JSON_FIELDS ? evbuffer_add_printf(out, "{\"%s\":", name) < 0 : 0;
}

static int wrap_close(struct evbuffer *out, nimbus_json_shape_t shape)
{
    return shape == NIMBUS_JSON_FIELDS ? evbuffer_add(out, "}", 1) : 0;
}

static int encode_station_field(struct evbuffer *out, nimbus_json_shape_t shape,
                                const nimbus_station_t *s)
{
    return wrap_open(out, shape, "station") || nimbus_json_station_encode(out, s) ||
                   wrap_close(out, shape)
               ? -1
               : 0;
}

static int encode_response(nimbus_op_t op, const void *response, nimbus_json_shape_t shape,
                           struct evbuffer *out)
{
    switch (op) {
    case NIMBUS_OP_ListStations: {
        const nimbus_list_stations_response_t *r = response;
        evbuffer_add(out, "{", 1);
        ENCODE_ARRAY(out, "stations", r->stations, r->count, nimbus_json_station_encode);
        return encode_cursor(out, r->next_cursor) || evbuffer_add(out, "}", 1) ? -1 : 0;
    }
    case NIMBUS_OP_GetStation:
        return encode_station_field(out, shape,
                                    &((const nimbus_get_station_response_t *)response)->station);
    case NIMBUS_OP_CreateStation:
        return encode_station_field(out, shape,
                                    &((const nimbus_create_station_response_t *)response)->station);
    case NIMBUS_OP_UpdateStation:
        return encode_station_field(out, shape,
                                    &((const nimbus_update_station_response_t *)response)->station);
    case NIMBUS_OP_DeleteStation:
        return shape == NIMBUS_JSON_FIELDS ? evbuffer_add(out, "{}", 2) : 0;
    case NIMBUS_OP_RecordObservations: {
        const nimbus_record_observations_response_t *r = response;
        if (r->has_seq) {
            return evbuffer_add_printf(out,
                                       "{\"accepted\":%lld,\"duplicates\":%lld,\"firstSeq\":%lld,"
                                       "\"lastSeq\":%lld}",
                                       (long long)r->accepted, (long long)r->duplicates,
                                       (long long)r->first_seq, (long long)r->last_seq) < 0
                       ? -1
                       : 0;
        }
        return evbuffer_add_printf(out, "{\"accepted\":%lld,\"duplicates\":%lld}",
                                   (long long)r->accepted, (long long)r->duplicates) < 0
                   ? -1
                   : 0;
    }
    case NIMBUS_OP_GetObservations: {
        const nimbus_get_observations_response_t *r = response;
        evbuffer_add(out, "{", 1);
        ENCODE_ARRAY(out, "observations", r->observations, r->count,
                     nimbus_json_observation_encode);
        return encode_cursor(out, r->next_cursor) || evbuffer_add(out, "}", 1) ? -1 : 0;
    }
    case NIMBUS_OP_GetWeather: {
        const nimbus_get_weather_response_t *r = response;
        return wrap_open(out, shape, "report") || nimbus_json_report_encode(out, &r->report) ||
                       wrap_close(out, shape)
                   ? -1
                   : 0;
    }
    case NIMBUS_OP_GetCityWeather: {
        const nimbus_get_city_weather_response_t *r = response;
        evbuffer_add(out, "{", 1);
        ENCODE_ARRAY(out, "reports", r->reports, r->count, nimbus_json_report_encode);
        return evbuffer_add(out, "}", 1) ? -1 : 0;
    }
    default:
        return -1;
    }
}

/* ---- the call -------------------------------------------------------------- */

typedef union response {
#define NIMBUS_X_RES(Name, snake, role, kind, method, path, status)                                \
    nimbus_##snake##_response_t snake;
    NIMBUS_OPERATIONS(NIMBUS_X_RES)
#undef NIMBUS_X_RES
} response_t;

static int run(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
               const request_t *r, response_t *res, nimbus_error_t *err)
{
    switch (op) {
#define NIMBUS_X_RUN(Name, snake, role, kind, method, path, status)                                \
    case NIMBUS_OP_##Name:                                                                         \
        return nimbus_service_##snake(svc, caller, &r->u.snake, &res->snake, err);
        NIMBUS_OPERATIONS(NIMBUS_X_RUN)
#undef NIMBUS_X_RUN
    default:
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "unknown operation");
    }
}

static void response_cleanup(nimbus_op_t op, response_t *res)
{
    switch (op) {
#define NIMBUS_X_CLEAN(Name, snake, role, kind, method, path, status)                              \
    case NIMBUS_OP_##Name:                                                                         \
        nimbus_##snake##_response_cleanup(&res->snake);                                            \
        break;
        NIMBUS_OPERATIONS(NIMBUS_X_CLEAN)
#undef NIMBUS_X_CLEAN
    default:
        break;
    }
}

int nimbus_json_call(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                     json_t *params, nimbus_json_shape_t shape, struct evbuffer *out,
                     nimbus_error_t *err)
{
    request_t req;
    response_t res;
    memset(&res, 0, sizeof res);
    int rc = -1;
    if (decode(op, params, &req, err) != 0)
        goto done;
    if (run(svc, caller, op, &req, &res, err) != 0)
        goto done;
    /* Encode into a scratch buffer first so that out is untouched on
     * failure. */
    struct evbuffer *tmp = evbuffer_new();
    if (!tmp || encode_response(op, &res, shape, tmp) != 0 || evbuffer_add_buffer(out, tmp) != 0) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    } else {
        rc = 0;
    }
    if (tmp)
        evbuffer_free(tmp);
done:
    response_cleanup(op, &res);
    request_cleanup(&req);
    return rc;
}

/* ---- list pages ------------------------------------------------------------ */

/* Hands the JSON text of one item to the caller's callback and returns
 * what it returned; when the item could not be written, sets *oom and
 * returns non-zero to stop the walk. */
static int emit(struct evbuffer *scratch, nimbus_json_item_fn item, void *arg, int encoded,
                bool *oom)
{
    /* NUL-terminated as well as counted, for callers that want a C string. */
    size_t len = evbuffer_get_length(scratch);
    unsigned char *text = NULL;
    if (encoded == 0 && evbuffer_add(scratch, "", 1) == 0)
        text = evbuffer_pullup(scratch, -1);
    if (!text) {
        *oom = true;
        return 1;
    }
    int rc = item(arg, (const char *)text, len);
    evbuffer_drain(scratch, len + 1);
    return rc;
}

int nimbus_json_list_page(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                          json_t *params, const char *cursor, int64_t limit,
                          nimbus_json_item_fn item, void *arg, char next_cursor[NIMBUS_CURSOR_SIZE],
                          nimbus_error_t *err)
{
    request_t req;
    response_t res;
    memset(&res, 0, sizeof res);
    next_cursor[0] = '\0';
    struct evbuffer *scratch = NULL;
    int rc = -1;
    if (op != NIMBUS_OP_ListStations && op != NIMBUS_OP_GetObservations &&
        op != NIMBUS_OP_GetCityWeather) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "not a list operation");
        memset(&req, 0, sizeof req);
        goto done;
    }
    if (decode(op, params, &req, err) != 0)
        goto done;
    if (op == NIMBUS_OP_ListStations) {
        if (cursor)
            req.u.list_stations.cursor = cursor;
        if (limit > 0) {
            req.u.list_stations.has_limit = true;
            req.u.list_stations.limit = limit;
        }
    } else if (op == NIMBUS_OP_GetObservations) {
        if (cursor)
            req.u.get_observations.cursor = cursor;
        if (limit > 0) {
            req.u.get_observations.has_limit = true;
            req.u.get_observations.limit = limit;
        }
    }
    if (run(svc, caller, op, &req, &res, err) != 0)
        goto done;
    scratch = evbuffer_new();
    if (!scratch) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        goto done;
    }
    int stop = 0;
    bool oom = false;
    if (op == NIMBUS_OP_ListStations) {
        for (size_t i = 0; i < res.list_stations.count && !stop; i++)
            stop = emit(scratch, item, arg,
                        nimbus_json_station_encode(scratch, &res.list_stations.stations[i]), &oom);
        memcpy(next_cursor, res.list_stations.next_cursor, NIMBUS_CURSOR_SIZE);
    } else if (op == NIMBUS_OP_GetObservations) {
        for (size_t i = 0; i < res.get_observations.count && !stop; i++)
            stop =
                emit(scratch, item, arg,
                     nimbus_json_observation_encode(scratch, &res.get_observations.observations[i]),
                     &oom);
        memcpy(next_cursor, res.get_observations.next_cursor, NIMBUS_CURSOR_SIZE);
    } else {
        for (size_t i = 0; i < res.get_city_weather.count && !stop; i++)
            stop = emit(scratch, item, arg,
                        nimbus_json_report_encode(scratch, &res.get_city_weather.reports[i]), &oom);
    }
    next_cursor[NIMBUS_CURSOR_SIZE - 1] = '\0';
    if (oom) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        goto done;
    }
    rc = stop;
done:
    if (scratch)
        evbuffer_free(scratch);
    response_cleanup(op, &res);
    request_cleanup(&req);
    return rc;
}
