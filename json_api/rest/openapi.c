/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The OpenAPI 3.1 document (see openapi.h). Paths, methods, operationIds,
 * parameters, bodies, success statuses and headers come from the binding
 * table (rest_binding.c); the schemas from the field tables through
 * json_api/json's schema writer, which the stream's AsyncAPI document uses
 * too. Nothing here names an operation or a field.
 */
#include "openapi.h"

#include <stdio.h>
#include <string.h>

#include "nimbus_http.h"
#include "nimbus_json.h"
#include "rest_binding.h"

#define SCHEMAS "#/components/schemas/"
#define MAX_SCHEMAS 32

/* Names already written under components.schemas. */
typedef struct names {
    const char *name[MAX_SCHEMAS];
    size_t count;
} names_t;

/* true the first time name is claimed. */
static bool claim(names_t *n, const char *name)
{
    for (size_t i = 0; i < n->count; i++) {
        if (strcmp(n->name[i], name) == 0) {
            return false;
        }
    }
    if (n->count < MAX_SCHEMAS) {
        n->name[n->count++] = name;
    }
    return true;
}

/* The request fields that a binding reads from the query: not body
 * members. (The path's field may be in the body too, equal to the path's:
 * it is an optional member there.) */
static void query_fields(const nimbus_rest_binding_t *b, const char **skip, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < NIMBUS_REST_QUERY_MAX && b->query[i] && n + 1 < size; i++) {
        const nimbus_field_t *f = nimbus__rest_query_field(b, b->query[i]);
        skip[n++] = f ? f->name : b->query[i];
    }
    skip[n] = NULL;
}

static void schemas(nimbus_json_writer_t *w)
{
    names_t n = {{NULL}, 0};
    nimbus_json_object_begin(w);
    /* The contract's types, as the AsyncAPI document lists them too. */
    const nimbus_type_t *types[MAX_SCHEMAS];
    bool closed[MAX_SCHEMAS];
    size_t count = nimbus_json_schema_types(types, closed, MAX_SCHEMAS);
    for (size_t i = 0; i < count && i < MAX_SCHEMAS; i++) {
        claim(&n, types[i]->name);
        nimbus_json_key(w, types[i]->name);
        nimbus_json_schema_object(w, types[i], SCHEMAS, closed[i] ? NIMBUS_JSON_SCHEMA_CLOSED : 0,
                                  NULL, NULL);
    }
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_rest_binding_t *b = nimbus__rest_binding((nimbus_op_t)i);
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        const char *skip[NIMBUS_REST_QUERY_MAX + 1];
        query_fields(b, skip, sizeof skip / sizeof skip[0]);
        const char *from_path[] = {b->path_field, NULL};
        if (b->body == NIMBUS_REST_BODY_MEMBERS && claim(&n, b->body_schema)) {
            nimbus_json_key(w, b->body_schema);
            nimbus_json_schema_object(w, op->request, SCHEMAS, NIMBUS_JSON_SCHEMA_CLOSED, skip,
                                      from_path);
        }
        if (b->body == NIMBUS_REST_BODY_FIELD && claim(&n, b->body_schema)) {
            /* A body that is one field's value, renamed because the path
             * supplies part of it (UpdateStation's id). */
            const nimbus_field_t *f = nimbus_type_field(op->request, b->body_field);
            nimbus_json_key(w, b->body_schema);
            nimbus_json_schema_object(w, f->type, SCHEMAS,
                                      NIMBUS_JSON_SCHEMA_CLOSED |
                                          ((f->flags & NIMBUS_FIELD_ID_FROM_REQUEST)
                                               ? NIMBUS_JSON_SCHEMA_ID_OPTIONAL
                                               : 0),
                                      NULL, NULL);
        }
        if (b->reply == NIMBUS_JSON_FIELDS && claim(&n, b->reply_schema)) {
            nimbus_json_key(w, b->reply_schema);
            nimbus_json_schema_object(w, op->response, SCHEMAS, 0, NULL, NULL);
        }
    }
    nimbus_json_key(w, "Problem");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "object");
    nimbus_json_key(w, "required");
    nimbus_json_array_begin(w);
    static const char *const problem_members[] = {"type", "title", "status", "detail", "code"};
    for (size_t i = 0; i < sizeof problem_members / sizeof problem_members[0]; i++) {
        nimbus_json_string(w, problem_members[i]);
    }
    nimbus_json_array_end(w);
    nimbus_json_key(w, "properties");
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "type");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "string");
    nimbus_json_member_string(w, "format", "uri");
    nimbus_json_object_end(w);
    static const char *const plain[][2] = {
        {"title", "string"}, {"status", "integer"}, {"detail", "string"}, {"requestId", "string"}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        nimbus_json_key(w, plain[i][0]);
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "type", plain[i][1]);
        nimbus_json_object_end(w);
    }
    nimbus_json_key(w, "code");
    nimbus_json_schema_code(w);
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

