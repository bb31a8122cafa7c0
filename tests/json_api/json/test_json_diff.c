/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The differential test of the request reader (json_api/json/json_read.c):
 * a seeded, deterministic generator writes many request texts for every
 * operation, valid and not (wrong types, unknown members, duplicates, deep
 * nesting, bad UTF-8, bad escapes, huge numbers, nulls, missing members,
 * truncations, stray bytes), and each is decoded by the product and by the
 * oracle, the jansson-tree decoder the reader replaced (json_oracle.c):
 *
 * - as WebSocket params text (nimbus_json_request_read with "params");
 * - as a REST body, for every operation whose binding has one, through
 *   rest_request.c's nimbus__rest_body (the path's value sometimes the
 *   body's, sometimes not);
 * - as a WebSocket params tree, when jansson parses the text
 *   (nimbus_json_request_decode, which writes the tree out and reads it).
 *
 * On success both must fill equal C structs (doubles bit for bit); on
 * failure they must give the same code and message, except for the detail
 * after "malformed JSON at line L, column C: ", which is the reader's own.
 * The one deliberate difference, a NUL byte right after a number or a word
 * (jansson skipped it), is checked apart: the reader must refuse it.
 *
 *   test_json_diff [SEED [CASES_PER_OPERATION]]   (defaults: 20240501, 1500)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_oracle.h"
#include "nimbus_json.h"
#include "rest_binding.h"
#include "rest_request.h"

/* ---- deterministic randomness -------------------------------------------- */

static uint64_t rng;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static bool chance(unsigned percent)
{
    return below(100) < percent;
}

static const char *pick(const char *const *list, size_t n)
{
    return list[below(n)];
}
#define PICK(list) pick(list, sizeof list / sizeof list[0])

/* ---- text ----------------------------------------------------------------- */

typedef struct text {
    char *p;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1) {
            cap *= 2;
        }
        t->p = realloc(t->p, cap);
        if (!t->p) {
            abort();
        }
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void puts_(text_t *t, const char *s)
{
    put(t, s, strlen(s));
}

static char *dup_text(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        abort();
    }
    return d;
}

/* ---- generated JSON ------------------------------------------------------- */

/* A value: an object (members carry their key as JSON text), an array, or a
 * scalar written as its JSON text. */
typedef enum gkind { G_OBJECT, G_ARRAY, G_RAW } gkind_t;

typedef struct gnode {
    gkind_t kind;
    char *key; /* a member's name as JSON text (quotes and escapes) */
    char *raw; /* G_RAW */
    struct gnode **kids;
    size_t n, cap;
} gnode_t;

static gnode_t *node(gkind_t kind, const char *raw)
{
    gnode_t *g = calloc(1, sizeof *g);
    if (!g) {
        abort();
    }
    g->kind = kind;
    g->raw = raw ? dup_text(raw) : NULL;
    return g;
}

static void add(gnode_t *parent, gnode_t *kid)
{
    if (parent->n == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->kids = realloc(parent->kids, parent->cap * sizeof *parent->kids);
        if (!parent->kids) {
            abort();
        }
    }
    parent->kids[parent->n++] = kid;
}

static void drop(gnode_t *g)
{
    if (!g) {
        return;
    }
    for (size_t i = 0; i < g->n; i++) {
        drop(g->kids[i]);
    }
    free(g->kids);
    free(g->key);
    free(g->raw);
    free(g);
}

/* s (UTF-8) as a JSON string, escaped at random where JSON allows it. */
static char *quote(const char *s)
{
    text_t t = {0};
    puts_(&t, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
        for (size_t i = 1; i < n && p[i]; i++) {
            cp = (cp << 6) | (p[i] & 0x3Fu);
        }
        char buf[16];
        if (c == '"' || c == '\\') {
            snprintf(buf, sizeof buf, "\\%c", c);
            puts_(&t, buf);
        } else if (c < 0x20) {
            const char *short_form = c == '\n' ? "\\n" : c == '\t' ? "\\t" : NULL;
            if (short_form && chance(50)) {
                puts_(&t, short_form);
            } else {
                snprintf(buf, sizeof buf, "\\u%04x", c);
                puts_(&t, buf);
            }
        } else if (chance(8)) {
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                snprintf(buf, sizeof buf, "\\u%04X\\u%04x", 0xD800 + (v >> 10),
                         0xDC00 + (v & 0x3FF));
            } else {
                snprintf(buf, sizeof buf, chance(50) ? "\\u%04x" : "\\u%04X", cp);
            }
            puts_(&t, buf);
        } else if (c == '/' && chance(30)) {
            puts_(&t, "\\/");
        } else {
            put(&t, (const char *)p, n);
        }
        p += n;
    }
    puts_(&t, "\"");
    return t.p;
}

