/*
 * The REST binding: every /v1/... request except /v1/stream. A request is
 * routed by the operation table (rest_route.c), its path parameter, query
 * and JSON body are merged into one params object, and nimbus_json_call runs
 * the same core operation the SOAP binding calls. Everything here is HTTP
 * manners: status codes, Location, ETag/304, Cache-Control, CORS, HEAD,
 * 405/415/413; the answer itself and every rule come from the core.
 *
 * Every failure, whatever its origin (router, body, core), leaves through
 * reply_problem, so problem+json is produced in one place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "json_internal.h"
#include "nimbus_server.h"
#include "openapi.h"
#include "rest_route.h"

#define OPENAPI_PATH "/v1/openapi.json"

typedef struct rest_req {
    nimbus_worker_t *w;
    struct evhttp_request *req;
    nimbus_request_log_t log;
    const char *method;
    bool cors; /* the Origin is allowed: add CORS headers to GET answers */
} rest_req_t;

static struct evkeyvalq *out_headers(rest_req_t *r)
{
    return evhttp_request_get_output_headers(r->req);
}

/* true when origin appears in the comma-separated list (or the list is
 * "*"). Origins are compared exactly, as browsers send them. */
static bool origin_allowed(const char *list, const char *origin)
{
    if (!origin || !*list)
        return false;
    size_t olen = strlen(origin);
    for (const char *p = list; *p;) {
        p += strspn(p, " ,");
        size_t n = strcspn(p, ",");
        size_t t = n;
        while (t > 0 && p[t - 1] == ' ')
            t--;
        if ((t == 1 && p[0] == '*') || (t == olen && t && strncmp(p, origin, t) == 0))
            return true;
        p += n;
    }
    return false;
}

/* CORS headers for a GET/HEAD/OPTIONS answer. With a list of origins the
 * answer depends on Origin whether or not this one is allowed, so a shared
 * cache must key on it (Vary); with "*" it does not. */
static void add_cors(rest_req_t *r)
{
    const char *list = r->w->config->cors_origins;
    bool any = strcmp(list, "*") == 0;
    if (*list && !any)
        evhttp_add_header(out_headers(r), "Vary", "Origin");
    if (!r->cors)
        return;
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Origin");
    evhttp_add_header(out_headers(r), "Access-Control-Allow-Origin", any ? "*" : origin);
    evhttp_add_header(out_headers(r), "Access-Control-Expose-Headers", "ETag, Location");
}

/* nimbus_http_reply also answers HEAD as a GET minus the body (evhttp
 * itself would send the body; rest_routes checks the bytes on the wire). */
static void reply(rest_req_t *r, int status, struct evbuffer *body)
{
    nimbus_http_reply(r->w, r->req, status, body, &r->log);
}

/* The one way an error leaves the REST binding. status 0: the code's own;
 * else 405 or 415, which the contract's codes do not have. */
static void reply_problem_status(rest_req_t *r, const nimbus_error_t *err, int status)
{
    struct evkeyvalq *h = out_headers(r);
    evhttp_remove_header(h, "ETag");
    evhttp_remove_header(h, "Location");
    /* A page from an allowed origin may read why its GET failed. */
    if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
        add_cors(r);
    nimbus_http_reply_problem(r->w, r->req, status, err, &r->log);
}

