/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of server/http/forwarded.c: trusted networks (--trusted-proxy),
 * the host check and --public-url, and what nimbus_forwarded_read believes
 * of Forwarded (RFC 7239) and X-Forwarded-* from whom: a right-to-left walk
 * past trusted proxies, quoted strings, IPv6 in brackets, obfuscated
 * identifiers, several fields, and malformed values ignored. Then a
 * fuzz-ish pass: a few hundred thousand generated and mutated header values
 * (fixed seed, so a failure repeats), each checked for what may come out
 * (a client name of safe characters, a host that passes the check, a
 * scheme that is http or https); ASan and UBSan in the asan build see every
 * byte the parser reads.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_cunit.h"
#include "nimbus_forwarded.h"

/* ---- networks ----------------------------------------------------------- */

static int cidr(const char *text, nimbus_cidr_t *out)
{
    return nimbus_cidr_parse(text, strlen(text), out);
}

static void test_cidr(void)
{
    nimbus_cidr_t n;
    CU_ASSERT_EQUAL(cidr("10.0.0.0/8", &n), 0);
    CU_ASSERT_EQUAL(n.family, 4);
    CU_ASSERT_EQUAL(n.bits, 8);
    CU_ASSERT_EQUAL(cidr("192.0.2.7", &n), 0);
    CU_ASSERT_EQUAL(n.bits, 32);
    CU_ASSERT_EQUAL(cidr("0.0.0.0/0", &n), 0);
    CU_ASSERT_EQUAL(cidr("fd00::/8", &n), 0);
    CU_ASSERT_EQUAL(n.family, 6);
    CU_ASSERT_EQUAL(n.bits, 8);
    CU_ASSERT_EQUAL(cidr("::1", &n), 0);
    CU_ASSERT_EQUAL(n.bits, 128);
    /* An IPv4-mapped network is the IPv4 one. */
    CU_ASSERT_EQUAL(cidr("::ffff:10.0.0.0/104", &n), 0);
    CU_ASSERT_EQUAL(n.family, 4);
    CU_ASSERT_EQUAL(n.bits, 8);
    static const char *const bad[] = {
        "",         "/8",          "10.0.0.0/",     "10.0.0.0/33", "10.0.0.1/8", "10.0.0.0/8x",
        "10.0.0/8", "10.0.0.0/-1", "fd00::/129",    "fd00::1/8",   "host.name",  "fe80::1%eth0",
        "::/1000",  "1.2.3.4/08x", "::ffff:0:0/95", "10.0.0.0 /8",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (cidr(bad[i], &n) == 0) {
            CU_FAIL(bad[i]);
        }
    }
}

static void test_cidr_list(void)
{
    nimbus_cidr_t list[4];
    size_t count = 0;
    char why[200];
    CU_ASSERT_EQUAL(nimbus_cidr_list_add(list, 4, &count, "10.0.0.0/8, fd00::/8", why, sizeof why),
                    0);
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT_EQUAL(nimbus_cidr_list_add(list, 4, &count, "127.0.0.1", why, sizeof why), 0);
    CU_ASSERT_EQUAL(count, 3);
    /* One bad network adds nothing, and says which. */
    CU_ASSERT_EQUAL(nimbus_cidr_list_add(list, 4, &count, "::1 nonsense", why, sizeof why), -1);
    CU_ASSERT_EQUAL(count, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "'nonsense'"));
    CU_ASSERT_EQUAL(nimbus_cidr_list_add(list, 4, &count, " , ", why, sizeof why), -1);
    CU_ASSERT_EQUAL(nimbus_cidr_list_add(list, 4, &count, "::1,::2", why, sizeof why), -1);
    CU_ASSERT_EQUAL(count, 3);

    CU_ASSERT_TRUE(nimbus_cidr_list_has(list, count, "10.200.3.4"));
    CU_ASSERT_TRUE(nimbus_cidr_list_has(list, count, "::ffff:10.200.3.4")); /* dual-stack peer */
    CU_ASSERT_TRUE(nimbus_cidr_list_has(list, count, "fd12::1"));
    CU_ASSERT_TRUE(nimbus_cidr_list_has(list, count, "127.0.0.1"));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(list, count, "127.0.0.2"));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(list, count, "11.0.0.1"));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(list, count, "fe80::1"));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(list, count, "?"));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(list, count, ""));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(list, count, NULL));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(list, 0, "10.0.0.1"));
    /* Odd prefixes: the bits inside a byte count. */
    nimbus_cidr_t odd;
    CU_ASSERT_EQUAL(cidr("192.0.2.128/25", &odd), 0);
    CU_ASSERT_TRUE(nimbus_cidr_list_has(&odd, 1, "192.0.2.200"));
    CU_ASSERT_FALSE(nimbus_cidr_list_has(&odd, 1, "192.0.2.100"));
}

