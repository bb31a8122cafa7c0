/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Behind proxies: trusted networks, the Forwarded (RFC 7239) and
 * X-Forwarded-* readers, the host check and --public-url (see
 * nimbus_forwarded.h for what is believed from whom), and the HTTP host's
 * view of a request through them (nimbus_http_forwarded and friends in
 * nimbus_http.h).
 *
 * Every header value here may be hostile: a client talks to the trusted
 * proxy, and a proxy passes on what it does not overwrite. So parsing
 * works on bounded copies and spans (nothing is allocated), a value is
 * used only after it passed the grammar of what it stands for, and only
 * values that need no escaping anywhere (nimbus_host_valid) are ever
 * written into a document or a header.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_forwarded.h"
#include "nimbus_http.h"

/* Hops remembered per header: the right-most ones (a chain of trusted
 * proxies longer than this ends at its 32nd hop from us). */
#define HOPS_MAX 32

/* ---- characters --------------------------------------------------------- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 5.6.2 tchar. */
static bool is_tchar(char c)
{
    return is_alpha(c) || is_digit(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* RFC 3986 unreserved: all we let into a reflected host name. */
static bool is_unreserved(char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* ---- networks ----------------------------------------------------------- */

/* Reads an address (len bytes; a "%zone" suffix ignored) into addr as
 * family 4 or 6, an IPv4-mapped IPv6 address as IPv4. 0 or -1. */
static int parse_addr(const char *text, size_t len, unsigned char addr[16], unsigned char *family)
{
    char buf[INET6_ADDRSTRLEN + 1];
    const char *zone = memchr(text, '%', len);
    if (zone) {
        len = (size_t)(zone - text);
    }
    if (len == 0 || len >= sizeof buf) {
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family = 4;
        return 0;
    }
    if (zone && !memchr(buf, ':', len)) {
        return -1;
    }
    if (inet_pton(AF_INET6, buf, addr) != 1) {
        return -1;
    }
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, sizeof mapped) == 0) {
        memmove(addr, addr + 12, 4);
        memset(addr + 4, 0, 12);
        *family = 4;
        return 0;
    }
    *family = 6;
    return 0;
}

int nimbus_cidr_parse(const char *text, size_t len, nimbus_cidr_t *out)
{
    const char *slash = memchr(text, '/', len);
    size_t alen = slash ? (size_t)(slash - text) : len;
    nimbus_cidr_t net;
    memset(&net, 0, sizeof net);
    /* A zone means nothing in a network. */
    if (memchr(text, '%', alen) || parse_addr(text, alen, net.addr, &net.family) != 0) {
        return -1;
    }
    bool was_mapped = net.family == 4 && memchr(text, ':', alen) != NULL;
    unsigned max = net.family == 4 ? 32 : 128;
    unsigned bits = max;
    if (slash) {
        const char *p = slash + 1;
        const char *end = text + len;
        if (p == end || end - p > 3) {
            return -1;
        }
        bits = 0;
        for (; p < end; p++) {
            if (!is_digit(*p)) {
                return -1;
            }
            bits = bits * 10 + (unsigned)(*p - '0');
        }
        if (was_mapped) {
            /* ::ffff:10.0.0.0/104 is 10.0.0.0/8; a shorter prefix reaches
             * beyond the mapped range, which no peer address can be in. */
            if (bits < 96 || bits > 128) {
                return -1;
            }
            bits -= 96;
        }
        if (bits > max) {
            return -1;
        }
    }
    /* Bits past the prefix: a host address where a network was meant. */
    for (unsigned i = bits; i < max; i++) {
        if (net.addr[i / 8] & (0x80u >> (i % 8))) {
            return -1;
        }
    }
    net.bits = (unsigned char)bits;
    *out = net;
    return 0;
}

int nimbus_cidr_list_add(nimbus_cidr_t *list, size_t cap, size_t *count, const char *text,
                         char *why, size_t why_size)
{
    size_t n = *count;
    const char *p = text ? text : "";
    bool any = false;
    for (;;) {
        while (*p == ',' || is_blank(*p)) {
            p++;
        }
        if (!*p) {
            break;
        }
        size_t len = strcspn(p, ", \t");
        nimbus_cidr_t net;
        if (nimbus_cidr_parse(p, len, &net) != 0) {
            snprintf(why, why_size,
                     "'%.*s' is not a network (an address such as 192.0.2.7 or ::1, or "
                     "ADDRESS/BITS such as 10.0.0.0/8 or fd00::/8, with no bits set past "
                     "the prefix)",
                     (int)(len > 64 ? 64 : len), p);
            return -1;
        }
        if (n >= cap) {
            snprintf(why, why_size, "at most %zu networks in all", cap);
            return -1;
        }
        list[n++] = net;
        any = true;
        p += len;
    }
    if (!any) {
        snprintf(why, why_size, "needs a network such as 10.0.0.0/8 or 127.0.0.1");
        return -1;
    }
    *count = n;
    return 0;
}

static bool in_net(const nimbus_cidr_t *net, const unsigned char addr[16], unsigned char family)
{
    if (net->family != family) {
        return false;
    }
    unsigned whole = net->bits / 8u, rest = net->bits % 8u;
    if (memcmp(net->addr, addr, whole) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (net->addr[whole] & mask) == (addr[whole] & mask);
}

static bool trusted_addr(const nimbus_cidr_t *list, size_t n, const unsigned char addr[16],
                         unsigned char family)
{
    for (size_t i = 0; i < n; i++) {
        if (in_net(&list[i], addr, family)) {
            return true;
        }
    }
    return false;
}

bool nimbus_cidr_list_has(const nimbus_cidr_t *list, size_t n, const char *addr)
{
    unsigned char a[16], family = 0;
    return n > 0 && addr && parse_addr(addr, strlen(addr), a, &family) == 0 &&
           trusted_addr(list, n, a, family);
}

/* ---- hosts and URLs ----------------------------------------------------- */

static bool port_valid(const char *p, size_t len)
{
    if (len == 0 || len > 5) {
        return false;
    }
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(p[i])) {
            return false;
        }
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    return v <= 65535;
}

bool nimbus_host_valid(const char *text, size_t len)
{
    if (!text || len == 0 || len >= NIMBUS_FORWARDED_HOST_MAX) {
        return false;
    }
    size_t hlen;
    if (text[0] == '[') {
        const char *close = memchr(text, ']', len);
        if (!close) {
            return false;
        }
        size_t alen = (size_t)(close - text) - 1;
        char buf[INET6_ADDRSTRLEN + 1];
        unsigned char a[16];
        if (alen < 2 || alen >= sizeof buf) {
            return false;
        }
        for (size_t i = 0; i < alen; i++) {
            if (!is_hex(text[1 + i]) && text[1 + i] != ':' && text[1 + i] != '.') {
                return false; /* no zone: "%" would need escaping */
            }
        }
        memcpy(buf, text + 1, alen);
        buf[alen] = '\0';
        if (inet_pton(AF_INET6, buf, a) != 1) {
            return false;
        }
        hlen = alen + 2;
    } else {
        hlen = 0;
        while (hlen < len && text[hlen] != ':') {
            if (!is_unreserved(text[hlen])) {
                return false;
            }
            hlen++;
        }
        if (hlen == 0 || hlen > 253) {
            return false;
        }
    }
    if (hlen == len) {
        return true;
    }
    return text[hlen] == ':' && port_valid(text + hlen + 1, len - hlen - 1);
}

int nimbus_public_url_parse(const char *text, char *out, size_t size, char *why, size_t why_size)
{
    const char *scheme = NULL;
    if (strncasecmp(text, "https://", 8) == 0) {
        scheme = "https";
    } else if (strncasecmp(text, "http://", 7) == 0) {
        scheme = "http";
    } else {
        snprintf(why, why_size,
                 "needs an http:// or https:// URL, such as https://api.example.com");
        return -1;
    }
    const char *auth = text + strlen(scheme) + 3;
    size_t alen = strcspn(auth, "/?#");
    if (!nimbus_host_valid(auth, alen)) {
        snprintf(why, why_size,
                 "needs a host name, IPv4 or [IPv6] address with an optional port after "
                 "%s:// (letters, digits and -._~ only; no user name)",
                 scheme);
        return -1;
    }
    const char *path = auth + alen;
    size_t plen = strlen(path);
    for (size_t i = 0; i < plen; i++) {
        char c = path[i];
        if (c == '%' && i + 2 < plen + 1 && is_hex(path[i + 1]) && is_hex(path[i + 2])) {
            i += 2;
            continue;
        }
        if (!is_unreserved(c) && c != '/') {
            snprintf(why, why_size,
                     "the path may hold letters, digits, -._~/ and %%XX escapes only (no query "
                     "or fragment)");
            return -1;
        }
    }
    while (plen > 0 && path[plen - 1] == '/') {
        plen--;
    }
    int n = snprintf(out, size, "%s://%.*s%.*s", scheme, (int)alen, auth, (int)plen, path);
    if (n < 0 || (size_t)n >= size) {
        snprintf(why, why_size, "too long");
        return -1;
    }
    return 0;
}

/* ---- spans of header values ------------------------------------------- */

typedef struct span {
    const char *p;
    size_t len;
    bool quoted; /* a quoted-string: p is inside the quotes, escapes kept */
} span_t;

/* A list's right-most HOPS_MAX items, left to right, and how many it had. */
typedef struct spans {
    span_t item[HOPS_MAX];
    size_t kept;
    size_t total;
} spans_t;

static void spans_push(spans_t *s, span_t v)
{
    if (s->kept == HOPS_MAX) {
        memmove(s->item, s->item + 1, (HOPS_MAX - 1) * sizeof s->item[0]);
        s->kept--;
    }
    s->item[s->kept++] = v;
    s->total++;
}

/* Appends the items of one comma-separated field value, blanks trimmed;
 * empty items are not items (RFC 9110 5.6.1). */
static void split_list(const char *v, spans_t *out)
{
    const char *p = v;
    while (*p) {
        while (*p == ',' || is_blank(*p)) {
            p++;
        }
        const char *start = p;
        while (*p && *p != ',') {
            p++;
        }
        const char *end = p;
        while (end > start && is_blank(end[-1])) {
            end--;
        }
        if (end > start) {
            spans_push(out, (span_t){start, (size_t)(end - start), false});
        }
    }
}

/* Copies a span, quoted-pairs undone, into buf (size bytes). The length,
 * or -1 when it does not fit. */
static long span_copy(span_t v, char *buf, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        char c = v.p[i];
        if (v.quoted && c == '\\' && i + 1 < v.len) {
            c = v.p[++i];
        }
        if (n + 1 >= size) {
            return -1;
        }
        buf[n++] = c;
    }
    buf[n] = '\0';
    return (long)n;
}