static gnode_t *string_node(const char *s)
{
    char *q = quote(s);
    gnode_t *g = node(G_RAW, q);
    free(q);
    return g;
}

static void member(gnode_t *obj, const char *name, gnode_t *value)
{
    value->key = quote(name);
    add(obj, value);
}

/* ---- values by field ------------------------------------------------------ */

static const char *const words[] = {
    "a",         "st-1",  "LHR_2",    "Zürich",      "東京",   "x y",  "emoji 🌧",
    "tab\there", "nl\nx", "quote\"q", "back\\slash", "slash/", "",     "ber-1",
    "London",    "DE",    "GB",       "us",          "XX",     "\x7f",
};

static char *random_id(void)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    size_t n = 1 + below(chance(10) ? 40 : 12);
    char *s = malloc(n + 1);
    if (!s) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        s[i] = alphabet[below(sizeof alphabet - 1)];
    }
    s[n] = '\0';
    return s;
}

static gnode_t *text_value(const nimbus_field_t *f)
{
    if (f->rule && f->rule->kind == NIMBUS_RULE_KIND_ID && chance(70)) {
        char *id = random_id();
        gnode_t *g = string_node(id);
        free(id);
        return g;
    }
    if (f->rule && f->rule->kind == NIMBUS_RULE_KIND_COUNTRY && chance(70)) {
        static const char *const countries[] = {"DE", "GB", "US", "FR", "XX", "de", "D", "DEU"};
        return string_node(PICK(countries));
    }
    if (chance(8)) {
        /* Longer than any field's array (refused by its rule). */
        size_t n = 30 + below(700);
        char *s = malloc(n + 1);
        if (!s) {
            abort();
        }
        memset(s, chance(50) ? 'x' : 'y', n);
        s[n] = '\0';
        gnode_t *g = string_node(s);
        free(s);
        return g;
    }
    return string_node(PICK(words));
}

static const char *const numbers[] = {
    "0",
    "-0",
    "1",
    "-1",
    "12.5",
    "-3.75",
    "40.0801",
    "1013.25",
    "0.1",
    "1e2",
    "1E-2",
    "2.5e+1",
    "-0.0",
    "100",
    "360",
    "90",
    "-90",
    "180.0",
    "1.0",
    "0.30000000000000004",
    "1e-7",
    "123456789012345678",
    "4.9e-324",
    "1.7976931348623157e308",
    "9007199254740993",
    "0.1e1",
    "10",
    "999.9999999999999999999",
};

static const char *const integers[] = {
    "1",
    "10",
    "10.0",
    "1e1",
    "100",
    "0",
    "-1",
    "2.5",
    "1000",
    "1001",
    "5.0e0",
    "9223372036854775807",
    "-9223372036854775808",
    "1e19",
    "2147483648",
    "3",
};

static const char *const times[] = {
    "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.9+08:00",
    "2024-05-01T12:00:00",  "2024-02-29T23:59:59-05:30",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
    "2024-05-01T24:00:00Z", "yesterday",
    "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
    "2024-05-01 12:00:00Z", "",
};

/* A number in JSON's grammar with many digits or a large exponent, where
 * correct rounding (strtod's) is hard: long significands, halfway cases,
 * subnormals, overflow. */
