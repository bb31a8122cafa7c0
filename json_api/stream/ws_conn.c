/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One WebSocket connection: the takeover of an evhttp connection, wslay
 * framing, keepalive, the closing handshake, and the bridge between wslay
 * and the session state machine. docs/streaming.md ("How the takeover
 * works") explains why each step is needed; in short:
 *
 * - evhttp keeps owning the connection for the whole session: it shares one
 *   socket with the bufferevent, and freeing the evhttp connection is what
 *   closes it (detaching with dup() fails: evhttp shutdown()s the socket).
 * - our bufferevent callbacks replace evhttp's, so evhttp never reads or
 *   writes again; evhttp's read/write timeouts are removed by setting a
 *   dummy timeout after enabling and then clearing it, because a
 *   persistent event re-arms a remembered timeout and
 *   bufferevent_set_timeouts(NULL, NULL) alone leaves evhttp's in place.
 * - the connection is freed from our own `deferred` event, never inside
 *   evhttp's callbacks or our bufferevent callbacks; a closecb catches the
 *   case where evhttp frees the connection first (evhttp_free).
 * - bytes the client sent right behind the handshake are already in the
 *   input buffer; `deferred` is activated at once to process them.
 *
 * Failures map to RFC 6455 close codes: 1002 protocol errors (wslay), 1003
 * binary messages, 1007 invalid UTF-8, 1009 messages over
 * config->max_ws_message (wslay), 1011 internal failures, 1001 at shutdown.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <wslay/wslay.h>

#include "stream_internal.h"
#include "ws_frame.h"

struct nimbus_ws_conn {
    nimbus_stream_worker_t *sw;
    LIST_ENTRY(nimbus_ws_conn) link;
    struct evhttp_connection *evcon;
    struct bufferevent *bev;
    wslay_event_context_ptr ctx;
    nimbus_stream_session_t *session;
    struct event *deferred;  /* run or free outside other callbacks */
    struct event *keepalive; /* ping interval, then close timeout */
    bool dead;               /* free at the next deferred run */
    bool closing;            /* our close frame is queued */
    bool read_paused;        /* output over the limit: stop reading */
    bool alive;              /* the peer showed life since the last tick */
    bool ping_outstanding;
    bool proto_error;    /* a frame header wslay would refuse without a code */
    uint64_t frame_left; /* bytes of the current frame not yet given to wslay */
    nimbus_request_log_t log;
    size_t bytes_out;
};

nimbus_ws_conn_t *nimbus__ws_conn_next(nimbus_ws_conn_t *c)
{
    return LIST_NEXT(c, link);
}

static void schedule(nimbus_ws_conn_t *c)
{
    event_active(c->deferred, EV_TIMEOUT, 0);
}

static void abort_conn(nimbus_ws_conn_t *c)
{
    c->dead = true;
    schedule(c);
}

static size_t queued_bytes(void *arg)
{
    nimbus_ws_conn_t *c = arg;
    return wslay_event_get_queued_msg_length(c->ctx) +
           evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* An answer sent outside this connection's own run (a write's, after its
 * commit): write it out on the next loop iteration. */
static void session_flush(void *arg)
{
    nimbus_ws_conn_t *c = arg;
    if (!c->dead) {
        schedule(c);
    }
}

static int session_send(void *arg, const char *text, size_t len)
{
    nimbus_ws_conn_t *c = arg;
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    return wslay_event_queue_msg(c->ctx, &msg) == 0 ? 0 : -1;
}

/* Fails the connection with code: no more reading; the close frame goes
 * out and then the socket is closed. */
static void fail_conn(nimbus_ws_conn_t *c, uint16_t code, const char *reason)
{
    if (!c->closing) {
        c->closing = true;
        wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason));
    }
    wslay_event_shutdown_read(c->ctx);
}

void nimbus__ws_conn_close(nimbus_ws_conn_t *c, uint16_t code, const char *reason)
{
    if (c->dead || c->closing) {
        return;
    }
    c->closing = true;
    if (wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason)) != 0) {
        abort_conn(c);
        return;
    }
    struct timeval tv = {NIMBUS_WS_CLOSE_TIMEOUT_MS / 1000,
                         NIMBUS_WS_CLOSE_TIMEOUT_MS % 1000 * 1000};
    event_del(c->keepalive);
    event_add(c->keepalive, &tv);
    nimbus__ws_conn_run(c);
}

/* ---- wslay callbacks ------------------------------------------------------ */

static int64_t frame_size(struct evbuffer *in)
{
    unsigned char h[NIMBUS_WS_FRAME_HEADER_MAX];
    ev_ssize_t avail = evbuffer_copyout(in, h, sizeof h);
    return avail < 0 ? 0 : nimbus__ws_frame_size(h, (size_t)avail);
}

