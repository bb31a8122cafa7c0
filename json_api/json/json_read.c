/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The JSON reader of requests (see nimbus_json.h): one pass over the text,
 * strict RFC 8259, each member decoded straight into the operation's
 * request struct through its field table, with no tree in between. REST
 * bodies come through here as text; WebSocket `call` params, which arrive
 * parsed with their envelope, as jansson's tree, whose values stand in for
 * the lexer's tokens (lex_tree). So this file is the one place where a
 * field's JSON value becomes its C value.
 *
 * Why by hand: jansson, the JSON library we link, has no streaming (SAX)
 * interface, and its tree (an object, a hashtable, a json_t per value, a
 * function call per input byte) and the walk over it cost about 2.4 µs
 * (32,000 instructions) per observation of a 1,000-observation batch, more
 * than half of the 4 µs an observation may cost in all; this reader takes
 * about 0.2 µs (3,700 instructions). docs/performance.md, "JSON request
 * decoding", has the measurements.
 *
 * The answers are those of the jansson-based decoder this replaced, which a
 * differential test (tests/json_api/json/test_json_diff.c) keeps so:
 *
 * - Syntax: what jansson refused is refused (integers beyond int64, reals
 *   that overflow, lone surrogates, \u0000, duplicate member names, nesting
 *   beyond jansson's 2048), at the line and column jansson named: where its
 *   lexer stood, after the token it could not use (line from 1; column:
 *   the characters of that line read so far, a UTF-8 sequence counting
 *   one). The detail after "malformed JSON at line L, column C: " is ours. One
 *   deliberate difference: a NUL byte right after a number or a literal,
 *   which jansson skipped (an artefact of its one-byte unget), is refused.
 * - Precedence: the whole text is read even after a refusal of its fields,
 *   because a syntax error anywhere is answered before anything else, then
 *   nesting deeper than NIMBUS_JSON_MAX_DEPTH, then a text that is not an
 *   object, and only then what its members say. Within one object, the
 *   refusal reported is the one the tree walk met first: an unknown member
 *   (the first in the text), then the fields in table order, each with its
 *   presence, JSON type and value (a nested object's own first refusal, an
 *   array's count before its first bad item), then the length of CHARS text
 *   (after the rest, but in table order for REST's body members). Each
 *   object keeps the best-ranked refusal so far and the rest of it is read
 *   for its syntax only.
 * - Numbers: integers as int64 (so -0 is 0), reals correctly rounded as
 *   strtod rounds them (exact fast path, strtod otherwise); one rule makes
 *   integers of reals (nimbus_json_real_integer).
 *
 * Memory is linear in the text: a scratch buffer for strings with escapes,
 * the names of members no field table knows (to refuse duplicates there
 * too), and the arrays a request owns, never beyond their bounds. Nothing
 * reads past text + len.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_json.h"

/* jansson's JSON_PARSER_MAX_DEPTH: a value nested deeper was a syntax error
 * there, so it is one here. The limit requests meet, NIMBUS_JSON_MAX_DEPTH,
 * is checked after the syntax, as before. */
#define SYNTAX_MAX_DEPTH 2048

/* Types read here have at most this many fields (one bit each). */
#define FIELDS_MAX 64

/* Which refusal of one object is reported (lower first, see above). */
#define RANK_NONE UINT32_MAX
#define RANK_UNKNOWN (UINT32_C(1) << 16)
#define RANK_FIELD(i) ((UINT32_C(2) << 16) | (uint32_t)(i))
#define RANK_TEXT(i) ((UINT32_C(3) << 16) | (uint32_t)(i))

typedef enum tok {
    T_EOF,
    T_LBRACE,
    T_RBRACE,
    T_LBRACKET,
    T_RBRACKET,
    T_COLON,
    T_COMMA,
    T_STRING,
    T_INT,
    T_REAL,
    T_TRUE,
    T_FALSE,
    T_NULL,
    T_INVALID, /* not a token; the reader stands where jansson's lexer did */
    T_ERROR    /* refused already (err is set) */
} tok_t;

/* Copies of strings a request's STRING fields point to. */
struct nimbus_json_text {
    struct nimbus_json_text *next;
    char text[];
};

/* A member name seen in an object no field table describes. */
typedef struct key_slot {
    uint64_t object; /* 0: empty */
    uint64_t hash;
    size_t off, len; /* in reader.keys */
} key_slot_t;

typedef struct reader {
    const unsigned char *start, *p, *end;
    nimbus_error_t *err;
    bool failed;
    unsigned open; /* containers open around the reader */
    bool too_deep; /* one was nested deeper than NIMBUS_JSON_MAX_DEPTH */
    tok_t tok;     /* the current token; p is just past it */
    const char *s; /* T_STRING: its decoded text, n bytes, in the input or buf */
    size_t n;
    int64_t ival; /* T_INT */
    double dval;  /* T_REAL */
    char *buf;    /* decoded strings and NUL-terminated copies */
    size_t cap;
    key_slot_t *slots;
    size_t nslots, nkeys;
    char *keys;
    size_t keys_len, keys_cap;
    uint64_t objects; /* objects numbered so far (for slots) */
    uint64_t *stack;  /* skip_value: per open container its number, 0: an array */
    size_t sp, stack_cap;
    struct nimbus_json_text **texts; /* where STRING fields' copies go */
    /* Instead of text, a jansson value to read (a WebSocket call's params,
     * parsed with their envelope): lex_tree hands out its tokens. */
    json_t *tree;
    bool tree_started;     /* its first token was handed out */
    struct cursor *cursor; /* per open container of the tree */
    size_t csp, cursor_cap;
} reader_t;

/* Where lex_tree stands in one container of the tree: the token it
 * handed out last there. */
typedef struct cursor {
    json_t *container;
    void *iter;   /* an object's member */
    size_t index; /* an array's item */
    enum { AT_START, AT_KEY, AT_COLON, AT_VALUE } at;
} cursor_t;

/* One refusal of an object, kept while the rest of it is read. */
typedef struct pending {
    uint32_t rank;
    nimbus_error_t err;
} pending_t;

/* How an object's `id` member is needed (NIMBUS_FIELD_ID_FROM_REQUEST). */
typedef enum id_mode {
    ID_REQUIRED, /* as its field says */
    ID_OPTIONAL, /* the request names the station already */
    ID_DEFERRED  /* not known yet: the caller decides when its object ends */
} id_mode_t;

/* An object being read, and how its members are named in refusals. */
typedef struct obj {
    const nimbus_type_t *type;
    void *value;
    const char *what; /* "station", "" */
    const char *item; /* set: the object is item[index] of an array, named so when refused */
    size_t index;
    id_mode_t id_mode;
    /* The request's own members (or value), read for a target: */
    const nimbus_json_target_t *target; /* NULL for a nested object */
    const char *unknown_what;           /* names the object in "unknown member" */
    uint64_t excluded;                  /* fields that are not members */
    long equal;                         /* the field target->equal_field, or -1 */
    bool in_order;                      /* CHARS text checked in table order */
    bool value_only;                    /* the text is one field's value */
} obj_t;

/* A nested object whose refusal depends on whether its `id` may be left
 * out, which its parent knows only at its own end. */
typedef struct deferred {
    struct deferred *next;
    size_t field;
    uint32_t id_rank;
    pending_t res;
} deferred_t;

static int skip_value(reader_t *rd);
static int read_object(reader_t *rd, const obj_t *o, pending_t *res, uint32_t *id_rank);

/* ---- refusals ------------------------------------------------------------ */

/* A syntax error at `at`: the first one stands, as in jansson. Line and
 * column are counted as jansson counts them: lines from 1, and in a line
 * the characters before `at` (a UTF-8 sequence is one). */
static tok_t fail_at(reader_t *rd, const unsigned char *at, const char *detail)
{
    if (!rd->failed) {
        rd->failed = true;
        int line = 1, column = 0;
        for (const unsigned char *q = rd->start; q < at; q++) {
            if (*q == '\n') {
                line++;
                column = 0;
            } else if (*q < 0x80 || (*q >= 0xC2 && *q <= 0xF4)) {
                column++;
            }
        }
        nimbus_error_set(rd->err, NIMBUS_INVALID_ARGUMENT,
                         "malformed JSON at line %d, column %d: %s", line, column, detail);
    }
    return rd->tok = T_ERROR;
}

/* A syntax error at the current token (where jansson's lexer stood after
 * reading it). Returns -1. */
static int fail(reader_t *rd, const char *detail)
{
    fail_at(rd, rd->p, detail);
    return -1;
}

static int fail_memory(reader_t *rd)
{
    if (!rd->failed) {
        rd->failed = true;
        nimbus_error_set(rd->err, NIMBUS_INTERNAL, "out of memory");
    }
    rd->tok = T_ERROR;
    return -1;
}

/* ---- the lexer ----------------------------------------------------------- */

/* String bytes that stand for themselves: 0x20-0x7F but '"' and '\\'. */
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char plain[256] = {
    R16(0), R16(0), /* 0x00-0x1F */
    1,      1,      0,      1,      1,      1,      1,      1,
    1,      1,      1,      1,      1,      1,      1,      1, /* 0x20-0x2F: '"' */
    R16(1), R16(1),                                            /* 0x30-0x4F */
    1,      1,      1,      1,      1,      1,      1,      1,
    1,      1,      1,      1,      0,      1,      1,      1, /* 0x50-0x5F: '\\' */
    R16(1), R16(1),                                            /* 0x60-0x7F */
    R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)};
#undef R16

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The length of the UTF-8 sequence at p (p[0] >= 0x80), or 0 when it is
 * not one: a stray continuation byte, an overlong form, a surrogate, a code
 * point beyond U+10FFFF, or cut short by the end of the text. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || (n == 3 && cp < 0x800) ||
        (n == 4 && cp < 0x10000)) {
        return 0;
    }
    return n;
}

