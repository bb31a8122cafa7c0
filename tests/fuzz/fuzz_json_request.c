/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: the request reader (nimbus_json_request_read,
 * json_api/json/json_read.c) on arbitrary bytes. The first byte picks the
 * operation and how the text maps onto its request (as WebSocket params,
 * as REST body members with the path's value, as one field's value); the
 * rest is the text. Besides the sanitizers' checks (no read past the
 * buffer, no undefined behaviour, no leak), every answer must be the old
 * jansson-tree decoder's (json_oracle.c, as in test_json_diff.c), for the
 * text and, as WebSocket params, for jansson's tree of it
 * (nimbus_json_request_decode); and a request read as params must read
 * back the same after being written out by the JSON writer. Any
 * difference aborts.
 *
 * Seeds: tests/fuzz/corpus/json_request/; dictionary: json_request.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_oracle.h"
#include "nimbus_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* How the text maps onto the request (the selector byte's upper part). */
typedef enum style {
    PARAMS,  /* WebSocket params: every field a member */
    MEMBERS, /* REST body members: the first STRING field is the path's */
    VALUE,   /* REST body that is the first OBJECT field's value */
    VALUE_ID /* the same, the path naming the station (UpdateStation) */
} style_t;

static void die(const char *why, const char *text, size_t len, const nimbus_error_t *a,
                const nimbus_error_t *b)
{
    fprintf(stderr, "fuzz_json_request: %s\n  text (%zu bytes): %.*s\n  reader: %s\n  oracle: %s\n",
            why, len, (int)len, text, a ? a->message : "-", b ? b->message : "-");
    abort();
}

/* As test_json_diff.c: all of a message, or its "malformed JSON at line L,
 * column C: " prefix. */
static size_t comparable(const char *m)
{
    if (strncmp(m, "malformed JSON at line ", 23) != 0) {
        return strlen(m);
    }
    const char *colon = strstr(m, ": ");
    return colon ? (size_t)(colon + 2 - m) : strlen(m);
}

/* A NUL byte right after a number's or a word's last character: jansson
 * skipped it, the reader refuses it (docs/rest.md). */
static bool nul_quirk(const char *text, size_t len)
{
    for (size_t i = 1; i < len; i++) {
        char c = text[i - 1];
        if (text[i] == '\0' &&
            ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            return true;
        }
    }
    return false;
}