/* ---- Forwarded (RFC 7239) ---------------------------------------------- */

typedef struct element {
    span_t for_, proto, host; /* valid where has_* says it was given */
    bool has_for, has_proto, has_host;
} element_t;

typedef struct elements {
    element_t item[HOPS_MAX];
    size_t kept;
} elements_t;

static void elements_push(elements_t *e, const element_t *el)
{
    if (e->kept == HOPS_MAX) {
        memmove(e->item, e->item + 1, (HOPS_MAX - 1) * sizeof e->item[0]);
        e->kept--;
    }
    e->item[e->kept++] = *el;
}

/* A value: token / quoted-string (qdtext and quoted-pairs; no controls
 * but HTAB). Advances *pp past it. 0 or -1. */
static int parse_value(const char **pp, span_t *out)
{
    const char *p = *pp;
    if (*p == '"') {
        const char *start = ++p;
        for (;;) {
            unsigned char c = (unsigned char)*p;
            if (c == '"') {
                break;
            }
            if (c == '\\') {
                unsigned char next = (unsigned char)p[1];
                if (next != '\t' && (next < 0x20 || next == 0x7f)) {
                    return -1; /* also a cut-off escape: next is NUL */
                }
                p += 2;
                continue;
            }
            if (c != '\t' && (c < 0x20 || c == 0x7f)) {
                return -1; /* also the end: unterminated */
            }
            p++;
        }
        *out = (span_t){start, (size_t)(p - start), true};
        *pp = p + 1;
        return 0;
    }
    const char *start = p;
    while (is_tchar(*p)) {
        p++;
    }
    if (p == start) {
        return -1;
    }
    *out = (span_t){start, (size_t)(p - start), false};
    *pp = p;
    return 0;
}

