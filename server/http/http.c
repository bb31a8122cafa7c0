/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HTTP helpers every front-end shares: the one reply path (which also writes
 * the access-log line, so no response goes unlogged), the one problem+json
 * reply, credentials read from the Authorization header, query parsing, and
 * the authority the client used to reach us. The access log is one line per
 * request written with a single write(2), so lines from several workers
 * never interleave.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/keyvalq_struct.h>

#include <openssl/rand.h>

#include "nimbus_http.h"
#include "nimbus_json.h"
#include "nimbus_util.h"

uint64_t nimbus_now_us(void)
{
    return nimbus_clock_us(CLOCK_MONOTONIC);
}

/* ---- request ids -------------------------------------------------------- */

bool nimbus_http_request_id_valid(const char *id)
{
    size_t n = 0;
    for (; id && id[n]; n++) {
        unsigned char c = (unsigned char)id[n];
        if (n == NIMBUS_REQUEST_ID_MAX || !(isalnum(c) || c == '.' || c == '_' || c == '-') ||
            c >= 0x80) {
            return false;
        }
    }
    return n > 0;
}

/* A new id is a random 64-bit prefix drawn once per thread, then that
 * thread's count of ids added to a second random word and put through
 * splitmix64's finalizer (a bijection, so a thread never repeats an id)
 * to keep the ids from showing how many requests came before. Unique
 * across threads, workers and restarts but for a 2^-64 chance per pair of
 * threads, which is all an id to find a log line by needs; ids are not
 * secrets. Drawing 16 bytes from OpenSSL's generator for every request
 * instead cost 7% of a cached read's CPU (perf; docs/performance.md). */