static void parameter(nimbus_json_writer_t *w, const nimbus_field_t *f, const char *name,
                      bool in_path)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "name", name);
    nimbus_json_member_string(w, "in", in_path ? "path" : "query");
    nimbus_json_key(w, "required");
    nimbus_json_bool(w, in_path);
    if (f->doc) {
        nimbus_json_member_string(w, "description", f->doc);
    }
    nimbus_json_key(w, "schema");
    nimbus_json_schema_field(w, f, SCHEMAS);
    nimbus_json_object_end(w);
}

static void parameters(nimbus_json_writer_t *w, const nimbus_rest_binding_t *b,
                       const nimbus_op_info_t *op)
{
    nimbus_json_array_begin(w);
    if (b->path_field) {
        /* The template's own name for the segment ("id" in
         * /v1/stations/{id}/weather, whose field is stationId). */
        const char *open = strchr(b->path, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        char name[32];
        snprintf(name, sizeof name, "%.*s", close ? (int)(close - open - 1) : 0,
                 open ? open + 1 : "");
        parameter(w, nimbus_type_field(op->request, b->path_field), name, true);
    }
    for (size_t i = 0; i < NIMBUS_REST_QUERY_MAX && b->query[i]; i++) {
        parameter(w, nimbus__rest_query_field(b, b->query[i]), b->query[i], false);
    }
    nimbus_json_array_end(w);
}

/* "content": {media: {"schema": {"$ref": schema}}} */
static void content(nimbus_json_writer_t *w, const char *media, const char *schema)
{
    nimbus_json_key(w, "content");
    nimbus_json_object_begin(w);
    nimbus_json_key(w, media);
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "schema");
    nimbus_json_schema_ref(w, SCHEMAS, schema);
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

static void problem_response(nimbus_json_writer_t *w, const char *status, const char *desc)
{
    nimbus_json_key(w, status);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "description", desc);
    content(w, NIMBUS_JSON_PROBLEM_TYPE, "Problem");
    nimbus_json_object_end(w);
}

static void header(nimbus_json_writer_t *w, const char *name, const char *desc)
{
    nimbus_json_key(w, name);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "description", desc);
    nimbus_json_key(w, "schema");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "string");
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

static void responses(nimbus_json_writer_t *w, const nimbus_rest_binding_t *b)
{
    char status[8];
    snprintf(status, sizeof status, "%d", b->status);
    nimbus_json_object_begin(w);
    nimbus_json_key(w, status);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "description", "success");
    if (b->reply != NIMBUS_JSON_NONE) {
        content(w, "application/json", b->reply_schema);
    }
    if (b->headers) {
        nimbus_json_key(w, "headers");
        nimbus_json_object_begin(w);
        if (b->headers & NIMBUS_REST_LOCATION) {
            char desc[96];
            snprintf(desc, sizeof desc, "%s/{id}", b->path);
            header(w, "Location", desc);
        }
        if (b->headers & NIMBUS_REST_ETAG) {
            header(w, "ETag", "entity tag; send it as If-None-Match");
        }
        nimbus_json_object_end(w);
    }
    nimbus_json_object_end(w);
    if (b->headers & NIMBUS_REST_ETAG) {
        nimbus_json_key(w, "304");
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "description", "not modified");
        nimbus_json_object_end(w);
    }
    problem_response(w, "400", "INVALID_ARGUMENT");
    problem_response(w, "401", "UNAUTHENTICATED");
    problem_response(w, "403", "PERMISSION_DENIED");
    /* Every path answers a method it does not have with 405 and Allow. */
    problem_response(w, "405", "method not allowed on this path (see the Allow header)");
    /* A path names a station or city, which may not exist. */
    if (b->path_field) {
        problem_response(w, "404", "NOT_FOUND");
    }
    if (b->headers & NIMBUS_REST_LOCATION) {
        problem_response(w, "409", "ALREADY_EXISTS");
    }
    if (b->body != NIMBUS_REST_BODY_NONE) {
        problem_response(w, "413", "PAYLOAD_TOO_LARGE");
        problem_response(w, "415", "the body is not application/json");
    }
    problem_response(w, "429", "RESOURCE_EXHAUSTED");
    problem_response(w, "500", "INTERNAL");
    problem_response(w, "503", "UNAVAILABLE");
    nimbus_json_object_end(w);
}