/* Appends the elements of one Forwarded field value. Blanks are taken
 * around ";" and "," (senders put them there), never around "=". A
 * parameter twice in one element is an error (RFC 7239 4); parameters
 * other than for, proto and host ("by", extensions) are skipped. 0 or -1
 * when the value does not parse. */
static int parse_forwarded(const char *v, elements_t *out)
{
    const char *p = v;
    for (;;) {
        while (is_blank(*p) || *p == ',') {
            p++;
        }
        if (!*p) {
            return 0;
        }
        element_t el;
        memset(&el, 0, sizeof el);
        bool any = false;
        for (;;) {
            while (is_blank(*p) || *p == ';') {
                p++;
            }
            if (!*p || *p == ',') {
                break;
            }
            const char *name = p;
            while (is_tchar(*p)) {
                p++;
            }
            size_t nlen = (size_t)(p - name);
            span_t value;
            if (nlen == 0 || *p != '=') {
                return -1;
            }
            p++;
            if (parse_value(&p, &value) != 0) {
                return -1;
            }
            while (is_blank(*p)) {
                p++;
            }
            if (*p && *p != ';' && *p != ',') {
                return -1;
            }
            any = true;
            span_t *slot = NULL;
            bool *seen = NULL;
            if (nlen == 3 && strncasecmp(name, "for", 3) == 0) {
                slot = &el.for_;
                seen = &el.has_for;
            } else if (nlen == 5 && strncasecmp(name, "proto", 5) == 0) {
                slot = &el.proto;
                seen = &el.has_proto;
            } else if (nlen == 4 && strncasecmp(name, "host", 4) == 0) {
                slot = &el.host;
                seen = &el.has_host;
            } else {
                continue; /* by=, or an extension */
            }
            if (*seen) {
                return -1;
            }
            *seen = true;
            *slot = value;
        }
        if (any) {
            elements_push(out, &el);
        }
    }
}

