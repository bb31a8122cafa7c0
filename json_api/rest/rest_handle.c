/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The REST binding on evhttp: every /v1/... request except /v1/stream. A
 * request is routed by the binding table (rest_route.c), its path segment,
 * query and JSON body are read straight into the operation's request
 * (rest_request.c), and nimbus_json_run calls the same core operation the
 * SOAP binding calls. Everything here is HTTP manners read from the binding:
 * status codes, Location, ETag/304, Cache-Control, CORS, HEAD, 405/415/413;
 * the answer itself and every rule come from the core.
 *
 * Every failure, whatever its origin (router, body, core), leaves through
 * reply_problem, which adds REST's own headers and hands over to the HTTP
 * host's one problem+json reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_http.h"
#include "nimbus_json.h"
#include "nimbus_rest.h"
#include "openapi.h"
#include "rest_request.h"

#define OPENAPI_PATH "/v1/openapi.json"
#define JSON_TYPE "application/json"

typedef struct rest_req {
    nimbus_worker_t *w;
    struct evhttp_request *req;
    nimbus_request_log_t log;
    const char *method;
    /* The method as evhttp's code, and whether the binding it reached is
     * a GET: tested on every answer, so compared once, not by name. */
    enum evhttp_cmd_type cmd;
    bool get;
    bool cors; /* the Origin is allowed: add CORS headers to GET answers */
} rest_req_t;

/* GET or HEAD: the methods whose answers carry CORS headers. */
static bool reading(const rest_req_t *r)
{
    return r->cmd == EVHTTP_REQ_GET || r->cmd == EVHTTP_REQ_HEAD;
}

static struct evkeyvalq *out_headers(rest_req_t *r)
{
    return evhttp_request_get_output_headers(r->req);
}

static const char *in_header(rest_req_t *r, const char *name)
{
    return nimbus_http_find_header(evhttp_request_get_input_headers(r->req), name);
}

/* CORS headers for a GET/HEAD/OPTIONS answer. With a list of origins the
 * answer depends on Origin whether or not this one is allowed, so a shared
 * cache must key on it (Vary); with "*" it does not. */
static void add_cors(rest_req_t *r)
{
    const char *list = r->w->config->cors_origins;
    bool any = strcmp(list, "*") == 0;
    if (*list && !any) {
        evhttp_add_header(out_headers(r), "Vary", "Origin");
    }
    if (!r->cors) {
        return;
    }
    evhttp_add_header(out_headers(r), "Access-Control-Allow-Origin",
                      any ? "*" : in_header(r, "Origin"));
    evhttp_add_header(out_headers(r), "Access-Control-Expose-Headers",
                      "ETag, Location, X-Request-Id");
}

/* The one way an error leaves the REST binding. status 0: the code's own;
 * else 405 or 415, which the contract's codes do not have. */
static void reply_problem_status(rest_req_t *r, const nimbus_error_t *err, int status)
{
    struct evkeyvalq *h = out_headers(r);
    evhttp_remove_header(h, "ETag");
    evhttp_remove_header(h, "Location");
    evhttp_remove_header(h, "Content-Type");
    /* A page from an allowed origin may read why its GET failed. */
    if (reading(r)) {
        add_cors(r);
    }
    nimbus_http_reply_problem(r->w, r->req, status, err, &r->log);
}

static void reply_problem(rest_req_t *r, const nimbus_error_t *err)
{
    reply_problem_status(r, err, 0);
}

static void fail(rest_req_t *r, nimbus_code_t code, const char *fmt, const char *arg)
{
    nimbus_error_t err;
    nimbus_error_set(&err, code, fmt, arg);
    reply_problem(r, &err);
}

/* ---- the body ----------------------------------------------------------- */

/* Reads the JSON body into req (initialised for b->op): 413 over
 * config->max_body, 415 unless the media type is JSON (application/json or
 * application/...+json) in UTF-8 and uncompressed, 400 when it does not
 * parse or is not an object. Returns -1 with err set and *status the HTTP
 * status to send; 0; or 1 with err the body's refusal of its members, to be
 * reported after the path and the query (nimbus__rest_body). */
