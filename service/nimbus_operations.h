/*
 * The operation table: the one list of what Nimbus does. Every operation of
 * the contract is one row of NIMBUS_OPERATIONS; REST routing, the OpenAPI
 * document, WebSocket `call` dispatch, role checks and the parity tests are
 * all generated from it, and a test compares it with the WSDL's portType, so
 * the three protocols cannot drift apart.
 *
 * A row is X(Name, snake, ROLE, KIND, "METHOD", "/rest/path", success status):
 *   Name    the contract's operation name (SOAP element, WebSocket `op`)
 *   snake   names the C pieces: nimbus_<snake>_request_t,
 *           nimbus_<snake>_response_t, nimbus_<snake>_response_cleanup()
 *           and nimbus_service_<snake>() (see nimbus_service.h)
 *   ROLE    the least role a caller needs (READ, WRITE, ADMIN)
 *   KIND    SINGLE (one result) or LIST (results a WebSocket call streams
 *           as `item` messages)
 *   path    the REST path; {id} and {city} are path-escaped parameters
 */
#ifndef NIMBUS_OPERATIONS_H
#define NIMBUS_OPERATIONS_H

#include "nimbus_types.h"

#define NIMBUS_OPERATIONS(X)                                                                       \
    X(ListStations, list_stations, READ, LIST, "GET", "/v1/stations", 200)                         \
    X(GetStation, get_station, READ, SINGLE, "GET", "/v1/stations/{id}", 200)                      \
    X(CreateStation, create_station, WRITE, SINGLE, "POST", "/v1/stations", 201)                   \
    X(UpdateStation, update_station, WRITE, SINGLE, "PUT", "/v1/stations/{id}", 200)               \
    X(DeleteStation, delete_station, ADMIN, SINGLE, "DELETE", "/v1/stations/{id}", 204)            \
    X(RecordObservations, record_observations, WRITE, SINGLE, "POST",                              \
      "/v1/stations/{id}/observations", 200)                                                       \
    X(GetObservations, get_observations, READ, LIST, "GET", "/v1/stations/{id}/observations", 200) \
    X(GetWeather, get_weather, READ, SINGLE, "GET", "/v1/stations/{id}/weather", 200)              \
    X(GetCityWeather, get_city_weather, READ, LIST, "GET", "/v1/cities/{city}/weather", 200)

typedef enum nimbus_op {
#define NIMBUS_X_OP_ENUM(Name, snake, role, kind, method, path, status) NIMBUS_OP_##Name,
    NIMBUS_OPERATIONS(NIMBUS_X_OP_ENUM)
#undef NIMBUS_X_OP_ENUM
        NIMBUS_OP_COUNT
} nimbus_op_t;

/* Roles nest: each includes the ones before it. */
typedef enum nimbus_role {
    NIMBUS_ROLE_NONE = 0,
    NIMBUS_ROLE_READ,
    NIMBUS_ROLE_WRITE,
    NIMBUS_ROLE_ADMIN
} nimbus_role_t;

typedef enum nimbus_op_kind { NIMBUS_OP_KIND_SINGLE, NIMBUS_OP_KIND_LIST } nimbus_op_kind_t;

typedef struct nimbus_op_info {
    nimbus_op_t op;
    const char *name;        /* "ListStations" */
    nimbus_role_t role;      /* least role needed */
    nimbus_op_kind_t kind;   /* SINGLE or LIST */
    const char *http_method; /* "GET" */
    const char *rest_path;   /* "/v1/stations/{id}" */
    int success_status;      /* 200, 201 or 204 */
} nimbus_op_info_t;

/* The table as data, NIMBUS_OP_COUNT rows in table order. Static storage. */
extern const nimbus_op_info_t nimbus_op_table[NIMBUS_OP_COUNT];

/* The row named `name` (exact spelling), or NULL. */
const nimbus_op_info_t *nimbus_op_find(const char *name);

const char *nimbus_role_name(nimbus_role_t role); /* "read", "write", "admin" */
/* Parses "read"/"write"/"admin"; returns false for anything else. */
bool nimbus_role_from_name(const char *name, nimbus_role_t *role);

