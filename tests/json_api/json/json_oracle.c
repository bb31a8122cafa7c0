/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The oracle of the differential test (test_json_diff.c): the jansson-tree
 * decoder that json_api/json/json_read.c replaced, as it was (commit
 * ff5dd82): json_decode.c's table walk, json_call.c's params decoding and
 * rest_request.c's body reading, renamed oracle_*. It lives only here, in
 * the tests, so the product has one reader of requests and the old answers
 * stay checkable. Text is parsed by the product's nimbus_json_parse, which
 * is unchanged.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_oracle.h"

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
        if (oracle_read_object(json_array_get(v, i), f->type, (char *)items + i * f->type->size,
                               item, err) != 0) {
            return -1;
        }
    }
    return 0;
}

/* A STRINGS field (GetObservationFeed's stations, contract 1.1, after the
 * oracle's commit): what the reader does, the tree's way. The strings are
 * borrowed from the tree; the array of pointers is the struct's. */
static int read_strings(json_t *v, const nimbus_field_t *f, void *value, const char *what,
                        nimbus_error_t *err)
{
    if (!json_is_array(v)) {
        return name_error(err, what, f->name, "must be an array");
    }
    size_t n = json_array_size(v);
    if (nimbus_array_count_validate(f, n, err) != 0) {
        return -1;
    }
    const char **items = calloc(n ? n : 1, sizeof *items);
    if (!items) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    memcpy(at(value, f->offset), &items, sizeof items);
    memcpy(at(value, f->aux), &n, sizeof n);
    for (size_t i = 0; i < n; i++) {
        items[i] = json_string_value(json_array_get(v, i));
        if (!items[i]) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s[%zu] must be a string",
                                    f->name, i);
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
    case NIMBUS_FIELD_STRINGS:
        return read_strings(v, f, value, what, err);
    }
    return nimbus_error_set(err, NIMBUS_INTERNAL, "field %s has no JSON reading", f->name);
}