static _Thread_local uint64_t id_prefix[2];
static _Thread_local uint64_t id_count;
static _Thread_local char id_prefix_hex[16]; /* id_prefix[0]'s digits, written once */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void nimbus_http_request_id_new(char *out)
{
    if (id_count == 0) {
        if (RAND_bytes((unsigned char *)id_prefix, sizeof id_prefix) != 1) {
            /* OpenSSL's generator failing is no reason to fail a request. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            id_prefix[0] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
            id_prefix[1] = (uint64_t)(uintptr_t)&id_count ^ nimbus_now_us();
        }
        nimbus_hex64(id_prefix[0], id_prefix_hex);
    }
    memcpy(out, id_prefix_hex, 16);
    nimbus_hex64(mix64(id_prefix[1] + ++id_count), out + 16);
    out[32] = '\0';
}

/* What evhttp_find_header does (the first header of that name, ASCII
 * case-insensitive), without evutil_ascii_strcasecmp's call per character:
 * a read looks up five or six headers, and this was 2% of its
 * instructions (callgrind, docs/performance.md). By hand rather than with
 * libc's strcasecmp, which bench/callgrind_read.sh put at ~500 more
 * instructions a request (its locale-aware entry, for names that mostly
 * differ at the first character). */
const char *nimbus_http_find_header(const struct evkeyvalq *headers, const char *name)
{
    /* Names that differ in their first letter, most of them, are passed
     * over on one compare: equal letters in any case agree with bit 5 set,
     * and so do equal non-letters. */
    const unsigned char first = (unsigned char)name[0] | 0x20;
    const struct evkeyval *h;
    TAILQ_FOREACH(h, headers, next)
    {
        if (((unsigned char)h->key[0] | 0x20) != first) {
            continue;
        }
        const unsigned char *a = (const unsigned char *)h->key, *b = (const unsigned char *)name;
        for (;; a++, b++) {
            unsigned char x = *a >= 'A' && *a <= 'Z' ? *a + 32 : *a;
            unsigned char y = *b >= 'A' && *b <= 'Z' ? *b + 32 : *b;
            if (x != y) {
                break;
            }
            if (x == '\0') {
                return h->value;
            }
        }
    }
    return NULL;
}

void nimbus_http_request_begin(struct evhttp_request *req)
{
    const char *theirs =
        nimbus_http_find_header(evhttp_request_get_input_headers(req), "X-Request-Id");
    char mine[NIMBUS_REQUEST_ID_MAX + 1];
    if (!nimbus_http_request_id_valid(theirs)) {
        nimbus_http_request_id_new(mine);
        theirs = mine;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_remove_header(out, "X-Request-Id");
    evhttp_add_header(out, "X-Request-Id", theirs);
}

const char *nimbus_http_request_id(struct evhttp_request *req)
{
    const char *id =
        nimbus_http_find_header(evhttp_request_get_output_headers(req), "X-Request-Id");
    return id ? id : "-";
}

/* ---- replies ------------------------------------------------------------ */

static const char *http_reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 406:
        return "Not Acceptable";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}

int nimbus_http_uri_decode(const char *raw, size_t len, bool plus_is_space, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = raw[i];
        if (c == '%') {
            if (i + 2 >= len || nimbus_hex_value(raw[i + 1]) < 0 ||
                nimbus_hex_value(raw[i + 2]) < 0) {
                return -1;
            }
            c = (char)(nimbus_hex_value(raw[i + 1]) * 16 + nimbus_hex_value(raw[i + 2]));
            if (c == '\0') {
                return -2;
            }
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (n + 1 >= size) {
            return -3;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return (int)n;
}

int nimbus_http_parse_query(const char *query, struct evkeyvalq *out, nimbus_error_t *err)
{
    /* Strict where evhttp is lenient: a malformed %-escape ("%zz") is an
     * error, not the three characters, and an encoded NUL would silently
     * cut a C string short. Pairs are split at '&', names from values at
     * the first '=' ("a" alone is a name with an empty value). */
    TAILQ_INIT(out);
    size_t qlen = strlen(query);
    char *buf = malloc(2 * qlen + 2);
    if (!buf) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    char *name = buf, *value = buf + qlen + 1;
    for (const char *p = query; *p;) {
        size_t pair = strcspn(p, "&");
        size_t klen = strcspn(p, "=&");
        if (klen > pair) {
            klen = pair;
        }
        const char *v = p + klen + (klen < pair ? 1 : 0);
        size_t vlen = pair - (size_t)(v - p);
        int kr = nimbus_http_uri_decode(p, klen, true, name, qlen + 1);
        int vr = kr < 0 ? 0 : nimbus_http_uri_decode(v, vlen, true, value, qlen + 1);
        /* evhttp_add_header refuses a line break in a name, and one not
         * followed by a blank in a value, and the pair would be dropped
         * unseen: "?city=a%0Ab" would list every city. No name or value
         * of the API holds one (the core refuses control characters). */
        if (kr >= 0 && vr >= 0 && (strpbrk(name, "\r\n") || strpbrk(value, "\r\n"))) {
            kr = -4;
        }
        if (kr < 0 || vr < 0) {
            int why = kr < 0 ? kr : vr;
            /* The name as sent, up to an encoded NUL inside it. */
            size_t named = klen;
            for (size_t k = 0; k + 2 < klen; k++) {
                if (p[k] == '%' && p[k + 1] == '0' && p[k + 2] == '0') {
                    named = k;
                    break;
                }
            }
            int shown = (int)(named > 64 ? 64 : named);
            nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                             why == -2   ? "query parameter \"%.*s\" holds an encoded NUL (%%00)"
                             : why == -4 ? "query parameter \"%.*s\" holds a line break (%%0A "
                                           "or %%0D)"
                                         : "query parameter \"%.*s\" has a malformed %%-escape",
                             shown, p);
            free(buf);
            evhttp_clear_headers(out);
            return -1;
        }
        if ((klen > 0 || vlen > 0) && evhttp_add_header(out, name, value) != 0) {
            free(buf);
            evhttp_clear_headers(out);
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        }
        p += pair;
        if (*p == '&') {
            p++;
        }
    }
    free(buf);
    return 0;
}

const char *nimbus_http_method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    }
    return "?";
}

void nimbus_access_log(nimbus_worker_t *w, const nimbus_request_log_t *log, int status,
                       size_t bytes)
{
    if (!w->config->access_log) {
        return;
    }
    const nimbus_log_field_t fields[] = {
        NIMBUS_LOG_NUM("w", w->index),
        NIMBUS_LOG_STR("proto", log->protocol),
        NIMBUS_LOG_STR("op", log->operation ? log->operation : "-"),
        NIMBUS_LOG_NUM("status", status),
        NIMBUS_LOG_NUM("bytes", bytes),
        NIMBUS_LOG_NUM("us", nimbus_now_us() - log->start_us),
        NIMBUS_LOG_STR("key", *log->key ? log->key : "-"),
        NIMBUS_LOG_STR("rid", *log->request_id ? log->request_id : "-"),
    };
    nimbus_log_access(fields, sizeof fields / sizeof fields[0]);
}

static void access_log_request(nimbus_worker_t *w, struct evhttp_request *req,
                               const nimbus_request_log_t *log, int status, size_t bytes)
{
    if (!w->config->access_log) {
        return;
    }
    char client[NIMBUS_FORWARDED_CLIENT_MAX];
    const char *peer = nimbus_http_client(w, req, client, sizeof client);
    const char *uri = evhttp_request_get_uri(req);
    char path[160];
    /* Only the path: query strings may carry access tokens. */
    size_t plen = uri ? strcspn(uri, "?") : 0;
    if (plen >= sizeof path) {
        plen = sizeof path - 1;
    }
    for (size_t i = 0; i < plen; i++) {
        path[i] = isprint((unsigned char)uri[i]) ? uri[i] : '?';
    }
    path[plen] = '\0';
    const nimbus_log_field_t fields[] = {
        NIMBUS_LOG_NUM("w", w->index),
        NIMBUS_LOG_STR("peer", peer ? peer : "-"),
        NIMBUS_LOG_STR("proto", log->protocol),
        NIMBUS_LOG_STR("op", log->operation ? log->operation : "-"),
        NIMBUS_LOG_STR("method", nimbus_http_method_name(evhttp_request_get_command(req))),
        NIMBUS_LOG_STR("path", path),
        NIMBUS_LOG_NUM("status", status),
        NIMBUS_LOG_NUM("bytes", bytes),
        NIMBUS_LOG_NUM("us", nimbus_now_us() - log->start_us),
        NIMBUS_LOG_STR("key", *log->key ? log->key : "-"),
        NIMBUS_LOG_STR("rid", *log->request_id ? log->request_id : nimbus_http_request_id(req)),
    };
    nimbus_log_access(fields, sizeof fields / sizeof fields[0]);
}

/* ---- metrics ------------------------------------------------------------ */

/* The code an answer without one of its own stands for. */
static nimbus_code_t code_of_status(int status)
{
    switch (status) {
    case 401:
        return NIMBUS_UNAUTHENTICATED;
    case 403:
        return NIMBUS_PERMISSION_DENIED;
    case 404:
        return NIMBUS_NOT_FOUND;
    case 409:
        return NIMBUS_ALREADY_EXISTS;
    case 413:
        return NIMBUS_PAYLOAD_TOO_LARGE;
    case 429:
        return NIMBUS_RESOURCE_EXHAUSTED;
    case 503:
        return NIMBUS_UNAVAILABLE;
    default:
        return status >= 500   ? NIMBUS_INTERNAL
               : status >= 400 ? NIMBUS_INVALID_ARGUMENT
                               : NIMBUS_OK;
    }
}

/* Counts an answer of the protocols the metrics know (not health checks,
 * the dashboard's files or /metrics itself). */
static void count_reply(nimbus_worker_t *w, struct evhttp_request *req,
                        const nimbus_request_log_t *log, int status, size_t bytes)
{
    nimbus_proto_t proto;
    const char *p = log->protocol;
    if (p[0] == 's') {
        proto = log->soap12 ? NIMBUS_PROTO_SOAP12 : NIMBUS_PROTO_SOAP11;
    } else if (p[0] == 'r') {
        proto = NIMBUS_PROTO_REST;
    } else if (p[0] == 'w') {
        proto = NIMBUS_PROTO_WS;
    } else {
        return;
    }
    const nimbus_op_info_t *op =
        log->operation && log->operation[0] != '-' ? nimbus_op_find(log->operation) : NULL;
    /* The body as sent: Content-Length (SOAP drains the buffer as it reads). */
    const char *cl =
        nimbus_http_find_header(evhttp_request_get_input_headers(req), "Content-Length");
    uint64_t in =
        cl ? strtoull(cl, NULL, 10) : evbuffer_get_length(evhttp_request_get_input_buffer(req));
    nimbus_metrics_call_t call = {
        .proto = proto,
        .op = op ? (int)op->op : -1,
        .code = log->code != NIMBUS_OK ? log->code : code_of_status(status),
        .key = log->key,
        .elapsed_us = nimbus_now_us() - log->start_us,
        .bytes_in = in,
        .bytes_out = bytes,
    };
    nimbus_metrics_count_call(nimbus_service_metrics(w->svc), &call);
}

/* ---- deferred requests -------------------------------------------------- */

static nimbus_deferred_t *take_first(nimbus_worker_t *w)
{
    nimbus_deferred_t *d = w->deferred_head;
    if (d) {
        w->deferred_head = d->next;
        if (!w->deferred_head) {
            w->deferred_tail = NULL;
        }
    }
    return d;
}

static void run_one(nimbus_worker_t *w, nimbus_deferred_t *d)
{
    struct evhttp_request *req = d->req;
    nimbus_http_deferred_fn fn = d->fn;
    uint64_t start = d->start_us;
    free(d);
    fn(w, req, start);
}

void nimbus_http_defer(nimbus_worker_t *w, struct evhttp_request *req, nimbus_http_deferred_fn fn,
                       uint64_t start_us)
{
    nimbus_deferred_t *d = malloc(sizeof *d);
    if (!d || !w->deferred_event) {
        free(d);
        fn(w, req, start_us);
        return;
    }
    *d = (nimbus_deferred_t){NULL, req, fn, start_us};
    if (w->deferred_tail) {
        w->deferred_tail->next = d;
    } else {
        w->deferred_head = d;
    }
    w->deferred_tail = d;
    event_active(w->deferred_event, EV_TIMEOUT, 0);
}

void nimbus_http_run_deferred(nimbus_worker_t *w, bool all)
{
    if (!w->deferred_head) {
        return;
    }
    uint64_t now = nimbus_now_us();
    while (w->deferred_head &&
           (all || now - w->deferred_head->start_us >= NIMBUS_DEFER_MAX_WAIT_US)) {
        run_one(w, take_first(w));
    }
}

void nimbus_http_deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_http_run_deferred_next(arg);
}

void nimbus_http_run_deferred_next(nimbus_worker_t *w)
{
    nimbus_deferred_t *d = take_first(w);
    if (d) {
        run_one(w, d);
    }
    if (w->deferred_head) {
        event_active(w->deferred_event, EV_TIMEOUT, 0);
    }
}

void nimbus_http_reply(nimbus_worker_t *w, struct evhttp_request *req, int status,
                       struct evbuffer *body, const nimbus_request_log_t *log)
{
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);
    size_t bytes = body ? evbuffer_get_length(body) : 0;
    bool bodyless = status == 204 || status == 304 || (status >= 100 && status < 200);
    /* A HEAD answer says what a GET would get (its Content-Length) and
     * sends no body. evhttp 2.1.12 does not drop the body of a HEAD reply
     * itself; a client never reads one, so those bytes would be taken for
     * the next response on a kept-alive connection. */
    bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
    if ((bodyless || head) && body) {
        evbuffer_drain(body, bytes);
    }
    if (bodyless) {
        bytes = 0;
    }
    /* Ours on every answer (a HEAD's says what the GET would send; evhttp
     * would write 0, and none on a closing HTTP/1.0 answer); nothing else
     * sets it. Digits by hand: this runs for every answer. */
    if (!bodyless) {
        char len[24];
        char *d = len + sizeof len - 1;
        *d = '\0';
        size_t n = bytes;
        do {
            *--d = (char)('0' + n % 10);
            n /= 10;
        } while (n != 0);
        evhttp_add_header(headers, "Content-Length", d);
    }
    /* A stopping server answers what it has and lets keep-alive clients
     * go elsewhere. */
    if (w->stopping) {
        evhttp_remove_header(headers, "Connection");
        evhttp_add_header(headers, "Connection", "close");
    }
    access_log_request(w, req, log, status, head ? 0 : bytes);
    count_reply(w, req, log, status, head ? 0 : bytes);
    /* A body already in the request's own output buffer is sent as it is
     * (evhttp would append the buffer to itself). */
    bool own = body == evhttp_request_get_output_buffer(req);
    evhttp_send_reply(req, status, http_reason(status), bodyless || head || own ? NULL : body);
}

