/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The operation table as data (nimbus_op_table, built from the
 * NIMBUS_OPERATIONS X-macro so it cannot drift from the declarations), with
 * the field tables of every operation's request and response (see
 * nimbus_fields.h and nimbus_operations.h): names as the contract spells
 * them (JSON members, and XML elements, with a repeated field's XML element
 * in the singular), in the WSDL's order, with each field's rule. The JSON
 * call decodes requests and encodes responses from these, REST reads path
 * and query values into requests with them, and the OpenAPI document is
 * written from them. A test compares them with the WSDL's wrapper elements.
 *
 * Each row of nimbus_op_table names its tables, <snake>_request_type and
 * <snake>_response_type, which are static here: a row without its tables
 * does not compile, and the compiler names what is missing.
 */
#include "service_internal.h"

/* ---- ListStations ----------------------------------------------------- */

static const nimbus_field_t list_stations_request[] = {
    NIMBUS__STRING(nimbus_list_stations_request_t, "city", city, 0, City,
                   "only stations in this city (ASCII case ignored)"),
    NIMBUS__STRING(nimbus_list_stations_request_t, "country", country, 0, Country,
                   "only stations in this country (ISO 3166-1 alpha-2)"),
    NIMBUS__INT64_RULE(nimbus_list_stations_request_t, "limit", limit,
                       offsetof(nimbus_list_stations_request_t, has_limit), 0, PageLimit,
                       "page size"),
    NIMBUS__STRING(nimbus_list_stations_request_t, "cursor", cursor, 0, Cursor,
                   "opaque cursor from the previous page's nextCursor"),
};
static const nimbus_type_t list_stations_request_type =
    NIMBUS__TYPE("ListStations", nimbus_list_stations_request_t, list_stations_request);

static const nimbus_field_t list_stations_response[] = {
    NIMBUS__ARRAY(nimbus_list_stations_response_t, "stations", "station", stations, count, 0,
                  nimbus_station_type, 0, NIMBUS_LIST_LIMIT_MAX),
    NIMBUS__CHARS(nimbus_list_stations_response_t, "nextCursor", next_cursor,
                  NIMBUS_FIELD_EMPTY_ABSENT, Cursor),
};
static const nimbus_type_t list_stations_response_type =
    NIMBUS__TYPE("ListStationsResponse", nimbus_list_stations_response_t, list_stations_response);

/* ---- GetStation, CreateStation, UpdateStation, DeleteStation ------------- */

static const nimbus_field_t get_station_request[] = {
    NIMBUS__STRING(nimbus_get_station_request_t, "id", id, NIMBUS_FIELD_REQUIRED, StationId,
                   "the station's id"),
};
static const nimbus_type_t get_station_request_type =
    NIMBUS__TYPE("GetStation", nimbus_get_station_request_t, get_station_request);

static const nimbus_field_t get_station_response[] = {
    NIMBUS__OBJECT(nimbus_get_station_response_t, "station", station, NIMBUS_FIELD_NO_AUX,
                   NIMBUS_FIELD_REQUIRED, nimbus_station_type),
};
static const nimbus_type_t get_station_response_type =
    NIMBUS__TYPE("GetStationResponse", nimbus_get_station_response_t, get_station_response);

static const nimbus_field_t create_station_request[] = {
    NIMBUS__OBJECT(nimbus_create_station_request_t, "station", station, NIMBUS_FIELD_NO_AUX,
                   NIMBUS_FIELD_REQUIRED, nimbus_station_type),
};
static const nimbus_type_t create_station_request_type =
    NIMBUS__TYPE("CreateStation", nimbus_create_station_request_t, create_station_request);

static const nimbus_field_t create_station_response[] = {
    NIMBUS__OBJECT(nimbus_create_station_response_t, "station", station, NIMBUS_FIELD_NO_AUX,
                   NIMBUS_FIELD_REQUIRED, nimbus_station_type),
};
static const nimbus_type_t create_station_response_type = NIMBUS__TYPE(
    "CreateStationResponse", nimbus_create_station_response_t, create_station_response);

static const nimbus_field_t update_station_request[] = {
    NIMBUS__OBJECT(nimbus_update_station_request_t, "station", station, NIMBUS_FIELD_NO_AUX,
                   NIMBUS_FIELD_REQUIRED | NIMBUS_FIELD_ID_FROM_REQUEST, nimbus_station_type),
    NIMBUS__STRING(nimbus_update_station_request_t, "id", id, NIMBUS_FIELD_EXTENSION, StationId,
                   "the station's id; station.id, when given, must equal it"),
};
static const nimbus_type_t update_station_request_type =
    NIMBUS__TYPE("UpdateStation", nimbus_update_station_request_t, update_station_request);

