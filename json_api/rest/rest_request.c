/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Building a request from REST's parts (see rest_request.h). Path and query
 * values are text: each goes straight into its field of the request struct
 * by the field's kind (a string is borrowed, an integer parsed, a dateTime
 * read with nimbus_time_parse), with no JSON tree in between. The body is
 * JSON and is read from its text by json_api/json's reader with the same
 * field table (nimbus_json_request_read), so a field means the same
 * whichever part it came from. Value rules stay the core's.
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
    case NIMBUS_FIELD_STRINGS:
        return nimbus_error_set(err, NIMBUS_INTERNAL, "%s cannot be read from text", f->name);
    }
    if (f->aux != NIMBUS_FIELD_NO_AUX) {
        memcpy(at(value, f->aux), &yes, sizeof yes);
    }
    return 0;
}

/* Adds text to a STRINGS field's array (a repeated query parameter). The
 * array is the request's (freed by nimbus_json_request_cleanup); past the
 * field's bound one more is kept, so the core's count rule refuses it. */
static int add_item(const nimbus_field_t *f, void *value, const char *text, nimbus_error_t *err)
{
    const char **items;
    size_t n;
    memcpy(&items, at(value, f->offset), sizeof items);
    memcpy(&n, at(value, f->aux), sizeof n);
    if (f->max_items != 0 && n > f->max_items) {
        return 0;
    }
    const char **grown = realloc(items, (n + 1) * sizeof *grown);
    if (!grown) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    grown[n++] = text;
    memcpy(at(value, f->offset), &grown, sizeof grown);
    memcpy(at(value, f->aux), &n, sizeof n);
    return 0;
}

static int read_query(const nimbus_rest_binding_t *b, const struct evkeyvalq *query, void *value,
                      nimbus_error_t *err)
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
        const nimbus_field_t *f = nimbus__rest_query_field(b, e->key);
        if (!f) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "%s: no request field %s",
                                    nimbus_op_table[b->op].name, e->key);
        }
        bool repeated = f->kind == NIMBUS_FIELD_STRINGS;
        if (seen[i] && !repeated) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "query parameter %s is given more than once", b->query[i]);
        }
        seen[i] = true;
        if (!*e->value) {
            continue; /* an empty value means absent */
        }
        if (repeated) {
            if (nimbus_utf8_length(e->value, strlen(e->value)) < 0) {
                return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be valid UTF-8",
                                        e->key);
            }
            if (add_item(f, value, e->value, err) != 0) {
                return -1;
            }
            continue;
        }
        if (set_from_text(f, value, e->value, err) != 0) {
            return -1;
        }
    }
    return 0;
}

int nimbus__rest_body(const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                      const char *text, size_t len, nimbus_json_request_t *req, nimbus_error_t *err)
{
    const nimbus_type_t *type = nimbus_op_table[b->op].request;
    /* The query's fields are not members of the body. */
    const char *excluded[NIMBUS_REST_QUERY_MAX + 1];
    size_t n = 0;
    for (; n < NIMBUS_REST_QUERY_MAX && b->query[n]; n++) {
        const nimbus_field_t *f = nimbus__rest_query_field(b, b->query[n]);
        excluded[n] = f ? f->name : b->query[n];
    }
    excluded[n] = NULL;
    /* The path names the station when its field is the request's `id`: an
     * UpdateStation body's station may then leave its own id out. */
    const nimbus_field_t *id = nimbus_type_field(type, "id");
    nimbus_json_target_t target = {
        .container = "request body",
        .not_object = "the request body must be a JSON object",
        .excluded = excluded,
        .id_known = b->path_field && strcmp(b->path_field, "id") == 0 && id &&
                    id->kind == NIMBUS_FIELD_STRING,
        .in_order = true,
    };
    switch (b->body) {
    case NIMBUS_REST_BODY_NONE:
        return 0;
    case NIMBUS_REST_BODY_FIELD:
        target.value_field = b->body_field;
        break;
    case NIMBUS_REST_BODY_MEMBERS:
        target.equal_field = b->path_field;
        target.equal_value = m->param;
        break;
    }
    int rc = nimbus_json_request_read(text, len, &target, req, err);
    if (rc == NIMBUS_JSON_READ_FIELDS) {
        return 1;
    }
    return rc == 0 ? 0 : -1;
}

int nimbus__rest_request(const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                         const struct evkeyvalq *query, const nimbus_error_t *body_err,
                         nimbus_json_request_t *req, nimbus_error_t *err)
{
    const nimbus_type_t *type = nimbus_op_table[b->op].request;
    void *value = &req->u;
    if (b->path_field) {
        const nimbus_field_t *f = nimbus_type_field(type, b->path_field);
        const char *path_value = m->param;
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
    if (query && read_query(b, query, value, err) != 0) {
        return -1;
    }
    if (body_err) {
        *err = *body_err;
        return -1;
    }
    return 0;
}
