/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `call` over WebSocket (see stream_call.h), on top of the JSON codecs'
 * table-driven call (nimbus_json.h): a SINGLE operation is one
 * nimbus_json_call; a LIST operation walks nimbus_json_list_page page by
 * page, keeping only the current page's items (at most
 * NIMBUS_LIST_LIMIT_MAX) and fetching the next page only when the session
 * asks for the next item, i.e. when the connection has room. The params'
 * `limit` caps the total: the first page asks for it (so the core checks its
 * range), later pages for what remains.
 */
#include "stream_call.h"

#include <stdlib.h>
#include <string.h>

#include "nimbus_json.h"
#include "nimbus_util.h"

/* Results fetched per page after the first (or when no limit was given). */
#define STREAM_CALL_PAGE 100

struct nimbus_stream_call {
    nimbus_service_t *svc;
    const nimbus_credentials_t *creds;
    json_t *params;            /* a reference we hold: req borrows its strings */
    nimbus_json_request_t req; /* decoded once, replayed page after page */
    char cursor[NIMBUS_CURSOR_SIZE];
    size_t pages; /* fetched so far */
    bool last_page;
    bool has_limit;
    int64_t remaining; /* with has_limit: results still allowed */
    char **items;      /* the current page's items, as JSON object text */
    size_t count, cap, index;
    bool out_of_memory; /* collecting a page failed */
    size_t given;
};

static void page_clear(nimbus_stream_call_t *c)
{
    for (size_t i = c->index; i < c->count; i++) {
        free(c->items[i]);
    }
    c->count = c->index = 0;
}

static int collect_item(void *arg, const char *text, size_t len)
{
    nimbus_stream_call_t *c = arg;
    char **grown = nimbus_grow(c->items, &c->cap, c->count + 1, sizeof *grown, 64);
    char *copy = grown ? malloc(len + 1) : NULL;
    if (!copy) {
        c->out_of_memory = true;
        return 1;
    }
    c->items = grown;
    memcpy(copy, text, len);
    copy[len] = '\0';
    c->items[c->count++] = copy;
    return 0;
}

static int fetch_page(nimbus_stream_call_t *c, nimbus_error_t *err)
{
    bool first = c->pages++ == 0;
    int64_t limit = 0; /* the first page: the request's own limit */
    if (!first) {
        limit = c->has_limit && c->remaining < STREAM_CALL_PAGE ? c->remaining : STREAM_CALL_PAGE;
    }
    page_clear(c);
    char next[NIMBUS_CURSOR_SIZE];
    int rc = nimbus_json_list_page(c->svc, c->creds, &c->req, first ? NULL : c->cursor, limit,
                                   collect_item, c, next, err);
    if (rc > 0 && c->out_of_memory) {
        rc = nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    if (rc != 0) {
        page_clear(c);
        c->last_page = true;
        return -1;
    }
    memcpy(c->cursor, next, sizeof c->cursor);
    c->last_page = c->cursor[0] == '\0';
    return 0;
}

int nimbus__stream_call_next(nimbus_stream_call_t *c, char **item, nimbus_error_t *err)
{
    *item = NULL;
    for (;;) {
        if (c->has_limit && c->remaining <= 0) {
            return 0;
        }
        if (c->index < c->count) {
            *item = c->items[c->index++]; /* ownership passes to the caller */
            c->given++;
            if (c->has_limit) {
                c->remaining--;
            }
            return 1;
        }
        if (c->last_page) {
            return 0;
        }
        if (fetch_page(c, err) != 0) {
            return -1;
        }
    }
}

size_t nimbus__stream_call_count(const nimbus_stream_call_t *c)
{
    return c->given;
}

void nimbus__stream_call_free(nimbus_stream_call_t *c)
{
    if (!c) {
        return;
    }
    page_clear(c);
    free(c->items);
    nimbus_json_request_cleanup(&c->req);
    json_decref(c->params);
    free(c);
}

int nimbus__stream_call_start(nimbus_service_t *svc, const nimbus_credentials_t *creds,
                              const char *client, const char *op, json_t *params,
                              nimbus_stream_result_fn result, void *arg,
                              nimbus_stream_call_t **call, nimbus_error_t *err)
{
    *call = NULL;
    const nimbus_op_info_t *info = nimbus_op_find(op);
    if (!info) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "unknown operation \"%.64s\"", op);
    }
    /* The row's role and the rate limit before its params, as REST and
     * SOAP check them before the body: a caller without the role, or over
     * its rate, learns nothing about its input and costs no decoding. */
    if (nimbus_core_admit(nimbus_service_core(svc), creds, client, info->role, err) != 0) {
        return -1;
    }
    if (info->kind == NIMBUS_OP_KIND_SINGLE) {
        nimbus_json_request_t req;
        int rc = nimbus_json_request_decode(info->op, params, &req, err);
        if (rc == 0) {
            nimbus_json_run_async(svc, creds, &req, NIMBUS_JSON_FIELDS, result, arg);
        }
        nimbus_json_request_cleanup(&req);
        return rc;
    }
    nimbus_stream_call_t *c = calloc(1, sizeof *c);
    if (!c) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    c->svc = svc;
    c->creds = creds;
    c->params = params ? json_incref(params) : NULL;
    nimbus_json_request_init(&c->req, info->op);
    /* The limit as the request reads it (one rule for integers, 5.0
     * included): it caps the whole stream, not one page. */
    if (nimbus_json_request_decode(info->op, c->params, &c->req, err) != 0) {
        nimbus__stream_call_free(c);
        return -1;
    }
    c->remaining = nimbus_json_request_limit(&c->req);
    c->has_limit = c->remaining > 0;
    /* The first page now, so that bad params are an `error` before any
     * `item`. */
    if (fetch_page(c, err) != 0) {
        nimbus__stream_call_free(c);
        return -1;
    }
    *call = c;
    return 0;
}