static int check_fields(json_t *obj, const char *what, const nimbus_type_t *type,
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
    if (check_fields(obj, what, type, err) != 0) {
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

int oracle_read_object(json_t *obj, const nimbus_type_t *type, void *value, const char *what,
                       nimbus_error_t *err)
{
    return read_object(obj, type, value, what, false, err);
}

int oracle_read_field(json_t *v, const nimbus_field_t *f, void *value, const char *what,
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

int oracle_request_decode(nimbus_op_t op, json_t *params, void *value, nimbus_error_t *err)
{
    json_t *empty = NULL;
    if (!params || json_is_null(params)) {
        empty = json_object();
        if (!empty) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        }
        params = empty;
    }
    const nimbus_type_t *type = nimbus_op_table[op].request;
    int rc = check_fields(params, "params", type, err) != 0 ||
                     oracle_read_object(params, type, value, "", err) != 0
                 ? -1
                 : 0;
    json_decref(empty);
    return rc;
}

static bool listed(const char *const *names, const char *name)
{
    for (size_t i = 0; names && names[i]; i++) {
        if (strcmp(names[i], name) == 0) {
            return true;
        }
    }
    return false;
}

/* true when the request struct already names a station by its `id`. */
static bool id_known(const nimbus_type_t *type, const void *value)
{
    const nimbus_field_t *id = nimbus_type_field(type, "id");
    return id && id->kind == NIMBUS_FIELD_STRING && !nimbus_field_absent(id, value);
}

static int rest_members(const char *const *query, const char *path_field, const nimbus_type_t *type,
                        json_t *body, const char *path_value, void *value, nimbus_error_t *err)
{
    const char *allowed[32];
    size_t n = 0;
    for (size_t i = 0; i < type->count && n + 1 < sizeof allowed / sizeof allowed[0]; i++) {
        if (!listed(query, type->fields[i].name)) {
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
        bool from_path = path_field && strcmp(path_field, f->name) == 0;
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
        if (listed(query, f->name)) {
            continue;
        }
        if (!v) {
            if (f->flags & NIMBUS_FIELD_REQUIRED) {
                return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s is required", f->name);
            }
            continue;
        }
        if (oracle_read_field(v, f, value, "", id_known(type, value), err) != 0) {
            return -1;
        }
    }
    return 0;
}

int oracle_rest_body(nimbus_op_t op, bool members, const char *body_field, const char *const *query,
                     const char *path_field, const char *path_value, json_t *body, void *value,
                     nimbus_error_t *err)
{
    const nimbus_type_t *type = nimbus_op_table[op].request;
    /* The path's field, set first by the old nimbus__rest_request. */
    if (path_field) {
        const nimbus_field_t *f = nimbus_type_field(type, path_field);
        if (f && f->kind == NIMBUS_FIELD_STRING) {
            memcpy((char *)value + f->offset, &path_value, sizeof path_value);
        }
    }
    if (members) {
        return rest_members(query, path_field, type, body, path_value, value, err);
    }
    const nimbus_field_t *f = nimbus_type_field(type, body_field);
    return oracle_read_field(body, f, value, "", id_known(type, value), err);
}

/* ---- comparing two decoded structs -------------------------------------- */

static bool same_field(const nimbus_field_t *f, const char *a, const char *b, bool exact)
{
    switch (f->kind) {
    case NIMBUS_FIELD_CHARS:
        return memcmp(a + f->offset, b + f->offset, f->size) == 0;
    case NIMBUS_FIELD_STRING: {
        const char *x, *y;
        memcpy(&x, a + f->offset, sizeof x);
        memcpy(&y, b + f->offset, sizeof y);
        return (!x && !y) || (x && y && strcmp(x, y) == 0);
    }
    case NIMBUS_FIELD_DOUBLE: {
        double x, y;
        memcpy(&x, a + f->offset, sizeof x);
        memcpy(&y, b + f->offset, sizeof y);
        /* Not exact: -0.0 is written "-0" and reads back as 0. */
        return exact ? memcmp(&x, &y, sizeof x) == 0 : x == y;
    }
    case NIMBUS_FIELD_OPT_DOUBLE: {
        nimbus_opt_double_t x, y;
        memcpy(&x, a + f->offset, sizeof x);
        memcpy(&y, b + f->offset, sizeof y);
        if (exact) {
            return x.present == y.present && memcmp(&x.value, &y.value, sizeof x.value) == 0;
        }
        return x.present == y.present && (!x.present || x.value == y.value);
    }
    case NIMBUS_FIELD_TIME:
    case NIMBUS_FIELD_INT64:
        return memcmp(a + f->offset, b + f->offset, 8) == 0;
    case NIMBUS_FIELD_INT:
        return memcmp(a + f->offset, b + f->offset, sizeof(int)) == 0;
    case NIMBUS_FIELD_OBJECT:
        return oracle_same_struct(f->type, a + f->offset, b + f->offset, exact);
    case NIMBUS_FIELD_STRINGS: {
        size_t n, m;
        const char *const *x, *const *y;
        memcpy(&n, a + f->aux, sizeof n);
        memcpy(&m, b + f->aux, sizeof m);
        memcpy(&x, a + f->offset, sizeof x);
        memcpy(&y, b + f->offset, sizeof y);
        for (size_t i = 0; n == m && i < n; i++) {
            if (strcmp(x[i], y[i]) != 0) {
                return false;
            }
        }
        return n == m;
    }
    case NIMBUS_FIELD_ARRAY: {
        size_t n, m;
        const char *x, *y;
        memcpy(&n, a + f->aux, sizeof n);
        memcpy(&m, b + f->aux, sizeof m);
        memcpy(&x, a + f->offset, sizeof x);
        memcpy(&y, b + f->offset, sizeof y);
        if (n != m || (exact && !x != !y)) {
            return false;
        }
        for (size_t i = 0; i < n; i++) {
            if (!oracle_same_struct(f->type, x + i * f->type->size, y + i * f->type->size, exact)) {
                return false;
            }
        }
        return true;
    }
    }
    return false;
}

bool oracle_same_struct(const nimbus_type_t *type, const void *a, const void *b, bool exact)
{
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        if (!same_field(f, a, b, exact)) {
            return false;
        }
        if (f->kind != NIMBUS_FIELD_ARRAY && f->kind != NIMBUS_FIELD_STRINGS &&
            f->aux != NIMBUS_FIELD_NO_AUX &&
            memcmp((const char *)a + f->aux, (const char *)b + f->aux, sizeof(bool)) != 0) {
            return false;
        }
    }
    return true;
}