/*
 * Requests and responses, one pair per row. Request strings are borrowed
 * from the caller for the length of the call; NULL means absent. Responses
 * are filled by the operation and own whatever heap memory they point to:
 * free it with the matching nimbus_<snake>_response_cleanup(), which is safe
 * on a zeroed response and on one whose operation failed.
 */
typedef struct nimbus_list_stations_request {
    const char *city;    /* optional filter, exact match */
    const char *country; /* optional filter */
    bool has_limit;
    int64_t limit; /* 1..NIMBUS_LIST_LIMIT_MAX, default NIMBUS_LIST_LIMIT_DEFAULT */
    const char *cursor;
} nimbus_list_stations_request_t;

typedef struct nimbus_list_stations_response {
    nimbus_station_t *stations; /* owned; count entries, ordered by id */
    size_t count;
    char next_cursor[NIMBUS_CURSOR_SIZE]; /* "" on the last page */
} nimbus_list_stations_response_t;

typedef struct nimbus_get_station_request {
    const char *id;
} nimbus_get_station_request_t;

typedef struct nimbus_get_station_response {
    nimbus_station_t station;
} nimbus_get_station_response_t;

typedef struct nimbus_create_station_request {
    nimbus_station_t station;
} nimbus_create_station_request_t;

typedef struct nimbus_create_station_response {
    nimbus_station_t station;
} nimbus_create_station_response_t;

typedef struct nimbus_update_station_request {
    /* The station addressed (REST path id); NULL means station.id. When both
     * are given they must be equal. */
    const char *id;
    nimbus_station_t station;
} nimbus_update_station_request_t;

typedef struct nimbus_update_station_response {
    nimbus_station_t station;
} nimbus_update_station_response_t;

typedef struct nimbus_delete_station_request {
    const char *id;
} nimbus_delete_station_request_t;

typedef struct nimbus_delete_station_response {
    char unused; /* DeleteStation answers with nothing */
} nimbus_delete_station_response_t;

typedef struct nimbus_record_observations_request {
    const char *station_id;
    /* Borrowed. An observation's station_id may be "" (taken from the call)
     * or must equal station_id. */
    const nimbus_observation_t *observations;
    size_t count; /* 1..NIMBUS_RECORD_BATCH_MAX */
} nimbus_record_observations_request_t;

typedef struct nimbus_record_observations_response {
    int64_t accepted;   /* stored: new or corrected */
    int64_t duplicates; /* identical to what was stored; ignored */
    bool has_seq;       /* false when nothing was stored */
    int64_t first_seq;
    int64_t last_seq;
} nimbus_record_observations_response_t;

typedef struct nimbus_get_observations_request {
    const char *station_id;
    bool has_from;
    int64_t from; /* inclusive */
    bool has_to;
    int64_t to; /* exclusive */
    bool has_limit;
    int64_t limit;
    const char *cursor;
} nimbus_get_observations_request_t;

typedef struct nimbus_get_observations_response {
    nimbus_observation_t *observations; /* owned; ordered by observed_at */
    size_t count;
    char next_cursor[NIMBUS_CURSOR_SIZE];
} nimbus_get_observations_response_t;

typedef struct nimbus_get_weather_request {
    const char *station_id;
} nimbus_get_weather_request_t;

typedef struct nimbus_get_weather_response {
    nimbus_weather_report_t report;
} nimbus_get_weather_response_t;

typedef struct nimbus_get_city_weather_request {
    const char *city;
    const char *country; /* optional */
} nimbus_get_city_weather_request_t;

typedef struct nimbus_get_city_weather_response {
    nimbus_weather_report_t *reports; /* owned; ordered by station id */
    size_t count;
} nimbus_get_city_weather_response_t;

#define NIMBUS_X_CLEANUP_DECL(Name, snake, role, kind, method, path, status)                       \
    void nimbus_##snake##_response_cleanup(nimbus_##snake##_response_t *res);
NIMBUS_OPERATIONS(NIMBUS_X_CLEANUP_DECL)
#undef NIMBUS_X_CLEANUP_DECL

#endif