void nimbus_http_reply_problem(nimbus_worker_t *w, struct evhttp_request *req, int status,
                               const nimbus_error_t *err, const nimbus_request_log_t *log)
{
    struct evbuffer *body = evbuffer_new();
    /* The renderer settles the status: the code's own, or the caller's 405,
     * 415 or 426, which no code has (RFC 6455 requires the 426). */
    status = body ? nimbus_json_problem_encode_status(body, err, status) : 500;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_remove_header(h, "Content-Type");
    evhttp_add_header(h, "Content-Type", NIMBUS_JSON_PROBLEM_TYPE);
    evhttp_add_header(h, "Cache-Control", "no-store");
    if (err && err->code == NIMBUS_UNAUTHENTICATED)
        evhttp_add_header(h, "WWW-Authenticate", "Bearer realm=\"nimbus\", Basic realm=\"nimbus\"");
    /* UNAVAILABLE is storage busy or failing: worth one more try soon. */
    if (status == 503)
        evhttp_add_header(h, "Retry-After", "1");
    nimbus_http_reply(w, req, status, body, log);
    if (body)
        evbuffer_free(body);
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

/* ---- request pieces --------------------------------------------------- */

static const char *const query_names[] = {"city", "country", "limit", "cursor", "from", "to"};

/* true when key is a query parameter of the REST API that the operation
 * takes (path values and bodies are not taken from the query). */
static bool query_allowed(const char *const *allowed, const char *key)
{
    bool ok = false;
    for (size_t i = 0; i < sizeof query_names / sizeof query_names[0]; i++)
        ok = ok || strcmp(key, query_names[i]) == 0;
    for (size_t i = 0; ok && allowed[i]; i++) {
        if (strcmp(allowed[i], key) == 0)
            return true;
    }
    return false;
}

/* Adds the query's parameters to params. Each must be one the operation
 * takes, at most once; an empty value means absent. */
static int merge_query(const char *query, const nimbus_op_info_t *op, json_t *params,
                       nimbus_error_t *err)
{
    if (!query || !*query)
        return 0;
    struct evkeyvalq kv;
    if (nimbus_http_parse_query(query, &kv, err) != 0)
        return -1;
    const char *const *allowed = nimbus_json_op_params(op->op);
    int rc = 0;
    struct evkeyval *e;
    TAILQ_FOREACH(e, &kv, next)
    {
        if (!query_allowed(allowed, e->key) ||
            (op->op == NIMBUS_OP_GetCityWeather && strcmp(e->key, "city") == 0)) {
            rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "unknown query parameter \"%.64s\"",
                                  e->key);
            break;
        }
        if (json_object_get(params, e->key)) {
            rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                  "query parameter %s is given more than once", e->key);
            break;
        }
        if (!*e->value)
            continue;
        json_t *v;
        if (strcmp(e->key, "limit") == 0) {
            char *end;
            long long n = strtoll(e->value, &end, 10);
            v = *end || e->value[0] == '+' || e->value[0] == ' ' ? NULL : json_integer(n);
            if (!v) {
                rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "limit must be an integer");
                break;
            }
        } else {
            v = json_string(e->value); /* NULL: not UTF-8 */
            if (!v) {
                rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be valid UTF-8",
                                      e->key);
                break;
            }
        }
        if (json_object_set_new(params, e->key, v) != 0) {
            rc = nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
            break;
        }
    }
    evhttp_clear_headers(&kv);
    return rc;
}

/* Reads the JSON body: 413 over config->max_body, 415 unless the media type
 * is JSON, 400 when it does not parse or is not an object. Returns a new
 * reference or NULL with err set and *status the HTTP status to send. */
static json_t *read_body(rest_req_t *r, int *status, nimbus_error_t *err)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(r->req);
    size_t len = evbuffer_get_length(in);
    *status = 400;
    if (len > r->w->config->max_body) {
        *status = 413;
        nimbus_error_set(err, NIMBUS_PAYLOAD_TOO_LARGE,
                         "request body of %zu bytes is over the %zu byte limit", len,
                         r->w->config->max_body);
        return NULL;
    }
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Type");
    size_t n = ct ? strcspn(ct, "; \t") : 0;
    bool json = ct && ((n == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
                       (n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
                        strncasecmp(ct + n - 5, "+json", 5) == 0));
    if (!json) {
        *status = 415;
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "the request body must be application/json");
        return NULL;
    }
    /* JSON is UTF-8 (RFC 8259); a body declared otherwise would be read as
     * something its sender did not mean. */
    const char *charset = strcasestr(ct + n, "charset=");
    if (charset) {
        charset += 8;
        charset += *charset == '"';
        if (strncasecmp(charset, "utf-8", 5) != 0 ||
            (charset[5] && !strchr("\"; \t", charset[5]))) {
            *status = 415;
            nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                             "JSON request bodies are UTF-8; drop the charset parameter or send "
                             "charset=utf-8");
            return NULL;
        }
    }
    const char *coding =
        evhttp_find_header(evhttp_request_get_input_headers(r->req), "Content-Encoding");
    if (coding && strcasecmp(coding, "identity") != 0) {
        *status = 415;
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                         "Content-Encoding %.32s is not accepted: send the JSON body uncompressed",
                         coding);
        return NULL;
    }
    unsigned char *text = evbuffer_pullup(in, -1);
    json_t *v = nimbus_json_parse((const char *)text, len, err);
    if (v && !json_is_object(v)) {
        json_decref(v);
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "the request body must be a JSON object");
        return NULL;
    }
    return v;
}

