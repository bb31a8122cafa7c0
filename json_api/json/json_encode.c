/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Core types to JSON text, driven by the field tables (see nimbus_json.h):
 * a struct is written as an object with its fields in table order (the
 * contract's order), absent optional fields omitted. The same tables give
 * the OpenAPI schemas, so what is written is what is documented.
 */
#include <string.h>

#include "nimbus_json.h"

static const void *at(const void *value, size_t offset)
{
    return (const char *)value + offset;
}

static void write_field(nimbus_json_writer_t *w, const nimbus_field_t *f, const void *value)
{
    switch (f->kind) {
    case NIMBUS_FIELD_CHARS:
        nimbus_json_string(w, at(value, f->offset));
        return;
    case NIMBUS_FIELD_STRING: {
        const char *s;
        memcpy(&s, at(value, f->offset), sizeof s);
        nimbus_json_string(w, s);
        return;
    }
    case NIMBUS_FIELD_DOUBLE: {
        double d;
        memcpy(&d, at(value, f->offset), sizeof d);
        nimbus_json_double(w, d);
        return;
    }
    case NIMBUS_FIELD_OPT_DOUBLE: {
        nimbus_opt_double_t d;
        memcpy(&d, at(value, f->offset), sizeof d);
        nimbus_json_double(w, d.value);
        return;
    }
    case NIMBUS_FIELD_TIME: {
        int64_t t;
        char text[NIMBUS_TIME_TEXT_SIZE];
        memcpy(&t, at(value, f->offset), sizeof t);
        nimbus_json_string(w, nimbus_time_format(t, text));
        return;
    }
    case NIMBUS_FIELD_INT64: {
        int64_t v;
        memcpy(&v, at(value, f->offset), sizeof v);
        nimbus_json_int(w, v);
        return;
    }
    case NIMBUS_FIELD_INT: {
        int v;
        memcpy(&v, at(value, f->offset), sizeof v);
        nimbus_json_int(w, v);
        return;
    }
    case NIMBUS_FIELD_OBJECT:
        nimbus_json_write_object(w, f->type, at(value, f->offset));
        return;
    case NIMBUS_FIELD_ARRAY: {
        const char *items;
        size_t count;
        memcpy(&items, at(value, f->offset), sizeof items);
        memcpy(&count, at(value, f->aux), sizeof count);
        nimbus_json_array_begin(w);
        for (size_t i = 0; i < count; i++) {
            nimbus_json_write_object(w, f->type, items + i * f->type->size);
        }
        nimbus_json_array_end(w);
        return;
    }
    case NIMBUS_FIELD_STRINGS: {
        const char *const *items;
        size_t count;
        memcpy(&items, at(value, f->offset), sizeof items);
        memcpy(&count, at(value, f->aux), sizeof count);
        nimbus_json_array_begin(w);
        for (size_t i = 0; i < count; i++) {
            nimbus_json_string(w, items[i]);
        }
        nimbus_json_array_end(w);
        return;
    }
    }
}

/* The members of the struct at value, inside an object the caller opened. */
static void write_members(nimbus_json_writer_t *w, const nimbus_type_t *type, const void *value)
{
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        if (nimbus_field_absent(f, value)) {
            continue;
        }
        nimbus_json_key(w, f->name);
        write_field(w, f, value);
    }
}

void nimbus_json_write_object(nimbus_json_writer_t *w, const nimbus_type_t *type, const void *value)
{
    nimbus_json_object_begin(w);
    write_members(w, type, value);
    nimbus_json_object_end(w);
}

void nimbus_json_write_response(nimbus_json_writer_t *w, nimbus_op_t op,
                                const nimbus_response_t *res, nimbus_json_shape_t shape)
{
    const nimbus_type_t *type = nimbus_op_table[op].response;
    switch (shape) {
    case NIMBUS_JSON_FIELDS:
        nimbus_json_write_object(w, type, res);
        return;
    case NIMBUS_JSON_VALUE:
        /* The shape of responses with exactly one field (the REST binding
         * table says which); anything else is a binding bug, written as the
         * whole object rather than as half of it. */
        if (type->count == 1) {
            write_field(w, &type->fields[0], res);
        } else {
            nimbus_json_write_object(w, type, res);
        }
        return;
    case NIMBUS_JSON_NONE:
        return;
    }
}

char *nimbus_json_observation_text(const nimbus_observation_t *obs, size_t *len)
{
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    nimbus_json_write_object(&w, &nimbus_observation_type, obs);
    return nimbus_json_writer_steal(&w, len);
}