/* What a node (RFC 7239 6) or an X-Forwarded-For entry names. */
typedef enum { NODE_BAD, NODE_ADDR, NODE_NAME } node_kind_t;

static bool obf_chars(const char *p, size_t len)
{
    if (len < 2 || p[0] != '_') {
        return false;
    }
    for (size_t i = 1; i < len; i++) {
        if (!is_alpha(p[i]) && !is_digit(p[i]) && p[i] != '.' && p[i] != '_' && p[i] != '-') {
            return false;
        }
    }
    return true;
}

/* Reads a node: nodename [":" node-port], nodename = IPv4address /
 * "[" IPv6address "]" / "unknown" / obfnode. Writes the name without
 * brackets or port into client; an address also into addr/family. With
 * xff, the looser forms of X-Forwarded-For instead: an address, a bare
 * IPv6 one too, with an optional port, and no names. */
static node_kind_t parse_node(const char *v, size_t len, bool xff, char client[],
                              unsigned char addr[16], unsigned char *family)
{
    if (len == 0) {
        return NODE_BAD;
    }
    const char *name = v;
    size_t nlen;
    const char *rest;
    size_t colons = 0;
    for (size_t i = 0; i < len; i++) {
        colons += v[i] == ':';
    }
    if (xff && colons > 1 && v[0] != '[') {
        nlen = len; /* a bare IPv6 address: every colon is its own */
        rest = v + len;
    } else if (v[0] == '[') {
        const char *close = memchr(v, ']', len);
        if (!close) {
            return NODE_BAD;
        }
        name = v + 1;
        nlen = (size_t)(close - name);
        rest = close + 1;
        if (!memchr(name, ':', nlen)) {
            return NODE_BAD; /* brackets hold IPv6 only */
        }
    } else {
        const char *colon = memchr(v, ':', len);
        nlen = colon ? (size_t)(colon - v) : len;
        rest = v + nlen;
    }
    size_t rlen = (size_t)(v + len - rest);
    if (rlen > 0) {
        if (rest[0] != ':' ||
            !(port_valid(rest + 1, rlen - 1) || (!xff && obf_chars(rest + 1, rlen - 1)))) {
            return NODE_BAD;
        }
    }
    if (nlen == 0 || nlen >= NIMBUS_FORWARDED_CLIENT_MAX) {
        return NODE_BAD;
    }
    node_kind_t kind = NODE_BAD;
    if (memchr(name, '%', nlen)) {
        return NODE_BAD; /* no zones from the outside */
    }
    if (parse_addr(name, nlen, addr, family) == 0) {
        /* A bare IPv6 address is only X-Forwarded-For's; IPv4 never
         * in brackets (checked above). */
        bool bracketed = name != v;
        bool v6text = memchr(name, ':', nlen) != NULL;
        if (xff || v6text == bracketed) {
            kind = NODE_ADDR;
        }
    } else if (!xff && ((nlen == 7 && strncasecmp(name, "unknown", 7) == 0) ||
                        (name == v && obf_chars(name, nlen)))) {
        kind = NODE_NAME;
    }
    if (kind != NODE_BAD) {
        memcpy(client, name, nlen);
        client[nlen] = '\0';
        if (kind == NODE_NAME && name[0] != '_') {
            memcpy(client, "unknown", 8); /* one spelling */
        }
    }
    return kind;
}