/* ---- hosts and --public-url --------------------------------------------- */

static bool host_ok(const char *h)
{
    return nimbus_host_valid(h, strlen(h));
}

static void test_host(void)
{
    static const char *const good[] = {
        "example.com", "api.example.com:8443", "127.0.0.1", "127.0.0.1:80",
        "[::1]",       "[2001:db8::1]:443",    "localhost", "a-b_c~d.e",
        "x",           "[::ffff:192.0.2.1]:1", "h:65535",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!host_ok(good[i])) {
            CU_FAIL(good[i]);
        }
    }
    static const char *const bad[] = {
        "",
        ":80",
        "h:",
        "h:65536",
        "h:123456",
        "h:8a",
        "evil.example/<script>",
        "a b",
        "a\"b",
        "a'b",
        "a<b",
        "a&b",
        "a%41",
        "user@host",
        "[::1",
        "::1",
        "[::1]x",
        "[::1]:",
        "[fe80::1%25eth0]",
        "[1.2.3.4]",
        "[zz::1]",
        "h:80:80",
        "h\r\nX: y",
        "a,b",
        "a;b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (host_ok(bad[i])) {
            CU_FAIL(bad[i]);
        }
    }
    char longest[300];
    memset(longest, 'a', 253);
    longest[253] = '\0';
    CU_ASSERT_TRUE(host_ok(longest));
    longest[253] = 'a';
    longest[254] = '\0';
    CU_ASSERT_FALSE(host_ok(longest));
}

static void test_public_url(void)
{
    char out[NIMBUS_PUBLIC_URL_MAX], why[200];
    static const char *const good[][2] = {
        {"https://api.example.com", "https://api.example.com"},
        {"HTTPS://api.example.com/", "https://api.example.com"},
        {"http://127.0.0.1:8080/nimbus//", "http://127.0.0.1:8080/nimbus"},
        {"https://[2001:db8::1]:8443/a/b%20c", "https://[2001:db8::1]:8443/a/b%20c"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CU_ASSERT_EQUAL(nimbus_public_url_parse(good[i][0], out, sizeof out, why, sizeof why), 0);
        CU_ASSERT_STRING_EQUAL(out, good[i][1]);
    }
    static const char *const bad[] = {
        "api.example.com",
        "ftp://x",
        "https://",
        "https:///x",
        "https://u@h",
        "https://h?x=1",
        "https://h#f",
        "https://h/<x>",
        "https://h/a\"b",
        "https://h/%zz",
        "https://h/%4",
        "https://h:99999",
        "https://evil<>.example",
        "https://h/a b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (nimbus_public_url_parse(bad[i], out, sizeof out, why, sizeof why) == 0) {
            CU_FAIL(bad[i]);
        }
    }
    char tiny[12];
    CU_ASSERT_EQUAL(
        nimbus_public_url_parse("https://api.example.com", tiny, sizeof tiny, why, sizeof why), -1);
}

/* ---- reading a request -------------------------------------------------- */