static gnode_t *random_number(void)
{
    text_t t = {0};
    char digit[2] = {0, 0};
    if (chance(40)) {
        puts_(&t, "-");
    }
    size_t whole = chance(20) ? 1 : 1 + below(chance(30) ? 25 : 8);
    for (size_t i = 0; i < whole; i++) {
        digit[0] = (char)(i == 0 && whole > 1 ? '1' + below(9) : '0' + below(10));
        puts_(&t, digit);
    }
    if (chance(70)) {
        puts_(&t, ".");
        size_t frac = 1 + below(chance(30) ? 30 : 6);
        for (size_t i = 0; i < frac; i++) {
            /* Runs of 9s and 0s and a final 5: the halfway cases. */
            digit[0] = (char)(chance(30) ? '9' : chance(30) ? '0' : '0' + below(10));
            puts_(&t, digit);
        }
        if (chance(20)) {
            puts_(&t, "5");
        }
    }
    if (chance(40)) {
        char e[32];
        long x = chance(20) ? (long)below(700) - 350 : (long)below(50) - 25;
        snprintf(e, sizeof e, "%s%s%ld", chance(50) ? "e" : "E", x >= 0 && chance(30) ? "+" : "",
                 x);
        puts_(&t, e);
    }
    gnode_t *g = node(G_RAW, t.p);
    free(t.p);
    return g;
}

static gnode_t *object_value(const nimbus_type_t *type, unsigned depth);

static gnode_t *field_value(const nimbus_field_t *f, unsigned depth)
{
    switch (f->kind) {
    case NIMBUS_FIELD_STRING:
    case NIMBUS_FIELD_CHARS:
        return text_value(f);
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_OPT_DOUBLE:
        if (chance(30)) {
            return random_number();
        }
        if (chance(20)) {
            char buf[64];
            snprintf(buf, sizeof buf, "%s%" PRIu64 ".%" PRIu64, chance(30) ? "-" : "", rnd() % 2000,
                     rnd() % 100000);
            return node(G_RAW, buf);
        }
        return node(G_RAW, PICK(numbers));
    case NIMBUS_FIELD_INT64:
    case NIMBUS_FIELD_INT:
        return node(G_RAW, PICK(integers));
    case NIMBUS_FIELD_TIME:
        return string_node(chance(85) ? times[below(3)] : PICK(times));
    case NIMBUS_FIELD_OBJECT:
        return object_value(f->type, depth + 1);
    case NIMBUS_FIELD_ARRAY: {
        gnode_t *a = node(G_ARRAY, NULL);
        size_t n = chance(2) ? f->max_items + below(3) : chance(10) ? 0 : 1 + below(6);
        for (size_t i = 0; i < n; i++) {
            add(a, object_value(f->type, depth + 1));
        }
        return a;
    }
    case NIMBUS_FIELD_STRINGS: {
        gnode_t *a = node(G_ARRAY, NULL);
        size_t n = chance(2) ? f->max_items + below(3) : chance(10) ? 0 : 1 + below(6);
        for (size_t i = 0; i < n; i++) {
            add(a, chance(5) ? node(G_RAW, PICK(numbers)) : text_value(f));
        }
        return a;
    }
    }
    return node(G_RAW, "null");
}

/* An object of type: required fields mostly there, optional ones half the
 * time, in table order mostly. */
static gnode_t *object_value(const nimbus_type_t *type, unsigned depth)
{
    gnode_t *o = node(G_OBJECT, NULL);
    for (size_t i = 0; i < type->count; i++) {
        const nimbus_field_t *f = &type->fields[i];
        bool want = (f->flags & NIMBUS_FIELD_REQUIRED) ? chance(95) : chance(50);
        if (want && depth < 6) {
            member(o, f->name, chance(3) ? node(G_RAW, "null") : field_value(f, depth));
        }
    }
    if (o->n > 1 && chance(20)) {
        size_t a = below(o->n), b = below(o->n);
        gnode_t *t = o->kids[a];
        o->kids[a] = o->kids[b];
        o->kids[b] = t;
    }
    return o;
}

/* ---- mutations of the tree ------------------------------------------------ */

static void collect(gnode_t *g, gnode_t ***all, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *all = realloc(*all, *cap * sizeof **all);
        if (!*all) {
            abort();
        }
    }
    (*all)[(*n)++] = g;
    for (size_t i = 0; i < g->n; i++) {
        collect(g->kids[i], all, n, cap);
    }
}