/* "http" or "https" for a value naming either (any case), else NULL. */
static const char *known_scheme(span_t v)
{
    char buf[8];
    if (span_copy(v, buf, sizeof buf) < 0) {
        return NULL;
    }
    if (strcasecmp(buf, "https") == 0) {
        return "https";
    }
    if (strcasecmp(buf, "http") == 0) {
        return "http";
    }
    return NULL;
}

static bool take_host(span_t v, char host[NIMBUS_FORWARDED_HOST_MAX])
{
    char buf[NIMBUS_FORWARDED_HOST_MAX];
    long n = span_copy(v, buf, sizeof buf);
    if (n <= 0 || !nimbus_host_valid(buf, (size_t)n)) {
        return false;
    }
    memcpy(host, buf, (size_t)n + 1);
    return true;
}

/* ---- the reader --------------------------------------------------------- */

void nimbus_forwarded_read(const struct evkeyvalq *headers, const char *peer,
                           const nimbus_cidr_t *trusted, size_t n, nimbus_forwarded_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->client, sizeof out->client, "%s", peer && *peer ? peer : "?");
    const char *host_header = NULL;
    struct evkeyval *kv;
    out->trusted = nimbus_cidr_list_has(trusted, n, peer);
    elements_t fwd;
    spans_t xff, xfp, xfh;
    fwd.kept = 0;
    xff.kept = xff.total = xfp.kept = xfp.total = xfh.kept = xfh.total = 0;
    bool fwd_ok = true;
    TAILQ_FOREACH(kv, headers, next)
    {
        if (strcasecmp(kv->key, "Host") == 0) {
            if (!host_header) {
                host_header = kv->value;
            }
        } else if (!out->trusted) {
            continue;
        } else if (strcasecmp(kv->key, "Forwarded") == 0) {
            fwd_ok = fwd_ok && parse_forwarded(kv->value, &fwd) == 0;
        } else if (strcasecmp(kv->key, "X-Forwarded-For") == 0) {
            split_list(kv->value, &xff);
        } else if (strcasecmp(kv->key, "X-Forwarded-Proto") == 0) {
            split_list(kv->value, &xfp);
        } else if (strcasecmp(kv->key, "X-Forwarded-Host") == 0) {
            split_list(kv->value, &xfh);
        }
    }
    bool have_client = false, have_host = false;
    if (out->trusted && fwd_ok && fwd.kept > 0) {
        /* Right to left, past the trusted proxies. */
        size_t i = fwd.kept;
        const element_t *el = NULL;
        while (i-- > 0) {
            el = &fwd.item[i];
            char name[NIMBUS_FORWARDED_CLIENT_MAX], value[NIMBUS_FORWARDED_CLIENT_MAX + 64];
            unsigned char addr[16], family = 0;
            long len = el->has_for ? span_copy(el->for_, value, sizeof value) : -1;
            node_kind_t kind =
                len > 0 ? parse_node(value, (size_t)len, false, name, addr, &family) : NODE_BAD;
            if (kind == NODE_ADDR && i > 0 && trusted_addr(trusted, n, addr, family)) {
                continue;
            }
            if (kind != NODE_BAD) {
                memcpy(out->client, name, sizeof name);
                have_client = true;
            }
            break;
        }
        /* The element the client's first proxy wrote: its proto and host
         * are what the client used (a proto other than http(s), or a host
         * we would not reflect, says nothing we can use). */
        if (el->has_proto) {
            out->scheme = known_scheme(el->proto);
        }
        if (el->has_host) {
            have_host = take_host(el->host, out->host);
        }
    }
    /* X-Forwarded-For, for what Forwarded did not say; the position of the
     * client in it picks X-Forwarded-Proto's and -Host's value when they
     * list as many (one per hop), else their last is the nearest proxy's. */
    long xff_at = -1;
    if (out->trusted && xff.kept > 0) {
        size_t i = xff.kept;
        while (i-- > 0) {
            char name[NIMBUS_FORWARDED_CLIENT_MAX];
            unsigned char addr[16], family = 0;
            node_kind_t kind =
                parse_node(xff.item[i].p, xff.item[i].len, true, name, addr, &family);
            if (kind == NODE_ADDR && i > 0 && trusted_addr(trusted, n, addr, family)) {
                continue;
            }
            if (kind == NODE_ADDR) {
                xff_at = (long)(xff.total - xff.kept + i);
                if (!have_client) {
                    memcpy(out->client, name, sizeof name);
                    have_client = true;
                }
            }
            break;
        }
    }
    if (!out->scheme && xfp.kept > 0) {
        size_t at = xff_at >= 0 && xfp.total == xff.total && (size_t)xff_at >= xfp.total - xfp.kept
                        ? (size_t)xff_at - (xfp.total - xfp.kept)
                        : xfp.kept - 1;
        out->scheme = known_scheme(xfp.item[at]);
    }
    if (!have_host && xfh.kept > 0) {
        size_t at = xff_at >= 0 && xfh.total == xff.total && (size_t)xff_at >= xfh.total - xfh.kept
                        ? (size_t)xff_at - (xfh.total - xfh.kept)
                        : xfh.kept - 1;
        have_host = take_host(xfh.item[at], out->host);
    }
    if (!have_host && host_header) {
        have_host = take_host((span_t){host_header, strlen(host_header), false}, out->host);
    }
}