/* Builds the params object of op from path parameter, query and body. */
static json_t *build_params(rest_req_t *r, const nimbus_op_info_t *op, const nimbus_rest_match_t *m,
                            int *status, nimbus_error_t *err)
{
    *status = 400;
    json_t *params = NULL;
    if (strcmp(op->http_method, "POST") == 0 || strcmp(op->http_method, "PUT") == 0) {
        json_t *body = read_body(r, status, err);
        if (!body)
            return NULL;
        if (op->op == NIMBUS_OP_RecordObservations) {
            /* Checked here too so that the message speaks of the body,
             * not of WebSocket-style params. */
            static const char *const members[] = {"observations", "stationId", NULL};
            if (nimbus__json_check_members(body, "request body", members, err) != 0) {
                json_decref(body);
                return NULL;
            }
            params = body;
        } else {
            params = json_object();
            if (!params || json_object_set_new(params, "station", body) != 0) {
                json_decref(params);
                nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
                return NULL;
            }
        }
    } else {
        params = json_object();
    }
    if (!params) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    if (m->param_name) {
        /* {id} is the station's id; the operations call it stationId. */
        const char *key = strcmp(m->param_name, "city") == 0 ? "city"
                          : op->op == NIMBUS_OP_GetStation || op->op == NIMBUS_OP_UpdateStation ||
                                  op->op == NIMBUS_OP_DeleteStation
                              ? "id"
                              : "stationId";
        json_t *v = m->param_bad ? NULL : json_string(m->param);
        if (!v) {
            json_decref(params);
            nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "path parameter %s is not valid text",
                             m->param_name);
            return NULL;
        }
        json_t *given = json_object_get(params, key);
        if (given && !json_is_null(given) && !json_equal(given, v)) {
            json_decref(v);
            json_decref(params);
            nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s in the body must equal the path's",
                             key);
            return NULL;
        }
        json_object_set_new(params, key, v);
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r->req);
    if (merge_query(uri ? evhttp_uri_get_query(uri) : NULL, op, params, err) != 0) {
        json_decref(params);
        return NULL;
    }
    return params;
}

/* ---- answers -------------------------------------------------------------- */

/* A strong ETag over the representation (FNV-1a, 64 bits). */
static void etag_of(struct evbuffer *body, char out[24])
{
    size_t len = evbuffer_get_length(body);
    const unsigned char *p = evbuffer_pullup(body, -1);
    unsigned long long h = 14695981039346656037ULL;
    for (size_t i = 0; p && i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, 24, "\"%016llx\"", h);
}

/* true when If-None-Match lists tag (or is "*"). */
static bool none_match(rest_req_t *r, const char *tag)
{
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(r->req), "If-None-Match");
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    /* Weak comparison (RFC 9110 13.1.2): W/"x" matches "x". */
    for (const char *p = inm; (p = strstr(p, tag + 1)) != NULL; p++) {
        if (p > inm && p[-1] == '"')
            return true;
    }
    return false;
}