static int read_body(rest_req_t *r, const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                     nimbus_json_request_t *req, int *status, nimbus_error_t *err)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    *status = 400;
    if (len > r->w->config->max_body) {
        *status = 413;
        nimbus_error_set(err, NIMBUS_PAYLOAD_TOO_LARGE,
                         "request body of %zu bytes is over the %zu byte limit", len,
                         r->w->config->max_body);
        return -1;
    }
    nimbus_media_type_t mt;
    nimbus_http_media_type(in_header(r, "Content-Type"), &mt);
    bool json = nimbus_http_media_type_is(&mt, JSON_TYPE) ||
                (mt.type_len > 17 && strncasecmp(mt.type, "application/", 12) == 0 &&
                 strncasecmp(mt.type + mt.type_len - 5, "+json", 5) == 0);
    if (!json) {
        *status = 415;
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "the request body must be application/json");
        return -1;
    }
    /* JSON is UTF-8 (RFC 8259); a body declared otherwise would be read as
     * something its sender did not mean. */
    if (!nimbus_http_charset_is_utf8(&mt)) {
        *status = 415;
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "JSON request bodies are UTF-8; drop the charset parameter or send "
                         "charset=utf-8");
        return -1;
    }
    const char *coding = in_header(r, "Content-Encoding");
    if (coding && strcasecmp(coding, "identity") != 0) {
        *status = 415;
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "Content-Encoding %.32s is not accepted: send the JSON body uncompressed",
                         coding);
        return -1;
    }
    /* Read as it lies in the buffer, straight into the request (no tree). */
    unsigned char *text = evbuffer_pullup(in, -1);
    return nimbus__rest_body(b, m, (const char *)text, len, req, err);
}

/* ---- answers -------------------------------------------------------------- */

/* A strong ETag over the representation: its FNV-1a 64 hash
 * (nimbus_hash64), which a kept answer carries already. */
static void etag_text(uint64_t h, char out[24])
{
    out[0] = '"';
    nimbus_hex64(h, out + 1);
    out[17] = '"';
    out[18] = '\0';
}

/* true when If-None-Match lists tag (or is "*"). */
static bool none_match(rest_req_t *r, const char *tag)
{
    const char *inm = in_header(r, "If-None-Match");
    if (!inm) {
        return false;
    }
    if (strcmp(inm, "*") == 0) {
        return true;
    }
    /* Weak comparison (RFC 9110 13.1.2): W/"x" matches "x". */
    for (const char *p = inm; (p = strstr(p, tag + 1)) != NULL; p++) {
        if (p > inm && p[-1] == '"') {
            return true;
        }
    }
    return false;
}

/* A request on its way through the core: what its answer needs, kept
 * until the answer is sent (at once for a read, after the commit for a
 * write). */
typedef struct rest_call {
    rest_req_t r;
    const nimbus_rest_binding_t *b;
    char location_id[NIMBUS_STATION_ID_MAX + 1]; /* NIMBUS_REST_LOCATION */
    /* A read whose answer is to be kept: under key (run_op's, valid while
     * the read is answered, which is before run_op returns), stamped
     * before it was read. */
    const char *key;
    size_t key_len;
    nimbus_stamp_t stamp;
} rest_call_t;

/* The headers of a successful answer whose body hashes to hash, from the
 * binding; location_id is the created station's (NIMBUS_REST_LOCATION).
 * Returns true when the answer is a 304 (no body is then sent). */