/* Headers as evhttp keeps them, built by hand so that any bytes (but NUL)
 * can be values, as they can be on the wire after evhttp's parsing. */
#define MAX_FIELDS 8
typedef struct fields {
    struct evkeyvalq q;
    struct evkeyval kv[MAX_FIELDS];
    size_t n;
} fields_t;

static void fields_init(fields_t *f)
{
    TAILQ_INIT(&f->q);
    f->n = 0;
}

static void field(fields_t *f, const char *name, const char *value)
{
    CU_ASSERT_FATAL(f->n < MAX_FIELDS);
    struct evkeyval *kv = &f->kv[f->n++];
    kv->key = (char *)name;
    kv->value = (char *)value;
    TAILQ_INSERT_TAIL(&f->q, kv, next);
}

static nimbus_cidr_t trusted[8];
static size_t trusted_n;

static int trusted_init(void)
{
    char why[200];
    trusted_n = 0;
    return nimbus_cidr_list_add(trusted, 8, &trusted_n, "10.0.0.0/8 127.0.0.1 fd00::/8", why,
                                sizeof why);
}

/* Reads headers given as name, value pairs (NULL ends) from peer. */
static nimbus_forwarded_t read_from(const char *peer, ...)
{
    fields_t f;
    fields_init(&f);
    va_list ap;
    va_start(ap, peer);
    const char *name;
    while ((name = va_arg(ap, const char *)) != NULL) {
        field(&f, name, va_arg(ap, const char *));
    }
    va_end(ap);
    nimbus_forwarded_t out;
    nimbus_forwarded_read(&f.q, peer, trusted, trusted_n, &out);
    return out;
}

#define PROXY "10.0.0.1"
#define SCHEME(f) ((f).scheme ? (f).scheme : "(none)")

static void test_untrusted_peer(void)
{
    nimbus_forwarded_t f =
        read_from("203.0.113.5", "Host", "h.example", "Forwarded",
                  "for=192.0.2.1;proto=https;host=evil.example", "X-Forwarded-For", "192.0.2.2",
                  "X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example", NULL);
    CU_ASSERT_FALSE(f.trusted);
    CU_ASSERT_STRING_EQUAL(f.client, "203.0.113.5");
    CU_ASSERT_PTR_NULL(f.scheme);
    CU_ASSERT_STRING_EQUAL(f.host, "h.example");
    /* No Host, or one not fit to reflect: none. */
    f = read_from("203.0.113.5", "Host", "evil.example\"><x", NULL);
    CU_ASSERT_STRING_EQUAL(f.host, "");
    f = read_from(NULL, NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "?");
    CU_ASSERT_STRING_EQUAL(f.host, "");
}

static void test_forwarded(void)
{
    nimbus_forwarded_t f = read_from(PROXY, "Host", "10.0.0.9:8080", "Forwarded",
                                     "for=192.0.2.60;proto=https;host=api.example.com", NULL);
    CU_ASSERT_TRUE(f.trusted);
    CU_ASSERT_STRING_EQUAL(f.client, "192.0.2.60");
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    CU_ASSERT_STRING_EQUAL(f.host, "api.example.com");

    /* Quoted strings: IPv6 in brackets with a port, a host with a port,
     * escapes; names and values in any case. */
    f = read_from(PROXY, "Forwarded",
                  "For=\"[2001:db8:cafe::17]:4711\";PROTO=HTTPS;host=\"api.ex\\ample.com:8443\"",
                  NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "2001:db8:cafe::17");
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    CU_ASSERT_STRING_EQUAL(f.host, "api.example.com:8443");
    f = read_from(PROXY, "Forwarded", "for=\"192.0.2.43:47011\"", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "192.0.2.43");

    /* Obfuscated identifiers and "unknown" are the client's name. */
    f = read_from(PROXY, "Forwarded", "for=_hidden", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "_hidden");
    f = read_from(PROXY, "Forwarded", "for=\"_SEVKISEK:_port-1\"", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "_SEVKISEK");
    f = read_from(PROXY, "Forwarded", "for=UNKNOWN", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "unknown");

    /* Blanks around ";" and ",", by= and extensions skipped. */
    f = read_from(PROXY, "Forwarded", " for=192.0.2.1 ; by=_proxy ; ext=\"a,b;c\" ; proto=https , ",
                  NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "192.0.2.1");
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
}

