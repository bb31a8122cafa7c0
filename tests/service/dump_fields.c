/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prints the core's rule and field tables (nimbus_fields.h,
 * nimbus_operations.h) as JSON on stdout, for test_field_rules.py to
 * compare with the WSDL: one definition of every field rule, checked
 * against the other source of truth SOAP clients read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "nimbus_json.h"
#include "nimbus_operations.h"

static const char *kind_name(nimbus_field_kind_t kind)
{
    switch (kind) {
    case NIMBUS_FIELD_CHARS:
    case NIMBUS_FIELD_STRING:
        return "string";
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_OPT_DOUBLE:
        return "double";
    case NIMBUS_FIELD_TIME:
        return "dateTime";
    case NIMBUS_FIELD_INT64:
        return "long";
    case NIMBUS_FIELD_INT:
        return "int";
    case NIMBUS_FIELD_OBJECT:
        return "object";
    case NIMBUS_FIELD_ARRAY:
    case NIMBUS_FIELD_STRINGS:
        return "array";
    }
    return "?";
}

static const char *rule_kind_name(nimbus_rule_kind_t kind)
{
    switch (kind) {
    case NIMBUS_RULE_KIND_ID:
        return "ID";
    case NIMBUS_RULE_KIND_TEXT:
        return "TEXT";
    case NIMBUS_RULE_KIND_COUNTRY:
        return "COUNTRY";
    case NIMBUS_RULE_KIND_RANGE:
        return "RANGE";
    case NIMBUS_RULE_KIND_INTEGER:
        return "INTEGER";
    case NIMBUS_RULE_KIND_OPAQUE:
        return "OPAQUE";
    }
    return "?";
}

static void fields(nimbus_json_writer_t *w, const nimbus_type_t *t)
{
    nimbus_json_array_begin(w);
    for (size_t i = 0; i < t->count; i++) {
        const nimbus_field_t *f = &t->fields[i];
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "name", f->name);
        nimbus_json_member_string(w, "item", f->item_name);
        nimbus_json_member_string(w, "kind", kind_name(f->kind));
        nimbus_json_key(w, "required");
        nimbus_json_bool(w, (f->flags & NIMBUS_FIELD_REQUIRED) != 0);
        nimbus_json_key(w, "extension");
        nimbus_json_bool(w, (f->flags & NIMBUS_FIELD_EXTENSION) != 0);
        nimbus_json_member_string(w, "rule", f->rule ? f->rule->name : NULL);
        nimbus_json_member_string(w, "type", f->type ? f->type->name : NULL);
        nimbus_json_member_int(w, "minItems", (int64_t)f->min_items);
        nimbus_json_member_int(w, "maxItems", (int64_t)f->max_items);
        nimbus_json_object_end(w);
    }
    nimbus_json_array_end(w);
}

int main(void)
{
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    nimbus_json_object_begin(&w);
    nimbus_json_key(&w, "rules");
    nimbus_json_array_begin(&w);
    for (size_t i = 0; i < NIMBUS_RULE_COUNT; i++) {
        const nimbus_rule_t *r = &nimbus_rules[i];
        nimbus_json_object_begin(&w);
        nimbus_json_member_string(&w, "name", r->name);
        nimbus_json_member_string(&w, "kind", rule_kind_name(r->kind));
        nimbus_json_key(&w, "min");
        nimbus_json_double(&w, r->min);
        nimbus_json_key(&w, "max");
        nimbus_json_double(&w, r->max);
        nimbus_json_member_string(&w, "pattern", r->pattern);
        nimbus_json_object_end(&w);
    }
    nimbus_json_array_end(&w);
    nimbus_json_key(&w, "types");
    nimbus_json_object_begin(&w);
    const nimbus_type_t *types[] = {&nimbus_station_type, &nimbus_observation_type,
                                    &nimbus_summary_type, &nimbus_report_type};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        nimbus_json_key(&w, types[i]->name);
        fields(&w, types[i]);
    }
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        nimbus_json_key(&w, nimbus_op_table[i].request->name);
        fields(&w, nimbus_op_table[i].request);
        nimbus_json_key(&w, nimbus_op_table[i].response->name);
        fields(&w, nimbus_op_table[i].response);
    }
    nimbus_json_object_end(&w);
    nimbus_json_object_end(&w);
    size_t len;
    char *text = nimbus_json_writer_steal(&w, &len);
    if (!text)
        return 1;
    fwrite(text, 1, len, stdout);
    putchar('\n');
    free(text);
    return 0;
}
