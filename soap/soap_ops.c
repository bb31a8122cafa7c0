/*
 * The service functions soapcpp2 declares for the WSDL's operations
 * (__nimbus__<Op>). Each one takes the caller's credentials, converts the
 * gSOAP request to the core's request type, calls nimbus_service_<op>,
 * converts the response back into gSOAP memory and cleans up the core's
 * response. No business rule lives here: validation, roles and storage are
 * the core's, so SOAP answers exactly what REST and WebSocket answer.
 *
 * The WSDL has a SOAP 1.1 and a SOAP 1.2 binding of one portType, so
 * soapcpp2 declares every function twice (the 1.2 copies end in `_`);
 * dispatch is by request element, so only the first set is ever reached,
 * and the copies delegate to it.
 */
#include <string.h>

#include "soap_internal.h"

/* WS-Security's PasswordText type; PasswordDigest is refused because the
 * core compares secrets, it cannot verify a digest of one. */
#define WSSE_PASSWORD_TEXT                                                                         \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#"          \
    "PasswordText"

/* The caller: a WS-Security UsernameToken in the SOAP header when there is
 * one, else the HTTP Authorization header. The header is detached from the
 * context here so that gSOAP never echoes it (with its password) back. */
static int caller_of(struct soap *soap, nimbus_credentials_t *out, nimbus_error_t *err)
{
    nimbus_soap_worker_t *ws = soap->user;
    struct SOAP_ENV__Header *header = soap->header;
    soap->header = NULL;
    memset(out, 0, sizeof *out);
    if (header && header->wsse__Security && header->wsse__Security->UsernameToken) {
        const struct _wsse__UsernameToken *ut = header->wsse__Security->UsernameToken;
        if (!ut->Username || !ut->Password || !ut->Password->__item)
            return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED,
                                    "WS-Security UsernameToken needs a Username and a Password");
        if (ut->Password->Type && strcmp(ut->Password->Type, WSSE_PASSWORD_TEXT) != 0)
            return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED,
                                    "only WS-Security PasswordText passwords are supported");
        out->kind = NIMBUS_CRED_NAMED;
        out->name = ut->Username;
        out->secret = ut->Password->__item;
        return 0;
    }
    if (ws->http_creds_err.code != NIMBUS_OK) {
        *err = ws->http_creds_err;
        return -1;
    }
    *out = ws->http_creds;
    return 0;
}

/* Common opening of every operation: log name, credentials, and the
 * request itself. gSOAP hands in a NULL request when the wrapper element is
 * <Op xsi:nil="true"/>, which SOAP::Lite sends for a call without
 * arguments; it is read as the empty element, every field absent (so
 * ListStations lists, and a missing required field is the core's
 * INVALID_ARGUMENT as usual). */
#define OP_BEGIN(Name)                                                                             \
    nimbus_soap_worker_t *ws = soap->user;                                                         \
    nimbus_error_t err;                                                                            \
    nimbus_credentials_t creds;                                                                    \
    struct _nimbus__##Name nil_request;                                                            \
    if (!in) {                                                                                     \
        soap_default__nimbus__##Name(soap, &nil_request);                                          \
        in = &nil_request;                                                                         \
    }                                                                                              \
    nimbus_error_clear(&err);                                                                      \
    ws->operation = #Name;                                                                         \
    if (caller_of(soap, &creds, &err) != 0)                                                        \
        return nimbus__soap_fault(soap, &err);

static int out_of_memory(struct soap *soap)
{
    nimbus_error_t err;
    nimbus_error_set(&err, NIMBUS_INTERNAL, "out of memory while writing the response");
    return nimbus__soap_fault(soap, &err);
}

static char *cursor_out(struct soap *soap, const char *cursor, bool *oom)
{
    if (!cursor[0])
        return NULL;
    char *c = soap_strdup(soap, cursor);
    *oom = c == NULL;
    return c;
}

static LONG64 *long_out(struct soap *soap, int64_t v)
{
    LONG64 *p = soap_malloc(soap, sizeof *p);
    if (p)
        *p = v;
    return p;
}

int __nimbus__ListStations(struct soap *soap, struct _nimbus__ListStations *in,
                           struct _nimbus__ListStationsResponse *out)
{
    OP_BEGIN(ListStations)
    nimbus_list_stations_request_t req = {in->city, in->country, in->limit != NULL,
                                          in->limit ? *in->limit : 0, in->cursor};
    nimbus_list_stations_response_t res;
    memset(&res, 0, sizeof res);
    bool oom = false;
    if (nimbus_service_list_stations(ws->w->svc, &creds, &req, &res, &err) != 0) {
        nimbus_list_stations_response_cleanup(&res);
        return nimbus__soap_fault(soap, &err);
    }
    if (res.count > 0) {
        out->station = soap_new_nimbus__Station(soap, (int)res.count);
        oom = out->station == NULL;
        for (size_t i = 0; !oom && i < res.count; i++)
            oom = nimbus__soap_station_fill(soap, &res.stations[i], &out->station[i]) != 0;
        out->__sizestation = (int)res.count;
    }
    if (!oom)
        out->nextCursor = cursor_out(soap, res.next_cursor, &oom);
    nimbus_list_stations_response_cleanup(&res);
    return oom ? out_of_memory(soap) : SOAP_OK;
}