static gnode_t *random_scalar(void)
{
    static const char *const scalars[] = {
        "true",
        "false",
        "null",
        "0",
        "\"\"",
        "\"x\"",
        "[]",
        "{}",
        "1.5",
        "-7",
        "\"2024-05-01T12:00:00Z\"",
        "[1,2]",
        "{\"a\":1}",
        "1e400",
        "-1e400",
        "1e-400",
        "99999999999999999999",
        "-9223372036854775809",
        "9223372036854775808",
        "123456789012345678901234567890.5",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "\"\\udc00x\"",
        "\"\\ud800\\u0041\"",
        "\"\\ud83c\\udf27\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\uZZZZ\"",
        "01",
        "-",
        "1.",
        "1e",
        ".5",
        "+1",
        "tru",
        "nul",
        "NaN",
        "Infinity",
        "\"\xc3\xa9\"",
        "\"\xc0\xaf\"",
        "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"",
        "\"\xff\"",
        "\"\xe0\x80\x80\"",
        "\"\xf0\x80\x80\x80\"",
        "\"\xf0\x8f\xbf\xbf\"",
        "\"\xe0\x9f\xbf\"",
        "\"\xc1\xbf\"",
        "\"\xf5\x80\x80\x80\"",
        "\"\xf0\x9f\x8c\"",
        "\"a\xdf\"",
        "\"\xef\xbf\xbf\"",
        "\"\xf4\x8f\xbf\xbf\"",
        "\"\xed\x9f\xbf\"",
        "\"\xee\x80\x80\"",
        "\"\xc2\x80\"",
        "\"\xf0\x90\x80\x80\"",
        "\"a\tb\"",
        "\"a\nb\"",
        "1E+2",
        "-0.0e-0",
        "2.5E3",
        "10.0",
        "4.0",
        "\"\\/\"",
        "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]",
    };
    return node(G_RAW, PICK(scalars));
}

static void mutate_tree(gnode_t *root)
{
    gnode_t **all = NULL;
    size_t n = 0, cap = 0;
    collect(root, &all, &n, &cap);
    gnode_t *g = all[below(n)];
    switch (below(9)) {
    case 0: /* a value of another type */
        if (g != root) {
            gnode_t *r = random_scalar();
            g->kind = G_RAW;
            free(g->raw);
            g->raw = r->raw;
            r->raw = NULL;
            for (size_t i = 0; i < g->n; i++) {
                drop(g->kids[i]);
            }
            g->n = 0;
            drop(r);
        }
        break;
    case 1: /* an unknown member */
        if (g->kind == G_OBJECT) {
            static const char *const names[] = {"Elevation", "extra",        "seq",
                                                "id",        "stationid",    "observations",
                                                "",          "temp\xc3\xa9", "limit"};
            gnode_t *v = random_scalar();
            v->key = quote(PICK(names));
            if (g->n && chance(50)) {
                add(g, v);
                gnode_t *t = g->kids[g->n - 1];
                size_t at = below(g->n);
                g->kids[g->n - 1] = g->kids[at];
                g->kids[at] = t;
            } else {
                add(g, v);
            }
        }
        break;
    case 2: /* a duplicate member */
        if (g->kind == G_OBJECT && g->n) {
            gnode_t *v = chance(50) ? random_scalar() : node(G_RAW, "null");
            v->key = dup_text(g->kids[below(g->n)]->key);
            add(g, v);
        }
        break;
    case 3: /* a missing member */
        if (g->kind == G_OBJECT && g->n) {
            size_t at = below(g->n);
            drop(g->kids[at]);
            g->kids[at] = g->kids[--g->n];
        }
        break;
    case 4: /* null */
        if (g != root) {
            free(g->raw);
            g->raw = dup_text("null");
            g->kind = G_RAW;
            for (size_t i = 0; i < g->n; i++) {
                drop(g->kids[i]);
            }
            g->n = 0;
        }
        break;
    case 5: /* deep nesting, around jansson's limit now and then */
        if (g != root) {
            size_t levels = chance(5) ? 2040 + below(20) : 1 + below(24);
            text_t t = {0};
            char *closers = malloc(levels);
            if (!closers) {
                abort();
            }
            for (size_t i = 0; i < levels; i++) {
                bool array = chance(70);
                puts_(&t, array ? "[" : "{\"k\":");
                closers[levels - 1 - i] = array ? ']' : '}';
            }
            puts_(&t, chance(50) ? "1" : "[]");
            put(&t, closers, levels);
            free(closers);
            free(g->raw);
            g->raw = t.p;
            g->kind = G_RAW;
            for (size_t i = 0; i < g->n; i++) {
                drop(g->kids[i]);
            }
            g->n = 0;
        }
        break;
    case 6: /* the member's name escaped or altered */
        if (g->key) {
            static const char *const keys[] = {"\"\\u0069d\"", "\"i\\u0064\"",   "\"\\u0000\"",
                                               "\"\\ud800\"",  "\"ID\"",         "\"id \"",
                                               "\"\xff\"",     "\"observedAt\"", "\"temperature\""};
            free(g->key);
            g->key = dup_text(PICK(keys));
        }
        break;
    default: /* a scalar rewritten */
        if (g->kind == G_RAW) {
            gnode_t *r = random_scalar();
            free(g->raw);
            g->raw = r->raw;
            r->raw = NULL;
            drop(r);
        }
        break;
    }
    free(all);
}