void nimbus_http_reply_lent(nimbus_worker_t *w, struct evhttp_request *req, int status,
                            const char *content_type, const void *data, size_t len,
                            void (*cleanup)(const void *data, size_t len, void *arg), void *arg,
                            const nimbus_request_log_t *log)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    if (evbuffer_add_reference(out, data, len, cleanup, arg) != 0) {
        cleanup(data, len, arg);
        evhttp_remove_header(h, "Content-Type");
        nimbus_http_reply(w, req, 500, NULL, log);
        return;
    }
    if (content_type) {
        evhttp_add_header(h, "Content-Type", content_type);
    }
    nimbus_http_reply(w, req, status, out, log);
}

static void free_owned(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

void nimbus_http_reply_owned(nimbus_worker_t *w, struct evhttp_request *req, int status,
                             const char *content_type, char *data, size_t len,
                             const nimbus_request_log_t *log)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (!data) {
        evhttp_remove_header(h, "Content-Type");
        nimbus_http_reply(w, req, 500, NULL, log);
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (!body || evbuffer_add_reference(body, data, len, free_owned, NULL) != 0) {
        free(data);
        if (body) {
            evbuffer_free(body);
        }
        nimbus_http_reply(w, req, 500, NULL, log);
        return;
    }
    if (content_type) {
        evhttp_remove_header(h, "Content-Type");
        evhttp_add_header(h, "Content-Type", content_type);
    }
    nimbus_http_reply(w, req, status, body, log);
    evbuffer_free(body);
}

void nimbus_http_reply_problem(nimbus_worker_t *w, struct evhttp_request *req, int status,
                               const nimbus_error_t *err, const nimbus_request_log_t *log)
{
    nimbus_json_writer_t jw;
    nimbus_json_writer_init(&jw);
    /* The renderer settles the status: the code's own, or the caller's 405,
     * 415 or 426, which no code has (RFC 6455 requires the 426). */
    status = nimbus_json_problem_write_id(
        &jw, err, status,
        nimbus_http_find_header(evhttp_request_get_output_headers(req), "X-Request-Id"));
    nimbus_request_log_t counted = *log;
    if (err && err->code != NIMBUS_OK) {
        counted.code = err->code;
    }
    log = &counted;
    size_t len = 0;
    char *text = nimbus_json_writer_steal(&jw, &len);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (err && err->code == NIMBUS_UNAUTHENTICATED) {
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"nimbus\", Basic realm=\"nimbus\"");
    }
    /* A rate limit says when; UNAVAILABLE (storage busy or failing) is
     * worth one more try soon. */
    if (err && err->retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", err->retry_after_s);
        evhttp_add_header(h, "Retry-After", secs);
    } else if (status == 503) {
        evhttp_add_header(h, "Retry-After", "1");
    }
    nimbus_http_reply_owned(w, req, status, NIMBUS_JSON_PROBLEM_TYPE, text, len, log);
}