int __nimbus__GetStation(struct soap *soap, struct _nimbus__GetStation *in,
                         struct _nimbus__GetStationResponse *out)
{
    OP_BEGIN(GetStation)
    nimbus_get_station_request_t req = {in->id};
    nimbus_get_station_response_t res;
    memset(&res, 0, sizeof res);
    int rc = nimbus_service_get_station(ws->w->svc, &creds, &req, &res, &err);
    if (rc == 0)
        out->station = nimbus__soap_station_out(soap, &res.station);
    nimbus_get_station_response_cleanup(&res);
    if (rc != 0)
        return nimbus__soap_fault(soap, &err);
    return out->station ? SOAP_OK : out_of_memory(soap);
}

int __nimbus__CreateStation(struct soap *soap, struct _nimbus__CreateStation *in,
                            struct _nimbus__CreateStationResponse *out)
{
    OP_BEGIN(CreateStation)
    nimbus_create_station_request_t req;
    nimbus_create_station_response_t res;
    memset(&res, 0, sizeof res);
    if (nimbus__soap_station_in(in->station, "station", &req.station, &err) != 0)
        return nimbus__soap_fault(soap, &err);
    int rc = nimbus_service_create_station(ws->w->svc, &creds, &req, &res, &err);
    if (rc == 0)
        out->station = nimbus__soap_station_out(soap, &res.station);
    nimbus_create_station_response_cleanup(&res);
    if (rc != 0)
        return nimbus__soap_fault(soap, &err);
    return out->station ? SOAP_OK : out_of_memory(soap);
}

int __nimbus__UpdateStation(struct soap *soap, struct _nimbus__UpdateStation *in,
                            struct _nimbus__UpdateStationResponse *out)
{
    OP_BEGIN(UpdateStation)
    nimbus_update_station_request_t req;
    nimbus_update_station_response_t res;
    memset(&res, 0, sizeof res);
    req.id = NULL; /* SOAP addresses the station by station.id */
    if (nimbus__soap_station_in(in->station, "station", &req.station, &err) != 0)
        return nimbus__soap_fault(soap, &err);
    int rc = nimbus_service_update_station(ws->w->svc, &creds, &req, &res, &err);
    if (rc == 0)
        out->station = nimbus__soap_station_out(soap, &res.station);
    nimbus_update_station_response_cleanup(&res);
    if (rc != 0)
        return nimbus__soap_fault(soap, &err);
    return out->station ? SOAP_OK : out_of_memory(soap);
}

int __nimbus__DeleteStation(struct soap *soap, struct _nimbus__DeleteStation *in,
                            struct _nimbus__DeleteStationResponse *out)
{
    OP_BEGIN(DeleteStation)
    (void)out;
    nimbus_delete_station_request_t req = {in->id};
    nimbus_delete_station_response_t res;
    memset(&res, 0, sizeof res);
    int rc = nimbus_service_delete_station(ws->w->svc, &creds, &req, &res, &err);
    nimbus_delete_station_response_cleanup(&res);
    return rc != 0 ? nimbus__soap_fault(soap, &err) : SOAP_OK;
}

int __nimbus__RecordObservations(struct soap *soap, struct _nimbus__RecordObservations *in,
                                 struct _nimbus__RecordObservationsResponse *out)
{
    OP_BEGIN(RecordObservations)
    nimbus_observation_t *obs = NULL;
    size_t count = in->__sizeobservation > 0 ? (size_t)in->__sizeobservation : 0;
    /* Refused before allocating for a batch the core would refuse. */
    if (nimbus_record_batch_validate(count, &err) != 0)
        return nimbus__soap_fault(soap, &err);
    if (count > 0 && !(obs = soap_malloc(soap, count * sizeof *obs)))
        return out_of_memory(soap);
    for (size_t i = 0; i < count; i++) {
        char what[48];
        snprintf(what, sizeof what, "observations[%zu]", i);
        if (nimbus__soap_observation_in(&in->observation[i], what, &obs[i], &err) != 0)
            return nimbus__soap_fault(soap, &err);
    }
    nimbus_record_observations_request_t req = {in->stationId, obs, count};
    nimbus_record_observations_response_t res;
    memset(&res, 0, sizeof res);
    int rc = nimbus_service_record_observations(ws->w->svc, &creds, &req, &res, &err);
    nimbus_record_observations_response_cleanup(&res);
    if (rc != 0)
        return nimbus__soap_fault(soap, &err);
    out->accepted = res.accepted;
    out->duplicates = res.duplicates;
    if (res.has_seq) {
        out->firstSeq = long_out(soap, res.first_seq);
        out->lastSeq = long_out(soap, res.last_seq);
        if (!out->firstSeq || !out->lastSeq)
            return out_of_memory(soap);
    }
    return SOAP_OK;
}

