/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The stream endpoint's per-worker part: GET /v1/stream chosen by the
 * request (contract 1.1): a WebSocket upgrade, or server-sent events
 * (Accept: text/event-stream) or NDJSON (Accept: application/x-ndjson) with
 * the subscription in the query, everything checked and authorized BEFORE
 * anything is switched, so a refused client gets an ordinary problem+json
 * answer; the hub listener and its fan-out on the worker's own thread; and
 * shutdown (1001 to every WebSocket session, the end of every HTTP
 * stream).
 *
 * Fan-out: the core calls the listener (nimbus__stream_hub_publish) on the
 * writer's thread; it copies into this worker's hub queue and activates
 * hub_event, which libevent runs on this worker's loop (event_active is
 * thread-safe once the server has called evthread_use_pthreads). There each
 * observation is encoded once and handed to every session, so an
 * observation recorded through any protocol on any worker reaches the
 * subscribers of every worker in seq order.
 *
 * Memory: when many sessions have closed, a timer gives their memory back
 * to the system (stream_trim.h says when and why not more often).
 */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_json.h"
#include "nimbus_util.h"
#include "stream_internal.h"
#include "stream_trim.h"
#include "ws_handshake.h"

static void hub_activate(void *arg, bool active)
{
    nimbus_stream_worker_t *sw = arg;
    nimbus__stream_hub_set_active(sw->hub, active);
}

static void hub_wake(void *arg)
{
    nimbus_stream_worker_t *sw = arg;
    event_active(sw->hub_event, EV_READ, 0);
}

static bool fanout_reserve(nimbus_stream_worker_t *sw, size_t count)
{
    char **grown = nimbus_grow(sw->fanout_json, &sw->fanout_size, count, sizeof *grown, 64);
    if (!grown) {
        return false;
    }
    sw->fanout_json = grown;
    nimbus_observation_t *items =
        nimbus_grow(sw->fanout_items, &sw->fanout_items_size, count, sizeof *items, 64);
    if (!items) {
        return false;
    }
    sw->fanout_items = items;
    return true;
}

/* Adds what the hub holds to the fan-out under way: its first *count
 * observations are sw->fanout_items, encoded in sw->fanout_json; *lost is
 * the greatest seq lost so far (0: none). Out of memory, the new
 * observations count as lost: sessions catch up from storage, which costs
 * a read but no observation. Moves the shared head. Returns false when
 * the hub held nothing. */
static bool take_more(nimbus_stream_worker_t *sw, size_t *count, int64_t *lost)
{
    const nimbus_observation_t *items;
    size_t n;
    int64_t lost_now;
    if (!nimbus__stream_hub_take(sw->hub, &items, &n, &lost_now)) {
        return false;
    }
    size_t have = *count, encoded = 0;
    if (n > 0 && fanout_reserve(sw, have + n)) {
        for (; encoded < n; encoded++) {
            sw->fanout_json[have + encoded] = nimbus_json_observation_text(&items[encoded], NULL);
            if (!sw->fanout_json[have + encoded]) {
                break;
            }
            sw->fanout_items[have + encoded] = items[encoded];
        }
    }
    if (encoded < n) {
        for (size_t i = 0; i < encoded; i++) {
            free(sw->fanout_json[have + i]);
        }
        if (items[n - 1].seq > lost_now) {
            lost_now = items[n - 1].seq;
        }
        n = 0;
    }
    *count = have + n;
    if (lost_now > *lost) {
        *lost = lost_now;
    }
    /* The head moves first: a subscription that a loss sends back to
     * REPLAY, and that catches up within its run below, must jump to the
     * head it can prove (stream_session.c, replay_batch). */
    if (*count > 0 && sw->fanout_items[*count - 1].seq > sw->shared.head) {
        sw->shared.head = sw->fanout_items[*count - 1].seq;
    }
    if (*lost > sw->shared.head) {
        sw->shared.head = *lost;
    }
    return true;
}

