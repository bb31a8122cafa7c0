/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Render once, serve many, for SOAP reads: the whole answer envelope a
 * read got is kept in the worker's render cache (nimbus_render_cache.h,
 * the one REST uses) under a key made from the PARSED request, with the
 * freshness stamp the core gave the read, and sent again, lent to the
 * reply buffer without a copy, while that stamp is fresh. Every request is
 * still scanned, parsed, authorized and converted first (soap_host.c,
 * soap_ops.c), and a Fault is never kept, so a kept answer stands only for
 * a request that already passed the same checks with the same values.
 *
 * What the envelope's bytes depend on, and so the key, besides the data
 * the stamp covers:
 *
 * - the operation and its request after conversion to the core's struct
 *   (so requests that convert alike share an entry: a dateTime with an
 *   offset and its UTC twin, say), written field by field from the row's
 *   field table;
 * - the namespace table the host chose (SOAP 1.1 or 1.2, from the
 *   Content-Type), the SOAP version of the parsed Envelope, and every
 *   namespace URI the request bound that gSOAP will echo in the answer's
 *   Envelope instead of the table's (an entry's `out`, set when the
 *   request used a URI matching the entry's wildcard, such as another
 *   XML Schema year, and for SOAP-ENC by the Envelope's version).
 *
 * Nothing else of the request reaches the answer: gSOAP writes the
 * envelope from the table, the version and those URIs, and the body from
 * the core's response. Keys start with 's', which REST's ('A' + op) never
 * do.
 */
#include <string.h>

#include "soap_internal.h"

typedef struct key_writer {
    char *p;
    size_t left;
    bool full;
} key_writer_t;

static void put(key_writer_t *k, const void *data, size_t len)
{
    if (k->full || len > k->left) {
        k->full = true;
        return;
    }
    memcpy(k->p, data, len);
    k->p += len;
    k->left -= len;
}

static void put_byte(key_writer_t *k, char c)
{
    put(k, &c, 1);
}

/* A string as its length and bytes, so that no two sequences of strings
 * write the same key; NULL (absent) differs from "". */
static void put_text(key_writer_t *k, const char *s)
{
    if (!s) {
        put_byte(k, 0);
        return;
    }
    size_t len = strlen(s);
    put_byte(k, 1);
    put(k, &len, sizeof len);
    put(k, s, len);
}

/* The request's fields by the row's table; false for a kind a read's
 * request does not have (the answer is then not kept). */
static bool put_request(key_writer_t *k, const nimbus_type_t *type, const void *value)
{
    const char *base = value;
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        const char *at = base + f->offset;
        bool present = true;
        switch (f->kind) {
        case NIMBUS_FIELD_STRING:
            put_text(k, *(const char *const *)at);
            break;
        case NIMBUS_FIELD_CHARS:
            put(k, at, strnlen(at, f->size));
            put_byte(k, 0);
            break;
        case NIMBUS_FIELD_TIME:
        case NIMBUS_FIELD_INT64:
            present = f->aux == NIMBUS_FIELD_NO_AUX || *(const bool *)(base + f->aux);
            put_byte(k, present);
            if (present) {
                put(k, at, sizeof(int64_t));
            }
            break;
        case NIMBUS_FIELD_INT:
            put(k, at, sizeof(int));
            break;
        case NIMBUS_FIELD_DOUBLE:
            put(k, at, sizeof(double));
            break;
        case NIMBUS_FIELD_STRINGS: {
            /* GetObservationFeed's stations, in their order (the answer
             * does not depend on it, but keys need not be minimal). */
            const char *const *items;
            size_t count;
            memcpy(&items, at, sizeof items);
            memcpy(&count, base + f->aux, sizeof count);
            put(k, &count, sizeof count);
            for (size_t j = 0; j < count; j++) {
                put_text(k, items[j]);
            }
            break;
        }
        case NIMBUS_FIELD_OPT_DOUBLE:
        case NIMBUS_FIELD_OBJECT:
        case NIMBUS_FIELD_ARRAY:
            return false;
        }
    }
    return true;
}

/* The key of op's answer to req in ws's context, into ws->key. Returns its
 * length, or 0 when it is too long to keep. */
static size_t render_key(nimbus_soap_worker_t *ws, nimbus_op_t op, const nimbus_request_t *req)
{
    struct soap *soap = ws->soap;
    const struct Namespace *ns = soap->local_namespaces;
    if (!ns) {
        return 0;
    }
    key_writer_t k = {ws->key, sizeof ws->key, false};
    put_byte(&k, 's');
    put_byte(&k, (char)ws->version); /* the table: 1.1 or 1.2 order */
    put_byte(&k, (char)soap->version);
    put_byte(&k, (char)op);
    for (; ns->id; ns++) {
        put_text(&k, ns->out);
    }
    if (!put_request(&k, nimbus_op_table[op].request, req) || k.full) {
        return 0;
    }
    return sizeof ws->key - k.left;
}

static void release_entry(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    nimbus_render_entry_release(arg);
}

bool nimbus__soap_kept(nimbus_soap_worker_t *ws, nimbus_op_t op, const nimbus_request_t *req,
                       const nimbus_stamp_t *stamp)
{
    nimbus_worker_t *w = ws->w;
    ws->key_len = 0;
    size_t len = render_key(ws, op, req);
    if (len == 0) {
        return false;
    }
    const nimbus_render_entry_t *e =
        nimbus_render_cache_get(w->render_cache, w->core, ws->key, len);
    if (e) {
        nimbus_render_entry_hold(e);
        if (evbuffer_add_reference(ws->out, e->body, e->len, release_entry, (void *)e) == 0) {
            return true;
        }
        nimbus_render_entry_release(e); /* out of memory: answer as if not kept */
    }
    ws->key_len = len;
    ws->stamp = *stamp;
    return false;
}

void nimbus__soap_keep(nimbus_soap_worker_t *ws)
{
    size_t len = evbuffer_get_length(ws->out);
    const char *body = (const char *)evbuffer_pullup(ws->out, -1);
    if (body) {
        nimbus_render_cache_put(ws->w->render_cache, ws->key, ws->key_len, &ws->stamp, body, len);
    }
}