/* ---- writing and mutating the text ------------------------------------------ */

static void space(text_t *t)
{
    if (chance(85)) {
        return;
    }
    static const char *const ws[] = {" ", "\n", "\t", "\r\n", "  \n   ", "\n\n"};
    puts_(t, PICK(ws));
}

static void write_node(text_t *t, const gnode_t *g)
{
    space(t);
    switch (g->kind) {
    case G_RAW:
        puts_(t, g->raw);
        break;
    case G_ARRAY:
    case G_OBJECT:
        puts_(t, g->kind == G_ARRAY ? "[" : "{");
        for (size_t i = 0; i < g->n; i++) {
            if (i) {
                space(t);
                puts_(t, ",");
            }
            if (g->kind == G_OBJECT) {
                space(t);
                puts_(t, g->kids[i]->key);
                space(t);
                puts_(t, ":");
            }
            write_node(t, g->kids[i]);
        }
        space(t);
        puts_(t, g->kind == G_ARRAY ? "]" : "}");
        break;
    }
    space(t);
}

static void mutate_text(text_t *t)
{
    static const char *const bytes[] = {"\x80",
                                        "\xc0",
                                        "\xff",
                                        "\xed\xa0\x80",
                                        "\xc3",
                                        "\x01",
                                        "\xe0\x80\x80",
                                        "\xf0\x80\x80\x80",
                                        "\xf4\x90\x80\x80",
                                        "\xc1\xbf",
                                        "\xf5",
                                        "\xe2\x82",
                                        "\xc3\xa9",
                                        "\x1f",
                                        "\n",
                                        "\"",
                                        "\\",
                                        ",",
                                        ":",
                                        "{",
                                        "}",
                                        "[",
                                        "]",
                                        "x",
                                        "0",
                                        "-",
                                        " ",
                                        "\xf0\x9f\x8c\xa7",
                                        "\t",
                                        "e",
                                        "."};
    size_t at = below(t->len + 1);
    switch (below(5)) {
    case 0: /* truncated */
        t->len = at;
        t->p[at] = '\0';
        break;
    case 1: { /* a byte (or sequence) inserted */
        const char *b = PICK(bytes);
        text_t out = {0};
        put(&out, t->p, at);
        puts_(&out, b);
        put(&out, t->p + at, t->len - at);
        free(t->p);
        *t = out;
        break;
    }
    case 2: /* a byte deleted */
        if (at < t->len) {
            memmove(t->p + at, t->p + at + 1, t->len - at);
            t->len--;
        }
        break;
    case 3: /* a byte replaced */
        if (at < t->len) {
            t->p[at] = (char)(chance(50) ? PICK(bytes)[0] : (char)below(256));
        }
        break;
    default: /* something after the end */
        puts_(t, chance(50) ? " x" : chance(50) ? "{}" : "\xff");
        break;
    }
}

/* ---- comparing ----------------------------------------------------------- */

static unsigned long checked, failures, accepted, syntax_refused, field_refused, quirks;

/* The part of a message that must be equal: all of it, or for a syntax
 * error "malformed JSON at line L, column C: ". */
static size_t comparable(const char *m)
{
    static const char prefix[] = "malformed JSON at line ";
    if (strncmp(m, prefix, sizeof prefix - 1) != 0) {
        return strlen(m);
    }
    const char *colon = strstr(m, ": ");
    return colon ? (size_t)(colon + 2 - m) : strlen(m);
}

static void show(const char *what, const char *text, size_t len)
{
    fprintf(stderr, "  %s (%zu bytes): ", what, len);
    for (size_t i = 0; i < len && i < 600; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c < 0x7f) {
            fputc(c, stderr);
        } else {
            fprintf(stderr, "\\x%02x", c);
        }
    }
    fputs(len > 600 ? "...\n" : "\n", stderr);
}