/* Feeds wslay from the input buffer, frame by frame, so that frame-level
 * protocol errors are caught here and answered with 1002 (wslay would close
 * without a status code). */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
    (void)flags;
    nimbus_ws_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t n = 0;
    while (n < len && !c->proto_error) {
        if (c->frame_left == 0) {
            int64_t size = frame_size(in);
            if (size < 0) {
                c->proto_error = true;
            }
            if (size <= 0) {
                break;
            }
            c->frame_left = (uint64_t)size;
        }
        size_t want = len - n < c->frame_left ? len - n : (size_t)c->frame_left;
        int got = evbuffer_remove(in, buf + n, want);
        if (got <= 0) {
            break;
        }
        n += (size_t)got;
        c->frame_left -= (uint64_t)got;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    c->alive = true;
    return (ssize_t)n;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    (void)flags;
    nimbus_ws_conn_t *c = arg;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t chunk = c->sw->shared.queue_max < NIMBUS_WS_OUTPUT_CHUNK ? c->sw->shared.queue_max
                                                                    : NIMBUS_WS_OUTPUT_CHUNK;
    if (evbuffer_get_length(out) >= chunk) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (evbuffer_add(out, data, len) != 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    c->bytes_out += len;
    return (ssize_t)len;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    (void)ctx;
    nimbus_ws_conn_t *c = user;
    switch (arg->opcode) {
    case WSLAY_TEXT_FRAME:
        if (c->closing) {
            return;
        }
        if (!nimbus__ws_text_valid(arg->msg, arg->msg_length)) {
            fail_conn(c, WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA, "invalid UTF-8 in a text message");
            return;
        }
        if (nimbus__stream_session_on_text(c->session, (const char *)arg->msg, arg->msg_length) !=
            0) {
            fail_conn(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "internal error");
        }
        return;
    case WSLAY_BINARY_FRAME:
        fail_conn(c, WSLAY_CODE_UNSUPPORTED_DATA, "only text messages are accepted");
        return;
    case WSLAY_PONG:
        c->ping_outstanding = false;
        return;
    case WSLAY_CONNECTION_CLOSE:
        /* wslay has queued the echo of the peer's close frame; once it is
         * out, the session is over. */
        c->closing = true;
        return;
    default:
        return;
    }
}

void nimbus__ws_conn_live(nimbus_ws_conn_t *c, const nimbus_observation_t *obs,
                          const char *const *json, size_t count)
{
    if (c->dead || c->closing) {
        return;
    }
    if (nimbus__stream_session_on_live(c->session, obs, json, count) != 0) {
        fail_conn(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "internal error");
    }
}

void nimbus__ws_conn_lost(nimbus_ws_conn_t *c, int64_t lost_through)
{
    if (!c->dead && !c->closing) {
        nimbus__stream_session_on_lost(c->session, lost_through);
    }
}

/* ---- running ---------------------------------------------------------------- */

/* Two limits on what a connection may queue. Replays and streamed calls
 * fill it only up to queue_max (the session's has_room). Reading goes on
 * past that, so a ping, an unsubscribe or a short call is answered behind
 * at most queue_max bytes instead of after a whole replay; only a client
 * that keeps sending while it does not read pushes the queue on to twice
 * queue_max, where reading stops until it has drained below queue_max.
 * One run adds at most a read's worth of small answers on top. */
static void update_backpressure(nimbus_ws_conn_t *c)
{
    size_t queued = queued_bytes(c);
    size_t limit = c->sw->shared.queue_max;
    if (!c->read_paused && queued >= 2 * limit) {
        c->read_paused = true;
        bufferevent_disable(c->bev, EV_READ);
    } else if (c->read_paused && queued < limit) {
        c->read_paused = false;
        bufferevent_enable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
            schedule(c);
        }
    }
}

void nimbus__ws_conn_run(nimbus_ws_conn_t *c)
{
    if (c->dead) {
        return;
    }
    if (!c->read_paused && wslay_event_want_read(c->ctx) && wslay_event_recv(c->ctx) != 0) {
        /* wslay queued a close frame (without a status code) before
         * failing: send it, then close. The frame pre-check (ws_frame.c)
         * answers the protocol errors that lead here with 1002 first, so
         * what is left is a failing callback or no memory. */
        c->closing = true;
        wslay_event_shutdown_read(c->ctx);
    }
    if (c->proto_error) {
        fail_conn(c, WSLAY_CODE_PROTOCOL_ERROR, "protocol error");
    }
    if (!wslay_event_want_read(c->ctx)) { /* whatever the peer still sends is ignored */
        struct evbuffer *in = bufferevent_get_input(c->bev);
        evbuffer_drain(in, evbuffer_get_length(in));
    }
    int more = c->closing ? 0 : nimbus__stream_session_pump(c->session);
    if (more < 0) {
        fail_conn(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "internal error");
    }
    if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0) {
        abort_conn(c);
        return;
    }
    update_backpressure(c);
    /* The session yielded with room left: continue on the next loop
     * iteration, after the other connections had their turn. */
    if (more > 0 && queued_bytes(c) < c->sw->shared.queue_max) {
        schedule(c);
    }
    /* Both directions finished (close frames exchanged, or we failed the
     * connection and our close frame is queued): close once it is out. */
    if (!wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx) &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        abort_conn(c);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    nimbus__ws_conn_run(arg);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    nimbus_ws_conn_t *c = arg;
    /* While we do not read (backpressure), a peer that drains our output
     * counts as alive; otherwise only what it sends does (a drained buffer
     * alone proves little: the kernel takes bytes a dead peer never reads,
     * our own ping included). */
    if (c->read_paused) {
        c->alive = true;
    }
    nimbus__ws_conn_run(c);
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        abort_conn(arg);
    }
}