/* Hands one connection the fan-out's observations and loss, and runs it
 * (which sends). A session skips what it was given already (its
 * subscriptions' `through`). */
static void fan_to(nimbus_stream_worker_t *sw, nimbus_ws_conn_t *c, size_t count, int64_t lost)
{
    if (count > 0) {
        nimbus__ws_conn_live(c, sw->fanout_items, (const char *const *)sw->fanout_json, count);
    }
    if (lost > 0) {
        nimbus__ws_conn_lost(c, lost);
    }
    nimbus__ws_conn_run(c);
}

static void hub_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_stream_worker_t *sw = arg;
    /* A fan-out to many sessions takes milliseconds in one callback, and
     * under a steady stream of observations the next take is often waiting
     * when it ends: a deferred write (the next observation to fan out, say)
     * would wait for a quiet loop that does not come. One gets its turn
     * before each take, so that its commit runs while this take is sent
     * and it is published in time for the next. */
    nimbus_http_run_deferred_next(sw->w);
    size_t count = 0;
    int64_t lost = 0;
    if (!take_more(sw, &count, &lost)) {
        return;
    }
    /* Each connection is handed the take and run (which sends) before the
     * next one: its frames are still in the staging buffer and the first
     * subscribers get theirs while the others are being served.
     *
     * Observations published while the fan-out is under way join it: every
     * NIMBUS_STREAM_MERGE_SESSIONS sessions the hub is looked at, and what
     * it holds is taken, so the sessions still to come get it in the same
     * send as the rest, and those already served get it in a second pass
     * over them. Without this, an observation published just after a
     * fan-out began waited for all of it before its own fan-out started:
     * under a steady stream, twice a fan-out's length for the last
     * subscribers, and one send per subscriber per observation where one
     * send can carry both. A window with a loss does not join (a loss must
     * end a window: stream_hub.h); nor does anything after one.
     *
     * Every NIMBUS_STREAM_YIELD_SESSIONS of them, while a commit is under
     * way, the core is offered to the writer: its group's other half (after
     * the fsync: publication, the answers) would otherwise wait for the
     * scheduler's next tick, and the next take for it (row 10 of
     * docs/performance.md: a commit took 5 ms on average during fan-outs,
     * 0.7-1.2 ms with this). A yield with nobody waiting costs a system
     * call. */
    size_t served = 0;
    nimbus_ws_conn_t *joined_at = NULL; /* the first session of the last join */
    for (nimbus_ws_conn_t *c = LIST_FIRST(&sw->conns); c; c = nimbus__ws_conn_next(c)) {
        if (++served % NIMBUS_STREAM_YIELD_SESSIONS == 0 &&
            nimbus_core_commit_pending(sw->w->core)) {
            sched_yield();
        }
        if (served % NIMBUS_STREAM_MERGE_SESSIONS == 0 && lost == 0 &&
            nimbus__stream_hub_waiting(sw->hub) && take_more(sw, &count, &lost)) {
            joined_at = c;
        }
        fan_to(sw, c, count, lost);
    }
    for (nimbus_ws_conn_t *c = LIST_FIRST(&sw->conns); joined_at && c != joined_at;
         c = nimbus__ws_conn_next(c)) {
        fan_to(sw, c, count, lost);
    }
    for (size_t i = 0; i < count; i++) {
        free(sw->fanout_json[i]);
    }
}

static void trim_ready(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_stream_worker_t *sw = arg;
    nimbus__stream_trim();
    sw->conn_peak = sw->conn_count;
    sw->trim_due_since = 0;
}