static tok_t bad_utf8(reader_t *rd, const unsigned char *at)
{
    char detail[40];
    snprintf(detail, sizeof detail, "unable to decode byte 0x%02x", *at);
    return fail_at(rd, at, detail);
}

/* jansson read one character past a number or a word and put it back; a
 * byte there that starts no UTF-8 sequence was refused at that point. */
static bool bad_lookahead(const reader_t *rd, const unsigned char *q)
{
    return q < rd->end && *q >= 0x80 && utf8_sequence(q, rd->end) == 0;
}

static bool reserve(reader_t *rd, size_t need)
{
    if (need <= rd->cap) {
        return true;
    }
    size_t cap = rd->cap ? rd->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    char *grown = realloc(rd->buf, cap);
    if (!grown) {
        return false;
    }
    rd->buf = grown;
    rd->cap = cap;
    return true;
}

static char *put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        *out++ = (char)cp;
    } else if (cp < 0x800) {
        *out++ = (char)(0xC0 | (cp >> 6));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *out++ = (char)(0xE0 | (cp >> 12));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *out++ = (char)(0xF0 | (cp >> 18));
        *out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *out++ = (char)(0x80 | (cp & 0x3F));
    }
    return out;
}

/* The value of the escape "\uXXXX" at q, or -1 when there is none. */
static long hex4(const unsigned char *q, const unsigned char *end)
{
    if (end - q < 6 || q[0] != '\\' || q[1] != 'u') {
        return -1;
    }
    long v = 0;
    for (int i = 2; i < 6; i++) {
        int h = nimbus_hex_value(q[i]);
        if (h < 0) {
            return -1;
        }
        v = v * 16 + h;
    }
    return v;
}

/* A string with escapes, from q (its first backslash) on; p is its first
 * byte. Decoded into buf. */
static tok_t lex_escaped(reader_t *rd, const unsigned char *p, const unsigned char *q)
{
    const unsigned char *end = rd->end;
    /* Decoded text is never longer than its source. */
    if (!reserve(rd, (size_t)(end - p) + 1)) {
        fail_memory(rd);
        return T_ERROR;
    }
    char *out = rd->buf;
    memcpy(out, p, (size_t)(q - p));
    out += q - p;
    bool bad_unicode = false, nul = false;
    for (;;) {
        if (q == end) {
            return fail_at(rd, end, "premature end of input");
        }
        unsigned char c = *q;
        if (plain[c]) {
            *out++ = (char)c;
            q++;
        } else if (c == '"') {
            break;
        } else if (c == '\\') {
            if (q + 1 == end) {
                return fail_at(rd, end, "invalid escape");
            }
            unsigned char e = q[1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e != '\0' && simple) {
                static const char to[] = "\"\\/\b\f\n\r\t";
                *out++ = to[simple - "\"\\/bfnrt"];
                q += 2;
                continue;
            }
            if (e != 'u') {
                /* jansson read the character after the backslash before it
                 * refused it (a bad UTF-8 byte stopped it there). */
                const unsigned char *at = bad_lookahead(rd, q + 1) ? q + 1 : q + 2;
                return fail_at(rd, at, "invalid escape");
            }
            for (int i = 2; i < 6; i++) {
                if (q + i == end) {
                    return fail_at(rd, end, "invalid escape");
                }
                if (nimbus_hex_value(q[i]) < 0) {
                    const unsigned char *at = bad_lookahead(rd, q + i) ? q + i : q + i + 1;
                    return fail_at(rd, at, "invalid escape");
                }
            }
            uint32_t cp = (uint32_t)hex4(q, end);
            q += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A pair when a low surrogate follows; anything else is
                 * refused once the string's own syntax is known good, as
                 * jansson decoded only then. */
                long low = hex4(q, end);
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)low - 0xDC00);
                    q += 6;
                } else {
                    bad_unicode = true;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                bad_unicode = true;
            }
            nul = nul || cp == 0;
            out = put_utf8(out, cp);
        } else if (c < 0x20) {
            return fail_at(rd, q, c == '\n' ? "unexpected newline" : "control character in string");
        } else {
            size_t n = utf8_sequence(q, end);
            if (n == 0) {
                return bad_utf8(rd, q);
            }
            memcpy(out, q, n);
            out += n;
            q += n;
        }
    }
    rd->p = q + 1;
    if (bad_unicode) {
        return fail_at(rd, rd->p, "invalid Unicode escape (unpaired surrogate)");
    }
    if (nul) {
        return fail_at(rd, rd->p, "\\u0000 is not allowed");
    }
    *out = '\0';
    rd->s = rd->buf;
    rd->n = (size_t)(out - rd->buf);
    return rd->tok = T_STRING;
}

/* A string from p, just past its opening quote. Without escapes (nearly
 * every string) its text is left where it is. */