static bool success_headers(rest_req_t *r, const nimbus_rest_binding_t *b, const char *location_id,
                            uint64_t hash)
{
    struct evkeyvalq *h = out_headers(r);
    if ((b->headers & NIMBUS_REST_LOCATION) && location_id) {
        /* The new station, as an absolute URL from the base the client
         * used (through a trusted proxy: the proxy's scheme and host), so
         * a client behind a TLS-terminating proxy is not sent to http://.
         * Its id passed the core's rule (A-Z a-z 0-9 _ -) and the base is
         * well-formed (nimbus_http_base_url): nothing needs escaping. */
        char base[NIMBUS_PUBLIC_URL_MAX];
        nimbus_http_base_url(r->w, r->req, base, sizeof base);
        char loc[NIMBUS_PUBLIC_URL_MAX + 128];
        snprintf(loc, sizeof loc, "%s%s/%s", base, b->path, location_id);
        evhttp_add_header(h, "Location", loc);
    }
    if (r->get) {
        add_cors(r);
    }
    if (b->headers & NIMBUS_REST_ETAG) {
        char tag[24];
        etag_text(hash, tag);
        evhttp_add_header(h, "ETag", tag);
        /* Clients may keep it but must revalidate: it can change. */
        evhttp_add_header(h, "Cache-Control", "no-cache");
        return none_match(r, tag);
    }
    /* Lists and weather move with every observation; writes are not
     * cacheable. */
    evhttp_add_header(h, "Cache-Control", "no-store");
    return false;
}

static void release_entry(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    nimbus_render_entry_release(arg);
}

/* Answers a read from a kept rendering: the bytes the slow path sent, lent
 * to the connection's buffer without a copy. */
static void reply_kept(rest_req_t *r, const nimbus_rest_binding_t *b,
                       const nimbus_render_entry_t *e)
{
    if (success_headers(r, b, NULL, e->hash)) {
        nimbus_http_reply(r->w, r->req, 304, NULL, &r->log);
        return;
    }
    nimbus_render_entry_hold(e);
    nimbus_http_reply_lent(r->w, r->req, b->status, JSON_TYPE, e->body, e->len, release_entry,
                           (void *)e, &r->log);
}

static void call_done(void *arg, int rc, char *text, size_t len, const nimbus_error_t *err)
{
    rest_call_t *c = arg;
    if (rc != 0) {
        reply_problem(&c->r, err);
    } else {
        const nimbus_render_entry_t *kept =
            c->key ? nimbus_render_cache_put(c->r.w->render_cache, c->key, c->key_len, &c->stamp,
                                             text, len)
                   : NULL;
        uint64_t hash =
            kept ? kept->hash : (c->b->headers & NIMBUS_REST_ETAG ? nimbus_hash64(text, len) : 0);
        bool not_modified = success_headers(&c->r, c->b, c->location_id, hash);
        nimbus_http_reply_owned(c->r.w, c->r.req, not_modified ? 304 : c->b->status,
                                c->b->reply == NIMBUS_JSON_NONE || not_modified ? NULL : JSON_TYPE,
                                text, len, &c->r.log);
    }
    free(c);
}

/* The id of the station a request creates (NIMBUS_REST_LOCATION). */
static void location_of(rest_call_t *c, const nimbus_json_request_t *req)
{
    const nimbus_field_t *f =
        nimbus_type_field(nimbus_op_table[c->b->op].request, c->b->body_field);
    const nimbus_station_t *s = (const void *)((const char *)&req->u + f->offset);
    snprintf(c->location_id, sizeof c->location_id, "%s", s->id);
}

/* The key a read's rendering is kept under: the operation and the request
 * target as sent (path and query), which is all a GET's answer depends on
 * besides the data its stamp covers; headers (CORS, ETag) are added on
 * every answer. Returns its length, or 0 when the request is not a GET
 * without a body or its target is too long to be worth keeping. */
static size_t render_key(rest_req_t *r, const nimbus_rest_binding_t *b, char *key, size_t size)
{
    if (b->body != NIMBUS_REST_BODY_NONE || !r->get) {
        return 0;
    }
    const char *target = evhttp_request_get_uri(r->req);
    size_t len = target ? strlen(target) : 0;
    if (len == 0 || len + 1 > size) {
        return 0;
    }
    key[0] = (char)('A' + b->op);
    memcpy(key + 1, target, len);
    return len + 1;
}

