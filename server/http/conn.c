/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The connection guard: every connection the HTTP host accepts, counted and
 * bounded, and every request held to a deadline.
 *
 * - Limits: --max-connections in all and --max-connections-per-client per
 *   client address, HTTP and WebSocket alike (an upgraded connection stays
 *   the same connection). Past either, the connection gets a 503
 *   problem+json (RESOURCE_EXHAUSTED, Retry-After) written straight to the
 *   socket and is closed before anything it sent is read. The client here
 *   is the peer: a connection is counted when it is accepted, before any
 *   header could say whom it carries, so a trusted proxy's connections
 *   are bound by the total only.
 * - A request's deadline: from its first byte it has --request-timeout to
 *   arrive whole, plus one second for every --min-body-rate bytes it has
 *   sent, so a client trickling a byte every few seconds cannot stretch it
 *   while a large body at a fair rate can take what it needs. Past it the
 *   connection gets a 408 and is closed. A request being answered is not
 *   timed (evhttp reads nothing more meanwhile); a connection that was
 *   upgraded to a WebSocket is the stream's to time. An idle connection is
 *   evhttp's own timeout (--idle-timeout).
 * - Accepting never spins: when accept() fails for want of descriptors or
 *   memory, the listener pauses for NIMBUS_ACCEPT_PAUSE_MS and says so once
 *   per NIMBUS_ACCEPT_LOG_INTERVAL_S, then tries again.
 *
 * How, with libevent 2.1's public API only: evhttp has no hook when it
 * accepts or frees a connection, but it asks evhttp_set_bevcb's callback for
 * each new connection's bufferevent. We make that bufferevent and hold a
 * reference on it; on the next loop turn evhttp has set it up, and its
 * callback argument is the evhttp connection, whose close callback we set
 * and whose peer we count. A reference kept to the end guards against the
 * close callback not being called (a WebSocket takes it over for itself,
 * evhttp skips it on some paths): a sweep every second finds bufferevents
 * evhttp has freed (their callbacks cleared) and releases them. Bytes are
 * counted with a callback on the bufferevent's input buffer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#include "nimbus_http.h"
#include "nimbus_json.h"

#define SWEEP_INTERVAL_MS 1000
#define NIMBUS_ACCEPT_PAUSE_MS 100
#define NIMBUS_ACCEPT_LOG_INTERVAL_S 10
#define CLIENT_MAX NIMBUS_COUNTS_NAME_MAX /* an address's text, a v6 zone too */

/* ---- the table every worker shares ------------------------------------ */

nimbus_conn_table_t *nimbus_conn_table_new(void)
{
    return (nimbus_conn_table_t *)nimbus_counts_new();
}

void nimbus_conn_table_free(nimbus_conn_table_t *t)
{
    nimbus_counts_free((nimbus_counts_t *)t);
}

size_t nimbus_conn_table_total(nimbus_conn_table_t *t)
{
    return nimbus_counts_total((nimbus_counts_t *)t);
}

/* Counts a new connection from addr unless a limit says no: returns 0, or
 * 1 over the total, 2 over the client's, -1 out of memory. A trusted proxy
 * (--trusted-proxy) carries many clients, and which one a connection is
 * for is known only from its request's headers, long after this: its
 * connections are bound by the total alone. */
static int admit(nimbus_conn_table_t *t, const nimbus_config_t *cfg, const char *addr)
{
    bool proxy = nimbus_cidr_list_has(cfg->trusted_proxies, cfg->trusted_proxy_count, addr);
    return nimbus_counts_take((nimbus_counts_t *)t, addr,
                              proxy ? 0 : cfg->max_connections_per_client, cfg->max_connections);
}

static void forget(nimbus_conn_table_t *t, const char *addr)
{
    nimbus_counts_give((nimbus_counts_t *)t, addr);
}

/* ---- a worker's connections ------------------------------------------- */

