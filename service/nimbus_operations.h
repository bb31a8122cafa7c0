/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The operation table: the one list of what Nimbus does. Every operation of
 * the contract is one row of NIMBUS_OPERATIONS, and the row holds only what
 * is true whatever the protocol: the name, the role, the kind. Each
 * protocol binds the rows in its own folder (the REST binding table in
 * json_api/rest/rest_binding.c, the WSDL and soap/soap_ops.c for SOAP); the
 * WebSocket `call`, the OpenAPI document and the parity tests are generated
 * from the rows and their field tables, and a test compares the rows with
 * the WSDL's portType.
 *
 * A row is X(Name, snake, ROLE, KIND):
 *   Name    the contract's operation name (SOAP element, WebSocket `op`)
 *   snake   names the C pieces: nimbus_<snake>_request_t,
 *           nimbus_<snake>_response_t, nimbus_<snake>_response_cleanup(),
 *           nimbus_service_<snake>() (see nimbus_service.h) and the field
 *           tables <snake>_request_type / _response_type
 *           (service/op_fields.c)
 *   ROLE    the least role a caller needs (READ, WRITE, ADMIN)
 *   KIND    SINGLE (one result) or LIST (results a WebSocket call streams
 *           as `item` messages, page after page)
 *
 * Switches over nimbus_op_t have no `default:` and the build uses
 * -Wswitch-enum, so a new row fails to compile until every adapter
 * handles it (docs/architecture.md, "Adding an operation").
 */
#ifndef NIMBUS_OPERATIONS_H
#define NIMBUS_OPERATIONS_H

#include "nimbus_fields.h"
#include "nimbus_types.h"

#ifdef NIMBUS_SCRATCH_OP
/* A test-only row (tests/service/test_scratch_row.py): compiling the
 * adapters with it proves that each one names what it is missing. */
#define NIMBUS_OPERATIONS_SCRATCH(X) X(ScratchOp, scratch_op, READ, SINGLE)
#else
#define NIMBUS_OPERATIONS_SCRATCH(X)
#endif

#define NIMBUS_OPERATIONS(X)                                                                       \
    X(ListStations, list_stations, READ, LIST)                                                     \
    X(GetStation, get_station, READ, SINGLE)                                                       \
    X(CreateStation, create_station, WRITE, SINGLE)                                                \
    X(UpdateStation, update_station, WRITE, SINGLE)                                                \
    X(DeleteStation, delete_station, ADMIN, SINGLE)                                                \
    X(RecordObservations, record_observations, WRITE, SINGLE)                                      \
    X(GetObservations, get_observations, READ, LIST)                                               \
    X(GetWeather, get_weather, READ, SINGLE)                                                       \
    X(GetCityWeather, get_city_weather, READ, LIST)                                                \
    X(GetObservationFeed, get_observation_feed, READ, LIST)                                        \
    NIMBUS_OPERATIONS_SCRATCH(X)

typedef enum nimbus_op {
#define NIMBUS_X_OP_ENUM(Name, snake, role, kind) NIMBUS_OP_##Name,
    NIMBUS_OPERATIONS(NIMBUS_X_OP_ENUM)
#undef NIMBUS_X_OP_ENUM
} nimbus_op_t;

/* The number of rows: a constant, not an enumerator, so that a switch over
 * nimbus_op_t names every operation and nothing else. */
#define NIMBUS_X_OP_ONE(Name, snake, role, kind) +1
#define NIMBUS_OP_COUNT (0 NIMBUS_OPERATIONS(NIMBUS_X_OP_ONE))

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
    const char *name;      /* "ListStations" */
    nimbus_role_t role;    /* least role needed */
    nimbus_op_kind_t kind; /* SINGLE or LIST */
    /* The fields of nimbus_<snake>_request_t and _response_t, in the
     * contract's order (nimbus_fields.h). Their names are the contract's
     * request and response fields, as JSON members and XML elements. */
    const nimbus_type_t *request;
    const nimbus_type_t *response;
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

/* (1.1) The stream for clients that can only poll: stored observations with
 * seq > after_seq, in seq order (service/feed.c). */
typedef struct nimbus_get_observation_feed_request {
    bool has_after_seq;
    int64_t after_seq; /* 0 when absent */
    /* Borrowed strings; none: every station. The array itself belongs to
     * whoever filled the request (the JSON request frees its own). */
    const char **stations;
    size_t station_count; /* 0..NIMBUS_FEED_STATIONS_MAX */
    bool has_limit;
    int64_t limit; /* 1..NIMBUS_LIST_LIMIT_MAX, default NIMBUS_LIST_LIMIT_DEFAULT */
} nimbus_get_observation_feed_request_t;

typedef struct nimbus_get_observation_feed_response {
    nimbus_observation_t *observations; /* owned; in increasing seq */
    size_t count;
    int64_t last_seq; /* seq of the last one returned; after_seq when none */
    int64_t head_seq; /* the newest seq of the service, as of the same read */
} nimbus_get_observation_feed_response_t;

#ifdef NIMBUS_SCRATCH_OP
typedef struct nimbus_scratch_op_request {
    const char *id;
} nimbus_scratch_op_request_t;
typedef struct nimbus_scratch_op_response {
    nimbus_station_t station;
} nimbus_scratch_op_response_t;
#endif

#define NIMBUS_X_CLEANUP_DECL(Name, snake, role, kind)                                             \
    void nimbus_##snake##_response_cleanup(nimbus_##snake##_response_t *res);
NIMBUS_OPERATIONS(NIMBUS_X_CLEANUP_DECL)
#undef NIMBUS_X_CLEANUP_DECL

/* Any operation's request and response, for adapters that handle every
 * operation the same way (the JSON call, REST). Zero a response before the
 * call; free it with nimbus_response_cleanup. */
typedef union nimbus_request {
#define NIMBUS_X_REQUEST_MEMBER(Name, snake, role, kind) nimbus_##snake##_request_t snake;
    NIMBUS_OPERATIONS(NIMBUS_X_REQUEST_MEMBER)
#undef NIMBUS_X_REQUEST_MEMBER
} nimbus_request_t;

typedef union nimbus_response {
#define NIMBUS_X_RESPONSE_MEMBER(Name, snake, role, kind) nimbus_##snake##_response_t snake;
    NIMBUS_OPERATIONS(NIMBUS_X_RESPONSE_MEMBER)
#undef NIMBUS_X_RESPONSE_MEMBER
} nimbus_response_t;

/* Frees what op's response owns (nimbus_<snake>_response_cleanup). */
void nimbus_response_cleanup(nimbus_op_t op, nimbus_response_t *res);

#endif