static void run_op(rest_req_t *r, const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    const nimbus_op_info_t *op = &nimbus_op_table[b->op];
    char credbuf[NIMBUS_KEY_NAME_MAX + NIMBUS_KEY_SECRET_MAX + 8];
    nimbus_credentials_t creds;
    char client[NIMBUS_FORWARDED_CLIENT_MAX];
    /* Credentials are checked (by the core, for the row's role) and the
     * call taken from the caller's rate limit before the body is read, so a
     * client without the right key, or over its rate, learns nothing about
     * its input and costs no JSON parsing; the operation checks again. */
    if (nimbus_http_credentials(r->req, &creds, credbuf, sizeof credbuf, &err) != 0 ||
        nimbus_core_admit_as(r->w->core, &creds,
                             nimbus_http_client(r->w, r->req, client, sizeof client), op->role,
                             r->log.key, &err) != 0) {
        reply_problem(r, &err);
        return;
    }
    char key[512];
    size_t key_len = render_key(r, b, key, sizeof key);
    if (key_len) {
        const nimbus_render_entry_t *kept =
            nimbus_render_cache_get(r->w->render_cache, r->w->core, key, key_len);
        if (kept) {
            reply_kept(r, b, kept);
            return;
        }
    }
    nimbus_json_request_t req;
    nimbus_json_request_init(&req, b->op);
    nimbus_error_t body_err;
    bool body_refused = false;
    if (b->body != NIMBUS_REST_BODY_NONE) {
        int status;
        int body = read_body(r, b, m, &req, &status, &err);
        if (body < 0) {
            /* 415 has no code of its own in the contract: the problem
             * carries INVALID_ARGUMENT with the status HTTP expects. */
            if (status == 415) {
                evhttp_add_header(out_headers(r), "Accept-Post", JSON_TYPE);
            }
            reply_problem_status(r, &err, status == 415 ? 415 : 0);
            nimbus_json_request_cleanup(&req);
            return;
        }
        if (body > 0) {
            body_err = err;
            body_refused = true;
        }
    }
    struct evkeyvalq query;
    TAILQ_INIT(&query);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    rest_call_t *c = NULL;
    int rc = qs && *qs ? nimbus_http_parse_query(qs, &query, &err) : 0;
    if (rc == 0) {
        rc = nimbus__rest_request(b, m, &query, body_refused ? &body_err : NULL, &req, &err);
    }
    if (rc == 0 && !(c = calloc(1, sizeof *c))) {
        rc = nimbus_error_set(&err, NIMBUS_INTERNAL, "out of memory");
    }
    if (rc != 0) {
        reply_problem(r, &err);
    } else {
        c->r = *r;
        c->b = b;
        if (b->headers & NIMBUS_REST_LOCATION) {
            location_of(c, &req);
        }
        if (key_len && nimbus_core_stamp(r->w->core, b->op, &req.u, &c->stamp)) {
            c->key = key;
            c->key_len = key_len;
        }
        /* A read is answered before this returns; a write once it
         * committed, while this worker goes on serving. */
        nimbus_json_run_async(r->w->svc, &creds, &req, b->reply, call_done, c);
    }
    nimbus_json_request_cleanup(&req);
    evhttp_clear_headers(&query);
}

static void serve_openapi(rest_req_t *r)
{
    const char *m = r->method;
    if (!reading(r) && r->cmd != EVHTTP_REQ_OPTIONS) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "method %s is not allowed on %s", m,
                         OPENAPI_PATH);
        evhttp_add_header(out_headers(r), "Allow", "GET, HEAD, OPTIONS");
        reply_problem_status(r, &err, 405);
        return;
    }
    r->log.operation = "OpenAPI";
    add_cors(r);
    /* The document changes only with the binary, and with the base URL
     * its servers name: unless --public-url pins that, a shared cache
     * keeps one per Host and per what proxies say. */
    evhttp_add_header(out_headers(r), "Cache-Control", "public, max-age=3600");
    if (!r->w->config->public_url[0]) {
        evhttp_add_header(out_headers(r), "Vary",
                          r->w->config->trusted_proxy_count > 0
                              ? "Host, Forwarded, X-Forwarded-Proto, X-Forwarded-Host"
                              : "Host");
    }
    if (r->cmd == EVHTTP_REQ_OPTIONS) {
        nimbus_http_reply(r->w, r->req, 204, NULL, &r->log);
        return;
    }
    char base[NIMBUS_PUBLIC_URL_MAX];
    nimbus_http_base_url(r->w, r->req, base, sizeof base);
    size_t len = 0;
    char *text = nimbus_openapi_text(base, &len);
    nimbus_http_reply_owned(r->w, r->req, 200, JSON_TYPE, text, len, &r->log);
}