static void operation(nimbus_json_writer_t *w, const nimbus_rest_binding_t *b)
{
    const nimbus_op_info_t *op = &nimbus_op_table[b->op];
    char desc[96];
    snprintf(desc, sizeof desc, "SOAP operation %s; needs the %s role.", op->name,
             nimbus_role_name(op->role));
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "operationId", op->name);
    nimbus_json_member_string(w, "summary", op->name);
    nimbus_json_member_string(w, "description", desc);
    nimbus_json_key(w, "parameters");
    parameters(w, b, op);
    nimbus_json_key(w, "responses");
    responses(w, b);
    if (b->body != NIMBUS_REST_BODY_NONE) {
        nimbus_json_key(w, "requestBody");
        nimbus_json_object_begin(w);
        nimbus_json_key(w, "required");
        nimbus_json_bool(w, true);
        content(w, "application/json", b->body_schema);
        nimbus_json_object_end(w);
    }
    nimbus_json_object_end(w);
}

/* The table's {param} templates are already OpenAPI path templates; the
 * bindings of one path are grouped under it, in table order. */
static void paths(nimbus_json_writer_t *w)
{
    nimbus_json_object_begin(w);
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_rest_binding_t *b = nimbus__rest_binding((nimbus_op_t)i);
        bool seen = false;
        for (int k = 0; k < i && !seen; k++) {
            seen = strcmp(nimbus__rest_binding((nimbus_op_t)k)->path, b->path) == 0;
        }
        if (seen) {
            continue;
        }
        nimbus_json_key(w, b->path);
        nimbus_json_object_begin(w);
        for (int k = i; k < NIMBUS_OP_COUNT; k++) {
            const nimbus_rest_binding_t *same = nimbus__rest_binding((nimbus_op_t)k);
            if (strcmp(same->path, b->path) != 0) {
                continue;
            }
            char method[8];
            size_t len = strlen(same->method);
            for (size_t c = 0; c < len && c + 1 < sizeof method; c++) {
                method[c] = (char)(same->method[c] | 0x20);
            }
            method[len < sizeof method ? len : sizeof method - 1] = '\0';
            nimbus_json_key(w, method);
            operation(w, same);
        }
        nimbus_json_object_end(w);
    }
    nimbus_json_object_end(w);
}

char *nimbus_openapi_text(const char *base_url, size_t *len)
{
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    nimbus_json_object_begin(&w);
    nimbus_json_member_string(&w, "openapi", "3.1.0");
    nimbus_json_key(&w, "info");
    nimbus_json_object_begin(&w);
    nimbus_json_member_string(&w, "title", "Nimbus weather-station API");
    nimbus_json_member_string(&w, "version", NIMBUS_VERSION);
    nimbus_json_member_string(
        &w, "description",
        "REST + JSON binding of the Nimbus service contract; the same operations as the SOAP "
        "WSDL at /soap?wsdl. Errors are application/problem+json (RFC 9457).");
    nimbus_json_object_end(&w);
    nimbus_json_key(&w, "servers");
    nimbus_json_array_begin(&w);
    nimbus_json_object_begin(&w);
    nimbus_json_member_string(&w, "url", base_url);
    nimbus_json_object_end(&w);
    nimbus_json_array_end(&w);
    nimbus_json_key(&w, "paths");
    paths(&w);
    nimbus_json_key(&w, "components");
    nimbus_json_object_begin(&w);
    nimbus_json_key(&w, "schemas");
    schemas(&w);
    nimbus_json_key(&w, "securitySchemes");
    nimbus_json_object_begin(&w);
    static const char *const schemes[] = {"bearer", "basic"};
    for (size_t i = 0; i < 2; i++) {
        nimbus_json_key(&w, schemes[i]);
        nimbus_json_object_begin(&w);
        nimbus_json_member_string(&w, "type", "http");
        nimbus_json_member_string(&w, "scheme", schemes[i]);
        nimbus_json_object_end(&w);
    }
    nimbus_json_object_end(&w);
    nimbus_json_object_end(&w);
    /* Either key scheme, or none for a server without keys. */
    nimbus_json_key(&w, "security");
    nimbus_json_array_begin(&w);
    for (size_t i = 0; i < 3; i++) {
        nimbus_json_object_begin(&w);
        if (i < 2) {
            nimbus_json_key(&w, schemes[i]);
            nimbus_json_array_begin(&w);
            nimbus_json_array_end(&w);
        }
        nimbus_json_object_end(&w);
    }
    nimbus_json_array_end(&w);
    nimbus_json_object_end(&w);
    return nimbus_json_writer_steal(&w, len);
}