/* Compares one decoding: rc and err from each side, and their structs. */
static void compare(const char *mode, nimbus_op_t op, const char *text, size_t len, int rc_new,
                    const nimbus_error_t *err_new, const void *value_new, int rc_old,
                    const nimbus_error_t *err_old, const void *value_old)
{
    checked++;
    bool ok;
    if (rc_old == 0 || rc_new == 0) {
        ok = rc_old == 0 && rc_new == 0 &&
             oracle_same_struct(nimbus_op_table[op].request, value_new, value_old, true);
        accepted += ok;
    } else {
        size_t n = comparable(err_old->message);
        ok = err_new->code == err_old->code && comparable(err_new->message) == n &&
             strncmp(err_new->message, err_old->message, n) == 0;
        if (strncmp(err_old->message, "malformed JSON", 14) == 0) {
            syntax_refused++;
        } else {
            field_refused++;
        }
    }
    if (!ok) {
        failures++;
        if (failures <= 20) {
            fprintf(stderr, "MISMATCH %s %s:\n", mode, nimbus_op_table[op].name);
            show("text", text, len);
            fprintf(stderr, "  reader: rc %d, %s: %s\n  oracle: rc %d, %s: %s\n", rc_new,
                    nimbus_code_name(err_new->code), rc_new ? err_new->message : "-", rc_old,
                    nimbus_code_name(err_old->code), rc_old ? err_old->message : "-");
        }
    }
}

/* True when text has a NUL byte right after a number's or a word's last
 * character: jansson skipped such a NUL, the reader refuses it. */
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

static void expect_refused(const char *mode, int rc, const nimbus_error_t *err, const char *text,
                           size_t len)
{
    checked++;
    quirks++;
    if (rc == 0 || strncmp(err->message, "malformed JSON at line ", 23) != 0) {
        failures++;
        fprintf(stderr, "NUL after a token not refused (%s): %s\n", mode, err->message);
        show("text", text, len);
    }
}

/* The oracle's reading of text: jansson's parse, then the tree decoder.
 * not_object: the refusal of a text that is no object. */
static int oracle_text(const char *text, size_t len, const char *not_object, json_t **tree,
                       nimbus_error_t *err)
{
    *tree = nimbus_json_parse(text, len, err);
    if (!*tree) {
        return -1;
    }
    if (!json_is_object(*tree)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s", not_object);
    }
    return 0;
}

static void check_params_text(nimbus_op_t op, const char *text, size_t len)
{
    const nimbus_type_t *type = nimbus_op_table[op].request;
    nimbus_json_request_t req;
    nimbus_json_request_init(&req, op);
    nimbus_error_t e1, e2;
    nimbus_error_clear(&e1);
    nimbus_error_clear(&e2);
    const nimbus_json_target_t target = {.container = "params"};
    int rc1 = nimbus_json_request_read(text, len, &target, &req, &e1);
    if (nul_quirk(text, len)) {
        expect_refused("params text", rc1, &e1, text, len);
        nimbus_json_request_cleanup(&req);
        return;
    }
    nimbus_request_t old;
    memset(&old, 0, sizeof old);
    json_t *tree;
    int rc2 = oracle_text(text, len, "params must be a JSON object", &tree, &e2);
    if (rc2 == 0) {
        rc2 = oracle_request_decode(op, tree, &old, &e2);
    }
    compare("params text", op, text, len, rc1, &e1, &req.u, rc2, &e2, &old);
    /* The class must agree too: the reader's syntax refusals are the
     * parse's and the object check's. */
    if (rc1 != 0 && (rc1 == NIMBUS_JSON_READ_SYNTAX) != (!tree || !json_is_object(tree))) {
        failures++;
        fprintf(stderr, "class differs (%d): %s\n", rc1, e1.message);
        show("text", text, len);
    }
    /* The same tree as WebSocket params, through nimbus_json_request_decode. */
    if (tree) {
        nimbus_json_request_t dreq;
        nimbus_request_t dold;
        memset(&dold, 0, sizeof dold);
        nimbus_error_clear(&e1);
        nimbus_error_clear(&e2);
        rc1 = nimbus_json_request_decode(op, tree, &dreq, &e1);
        rc2 = oracle_request_decode(op, tree, &dold, &e2);
        compare("params tree", op, text, len, rc1, &e1, &dreq.u, rc2, &e2, &dold);
        nimbus_json_request_cleanup(&dreq);
        nimbus_json_object_cleanup(type, &dold);
    }
    nimbus_json_object_cleanup(type, &old);
    json_decref(tree);
    nimbus_json_request_cleanup(&req);
}

