/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * jansson values, for JSON that is not a request: the WebSocket message
 * envelope (see nimbus_json.h). Parsing with jansson's limits and ours
 * (duplicates, NUL, depth), the member check of an envelope, the one rule
 * that makes an integer of a number, and freeing the arrays a request read
 * into its struct. Requests themselves are read from their text by
 * json_read.c, with no tree.
 */
#include <math.h>
#include <stdbool.h>
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

/* jansson's own nesting limit (JSON_PARSER_MAX_DEPTH): past it, its
 * "maximum parsing depth reached" is the answer, as the reader's is. */
#define JANSSON_MAX_DEPTH 2048

/*
 * One pass over JSON text before jansson builds a tree of it: true when it
 * holds more than NIMBUS_JSON_MAX_VALUES values (every scalar, array and
 * object; member names are not values). jansson
 * allocates a node per value and hashes every member name (twice, with
 * JSON_REJECT_DUPLICATES): 75,000 members in a 1 MiB WebSocket message cost
 * 110 ms of CPU before the call could refuse the first unknown one.
 * Counting stops at the first breach, so the scan is linear and allocates
 * nothing. It assumes well-formed JSON: on malformed text it may count
 * wrong, but never beyond len, and jansson then refuses the text anyway.
 */
static bool too_many_values(const char *s, size_t len)
{
    bool object[JANSSON_MAX_DEPTH]; /* each open container: an object? */
    int depth = 0;
    bool expect_key = false; /* in an object, after '{' or ',' */
    size_t values = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        switch (c) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            break;
        case '{':
        case '[':
            if (++values > NIMBUS_JSON_MAX_VALUES) {
                return true;
            }
            if (depth == JANSSON_MAX_DEPTH) {
                return false; /* jansson refuses it, and says why */
            }
            object[depth++] = c == '{';
            expect_key = c == '{';
            break;
        case '}':
        case ']':
            if (depth > 0) {
                depth--;
            }
            expect_key = false;
            break;
        case ',':
            expect_key = depth > 0 && object[depth - 1];
            break;
        case ':':
            expect_key = false;
            break;
        case '"':
            for (i++; i < len && s[i] != '"'; i++) {
                if (s[i] == '\\') {
                    i++;
                }
            }
            if (!expect_key && ++values > NIMBUS_JSON_MAX_VALUES) {
                return true;
            }
            break;
        default: /* a number, true, false or null: to its end */
            while (i + 1 < len && !strchr(" \t\n\r{}[],:\"", s[i + 1])) {
                i++;
            }
            if (++values > NIMBUS_JSON_MAX_VALUES) {
                return true;
            }
            break;
        }
    }
    return false;
}

json_t *nimbus_json_parse(const char *text, size_t len, nimbus_error_t *err)
{
    if (too_many_values(text ? text : "", text ? len : 0)) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "a JSON message may hold at most %d values (numbers, strings, arrays "
                         "and objects)",
                         NIMBUS_JSON_MAX_VALUES);
        return NULL;
    }
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

/* ---- requests' arrays ------------------------------------------------------ */

void nimbus_json_object_cleanup(const nimbus_type_t *type, void *value)
{
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        if (f->kind == NIMBUS_FIELD_ARRAY || f->kind == NIMBUS_FIELD_STRINGS) {
            char *slot = (char *)value + f->offset;
            void *items;
            memcpy(&items, slot, sizeof items);
            free(items);
            items = NULL;
            memcpy(slot, &items, sizeof items);
        }
    }
}