void nimbus__stream_worker_counted(nimbus_stream_worker_t *sw)
{
    if (sw->conn_count > sw->conn_peak) {
        sw->conn_peak = sw->conn_count;
    }
    if (!sw->trim_event || !nimbus__stream_trim_due(sw->conn_peak, sw->conn_count)) {
        return;
    }
    uint64_t now = nimbus_now_us();
    if (sw->trim_due_since == 0) {
        sw->trim_due_since = now;
    }
    /* Each close while due pushes the trim back to a quiet moment, up to
     * the longest wait. */
    if (now - sw->trim_due_since < (uint64_t)NIMBUS_STREAM_TRIM_WAIT_MAX_MS * 1000 ||
        !evtimer_pending(sw->trim_event, NULL)) {
        struct timeval quiet = {NIMBUS_STREAM_TRIM_QUIET_MS / 1000,
                                NIMBUS_STREAM_TRIM_QUIET_MS % 1000 * 1000};
        evtimer_add(sw->trim_event, &quiet);
    }
}

static void never_called(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/*
 * libevent keeps a small record (struct evmap_io and epoll's fdinfo, a
 * 32-byte chunk) for every descriptor number it has watched, made on the
 * first event_add for that number and kept for the life of the event base.
 * Made one at a time as connections arrive, each record lands between the
 * memory of two connections and, once they have closed, pins a page of it:
 * malloc_trim then returned less than half of closed sessions' memory
 * (scripts/bench row 9: 57% kept). So the worker makes the records of
 * NIMBUS_STREAM_FD_BLOCK numbers in one go, from the start and then half a
 * block ahead of the highest descriptor it has taken over (connections
 * being accepted meanwhile find theirs made), which keeps them together,
 * off the connections' pages. Each record is made by adding a read event
 * and deleting it before the loop runs, which the epoll changelist
 * (server.c asks for it on every worker) turns into nothing: no epoll_ctl,
 * and no descriptor needs to be open. Without the changelist epoll would
 * call epoll_ctl on numbers that are not open, so then nothing is done.
 */
static void reserve_block(nimbus_stream_worker_t *sw)
{
    evutil_socket_t end = sw->fds_max - sw->fds_reserved < NIMBUS_STREAM_FD_BLOCK
                              ? sw->fds_max
                              : sw->fds_reserved + NIMBUS_STREAM_FD_BLOCK;
    struct event_base *base = sw->w->base;
    for (evutil_socket_t n = sw->fds_reserved; n < end; n++) {
        if (event_assign(sw->fd_event, base, n, EV_READ, never_called, NULL) == 0 &&
            event_add(sw->fd_event, NULL) == 0) {
            event_del(sw->fd_event);
        }
    }
    sw->fds_reserved = end;
}

void nimbus__stream_worker_reserve_fds(nimbus_stream_worker_t *sw, evutil_socket_t fd)
{
    while (sw->fd_event && sw->fds_reserved < sw->fds_max &&
           fd + NIMBUS_STREAM_FD_BLOCK / 2 >= sw->fds_reserved) {
        reserve_block(sw);
    }
}

/* The event that makes the records, when the worker's loop is epoll with
 * the changelist; the descriptor limit bounds the numbers. Makes the first
 * block. */
static void reserve_init(nimbus_stream_worker_t *sw)
{
    struct rlimit lim;
    if (strcmp(event_base_get_method(sw->w->base), "epoll (with changelist)") != 0 ||
        getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return;
    }
    rlim_t max = lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > INT_MAX ? INT_MAX : lim.rlim_cur;
    sw->fds_max = (evutil_socket_t)max;
    sw->fd_event = event_new(sw->w->base, -1, 0, never_called, NULL);
    nimbus__stream_worker_reserve_fds(sw, 0);
}

nimbus_stream_worker_t *nimbus_stream_worker_new(nimbus_worker_t *w, nimbus_error_t *err)
{
    nimbus_stream_worker_t *sw = calloc(1, sizeof *sw);
    if (!sw) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        return NULL;
    }
    sw->w = w;
    sw->shared.svc = w->svc;
    LIST_INIT(&sw->conns);
    sw->shared.queue_max =
        w->config->ws_queue_max > 0 ? w->config->ws_queue_max : NIMBUS_DEFAULT_WS_QUEUE;
    sw->shared.activate = hub_activate;
    sw->shared.activate_arg = sw;
    long ms = w->config->ws_ping_interval_ms > 0 ? w->config->ws_ping_interval_ms
                                                 : NIMBUS_DEFAULT_WS_PING_INTERVAL_MS;
    sw->ping_interval = (struct timeval){ms / 1000, ms % 1000 * 1000};
    sw->hub_event = event_new(w->base, -1, 0, hub_ready, sw);
    sw->trim_event = evtimer_new(w->base, trim_ready, sw);
    sw->hub = nimbus__stream_hub_new(NIMBUS_STREAM_HUB_CAPACITY, hub_wake, sw);
    if (!sw->hub_event || !sw->trim_event || !sw->hub) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        goto fail;
    }
    int id =
        nimbus_core_listen(w->core, nimbus__stream_hub_publish, sw->hub, &sw->shared.head, err);
    if (id < 0) {
        goto fail;
    }
    sw->listener_id = id;
    reserve_init(sw);
    /* OpenSSL initialises itself on its first digest: a few hundred small
     * allocations and ~2 MB of its code paged in. Done here, it is part of
     * the server's start-up rather than of the first session (and of the
     * memory that sessions seem to cost, and keep after they close). */
    char accept[NIMBUS_WS_ACCEPT_SIZE];
    (void)nimbus__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", accept);
    return sw;
