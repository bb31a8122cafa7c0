/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The table-driven JSON call (see nimbus_json.h): params object -> the
 * operation's request (read by its field table) -> nimbus_service_call ->
 * response as JSON (written by its field table). Nothing here names an
 * operation: a row of NIMBUS_OPERATIONS with its field tables is all a new
 * operation needs to be callable over the WebSocket and REST.
 *
 * A request is read by json_read.c (REST bodies from their text,
 * WebSocket params from their envelope's tree); it owns its arrays (the
 * RecordObservations batch) and copies of the strings it read, freed in
 * nimbus_json_request_cleanup.
 */
#include <stdlib.h>
#include <string.h>

#include "nimbus_json.h"

int nimbus_json_run(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                    const nimbus_json_request_t *req, nimbus_json_shape_t shape,
                    nimbus_json_writer_t *w, nimbus_error_t *err)
{
    nimbus_response_t res;
    memset(&res, 0, sizeof res);
    int rc = nimbus_service_call(svc, caller, req->op, &req->u, &res, err);
    if (rc == 0) {
        nimbus_json_write_response(w, req->op, &res, shape);
        if (nimbus_json_writer_failed(w)) {
            rc = nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        }
    }
    nimbus_response_cleanup(req->op, &res);
    return rc;
}

/* What an asynchronous run keeps until its write is answered. */
typedef struct json_async {
    nimbus_op_t op;
    nimbus_json_shape_t shape;
    nimbus_json_done_fn done;
    void *arg;
    nimbus_response_t res;
} json_async_t;

static void async_done(void *arg, int rc, const nimbus_error_t *err)
{
    json_async_t *a = arg;
    char *text = NULL;
    size_t len = 0;
    nimbus_error_t oom;
    if (rc == 0) {
        nimbus_json_writer_t w;
        nimbus_json_writer_init(&w);
        nimbus_json_write_response(&w, a->op, &a->res, a->shape);
        text = nimbus_json_writer_steal(&w, &len);
        if (!text) {
            rc = nimbus_error_set(&oom, NIMBUS_INTERNAL, "out of memory");
            err = &oom;
        }
    }
    a->done(a->arg, rc, text, len, err);
    nimbus_response_cleanup(a->op, &a->res);
    free(a);
}

void nimbus_json_run_async(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                           const nimbus_json_request_t *req, nimbus_json_shape_t shape,
                           nimbus_json_done_fn done, void *arg)
{
    json_async_t *a = calloc(1, sizeof *a);
    if (!a) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INTERNAL, "out of memory");
        done(arg, -1, NULL, 0, &err);
        return;
    }
    a->op = req->op;
    a->shape = shape;
    a->done = done;
    a->arg = arg;
    nimbus_service_call_async(svc, caller, req->op, &req->u, &a->res, async_done, a);
}

int nimbus_json_call(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                     json_t *params, nimbus_json_shape_t shape, nimbus_json_writer_t *w,
                     nimbus_error_t *err)
{
    nimbus_json_request_t req;
    int rc = nimbus_json_request_decode(op, params, &req, err);
    if (rc == 0) {
        rc = nimbus_json_run(svc, caller, &req, shape, w, err);
    }
    nimbus_json_request_cleanup(&req);
    return rc;
}

/* ---- list pages ------------------------------------------------------------ */

static void *field_at(void *value, const nimbus_field_t *f, size_t offset)
{
    return f ? (char *)value + offset : NULL;
}

int64_t nimbus_json_request_limit(const nimbus_json_request_t *req)
{
    const nimbus_field_t *f = nimbus_type_field(nimbus_op_table[req->op].request, "limit");
    if (!f || nimbus_field_absent(f, &req->u)) {
        return 0;
    }
    int64_t limit;
    memcpy(&limit, (const char *)&req->u + f->offset, sizeof limit);
    return limit;
}

/* The response's list: its first ARRAY field. */
static const nimbus_field_t *list_field(const nimbus_type_t *type)
{
    for (size_t i = 0; i < type->count; i++) {
        if (type->fields[i].kind == NIMBUS_FIELD_ARRAY) {
            return &type->fields[i];
        }
    }
    return NULL;
}

int nimbus_json_list_page(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                          const nimbus_json_request_t *req, const char *cursor, int64_t limit,
                          nimbus_json_item_fn item, void *arg, char next_cursor[NIMBUS_CURSOR_SIZE],
                          nimbus_error_t *err)
{
    const nimbus_op_info_t *info = &nimbus_op_table[req->op];
    const nimbus_field_t *items = list_field(info->response);
    next_cursor[0] = '\0';
    if (info->kind != NIMBUS_OP_KIND_LIST || !items) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "not a list operation");
    }
    /* This page's request: the caller's, with cursor and limit replaced. */
    nimbus_request_t page = req->u;
    const nimbus_field_t *fc = nimbus_type_field(info->request, "cursor");
    const nimbus_field_t *fl = nimbus_type_field(info->request, "limit");
    if (fc && cursor) {
        memcpy(field_at(&page, fc, fc->offset), &cursor, sizeof cursor);
    }
    if (fl && limit > 0) {
        bool yes = true;
        memcpy(field_at(&page, fl, fl->offset), &limit, sizeof limit);
        memcpy(field_at(&page, fl, fl->aux), &yes, sizeof yes);
    }
    nimbus_response_t res;
    memset(&res, 0, sizeof res);
    if (nimbus_service_call(svc, caller, req->op, &page, &res, err) != 0) {
        nimbus_response_cleanup(req->op, &res);
        return -1;
    }
    const char *rows;
    size_t count;
    memcpy(&rows, (const char *)&res + items->offset, sizeof rows);
    memcpy(&count, (const char *)&res + items->aux, sizeof count);
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        nimbus_json_write_object(&w, items->type, rows + i * items->type->size);
        size_t len;
        char *text = nimbus_json_writer_steal(&w, &len);
        if (!text) {
            rc = nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
            break;
        }
        rc = item(arg, text, len);
        free(text);
    }
    const nimbus_field_t *fn = nimbus_type_field(info->response, "nextCursor");
    if (rc == 0 && fn && fn->kind == NIMBUS_FIELD_CHARS) {
        size_t n = strnlen((const char *)&res + fn->offset, NIMBUS_CURSOR_SIZE - 1);
        memcpy(next_cursor, (const char *)&res + fn->offset, n);
        next_cursor[n] = '\0';
    }
    nimbus_json_writer_cleanup(&w);
    nimbus_response_cleanup(req->op, &res);
    return rc;
}