void nimbus_http_add_sunset(nimbus_worker_t *w, struct evhttp_request *req)
{
    const nimbus_config_t *cfg = w->config;
    if (!cfg->soap_sunset) {
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    char value[2 * sizeof cfg->soap_sunset_link + 700];
    /* RFC 9745: a Structured Field Date, "@" and Unix seconds. */
    snprintf(value, sizeof value, "@%lld", cfg->soap_deprecated);
    evhttp_add_header(h, "Deprecation", value);
    /* RFC 8594: an HTTP-date (IMF-fixdate). strftime's %a and %b are
     * the C locale's, which the server never changes. */
    time_t t = (time_t)cfg->soap_sunset;
    struct tm tm;
    if (gmtime_r(&t, &tm) && strftime(value, sizeof value, "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
        evhttp_add_header(h, "Sunset", value);
    }
    if (cfg->soap_sunset_link[0]) {
        snprintf(value, sizeof value, "<%s>; rel=\"deprecation\", <%s>; rel=\"sunset\"",
                 cfg->soap_sunset_link, cfg->soap_sunset_link);
    } else {
        /* The base URL the client used (through a trusted proxy too), or
         * --public-url. */
        char base[NIMBUS_PUBLIC_URL_MAX];
        nimbus_http_base_url(w, req, base, sizeof base);
        snprintf(value, sizeof value,
                 "<%s/migration>; rel=\"deprecation\"; type=\"text/markdown\", "
                 "<%s/migration>; rel=\"sunset\"; type=\"text/markdown\"",
                 base, base);
    }
    evhttp_add_header(h, "Link", value);
}

const char *nimbus_http_scheme(const nimbus_worker_t *w)
{
    return w->tls ? "https" : "http";
}

const char *nimbus_http_peer(struct evhttp_request *req)
{
    char *peer = NULL;
    ev_uint16_t port = 0;
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    if (conn) {
        evhttp_connection_get_peer(conn, &peer, &port);
    }
    return peer ? peer : "?";
}

int nimbus_http_credentials(struct evhttp_request *req, nimbus_credentials_t *out, char *buf,
                            size_t bufsize, nimbus_error_t *err)
{
    memset(out, 0, sizeof *out);
    out->kind = NIMBUS_CRED_NONE;
    const char *auth =
        nimbus_http_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!auth) {
        return 0;
    }
    while (*auth == ' ' || *auth == '\t') {
        auth++;
    }
    if (strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *token = auth + 7;
        while (*token == ' ') {
            token++;
        }
        size_t len = strlen(token);
        while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t')) {
            len--;
        }
        if (len == 0 || len >= bufsize) {
            return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "malformed Bearer credentials");
        }
        memcpy(buf, token, len);
        buf[len] = '\0';
        out->kind = NIMBUS_CRED_SECRET;
        out->secret = buf;
        return 0;
    }
    if (strncasecmp(auth, "Basic ", 6) == 0) {
        const char *enc = auth + 6;
        while (*enc == ' ') {
            enc++;
        }
        size_t len = strlen(enc);
        while (len > 0 && (enc[len - 1] == ' ' || enc[len - 1] == '\t')) {
            len--;
        }
        long n = nimbus_base64_decode(enc, len, buf, bufsize - 1, NIMBUS_BASE64_STD_LENIENT);
        if (n <= 0) {
            return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "malformed Basic credentials");
        }
        buf[n] = '\0';
        char *colon = memchr(buf, ':', (size_t)n);
        if (!colon || strlen(buf) != (size_t)n) {
            return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "malformed Basic credentials");
        }
        *colon = '\0';
        out->kind = NIMBUS_CRED_NAMED;
        out->name = buf;
        out->secret = colon + 1;
        return 0;
    }
    return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED,
                            "unsupported Authorization scheme (use Bearer or Basic)");
}