fail:
    nimbus_stream_worker_free(sw);
    return NULL;
}

void nimbus_stream_worker_shutdown(nimbus_stream_worker_t *sw)
{
    if (!sw) {
        return;
    }
    sw->shutting_down = true;
    for (nimbus_ws_conn_t *c = LIST_FIRST(&sw->conns); c; c = nimbus__ws_conn_next(c)) {
        nimbus__ws_conn_close(c, 1001, "server shutting down");
    }
}

size_t nimbus_stream_worker_open(nimbus_stream_worker_t *sw)
{
    size_t n = 0;
    for (nimbus_ws_conn_t *c = sw ? LIST_FIRST(&sw->conns) : NULL; c; c = nimbus__ws_conn_next(c)) {
        n += nimbus__ws_conn_open(c);
    }
    return n;
}

void nimbus_stream_worker_free(nimbus_stream_worker_t *sw)
{
    if (!sw) {
        return;
    }
    /* Unlisten first: once it returns the hub is never published to. */
    if (sw->listener_id > 0) {
        nimbus_core_unlisten(sw->w->core, sw->listener_id);
    }
    while (!LIST_EMPTY(&sw->conns)) {
        nimbus__ws_conn_free(LIST_FIRST(&sw->conns));
    }
    if (sw->hub_event) {
        event_free(sw->hub_event);
    }
    if (sw->trim_event) { /* after the connections, whose frees may arm it */
        event_free(sw->trim_event);
    }
    if (sw->fd_event) {
        event_free(sw->fd_event);
    }
    nimbus__stream_hub_free(sw->hub);
    free(sw->fanout_json);
    free(sw->fanout_items);
    free(sw->stage);
    free(sw);
}

/* ---- the upgrade ---------------------------------------------------------- */

static void refuse(nimbus_worker_t *w, struct evhttp_request *req, int status,
                   const nimbus_error_t *err, const nimbus_request_log_t *log)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (status == 426) {
        evhttp_add_header(out, "Upgrade", "websocket");
        evhttp_add_header(out, "Sec-WebSocket-Version", "13");
    }
    nimbus_http_reply_problem(w, req, status, err, log);
}

/* Credentials from the Authorization header, else ?access_token= (what a
 * browser can send on an upgrade). Strings land in buf. */
