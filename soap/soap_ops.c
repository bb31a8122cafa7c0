/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The service functions soapcpp2 declares for the WSDL's operations
 * (__nimbus__<Op>), generated from NIMBUS_OPERATIONS: each takes the
 * caller's credentials, converts the gSOAP request into the core's request
 * (in_<snake>), calls nimbus_service_call, converts the response back into
 * gSOAP memory (out_<snake>) and cleans up the core's response. The
 * converters are the only per-operation code, and they only move data: no
 * business rule lives here (validation, roles and storage are the core's),
 * so SOAP answers exactly what REST and WebSocket answer.
 *
 * A row of NIMBUS_OPERATIONS without its converters here, or without its
 * elements in the WSDL (struct _nimbus__<Name>), fails to compile naming
 * them; a WSDL operation without a row fails to link (__nimbus__<Name>).
 *
 * The WSDL has a SOAP 1.1 and a SOAP 1.2 binding of one portType, so
 * soapcpp2 declares every function twice (the 1.2 copies end in `_`);
 * dispatch is by request element, so only the first set is ever reached,
 * and the copies delegate to it.
 */
#include <stdlib.h>
#include <string.h>

#include "soap_internal.h"

static char *cursor_out(struct soap *soap, const char *cursor, bool *oom)
{
    if (!cursor[0]) {
        return NULL;
    }
    char *c = soap_strdup(soap, cursor);
    *oom = c == NULL;
    return c;
}

static LONG64 *long_out(struct soap *soap, int64_t v)
{
    LONG64 *p = soap_malloc(soap, sizeof *p);
    if (p) {
        *p = v;
    }
    return p;
}

/* ---- gSOAP request -> core request (0, or -1 with err) ------------------- */

static int in_list_stations(struct soap *soap, const struct _nimbus__ListStations *in,
                            nimbus_list_stations_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    (void)err;
    *req = (nimbus_list_stations_request_t){in->city, in->country, in->limit != NULL,
                                            in->limit ? *in->limit : 0, in->cursor};
    return 0;
}

static int in_get_station(struct soap *soap, const struct _nimbus__GetStation *in,
                          nimbus_get_station_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    (void)err;
    req->id = in->id;
    return 0;
}

static int in_create_station(struct soap *soap, const struct _nimbus__CreateStation *in,
                             nimbus_create_station_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    return nimbus__soap_station_in(in->station, "station", &req->station, err);
}

static int in_update_station(struct soap *soap, const struct _nimbus__UpdateStation *in,
                             nimbus_update_station_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    req->id = NULL; /* SOAP addresses the station by station.id */
    return nimbus__soap_station_in(in->station, "station", &req->station, err);
}

static int in_delete_station(struct soap *soap, const struct _nimbus__DeleteStation *in,
                             nimbus_delete_station_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    (void)err;
    req->id = in->id;
    return 0;
}

static int in_record_observations(struct soap *soap, const struct _nimbus__RecordObservations *in,
                                  nimbus_record_observations_request_t *req, nimbus_error_t *err)
{
    size_t count = in->__sizeobservation > 0 ? (size_t)in->__sizeobservation : 0;
    nimbus_observation_t *obs = NULL;
    /* Refused before allocating for a batch the core would refuse. */
    if (nimbus_record_batch_validate(count, err) != 0) {
        return -1;
    }
    if (!(obs = soap_malloc(soap, count * sizeof *obs))) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading the request");
    }
    for (size_t i = 0; i < count; i++) {
        char what[48];
        snprintf(what, sizeof what, "observations[%zu]", i);
        if (nimbus__soap_observation_in(&in->observation[i], what, &obs[i], err) != 0) {
            return -1;
        }
    }
    *req = (nimbus_record_observations_request_t){in->stationId, obs, count};
    return 0;
}

static int in_get_observations(struct soap *soap, const struct _nimbus__GetObservations *in,
                               nimbus_get_observations_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    req->station_id = in->stationId;
    req->has_limit = in->limit != NULL;
    req->limit = in->limit ? *in->limit : 0;
    req->cursor = in->cursor;
    return nimbus__soap_time_in(in->from, "from", &req->has_from, &req->from, err) != 0 ||
                   nimbus__soap_time_in(in->to, "to", &req->has_to, &req->to, err) != 0
               ? -1
               : 0;
}

static int in_get_weather(struct soap *soap, const struct _nimbus__GetWeather *in,
                          nimbus_get_weather_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    (void)err;
    req->station_id = in->stationId;
    return 0;
}