static tok_t lex_string(reader_t *rd, const unsigned char *p)
{
    const unsigned char *q = p, *end = rd->end;
    for (;;) {
        while (q < end && plain[*q]) {
            q++;
        }
        if (q == end) {
            return fail_at(rd, end, "premature end of input");
        }
        unsigned char c = *q;
        if (c == '"') {
            rd->s = (const char *)p;
            rd->n = (size_t)(q - p);
            rd->p = q + 1;
            return rd->tok = T_STRING;
        }
        if (c == '\\') {
            return lex_escaped(rd, p, q);
        }
        if (c < 0x20) {
            return fail_at(rd, q, c == '\n' ? "unexpected newline" : "control character in string");
        }
        size_t n = utf8_sequence(q, end);
        if (n == 0) {
            return bad_utf8(rd, q);
        }
        q += n;
    }
}

#if FLT_EVAL_METHOD == 0
/* 10^0..10^22, each exactly a double. */
static const double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
#endif

/* The real [p, q) (JSON's grammar, checked), correctly rounded as strtod
 * rounds it. Returns false when it overflows a double, which jansson
 * refused. */
static bool real_value(reader_t *rd, const unsigned char *p, const unsigned char *q, double *out)
{
#if FLT_EVAL_METHOD == 0
    /* Clinger's fast path: a significand below 2^53 and a power of ten
     * up to 22 are both exact doubles, and one multiplication or division
     * of exact doubles is correctly rounded. */
    const unsigned char *d = p;
    bool neg = *d == '-';
    d += neg;
    uint64_t m = 0;
    int digits = 0, scale = 0;
    bool dropped = false, fraction = false;
    for (; d < q && *d != 'e' && *d != 'E'; d++) {
        if (*d == '.') {
            fraction = true;
            continue;
        }
        if (digits < 19) {
            m = m * 10 + (uint64_t)(*d - '0');
            digits += m != 0;
            scale -= fraction;
        } else {
            dropped = dropped || *d != '0';
            scale += !fraction;
        }
    }
    long exp10 = 0;
    if (d < q) {
        d++;
        bool eneg = *d == '-';
        d += *d == '-' || *d == '+';
        for (; d < q; d++) {
            if (exp10 < 100000) {
                exp10 = exp10 * 10 + (*d - '0');
            }
        }
        exp10 = eneg ? -exp10 : exp10;
    }
    exp10 += scale;
    if (m == 0 && !dropped) {
        *out = neg ? -0.0 : 0.0;
        return true;
    }
    if (!dropped && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double v = (double)m;
        v = exp10 >= 0 ? v * powers_of_ten[exp10] : v / powers_of_ten[-exp10];
        *out = neg ? -v : v;
        return true;
    }
#endif
    size_t len = (size_t)(q - p);
    char small[64];
    char *text = small;
    if (len >= sizeof small) {
        if (!reserve(rd, len + 1)) {
            fail_memory(rd);
            return false;
        }
        text = rd->buf;
    }
    memcpy(text, p, len);
    text[len] = '\0';
    errno = 0;
    double v = strtod(text, NULL);
    if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE) {
        return false;
    }
    *out = v;
    return true;
}

/* A number from p ('-' or a digit), by jansson's steps, so an invalid one
 * leaves the reader where jansson's lexer stopped. */
static tok_t lex_number(reader_t *rd, const unsigned char *p)
{
    const unsigned char *q = p, *end = rd->end;
    bool neg = *q == '-';
    q += neg;
    if (q == end || !is_digit(*q)) {
        if (bad_lookahead(rd, q)) {
            return bad_utf8(rd, q);
        }
        rd->p = q;
        return rd->tok = T_INVALID;
    }
    if (*q == '0') {
        q++;
        if (q < end && is_digit(*q)) {
            rd->p = q;
            return rd->tok = T_INVALID;
        }
    } else {
        while (q < end && is_digit(*q)) {
            q++;
        }
    }
    if (q == end || (*q != '.' && *q != 'e' && *q != 'E')) {
        if (bad_lookahead(rd, q)) {
            return bad_utf8(rd, q);
        }
        const unsigned char *d = p + neg;
        size_t digits = (size_t)(q - d);
        uint64_t u = 0;
        for (size_t i = 0; i < digits && i < 20; i++) {
            u = u * 10 + (uint64_t)(d[i] - '0');
        }
        uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        rd->p = q;
        if (digits > 19 || u > limit) {
            return fail_at(rd, q, neg ? "too big negative integer" : "too big integer");
        }
        if (!neg) {
            rd->ival = (int64_t)u;
        } else {
            rd->ival = u == 0 ? 0 : -(int64_t)(u - 1) - 1; /* -0 is 0, as jansson read it */
        }
        return rd->tok = T_INT;
    }
    if (*q == '.') {
        q++;
        if (q == end || !is_digit(*q)) {
            if (bad_lookahead(rd, q)) {
                return bad_utf8(rd, q);
            }
            rd->p = q;
            return rd->tok = T_INVALID;
        }
        while (q < end && is_digit(*q)) {
            q++;
        }
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) {
            q++;
        }
        if (q == end || !is_digit(*q)) {
            if (bad_lookahead(rd, q)) {
                return bad_utf8(rd, q);
            }
            rd->p = q;
            return rd->tok = T_INVALID;
        }
        while (q < end && is_digit(*q)) {
            q++;
        }
    }
    if (bad_lookahead(rd, q)) {
        return bad_utf8(rd, q);
    }
    rd->p = q;
    if (!real_value(rd, p, q, &rd->dval)) {
        return rd->failed ? T_ERROR : fail_at(rd, q, "real number overflow");
    }
    return rd->tok = T_REAL;
}

/* A run of letters: true, false, null, or an invalid token. */
static tok_t lex_word(reader_t *rd, const unsigned char *p)
{
    const unsigned char *q = p;
    while (q < rd->end && is_alpha(*q)) {
        q++;
    }
    if (bad_lookahead(rd, q)) {
        return bad_utf8(rd, q);
    }
    rd->p = q;
    size_t n = (size_t)(q - p);
    if (n == 4 && memcmp(p, "true", 4) == 0) {
        return rd->tok = T_TRUE;
    }
    if (n == 4 && memcmp(p, "null", 4) == 0) {
        return rd->tok = T_NULL;
    }
    if (n == 5 && memcmp(p, "false", 5) == 0) {
        return rd->tok = T_FALSE;
    }
    return rd->tok = T_INVALID;
}

static tok_t lex_tree(reader_t *rd);

/* The next token. */
static tok_t lex(reader_t *rd)
{
    if (rd->failed) {
        return rd->tok = T_ERROR;
    }
    if (rd->tree) {
        return lex_tree(rd);
    }
    const unsigned char *p = rd->p, *end = rd->end;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
        p++;
    }
    rd->p = p + 1;
    if (p == end) {
        rd->p = end;
        return rd->tok = T_EOF;
    }
    switch (*p) {
    case '{':
        return rd->tok = T_LBRACE;
    case '}':
        return rd->tok = T_RBRACE;
    case '[':
        return rd->tok = T_LBRACKET;
    case ']':
        return rd->tok = T_RBRACKET;
    case ':':
        return rd->tok = T_COLON;
    case ',':
        return rd->tok = T_COMMA;
    case '"':
        return lex_string(rd, p + 1);
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return lex_number(rd, p);
    default:
        break;
    }
    if (is_alpha(*p)) {
        return lex_word(rd, p);
    }
    if (*p >= 0x80) {
        size_t n = utf8_sequence(p, end);
        if (n == 0) {
            return bad_utf8(rd, p);
        }
        rd->p = p + n;
    }
    return rd->tok = T_INVALID;
}

/* ---- a jansson value as tokens ------------------------------------------- */

