/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST binding table: how each row of NIMBUS_OPERATIONS is offered over
 * HTTP, as data, in the spirit of nginx's ngx_command_t and Redis's
 * commands.def. Routing, request decoding, the answer's status, body and
 * headers, and the OpenAPI document are all read from it; nothing else in
 * rest/ names an operation. Internal to json_api/rest.
 */
#ifndef NIMBUS_REST_BINDING_H
#define NIMBUS_REST_BINDING_H

#include "nimbus_json.h"
#include "nimbus_operations.h"

/* Where a request's body goes. */
typedef enum nimbus_rest_body {
    NIMBUS_REST_BODY_NONE,   /* no body is read */
    NIMBUS_REST_BODY_FIELD,  /* the body is the value of one request field */
    NIMBUS_REST_BODY_MEMBERS /* the body's members are request fields */
} nimbus_rest_body_t;

/* Response headers a binding adds on success. */
#define NIMBUS_REST_ETAG 0x1u     /* strong ETag; 304 for a matching If-None-Match */
#define NIMBUS_REST_LOCATION 0x2u /* the request path + "/" + the new station's id */

#define NIMBUS_REST_QUERY_MAX 8

typedef struct nimbus_rest_binding {
    nimbus_op_t op;
    const char *method; /* "GET"; HEAD is served wherever GET is */
    const char *path;   /* "/v1/stations/{id}": at most one {param} segment */
    int status;         /* the success status */
    /* The request field the {param} segment carries; NULL without one. */
    const char *path_field;
    /* The request fields read from the query, by their own names. */
    const char *query[NIMBUS_REST_QUERY_MAX];
    nimbus_rest_body_t body;
    const char *body_field;  /* BODY_FIELD: the request field the body is */
    const char *body_schema; /* OpenAPI component of the body; NULL without one */
    nimbus_json_shape_t reply;
    const char *reply_schema; /* OpenAPI component of the success body */
    unsigned headers;         /* NIMBUS_REST_ETAG | NIMBUS_REST_LOCATION */
} nimbus_rest_binding_t;

/* The binding of op (static storage). Every row has one: the table is
 * built by a switch over nimbus_op_t, so a row without a binding fails to
 * compile naming it. */
const nimbus_rest_binding_t *nimbus__rest_binding(nimbus_op_t op);

/* true when name is one of b's query fields. */
bool nimbus__rest_query_has(const nimbus_rest_binding_t *b, const char *name);

/* The request field a query parameter of b's operation carries: the field
 * of that name, or the STRINGS field whose item is so named (a repeated
 * parameter, `station=a&station=b` for `stations`, as XML repeats the
 * element in the singular). NULL when none. */
const nimbus_field_t *nimbus__rest_query_field(const nimbus_rest_binding_t *b, const char *name);

#endif
