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

/* Results fetched per page after the first (or when no limit was given). */
#define STREAM_CALL_PAGE 100

struct nimbus_stream_call {
    nimbus_service_t *svc;
    const nimbus_credentials_t *creds;
    nimbus_op_t op;
    json_t *params; /* a reference we hold; NULL for none */
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

/* Heap copy of an evbuffer's contents, NUL-terminated; the buffer is
 * drained. NULL when out of memory. */
static char *take_text(struct evbuffer *buf, size_t *len)
{
    size_t n = evbuffer_get_length(buf);
    char *text = malloc(n + 1);
    if (!text)
        return NULL;
    evbuffer_remove(buf, text, n);
    text[n] = '\0';
    if (len)
        *len = n;
    return text;
}

static void page_clear(nimbus_stream_call_t *c)
{
    for (size_t i = c->index; i < c->count; i++)
        free(c->items[i]);
    c->count = c->index = 0;
}

static int collect_item(void *arg, const char *text, size_t len)
{
    nimbus_stream_call_t *c = arg;
    if (c->count == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        char **bigger = realloc(c->items, cap * sizeof *bigger);
        if (!bigger) {
            c->out_of_memory = true;
            return 1;
        }
        c->items = bigger;
        c->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        c->out_of_memory = true;
        return 1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    c->items[c->count++] = copy;
    return 0;
}

static int fetch_page(nimbus_stream_call_t *c, nimbus_error_t *err)
{
    bool first = c->pages++ == 0;
    int64_t limit = 0; /* the first page: the params' own limit */
    if (!first)
        limit = c->has_limit && c->remaining < STREAM_CALL_PAGE ? c->remaining : STREAM_CALL_PAGE;
    page_clear(c);
    char next[NIMBUS_CURSOR_SIZE];
    int rc = nimbus_json_list_page(c->svc, c->creds, c->op, c->params, first ? NULL : c->cursor,
                                   limit, collect_item, c, next, err);
    if (rc == 0 && c->out_of_memory)
        rc = nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
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
        if (c->has_limit && c->remaining <= 0)
            return 0;
        if (c->index < c->count) {
            *item = c->items[c->index++]; /* ownership passes to the caller */
            c->given++;
            if (c->has_limit)
                c->remaining--;
            return 1;
        }
        if (c->last_page)
            return 0;
        if (fetch_page(c, err) != 0)
            return -1;
    }
}

size_t nimbus__stream_call_count(const nimbus_stream_call_t *c)
{
    return c->given;
}

void nimbus__stream_call_free(nimbus_stream_call_t *c)
{
    if (!c)
        return;
    page_clear(c);
    free(c->items);
    json_decref(c->params);
    free(c);
}

int nimbus__stream_call_start(nimbus_service_t *svc, const nimbus_credentials_t *creds,
                              const char *op, json_t *params, char **result,
                              nimbus_stream_call_t **call, nimbus_error_t *err)
{
    *result = NULL;
    *call = NULL;
    const nimbus_op_info_t *info = nimbus_op_find(op);
    if (!info)
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "unknown operation \"%.64s\"", op);
    if (info->kind == NIMBUS_OP_KIND_SINGLE) {
        struct evbuffer *out = evbuffer_new();
        if (!out)
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        int rc = nimbus_json_call(svc, creds, info->op, params, NIMBUS_JSON_FIELDS, out, err);
        if (rc == 0 && !(*result = take_text(out, NULL)))
            rc = nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        evbuffer_free(out);
        return rc;
    }
    nimbus_stream_call_t *c = calloc(1, sizeof *c);
    if (!c)
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    c->svc = svc;
    c->creds = creds;
    c->op = info->op;
    c->params = params ? json_incref(params) : NULL;
    json_t *limit = params ? json_object_get(params, "limit") : NULL;
    if (json_is_integer(limit)) { /* any other type is refused by the decoder */
        c->has_limit = true;
        c->remaining = json_integer_value(limit);
    }
    /* The first page now, so that bad params are an `error` before any
     * `item`. */
    if (fetch_page(c, err) != 0) {
        nimbus__stream_call_free(c);
        return -1;
    }
    *call = c;
    return 0;
}

char *nimbus__stream_observation_text(const nimbus_observation_t *obs, size_t *len)
{
    struct evbuffer *out = evbuffer_new();
    char *text = NULL;
    if (out && nimbus_json_observation_encode(out, obs) == 0)
        text = take_text(out, len);
    if (out)
        evbuffer_free(out);
    return text;
}
