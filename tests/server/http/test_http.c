/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the HTTP host (server/http): credentials from the
 * Authorization header (Bearer, Basic, malformed), query parsing (an
 * encoded NUL refused, naming its parameter), the header toolkit (media
 * types and charsets, token lists, origin lists read the same way for CORS
 * and the stream), and the reply path on a real evhttp server in this
 * process: HEAD gets the GET's Content-Length and no body, a body taken
 * over whole is sent as is, and problem+json carries its headers. Request
 * ids: 32 lower-case hex digits, valid, never repeated, and the hex digits
 * they and ETags are written with match printf's.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_cunit.h"
#include "nimbus_http.h"
#include "nimbus_util.h"

/* Reads credentials from a request carrying Authorization: value. */
static int creds_of(const char *value, nimbus_credentials_t *out, char *buf, size_t size,
                    nimbus_error_t *err)
{
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(req);
    if (value) {
        evhttp_add_header(evhttp_request_get_input_headers(req), "Authorization", value);
    }
    int rc = nimbus_http_credentials(req, out, buf, size, err);
    evhttp_request_free(req);
    return rc;
}

static void test_credentials(void)
{
    char buf[128];
    nimbus_credentials_t c;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(creds_of(NULL, &c, buf, sizeof buf, &err), 0);
    CU_ASSERT_EQUAL(c.kind, NIMBUS_CRED_NONE);
    CU_ASSERT_EQUAL(creds_of("Bearer  s3cret \t", &c, buf, sizeof buf, &err), 0);
    CU_ASSERT_EQUAL(c.kind, NIMBUS_CRED_SECRET);
    CU_ASSERT_STRING_EQUAL(c.secret, "s3cret");
    CU_ASSERT_EQUAL(creds_of("bearer x", &c, buf, sizeof buf, &err), 0); /* scheme: any case */
    /* Basic ops:s3:cret -> name "ops", secret "s3:cret" (the first colon). */
    CU_ASSERT_EQUAL(creds_of("Basic b3BzOnMzOmNyZXQ=", &c, buf, sizeof buf, &err), 0);
    CU_ASSERT_EQUAL(c.kind, NIMBUS_CRED_NAMED);
    CU_ASSERT_STRING_EQUAL(c.name, "ops");
    CU_ASSERT_STRING_EQUAL(c.secret, "s3:cret");
    /* Unused trailing bits set ("...XR=" for "...XQ="): decoded as before
     * (RFC 4648 3.5 lets a decoder take them; clients send such). */
    CU_ASSERT_EQUAL(creds_of("Basic d3JpdGVyOndyMXRlci1zZWNyZXR=", &c, buf, sizeof buf, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.name, "writer");
    CU_ASSERT_STRING_EQUAL(c.secret, "wr1ter-secret");
    static const char *const bad[] = {
        "Bearer ",            /* no token */
        "Basic !!!!",         /* not base64 */
        "Basic b3Bz",         /* "ops": no colon */
        "Basic b3BzAHg6eQ==", /* "ops\0x:y": a NUL inside */
        "Basic b3BzOnM=x",    /* padding inside */
        "Digest abc",         /* another scheme */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        nimbus_error_clear(&err);
        CU_ASSERT_EQUAL(creds_of(bad[i], &c, buf, sizeof buf, &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_UNAUTHENTICATED);
    }
    /* A token longer than the buffer is refused, never cut. */
    char longer[200] = "Bearer ";
    memset(longer + 7, 'k', 150);
    longer[157] = '\0';
    CU_ASSERT_EQUAL(creds_of(longer, &c, buf, sizeof buf, &err), -1);
}

static void test_query(void)
{
    struct evkeyvalq q;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_http_parse_query("city=S%C3%A3o+Paulo&limit=5", &q, &err), 0);
    CU_ASSERT_STRING_EQUAL(evhttp_find_header(&q, "city"), "S\xc3\xa3o Paulo");
    CU_ASSERT_STRING_EQUAL(evhttp_find_header(&q, "limit"), "5");
    evhttp_clear_headers(&q);
    /* An encoded NUL would cut the value short: refused, naming the key. */
    static const char *const nul[] = {"city=Paris%00x", "a=1&access_token=s%00", "k%00=1"};
    static const char *const named[] = {"\"city\"", "\"access_token\"", "\"k\""};
    for (size_t i = 0; i < 3; i++) {
        nimbus_error_clear(&err);
        CU_ASSERT_EQUAL(nimbus_http_parse_query(nul[i], &q, &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, named[i]));
    }
    /* A malformed escape is refused too (evhttp would keep "%zz" as text),
     * in a value, cut off at the end, or in a name. */
    static const char *const bad[] = {"city=%zz", "a=1&city=Par%4", "city=%", "c%g1ty=x"};
    static const char *const bad_named[] = {"\"city\"", "\"city\"", "\"city\"", "\"c%g1ty\""};
    for (size_t i = 0; i < 4; i++) {
        nimbus_error_clear(&err);
        CU_ASSERT_EQUAL(nimbus_http_parse_query(bad[i], &q, &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad_named[i]));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "malformed %-escape"));
    }
    /* A line break evhttp's list would refuse, dropping the pair unseen
     * (found by fuzz_http_input): refused, in a value or a name, even with
     * the blank after it that evhttp would take as header folding. */
    static const char *const breaks[] = {"city=a%0Ab", "limit=5&city=x%0D", "c%0Aity=x",
                                         "city=a%0A+b"};
    static const char *const breaks_named[] = {"\"city\"", "\"city\"", "\"c%0Aity\"", "\"city\""};
    for (size_t i = 0; i < 4; i++) {
        nimbus_error_clear(&err);
        CU_ASSERT_EQUAL(nimbus_http_parse_query(breaks[i], &q, &err), -1);
        CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, breaks_named[i]));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "line break"));
    }
    /* Valid escapes at the very end, either case, a name alone, empty pairs. */
    CU_ASSERT_EQUAL(nimbus_http_parse_query("a=%41%6a&flag&&b=", &q, &err), 0);
    CU_ASSERT_STRING_EQUAL(evhttp_find_header(&q, "a"), "Aj");
    CU_ASSERT_STRING_EQUAL(evhttp_find_header(&q, "flag"), "");
    CU_ASSERT_STRING_EQUAL(evhttp_find_header(&q, "b"), "");
    evhttp_clear_headers(&q);
}

