/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST binding of every operation (see rest_binding.h): the contract's
 * "REST" column, row by row. A binding names request fields by their
 * contract names; rest_request.c moves path and query text straight into
 * the request struct through the operation's field table, and the JSON
 * layer reads the body the same way.
 *
 * Each row's binding is a static object named rest_<snake>, and
 * nimbus__rest_binding returns it from a switch generated from
 * NIMBUS_OPERATIONS: a row without a binding here is a compile error that
 * names rest_<snake>.
 */
#include <string.h>

#include "rest_binding.h"

static const nimbus_rest_binding_t rest_list_stations = {
    .op = NIMBUS_OP_ListStations,
    .method = "GET",
    .path = "/v1/stations",
    .status = 200,
    .query = {"city", "country", "limit", "cursor"},
    .reply = NIMBUS_JSON_FIELDS,
    .reply_schema = "StationList",
};

static const nimbus_rest_binding_t rest_get_station = {
    .op = NIMBUS_OP_GetStation,
    .method = "GET",
    .path = "/v1/stations/{id}",
    .status = 200,
    .path_field = "id",
    .reply = NIMBUS_JSON_VALUE,
    .reply_schema = "Station",
    .headers = NIMBUS_REST_ETAG,
};

static const nimbus_rest_binding_t rest_create_station = {
    .op = NIMBUS_OP_CreateStation,
    .method = "POST",
    .path = "/v1/stations",
    .status = 201,
    .body = NIMBUS_REST_BODY_FIELD,
    .body_field = "station",
    .body_schema = "Station",
    .reply = NIMBUS_JSON_VALUE,
    .reply_schema = "Station",
    .headers = NIMBUS_REST_LOCATION,
};

static const nimbus_rest_binding_t rest_update_station = {
    .op = NIMBUS_OP_UpdateStation,
    .method = "PUT",
    .path = "/v1/stations/{id}",
    .status = 200,
    .path_field = "id",
    .body = NIMBUS_REST_BODY_FIELD,
    .body_field = "station",
    .body_schema = "StationUpdate",
    .reply = NIMBUS_JSON_VALUE,
    .reply_schema = "Station",
};

static const nimbus_rest_binding_t rest_delete_station = {
    .op = NIMBUS_OP_DeleteStation,
    .method = "DELETE",
    .path = "/v1/stations/{id}",
    .status = 204,
    .path_field = "id",
    .reply = NIMBUS_JSON_NONE,
};

static const nimbus_rest_binding_t rest_record_observations = {
    .op = NIMBUS_OP_RecordObservations,
    .method = "POST",
    .path = "/v1/stations/{id}/observations",
    .status = 200,
    .path_field = "stationId",
    .body = NIMBUS_REST_BODY_MEMBERS,
    .body_schema = "RecordObservations",
    .reply = NIMBUS_JSON_FIELDS,
    .reply_schema = "RecordObservationsResult",
};

static const nimbus_rest_binding_t rest_get_observations = {
    .op = NIMBUS_OP_GetObservations,
    .method = "GET",
    .path = "/v1/stations/{id}/observations",
    .status = 200,
    .path_field = "stationId",
    .query = {"limit", "cursor", "from", "to"}, /* the order of version 1's document */
    .reply = NIMBUS_JSON_FIELDS,
    .reply_schema = "ObservationList",
};

static const nimbus_rest_binding_t rest_get_weather = {
    .op = NIMBUS_OP_GetWeather,
    .method = "GET",
    .path = "/v1/stations/{id}/weather",
    .status = 200,
    .path_field = "stationId",
    .reply = NIMBUS_JSON_VALUE,
    .reply_schema = "WeatherReport",
};

static const nimbus_rest_binding_t rest_get_city_weather = {
    .op = NIMBUS_OP_GetCityWeather,
    .method = "GET",
    .path = "/v1/cities/{city}/weather",
    .status = 200,
    .path_field = "city",
    .query = {"country"},
    .reply = NIMBUS_JSON_FIELDS,
    .reply_schema = "CityWeather",
};

static const nimbus_rest_binding_t rest_get_observation_feed = {
    .op = NIMBUS_OP_GetObservationFeed,
    .method = "GET",
    .path = "/v1/observations",
    .status = 200,
    .query = {"afterSeq", "station", "limit"}, /* station repeats: station=a&station=b */
    .reply = NIMBUS_JSON_FIELDS,
    .reply_schema = "ObservationFeed",
};

const nimbus_rest_binding_t *nimbus__rest_binding(nimbus_op_t op)
{
    switch (op) {
#define NIMBUS_X_REST(Name, snake, role, kind)                                                     \
    case NIMBUS_OP_##Name:                                                                         \
        return &rest_##snake;
        NIMBUS_OPERATIONS(NIMBUS_X_REST)
#undef NIMBUS_X_REST
    }
    return NULL;
}

bool nimbus__rest_query_has(const nimbus_rest_binding_t *b, const char *name)
{
    for (size_t i = 0; i < NIMBUS_REST_QUERY_MAX && b->query[i]; i++) {
        if (strcmp(b->query[i], name) == 0) {
            return true;
        }
    }
    return false;
}

const nimbus_field_t *nimbus__rest_query_field(const nimbus_rest_binding_t *b, const char *name)
{
    const nimbus_type_t *type = nimbus_op_table[b->op].request;
    const nimbus_field_t *f = nimbus_type_field(type, name);
    for (size_t i = 0; !f && i < type->count; i++) {
        const nimbus_field_t *g = &type->fields[i];
        if (g->kind == NIMBUS_FIELD_STRINGS && g->item_name && strcmp(g->item_name, name) == 0) {
            f = g;
        }
    }
    return f;
}