static int read_credentials(struct evhttp_request *req, nimbus_credentials_t *creds, char *buf,
                            size_t bufsize, nimbus_error_t *err)
{
    if (nimbus_http_credentials(req, creds, buf, bufsize, err) != 0) {
        return -1;
    }
    if (creds->kind != NIMBUS_CRED_NONE) {
        return 0;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!query) {
        return 0;
    }
    struct evkeyvalq params;
    if (nimbus_http_parse_query(query, &params, err) != 0) {
        err->code = NIMBUS_UNAUTHENTICATED; /* no usable access_token */
        return -1;
    }
    const char *token = nimbus_http_find_header(&params, "access_token");
    int rc = 0;
    if (token) {
        size_t len = strlen(token);
        if (len == 0 || len >= bufsize) {
            rc = nimbus_error_set(err, NIMBUS_UNAUTHENTICATED, "malformed access_token");
        } else {
            memcpy(buf, token, len + 1);
            creds->kind = NIMBUS_CRED_SECRET;
            creds->secret = buf;
        }
    }
    evhttp_clear_headers(&params);
    return rc;
}

/* ---- server-sent events and NDJSON (1.1) ----------------------------------- */

/* Which HTTP framing the Accept header asks for: of text/event-stream and
 * application/x-ndjson, the one with the greater q (the first listed on a
 * tie; q=0 refuses it); NIMBUS_STREAM_WS when it names neither (a wildcard
 * chooses nothing: the WebSocket's 426 stays the answer to "anything"). */
static nimbus_stream_framing_t accepted_framing(const char *accept)
{
    nimbus_stream_framing_t best = NIMBUS_STREAM_WS;
    double best_q = 0;
    for (const char *p = accept; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        nimbus_media_type_t mt;
        char item[256];
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        nimbus_http_media_type(item, &mt);
        double q = 1;
        const char *qp = strstr(item, ";");
        for (; qp; qp = strchr(qp + 1, ';')) {
            const char *v = qp + 1;
            while (*v == ' ' || *v == '\t') {
                v++;
            }
            if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=') {
                q = strtod(v + 2, NULL);
            }
        }
        nimbus_stream_framing_t f =
            nimbus_http_media_type_is(&mt, "text/event-stream")      ? NIMBUS_STREAM_SSE
            : nimbus_http_media_type_is(&mt, "application/x-ndjson") ? NIMBUS_STREAM_NDJSON
                                                                     : NIMBUS_STREAM_WS;
        if (f != NIMBUS_STREAM_WS && q > best_q) {
            best = f;
            best_q = q;
        }
        p = end ? end + 1 : NULL;
    }
    return best;
}

/* A seq from a query value or Last-Event-ID: 0, or -1 with err naming it. */
static int read_seq(const char *text, const char *what, int64_t *out, nimbus_error_t *err)
{
    if (nimbus_integral_text(text, out) != 0) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "%s must be an integer >= 0", what);
    }
    return 0;
}

/* The subscription an SSE/NDJSON request asks for: station (repeated;
 * none: every station), fromSeq, snapshot=true|false, heartbeat=N, as
 * subscribe's members; access_token is the key's. Last-Event-ID (an
 * EventSource reconnecting) resumes as fromSeq would, and wins over the
 * URL's fromSeq and snapshot, which the reconnect repeats as they were.
 * Station ids are borrowed from params. */