int __nimbus__GetObservations(struct soap *soap, struct _nimbus__GetObservations *in,
                              struct _nimbus__GetObservationsResponse *out)
{
    OP_BEGIN(GetObservations)
    nimbus_get_observations_request_t req;
    memset(&req, 0, sizeof req);
    req.station_id = in->stationId;
    req.has_limit = in->limit != NULL;
    req.limit = in->limit ? *in->limit : 0;
    req.cursor = in->cursor;
    if (nimbus__soap_time_in(in->from, "from", &req.has_from, &req.from, &err) != 0 ||
        nimbus__soap_time_in(in->to, "to", &req.has_to, &req.to, &err) != 0)
        return nimbus__soap_fault(soap, &err);
    nimbus_get_observations_response_t res;
    memset(&res, 0, sizeof res);
    if (nimbus_service_get_observations(ws->w->svc, &creds, &req, &res, &err) != 0) {
        nimbus_get_observations_response_cleanup(&res);
        return nimbus__soap_fault(soap, &err);
    }
    bool oom = false;
    if (res.count > 0) {
        out->observation = soap_new_nimbus__Observation(soap, (int)res.count);
        oom = out->observation == NULL;
        for (size_t i = 0; !oom && i < res.count; i++)
            oom =
                nimbus__soap_observation_out(soap, &res.observations[i], &out->observation[i]) != 0;
        out->__sizeobservation = (int)res.count;
    }
    if (!oom)
        out->nextCursor = cursor_out(soap, res.next_cursor, &oom);
    nimbus_get_observations_response_cleanup(&res);
    return oom ? out_of_memory(soap) : SOAP_OK;
}

int __nimbus__GetWeather(struct soap *soap, struct _nimbus__GetWeather *in,
                         struct _nimbus__GetWeatherResponse *out)
{
    OP_BEGIN(GetWeather)
    nimbus_get_weather_request_t req = {in->stationId};
    nimbus_get_weather_response_t res;
    memset(&res, 0, sizeof res);
    int rc = nimbus_service_get_weather(ws->w->svc, &creds, &req, &res, &err);
    if (rc == 0) {
        out->report = soap_new_nimbus__WeatherReport(soap, -1);
        if (out->report && !nimbus__soap_report_out(soap, &res.report, out->report))
            out->report = NULL;
    }
    nimbus_get_weather_response_cleanup(&res);
    if (rc != 0)
        return nimbus__soap_fault(soap, &err);
    return out->report ? SOAP_OK : out_of_memory(soap);
}

int __nimbus__GetCityWeather(struct soap *soap, struct _nimbus__GetCityWeather *in,
                             struct _nimbus__GetCityWeatherResponse *out)
{
    OP_BEGIN(GetCityWeather)
    nimbus_get_city_weather_request_t req = {in->city, in->country};
    nimbus_get_city_weather_response_t res;
    memset(&res, 0, sizeof res);
    if (nimbus_service_get_city_weather(ws->w->svc, &creds, &req, &res, &err) != 0) {
        nimbus_get_city_weather_response_cleanup(&res);
        return nimbus__soap_fault(soap, &err);
    }
    bool oom = false;
    if (res.count > 0) {
        out->report = soap_new_nimbus__WeatherReport(soap, (int)res.count);
        oom = out->report == NULL;
        for (size_t i = 0; !oom && i < res.count; i++)
            oom = !nimbus__soap_report_out(soap, &res.reports[i], &out->report[i]);
        out->__sizereport = (int)res.count;
    }
    nimbus_get_city_weather_response_cleanup(&res);
    return oom ? out_of_memory(soap) : SOAP_OK;
}

/* The SOAP 1.2 binding's copies (unreachable by dispatch; see above). */
#define NIMBUS_X_SOAP12_ALIAS(Name, snake, role, kind, method, path, status)                       \
    int __nimbus__##Name##_(struct soap *soap, struct _nimbus__##Name *in,                         \
                            struct _nimbus__##Name##Response *out)                                 \
    {                                                                                              \
        return __nimbus__##Name(soap, in, out);                                                    \
    }
NIMBUS_OPERATIONS(NIMBUS_X_SOAP12_ALIAS)
#undef NIMBUS_X_SOAP12_ALIAS
