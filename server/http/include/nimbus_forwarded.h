/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Behind proxies (forwarded.c): which peers are trusted proxies
 * (--trusted-proxy CIDR), what such a peer says about the request it passes
 * on (Forwarded, RFC 7239, and X-Forwarded-For, -Proto and -Host), which
 * Host values are well-formed enough to be written into a document (the
 * WSDL's soap:address, OpenAPI's servers, Location), and the --public-url
 * that pins the advertised base URL. Everything here is pure (no sockets,
 * no configuration): the HTTP host applies it to a request
 * (nimbus_http_forwarded in nimbus_http.h), and the unit tests feed it
 * hostile header values directly.
 *
 * What is read from whom:
 * - From a peer that is not a trusted proxy nothing but its own address and
 *   its Host header counts; Forwarded and X-Forwarded-* are ignored.
 * - From a trusted proxy, the chain of hops is read right to left (the
 *   right-most hop was added by the proxy we talk to, each one further left
 *   by the hop before it): the client is the right-most hop that is not
 *   itself a trusted proxy, and what that hop's element says of the scheme
 *   and host is what the client used. Elements further left were written by
 *   the client or by proxies we do not trust, and are never looked at.
 * - Forwarded wins over X-Forwarded-* for each of the three facts (client,
 *   scheme, host) it gives; a fact it does not give comes from the
 *   X-Forwarded-* header, then from the connection itself.
 */
#ifndef NIMBUS_FORWARDED_H
#define NIMBUS_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

struct evkeyvalq;

/* --trusted-proxy networks a server holds at most. */
#define NIMBUS_MAX_TRUSTED_PROXIES 64
/* A client's address as text ("2001:db8::1"), or a proxy's identifier for
 * it ("_hidden", "unknown"), NUL included. */
#define NIMBUS_FORWARDED_CLIENT_MAX 64
/* A host[:port] we reflect, NUL included (a DNS name is at most 253). */
#define NIMBUS_FORWARDED_HOST_MAX 262
/* --public-url, NUL included. */
#define NIMBUS_PUBLIC_URL_MAX 512

/* An IPv4 or IPv6 network: the first `bits` bits of addr. */
typedef struct nimbus_cidr {
    unsigned char family; /* 4 or 6 */
    unsigned char bits;   /* 0..32 or 0..128 */
    unsigned char addr[16];
} nimbus_cidr_t;

/* Parses one network, len bytes of text: "10.0.0.0/8", "192.0.2.7" (a /32),
 * "fd00::/8", "::1" (a /128). Bits set past the prefix are refused
 * ("10.0.0.1/8": probably a typo for a host). IPv4-mapped IPv6 networks
 * ("::ffff:10.0.0.0/104") are kept as the IPv4 network they map. Returns 0
 * or -1. */
int nimbus_cidr_parse(const char *text, size_t len, nimbus_cidr_t *out);

/* Adds every network of text, a list separated by commas or blanks (one
 * --trusted-proxy value, or a config file's), to list[*count..cap). Returns
 * 0, or -1 with a sentence for the user in why (nothing added then). */
int nimbus_cidr_list_add(nimbus_cidr_t *list, size_t cap, size_t *count, const char *text,
                         char *why, size_t why_size);

/* true when addr, an address as text ("10.1.2.3", "::1", "::ffff:10.1.2.3",
 * "fe80::1%eth0"), is in one of the n networks. false for anything that is
 * not an address. */
bool nimbus_cidr_list_has(const nimbus_cidr_t *list, size_t n, const char *addr);

/* true when len bytes of text are a host we may write into a document or a
 * header: host [":" port] where host is an IPv4 address, a bracketed IPv6
 * address (no zone), or an RFC 3986 reg-name made only of letters, digits
 * and "-" "." "_" "~" (no percent-encoding, no sub-delims: nothing that
 * needs escaping in XML, JSON or a URL), 1..253 characters; port is 1..5
 * digits up to 65535. */
bool nimbus_host_valid(const char *text, size_t len);

/* Checks and normalises a --public-url: "http" or "https" (any case), "://",
 * a valid host (nimbus_host_valid), then an optional path of letters,
 * digits, "-._~/" and %XX escapes; no userinfo, query or fragment. Writes
 * it without its trailing slashes and with the scheme in lower case into
 * out (size bytes). Returns 0, or -1 with a sentence in why. */
int nimbus_public_url_parse(const char *text, char *out, size_t size, char *why, size_t why_size);

/* What a request says about its client, as far as we believe it. */
typedef struct nimbus_forwarded {
    /* The peer is a trusted proxy: what follows may come from it. */
    bool trusted;
    /* The client: an address ("192.0.2.60", "2001:db8::1": brackets and
     * port dropped), or the proxy's identifier for it ("_hidden",
     * "unknown"); the peer's address when nothing else is believed. */
    char client[NIMBUS_FORWARDED_CLIENT_MAX];
    /* "http" or "https" as the client used it (static), NULL when no
     * trusted proxy said: then it is the connection's own. */
    const char *scheme;
    /* host[:port] as the client asked for it (a trusted proxy's word, else
     * the Host header), always nimbus_host_valid; "" when there is none
     * that is. */
    char host[NIMBUS_FORWARDED_HOST_MAX];
} nimbus_forwarded_t;

/* Reads headers (a request's input headers) as received from peer (its
 * address as text, NULL or "" when unknown) into *out, believing the
 * forwarding headers only when peer is in one of the n trusted networks.
 * Never fails: a header that does not parse is as if absent (Forwarded:
 * as a whole, since its quoted strings may hide commas; X-Forwarded-*: the
 * hops we would look at). */
void nimbus_forwarded_read(const struct evkeyvalq *headers, const char *peer,
                           const nimbus_cidr_t *trusted, size_t n, nimbus_forwarded_t *out);

#endif
