/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Path matching for the REST routes (see rest_route.h). The templates are
 * the binding table's paths, so a route exists exactly when a binding says
 * so. Matching walks segments of the raw path, so an encoded '/'
 * (%2F) inside {id} stays inside that segment and is then refused by the
 * core's id rule rather than reshaping the route.
 */
#include "rest_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

/* Length of the segment starting at s (up to '/' or the end). */
static size_t seg_len(const char *s)
{
    return strcspn(s, "/");
}

/* Decodes one raw segment into out; false when it does not fit or decodes
 * to text holding NUL. */
static bool decode_segment(const char *raw, size_t len, char *out, size_t size)
{
    if (memchr(raw, '%', len) == NULL) {
        /* Nothing encoded (the common case): the segment is the text. */
        if (len >= size) {
            return false;
        }
        memcpy(out, raw, len);
        out[len] = '\0';
        return true;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        return false;
    }
    memcpy(copy, raw, len);
    copy[len] = '\0';
    size_t dlen = 0;
    /* decode_plus 0: in a path '+' is a plus sign, not a space. */
    char *dec = evhttp_uridecode(copy, 0, &dlen);
    free(copy);
    if (!dec) {
        return false;
    }
    bool ok = dlen < size && strlen(dec) == dlen;
    if (ok) {
        memcpy(out, dec, dlen + 1);
    }
    free(dec);
    return ok;
}

/* Matches path against one template; captures {param} into m. */
static bool match_template(const char *tmpl, const char *path, nimbus_rest_match_t *m)
{
    const char *t = tmpl, *p = path;
    while (*t && *p) {
        if (*t != '/' || *p != '/') {
            return false;
        }
        t++;
        p++;
        size_t tl = seg_len(t), pl = seg_len(p);
        if (tl > 2 && t[0] == '{' && t[tl - 1] == '}') {
            if (pl == 0) {
                return false;
            }
            size_t nl = tl - 2 < sizeof m->param_name ? tl - 2 : sizeof m->param_name - 1;
            memcpy(m->param_name, t + 1, nl);
            m->param_name[nl] = '\0';
            m->param_bad = !decode_segment(p, pl, m->param, sizeof m->param);
            if (m->param_bad) {
                m->param[0] = '\0';
            }
        } else if (tl != pl || strncmp(t, p, tl) != 0) {
            return false;
        }
        t += tl;
        p += pl;
    }
    return *t == '\0' && *p == '\0';
}

size_t nimbus__rest_match(const char *path, nimbus_rest_match_t *m)
{
    memset(m, 0, sizeof *m);
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_rest_binding_t *b = nimbus__rest_binding((nimbus_op_t)i);
        nimbus_rest_match_t one;
        memset(&one, 0, sizeof one);
        if (!match_template(b->path, path, &one)) {
            continue;
        }
        /* Every template matching one path has the same shape, so the
         * capture of any of them serves them all. */
        if (m->count == 0) {
            memcpy(m->param_name, one.param_name, sizeof m->param_name);
            memcpy(m->param, one.param, sizeof m->param);
            m->param_bad = one.param_bad;
        }
        m->rows[m->count++] = b;
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
