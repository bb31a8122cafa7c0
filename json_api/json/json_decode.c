/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * JSON text and jansson values to core types, driven by the field tables
 * (see nimbus_json.h). Only the JSON shape is checked here: member names,
 * JSON types, presence of the members a value cannot be built without, and
 * that a string fits the core's fixed-size field (refused, when it does not,
 * with the field's own rule). Whether a value keeps the contract's rules is
 * decided by the core's validators, so SOAP, REST and WebSocket refuse the
 * same input with the same message.
 *
 * An object is read in two passes: every member's presence and JSON type
 * first, then the text of inline (CHARS) fields, so a wrong type anywhere is
 * reported before a string that is too long, as the core would order them.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_json.h"

/* Depth of v: 0 for a scalar, 1 + the deepest child for a container. Stops
 * counting past limit so a hostile document costs no more than it must. */
static int depth_of(json_t *v, int limit)
{
    if (limit < 0) {
        return 1;
    }
    int deepest = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        json_object_foreach(v, k, child)
        {
            int d = depth_of(child, limit - 1);
            if (d > deepest) {
                deepest = d;
            }
        }
        return deepest + 1;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child)
        {
            int d = depth_of(child, limit - 1);
            if (d > deepest) {
                deepest = d;
            }
        }
        return deepest + 1;
    }
    return 0;
}

json_t *nimbus_json_parse(const char *text, size_t len, nimbus_error_t *err)
{
    json_error_t jerr;
    json_t *v = json_loadb(text ? text : "", text ? len : 0,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "malformed JSON at line %d, column %d: %s",
                         jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (depth_of(v, NIMBUS_JSON_MAX_DEPTH) > NIMBUS_JSON_MAX_DEPTH) {
        json_decref(v);
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "JSON nested deeper than %d levels",
                         NIMBUS_JSON_MAX_DEPTH);
        return NULL;
    }
    return v;
}

int nimbus_json_check_members(json_t *obj, const char *what, const char *const *allowed,
                              nimbus_error_t *err)
{
    if (!json_is_object(obj)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be a JSON object", what);
    }
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++) {
            known = strcmp(allowed[i], key) == 0;
        }
        if (!known) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s%sunknown member \"%.64s\"",
                                    what, *what ? ": " : "", key);
        }
    }
    return 0;
}

int nimbus_json_real_integer(double d, int64_t *out)
{
    /* 10.0 is an integer a person may well write; 10.5 is not: the core's
     * one rule (nimbus_integral). */
    return nimbus_integral(d, out);
}

int nimbus_json_integer(json_t *v, int64_t *out)
{
    if (json_is_real(v)) {
        return nimbus_json_real_integer(json_real_value(v), out);
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    return -1;
}

/* ---- fields ------------------------------------------------------------ */

static int name_error(nimbus_error_t *err, const char *what, const char *key, const char *text)
{
    return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s%s%s %s", what, *what ? "." : "", key,
                            text);
}

/* "what.name" (or "name" when what is "") into buf, cut to fit: the
 * name a refusal words, built on every field read, so without printf. */
static const char *join_name(char *buf, size_t size, const char *what, const char *name)
{
    size_t wl = strlen(what), nl = strlen(name), used = 0;
    if (wl > size - 2) {
        wl = size - 2;
    }
    memcpy(buf, what, wl);
    used = wl;
    if (wl > 0) {
        buf[used++] = '.';
    }
    if (nl > size - 1 - used) {
        nl = size - 1 - used;
    }
    memcpy(buf + used, name, nl);
    buf[used + nl] = '\0';
    return buf;
}

static void *at(void *value, size_t offset)
{
    return (char *)value + offset;
}

static void set_flag(void *value, size_t aux)
{
    if (aux != NIMBUS_FIELD_NO_AUX) {
        bool yes = true;
        memcpy(at(value, aux), &yes, sizeof yes);
    }
}