/* The first token of v; a container's cursor is pushed. */
static tok_t tree_value(reader_t *rd, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (rd->csp == rd->cursor_cap) {
            size_t cap = rd->cursor_cap ? rd->cursor_cap * 2 : 16;
            cursor_t *grown = realloc(rd->cursor, cap * sizeof *grown);
            if (!grown) {
                fail_memory(rd);
                return T_ERROR;
            }
            rd->cursor = grown;
            rd->cursor_cap = cap;
        }
        rd->cursor[rd->csp++] = (cursor_t){v, NULL, 0, AT_START};
        return rd->tok = json_is_object(v) ? T_LBRACE : T_LBRACKET;
    case JSON_STRING:
        rd->s = json_string_value(v);
        rd->n = json_string_length(v);
        /* Only a tree built with JSON_ALLOW_NUL holds one; text may not. */
        if (memchr(rd->s, '\0', rd->n)) {
            return fail_at(rd, rd->p, "\\u0000 is not allowed");
        }
        return rd->tok = T_STRING;
    case JSON_INTEGER:
        rd->ival = (int64_t)json_integer_value(v);
        return rd->tok = T_INT;
    case JSON_REAL:
        rd->dval = json_real_value(v);
        return rd->tok = T_REAL;
    case JSON_TRUE:
        return rd->tok = T_TRUE;
    case JSON_FALSE:
        return rd->tok = T_FALSE;
    case JSON_NULL:
        return rd->tok = T_NULL;
    }
    return fail_at(rd, rd->p, "not a JSON value");
}

/*
 * The next token of rd->tree, as the lexer would hand out those of its
 * text. jansson parsed it already, so its syntax is known good; what the
 * reader does with the tokens (the field tables, the order of refusals) is
 * the same for a text and a tree. Members come in jansson's order, which
 * is the text's.
 */
static tok_t lex_tree(reader_t *rd)
{
    if (rd->csp == 0) {
        if (rd->tree_started) {
            return rd->tok = T_EOF;
        }
        rd->tree_started = true;
        return tree_value(rd, rd->tree);
    }
    cursor_t *c = &rd->cursor[rd->csp - 1];
    if (json_is_array(c->container)) {
        if (c->at == AT_VALUE) {
            /* After an item: a comma when another follows. */
            if (++c->index < json_array_size(c->container)) {
                c->at = AT_COLON;
                return rd->tok = T_COMMA;
            }
        } else if (c->index < json_array_size(c->container)) {
            c->at = AT_VALUE;
            return tree_value(rd, json_array_get(c->container, c->index));
        }
        rd->csp--;
        return rd->tok = T_RBRACKET;
    }
    switch (c->at) {
    case AT_START:
        c->iter = c->iter ? c->iter : json_object_iter(c->container);
        break;
    case AT_KEY:
        c->at = AT_COLON;
        return rd->tok = T_COLON;
    case AT_COLON:
        c->at = AT_VALUE;
        return tree_value(rd, json_object_iter_value(c->iter));
    case AT_VALUE:
        c->iter = json_object_iter_next(c->container, c->iter);
        if (c->iter) {
            c->at = AT_START;
            return rd->tok = T_COMMA;
        }
        break;
    }
    if (!c->iter) {
        rd->csp--;
        return rd->tok = T_RBRACE;
    }
    c->at = AT_KEY;
    rd->s = json_object_iter_key(c->iter);
    rd->n = json_object_iter_key_len(c->iter);
    if (memchr(rd->s, '\0', rd->n)) {
        return fail_at(rd, rd->p, "NUL byte in object key");
    }
    return rd->tok = T_STRING;
}

/* The current string, NUL-terminated (in buf), or NULL when memory ran
 * out. A decoded string holds no NUL: \u0000 is refused. */
static const char *current_text(reader_t *rd)
{
    if (rd->s == rd->buf) {
        return rd->buf;
    }
    if (!reserve(rd, rd->n + 1)) {
        fail_memory(rd);
        return NULL;
    }
    memcpy(rd->buf, rd->s, rd->n);
    rd->buf[rd->n] = '\0';
    rd->s = rd->buf;
    return rd->buf;
}

/* ---- containers and syntax-only reading --------------------------------- */

static void open_container(reader_t *rd)
{
    if (++rd->open > NIMBUS_JSON_MAX_DEPTH) {
        rd->too_deep = true;
    }
}

static uint64_t hash_key(uint64_t object, const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u ^ object;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    }
    return h;
}

/* Records the member name (s, n) of object number `object`: 1 when the
 * object had it already, 0 when not, -1 when memory ran out. For objects
 * no field table describes (a table's own fields are told by bits). */
static int key_seen(reader_t *rd, uint64_t object, const char *s, size_t n)
{
    if (rd->nkeys * 2 >= rd->nslots) {
        size_t nslots = rd->nslots ? rd->nslots * 2 : 64;
        key_slot_t *slots = calloc(nslots, sizeof *slots);
        if (!slots) {
            return -1;
        }
        for (size_t i = 0; i < rd->nslots; i++) {
            if (rd->slots[i].object != 0) {
                size_t j = rd->slots[i].hash & (nslots - 1);
                while (slots[j].object != 0) {
                    j = (j + 1) & (nslots - 1);
                }
                slots[j] = rd->slots[i];
            }
        }
        free(rd->slots);
        rd->slots = slots;
        rd->nslots = nslots;
    }
    uint64_t h = hash_key(object, s, n);
    size_t j = h & (rd->nslots - 1);
    for (; rd->slots[j].object != 0; j = (j + 1) & (rd->nslots - 1)) {
        const key_slot_t *k = &rd->slots[j];
        if (k->hash == h && k->object == object && k->len == n &&
            memcmp(rd->keys + k->off, s, n) == 0) {
            return 1;
        }
    }
    if (rd->keys_len + n + 1 > rd->keys_cap) {
        /* Never empty, so that keys + off is a pointer even for "". */
        size_t cap = rd->keys_cap ? rd->keys_cap : 256;
        while (cap < rd->keys_len + n + 1) {
            cap *= 2;
        }
        char *grown = realloc(rd->keys, cap);
        if (!grown) {
            return -1;
        }
        rd->keys = grown;
        rd->keys_cap = cap;
    }
    memcpy(rd->keys + rd->keys_len, s, n);
    rd->slots[j] = (key_slot_t){object, h, rd->keys_len, n};
    rd->keys_len += n;
    rd->nkeys++;
    return 0;
}

/* A member name of an object read for its syntax, its ':' and the first
 * token of its value. */
static int skip_member(reader_t *rd, uint64_t object)
{
    if (rd->tok != T_STRING) {
        return fail(rd, "string or '}' expected");
    }
    int seen = key_seen(rd, object, rd->s, rd->n);
    if (seen != 0) {
        return seen < 0 ? fail_memory(rd) : fail(rd, "duplicate object key");
    }
    if (lex(rd) != T_COLON) {
        return fail(rd, "':' expected");
    }
    lex(rd);
    return 0;
}

static int push(reader_t *rd, uint64_t object)
{
    if (rd->sp == rd->stack_cap) {
        size_t cap = rd->stack_cap ? rd->stack_cap * 2 : 32;
        uint64_t *grown = realloc(rd->stack, cap * sizeof *grown);
        if (!grown) {
            return fail_memory(rd);
        }
        rd->stack = grown;
        rd->stack_cap = cap;
    }
    rd->stack[rd->sp++] = object;
    open_container(rd);
    return 0;
}

/*
 * Reads the value whose first token is current for its syntax alone (a
 * member no field reads, a value of the wrong type), leaving its last
 * token current. Iterative, so depth costs memory (8 bytes a level, at
 * most SYNTAX_MAX_DEPTH levels), not stack.
 */
