/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Path matching for the REST routes (see rest_route.h). The templates are
 * the binding table's paths, so a route exists exactly when a binding says
 * so. Matching walks segments of the raw path, so an encoded '/'
 * (%2F) inside {id} stays inside that segment and is then refused by the
 * core's id rule rather than reshaping the route.
 */
#include "rest_route.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "nimbus_http.h"

/* Decodes one raw segment into out; false when it does not fit, holds a
 * malformed %-escape or decodes to text holding NUL. '+' is itself in a
 * path. */
static bool decode_segment(const char *raw, size_t len, char *out, size_t size)
{
    return nimbus_http_uri_decode(raw, len, false, out, size) >= 0;
}

/* The most segments a template has; a path with more matches none. */
#define SEGMENTS_MAX 8

/* A path cut at its '/'s once per request: each template is then compared
 * segment by segment (length first), not character by character. */
typedef struct segments {
    const char *at[SEGMENTS_MAX];
    size_t len[SEGMENTS_MAX];
    size_t count;
} segments_t;

/* false when path does not start with '/' or has too many segments. */
static bool split(const char *path, segments_t *out)
{
    out->count = 0;
    const char *p = path;
    while (*p == '/') {
        if (out->count == SEGMENTS_MAX) {
            return false;
        }
        const char *start = ++p;
        while (*p != '\0' && *p != '/') {
            p++;
        }
        out->at[out->count] = start;
        out->len[out->count++] = (size_t)(p - start);
    }
    return *p == '\0';
}

/* Every distinct template, split once (the table is constant), with the
 * bindings that share it (one per method): matching a request is then a
 * segment count and a few compares per distinct path, not per binding. */
typedef struct template
{
    segments_t segs;
    int param; /* the segment that is {param}, or -1 */
    char param_name[32];
    nimbus_op_t ops[NIMBUS_OP_COUNT]; /* in table order */
    size_t op_count;
}
template_t;

static template_t templates[NIMBUS_OP_COUNT];
static size_t template_count;
static pthread_once_t templates_once = PTHREAD_ONCE_INIT;

static void split_templates(void)
{
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const char *path = nimbus__rest_binding((nimbus_op_t)i)->path;
        size_t k = 0;
        while (k < template_count &&
               strcmp(nimbus__rest_binding(templates[k].ops[0])->path, path) != 0) {
            k++;
        }
        template_t *t = &templates[k];
        t->ops[t->op_count++] = (nimbus_op_t)i;
        if (k < template_count) {
            continue; /* a path seen before, with another method */
        }
        template_count++;
        t->param = -1;
        if (!split(path, &t->segs)) {
            t->segs.count = SEGMENTS_MAX + 1; /* matches nothing */
            continue;
        }
        for (size_t j = 0; j < t->segs.count; j++) {
            const char *seg = t->segs.at[j];
            size_t len = t->segs.len[j];
            if (len > 2 && seg[0] == '{' && seg[len - 1] == '}') {
                size_t n = len - 2 < sizeof t->param_name ? len - 2 : sizeof t->param_name - 1;
                memcpy(t->param_name, seg + 1, n);
                t->param_name[n] = '\0';
                t->param = (int)j;
            }
        }
    }
}

/* Segments are a few bytes: compared in line, not with a call to memcmp. */
static bool same_bytes(const char *a, const char *b, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

static bool match_template(const template_t *t, const segments_t *path)
{
    if (t->segs.count != path->count) {
        return false;
    }
    for (size_t k = 0; k < path->count; k++) {
        if ((int)k == t->param) {
            if (path->len[k] == 0) {
                return false;
            }
        } else if (t->segs.len[k] != path->len[k] ||
                   !same_bytes(t->segs.at[k], path->at[k], path->len[k])) {
            return false;
        }
    }
    return true;
}

size_t nimbus__rest_match(const char *path, nimbus_rest_match_t *m)
{
    pthread_once(&templates_once, split_templates);
    m->count = 0;
    m->param_name[0] = '\0';
    m->param[0] = '\0';
    m->param_bad = false;
    segments_t segs;
    if (!split(path, &segs)) {
        return 0;
    }
    bool captured = false;
    for (size_t i = 0; i < template_count; i++) {
        const template_t *t = &templates[i];
        if (!match_template(t, &segs)) {
            continue;
        }
        /* Every template matching one path has the same shape, so the
         * capture of any of them serves them all: decoded once. */
        if (!captured && t->param >= 0) {
            captured = true;
            memcpy(m->param_name, t->param_name, sizeof m->param_name);
            m->param_bad =
                !decode_segment(segs.at[t->param], segs.len[t->param], m->param, sizeof m->param);
            if (m->param_bad) {
                m->param[0] = '\0';
            }
        }
        for (size_t k = 0; k < t->op_count; k++) {
            m->rows[m->count++] = nimbus__rest_binding(t->ops[k]);
        }
    }
    return m->count;
}

const nimbus_rest_binding_t *nimbus__rest_match_method(const nimbus_rest_match_t *m,
                                                       const char *method)
{
    if (strcmp(method, "HEAD") == 0) {
        method = "GET";
    }
    for (size_t i = 0; i < m->count; i++) {
        if (strcmp(m->rows[i]->method, method) == 0) {
            return m->rows[i];
        }
    }
    return NULL;
}

void nimbus__rest_allow(const nimbus_rest_match_t *m, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < m->count; i++) {
        const char *meth = m->rows[i]->method;
        int n = snprintf(buf + used, size - used, "%s%s%s", used ? ", " : "", meth,
                         strcmp(meth, "GET") == 0 ? ", HEAD" : "");
        if (n < 0 || (size_t)n >= size - used) {
            return;
        }
        used += (size_t)n;
    }
    snprintf(buf + used, size - used, "%sOPTIONS", used ? ", " : "");
}