static void test_forwarded_chain(void)
{
    /* The right-most hop not a trusted proxy is the client; its element
     * says what the client used. */
    nimbus_forwarded_t f = read_from(
        PROXY, "Forwarded",
        "for=198.51.100.1;proto=https;host=a.example, for=10.1.2.3;proto=http;host=inner", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.1");
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    CU_ASSERT_STRING_EQUAL(f.host, "a.example");
    /* A client's own Forwarded, to which the proxy appended: the client's
     * words are left of the proxy's and never read. */
    f = read_from(PROXY, "Forwarded",
                  "for=1.1.1.1;proto=http;host=evil.example, "
                  "for=198.51.100.9;proto=https;host=good.example",
                  NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.9");
    CU_ASSERT_STRING_EQUAL(f.host, "good.example");
    /* The same across several fields. */
    f = read_from(PROXY, "Forwarded", "for=1.1.1.1;host=evil.example", "Forwarded",
                  "for=198.51.100.9;host=good.example", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.9");
    CU_ASSERT_STRING_EQUAL(f.host, "good.example");
    /* IPv6 hops: a trusted one skipped, then the client. */
    f = read_from("fd00::1", "Forwarded", "for=\"[2001:db8::5]\", for=\"[fd00::2]:80\"", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "2001:db8::5");
    /* Every hop trusted: the left-most is the client. */
    f = read_from(PROXY, "Forwarded", "for=10.1.1.1, for=10.2.2.2", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "10.1.1.1");
    /* A dual-stack listener's IPv4-mapped peer is the IPv4 address. */
    f = read_from("::ffff:10.0.0.1", "Forwarded", "for=192.0.2.1", NULL);
    CU_ASSERT_TRUE(f.trusted);
    CU_ASSERT_STRING_EQUAL(f.client, "192.0.2.1");
    /* A longer chain than is kept: the right-most hops decide. */
    char many[2048] = "for=192.0.2.1";
    for (int i = 0; i < 40; i++) {
        snprintf(many + strlen(many), sizeof many - strlen(many), ", for=10.0.0.%d", i + 1);
    }
    f = read_from(PROXY, "Forwarded", many, NULL);
    CU_ASSERT_EQUAL(strncmp(f.client, "10.0.0.", 7), 0);
    strcat(many, ", for=198.51.100.3");
    f = read_from(PROXY, "Forwarded", many, NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.3");
}

static void test_forwarded_malformed(void)
{
    /* A value that does not parse is ignored whole: the client is the
     * peer (or X-Forwarded-For's), nothing of it reflected. */
    static const char *const bad[] = {
        "for=\"unterminated;host=evil.example",
        "for=[::1];host=evil.example",
        "for=1.2.3.4;for=5.6.7.8;host=evil.example",
        "for=1.2.3.4 proto=https;host=evil.example",
        "for=1.2.3.4;host=evil.example;host=evil.example",
        "=x;host=evil.example",
        "for;host=evil.example",
        "for=;host=evil.example",
        "for = 1.2.3.4;host=evil.example",
        "host=evil.example;for=\"a\\",
        "host=evil.example;for=\"a\x01\"",
        "host=evil.example;for=\"a\"b",
        "host=evil.example, for=\"x, for=198.51.100.1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nimbus_forwarded_t f = read_from(PROXY, "Host", "h.example", "Forwarded", bad[i],
                                         "X-Forwarded-Proto", "https", NULL);
        if (strcmp(f.client, PROXY) != 0 || strcmp(f.host, "h.example") != 0) {
            CU_FAIL(bad[i]);
        }
        /* X-Forwarded-* still count. */
        CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    }
    /* Well-formed, but values that say nothing usable: each fact comes
     * from the next source. */
    nimbus_forwarded_t f =
        read_from(PROXY, "Host", "h.example", "Forwarded",
                  "for=\"\";proto=ftp;host=\"evil.example/<script>\"", "X-Forwarded-For",
                  "198.51.100.4", "X-Forwarded-Host", "x.example", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.4");
    CU_ASSERT_PTR_NULL(f.scheme);
    CU_ASSERT_STRING_EQUAL(f.host, "x.example");
    static const char *const nodes[] = {
        "for=1.2.3",
        "for=\"1.2.3.4:99999\"",
        "for=\"[1.2.3.4]\"",
        "for=\"2001:db8::1\"",
        "for=\"[2001:db8::1\"",
        "for=\"[fe80::1%eth0]\"",
        "for=_",
        "for=\"_a:b\"",
        "for=abc",
        "for=\"1.2.3.4:_\"",
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        f = read_from(PROXY, "Forwarded", nodes[i], NULL);
        if (strcmp(f.client, PROXY) != 0) {
            CU_FAIL(nodes[i]);
        }
    }
    /* A proxy's element without for= (it gives only proto and host): the
     * client comes from X-Forwarded-For. */
    f = read_from(PROXY, "Forwarded", "proto=https;host=p.example", "X-Forwarded-For",
                  "198.51.100.5", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.5");
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    CU_ASSERT_STRING_EQUAL(f.host, "p.example");
}

static void test_x_forwarded(void)
{
    nimbus_forwarded_t f =
        read_from(PROXY, "Host", "127.0.0.1:9000", "X-Forwarded-For", "198.51.100.2",
                  "X-Forwarded-Proto", "https", "X-Forwarded-Host", "api.example.com:8443", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.2");
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    CU_ASSERT_STRING_EQUAL(f.host, "api.example.com:8443");
    /* Right to left past trusted proxies; what the client put first is
     * never read. */
    f = read_from(PROXY, "X-Forwarded-For", "1.1.1.1, 198.51.100.2, 10.9.9.9", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.2");
    f = read_from(PROXY, "X-Forwarded-For", "junk<>, 198.51.100.2", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.2");
    f = read_from(PROXY, "X-Forwarded-For", "1.1.1.1", "X-Forwarded-For", "198.51.100.2", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "198.51.100.2");
    /* A hop we would read that is not an address: the peer. */
    f = read_from(PROXY, "X-Forwarded-For", "198.51.100.2, junk", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, PROXY);
    f = read_from(PROXY, "X-Forwarded-For", "unknown", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, PROXY);
    /* The forms proxies write. */
    static const char *const forms[][2] = {
        {"1.2.3.4:5678", "1.2.3.4"},    {"[2001:db8::1]:80", "2001:db8::1"},
        {"2001:db8::1", "2001:db8::1"}, {"[2001:db8::1]", "2001:db8::1"},
        {" 1.2.3.4 ,,", "1.2.3.4"},     {"::ffff:1.2.3.4", "::ffff:1.2.3.4"},
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        f = read_from(PROXY, "X-Forwarded-For", forms[i][0], NULL);
        CU_ASSERT_STRING_EQUAL(f.client, forms[i][1]);
    }
    /* One value per hop: the client's position picks the proto and host;
     * otherwise the last (the nearest proxy's). */
    f = read_from(PROXY, "X-Forwarded-For", "198.51.100.2, 10.1.1.1", "X-Forwarded-Proto",
                  "https, http", "X-Forwarded-Host", "a.example, inner", NULL);
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    CU_ASSERT_STRING_EQUAL(f.host, "a.example");
    f = read_from(PROXY, "X-Forwarded-For", "198.51.100.2, 10.1.1.1", "X-Forwarded-Proto", "HTTPS",
                  NULL);
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "https");
    f = read_from(PROXY, "X-Forwarded-Proto", "gopher", "X-Forwarded-Host", "bad host", "Host",
                  "h.example", NULL);
    CU_ASSERT_PTR_NULL(f.scheme);
    CU_ASSERT_STRING_EQUAL(f.host, "h.example");
    /* Forwarded wins where it speaks. */
    f = read_from(PROXY, "Forwarded", "for=192.0.2.9;proto=http", "X-Forwarded-For", "198.51.100.2",
                  "X-Forwarded-Proto", "https", NULL);
    CU_ASSERT_STRING_EQUAL(f.client, "192.0.2.9");
    CU_ASSERT_STRING_EQUAL(SCHEME(f), "http");
}

/* ---- fuzz-ish ----------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Appends a random piece: grammar's own tokens, addresses and the bytes
 * that break parsers (quotes, escapes, controls, high bytes). */
static void add_piece(char *buf, size_t size)
{
    static const char *const pieces[] = {
        "for=",
        "For=",
        "proto=",
        "host=",
        "by=",
        "x=",
        "=",
        ";",
        ",",
        " ",
        "\t",
        "\"",
        "\\",
        "\\\"",
        "[",
        "]",
        ":",
        "_",
        "_h1",
        "unknown",
        "1.2.3.4",
        "10.0.0.2",
        "198.51.100.7",
        "::1",
        "2001:db8::1",
        "[2001:db8::1]",
        ":8443",
        ":_p",
        "https",
        "http",
        "HTTP",
        "ftp",
        "example.com",
        "a.example:80",
        "<",
        ">",
        "&",
        "'",
        "%",
        "%25",
        "\x01",
        "\x7f",
        "\xff",
        "\xc3\xa9",
        "65536",
        "99999999999",
        "\"\"",
        ",,",
        ";;",
        "fe80::1%eth0",
        "::ffff:10.0.0.3",
        "x\r\n",
        "/",
        "@",
    };
    size_t len = strlen(buf);
    const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
    if (rnd(8) == 0) {
        char one[2] = {(char)(1 + rnd(255)), '\0'};
        p = one;
        if (len + 1 < size) {
            memcpy(buf + len, p, 2);
        }
        return;
    }
    size_t plen = strlen(p);
    if (len + plen < size) {
        memcpy(buf + len, p, plen + 1);
    }
}

/* A well-formed value, then maybe mutated: a byte flipped, cut short, or
 * a piece spliced in. */
static void make_value(char *buf, size_t size, bool x_list)
{
    buf[0] = '\0';
    int n = 1 + (int)rnd(12);
    for (int i = 0; i < n; i++) {
        add_piece(buf, size);
    }
    if (!x_list && rnd(3) == 0) {
        static const char *const seeds[] = {
            "for=192.0.2.60;proto=https;host=api.example.com",
            "for=\"[2001:db8:cafe::17]:4711\";proto=http",
            "for=_hidden, for=10.0.0.2;host=\"a.example:8443\"",
            "for=unknown;by=_p;proto=https, for=\"10.1.1.1:80\"",
        };
        snprintf(buf, size, "%s", seeds[rnd(4)]);
        size_t len = strlen(buf);
        switch (rnd(3)) {
        case 0:
            buf[rnd((uint32_t)len)] = (char)(1 + rnd(255));
            break;
        case 1:
            buf[rnd((uint32_t)len)] = '\0';
            break;
        default:
            add_piece(buf, size);
            break;
        }
    }
}

/* What may come out, whatever came in. */
static void check_out(const nimbus_forwarded_t *f)
{
    size_t clen = strnlen(f->client, sizeof f->client);
    CU_ASSERT_FATAL(clen < sizeof f->client);
    CU_ASSERT_FATAL(clen > 0);
    for (size_t i = 0; i < clen; i++) {
        char c = f->client[i];
        bool safe = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '.' || c == ':' || c == '_' || c == '-' || c == '?';
        if (!safe) {
            CU_FAIL_FATAL("unsafe character in the client");
        }
    }
    CU_ASSERT_FATAL(!f->scheme || strcmp(f->scheme, "http") == 0 ||
                    strcmp(f->scheme, "https") == 0);
    size_t hlen = strnlen(f->host, sizeof f->host);
    CU_ASSERT_FATAL(hlen < sizeof f->host);
    if (hlen > 0) {
        CU_ASSERT_FATAL(nimbus_host_valid(f->host, hlen));
        CU_ASSERT_FATAL(strpbrk(f->host, "<>&\"' \t\r\n%/@,;\\") == NULL);
    }
}

static void test_fuzz(void)
{
    static const char *const names[] = {
        "Forwarded", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
        "Host",      "forwarded"};
    static const char *const peers[] = {PROXY, "127.0.0.1", "fd00::9", "203.0.113.1", "?"};
    char values[MAX_FIELDS][512];
    /* How often something forwarded got through: the generator must reach
     * the parser's far side, not only its first refusal. */
    int clients = 0, schemes = 0, hosts = 0, urls = 0;
    for (int round = 0; round < 200000; round++) {
        fields_t f;
        fields_init(&f);
        size_t n = 1 + rnd(MAX_FIELDS - 1);
        for (size_t i = 0; i < n; i++) {
            const char *name = names[rnd(sizeof names / sizeof names[0])];
            make_value(values[i], sizeof values[i], strncmp(name, "X-", 2) == 0);
            field(&f, name, values[i]);
        }
        nimbus_forwarded_t out;
        const char *peer = peers[rnd(5)];
        nimbus_forwarded_read(&f.q, peer, trusted, trusted_n, &out);
        check_out(&out);
        clients += strcmp(out.client, peer) != 0;
        schemes += out.scheme != NULL;
        hosts += out.host[0] != '\0';
        char url[NIMBUS_PUBLIC_URL_MAX], why[200];
        char text[600];
        snprintf(text, sizeof text, "%s%s", rnd(2) ? "https://" : "", values[0]);
        if (nimbus_public_url_parse(text, url, sizeof url, why, sizeof why) == 0) {
            CU_ASSERT_FATAL(strpbrk(url, "<>&\"' \t\r\n?#@\\") == NULL);
            urls++;
        }
        nimbus_cidr_t net;
        (void)nimbus_cidr_parse(values[0], strlen(values[0]), &net);
        (void)nimbus_host_valid(values[0], strlen(values[0]));
    }
    printf("\n    %d clients, %d schemes, %d hosts forwarded, %d public URLs taken ... ", clients,
           schemes, hosts, urls);
    CU_ASSERT(clients > 2000);
    CU_ASSERT(schemes > 2000);
    CU_ASSERT(hosts > 2000);
    CU_ASSERT(urls > 100);
}

int main(void)
{
    static const nimbus_test_case_t nets[] = {
        {"networks", test_cidr},
        {"network lists", test_cidr_list},
        {"hosts", test_host},
        {"public URL", test_public_url},
        {NULL, NULL},
    };
    static const nimbus_test_case_t reading[] = {
        {"untrusted peer", test_untrusted_peer},
        {"Forwarded", test_forwarded},
        {"Forwarded chain", test_forwarded_chain},
        {"Forwarded malformed", test_forwarded_malformed},
        {"X-Forwarded-*", test_x_forwarded},
        {"fuzz-ish", test_fuzz},
        {NULL, NULL},
    };
    static const nimbus_test_suite_t suites[] = {
        {"forwarded: networks and URLs", NULL, NULL, nets},
        {"forwarded: reading requests", trusted_init, NULL, reading},
        {NULL, NULL, NULL, NULL},
    };
    return nimbus_test_run_suites(suites);
}
