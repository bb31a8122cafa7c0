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
#include <stdio.h>
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

/*
 * Paging by seq (GetObservationFeed): a page starts after the request's
 * `afterSeq` and the next one after the response's `lastSeq`, the contract's
 * own way of polling. A stream of pages ends at the `headSeq` of its first
 * page: a streamed call returns what was stored when it began and ends even
 * while writers go on (what comes after is a subscription's). Its cursor
 * is "AFTER:UNTIL", decimal; the operation knows no cursor of its own.
 */
typedef struct seq_paging {
    bool paged;
    const nimbus_field_t *after, *last, *head, *limit;
    int64_t until; /* -1: the first page's head, when it comes */
} seq_paging_t;

static int64_t int64_at(const void *value, const nimbus_field_t *f)
{
    int64_t v;
    memcpy(&v, (const char *)value + f->offset, sizeof v);
    return v;
}

static int seq_start(seq_paging_t *seq, const nimbus_op_info_t *info, nimbus_request_t *page,
                     const char *cursor, nimbus_error_t *err)
{
    seq->after = nimbus_type_field(info->request, "afterSeq");
    seq->last = nimbus_type_field(info->response, "lastSeq");
    seq->head = nimbus_type_field(info->response, "headSeq");
    seq->limit = nimbus_type_field(info->request, "limit");
    seq->paged = seq->after && seq->last && seq->head && seq->after->kind == NIMBUS_FIELD_INT64 &&
                 !nimbus_type_field(info->request, "cursor");
    seq->until = -1;
    if (!seq->paged || !cursor) {
        return 0;
    }
    long long after, until;
    char end;
    if (sscanf(cursor, "%lld:%lld%c", &after, &until, &end) != 2 || after < 0 || until < after) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "cursor is invalid");
    }
    int64_t a = after;
    bool yes = true;
    memcpy((char *)page + seq->after->offset, &a, sizeof a);
    if (seq->after->aux != NIMBUS_FIELD_NO_AUX) {
        memcpy((char *)page + seq->after->aux, &yes, sizeof yes);
    }
    seq->until = until;
    return 0;
}

/* The next page's cursor, or "" when this page was the last: it came back
 * short (nothing more was stored), or reached the first page's head. */
static void seq_next(const seq_paging_t *seq, const nimbus_request_t *page,
                     const nimbus_response_t *res, size_t count,
                     char next_cursor[NIMBUS_CURSOR_SIZE])
{
    int64_t last = int64_at(res, seq->last);
    int64_t until = seq->until >= 0 ? seq->until : int64_at(res, seq->head);
    int64_t asked = seq->limit && seq->limit->rule ? seq->limit->rule->def : 0;
    if (seq->limit && !nimbus_field_absent(seq->limit, page)) {
        asked = int64_at(page, seq->limit);
    }
    next_cursor[0] = '\0';
    if (count > 0 && (int64_t)count >= asked && last < until) {
        snprintf(next_cursor, NIMBUS_CURSOR_SIZE, "%lld:%lld", (long long)last, (long long)until);
    }
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
    seq_paging_t seq;
    if (seq_start(&seq, info, &page, cursor, err) != 0) {
        return -1;
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
    if (rc == 0 && seq.paged) {
        seq_next(&seq, &page, &res, count, next_cursor);
    }
    nimbus_json_writer_cleanup(&w);
    nimbus_response_cleanup(req->op, &res);
    return rc;
}
