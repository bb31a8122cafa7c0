/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Building a request from REST's parts (see rest_request.h). Path and query
 * values are text: each goes straight into its field of the request struct
 * by the field's kind (a string is borrowed, an integer parsed, a dateTime
 * read with nimbus_time_parse), with no JSON tree in between. The body is
 * JSON and is read by json_api/json with the same field table, so a field
 * means the same whichever part it came from. Value rules stay the core's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rest_request.h"

static void *at(void *value, size_t offset)
{
    return (char *)value + offset;
}

/* Sets field f of the request from text (NUL-terminated, borrowed). */
static int set_from_text(const nimbus_field_t *f, void *value, const char *text,
                         nimbus_error_t *err)
{
    bool yes = true;
    /* Text first, whatever the field: "from=%FF" is bad UTF-8 before it is
     * a bad dateTime. */
    if (nimbus_utf8_length(text, strlen(text)) < 0) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be valid UTF-8", f->name);
    }
    switch (f->kind) {
    case NIMBUS_FIELD_STRING:
        memcpy(at(value, f->offset), &text, sizeof text);
        return 0;
    case NIMBUS_FIELD_INT64: {
        /* The core's rule for integers (10 and 10.0 alike; a value past
         * int64 is out of range, which the field's rule then says). */
        int64_t v;
        if (nimbus_integral_text(text, &v) != 0) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be an integer", f->name);
        }
        memcpy(at(value, f->offset), &v, sizeof v);
        break;
    }
    case NIMBUS_FIELD_TIME: {
        int64_t t;
        if (nimbus_time_parse(text, f->name, &t, err) != 0) {
            return -1;
        }
        memcpy(at(value, f->offset), &t, sizeof t);
        break;
    }
    case NIMBUS_FIELD_CHARS:
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_OPT_DOUBLE:
    case NIMBUS_FIELD_INT:
    case NIMBUS_FIELD_OBJECT:
    case NIMBUS_FIELD_ARRAY:
        return nimbus_error_set(err, NIMBUS_INTERNAL, "%s cannot be read from text", f->name);
    }
    if (f->aux != NIMBUS_FIELD_NO_AUX) {
        memcpy(at(value, f->aux), &yes, sizeof yes);
    }
    return 0;
}

static int read_query(const nimbus_rest_binding_t *b, const nimbus_type_t *type,
                      const struct evkeyvalq *query, void *value, nimbus_error_t *err)
{
    bool seen[NIMBUS_REST_QUERY_MAX] = {false};
    const struct evkeyval *e;
    TAILQ_FOREACH(e, query, next)
    {
        size_t i = 0;
        while (i < NIMBUS_REST_QUERY_MAX && b->query[i] && strcmp(b->query[i], e->key) != 0) {
            i++;
        }
        if (i == NIMBUS_REST_QUERY_MAX || !b->query[i]) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "unknown query parameter \"%.64s\"", e->key);
        }
        if (seen[i]) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "query parameter %s is given more than once", b->query[i]);
        }
        seen[i] = true;
        if (!*e->value) {
            continue; /* an empty value means absent */
        }
        const nimbus_field_t *f = nimbus_type_field(type, e->key);
        if (!f) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "%s: no request field %s",
                                    nimbus_op_table[b->op].name, e->key);
        }
        if (set_from_text(f, value, e->value, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* true when the request struct already names a station by its `id`. */
static bool id_known(const nimbus_type_t *type, const void *value)
{
    const nimbus_field_t *id = nimbus_type_field(type, "id");
    return id && id->kind == NIMBUS_FIELD_STRING && !nimbus_field_absent(id, value);
}

static int read_members(const nimbus_rest_binding_t *b, const nimbus_type_t *type, json_t *body,
                        const char *path_value, void *value, nimbus_error_t *err)
{
    const char *allowed[32];
    size_t n = 0;
    for (size_t i = 0; i < type->count && n + 1 < sizeof allowed / sizeof allowed[0]; i++) {
        if (!nimbus__rest_query_has(b, type->fields[i].name)) {
            allowed[n++] = type->fields[i].name;
        }
    }
    allowed[n] = NULL;
    if (nimbus_json_check_members(body, "request body", allowed, err) != 0) {
        return -1;
    }
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        json_t *v = json_object_get(body, f->name);
        bool from_path = b->path_field && strcmp(b->path_field, f->name) == 0;
        if (v && json_is_null(v)) {
            v = NULL;
        }
        if (from_path) {
            /* The body may repeat what the path says, but not contradict it. */
            if (v && (!json_is_string(v) || strcmp(json_string_value(v), path_value) != 0)) {
                return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                        "%s in the body must equal the path's", f->name);
            }
            continue;
        }
        if (nimbus__rest_query_has(b, f->name)) {
            continue;
        }
        if (!v) {
            if (f->flags & NIMBUS_FIELD_REQUIRED) {
                return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is required", f->name);
            }
            continue;
        }
        if (nimbus_json_read_field(v, f, value, "", id_known(type, value), err) != 0) {
            return -1;
        }
    }
    return 0;
}

int nimbus__rest_request(const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                         const struct evkeyvalq *query, json_t *body, nimbus_json_request_t *req,
                         nimbus_error_t *err)
{
    const nimbus_type_t *type = nimbus_op_table[b->op].request;
    void *value = &req->u;
    nimbus_json_request_init(req, b->op);
    const char *path_value = NULL;
    if (b->path_field) {
        const nimbus_field_t *f = nimbus_type_field(type, b->path_field);
        path_value = m->param;
        if (m->param_bad || nimbus_utf8_length(path_value, strlen(path_value)) < 0) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "path parameter %s is not valid text", m->param_name);
        }
        if (!f) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "%s: no request field %s",
                                    nimbus_op_table[b->op].name, b->path_field);
        }
        if (set_from_text(f, value, path_value, err) != 0) {
            return -1;
        }
    }
    if (query && read_query(b, type, query, value, err) != 0) {
        return -1;
    }
    switch (b->body) {
    case NIMBUS_REST_BODY_NONE:
        return 0;
    case NIMBUS_REST_BODY_FIELD: {
        const nimbus_field_t *f = nimbus_type_field(type, b->body_field);
        if (!f) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "%s: no request field %s",
                                    nimbus_op_table[b->op].name, b->body_field);
        }
        return nimbus_json_read_field(body, f, value, "", id_known(type, value), err);
    }
    case NIMBUS_REST_BODY_MEMBERS:
        return read_members(b, type, body, path_value, value, err);
    }
    return 0;
}