static void test_media_type(void)
{
    nimbus_media_type_t mt;
    nimbus_http_media_type(" Application/JSON ; charset=\"UTF-8\" ", &mt);
    CU_ASSERT_TRUE(nimbus_http_media_type_is(&mt, "application/json"));
    CU_ASSERT_TRUE(nimbus_http_charset_is_utf8(&mt));
    nimbus_http_media_type("text/xml; charset=iso-8859-1", &mt);
    CU_ASSERT_TRUE(nimbus_http_media_type_is(&mt, "text/xml"));
    CU_ASSERT_FALSE(nimbus_http_charset_is_utf8(&mt));
    CU_ASSERT_EQUAL(mt.charset_len, 10u);
    /* A ';' inside a quoted parameter does not start another one. */
    nimbus_http_media_type("application/soap+xml; action=\"urn:x;charset=latin1\"", &mt);
    CU_ASSERT_TRUE(nimbus_http_media_type_is(&mt, "application/soap+xml"));
    CU_ASSERT_PTR_NULL(mt.charset);
    nimbus_http_media_type(NULL, &mt);
    CU_ASSERT_FALSE(nimbus_http_media_type_is(&mt, "application/json"));
    CU_ASSERT_TRUE(nimbus_http_charset_is_utf8(&mt));
    nimbus_http_media_type("application/jsonx", &mt);
    CU_ASSERT_FALSE(nimbus_http_media_type_is(&mt, "application/json"));
}