/* ---- headers ------------------------------------------------------------ */

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

void nimbus_http_media_type(const char *value, nimbus_media_type_t *out)
{
    memset(out, 0, sizeof *out);
    out->type = "";
    if (!value) {
        return;
    }
    while (blank(*value)) {
        value++;
    }
    size_t n = strcspn(value, ";");
    while (n > 0 && blank(value[n - 1])) {
        n--;
    }
    out->type = value;
    out->type_len = n;
    const char *p = strchr(value, ';');
    while (p) {
        p++;
        while (blank(*p)) {
            p++;
        }
        const char *v = strncasecmp(p, "charset=", 8) == 0 ? p + 8 : NULL;
        char quote = 0;
        for (; *p && (quote || *p != ';'); p++) {
            if (*p == '"') {
                quote = quote ? 0 : '"';
            }
        }
        if (v) {
            const char *end = p;
            while (end > v && blank(end[-1])) {
                end--;
            }
            if (*v == '"' && end > v + 1 && end[-1] == '"') {
                v++;
                end--;
            }
            out->charset = v;
            out->charset_len = (size_t)(end - v);
            return;
        }
        if (!*p) {
            break;
        }
    }
}

bool nimbus_http_media_type_is(const nimbus_media_type_t *mt, const char *type)
{
    size_t n = strlen(type);
    return mt->type_len == n && strncasecmp(mt->type, type, n) == 0;
}