static void check_rest_body(nimbus_op_t op, const char *text, size_t len, const char *path_value)
{
    const nimbus_rest_binding_t *b = nimbus__rest_binding(op);
    if (b->body == NIMBUS_REST_BODY_NONE) {
        return;
    }
    const nimbus_type_t *type = nimbus_op_table[op].request;
    nimbus_rest_match_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.param, sizeof m.param, "%s", path_value);
    nimbus_json_request_t req;
    nimbus_json_request_init(&req, op);
    nimbus_error_t e1, e2;
    nimbus_error_clear(&e1);
    nimbus_error_clear(&e2);
    int rc1 = nimbus__rest_body(b, &m, text, len, &req, &e1);
    if (nul_quirk(text, len)) {
        expect_refused("REST body", rc1 < 0 ? -1 : rc1, &e1, text, len);
        nimbus_json_request_cleanup(&req);
        return;
    }
    /* What the path sets, as nimbus__rest_request does after the body. */
    if (b->path_field) {
        const nimbus_field_t *f = nimbus_type_field(type, b->path_field);
        const char *p = m.param;
        memcpy((char *)&req.u + f->offset, &p, sizeof p);
    }
    const char *query[NIMBUS_REST_QUERY_MAX + 1] = {NULL};
    for (size_t i = 0; i < NIMBUS_REST_QUERY_MAX && b->query[i]; i++) {
        query[i] = b->query[i];
    }
    nimbus_request_t old;
    memset(&old, 0, sizeof old);
    json_t *tree;
    int rc2 = oracle_text(text, len, "the request body must be a JSON object", &tree, &e2);
    bool early = rc2 != 0;
    if (rc2 == 0) {
        rc2 = oracle_rest_body(op, b->body == NIMBUS_REST_BODY_MEMBERS, b->body_field, query,
                               b->path_field, m.param, tree, &old, &e2);
    }
    compare("REST body", op, text, len, rc1, &e1, &req.u, rc2, &e2, &old);
    if (rc1 != 0 && (rc1 < 0) != early) {
        failures++;
        fprintf(stderr, "REST class differs (%d): %s\n", rc1, e1.message);
        show("text", text, len);
    }
    nimbus_json_object_cleanup(type, &old);
    json_decref(tree);
    nimbus_json_request_cleanup(&req);
}

/* ---- the run -------------------------------------------------------------- */

/* Texts the generator might never write: each refusal and corner by hand. */
typedef struct fixed_text {
    const char *text;
    size_t len;
} fixed_text_t;
#define T(s)                                                                                       \
    {                                                                                              \
        s, sizeof s - 1                                                                            \
    }

