/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * JSON Schemas of the contract's data, written from the field tables
 * (nimbus_fields.h) for every API document Nimbus serves (the OpenAPI
 * document of REST, the AsyncAPI document of the stream), so the documents
 * share one definition of each type and rule instead of copies of it.
 */
#include <stdio.h>
#include <string.h>

#include "nimbus_json.h"

void nimbus_json_schema_ref(nimbus_json_writer_t *w, const char *prefix, const char *name)
{
    char text[160];
    snprintf(text, sizeof text, "%s%s", prefix, name);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "$ref", text);
    nimbus_json_object_end(w);
}

/* "examples": [json] */
static void examples(nimbus_json_writer_t *w, const char *json)
{
    nimbus_json_key(w, "examples");
    nimbus_json_array_begin(w);
    nimbus_json_raw(w, json, strlen(json));
    nimbus_json_array_end(w);
}

/* "type": name, or ["name", "null"] for an optional input field: the
 * contract lets a client send null for what it leaves out. */
static void type_member(nimbus_json_writer_t *w, const char *name, bool nullable)
{
    nimbus_json_key(w, "type");
    if (!nullable) {
        nimbus_json_string(w, name);
        return;
    }
    nimbus_json_array_begin(w);
    nimbus_json_string(w, name);
    nimbus_json_string(w, "null");
    nimbus_json_array_end(w);
}

/* Members of a rule's schema (the caller has opened the object and written
 * "type"). */
static void rule_members(nimbus_json_writer_t *w, const nimbus_rule_t *r)
{
    switch (r->kind) {
    case NIMBUS_RULE_KIND_ID:
    case NIMBUS_RULE_KIND_TEXT:
    case NIMBUS_RULE_KIND_COUNTRY:
        nimbus_json_member_int(w, "minLength", (int64_t)r->min);
        nimbus_json_member_int(w, "maxLength", (int64_t)r->max);
        if (r->pattern) {
            /* XSD patterns match the whole value; JSON Schema's anywhere. */
            char anchored[128];
            snprintf(anchored, sizeof anchored, "^%s$", r->pattern);
            nimbus_json_member_string(w, "pattern", anchored);
        }
        if (r->example) {
            examples(w, r->example);
        }
        return;
    case NIMBUS_RULE_KIND_RANGE:
    case NIMBUS_RULE_KIND_INTEGER:
        nimbus_json_key(w, "minimum");
        nimbus_json_double(w, r->min);
        nimbus_json_key(w, "maximum");
        nimbus_json_double(w, r->max);
        if (r->def != 0) {
            nimbus_json_member_int(w, "default", r->def);
        }
        if (*r->unit) {
            nimbus_json_member_string(w, "description", r->unit);
        }
        if (r->example) {
            examples(w, r->example);
        }
        return;
    case NIMBUS_RULE_KIND_OPAQUE:
        return;
    }
}

/* Opens the schema of an ARRAY or STRINGS field up to its items: the object,
 * "type", minItems and maxItems where the field sets them, and the key
 * "items"; one piece, so both kinds state their bounds alike. The caller
 * writes the items' schema and closes the object. */
static void array_begin(nimbus_json_writer_t *w, const nimbus_field_t *f, bool nullable)
{
    nimbus_json_object_begin(w);
    type_member(w, "array", nullable);
    if (f->min_items > 0) {
        nimbus_json_member_int(w, "minItems", (int64_t)f->min_items);
    }
    if (f->max_items > 0) {
        nimbus_json_member_int(w, "maxItems", (int64_t)f->max_items);
    }
    nimbus_json_key(w, "items");
}

static void field_schema(nimbus_json_writer_t *w, const nimbus_field_t *f, const char *ref_prefix,
                         bool nullable)
{
    switch (f->kind) {
    case NIMBUS_FIELD_OBJECT:
        if (!nullable) {
            nimbus_json_schema_ref(w, ref_prefix, f->type->name);
            return;
        }
        nimbus_json_object_begin(w);
        nimbus_json_key(w, "anyOf");
        nimbus_json_array_begin(w);
        nimbus_json_schema_ref(w, ref_prefix, f->type->name);
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "type", "null");
        nimbus_json_object_end(w);
        nimbus_json_array_end(w);
        nimbus_json_object_end(w);
        return;
    case NIMBUS_FIELD_ARRAY:
        array_begin(w, f, nullable);
        nimbus_json_schema_ref(w, ref_prefix, f->type->name);
        nimbus_json_object_end(w);
        return;
    case NIMBUS_FIELD_STRINGS:
        array_begin(w, f, nullable);
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "type", "string");
        if (f->rule) {
            rule_members(w, f->rule);
        }
        nimbus_json_object_end(w);
        if (f->doc) {
            nimbus_json_member_string(w, "description", f->doc);
        }
        nimbus_json_object_end(w);
        return;
    case NIMBUS_FIELD_CHARS:
    case NIMBUS_FIELD_STRING:
    case NIMBUS_FIELD_TIME:
        nimbus_json_object_begin(w);
        type_member(w, "string", nullable);
        if (f->kind == NIMBUS_FIELD_TIME) {
            nimbus_json_member_string(w, "format", "date-time");
            examples(w, "\"2024-05-01T12:00:00Z\"");
        } else if (f->rule) {
            rule_members(w, f->rule);
        }
        break;
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_OPT_DOUBLE:
        nimbus_json_object_begin(w);
        type_member(w, "number", nullable);
        if (f->rule) {
            rule_members(w, f->rule);
        }
        break;
    case NIMBUS_FIELD_INT64:
    case NIMBUS_FIELD_INT:
        nimbus_json_object_begin(w);
        type_member(w, "integer", nullable);
        if (f->kind == NIMBUS_FIELD_INT64) {
            nimbus_json_member_string(w, "format", "int64");
        }
        if (f->rule) {
            rule_members(w, f->rule);
        }
        if (f->flags & NIMBUS_FIELD_OUTPUT_ONLY) {
            nimbus_json_key(w, "readOnly");
            nimbus_json_bool(w, true);
            nimbus_json_member_string(w, "description", "server-assigned; ignored on input");
        }
        break;
    }
    if (f->doc && !(f->rule && *f->rule->unit)) {
        nimbus_json_member_string(w, "description", f->doc);
    }
    nimbus_json_object_end(w);
}

