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

static void ref(nimbus_json_writer_t *w, const char *prefix, const char *name)
{
    char text[160];
    snprintf(text, sizeof text, "%s%s", prefix, name);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "$ref", text);
    nimbus_json_object_end(w);
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
        return;
    case NIMBUS_RULE_KIND_OPAQUE:
        return;
    }
}

void nimbus_json_schema_field(nimbus_json_writer_t *w, const nimbus_field_t *f,
                              const char *ref_prefix)
{
    switch (f->kind) {
    case NIMBUS_FIELD_OBJECT:
        ref(w, ref_prefix, f->type->name);
        return;
    case NIMBUS_FIELD_ARRAY:
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "type", "array");
        if (f->min_items > 0) {
            nimbus_json_member_int(w, "minItems", (int64_t)f->min_items);
        }
        if (f->max_items > 0) {
            nimbus_json_member_int(w, "maxItems", (int64_t)f->max_items);
        }
        nimbus_json_key(w, "items");
        ref(w, ref_prefix, f->type->name);
        nimbus_json_object_end(w);
        return;
    case NIMBUS_FIELD_CHARS:
    case NIMBUS_FIELD_STRING:
    case NIMBUS_FIELD_TIME:
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "type", "string");
        if (f->kind == NIMBUS_FIELD_TIME) {
            nimbus_json_member_string(w, "format", "date-time");
        } else if (f->rule) {
            rule_members(w, f->rule);
        }
        break;
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_OPT_DOUBLE:
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "type", "number");
        if (f->rule) {
            rule_members(w, f->rule);
        }
        break;
    case NIMBUS_FIELD_INT64:
    case NIMBUS_FIELD_INT:
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "type", "integer");
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

void nimbus_json_schema_object(nimbus_json_writer_t *w, const nimbus_type_t *type,
                               const char *ref_prefix, unsigned opts, const char *const *skip)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "object");
    if (opts & NIMBUS_JSON_SCHEMA_CLOSED) {
        nimbus_json_key(w, "additionalProperties");
        nimbus_json_bool(w, false);
    }
    nimbus_json_key(w, "required");
    nimbus_json_array_begin(w);
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        bool skipped = false;
        for (size_t k = 0; skip && skip[k] && !skipped; k++) {
            skipped = strcmp(skip[k], f->name) == 0;
        }
        if (!skipped && (f->flags & NIMBUS_FIELD_REQUIRED) &&
            !((opts & NIMBUS_JSON_SCHEMA_ID_OPTIONAL) && strcmp(f->name, "id") == 0)) {
            nimbus_json_string(w, f->name);
        }
    }
    nimbus_json_array_end(w);
    nimbus_json_key(w, "properties");
    nimbus_json_object_begin(w);
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        bool skipped = false;
        for (size_t k = 0; skip && skip[k] && !skipped; k++) {
            skipped = strcmp(skip[k], f->name) == 0;
        }
        if (skipped) {
            continue;
        }
        nimbus_json_key(w, f->name);
        nimbus_json_schema_field(w, f, ref_prefix);
    }
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}