/* Writes req out as params and reads it back: the same request. */
static void round_trip(const nimbus_json_request_t *req, const char *text, size_t len)
{
    const nimbus_type_t *type = nimbus_op_table[req->op].request;
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    nimbus_json_write_object(&w, type, &req->u);
    size_t out_len;
    char *out = nimbus_json_writer_steal(&w, &out_len);
    nimbus_json_writer_cleanup(&w);
    if (!out) {
        return; /* out of memory */
    }
    nimbus_json_request_t back;
    nimbus_json_request_init(&back, req->op);
    nimbus_error_t err;
    const nimbus_json_target_t target = {.container = "params"};
    if (nimbus_json_request_read(out, out_len, &target, &back, &err) != 0) {
        die("written out, the request does not read back", out, out_len, &err, NULL);
    }
    if (!oracle_same_struct(type, &req->u, &back.u, false)) {
        die("written out and read back, the request differs", text, len, NULL, NULL);
    }
    nimbus_json_request_cleanup(&back);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) {
        return 0;
    }
    nimbus_op_t op = (nimbus_op_t)(data[0] % NIMBUS_OP_COUNT);
    style_t style = (style_t)((data[0] / NIMBUS_OP_COUNT) % 4);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    const nimbus_type_t *type = nimbus_op_table[op].request;

    /* The target, as REST (rest_request.c) or the WebSocket builds it. */
    const nimbus_field_t *string = NULL, *object = NULL;
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        string = !string && f->kind == NIMBUS_FIELD_STRING ? f : string;
        object = !object && f->kind == NIMBUS_FIELD_OBJECT ? f : object;
    }
    if ((style == MEMBERS && !string) || (style >= VALUE && !object)) {
        style = PARAMS;
    }
    const nimbus_field_t *id = nimbus_type_field(type, "id");
    if (style == VALUE_ID && (!id || id->kind != NIMBUS_FIELD_STRING)) {
        style = VALUE; /* no path can name the station */
    }
    nimbus_json_target_t target = {.container = "params"};
    const char *not_object = "params must be a JSON object";
    if (style != PARAMS) {
        target.container = "request body";
        target.not_object = not_object = "the request body must be a JSON object";
        target.in_order = true;
    }
    if (style == MEMBERS) {
        target.equal_field = string->name;
        target.equal_value = "st-1";
        /* As nimbus__rest_body: a path that sets the request's id names
         * its station. */
        target.id_known = string == id;
    }
    if (style >= VALUE) {
        target.value_field = object->name;
        target.id_known = style == VALUE_ID;
    }
    nimbus_json_request_t req;
    nimbus_json_request_init(&req, op);
    nimbus_error_t e1, e2;
    nimbus_error_clear(&e1);
    nimbus_error_clear(&e2);
    int rc1 = nimbus_json_request_read(text, len, &target, &req, &e1);
    if (rc1 != 0 && (rc1 != NIMBUS_JSON_READ_SYNTAX && rc1 != NIMBUS_JSON_READ_FIELDS)) {
        die("unexpected return", text, len, &e1, NULL);
    }
    if (rc1 != 0 && (e1.code == NIMBUS_OK || e1.message[0] == '\0')) {
        die("a refusal without a message", text, len, &e1, NULL);
    }
    if (nul_quirk(text, len)) {
        if (rc1 != NIMBUS_JSON_READ_SYNTAX) {
            die("a NUL after a token was not refused", text, len, &e1, NULL);
        }
        nimbus_json_request_cleanup(&req);
        return 0;
    }

    /* The old decoder's answer. */
    nimbus_request_t old;
    memset(&old, 0, sizeof old);
    json_t *tree = nimbus_json_parse(text, len, &e2);
    int rc2 = tree ? 0 : -1;
    bool early = !tree;
    if (tree && !json_is_object(tree)) {
        rc2 = nimbus_error_set(&e2, NIMBUS_INVALID_ARGUMENT, "%s", not_object);
        early = true;
    } else if (tree && style == PARAMS) {
        rc2 = oracle_request_decode(op, tree, &old, &e2);
    } else if (tree) {
        const char *path = style == MEMBERS ? "st-1" : style == VALUE_ID ? "path-id" : NULL;
        const char *path_field = style == MEMBERS ? string->name : style == VALUE_ID ? "id" : NULL;
        rc2 = oracle_rest_body(op, style == MEMBERS, style >= VALUE ? object->name : NULL, NULL,
                               path_field, path, tree, &old, &e2);
        if (style == MEMBERS) {
            /* The path sets it in both, after the body. */
            memcpy((char *)&req.u + string->offset, &path, sizeof path);
        }
        if (style == VALUE_ID) {
            memcpy((char *)&req.u + id->offset, &path, sizeof path);
        }
    }
    if ((rc1 == 0) != (rc2 == 0)) {
        die("one accepts, the other refuses", text, len, &e1, &e2);
    }
    if (rc1 == 0 && !oracle_same_struct(type, &req.u, &old, false)) {
        die("different requests", text, len, NULL, NULL);
    }
    if (rc1 != 0) {
        size_t n = comparable(e2.message);
        if (e1.code != e2.code || comparable(e1.message) != n ||
            strncmp(e1.message, e2.message, n) != 0 || (rc1 == NIMBUS_JSON_READ_SYNTAX) != early) {
            die("different refusals", text, len, &e1, &e2);
        }
    }
    if (rc1 == 0 && style == PARAMS) {
        round_trip(&req, text, len);
    }
    if (tree && style == PARAMS) {
        /* The same params as a WebSocket call has them: a tree. */
        nimbus_json_request_t treq;
        nimbus_request_t told;
        memset(&told, 0, sizeof told);
        nimbus_error_clear(&e1);
        nimbus_error_clear(&e2);
        rc1 = nimbus_json_request_decode(op, tree, &treq, &e1);
        rc2 = oracle_request_decode(op, tree, &told, &e2);
        if ((rc1 == 0) != (rc2 == 0) ||
            (rc1 == 0 && !oracle_same_struct(type, &treq.u, &told, false)) ||
            (rc1 != 0 && (e1.code != e2.code || strcmp(e1.message, e2.message) != 0))) {
            die("params tree: different answers", text, len, &e1, &e2);
        }
        nimbus_json_request_cleanup(&treq);
        nimbus_json_object_cleanup(type, &told);
    }
    nimbus_json_object_cleanup(type, &old);
    json_decref(tree);
    nimbus_json_request_cleanup(&req);
    return 0;
}