static void run_op(rest_req_t *r, const nimbus_op_info_t *op, const nimbus_rest_match_t *m)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    char credbuf[NIMBUS_KEY_NAME_MAX + NIMBUS_KEY_SECRET_MAX + 8];
    nimbus_credentials_t creds;
    /* Credentials are checked (by the core, for the row's role) before the
     * body is read, so a client without the right key learns nothing about
     * its input and costs no JSON parsing; the operation checks again. */
    if (nimbus_http_credentials(r->req, &creds, credbuf, sizeof credbuf, &err) != 0 ||
        nimbus_core_authorize(r->w->core, &creds, op->role, &err) != 0) {
        reply_problem(r, &err);
        return;
    }
    int status;
    json_t *params = build_params(r, op, m, &status, &err);
    if (!params) {
        /* 415 has no code of its own in the contract: the problem carries
         * INVALID_ARGUMENT with the status HTTP expects. */
        if (status == 415)
            evhttp_add_header(out_headers(r), "Accept-Post", "application/json");
        reply_problem_status(r, &err, status == 415 ? 415 : 0);
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        json_decref(params);
        fail(r, NIMBUS_INTERNAL, "%s", "out of memory");
        return;
    }
    int rc = nimbus_json_call(r->w->svc, &creds, op->op, params, NIMBUS_JSON_REST_BODY, body, &err);
    if (rc != 0) {
        json_decref(params);
        evbuffer_free(body);
        reply_problem(r, &err);
        return;
    }
    struct evkeyvalq *h = out_headers(r);
    if (op->op == NIMBUS_OP_CreateStation) {
        /* The id passed the core's rule (A-Z a-z 0-9 _ -): no escaping. */
        json_t *st = json_object_get(params, "station");
        char loc[64];
        snprintf(loc, sizeof loc, "/v1/stations/%s", json_string_value(json_object_get(st, "id")));
        evhttp_add_header(h, "Location", loc);
    }
    json_decref(params);
    if (op->success_status != 204)
        evhttp_add_header(h, "Content-Type", "application/json");
    bool read = strcmp(op->http_method, "GET") == 0;
    if (read)
        add_cors(r);
    if (op->op == NIMBUS_OP_GetStation) {
        char tag[24];
        etag_of(body, tag);
        evhttp_add_header(h, "ETag", tag);
        /* Clients may keep it but must revalidate: a station can change. */
        evhttp_add_header(h, "Cache-Control", "no-cache");
        if (none_match(r, tag)) {
            reply(r, 304, body);
            evbuffer_free(body);
            return;
        }
    } else {
        /* Lists and weather move with every observation; writes are not
         * cacheable. */
        evhttp_add_header(h, "Cache-Control", "no-store");
    }
    reply(r, op->success_status, body);
    evbuffer_free(body);
}

static void serve_openapi(rest_req_t *r)
{
    const char *m = r->method;
    if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0 && strcmp(m, "OPTIONS") != 0) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "method %s is not allowed on %s", m,
                         OPENAPI_PATH);
        evhttp_add_header(out_headers(r), "Allow", "GET, HEAD, OPTIONS");
        reply_problem_status(r, &err, 405);
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (!body || nimbus_openapi_encode(body) != 0) {
        if (body)
            evbuffer_free(body);
        fail(r, NIMBUS_INTERNAL, "%s", "out of memory");
        return;
    }
    r->log.operation = "OpenAPI";
    add_cors(r);
    evhttp_add_header(out_headers(r), "Content-Type", "application/json");
    /* The document changes only with the binary. */
    evhttp_add_header(out_headers(r), "Cache-Control", "public, max-age=3600");
    reply(r, strcmp(m, "OPTIONS") == 0 ? 204 : 200, strcmp(m, "OPTIONS") == 0 ? NULL : body);
    evbuffer_free(body);
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
    reply(r, 204, NULL);
}

void nimbus_rest_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    rest_req_t r = {w, req, {"rest", "-", nimbus_now_us()}, NULL, false};
    r.method = nimbus_http_method_name(evhttp_request_get_command(req));
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(req), "Origin");
    r.cors = origin_allowed(w->config->cors_origins, origin);
    if (strcmp(r.method, "GET") != 0 && strcmp(r.method, "HEAD") != 0 &&
        strcmp(r.method, "OPTIONS") != 0)
        r.cors = false;

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
    nimbus__rest_allow(&m, allow, sizeof allow);
    if (strcmp(r.method, "OPTIONS") == 0) {
        serve_options(&r, allow);
        return;
    }
    const nimbus_op_info_t *op = nimbus__rest_match_method(&m, r.method);
    if (!op) {
        /* 405 is not a code of the contract; the problem says
         * INVALID_ARGUMENT with the status HTTP requires. */
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "method %s is not allowed on %.200s; allowed: %s", r.method, path, allow);
        evhttp_add_header(out_headers(&r), "Allow", allow);
        reply_problem_status(&r, &err, 405);
        return;
    }
    r.log.operation = op->name;
    run_op(&r, op, &m);
}