static int skip_value(reader_t *rd)
{
    size_t base = rd->sp;
    for (;;) {
        /* rd->tok starts a value. */
        if (rd->tok == T_ERROR) {
            return -1;
        }
        if (rd->open >= SYNTAX_MAX_DEPTH) {
            return fail(rd, "maximum parsing depth reached");
        }
        switch (rd->tok) {
        case T_LBRACE:
            if (push(rd, ++rd->objects) != 0) {
                return -1;
            }
            if (lex(rd) != T_RBRACE) {
                if (skip_member(rd, rd->stack[rd->sp - 1]) != 0) {
                    return -1;
                }
                continue;
            }
            rd->sp--;
            rd->open--;
            break;
        case T_LBRACKET:
            if (push(rd, 0) != 0) {
                return -1;
            }
            if (lex(rd) != T_RBRACKET) {
                continue;
            }
            rd->sp--;
            rd->open--;
            break;
        case T_STRING:
        case T_INT:
        case T_REAL:
        case T_TRUE:
        case T_FALSE:
        case T_NULL:
            break;
        case T_INVALID:
            return fail(rd, "invalid token");
        case T_EOF:
        case T_RBRACE:
        case T_RBRACKET:
        case T_COLON:
        case T_COMMA:
        case T_ERROR:
            return fail(rd, "unexpected token");
        }
        /* A value ended: what follows it in its container. */
        for (;;) {
            if (rd->sp == base) {
                return 0;
            }
            uint64_t object = rd->stack[rd->sp - 1];
            lex(rd);
            if (rd->tok == T_COMMA) {
                lex(rd);
                if (object != 0 && skip_member(rd, object) != 0) {
                    return -1;
                }
                break;
            }
            if (rd->tok != (object != 0 ? T_RBRACE : T_RBRACKET)) {
                return fail(rd, object != 0 ? "'}' expected" : "']' expected");
            }
            rd->sp--;
            rd->open--;
        }
    }
}

/* ---- the field tables ----------------------------------------------------- */

static void *at(void *value, size_t offset)
{
    return (char *)value + offset;
}

static void set_flag(void *value, size_t aux)
{
    if (aux != NIMBUS_FIELD_NO_AUX) {
        bool yes = true;
        memcpy(at(value, aux), &yes, sizeof yes);
    }
}

/* "what.name" (or "name" when what is "") into buf, cut to fit. */
static const char *join_name(char *buf, size_t size, const char *what, const char *name)
{
    size_t wl = strlen(what), nl = strlen(name), used = 0;
    if (wl > size - 2) {
        wl = size - 2;
    }
    memcpy(buf, what, wl);
    used = wl;
    if (wl > 0) {
        buf[used++] = '.';
    }
    if (nl > size - 1 - used) {
        nl = size - 1 - used;
    }
    memcpy(buf + used, name, nl);
    buf[used + nl] = '\0';
    return buf;
}

/* How o is named in refusals: its `what`, or "item[index]" for an array's
 * item (written only when a refusal needs it, into buf). */
static const char *obj_name(const obj_t *o, char buf[64])
{
    if (!o->item) {
        return o->what;
    }
    char digits[24];
    size_t nl = strlen(o->item), dl = 0;
    if (nl > 64 - 24) {
        nl = 64 - 24;
    }
    size_t k = o->index;
    do {
        digits[dl++] = (char)('0' + k % 10);
        k /= 10;
    } while (k != 0);
    memcpy(buf, o->item, nl);
    buf[nl++] = '[';
    while (dl > 0) {
        buf[nl++] = digits[--dl];
    }
    buf[nl++] = ']';
    buf[nl] = '\0';
    return buf;
}

/* Keeps err as o's refusal when it ranks before the one kept. */
static void keep(pending_t *res, uint32_t rank, const nimbus_error_t *err)
{
    if (rank < res->rank) {
        res->rank = rank;
        res->err = *err;
    }
}

/* "what.key text" (INVALID_ARGUMENT), the wording of a member's refusal. */
static void refuse(pending_t *res, uint32_t rank, const obj_t *o, const char *key, const char *text)
{
    if (rank < res->rank) {
        char buf[64];
        const char *what = obj_name(o, buf);
        res->rank = rank;
        nimbus_error_set(&res->err, NIMBUS_INVALID_ARGUMENT, "%s%s%s %s", what, *what ? "." : "",
                         key, text);
    }
}

/* As refuse, and the value is read for its syntax only. */
static int refuse_value(reader_t *rd, pending_t *res, uint32_t rank, const obj_t *o,
                        const nimbus_field_t *f, const char *text)
{
    refuse(res, rank, o, f->name, text);
    return skip_value(rd);
}

/* The field of o's type named (s, n), or -1. Members usually come in table
 * order, so the search starts after the last one found (*hint). */
static long field_of(const obj_t *o, const char *s, size_t n, size_t *hint)
{
    const nimbus_type_t *type = o->type;
    for (size_t k = 0; k < type->count; k++) {
        size_t i = *hint + k < type->count ? *hint + k : *hint + k - type->count;
        const char *name = type->fields[i].name;
        if (n > 0 && name[0] == s[0] && strncmp(name, s, n) == 0 && name[n] == '\0') {
            *hint = i + 1;
            return (o->excluded >> i) & 1u ? -1 : (long)i;
        }
    }
    return -1;
}

/* The index of the field named "id" in type, or -1. */
static long id_field(const nimbus_type_t *type)
{
    for (size_t i = 0; i < type->count; i++) {
        if (strcmp(type->fields[i].name, "id") == 0) {
            return (long)i;
        }
    }
    return -1;
}

/* Whether o names its station, so that field i (an ID_FROM_REQUEST object)
 * may leave its own id out: the request's path says so (REST), or o's own
 * `id` member (not null) does; REST's body members count only when read
 * before field i, in table order. `given`: o's members so far. `final`: o
 * has ended, so an absent `id` is absent. */
static id_mode_t id_mode_for(const obj_t *o, size_t i, uint64_t given, bool final)
{
    if (!(o->type->fields[i].flags & NIMBUS_FIELD_ID_FROM_REQUEST)) {
        return ID_REQUIRED;
    }
    if (o->target && o->target->id_known) {
        return ID_OPTIONAL;
    }
    long id = id_field(o->type);
    if (o->value_only || id < 0 ||
        (o->in_order && ((size_t)id > i || o->type->fields[id].kind != NIMBUS_FIELD_STRING))) {
        return ID_REQUIRED;
    }
    if ((given >> id) & 1u) {
        return ID_OPTIONAL;
    }
    return final ? ID_REQUIRED : ID_DEFERRED;
}

/* The outcome of a nested object (field i of o, named `name`) whose `id`
 * was absent at id_rank (RANK_NONE: present) and whose other refusal is
 * child, now that whether it may be absent is known. */
static void settle_child(pending_t *res, size_t i, const char *name, uint32_t id_rank,
                         id_mode_t mode, const pending_t *child)
{
    if (id_rank != RANK_NONE && mode == ID_REQUIRED && id_rank < child->rank) {
        if (RANK_FIELD(i) < res->rank) {
            res->rank = RANK_FIELD(i);
            nimbus_error_set(&res->err, NIMBUS_INVALID_ARGUMENT, "%s.%s is required", name, "id");
        }
        return;
    }
    if (child->rank != RANK_NONE) {
        keep(res, RANK_FIELD(i), &child->err);
    }
}