/* OPTIONS on a known path: Allow, and the CORS preflight for GET (a GET
 * with Authorization or If-None-Match is preflighted by browsers). */
static void serve_options(rest_req_t *r, const char *allow)
{
    struct evkeyvalq *h = out_headers(r);
    evhttp_add_header(h, "Allow", allow);
    add_cors(r); /* Vary: Origin even when this origin is refused */
    if (r->cors) {
        evhttp_add_header(h, "Access-Control-Allow-Methods", "GET, HEAD");
        evhttp_add_header(h, "Access-Control-Allow-Headers", "Authorization, If-None-Match");
        evhttp_add_header(h, "Access-Control-Max-Age", "600");
    }
    nimbus_http_reply(r->w, r->req, 204, NULL, &r->log);
}

static void handle(nimbus_worker_t *w, struct evhttp_request *req, uint64_t start_us,
                   bool deferred);

/* A write's turn has come (nimbus_http_defer). */
static void handle_deferred(nimbus_worker_t *w, struct evhttp_request *req, uint64_t start_us)
{
    handle(w, req, start_us, true);
}

void nimbus_rest_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    handle(w, req, nimbus_now_us(), false);
}

static void handle(nimbus_worker_t *w, struct evhttp_request *req, uint64_t start_us, bool deferred)
{
    rest_req_t r = {.w = w, .req = req, .log = NIMBUS_REQUEST_LOG("rest", "-", start_us)};
    r.cmd = evhttp_request_get_command(req);
    r.method = nimbus_http_method_name(r.cmd);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path) {
        path = "/";
    }
    r.cors = nimbus_http_origin_listed(w->config->cors_origins, in_header(&r, "Origin")) &&
             (reading(&r) || r.cmd == EVHTTP_REQ_OPTIONS);

    if (strcmp(path, OPENAPI_PATH) == 0) {
        serve_openapi(&r);
        return;
    }
    nimbus_rest_match_t m;
    if (nimbus__rest_match(path, &m) == 0) {
        fail(&r, NIMBUS_NOT_FOUND, "no resource at %.200s", path);
        return;
    }
    char allow[96];
    if (r.cmd == EVHTTP_REQ_OPTIONS) {
        nimbus__rest_allow(&m, allow, sizeof allow);
        serve_options(&r, allow);
        return;
    }
    const nimbus_rest_binding_t *b = nimbus__rest_match_method(&m, r.method);
    if (!b) {
        nimbus__rest_allow(&m, allow, sizeof allow);
        /* 405 is not a code of the contract; the problem says
         * INVALID_ARGUMENT with the status HTTP requires. */
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "method %s is not allowed on %.200s; allowed: %s", r.method, path, allow);
        evhttp_add_header(out_headers(&r), "Allow", allow);
        reply_problem_status(&r, &err, 405);
        return;
    }
    /* A write's body is parsed and checked when no read is waiting: reads
     * are cheap and should not queue behind that (nimbus_http_defer). */
    r.get = strcmp(b->method, "GET") == 0;
    if (!deferred && !r.get) {
        nimbus_http_defer(w, req, handle_deferred, start_us);
        return;
    }
    r.log.operation = nimbus_op_table[b->op].name;
    run_op(&r, b, &m);
}