struct nimbus_conn {
    LIST_ENTRY(nimbus_conn) link;
    nimbus_worker_t *w;
    struct bufferevent *bev; /* referenced until released */
    struct evhttp_connection *evcon;
    struct event *timer; /* set-up, then the request deadline */
    char addr[CLIENT_MAX];
    bool counted;        /* in the shared table */
    bool watching;       /* the input callback is installed */
    bool taken_over;     /* upgraded: the stream times it now */
    bool close_now;      /* close on the timer's next run (nimbus_http_conn_close_after) */
    uint64_t started_us; /* first byte of the request being received; 0: none */
    uint64_t bytes;      /* of that request so far */
    uint64_t armed_us;   /* when the pending timer fires; 0: not pending */
    struct nimbus_conn *hash_next;
};

static size_t ptr_hash(const void *p, size_t cap)
{
    uintptr_t v = (uintptr_t)p;
    v ^= v >> 17;
    v *= 0x9E3779B97F4A7C15u;
    return (size_t)(v >> 20) & (cap - 1);
}

static void hash_put(nimbus_worker_t *w, nimbus_conn_t *c)
{
    size_t i = ptr_hash(c->evcon, w->conn_hash_cap);
    c->hash_next = w->conn_hash[i];
    w->conn_hash[i] = c;
}

static nimbus_conn_t *hash_get(nimbus_worker_t *w, const struct evhttp_connection *evcon)
{
    if (!w->conn_hash) {
        return NULL;
    }
    nimbus_conn_t *c = w->conn_hash[ptr_hash(evcon, w->conn_hash_cap)];
    while (c && c->evcon != evcon) {
        c = c->hash_next;
    }
    return c;
}

static void hash_del(nimbus_worker_t *w, nimbus_conn_t *c)
{
    if (!c->evcon) {
        return;
    }
    nimbus_conn_t **pp = &w->conn_hash[ptr_hash(c->evcon, w->conn_hash_cap)];
    while (*pp && *pp != c) {
        pp = &(*pp)->hash_next;
    }
    if (*pp) {
        *pp = c->hash_next;
    }
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg);

/* Forgets c entirely: uncounted, callbacks gone, our reference dropped
 * (which frees the bufferevent if evhttp already let go of it). */
static void release(nimbus_conn_t *c)
{
    nimbus_worker_t *w = c->w;
    if (c->watching) {
        evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
        c->watching = false;
    }
    if (c->counted) {
        forget(w->server_conns, c->addr);
        nimbus_metrics_block_t *m = nimbus_service_metrics(w->svc);
        nimbus_metrics_conn_open(m, NIMBUS_CONN_HTTP, -1);
        if (w->tls) {
            nimbus_metrics_conn_open(m, NIMBUS_CONN_TLS, -1);
        }
        if (c->taken_over) {
            nimbus_metrics_conn_open(m, NIMBUS_CONN_WEBSOCKET, -1);
        }
    }
    if (c->timer) {
        event_free(c->timer);
    }
    hash_del(w, c);
    if (w->conn_last == c) {
        w->conn_last = NULL;
    }
    LIST_REMOVE(c, link);
    w->conn_count--;
    bufferevent_decref(c->bev);
    free(c);
}

/* evhttp frees the connection. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    release(arg);
}

/* Writes a whole short answer to the socket without waiting (it is small
 * and the connection new, so the socket buffer takes it). */