static void test_tokens(void)
{
    CU_ASSERT_TRUE(nimbus_http_has_token("Upgrade", "upgrade"));
    CU_ASSERT_TRUE(nimbus_http_has_token("keep-alive, Upgrade", "Upgrade"));
    CU_ASSERT_TRUE(nimbus_http_has_token(" keep-alive ,\tupgrade ", "Upgrade"));
    CU_ASSERT_FALSE(nimbus_http_has_token("keep-alive", "Upgrade"));
    CU_ASSERT_FALSE(nimbus_http_has_token("Upgrades", "Upgrade"));
    CU_ASSERT_FALSE(nimbus_http_has_token("", "Upgrade"));
    CU_ASSERT_FALSE(nimbus_http_has_token(NULL, "Upgrade"));
}

static void test_origins(void)
{
    const char *list = "https://a.example, http://b.example:8080 ,https://C.example";
    CU_ASSERT_TRUE(nimbus_http_origin_listed(list, "https://a.example"));
    CU_ASSERT_TRUE(nimbus_http_origin_listed(list, "http://b.example:8080"));
    CU_ASSERT_TRUE(nimbus_http_origin_listed(list, "https://c.example"));
    CU_ASSERT_FALSE(nimbus_http_origin_listed(list, "https://a.example.evil"));
    CU_ASSERT_FALSE(nimbus_http_origin_listed(list, "http://a.example"));
    CU_ASSERT_FALSE(nimbus_http_origin_listed(list, NULL));
    CU_ASSERT_FALSE(nimbus_http_origin_listed("", "https://a.example"));
    CU_ASSERT_TRUE(nimbus_http_origin_listed("*", "https://anything.example"));
    CU_ASSERT_TRUE(nimbus_http_origin_listed("https://x, *", "null"));
}

/* ---- the reply path on a real evhttp ---------------------------------------- */

static nimbus_config_t config;
static nimbus_worker_t worker;

static void serve(struct evhttp_request *req, void *arg)
{
    (void)arg;
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("http", "-", nimbus_now_us());
    const char *uri = evhttp_request_get_uri(req);
    if (strcmp(uri, "/problem") == 0) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_UNAUTHENTICATED, "who are you");
        nimbus_http_reply_problem(&worker, req, 0, &err, &log);
        return;
    }
    char *body = strdup("{\"hello\":\"world\"}");
    nimbus_http_reply_owned(&worker, req, 200, "application/json", body, strlen(body), &log);
}

typedef struct answer {
    int status;
    char headers[512];
    char body[512];
    size_t body_len;
    struct event_base *base;
} answer_t;

static void got(struct evhttp_request *req, void *arg)
{
    answer_t *a = arg;
    if (req) {
        a->status = evhttp_request_get_response_code(req);
        struct evkeyval *h;
        TAILQ_FOREACH(h, evhttp_request_get_input_headers(req), next)
        {
            size_t n = strlen(a->headers);
            snprintf(a->headers + n, sizeof a->headers - n, "%s: %s\n", h->key, h->value);
        }
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        a->body_len = evbuffer_get_length(in);
        evbuffer_copyout(in, a->body, sizeof a->body - 1);
    }
    event_base_loopexit(a->base, NULL);
}

static void ask(struct event_base *base, int port, enum evhttp_cmd_type cmd, const char *path,
                answer_t *a)
{
    memset(a, 0, sizeof *a);
    a->base = base;
    struct evhttp_connection *conn = evhttp_connection_base_new(base, NULL, "127.0.0.1", port);
    struct evhttp_request *req = evhttp_request_new(got, a);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host", "127.0.0.1");
    CU_ASSERT_EQUAL(evhttp_make_request(conn, req, cmd, path), 0);
    event_base_dispatch(base);
    evhttp_connection_free(conn);
}