static const nimbus_field_t update_station_response[] = {
    NIMBUS__OBJECT(nimbus_update_station_response_t, "station", station, NIMBUS_FIELD_NO_AUX,
                   NIMBUS_FIELD_REQUIRED, nimbus_station_type),
};
static const nimbus_type_t update_station_response_type = NIMBUS__TYPE(
    "UpdateStationResponse", nimbus_update_station_response_t, update_station_response);

static const nimbus_field_t delete_station_request[] = {
    NIMBUS__STRING(nimbus_delete_station_request_t, "id", id, NIMBUS_FIELD_REQUIRED, StationId,
                   "the station's id"),
};
static const nimbus_type_t delete_station_request_type =
    NIMBUS__TYPE("DeleteStation", nimbus_delete_station_request_t, delete_station_request);

static const nimbus_type_t delete_station_response_type =
    NIMBUS__TYPE_EMPTY("DeleteStationResponse", nimbus_delete_station_response_t);

/* ---- RecordObservations, GetObservations -------------------------------- */

static const nimbus_field_t record_observations_request[] = {
    NIMBUS__STRING(nimbus_record_observations_request_t, "stationId", station_id,
                   NIMBUS_FIELD_REQUIRED, StationId, "the station's id"),
    NIMBUS__ARRAY(nimbus_record_observations_request_t, "observations", "observation", observations,
                  count, NIMBUS_FIELD_REQUIRED, nimbus_observation_type, 1,
                  NIMBUS_RECORD_BATCH_MAX),
};
static const nimbus_type_t record_observations_request_type = NIMBUS__TYPE(
    "RecordObservations", nimbus_record_observations_request_t, record_observations_request);

static const nimbus_field_t record_observations_response[] = {
    NIMBUS__INT64(nimbus_record_observations_response_t, "accepted", accepted, NIMBUS_FIELD_NO_AUX,
                  NIMBUS_FIELD_REQUIRED),
    NIMBUS__INT64(nimbus_record_observations_response_t, "duplicates", duplicates,
                  NIMBUS_FIELD_NO_AUX, NIMBUS_FIELD_REQUIRED),
    NIMBUS__INT64(nimbus_record_observations_response_t, "firstSeq", first_seq,
                  offsetof(nimbus_record_observations_response_t, has_seq), 0),
    NIMBUS__INT64(nimbus_record_observations_response_t, "lastSeq", last_seq,
                  offsetof(nimbus_record_observations_response_t, has_seq), 0),
};
static const nimbus_type_t record_observations_response_type =
    NIMBUS__TYPE("RecordObservationsResponse", nimbus_record_observations_response_t,
                 record_observations_response);

static const nimbus_field_t get_observations_request[] = {
    NIMBUS__STRING(nimbus_get_observations_request_t, "stationId", station_id,
                   NIMBUS_FIELD_REQUIRED, StationId, "the station's id"),
    NIMBUS__TIME(nimbus_get_observations_request_t, "from", from,
                 offsetof(nimbus_get_observations_request_t, has_from), 0,
                 "observedAt at or after (inclusive)"),
    NIMBUS__TIME(nimbus_get_observations_request_t, "to", to,
                 offsetof(nimbus_get_observations_request_t, has_to), 0,
                 "observedAt before (exclusive)"),
    NIMBUS__INT64_RULE(nimbus_get_observations_request_t, "limit", limit,
                       offsetof(nimbus_get_observations_request_t, has_limit), 0, PageLimit,
                       "page size"),
    NIMBUS__STRING(nimbus_get_observations_request_t, "cursor", cursor, 0, Cursor,
                   "opaque cursor from the previous page's nextCursor"),
};
static const nimbus_type_t get_observations_request_type =
    NIMBUS__TYPE("GetObservations", nimbus_get_observations_request_t, get_observations_request);

static const nimbus_field_t get_observations_response[] = {
    NIMBUS__ARRAY(nimbus_get_observations_response_t, "observations", "observation", observations,
                  count, 0, nimbus_observation_type, 0, NIMBUS_LIST_LIMIT_MAX),
    NIMBUS__CHARS(nimbus_get_observations_response_t, "nextCursor", next_cursor,
                  NIMBUS_FIELD_EMPTY_ABSENT, Cursor),
};
static const nimbus_type_t get_observations_response_type = NIMBUS__TYPE(
    "GetObservationsResponse", nimbus_get_observations_response_t, get_observations_response);