/* ---- the HTTP host's view ---------------------------------------------- */

void nimbus_http_forwarded(const nimbus_worker_t *w, struct evhttp_request *req,
                           nimbus_forwarded_t *out)
{
    const nimbus_config_t *cfg = w->config;
    nimbus_forwarded_read(evhttp_request_get_input_headers(req), nimbus_http_peer(req),
                          cfg->trusted_proxies, cfg->trusted_proxy_count, out);
    if (!out->scheme) {
        out->scheme = nimbus_http_scheme(w);
    }
}

const char *nimbus_http_client(const nimbus_worker_t *w, struct evhttp_request *req, char *buf,
                               size_t size)
{
    if (w->config->trusted_proxy_count == 0) {
        /* Every request asks this; a copy without printf's machinery. */
        const char *peer = nimbus_http_peer(req);
        size_t len = strnlen(peer, size - 1);
        memcpy(buf, peer, len);
        buf[len] = '\0';
        return buf;
    }
    nimbus_forwarded_t f;
    nimbus_http_forwarded(w, req, &f);
    snprintf(buf, size, "%s", f.client);
    return buf;
}

void nimbus_http_base_url(const nimbus_worker_t *w, struct evhttp_request *req, char *buf,
                          size_t size)
{
    if (w->config->public_url[0]) {
        snprintf(buf, size, "%s", w->config->public_url);
        return;
    }
    nimbus_forwarded_t f;
    nimbus_http_forwarded(w, req, &f);
    snprintf(buf, size, "%s://%s", f.scheme,
             f.host[0] ? f.host : (w->authority ? w->authority : "localhost"));
}