static void write_raw(nimbus_worker_t *w, struct bufferevent *bev, const char *head,
                      const char *request_id, const char *body, size_t len)
{
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0 || w->tls) {
        return; /* under TLS, plain bytes would be garbage: just close */
    }
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
                     "%sX-Request-Id: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", head,
                     request_id, len);
    if (n > 0 && (size_t)n + len < sizeof buf) {
        memcpy(buf + n, body, len);
        (void)!send(fd, buf, (size_t)n + len, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

/* Answers written here come before any request was read: they get an id
 * of their own, like every answer. */
static void refuse(nimbus_conn_t *c, const char *why)
{
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("http", "-", nimbus_now_us());
    nimbus_http_request_id_new(log.request_id);
    nimbus_error_t err;
    nimbus_error_set(&err, NIMBUS_RESOURCE_EXHAUSTED, "%s; try again later", why);
    nimbus_json_writer_t jw;
    nimbus_json_writer_init(&jw);
    nimbus_json_problem_write_id(&jw, &err, 503, log.request_id);
    size_t len = 0;
    char *text = nimbus_json_writer_steal(&jw, &len);
    if (text) {
        write_raw(c->w, c->bev,
                  "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " NIMBUS_JSON_PROBLEM_TYPE
                  "\r\nRetry-After: 1\r\nCache-Control: no-store\r\n",
                  log.request_id, text, len);
        free(text);
    }
    nimbus_access_log(c->w, &log, 503, len);
}

/* Sets c's timer to fire at at_us; now is the clock's present value. */
static void arm(nimbus_conn_t *c, uint64_t at_us, uint64_t now)
{
    uint64_t wait = at_us > now ? at_us - now : 0;
    struct timeval tv = {(time_t)(wait / 1000000u), (suseconds_t)(wait % 1000000u)};
    event_add(c->timer, &tv);
    c->armed_us = at_us;
}

/* A request's deadline is checked lazily: a timer still pending from an
 * earlier request that fires no later than this one's deadline is kept,
 * and on_timer re-arms it for the real deadline when it fires early. On a
 * keep-alive connection the timer is then set once per --request-timeout,
 * not added and deleted around every request (two timer-heap operations
 * per request on the read path). */
static void arm_by(nimbus_conn_t *c, uint64_t at_us, uint64_t now)
{
    if (c->armed_us == 0 || c->armed_us > at_us) {
        arm(c, at_us, now);
    }
}

/* The clock a request's first byte is stamped with: CLOCK_MONOTONIC's
 * coarse reading, which the kernel keeps per tick (1-4 ms behind), for a
 * deadline of seconds. In this VM a precise reading costs ~25 ns, a tenth
 * of what Nimbus adds to a cached read (bench/perf_read.sh). Lagging,
 * it can only make a deadline come a tick early, never late. */
static uint64_t first_byte_us(void)
{
    return nimbus_clock_us(CLOCK_MONOTONIC_COARSE);
}

static uint64_t deadline_of(const nimbus_conn_t *c)
{
    const nimbus_config_t *cfg = c->w->config;
    uint64_t allowance = cfg->min_body_rate ? c->bytes * 1000000u / cfg->min_body_rate : 0;
    return c->started_us + cfg->request_timeout_ms * 1000u + allowance;
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    (void)buf;
    nimbus_conn_t *c = arg;
    if (info->n_added == 0 || c->taken_over) {
        return;
    }
    if (c->started_us == 0) {
        c->started_us = first_byte_us();
        c->bytes = 0;
        arm_by(c, deadline_of(c), c->started_us);
        c->w->conn_last = c;
    }
    c->bytes += info->n_added;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* True once evhttp has freed the bufferevent (bufferevent_free clears
 * every callback; while evhttp writes an answer only the read one is). */
static bool let_go(struct bufferevent *bev)
{
    bufferevent_data_cb readcb = NULL, writecb = NULL;
    bufferevent_event_cb eventcb = NULL;
    void *cbarg = NULL;
    bufferevent_getcb(bev, &readcb, &writecb, &eventcb, &cbarg);
    return !readcb && !writecb && !eventcb && !cbarg;
}

/* The connection's first loop turn: evhttp has made it; count it. */
static void set_up(nimbus_conn_t *c)
{
    void *cbarg = NULL;
    bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
    if (let_go(c->bev) || !cbarg) {
        release(c); /* evhttp gave up on it already */
        return;
    }
    c->evcon = cbarg;
    hash_put(c->w, c);
    char *peer = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(c->evcon, &peer, &port);
    snprintf(c->addr, sizeof c->addr, "%s", peer ? peer : "?");
    int rc = admit(c->w->server_conns, c->w->config, c->addr);
    if (rc != 0) {
        nimbus_metrics_conn_refused_limit(nimbus_service_metrics(c->w->svc));
        refuse(c,
               rc == 2 ? "too many connections from this client address" : "too many connections");
        /* No close callback is set yet: release it here. */
        evhttp_connection_free(c->evcon);
        release(c);
        return;
    }
    c->counted = true;
    nimbus_metrics_block_t *m = nimbus_service_metrics(c->w->svc);
    nimbus_metrics_conn_open(m, NIMBUS_CONN_HTTP, 1);
    if (c->w->tls) {
        nimbus_metrics_conn_open(m, NIMBUS_CONN_TLS, 1);
    }
    evhttp_connection_set_closecb(c->evcon, on_close, c);
    evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
    c->watching = true;
    /* Bytes that came with the connection are already buffered. */
    size_t have = evbuffer_get_length(bufferevent_get_input(c->bev));
    if (have > 0) {
        c->started_us = first_byte_us();
        c->bytes = have;
        arm_by(c, deadline_of(c), c->started_us);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_conn_t *c = arg;
    c->armed_us = 0; /* whatever woke it, a non-persistent event is no longer pending */
    if (!c->evcon) {
        set_up(c);
        return;
    }
    if (c->close_now) {
        evhttp_connection_free(c->evcon); /* calls on_close: released */
        return;
    }
    if (c->taken_over || c->started_us == 0) {
        return;
    }
    uint64_t deadline = deadline_of(c);
    uint64_t now = nimbus_now_us();
    if (now < deadline) {
        arm(c, deadline, now);
        return;
    }
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("http", "-", c->started_us);
    nimbus_http_request_id_new(log.request_id);
    write_raw(c->w, c->bev,
              "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\n",
              log.request_id, "request not received in time\n", 29);
    nimbus_access_log(c->w, &log, 408, 29);
    evhttp_connection_free(c->evcon); /* calls on_close: released */
}

static struct bufferevent *make_bev(struct event_base *base, void *arg)
{
    nimbus_worker_t *w = arg;
    struct bufferevent *bev = NULL;
    if (w->tls) {
        SSL *ssl = nimbus_tls_ssl(w->tls);
        bev = ssl ? bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                   BEV_OPT_CLOSE_ON_FREE)
                  : NULL;
        if (!bev) {
            SSL_free(ssl);
            return NULL;
        }
        /* Clients that close without close_notify are the norm. */
        bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev) {
        return NULL;
    }
    nimbus_conn_t *c = calloc(1, sizeof *c);
    if (c) {
        c->timer = event_new(base, -1, 0, on_timer, c);
    }
    if (!c || !c->timer) {
        free(c);
        return bev; /* served, just not counted or timed: out of memory */
    }
    c->w = w;
    c->bev = bev;
    bufferevent_incref(bev);
    LIST_INSERT_HEAD(&w->conns, c, link);
    w->conn_count++;
    event_active(c->timer, EV_TIMEOUT, 0); /* set_up on the next turn */
    return bev;
}

/* Connections evhttp freed without telling us (their callbacks cleared). */
static void sweep(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_worker_t *w = arg;
    nimbus_conn_t *c = LIST_FIRST(&w->conns), *next;
    for (; c; c = next) {
        next = LIST_NEXT(c, link);
        if (c->evcon && let_go(c->bev)) {
            release(c);
        }
    }
}

void nimbus_http_conn_request(nimbus_worker_t *w, struct evhttp_request *req)
{
    /* Nearly always the connection whose bytes just came (the table's
     * bucket array is cold memory by then). */
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    nimbus_conn_t *c =
        w->conn_last && w->conn_last->evcon == evcon ? w->conn_last : hash_get(w, evcon);
    if (c) {
        /* Arrived whole: not timed while answered. The timer stays; when
         * it fires with no request arriving, on_timer does nothing. */
        c->started_us = 0;
    }
}

/* The answer is out: close on the next loop turn, from our own event
 * (never inside evhttp's callbacks). */
static void answer_sent(struct evhttp_request *req, void *arg)
{
    nimbus_conn_t *c = hash_get(arg, evhttp_request_get_connection(req));
    if (c) {
        c->close_now = true;
        event_active(c->timer, EV_TIMEOUT, 0);
    }
}

void nimbus_http_conn_close_after(nimbus_worker_t *w, struct evhttp_request *req)
{
    evhttp_request_set_on_complete_cb(req, answer_sent, w);
}

void nimbus_http_conn_upgraded(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_conn_t *c = hash_get(w, evhttp_request_get_connection(req));
    if (c) {
        if (c->counted && !c->taken_over) {
            nimbus_metrics_conn_open(nimbus_service_metrics(w->svc), NIMBUS_CONN_WEBSOCKET, 1);
        }
        c->taken_over = true;
        c->started_us = 0;
        event_del(c->timer);
        c->armed_us = 0;
        if (c->watching) {
            evbuffer_remove_cb(bufferevent_get_input(c->bev), on_input, c);
            c->watching = false;
        }
    }
}

void nimbus_http_conn_forget(nimbus_worker_t *w, struct evhttp_connection *evcon)
{
    nimbus_conn_t *c = hash_get(w, evcon);
    if (c) {
        release(c);
    }
}

/* ---- accepting -------------------------------------------------------- */

static void resume_accepting(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evconnlistener_enable(arg);
}

/* Each worker's listener, to find the worker from libevent's error
 * callback: its argument is evhttp's own (the evhttp), not ours. Written
 * while the server starts, before any worker runs. */
static struct {
    struct evconnlistener *listener;
    nimbus_worker_t *w;
} listeners[256];

static nimbus_worker_t *worker_of(const struct evconnlistener *listener)
{
    for (size_t i = 0; i < sizeof listeners / sizeof listeners[0]; i++) {
        if (listeners[i].listener == listener) {
            return listeners[i].w;
        }
    }
    return NULL;
}

static void accept_error(struct evconnlistener *listener, void *arg)
{
    (void)arg;
    nimbus_worker_t *w = worker_of(listener);
    if (!w) {
        return;
    }
    int e = EVUTIL_SOCKET_ERROR();
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        evconnlistener_disable(listener);
        struct timeval tv = {0, NIMBUS_ACCEPT_PAUSE_MS * 1000};
        event_base_once(w->base, -1, EV_TIMEOUT, resume_accepting, listener, &tv);
        time_t now = time(NULL);
        if (now - w->accept_logged >= NIMBUS_ACCEPT_LOG_INTERVAL_S) {
            w->accept_logged = now;
            nimbus_log(NIMBUS_LOG_WARN,
                       "worker %d cannot accept connections: %s (%zu open here, %zu in all); "
                       "pausing accept for %d ms at a time",
                       w->index, strerror(e), w->conn_count,
                       nimbus_conn_table_total(w->server_conns), NIMBUS_ACCEPT_PAUSE_MS);
        }
        return;
    }
    /* Anything else concerns that one connection (it went away before
     * it was accepted): go on. */
}

int nimbus_http_conns_start(nimbus_worker_t *w, struct evhttp_bound_socket *bound)
{
    LIST_INIT(&w->conns);
    w->conn_hash_cap = 4096;
    w->conn_hash = calloc(w->conn_hash_cap, sizeof *w->conn_hash);
    w->conn_sweep = event_new(w->base, -1, EV_PERSIST, sweep, w);
    if (!w->conn_hash || !w->conn_sweep) {
        return -1;
    }
    struct timeval tv = {SWEEP_INTERVAL_MS / 1000, SWEEP_INTERVAL_MS % 1000 * 1000};
    event_add(w->conn_sweep, &tv);
    evhttp_set_bevcb(w->http, make_bev, w);
    struct evconnlistener *listener = evhttp_bound_socket_get_listener(bound);
    size_t i = 0;
    while (i < sizeof listeners / sizeof listeners[0] && listeners[i].listener &&
           listeners[i].w != w) {
        i++;
    }
    if (i == sizeof listeners / sizeof listeners[0]) {
        return -1;
    }
    listeners[i].listener = listener;
    listeners[i].w = w;
    evconnlistener_set_error_cb(listener, accept_error);
    return 0;
}

void nimbus_http_conns_stop(nimbus_worker_t *w)
{
    for (size_t i = 0; i < sizeof listeners / sizeof listeners[0]; i++) {
        if (listeners[i].w == w) {
            listeners[i].listener = NULL; /* freed with evhttp */
        }
    }
    /* After evhttp_free: every connection is gone; drop our references. */
    while (!LIST_EMPTY(&w->conns)) {
        nimbus_conn_t *c = LIST_FIRST(&w->conns);
        c->evcon = NULL; /* freed with evhttp */
        release(c);
    }
    if (w->conn_sweep) {
        event_free(w->conn_sweep);
        w->conn_sweep = NULL;
    }
    free(w->conn_hash);
    w->conn_hash = NULL;
}