/*
 * The end shared by the readers of an ARRAY and of a STRINGS field, once
 * the items are read. The struct takes the array (the pointer at items_at, of
 * items_size bytes: a char * or a const char **) and its stored count
 * whatever rc says, since the caller's cleanup frees it, refused or not.
 * After a syntax error (rc not 0) it returns -1 and keeps no refusal;
 * otherwise it returns 0, keeping a count of n out of the field's bounds in
 * res ahead of the first refused item (first), as the count is checked
 * first.
 */
static int end_items(const obj_t *o, const nimbus_field_t *f, size_t i, const void *items_at,
                     size_t items_size, size_t stored, size_t n, int rc, const pending_t *first,
                     pending_t *res)
{
    memcpy(at(o->value, f->offset), items_at, items_size);
    memcpy(at(o->value, f->aux), &stored, sizeof stored);
    if (rc != 0) {
        return -1;
    }
    nimbus_error_t count_err;
    if (nimbus_array_count_validate(f, n, &count_err) != 0) {
        keep(res, RANK_FIELD(i), &count_err);
    } else if (first->rank != RANK_NONE) {
        keep(res, RANK_FIELD(i), &first->err);
    }
    return 0;
}

/* Room for more items of an array being read (*cap of size bytes each at
 * items, all in use): the capacity doubled from 16 but never past max (0:
 * none), so a refused count costs no more than the bound; new items
 * zeroed. Returns the array, possibly moved, with *cap updated; or NULL
 * with rd failed (out of memory), items unchanged and still the caller's. */
static void *grow_items(reader_t *rd, void *items, size_t *cap, size_t max, size_t size)
{
    size_t grown_cap = *cap ? *cap * 2 : 16;
    if (max != 0 && grown_cap > max) {
        grown_cap = max;
    }
    char *grown = realloc(items, grown_cap * size);
    if (!grown) {
        fail_memory(rd);
        return NULL;
    }
    memset(grown + *cap * size, 0, (grown_cap - *cap) * size);
    *cap = grown_cap;
    return grown;
}

/* After an array's item: 1 when another follows (its first token now
 * current), 0 at the closing ']', -1 (rd failed) at anything else. */
static int next_item(reader_t *rd)
{
    lex(rd);
    if (rd->tok == T_COMMA) {
        lex(rd);
        return 1;
    }
    return rd->tok == T_RBRACKET ? 0 : fail(rd, "']' expected");
}

static int read_array(reader_t *rd, const obj_t *o, const nimbus_field_t *f, size_t i,
                      pending_t *res)
{
    const nimbus_type_t *t = f->type;
    size_t max = f->max_items, n = 0, stored = 0, cap = 0;
    char *items = NULL;
    pending_t first = {RANK_NONE, {NIMBUS_OK, "", 0}};
    int rc = 0;
    open_container(rd);
    if (lex(rd) != T_RBRACKET) {
        for (;;) {
            if (first.rank != RANK_NONE || (max != 0 && n >= max)) {
                /* Refused already (a bad item, or too many: that count
                 * is the refusal): only the syntax is left to read. */
                rc = skip_value(rd);
            } else if (rd->tok != T_LBRACE) {
                obj_t item = {.item = f->name, .index = n};
                char buf[64];
                first.rank = RANK_FIELD(i);
                nimbus_error_set(&first.err, NIMBUS_INVALID_ARGUMENT, "%s must be a JSON object",
                                 obj_name(&item, buf));
                rc = skip_value(rd);
            } else {
                if (stored == cap) {
                    char *grown = grow_items(rd, items, &cap, max, t->size);
                    if (!grown) {
                        rc = -1;
                        break;
                    }
                    items = grown;
                }
                obj_t item = {.type = t,
                              .value = items + stored * t->size,
                              .what = "",
                              .item = f->name,
                              .index = n,
                              .id_mode = ID_REQUIRED,
                              .equal = -1};
                uint32_t id_rank;
                stored++;
                rc = read_object(rd, &item, &first, &id_rank);
                if (first.rank != RANK_NONE) {
                    first.rank = RANK_FIELD(i);
                }
            }
            if (rc != 0) {
                break;
            }
            n++;
            int more = next_item(rd);
            if (more <= 0) {
                rc = more;
                break;
            }
        }
    }
    rd->open--;
    if (!items && rc == 0) {
        /* An empty array still points somewhere, as calloc(1) made it. */
        items = calloc(1, t->size ? t->size : 1);
        if (!items) {
            rc = fail_memory(rd);
        }
    }
    return end_items(o, f, i, &items, sizeof items, stored, n, rc, &first, res);
}

/* A STRINGS field's array: each item a string (copied into the request's
 * texts), the count checked against the field's bounds before the first
 * item that is not a string, as for an ARRAY of objects. The array of
 * pointers is the struct's, refused or not. */
static int read_strings(reader_t *rd, const obj_t *o, const nimbus_field_t *f, size_t i,
                        pending_t *res)
{
    size_t max = f->max_items, n = 0, stored = 0, cap = 0;
    const char **items = NULL;
    pending_t first = {RANK_NONE, {NIMBUS_OK, "", 0}};
    int rc = 0;
    open_container(rd);
    if (lex(rd) != T_RBRACKET) {
        for (;;) {
            if (first.rank != RANK_NONE || (max != 0 && n >= max)) {
                rc = skip_value(rd);
            } else if (rd->tok != T_STRING) {
                obj_t item = {.item = f->name, .index = n};
                char buf[64];
                first.rank = RANK_FIELD(i);
                nimbus_error_set(&first.err, NIMBUS_INVALID_ARGUMENT, "%s must be a string",
                                 obj_name(&item, buf));
                rc = skip_value(rd);
            } else if (!rd->texts) {
                first.rank = RANK_FIELD(i);
                nimbus_error_set(&first.err, NIMBUS_INTERNAL, "%s: nowhere to keep a string",
                                 f->name);
                rc = skip_value(rd);
            } else {
                if (stored == cap) {
                    const char **grown = grow_items(rd, items, &cap, max, sizeof *grown);
                    if (!grown) {
                        rc = -1;
                        break;
                    }
                    items = grown;
                }
                struct nimbus_json_text *t = malloc(sizeof *t + rd->n + 1);
                if (!t) {
                    rc = fail_memory(rd);
                    break;
                }
                memcpy(t->text, rd->s, rd->n);
                t->text[rd->n] = '\0';
                t->next = *rd->texts;
                *rd->texts = t;
                items[stored++] = t->text;
            }
            if (rc != 0) {
                break;
            }
            n++;
            int more = next_item(rd);
            if (more <= 0) {
                rc = more;
                break;
            }
        }
    }
    rd->open--;
    return end_items(o, f, i, &items, sizeof items, stored, n, rc, &first, res);
}

/*
 * Reads the value of field f (the i-th of o) whose first token is current
 * and not null: a refusal is kept in res at the field's rank, and the value
 * is then read for its syntax only. Returns -1 on a syntax error.
 */