static void test_reply(void)
{
    struct event_base *base = event_base_new();
    struct evhttp *http = evhttp_new(base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(http);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sock);
    struct sockaddr_storage ss;
    ev_socklen_t sl = sizeof ss;
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl);
    int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    memset(&config, 0, sizeof config);
    memset(&worker, 0, sizeof worker);
    worker.config = &config;
    worker.base = base;
    evhttp_set_gencb(http, serve, NULL);

    answer_t get, head, problem;
    ask(base, port, EVHTTP_REQ_GET, "/", &get);
    CU_ASSERT_EQUAL(get.status, 200);
    CU_ASSERT_STRING_EQUAL(get.body, "{\"hello\":\"world\"}");
    CU_ASSERT_PTR_NOT_NULL(strstr(get.headers, "Content-Length: 17\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(get.headers, "Content-Type: application/json\n"));
    /* HEAD: what a GET would get, without the body. */
    ask(base, port, EVHTTP_REQ_HEAD, "/", &head);
    CU_ASSERT_EQUAL(head.status, 200);
    CU_ASSERT_EQUAL(head.body_len, 0u);
    CU_ASSERT_PTR_NOT_NULL(strstr(head.headers, "Content-Length: 17\n"));
    ask(base, port, EVHTTP_REQ_GET, "/problem", &problem);
    CU_ASSERT_EQUAL(problem.status, 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(problem.headers, "Content-Type: application/problem+json\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(problem.headers, "WWW-Authenticate: Bearer"));
    CU_ASSERT_PTR_NOT_NULL(strstr(problem.headers, "Cache-Control: no-store\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(problem.body, "\"code\":\"UNAUTHENTICATED\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(problem.body, "\"detail\":\"who are you\""));
    evhttp_free(http);
    event_base_free(base);
}

/* nimbus_hex64 writes what printf does: every nibble value in every
 * position (the values below hold each of 0-f in each digit), the edges,
 * and a run of pseudo-random values. */
static void test_hex(void)
{
    uint64_t values[64 + 16] = {0,
                                UINT64_MAX,
                                1,
                                0x8000000000000000u,
                                0x0123456789abcdefu,
                                0xfedcba9876543210u,
                                0x9999999999999999u,
                                0xaaaaaaaaaaaaaaaau};
    size_t n = 8;
    for (uint64_t d = 0; d < 16; d++) {
        values[n++] = d * 0x1111111111111111u;
    }
    uint64_t x = 0x9E3779B97F4A7C15u;
    while (n < sizeof values / sizeof values[0]) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values[n++] = x;
    }
    for (size_t i = 0; i < n; i++) {
        char want[17], got[17];
        snprintf(want, sizeof want, "%016" PRIx64, values[i]);
        nimbus_hex64(values[i], got);
        got[16] = '\0';
        CU_ASSERT_STRING_EQUAL(got, want);
    }
}

static void test_request_ids(void)
{
    char ids[100][NIMBUS_REQUEST_ID_MAX + 1];
    for (int i = 0; i < 100; i++) {
        nimbus_http_request_id_new(ids[i]);
        CU_ASSERT_EQUAL(strlen(ids[i]), 32u);
        CU_ASSERT_EQUAL(strspn(ids[i], "0123456789abcdef"), 32u);
        CU_ASSERT_TRUE(nimbus_http_request_id_valid(ids[i]));
        for (int j = 0; j < i; j++) {
            CU_ASSERT_STRING_NOT_EQUAL(ids[i], ids[j]);
        }
    }
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"credentials", test_credentials},
        {"query parsing", test_query},
        {"media types", test_media_type},
        {"token lists", test_tokens},
        {"origin lists", test_origins},
        {"replies: GET, HEAD, owned body, problem+json", test_reply},
        {"hex digits as printf writes them", test_hex},
        {"request ids", test_request_ids},
        {NULL, NULL},
    };
    return nimbus_test_run("http", cases);
}