static int read_subscription(struct evhttp_request *req, struct evkeyvalq *params,
                             nimbus_stream_subscribe_t *sub, const char ***stations,
                             nimbus_error_t *err)
{
    *stations = NULL;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    TAILQ_INIT(params);
    if (query && nimbus_http_parse_query(query, params, err) != 0) {
        return -1;
    }
    size_t n = 0;
    struct evkeyval *e;
    TAILQ_FOREACH(e, params, next)
    {
        n += strcmp(e->key, "station") == 0;
    }
    if (n > 0 && !(*stations = calloc(n, sizeof **stations))) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    bool seen_from = false, seen_snapshot = false, seen_heartbeat = false;
    TAILQ_FOREACH(e, params, next)
    {
        const char *k = e->key, *v = e->value;
        bool *seen = NULL;
        if (strcmp(k, "station") == 0) {
            if (*v) { /* an empty value means absent, as in REST */
                (*stations)[sub->station_count++] = v;
            }
            continue;
        }
        if (strcmp(k, "access_token") == 0) {
            continue;
        }
        if (strcmp(k, "fromSeq") == 0) {
            seen = &seen_from;
        } else if (strcmp(k, "snapshot") == 0) {
            seen = &seen_snapshot;
        } else if (strcmp(k, "heartbeat") == 0) {
            seen = &seen_heartbeat;
        } else {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "unknown query parameter \"%.64s\"", k);
        }
        if (*seen) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "query parameter %s is given more than once", k);
        }
        *seen = true;
        if (!*v) {
            continue; /* an empty value means absent, as in REST */
        }
        if (seen == &seen_from) {
            if (read_seq(v, "fromSeq", &sub->from_seq, err) != 0) {
                return -1;
            }
            sub->has_from_seq = true;
        } else if (seen == &seen_snapshot) {
            if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
                return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                        "snapshot must be true or false");
            }
            sub->snapshot = strcmp(v, "true") == 0;
        } else {
            if (nimbus_integral_text(v, &sub->heartbeat_s) != 0) {
                return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                        "heartbeat must be an integer number of seconds");
            }
            sub->has_heartbeat = true;
        }
    }
    sub->stations = sub->station_count > 0 ? *stations : NULL;
    const char *last =
        nimbus_http_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
    if (last && *last) {
        if (read_seq(last, "Last-Event-ID", &sub->from_seq, err) != 0) {
            return -1;
        }
        sub->has_from_seq = true;
        sub->snapshot = false;
    }
    return 0;
}

static void stream_over_http(nimbus_worker_t *w, struct evhttp_request *req,
                             nimbus_stream_framing_t framing, nimbus_request_log_t *log)
{
    nimbus_stream_worker_t *sw = w->stream;
    nimbus_error_t err;
    nimbus_error_clear(&err);
    log->protocol = framing == NIMBUS_STREAM_SSE ? "sse" : "ndjson";
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *origin = nimbus_http_find_header(in, "Origin");
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "the stream is a GET");
        evhttp_add_header(out, "Allow", "GET");
        refuse(w, req, 405, &err, log);
        return;
    }
    /* A page from a listed origin may read the stream, and why it was
     * refused (EventSource is a CORS request when cross-origin). */
    char headers[1200] = "";
    const char *list = w->config->cors_origins;
    if (*list && strcmp(list, "*") != 0) {
        evhttp_add_header(out, "Vary", "Origin");
        snprintf(headers, sizeof headers, "Vary: Origin\r\n");
    }
    if (origin && nimbus_http_origin_listed(list, origin) && strlen(origin) < 1024 &&
        !strpbrk(origin, "\r\n")) {
        const char *allow = strcmp(list, "*") == 0 ? "*" : origin;
        evhttp_add_header(out, "Access-Control-Allow-Origin", allow);
        size_t used = strlen(headers);
        snprintf(headers + used, sizeof headers - used, "Access-Control-Allow-Origin: %s\r\n",
                 allow);
    }
    /* The key first, as for an upgrade: 401 whatever page it comes from. */
    nimbus_credentials_t creds;
    char buf[NIMBUS_KEY_NAME_MAX + NIMBUS_KEY_SECRET_MAX + 8];
    if (read_credentials(req, &creds, buf, sizeof buf, &err) != 0 ||
        nimbus_core_authorize_as(w->core, &creds, NIMBUS_ROLE_READ, log->key, &err) != 0) {
        refuse(w, req, nimbus_code_http_status(err.code), &err, log);
        return;
    }
    /* The page's own host, through a trusted proxy too, as for an upgrade. */
    nimbus_forwarded_t fwd;
    nimbus_http_forwarded(w, req, &fwd);
    if (!nimbus__ws_origin_allowed(origin, fwd.host, w->config->cors_origins)) {
        nimbus_error_set(&err, NIMBUS_PERMISSION_DENIED,
                         "this page's origin may not open a stream (see --cors-origin)");
        refuse(w, req, 403, &err, log);
        return;
    }
    struct evkeyvalq params;
    nimbus_stream_subscribe_t sub = {0};
    const char **stations = NULL;
    int rc = read_subscription(req, &params, &sub, &stations, &err);
    if (rc == 0) {
        rc = nimbus__stream_conn_start(sw, req, framing, headers, &creds, log->key, &sub, &err);
    }
    free(stations);
    evhttp_clear_headers(&params);
    if (rc != 0) {
        refuse(w, req, nimbus_code_http_status(err.code), &err, log);
    }
}