static int read_member(reader_t *rd, const obj_t *o, const nimbus_field_t *f, size_t i,
                       uint64_t given, pending_t *res, deferred_t **deferred)
{
    uint32_t rank = RANK_FIELD(i);
    if (res->rank < rank) {
        return skip_value(rd); /* o is refused for an earlier reason */
    }
    void *value = o->value;
    if ((long)i == o->equal) {
        /* The body may repeat what the path says, but not contradict it. */
        const char *want = o->target->equal_value;
        if (rd->tok != T_STRING || strlen(want) != rd->n || memcmp(want, rd->s, rd->n) != 0) {
            nimbus_error_t err;
            nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "%s in the body must equal the path's",
                             f->name);
            keep(res, rank, &err);
            return skip_value(rd);
        }
        return 0;
    }
    switch (f->kind) {
    case NIMBUS_FIELD_STRING: {
        if (rd->tok != T_STRING) {
            return refuse_value(rd, res, rank, o, f, "must be a string");
        }
        if (!rd->texts) {
            nimbus_error_t err;
            nimbus_error_set(&err, NIMBUS_INTERNAL, "%s: nowhere to keep a string", f->name);
            keep(res, rank, &err);
            return 0;
        }
        struct nimbus_json_text *t = malloc(sizeof *t + rd->n + 1);
        if (!t) {
            return fail_memory(rd);
        }
        memcpy(t->text, rd->s, rd->n);
        t->text[rd->n] = '\0';
        t->next = *rd->texts;
        *rd->texts = t;
        const char *s = t->text;
        memcpy(at(value, f->offset), &s, sizeof s);
        return 0;
    }
    case NIMBUS_FIELD_CHARS: {
        if (rd->tok != T_STRING) {
            return refuse_value(rd, res, rank, o, f, "must be a string");
        }
        /* Its length is the core's rule, checked after the other fields'
         * types (but in table order for REST's body members). */
        uint32_t text_rank = o->in_order ? rank : RANK_TEXT(i);
        const char *text = current_text(rd);
        nimbus_error_t err;
        if (!text) {
            return -1;
        }
        if (text_rank < res->rank && nimbus_field_set_text(f, value, f->name, text, &err) != 0) {
            /* The full name only to word the refusal. */
            char buf[64], name[160];
            join_name(name, sizeof name, obj_name(o, buf), f->name);
            nimbus_field_set_text(f, value, name, text, &err);
            keep(res, text_rank, &err);
        }
        return 0;
    }
    case NIMBUS_FIELD_DOUBLE:
    case NIMBUS_FIELD_OPT_DOUBLE: {
        double d;
        if (rd->tok == T_INT) {
            d = (double)rd->ival;
        } else if (rd->tok == T_REAL) {
            d = rd->dval;
        } else {
            return refuse_value(rd, res, rank, o, f, "must be a number");
        }
        if (f->kind == NIMBUS_FIELD_DOUBLE) {
            memcpy(at(value, f->offset), &d, sizeof d);
        } else {
            nimbus_opt_double_t v = {true, d};
            memcpy(at(value, f->offset), &v, sizeof v);
        }
        return 0;
    }
    case NIMBUS_FIELD_INT64:
    case NIMBUS_FIELD_INT: {
        bool number = rd->tok == T_INT || rd->tok == T_REAL;
        if (f->flags & NIMBUS_FIELD_OUTPUT_ONLY) {
            /* Output only: read for its type, then ignored. */
            return number ? 0 : refuse_value(rd, res, rank, o, f, "must be a number");
        }
        int64_t v = rd->ival;
        if (!number || (rd->tok == T_REAL && nimbus_json_real_integer(rd->dval, &v) != 0) ||
            (f->kind == NIMBUS_FIELD_INT && (v < INT32_MIN || v > INT32_MAX))) {
            return refuse_value(rd, res, rank, o, f, "must be an integer");
        }
        if (f->kind == NIMBUS_FIELD_INT) {
            int iv = (int)v;
            memcpy(at(value, f->offset), &iv, sizeof iv);
        } else {
            memcpy(at(value, f->offset), &v, sizeof v);
        }
        set_flag(value, f->aux);
        return 0;
    }
    case NIMBUS_FIELD_TIME: {
        if (rd->tok != T_STRING) {
            return refuse_value(rd, res, rank, o, f, "must be a string");
        }
        const char *text = current_text(rd);
        nimbus_error_t err;
        int64_t t;
        if (!text) {
            return -1;
        }
        if (nimbus_time_parse(text, f->name, &t, &err) != 0) {
            char buf[64], name[160];
            join_name(name, sizeof name, obj_name(o, buf), f->name);
            nimbus_time_parse(text, name, &t, &err);
            keep(res, rank, &err);
            return 0;
        }
        memcpy(at(value, f->offset), &t, sizeof t);
        set_flag(value, f->aux);
        return 0;
    }
    case NIMBUS_FIELD_OBJECT: {
        char buf[64], name[160];
        join_name(name, sizeof name, obj_name(o, buf), f->name);
        if (rd->tok != T_LBRACE) {
            nimbus_error_t err;
            nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "%s must be a JSON object", name);
            keep(res, rank, &err);
            return skip_value(rd);
        }
        if (f->type->count > FIELDS_MAX) {
            nimbus_error_t err;
            nimbus_error_set(&err, NIMBUS_INTERNAL, "type %s has too many fields", f->type->name);
            keep(res, rank, &err);
            return skip_value(rd);
        }
        id_mode_t mode = id_mode_for(o, i, given, false);
        obj_t child = {.type = f->type,
                       .value = at(value, f->offset),
                       .what = name,
                       .id_mode = mode,
                       .equal = -1};
        pending_t cres;
        uint32_t id_rank;
        if (read_object(rd, &child, &cres, &id_rank) != 0) {
            return -1;
        }
        if (mode == ID_DEFERRED && id_rank != RANK_NONE && id_rank < cres.rank) {
            deferred_t *d = malloc(sizeof *d);
            if (!d) {
                return fail_memory(rd);
            }
            *d = (deferred_t){*deferred, i, id_rank, cres};
            *deferred = d;
            return 0;
        }
        settle_child(res, i, name, RANK_NONE, mode, &cres);
        if (cres.rank == RANK_NONE) {
            set_flag(value, f->aux);
        }
        return 0;
    }
    case NIMBUS_FIELD_ARRAY:
        if (rd->tok != T_LBRACKET) {
            return refuse_value(rd, res, rank, o, f, "must be an array");
        }
        return read_array(rd, o, f, i, res);
    case NIMBUS_FIELD_STRINGS:
        if (rd->tok != T_LBRACKET) {
            return refuse_value(rd, res, rank, o, f, "must be an array");
        }
        return read_strings(rd, o, f, i, res);
    }
    nimbus_error_t err;
    nimbus_error_set(&err, NIMBUS_INTERNAL, "field %s has no JSON reading", f->name);
    keep(res, rank, &err);
    return skip_value(rd);
}

/*
 * Reads the object whose '{' is current into o->value, leaving its '}'
 * current. res gets its refusal (rank RANK_NONE: none). With
 * o->id_mode ID_DEFERRED an absent `id` is not refused but reported in
 * *id_rank (its rank; RANK_NONE when present or not required) for the
 * parent to settle. Returns -1 on a syntax error.
 */