/* obj[key], or NULL when absent or null. */
static json_t *member(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static int read_object(json_t *obj, const nimbus_type_t *type, void *value, const char *what,
                       bool id_optional, nimbus_error_t *err);

static int read_array(json_t *v, const nimbus_field_t *f, void *value, const char *what,
                      nimbus_error_t *err)
{
    if (!json_is_array(v)) {
        return name_error(err, what, f->name, "must be an array");
    }
    size_t n = json_array_size(v);
    /* Refused before allocating for an array the core would refuse. */
    if (nimbus_array_count_validate(f, n, err) != 0) {
        return -1;
    }
    void *items = calloc(n ? n : 1, f->type->size);
    if (!items) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    memcpy(at(value, f->offset), &items, sizeof items);
    memcpy(at(value, f->aux), &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        /* "name[i]", without printf (once per item of a batch). */
        char item[64], digits[24];
        size_t nl = strlen(f->name), dl = 0;
        if (nl > sizeof item - 24) {
            nl = sizeof item - 24;
        }
        size_t k = i;
        do {
            digits[dl++] = (char)('0' + k % 10);
            k /= 10;
        } while (k != 0);
        memcpy(item, f->name, nl);
        item[nl++] = '[';
        while (dl > 0) {
            item[nl++] = digits[--dl];
        }
        item[nl++] = ']';
        item[nl] = '\0';
        if (nimbus_json_read_object(json_array_get(v, i), f->type,
                                    (char *)items + i * f->type->size, item, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* One member, all but the text of a CHARS field (the second pass's). */
static int read_member(json_t *v, const nimbus_field_t *f, void *value, const char *what,
                       bool id_known, nimbus_error_t *err)
{
    switch (f->kind) {
    case NIMBUS_FIELD_STRING: {
        if (!json_is_string(v)) {
            return name_error(err, what, f->name, "must be a string");
        }
        const char *s = json_string_value(v);
        memcpy(at(value, f->offset), &s, sizeof s);
        return 0;
    }
    case NIMBUS_FIELD_CHARS:
        /* The text itself is copied in the second pass. */
        return json_is_string(v) ? 0 : name_error(err, what, f->name, "must be a string");
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_OPT_DOUBLE: {
        if (!json_is_number(v)) {
            return name_error(err, what, f->name, "must be a number");
        }
        double d = json_number_value(v);
        if (f->kind == NIMBUS_FIELD_DOUBLE) {
            memcpy(at(value, f->offset), &d, sizeof d);
        } else {
            nimbus_opt_double_t o = {true, d};
            memcpy(at(value, f->offset), &o, sizeof o);
        }
        return 0;
    }
    case NIMBUS_FIELD_INT64:
    case NIMBUS_FIELD_INT: {
        int64_t n;
        if (f->flags & NIMBUS_FIELD_OUTPUT_ONLY) {
            /* Output only: read for its type, then ignored. */
            return json_is_number(v) ? 0 : name_error(err, what, f->name, "must be a number");
        }
        if (nimbus_json_integer(v, &n) != 0 ||
            (f->kind == NIMBUS_FIELD_INT && (n < INT32_MIN || n > INT32_MAX))) {
            return name_error(err, what, f->name, "must be an integer");
        }
        if (f->kind == NIMBUS_FIELD_INT) {
            int i = (int)n;
            memcpy(at(value, f->offset), &i, sizeof i);
        } else {
            memcpy(at(value, f->offset), &n, sizeof n);
        }
        set_flag(value, f->aux);
        return 0;
    }
    case NIMBUS_FIELD_TIME: {
        if (!json_is_string(v)) {
            return name_error(err, what, f->name, "must be a string");
        }
        char name[160];
        int64_t t;
        join_name(name, sizeof name, what, f->name);
        if (nimbus_time_parse(json_string_value(v), name, &t, err) != 0) {
            return -1;
        }
        memcpy(at(value, f->offset), &t, sizeof t);
        set_flag(value, f->aux);
        return 0;
    }
    case NIMBUS_FIELD_OBJECT: {
        char name[160];
        join_name(name, sizeof name, what, f->name);
        /* UpdateStation: the station's id may be left out when the request
         * names the station itself (the REST path's id). */
        bool id_optional = (f->flags & NIMBUS_FIELD_ID_FROM_REQUEST) && id_known;
        if (read_object(v, f->type, at(value, f->offset), name, id_optional, err) != 0) {
            return -1;
        }
        set_flag(value, f->aux);
        return 0;
    }
    case NIMBUS_FIELD_ARRAY:
        return read_array(v, f, value, what, err);
    }
    return nimbus_error_set(err, NIMBUS_INTERNAL, "field %s has no JSON reading", f->name);
}

/* id_optional: a member named "id" may be absent though required. */
int nimbus_json_check_fields(json_t *obj, const char *what, const nimbus_type_t *type,
                             nimbus_error_t *err)
{
    const char *names[32];
    size_t n = 0;
    for (size_t i = 0; i < type->count && n + 1 < sizeof names / sizeof names[0]; i++) {
        names[n++] = type->fields[i].name;
    }
    names[n] = NULL;
    return nimbus_json_check_members(obj, what, names, err);
}

/* id_optional: a member named "id" may be absent though required. */
static int read_object(json_t *obj, const nimbus_type_t *type, void *value, const char *what,
                       bool id_optional, nimbus_error_t *err)
{
    if (nimbus_json_check_fields(obj, what, type, err) != 0) {
        return -1;
    }
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        json_t *v = member(obj, f->name);
        if (!v) {
            if ((f->flags & NIMBUS_FIELD_REQUIRED) &&
                !(id_optional && strcmp(f->name, "id") == 0)) {
                return name_error(err, what, f->name, "is required");
            }
            continue;
        }
        if (read_member(v, f, value, what, member(obj, "id") != NULL, err) != 0) {
            return -1;
        }
    }
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        json_t *v = member(obj, f->name);
        if (f->kind != NIMBUS_FIELD_CHARS || !v) {
            continue;
        }
        char name[160];
        join_name(name, sizeof name, what, f->name);
        if (nimbus_field_set_text(f, value, name, json_string_value(v), err) != 0) {
            return -1;
        }
    }
    return 0;
}

int nimbus_json_read_object(json_t *obj, const nimbus_type_t *type, void *value, const char *what,
                            nimbus_error_t *err)
{
    return read_object(obj, type, value, what, false, err);
}

int nimbus_json_read_field(json_t *v, const nimbus_field_t *f, void *value, const char *what,
                           bool id_known, nimbus_error_t *err)
{
    if (read_member(v, f, value, what, id_known, err) != 0) {
        return -1;
    }
    if (f->kind != NIMBUS_FIELD_CHARS) {
        return 0;
    }
    char name[160];
    join_name(name, sizeof name, what, f->name);
    return nimbus_field_set_text(f, value, name, json_string_value(v), err);
}

void nimbus_json_object_cleanup(const nimbus_type_t *type, void *value)
{
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        if (f->kind == NIMBUS_FIELD_ARRAY) {
            void *items;
            memcpy(&items, at(value, f->offset), sizeof items);
            free(items);
            items = NULL;
            memcpy(at(value, f->offset), &items, sizeof items);
        }
    }
}

int nimbus_json_station_decode(json_t *obj, const char *what, bool id_required,
                               nimbus_station_t *out, nimbus_error_t *err)
{
    memset(out, 0, sizeof *out);
    return read_object(obj, &nimbus_station_type, out, what, !id_required, err);
}

int nimbus_json_observation_decode(json_t *obj, const char *what, nimbus_observation_t *out,
                                   nimbus_error_t *err)
{
    memset(out, 0, sizeof *out);
    return nimbus_json_read_object(obj, &nimbus_observation_type, out, what, err);
}