/* ---- GetWeather, GetCityWeather ---------------------------------------- */

static const nimbus_field_t get_weather_request[] = {
    NIMBUS__STRING(nimbus_get_weather_request_t, "stationId", station_id, NIMBUS_FIELD_REQUIRED,
                   StationId, "the station's id"),
};
static const nimbus_type_t get_weather_request_type =
    NIMBUS__TYPE("GetWeather", nimbus_get_weather_request_t, get_weather_request);

static const nimbus_field_t get_weather_response[] = {
    NIMBUS__OBJECT(nimbus_get_weather_response_t, "report", report, NIMBUS_FIELD_NO_AUX,
                   NIMBUS_FIELD_REQUIRED, nimbus_report_type),
};
static const nimbus_type_t get_weather_response_type =
    NIMBUS__TYPE("GetWeatherResponse", nimbus_get_weather_response_t, get_weather_response);

static const nimbus_field_t get_city_weather_request[] = {
    NIMBUS__STRING(nimbus_get_city_weather_request_t, "city", city, NIMBUS_FIELD_REQUIRED, City,
                   "the city's name (ASCII case ignored)"),
    NIMBUS__STRING(nimbus_get_city_weather_request_t, "country", country, 0, Country,
                   "only stations in this country (ISO 3166-1 alpha-2)"),
};
static const nimbus_type_t get_city_weather_request_type =
    NIMBUS__TYPE("GetCityWeather", nimbus_get_city_weather_request_t, get_city_weather_request);

static const nimbus_field_t get_city_weather_response[] = {
    NIMBUS__ARRAY(nimbus_get_city_weather_response_t, "reports", "report", reports, count, 0,
                  nimbus_report_type, 0, 0),
};
static const nimbus_type_t get_city_weather_response_type = NIMBUS__TYPE(
    "GetCityWeatherResponse", nimbus_get_city_weather_response_t, get_city_weather_response);

/* ---- GetObservationFeed (1.1) ------------------------------------------- */

static const nimbus_field_t get_observation_feed_request[] = {
    NIMBUS__INT64_DOC(nimbus_get_observation_feed_request_t, "afterSeq", after_seq,
                      offsetof(nimbus_get_observation_feed_request_t, has_after_seq), 0,
                      "observations with a greater seq (default 0: from the first); pass the "
                      "previous answer's lastSeq"),
    NIMBUS__STRINGS(nimbus_get_observation_feed_request_t, "stations", "station", stations,
                    station_count, 0, StationId, 0, NIMBUS_FEED_STATIONS_MAX,
                    "only these stations (none: every station)"),
    NIMBUS__INT64_RULE(nimbus_get_observation_feed_request_t, "limit", limit,
                       offsetof(nimbus_get_observation_feed_request_t, has_limit), 0, PageLimit,
                       "at most this many observations"),
};
static const nimbus_type_t get_observation_feed_request_type = NIMBUS__TYPE(
    "GetObservationFeed", nimbus_get_observation_feed_request_t, get_observation_feed_request);

static const nimbus_field_t get_observation_feed_response[] = {
    NIMBUS__ARRAY(nimbus_get_observation_feed_response_t, "observations", "observation",
                  observations, count, 0, nimbus_observation_type, 0, NIMBUS_LIST_LIMIT_MAX),
    NIMBUS__INT64(nimbus_get_observation_feed_response_t, "lastSeq", last_seq, NIMBUS_FIELD_NO_AUX,
                  NIMBUS_FIELD_REQUIRED),
    NIMBUS__INT64(nimbus_get_observation_feed_response_t, "headSeq", head_seq, NIMBUS_FIELD_NO_AUX,
                  NIMBUS_FIELD_REQUIRED),
};
static const nimbus_type_t get_observation_feed_response_type =
    NIMBUS__TYPE("GetObservationFeedResponse", nimbus_get_observation_feed_response_t,
                 get_observation_feed_response);

/* ---- the table -------------------------------------------------------- */

#define NIMBUS_X_ROW(Name, snake, role, kind)                                                      \
    {                                                                                              \
        NIMBUS_OP_##Name,      #Name,                                                              \
        NIMBUS_ROLE_##role,    NIMBUS_OP_KIND_##kind,                                              \
        &snake##_request_type, &snake##_response_type},

const nimbus_op_info_t nimbus_op_table[NIMBUS_OP_COUNT] = {NIMBUS_OPERATIONS(NIMBUS_X_ROW)};

#undef NIMBUS_X_ROW