bool nimbus_http_charset_is_utf8(const nimbus_media_type_t *mt)
{
    return !mt->charset || (mt->charset_len == 5 && strncasecmp(mt->charset, "utf-8", 5) == 0);
}

/* Calls match(item, len, arg) for each item of a comma-separated list,
 * blanks trimmed, until it returns true. */
static bool list_any(const char *list, bool (*match)(const char *, size_t, const void *),
                     const void *arg)
{
    const char *p = list;
    while (p && *p) {
        while (blank(*p) || *p == ',') {
            p++;
        }
        const char *start = p;
        while (*p && *p != ',') {
            p++;
        }
        const char *end = p;
        while (end > start && blank(end[-1])) {
            end--;
        }
        if (end > start && match(start, (size_t)(end - start), arg)) {
            return true;
        }
    }
    return false;
}

static bool same_token(const char *item, size_t len, const void *arg)
{
    const char *token = arg;
    return len == strlen(token) && strncasecmp(item, token, len) == 0;
}

static bool any_or_same(const char *item, size_t len, const void *arg)
{
    return (len == 1 && item[0] == '*') || same_token(item, len, arg);
}

bool nimbus_http_has_token(const char *value, const char *token)
{
    return value && list_any(value, same_token, token);
}

bool nimbus_http_origin_listed(const char *list, const char *origin)
{
    /* An empty Origin (sent by some tools) is listed by "*" alone. */
    return list && origin && list_any(list, any_or_same, origin);
}