void nimbus_json_schema_field(nimbus_json_writer_t *w, const nimbus_field_t *f,
                              const char *ref_prefix)
{
    field_schema(w, f, ref_prefix, false);
}

static bool listed(const char *const *names, const char *name)
{
    for (size_t k = 0; names && names[k]; k++) {
        if (strcmp(names[k], name) == 0) {
            return true;
        }
    }
    return false;
}

void nimbus_json_schema_object(nimbus_json_writer_t *w, const nimbus_type_t *type,
                               const char *ref_prefix, unsigned opts, const char *const *skip,
                               const char *const *optional)
{
    bool input = opts & NIMBUS_JSON_SCHEMA_CLOSED;
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "object");
    if (input) {
        nimbus_json_key(w, "additionalProperties");
        nimbus_json_bool(w, false);
    }
    nimbus_json_key(w, "required");
    nimbus_json_array_begin(w);
    bool required[64] = {false};
    for (size_t i = 0; i < type->count && i < 64; i++) {
        const nimbus_field_t *f = &type->fields[i];
        if (listed(skip, f->name) || listed(optional, f->name)) {
            continue;
        }
        /* An answer always carries its lists (empty or not). */
        required[i] = ((f->flags & NIMBUS_FIELD_REQUIRED) &&
                       !((opts & NIMBUS_JSON_SCHEMA_ID_OPTIONAL) && strcmp(f->name, "id") == 0)) ||
                      (!input && f->kind == NIMBUS_FIELD_ARRAY);
        if (required[i]) {
            nimbus_json_string(w, f->name);
        }
    }
    nimbus_json_array_end(w);
    nimbus_json_key(w, "properties");
    nimbus_json_object_begin(w);
    for (size_t i = 0; i < type->count && i < 64; i++) {
        const nimbus_field_t *f = &type->fields[i];
        if (listed(skip, f->name)) {
            continue;
        }
        nimbus_json_key(w, f->name);
        /* What a client may leave out it may also send as null. */
        field_schema(w, f, ref_prefix,
                     input && !required[i] && !(f->flags & NIMBUS_FIELD_OUTPUT_ONLY));
    }
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

/* Adds t and the types it holds to the list, each once. */
static size_t add_type(const nimbus_type_t *t, bool closed, const nimbus_type_t **types,
                       bool *closed_out, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++) {
        if (types[i] == t) {
            return n;
        }
    }
    if (n < max) {
        types[n] = t;
        closed_out[n] = closed;
    }
    n++;
    for (size_t i = 0; i < t->count; i++) {
        if (t->fields[i].type) {
            n = add_type(t->fields[i].type, closed, types, closed_out, n, max);
        }
    }
    return n;
}

size_t nimbus_json_schema_types(const nimbus_type_t **types, bool *closed, size_t max)
{
    size_t n = 0;
    /* Types clients send are closed, so they are claimed first; those only
     * answers hold stay open to additions. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
            const nimbus_type_t *t =
                pass == 0 ? nimbus_op_table[i].request : nimbus_op_table[i].response;
            for (size_t k = 0; k < t->count; k++) {
                if (t->fields[k].type) {
                    n = add_type(t->fields[k].type, pass == 0, types, closed, n, max);
                }
            }
        }
    }
    return n;
}

void nimbus_json_schema_code(nimbus_json_writer_t *w)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "string");
    nimbus_json_key(w, "enum");
    nimbus_json_array_begin(w);
    for (int c = NIMBUS_OK + 1; c < NIMBUS_CODE_COUNT; c++) {
        nimbus_json_string(w, nimbus_code_name((nimbus_code_t)c));
    }
    nimbus_json_array_end(w);
    nimbus_json_object_end(w);
}