static int in_get_city_weather(struct soap *soap, const struct _nimbus__GetCityWeather *in,
                               nimbus_get_city_weather_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    (void)err;
    *req = (nimbus_get_city_weather_request_t){in->city, in->country};
    return 0;
}

static int in_get_observation_feed(struct soap *soap, const struct _nimbus__GetObservationFeed *in,
                                   nimbus_get_observation_feed_request_t *req, nimbus_error_t *err)
{
    (void)soap;
    (void)err;
    req->has_after_seq = in->afterSeq != NULL;
    req->after_seq = in->afterSeq ? *in->afterSeq : 0;
    /* gSOAP's array of the repeated <station>, borrowed for the call. */
    req->stations = (const char **)in->station;
    req->station_count = in->__sizestation > 0 ? (size_t)in->__sizestation : 0;
    req->has_limit = in->limit != NULL;
    req->limit = in->limit ? *in->limit : 0;
    return 0;
}

/* ---- core response -> gSOAP response (0, or -1 when out of memory) ------- */

static int out_list_stations(struct soap *soap, const nimbus_list_stations_response_t *res,
                             struct _nimbus__ListStationsResponse *out)
{
    bool oom = false;
    if (res->count > 0) {
        out->station = soap_new_nimbus__Station(soap, (int)res->count);
        oom = out->station == NULL;
        for (size_t i = 0; !oom && i < res->count; i++) {
            oom = nimbus__soap_station_fill(soap, &res->stations[i], &out->station[i]) != 0;
        }
        out->__sizestation = (int)res->count;
    }
    if (!oom) {
        out->nextCursor = cursor_out(soap, res->next_cursor, &oom);
    }
    return oom ? -1 : 0;
}

static int out_get_station(struct soap *soap, const nimbus_get_station_response_t *res,
                           struct _nimbus__GetStationResponse *out)
{
    out->station = nimbus__soap_station_out(soap, &res->station);
    return out->station ? 0 : -1;
}

static int out_create_station(struct soap *soap, const nimbus_create_station_response_t *res,
                              struct _nimbus__CreateStationResponse *out)
{
    out->station = nimbus__soap_station_out(soap, &res->station);
    return out->station ? 0 : -1;
}

static int out_update_station(struct soap *soap, const nimbus_update_station_response_t *res,
                              struct _nimbus__UpdateStationResponse *out)
{
    out->station = nimbus__soap_station_out(soap, &res->station);
    return out->station ? 0 : -1;
}

static int out_delete_station(struct soap *soap, const nimbus_delete_station_response_t *res,
                              struct _nimbus__DeleteStationResponse *out)
{
    (void)soap;
    (void)res;
    (void)out;
    return 0;
}

static int out_record_observations(struct soap *soap,
                                   const nimbus_record_observations_response_t *res,
                                   struct _nimbus__RecordObservationsResponse *out)
{
    out->accepted = res->accepted;
    out->duplicates = res->duplicates;
    if (res->has_seq) {
        out->firstSeq = long_out(soap, res->first_seq);
        out->lastSeq = long_out(soap, res->last_seq);
        if (!out->firstSeq || !out->lastSeq) {
            return -1;
        }
    }
    return 0;
}

/* A page of observations as gSOAP's array (GetObservations and
 * GetObservationFeed answer the same way). Returns 0, or -1 out of memory. */