static const fixed_text_t fixed[] = {
    T(""),
    T(" "),
    T("{}"),
    T("null"),
    T("[]"),
    T("\"x\""),
    T("{\"a\":1,\"a\":2}"),
    T("{\"stationId\":\"s\",\"stationId\":\"s\"}"),
    T("{\"x\":{\"a\":1,\"a\":2}}"),
    T("{\"x\":[{\"a\":1},{\"a\":1,\"b\":2,\"a\":3}]}"),
    T("{\"a\":\n  1e400}"),
    T("{\"a\":123456789012345678901234567890}"),
    T("{\"a\":\"\xff\xfe\"}"),
    T("{\"a\":\"\xc0\xaf\"}"),
    T("{\"a\":\"x\\u0000y\"}"),
    T("{\"a\\u0000\":1}"),
    T("{\"a\":\"\\ud800\"}"),
    T("{\"a\":\"\\ud800\\n\x01\"}"),
    T("{\"a\":1} x"),
    T("{\"a\":1}\xff"),
    T("{\"a\":1\xff}"),
    T("{\"a\" 1\xff}"),
    T("{\"a\":tru\xff}"),
    T("{\"a\":-\xff}"),
    T("{\"a\":1.\xc3}"),
    T("{\"a\":\"\\\xff\"}"),
    T("{\"a\":\"\\u12\xff\"}"),
    T("{\"a\":\"\\\n\"}"),
    T("{\"a\":\"x\ny\"}"),
    T("{\"a\":01}"),
    T("{\"a\":-01}"),
    T("{\"a\":1.e5}"),
    T("{\"a\":1e+}"),
    T("{\"a\":.5}"),
    T("{\"a\":+1}"),
    T("{\"a\":[1,]}"),
    T("{\"a\":[1 2]}"),
    T("{\"a\":1,}"),
    T("{,}"),
    T("{\"a\"}"),
    T("{\"a\":}"),
    T("{\"a\"::1}"),
    T("{\"a\":1"),
    T("["),
    T("{\"a\":\""),
    T("{\"a\":\"\\"),
    T("{\"a\":\"\\u00"),
    T("\xef\xbb\xbf{}"),
    T("{\"limit\":10.0}"),
    T("{\"limit\":10.5}"),
    T("{\"limit\":1e19}"),
    T("{\"limit\":-0}"),
    T("{\"limit\":-0.0}"),
    T("{\"observations\":[{\"observedAt\":\"2024-05-01T12:00:00Z\",\"seq\":\"x\"}]}"),
    T("{\"observations\":[{},{\"x\":1},{\"observedAt\":5}]}"),
    T("{\"observations\":[1,{\"x\":1}]}"),
    T("{\"observations\":{}}"),
    T("{\"observations\":[]}"),
    T("{\"stationId\":5,\"observations\":[]}"),
    T("{\"station\":{\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
      "\"longitude\":2},\"id\":\"x\"}"),
    T("{\"id\":\"x\",\"station\":{\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
      "\"longitude\":2}}"),
    T("{\"station\":{\"name\":\"n\",\"latitude\":\"1\"},\"id\":null}"),
    T("{\"station\":{\"name\":\"n\",\"zz\":1},\"id\":7}"),
    T("{\"id\":\"a\",\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,"
      "\"longitude\":2}"),
    T("{\"name\":\"n\",\"city\":\"c\",\"country\":\"DE\",\"latitude\":1,\"longitude\":2}"),
    T("{\"name\":\"" /* too long */
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "x"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "x"
      "\",\"latitude\":true}"),
    T("{\"a\":1\x00}"),
    T("{\"a\":true\x00}"),
    T("{\"a\":\"x\x00\"}"),
    T("\x00"),
    T("{\"a\":1 \x00}"),
};

#undef T

static void check_text(nimbus_op_t op, const char *text, size_t len)
{
    check_params_text(op, text, len);
    char *path = random_id();
    check_rest_body(op, text, len, chance(50) ? "st-1" : path);
    free(path);
}

int main(int argc, char **argv)
{
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 20240501;
    unsigned long per_op = argc > 2 ? strtoul(argv[2], NULL, 10) : 1500;
    rng = seed;
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++) {
        for (int op = 0; op < NIMBUS_OP_COUNT; op++) {
            check_text((nimbus_op_t)op, fixed[k].text, fixed[k].len);
        }
    }
    for (int op = 0; op < NIMBUS_OP_COUNT; op++) {
        const nimbus_type_t *type = nimbus_op_table[op].request;
        for (unsigned long i = 0; i < per_op; i++) {
            gnode_t *root = object_value(type, 0);
            /* RecordObservations' stationId: the path's value, mostly. */
            for (size_t m = 0; m < root->n; m++) {
                if (strcmp(root->kids[m]->key, "\"stationId\"") == 0 && chance(70)) {
                    free(root->kids[m]->raw);
                    root->kids[m]->raw = dup_text("\"st-1\"");
                }
            }
            unsigned tree_mutations = chance(30) ? 0 : 1 + (unsigned)below(3);
            for (unsigned t = 0; t < tree_mutations; t++) {
                mutate_tree(root);
            }
            text_t text = {0};
            write_node(&text, root);
            if (chance(25)) {
                mutate_text(&text);
            }
            check_text((nimbus_op_t)op, text.p ? text.p : "", text.len);
            free(text.p);
            drop(root);
        }
    }
    printf("json_diff: seed %" PRIu64 ", %lu comparisons: %lu accepted alike, %lu refused alike "
           "as syntax, %lu as fields, %lu NUL-after-token refusals; %lu mismatches\n",
           seed, checked, accepted, syntax_refused, field_refused, quirks, failures);
    return failures == 0 ? 0 : 1;
}