static int read_object(reader_t *rd, const obj_t *o, pending_t *res, uint32_t *id_rank)
{
    const nimbus_type_t *type = o->type;
    uint64_t seen = 0, given = 0, object = 0;
    size_t hint = 0;
    deferred_t *deferred = NULL;
    int rc = 0;
    res->rank = RANK_NONE;
    *id_rank = RANK_NONE;
    open_container(rd);
    if (lex(rd) != T_RBRACE) {
        for (;;) {
            if (rd->tok != T_STRING) {
                rc = fail(rd, "string or '}' expected");
                break;
            }
            long i = field_of(o, rd->s, rd->n, &hint);
            if (i >= 0) {
                if ((seen >> i) & 1u) {
                    rc = fail(rd, "duplicate object key");
                    break;
                }
                seen |= UINT64_C(1) << i;
            } else {
                int dup = key_seen(rd, object ? object : (object = ++rd->objects), rd->s, rd->n);
                if (dup != 0) {
                    rc = dup < 0 ? fail_memory(rd) : fail(rd, "duplicate object key");
                    break;
                }
                if (RANK_UNKNOWN < res->rank) {
                    const char *key = current_text(rd);
                    char buf[64];
                    const char *what = o->unknown_what ? o->unknown_what : obj_name(o, buf);
                    if (!key) {
                        rc = -1;
                        break;
                    }
                    res->rank = RANK_UNKNOWN;
                    nimbus_error_set(&res->err, NIMBUS_INVALID_ARGUMENT,
                                     "%s%sunknown member \"%.64s\"", what, *what ? ": " : "", key);
                }
            }
            if (lex(rd) != T_COLON) {
                rc = fail(rd, "':' expected");
                break;
            }
            lex(rd);
            if (i < 0) {
                rc = skip_value(rd);
            } else if (rd->tok == T_NULL) {
                /* null is absent */
            } else if (rd->tok == T_ERROR) {
                rc = -1;
            } else {
                given |= UINT64_C(1) << i;
                rc = read_member(rd, o, &type->fields[i], (size_t)i, given, res, &deferred);
            }
            if (rc != 0) {
                break;
            }
            lex(rd);
            if (rd->tok == T_COMMA) {
                lex(rd);
                continue;
            }
            if (rd->tok != T_RBRACE) {
                rc = fail(rd, "'}' expected");
            }
            break;
        }
    }
    rd->open--;
    if (rc == 0) {
        /* What is absent, in table order. */
        for (size_t i = 0; i < type->count; i++) {
            const nimbus_field_t *f = &type->fields[i];
            if (((given | o->excluded) >> i) & 1u || !(f->flags & NIMBUS_FIELD_REQUIRED) ||
                (long)i == o->equal) {
                continue;
            }
            if (o->id_mode != ID_REQUIRED && strcmp(f->name, "id") == 0) {
                if (o->id_mode == ID_DEFERRED) {
                    *id_rank = RANK_FIELD(i);
                }
                continue;
            }
            refuse(res, RANK_FIELD(i), o, f->name, "is required");
        }
    }
    while (deferred) {
        deferred_t *d = deferred;
        deferred = d->next;
        if (rc == 0) {
            const nimbus_field_t *f = &type->fields[d->field];
            char buf[64], name[160];
            id_mode_t mode = id_mode_for(o, d->field, given, true);
            join_name(name, sizeof name, obj_name(o, buf), f->name);
            settle_child(res, d->field, name, d->id_rank, mode, &d->res);
            if (mode != ID_REQUIRED && d->res.rank == RANK_NONE) {
                set_flag(o->value, f->aux);
            }
        }
        free(d);
    }
    return rc;
}

/* ---- requests ----------------------------------------------------------- */

void nimbus_json_request_init(nimbus_json_request_t *req, nimbus_op_t op)
{
    memset(req, 0, sizeof *req);
    req->op = op;
}

void nimbus_json_request_cleanup(nimbus_json_request_t *req)
{
    nimbus_json_object_cleanup(nimbus_op_table[req->op].request, &req->u);
    while (req->texts) {
        struct nimbus_json_text *next = req->texts->next;
        free(req->texts);
        req->texts = next;
    }
}

/* Reads the request whose first token is next in rd (a text or a tree). */
static int read_request(reader_t *rd, const nimbus_json_target_t *target,
                        nimbus_json_request_t *req, nimbus_error_t *err)
{
    const nimbus_type_t *type = nimbus_op_table[req->op].request;
    obj_t top = {.type = type,
                 .value = &req->u,
                 .what = "",
                 .id_mode = ID_REQUIRED,
                 .target = target,
                 .unknown_what = target->container,
                 .equal = -1,
                 .in_order = target->in_order};
    const char *container = target->container ? target->container : "";
    if (type->count > FIELDS_MAX) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "%s has too many fields", type->name);
        return NIMBUS_JSON_READ_SYNTAX;
    }
    for (size_t k = 0; target->excluded && target->excluded[k]; k++) {
        for (size_t i = 0; i < type->count; i++) {
            if (strcmp(type->fields[i].name, target->excluded[k]) == 0) {
                top.excluded |= UINT64_C(1) << i;
            }
        }
    }
    for (size_t i = 0; target->equal_field && i < type->count; i++) {
        if (strcmp(type->fields[i].name, target->equal_field) == 0) {
            top.equal = (long)i;
        }
    }
    pending_t res = {RANK_NONE, {NIMBUS_OK, "", 0}};
    bool object = lex(rd) == T_LBRACE;
    int rc;
    if (object && target->value_field) {
        const nimbus_field_t *f = nimbus_type_field(type, target->value_field);
        if (!f) {
            nimbus_error_set(err, NIMBUS_INTERNAL, "%s: no request field %s", type->name,
                             target->value_field);
            return NIMBUS_JSON_READ_SYNTAX;
        }
        top.value_only = true;
        top.in_order = true;
        deferred_t *deferred = NULL; /* stays empty: value_only decides at once */
        rc = read_member(rd, &top, f, (size_t)(f - type->fields), 0, &res, &deferred);
    } else if (object) {
        uint32_t id_rank;
        rc = read_object(rd, &top, &res, &id_rank);
    } else {
        rc = skip_value(rd);
    }
    if (rc == 0 && lex(rd) != T_EOF) {
        rc = fail(rd, "end of file expected");
    }
    if (rc != 0) {
        return NIMBUS_JSON_READ_SYNTAX;
    }
    if (rd->too_deep) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "JSON nested deeper than %d levels",
                         NIMBUS_JSON_MAX_DEPTH);
        return NIMBUS_JSON_READ_SYNTAX;
    }
    if (!object) {
        if (target->not_object) {
            nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s", target->not_object);
        } else {
            nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be a JSON object", container);
        }
        return NIMBUS_JSON_READ_SYNTAX;
    }
    if (res.rank != RANK_NONE) {
        *err = res.err;
        return NIMBUS_JSON_READ_FIELDS;
    }
    return 0;
}

static void reader_cleanup(reader_t *rd)
{
    free(rd->buf);
    free(rd->slots);
    free(rd->keys);
    free(rd->stack);
    free(rd->cursor);
}

int nimbus_json_request_read(const char *text, size_t len, const nimbus_json_target_t *target,
                             nimbus_json_request_t *req, nimbus_error_t *err)
{
    if (!text) {
        text = "";
        len = 0;
    }
    reader_t rd = {.start = (const unsigned char *)text,
                   .p = (const unsigned char *)text,
                   .end = (const unsigned char *)text + len,
                   .err = err,
                   .texts = &req->texts};
    int rc = read_request(&rd, target, req, err);
    reader_cleanup(&rd);
    return rc;
}

int nimbus_json_request_decode(nimbus_op_t op, json_t *params, nimbus_json_request_t *req,
                               nimbus_error_t *err)
{
    nimbus_json_request_init(req, op);
    /* "params" names the object in the unknown-member message; the fields
     * themselves are named bare ("stationId is required"). */
    const nimbus_json_target_t target = {.container = "params"};
    if (!params || json_is_null(params)) {
        return nimbus_json_request_read("{}", 2, &target, req, err) == 0 ? 0 : -1;
    }
    reader_t rd = {.err = err, .texts = &req->texts, .tree = params};
    int rc = read_request(&rd, &target, req, err);
    reader_cleanup(&rd);
    return rc == 0 ? 0 : -1;
}