static int observations_out(struct soap *soap, const nimbus_observation_t *obs, size_t count,
                            struct nimbus__Observation **out, int *size)
{
    if (count == 0) {
        return 0;
    }
    *out = soap_new_nimbus__Observation(soap, (int)count);
    if (!*out) {
        return -1;
    }
    *size = (int)count;
    for (size_t i = 0; i < count; i++) {
        if (nimbus__soap_observation_out(soap, &obs[i], &(*out)[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

static int out_get_observations(struct soap *soap, const nimbus_get_observations_response_t *res,
                                struct _nimbus__GetObservationsResponse *out)
{
    bool oom = observations_out(soap, res->observations, res->count, &out->observation,
                                &out->__sizeobservation) != 0;
    if (!oom) {
        out->nextCursor = cursor_out(soap, res->next_cursor, &oom);
    }
    return oom ? -1 : 0;
}

static int out_get_weather(struct soap *soap, const nimbus_get_weather_response_t *res,
                           struct _nimbus__GetWeatherResponse *out)
{
    out->report = soap_new_nimbus__WeatherReport(soap, -1);
    if (out->report && !nimbus__soap_report_out(soap, &res->report, out->report)) {
        out->report = NULL;
    }
    return out->report ? 0 : -1;
}

static int out_get_city_weather(struct soap *soap, const nimbus_get_city_weather_response_t *res,
                                struct _nimbus__GetCityWeatherResponse *out)
{
    bool oom = false;
    if (res->count > 0) {
        out->report = soap_new_nimbus__WeatherReport(soap, (int)res->count);
        oom = out->report == NULL;
        for (size_t i = 0; !oom && i < res->count; i++) {
            oom = !nimbus__soap_report_out(soap, &res->reports[i], &out->report[i]);
        }
        out->__sizereport = (int)res->count;
    }
    return oom ? -1 : 0;
}

static int out_get_observation_feed(struct soap *soap,
                                    const nimbus_get_observation_feed_response_t *res,
                                    struct _nimbus__GetObservationFeedResponse *out)
{
    bool oom = observations_out(soap, res->observations, res->count, &out->observation,
                                &out->__sizeobservation) != 0;
    out->lastSeq = res->last_seq;
    out->headSeq = res->head_seq;
    return oom ? -1 : 0;
}

/* ---- the service functions ------------------------------------------------ */

static int out_of_memory(struct soap *soap)
{
    nimbus_error_t err;
    nimbus_error_set(&err, NIMBUS_INTERNAL, "out of memory while writing the response");
    return nimbus__soap_fault(soap, &err);
}

typedef int (*send_fn)(struct soap *soap, const nimbus_response_t *res);

/*
 * The core's side of every operation, once its request is converted: a
 * read kept in the worker's render cache is answered with the kept
 * envelope; else the core is called. A read (or a refusal) is answered at
 * once, its envelope written by send into ws->out (and a read's kept, by
 * the host, when it is no Fault); a write goes to the writer and this
 * returns NIMBUS_SOAP_DEFERRED, so the worker serves others until the
 * write has committed and soap_host.c sends send's envelope.
 */
static int run(nimbus_soap_worker_t *ws, nimbus_op_t op, const nimbus_request_t *req, send_fn send)
{
    struct soap *soap = ws->soap;
    /* The stamp comes before the read the answer is made from, so a kept
     * answer is never older than its stamp says. */
    nimbus_stamp_t stamp;
    bool read = nimbus_core_stamp(ws->w->core, op, req, &stamp);
    if (read && nimbus__soap_kept(ws, op, req, &stamp)) {
        return NIMBUS_SOAP_SENT;
    }
    /* A read is answered before nimbus_service_call_async returns, so its
     * call lives on the stack; a write's outlives this function. */
    nimbus__soap_call_t local;
    nimbus__soap_call_t *call = read ? &local : calloc(1, sizeof *call);
    if (!call) {
        return out_of_memory(soap);
    }
    if (read) {
        memset(call, 0, sizeof *call);
    }
    call->ws = ws;
    call->op = op;
    call->send = send;
    nimbus_service_call_async(ws->w->svc, &ws->caller, op, req, &call->res, nimbus__soap_answered,
                              call);
    if (!call->answered) {
        ws->deferred = call;
        return NIMBUS_SOAP_DEFERRED;
    }
    int rc = call->rc == 0 ? send(soap, &call->res) : nimbus__soap_fault(soap, &call->err);
    nimbus_response_cleanup(op, &call->res);
    if (!read) {
        free(call);
    }
    if (rc != SOAP_OK) {
        return rc;
    }
    ws->keep = ws->key_len > 0;
    return NIMBUS_SOAP_SENT;
}

/*
 * Per row: send_<snake> writes the response envelope as soapcpp2's
 * soap_serve___nimbus__<Op> would (its soap_begin_count pass is left out:
 * with SOAP_ENC_PLAIN output it counts nothing); answer_<snake> converts
 * the parsed request and runs it; serve_<snake> is soap_serve___nimbus__<Op>
 * with nimbus__soap_end_recv; __nimbus__<Op>, the service function
 * soapcpp2 declares, answers when gSOAP's own dispatcher is used.
 *
 * Every operation alike: gSOAP hands in a NULL request when the wrapper
 * element is <Op xsi:nil="true"/>, which SOAP::Lite sends for a call
 * without arguments; it is read as the empty element, every field absent
 * (so ListStations lists, and a missing required field is the core's
 * INVALID_ARGUMENT as usual). The caller was read (and authorized for the
 * row's role) by soap_host.c before the body was.
 */
#define NIMBUS_X_SOAP_OP(Name, snake, role, kind)                                                  \
    static int send_##snake(struct soap *soap, const nimbus_response_t *res)                       \
    {                                                                                              \
        struct _nimbus__##Name##Response out;                                                      \
        soap_default__nimbus__##Name##Response(soap, &out);                                        \
        if (out_##snake(soap, &res->snake, &out) != 0) {                                           \
            return out_of_memory(soap);                                                            \
        }                                                                                          \
        soap->encodingStyle = NULL; /* literal */                                                  \
        soap_serializeheader(soap);                                                                \
        soap_serialize__nimbus__##Name##Response(soap, &out);                                      \
        if (soap_begin_count(soap) || soap_end_count(soap) || soap_response(soap, SOAP_OK) ||      \
            soap_envelope_begin_out(soap) || soap_putheader(soap) || soap_body_begin_out(soap) ||  \
            soap_put__nimbus__##Name##Response(soap, &out, "nimbus:" #Name "Response", "") ||      \
            soap_body_end_out(soap) || soap_envelope_end_out(soap) || soap_end_send(soap)) {       \
            return soap->error;                                                                    \
        }                                                                                          \
        return soap_closesock(soap);                                                               \
    }                                                                                              \
    static int answer_##snake(nimbus_soap_worker_t *ws, struct _nimbus__##Name *in)                \
    {                                                                                              \
        struct soap *soap = ws->soap;                                                              \
        struct _nimbus__##Name nil_request;                                                        \
        nimbus_request_t req;                                                                      \
        nimbus_error_t err;                                                                        \
        if (!in) {                                                                                 \
            soap_default__nimbus__##Name(soap, &nil_request);                                      \
            in = &nil_request;                                                                     \
        }                                                                                          \
        memset(&req, 0, sizeof req);                                                               \
        nimbus_error_clear(&err);                                                                  \
        ws->operation = #Name;                                                                     \
        if (ws->caller_err.code != NIMBUS_OK) {                                                    \
            return nimbus__soap_fault(soap, &ws->caller_err);                                      \
        }                                                                                          \
        if (in_##snake(soap, in, &req.snake, &err) != 0) {                                         \
            return nimbus__soap_fault(soap, &err);                                                 \
        }                                                                                          \
        return run(ws, NIMBUS_OP_##Name, &req, send_##snake);                                      \
    }                                                                                              \
    static int serve_##snake(nimbus_soap_worker_t *ws)                                             \
    {                                                                                              \
        struct soap *soap = ws->soap;                                                              \
        struct __nimbus__##Name request;                                                           \
        soap_default___nimbus__##Name(soap, &request);                                             \
        if (!soap_get___nimbus__##Name(soap, &request, "-nimbus:" #Name, NULL) ||                  \
            soap_body_end_in(soap) || soap_envelope_end_in(soap) || nimbus__soap_end_recv(ws)) {   \
            return soap->error;                                                                    \
        }                                                                                          \
        return answer_##snake(ws, request.nimbus__##Name);                                         \
    }                                                                                              \
    int __nimbus__##Name(struct soap *soap, struct _nimbus__##Name *in,                            \
                         struct _nimbus__##Name##Response *out)                                    \
    {                                                                                              \
        (void)out; /* answer_<snake> writes the envelope itself */                                 \
        return answer_##snake(soap->user, in);                                                     \
    }                                                                                              \
    int __nimbus__##Name##_(struct soap *soap, struct _nimbus__##Name *in,                         \
                            struct _nimbus__##Name##Response *out)                                 \
    {                                                                                              \
        return __nimbus__##Name(soap, in, out);                                                    \
    }
NIMBUS_OPERATIONS(NIMBUS_X_SOAP_OP)
#undef NIMBUS_X_SOAP_OP

static int (*const serve_fns[NIMBUS_OP_COUNT])(nimbus_soap_worker_t *ws) = {
#define NIMBUS_X_SOAP_SERVE(Name, snake, role, kind) [NIMBUS_OP_##Name] = serve_##snake,
    NIMBUS_OPERATIONS(NIMBUS_X_SOAP_SERVE)
#undef NIMBUS_X_SOAP_SERVE
};

int nimbus__soap_serve_op(nimbus_soap_worker_t *ws, nimbus_op_t op)
{
    return serve_fns[op](ws);
}