static void deferred_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_ws_conn_t *c = arg;
    if (c->dead) {
        nimbus__ws_conn_free(c);
    } else {
        nimbus__ws_conn_run(c);
    }
}

static void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_ws_conn_t *c = arg;
    if (c->closing) { /* the peer never answered our close frame */
        abort_conn(c);
        return;
    }
    if (c->alive) {
        c->alive = false;
        c->ping_outstanding = false;
        return;
    }
    if (c->ping_outstanding) { /* silent for two intervals: dead */
        abort_conn(c);
        return;
    }
    struct wslay_event_msg ping = {WSLAY_PING, (const uint8_t *)"nimbus", 6};
    if (wslay_event_queue_msg(c->ctx, &ping) != 0) {
        abort_conn(c);
        return;
    }
    c->ping_outstanding = true;
    nimbus__ws_conn_run(c);
}

/* Called by evhttp when it frees the connection itself (evhttp_free at
 * shutdown with sessions still open): release everything but evcon. */
static void evhttp_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    nimbus_ws_conn_t *c = arg;
    c->evcon = NULL;
    nimbus__ws_conn_free(c);
}

/* ---- lifecycle ---------------------------------------------------------------- */

/* What a connection owns besides the evhttp connection and itself; a
 * half-made connection holds NULL in what it did not get. */
static void release_parts(nimbus_ws_conn_t *c)
{
    nimbus__stream_session_free(c->session);
    if (c->deferred) {
        event_free(c->deferred);
    }
    if (c->keepalive) {
        event_free(c->keepalive);
    }
    if (c->ctx) {
        wslay_event_context_free(c->ctx);
    }
}

void nimbus__ws_conn_free(nimbus_ws_conn_t *c)
{
    if (!c) {
        return;
    }
    nimbus_stream_worker_t *sw = c->sw;
    LIST_REMOVE(c, link);
    sw->conn_count--;
    nimbus_access_log(sw->w, &c->log, 101, c->bytes_out);
    release_parts(c);
    if (c->evcon) {
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        evhttp_connection_free(c->evcon); /* closes the socket */
    }
    free(c);
}

static const struct wslay_event_callbacks WSLAY_CALLBACKS = {
    recv_cb, send_cb, NULL, NULL, NULL, NULL, on_msg,
};

int nimbus__ws_conn_start(nimbus_stream_worker_t *sw, struct evhttp_request *req,
                          const char *accept, const nimbus_credentials_t *creds,
                          nimbus_error_t *err)
{
    nimbus_ws_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    c->sw = sw;
    c->evcon = evhttp_request_get_connection(req);
    c->bev = c->evcon ? evhttp_connection_get_bufferevent(c->evcon) : NULL;
    c->log = (nimbus_request_log_t){"ws", "-", nimbus_now_us()};
    nimbus_stream_out_t out = {session_send, queued_bytes, session_flush, c};
    struct event_base *base = sw->w->base;
    if (!c->bev || wslay_event_context_server_init(&c->ctx, &WSLAY_CALLBACKS, c) != 0 ||
        !(c->session = nimbus__stream_session_new(&sw->shared, creds, &out)) ||
        !(c->deferred = event_new(base, -1, 0, deferred_cb, c)) ||
        !(c->keepalive = event_new(base, -1, EV_PERSIST, keepalive_cb, c))) {
        goto fail;
    }
    wslay_event_config_set_max_recv_msg_length(c->ctx, sw->w->config->max_ws_message);
    char reply[256];
    int n = snprintf(reply, sizeof reply,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    if (evbuffer_add(bufferevent_get_output(c->bev), reply, (size_t)n) != 0) {
        goto fail;
    }
    c->bytes_out = (size_t)n;
    /* From here on evhttp never touches the socket again. */
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ | EV_WRITE, 0, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    struct timeval dummy = {3600, 0};
    bufferevent_set_timeouts(c->bev, &dummy, &dummy);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    evhttp_connection_set_closecb(c->evcon, evhttp_closed, c);
    event_add(c->keepalive, &sw->ping_interval);
    LIST_INSERT_HEAD(&sw->conns, c, link);
    sw->conn_count++;
    schedule(c); /* bytes behind the handshake are already buffered */
    return 0;
fail:
    release_parts(c);
    free(c);
    return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
}