void nimbus_stream_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("ws", "-", nimbus_now_us());
    nimbus_stream_worker_t *sw = w->stream;
    nimbus_error_t err;
    nimbus_error_clear(&err);
    if (!sw || sw->shutting_down) {
        nimbus_error_set(&err, NIMBUS_UNAVAILABLE, "the server is shutting down");
        refuse(w, req, 503, &err, &log);
        return;
    }
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    /* An upgrade is a WebSocket whatever it accepts; otherwise Accept
     * chooses an HTTP framing, or nothing (the 426 below). */
    if (!nimbus_http_has_token(nimbus_http_find_header(in, "Upgrade"), "websocket")) {
        nimbus_stream_framing_t framing = accepted_framing(nimbus_http_find_header(in, "Accept"));
        if (framing != NIMBUS_STREAM_WS) {
            stream_over_http(w, req, framing, &log);
            return;
        }
    }
    nimbus_ws_upgrade_headers_t h = {
        evhttp_request_get_command(req) == EVHTTP_REQ_GET,
        nimbus_http_find_header(in, "Upgrade"),
        nimbus_http_find_header(in, "Connection"),
        nimbus_http_find_header(in, "Sec-WebSocket-Key"),
        nimbus_http_find_header(in, "Sec-WebSocket-Version"),
    };
    int status = nimbus__ws_upgrade_check(&h, &err);
    if (status != 0) {
        refuse(w, req, status, &err, &log);
        return;
    }
    /* The key first: the contract answers an upgrade without a valid key
     * with 401, whatever page it comes from. */
    nimbus_credentials_t creds;
    char buf[NIMBUS_KEY_NAME_MAX + NIMBUS_KEY_SECRET_MAX + 8];
    if (read_credentials(req, &creds, buf, sizeof buf, &err) != 0 ||
        nimbus_core_authorize_as(w->core, &creds, NIMBUS_ROLE_READ, log.key, &err) != 0) {
        refuse(w, req, nimbus_code_http_status(err.code), &err, &log);
        return;
    }
    /* The page's own host: as the browser asked for it, through a trusted
     * proxy too (which may pass another Host on). */
    nimbus_forwarded_t fwd;
    nimbus_http_forwarded(w, req, &fwd);
    if (!nimbus__ws_origin_allowed(nimbus_http_find_header(in, "Origin"), fwd.host,
                                   w->config->cors_origins)) {
        nimbus_error_set(&err, NIMBUS_PERMISSION_DENIED,
                         "this page's origin may not open a stream (see --cors-origin)");
        refuse(w, req, 403, &err, &log);
        return;
    }
    char accept[NIMBUS_WS_ACCEPT_SIZE];
    nimbus__ws_accept_key(h.key, accept);
    if (nimbus__ws_conn_start(sw, req, accept, &creds, log.key, &err) != 0) {
        refuse(w, req, 500, &err, &log);
    }
}
