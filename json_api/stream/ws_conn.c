/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * One WebSocket connection: the takeover of an evhttp connection, framing
 * (wslay for what the client sends, our own frames for what we send),
 * keepalive, the closing handshake, and the bridge to the session state
 * machine. docs/streaming.md ("How the takeover works", "What an idle
 * session costs") explains why each step is needed; in short:
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
 * - a wslay context (two 4 KiB buffers) exists only while the client's
 *   input is being parsed and during the closing handshake: it is created
 *   when bytes arrive and freed at a message boundary, so an idle
 *   subscriber holds none.
 * - data frames and our pings are written by us (an unmasked server frame
 *   is a 2-10 byte header and the payload), copied once; wslay writes only
 *   what it queues itself (pongs, close frames), and its queue is emptied
 *   into the output before each frame of ours, so frames leave in the order
 *   they were made.
 * - a run's frames are gathered in the worker's staging buffer (while the
 *   connection's output evbuffer is empty) and sent with one write when the
 *   run ends; only what the socket does not take goes to the evbuffer,
 *   whose write event is enabled until it has drained. A fan-out message
 *   then costs one copy and one write: no heap chain allocated and freed
 *   per subscriber, no epoll_ctl pair.
 *
 * Failures map to RFC 6455 close codes: 1002 protocol errors (wslay), 1003
 * binary messages, 1007 invalid UTF-8, 1009 messages over
 * config->max_ws_message (wslay), 1011 internal failures, 1001 at shutdown.
 *
 * The same connection carries the stream's two HTTP framings (contract
 * 1.1: server-sent events and NDJSON on GET /v1/stream), so that the
 * takeover, the staging and direct writes, backpressure, TLS, shutdown and
 * the session machinery are one implementation for all three. What
 * differs: the response head (200, its media type, Cache-Control: no-store
 * and X-Accel-Buffering: no, so that neither caches nor proxies hold
 * events back; Connection: close, the body ends when the connection does)
 * is written once the request's subscription has been accepted, so a
 * refusal is still an ordinary problem+json answer; messages are written as
 * they are, no frame around them; what the client sends is read only to be
 * thrown away (an EOF ends the session); there is no closing handshake
 * (closing is sending what is queued, then closing the socket); and an
 * SSE connection silent for a keepalive interval gets a comment line,
 * which EventSource ignores, where a WebSocket would get a ping.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <wslay/wslay.h>

#include "nimbus_util.h"
#include "stream_internal.h"
#include "ws_frame.h"

struct nimbus_ws_conn {
    nimbus_stream_worker_t *sw;
    LIST_ENTRY(nimbus_ws_conn) link;
    struct evhttp_connection *evcon;
    struct bufferevent *bev;
    /* bev's buffers and socket, which never change: a fan-out asks for
     * them at every session, and the accessors lock the bufferevent. */
    struct evbuffer *in, *out;
    evutil_socket_t fd;
    /* Whether in / out may hold bytes (buffered): false only once
     * found empty, and set again wherever bytes are added. */
    bool in_used, out_used;
    /* wslay, only while a message is being received or the connection is
     * closing (see parser_release); NULL otherwise. */
    wslay_event_context_ptr ctx;
    nimbus_stream_session_t *session;
    struct event *deferred;  /* run or free outside other callbacks */
    struct event *keepalive; /* ping interval, then close timeout */
    uint64_t frame_left;     /* bytes of the current frame not yet given to wslay */
    size_t bytes_out;
    size_t queued_counted; /* of queued_bytes, what the metrics hold */
    bool dead;             /* free at the next deferred run */
    bool closing;          /* a close frame (ours or the peer's) is under way */
    bool closed;           /* the handshake is over: close once the output is out */
    bool read_paused;      /* output over the limit: stop reading */
    bool write_pending;    /* the socket did not take it all: the bufferevent writes */
    bool alive;            /* the peer showed life since the last tick */
    bool ping_outstanding;
    int close_ticks;  /* close timeouts waited for a slow reader (slow_reader) */
    bool proto_error; /* a frame header wslay would refuse without a code */
    bool fragmented;  /* a fragmented message is open: wslay holds its start */
    nimbus_stream_framing_t framing;
    /* An HTTP framing before its response head is written: the session's
     * first messages (subscribed, snapshot) wait here. NULL once started. */
    struct evbuffer *pre;
    struct event *heartbeat; /* made when a subscription first has one */
    size_t bytes_at_tick;    /* bytes_out at the last keepalive tick */
    /* Last: large, and touched only at the start and the end, not by the
     * fan-out that walks every connection. */
    nimbus_request_log_t log;
};

static bool websocket(const nimbus_ws_conn_t *c)
{
    return c->framing == NIMBUS_STREAM_WS;
}

nimbus_ws_conn_t *nimbus__ws_conn_next(nimbus_ws_conn_t *c)
{
    return LIST_NEXT(c, link);
}

bool nimbus__ws_conn_open(const nimbus_ws_conn_t *c)
{
    return !c->dead;
}

static void schedule(nimbus_ws_conn_t *c)
{
    event_active(c->deferred, EV_TIMEOUT, 0);
}

/* Runs c again once the loop has polled for I/O, so that a connection with
 * more to do (a replay, a streamed call) leaves the other connections their
 * turn, its own client's messages included. event_active from inside a
 * callback would run it again in this same loop iteration, before any I/O:
 * as long as the socket takes everything, the whole replay would go out
 * before a ping or an `unsubscribe` is read. A zero timeout is processed
 * after the backend has gathered the I/O events, which run first. */
static void yield(nimbus_ws_conn_t *c)
{
    static const struct timeval now = {0, 0};
    event_add(c->deferred, &now);
}

static void abort_conn(nimbus_ws_conn_t *c)
{
    c->dead = true;
    schedule(c);
}

/* The bytes in c's input and output evbuffers. A fan-out asks for both at
 * every session, and both are nearly always empty (what a client sends is
 * read when it comes; the socket takes what we write): the flags let that
 * common case touch neither evbuffer, whose structs are cold by the time
 * the fan-out comes back to a session (perf: 3.6% of a fan-out's CPU in
 * evbuffer_get_length and bufferevent_get_input, row 10 of
 * docs/performance.md). libevent only ever drains them behind our back:
 * bytes arrive in `in` before read_cb, and in `out` only from us. */
static size_t buffered(struct evbuffer *buf, bool *used)
{
    size_t n = *used ? evbuffer_get_length(buf) : 0;
    *used = n > 0;
    return n;
}

static size_t queued_bytes(void *arg)
{
    nimbus_ws_conn_t *c = arg;
    size_t wslay_queued = c->ctx ? wslay_event_get_queued_msg_length(c->ctx) : 0;
    size_t staged = c->sw->stage_owner == c ? c->sw->stage_len : 0;
    size_t pre = c->pre ? evbuffer_get_length(c->pre) : 0;
    return wslay_queued + staged + pre + buffered(c->out, &c->out_used);
}

/* Whether what the client sends is still read: until its close frame has
 * come, or until we failed the connection. Without a context it is unless
 * the closing handshake is over (a handshake under way keeps its context). */
static bool reading(const nimbus_ws_conn_t *c)
{
    return c->ctx ? wslay_event_want_read(c->ctx) != 0 : !c->closing;
}

/* ---- wslay's context, only while needed ---------------------------------- */

static const struct wslay_event_callbacks WSLAY_CALLBACKS;

/* Makes sure c has a wslay context. Returns 0, or -1 when out of memory. */
static int parser_open(nimbus_ws_conn_t *c)
{
    if (c->ctx) {
        return 0;
    }
    /* A local: wslay leaves its argument pointing at freed memory when its
     * initialisation fails half-way. */
    wslay_event_context_ptr ctx;
    if (wslay_event_context_server_init(&ctx, &WSLAY_CALLBACKS, c) != 0) {
        return -1;
    }
    wslay_event_config_set_max_recv_msg_length(ctx, c->sw->w->config->max_ws_message);
    c->ctx = ctx;
    return 0;
}

/* Frees the context once it holds nothing a new one would not: every frame
 * handed to wslay was parsed whole (recv_cb hands over no byte past the
 * current frame, so wslay's input buffer is empty then), no fragmented
 * message is open, wslay has nothing left to write, and no closing
 * handshake is under way (its state is wslay's). */
static void parser_release(nimbus_ws_conn_t *c)
{
    if (c->ctx && !c->closing && c->frame_left == 0 && !c->fragmented &&
        wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx)) {
        wslay_event_context_free(c->ctx);
        c->ctx = NULL;
    }
}

/* ---- output ------------------------------------------------------------------ */

/* Writes what wslay has queued (a pong, a close frame) into the output, so
 * that it goes out before anything written after it. Returns 0, or -1 when
 * the connection must be dropped. */
static int send_control(nimbus_ws_conn_t *c)
{
    if (c->ctx && wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0) {
        return -1;
    }
    return 0;
}

/* Under TLS the socket is OpenSSL's: every byte goes through the
 * bufferevent (which encrypts), never straight to the descriptor, and its
 * write event stays on. */
static bool over_tls(const nimbus_ws_conn_t *c)
{
    return c->sw->w->tls != NULL;
}

/* Room for n more bytes of c's frames in the worker's staging buffer, or
 * NULL when they must go to c's output evbuffer instead: the buffer holds
 * another connection's frames, c's evbuffer holds bytes (which must leave
 * first), or the buffer would grow past NIMBUS_WS_STAGE_MAX. Everything
 * staged for c thus precedes everything in its evbuffer. */
static char *stage_reserve(nimbus_ws_conn_t *c, size_t n)
{
    nimbus_stream_worker_t *sw = c->sw;
    if (over_tls(c)) {
        return NULL; /* frames go through the TLS bufferevent's buffer */
    }
    if ((sw->stage_owner && sw->stage_owner != c) || c->write_pending ||
        buffered(c->out, &c->out_used) > 0 || n > NIMBUS_WS_STAGE_MAX - sw->stage_len) {
        return NULL;
    }
    if (sw->stage_len + n > sw->stage_cap) {
        char *grown = nimbus_grow(sw->stage, &sw->stage_cap, sw->stage_len + n, 1, 4096);
        if (!grown) {
            return NULL;
        }
        sw->stage = grown;
    }
    sw->stage_owner = c;
    return sw->stage + sw->stage_len;
}

/* Forgets what was staged for c (it is dead). */
static void stage_drop(nimbus_ws_conn_t *c)
{
    if (c->sw->stage_owner == c) {
        c->sw->stage_owner = NULL;
        c->sw->stage_len = 0;
    }
}

/* Appends one unfragmented frame made of parts to c's output (staged, or
 * its evbuffer): header and payload copied once. An HTTP framing's message
 * has no frame around it, and goes to `pre` until the response has
 * started. Returns 0 or -1 (out of memory). */
static int write_frame(nimbus_ws_conn_t *c, unsigned opcode, const nimbus_stream_part_t *parts,
                       size_t count)
{
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        len += parts[i].len;
    }
    unsigned char head[NIMBUS_WS_SERVER_HEADER_MAX];
    size_t head_len = websocket(c) ? nimbus__ws_frame_header(head, opcode, len) : 0;
    size_t total = head_len + len;
    struct evbuffer *out = c->pre ? c->pre : c->out;
    struct evbuffer_iovec v;
    char *p = c->pre ? NULL : stage_reserve(c, total);
    bool staged = p != NULL;
    if (!staged) {
        c->out_used = c->out_used || out == c->out;
        if (evbuffer_reserve_space(out, (ev_ssize_t)total, &v, 1) < 1) {
            return -1;
        }
        p = v.iov_base;
    }
    memcpy(p, head, head_len);
    p += head_len;
    for (size_t i = 0; i < count; i++) {
        memcpy(p, parts[i].data, parts[i].len);
        p += parts[i].len;
    }
    if (staged) {
        c->sw->stage_len += total;
    } else {
        v.iov_len = total;
        if (evbuffer_commit_space(out, &v, 1) != 0) {
            return -1;
        }
    }
    c->bytes_out += total;
    return 0;
}

static bool retriable(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

/* Sends what is staged for c. What the socket does not take goes to the
 * evbuffer: in front of what is there (wslay's pong or close frame, added
 * after the staged frames), or alone, left to the bufferevent. Returns 0,
 * or -1 when the connection failed. */
static int send_staged(nimbus_ws_conn_t *c, struct evbuffer *out)
{
    nimbus_stream_worker_t *sw = c->sw;
    size_t len = sw->stage_len;
    sw->stage_owner = NULL;
    sw->stage_len = 0;
    if (buffered(c->out, &c->out_used) > 0) { /* rare: one writev for both below */
        evbuffer_unfreeze(out, 1);
        int rc = evbuffer_prepend(out, sw->stage, len);
        evbuffer_freeze(out, 1);
        return rc;
    }
    ssize_t n = send(c->fd, sw->stage, len, MSG_NOSIGNAL);
    if (n < 0 && !retriable(errno)) {
        return -1;
    }
    size_t sent = n > 0 ? (size_t)n : 0;
    if (sent > 0 && c->read_paused) {
        c->alive = true; /* see write_cb */
    }
    if (sent < len) {
        c->out_used = true;
        if (evbuffer_add(out, sw->stage + sent, len - sent) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Writes c's output to the socket now: what is staged, then the evbuffer
 * (one writev). What the socket does not take is left to the bufferevent,
 * whose write event is enabled until it has drained (write_cb). */
static void flush_output(nimbus_ws_conn_t *c)
{
    struct evbuffer *out = c->out;
    if (c->dead) {
        stage_drop(c);
        return;
    }
    if (c->sw->stage_owner == c && send_staged(c, out) != 0) {
        abort_conn(c);
        return;
    }
    if (over_tls(c) || c->write_pending || buffered(c->out, &c->out_used) == 0) {
        return;
    }
    /* A socket bufferevent keeps its output frozen at the front so that
     * only its own write callback drains it; that callback unfreezes,
     * writes and freezes again, and so do we. */
    evbuffer_unfreeze(out, 1);
    errno = 0;
    int n = evbuffer_write(out, c->fd);
    int write_errno = errno;
    evbuffer_freeze(out, 1);
    if (n < 0 && !retriable(write_errno)) {
        abort_conn(c);
        return;
    }
    /* While we do not read (backpressure), a peer that drains our output
     * counts as alive (see write_cb). */
    if (n > 0 && c->read_paused) {
        c->alive = true;
    }
    if (buffered(c->out, &c->out_used) > 0) {
        c->write_pending = true;
        bufferevent_enable(c->bev, EV_WRITE);
    }
}

/* An answer sent outside this connection's own run (a write's, after its
 * commit): send it now, so that it does not hold the staging buffer, and
 * run the connection on the next loop iteration. */
static void session_flush(void *arg)
{
    nimbus_ws_conn_t *c = arg;
    flush_output(c);
    if (!c->dead) {
        schedule(c);
    }
}

static int session_send(void *arg, const nimbus_stream_part_t *parts, size_t count)
{
    nimbus_ws_conn_t *c = arg;
    if (c->dead || c->closing || send_control(c) != 0) {
        return -1;
    }
    return write_frame(c, NIMBUS_WS_OP_TEXT, parts, count);
}

/* Ends an HTTP framing's response: what is queued goes out, then the
 * socket is closed (nimbus__ws_conn_run). Within the close timeout: a
 * reader that stopped reading is not waited for. */
static void finish_response(nimbus_ws_conn_t *c)
{
    c->closing = true;
    c->closed = true;
    struct timeval tv = {NIMBUS_WS_CLOSE_TIMEOUT_MS / 1000,
                         NIMBUS_WS_CLOSE_TIMEOUT_MS % 1000 * 1000};
    event_del(c->keepalive);
    event_add(c->keepalive, &tv);
}

static void session_finish(void *arg)
{
    nimbus_ws_conn_t *c = arg;
    if (!c->dead && !c->closing) {
        finish_response(c);
        schedule(c);
    }
}

/* Queues our close frame (wslay then runs the handshake: it sends the frame,
 * stops writing, and notes the peer's answer). Returns 0, or -1 when even
 * that failed and the connection must be dropped. */
static int start_close(nimbus_ws_conn_t *c, uint16_t code, const char *reason)
{
    c->closing = true;
    if (parser_open(c) != 0) {
        return -1;
    }
    return wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason)) == 0 ? 0
                                                                                               : -1;
}

/* Fails the connection with code: no more reading; the close frame goes
 * out and then the socket is closed. */
static void fail_conn(nimbus_ws_conn_t *c, uint16_t code, const char *reason)
{
    if (!websocket(c)) {
        /* No way to say why on a response already under way: what is
         * queued goes out, then the connection closes. */
        if (!c->closing) {
            finish_response(c);
        }
        return;
    }
    if (!c->closing && start_close(c, code, reason) != 0 && !c->ctx) {
        abort_conn(c);
        return;
    }
    if (c->ctx) {
        wslay_event_shutdown_read(c->ctx);
    }
}

void nimbus__ws_conn_close(nimbus_ws_conn_t *c, uint16_t code, const char *reason)
{
    if (c->dead || c->closing) {
        return;
    }
    if (!websocket(c)) {
        finish_response(c);
        nimbus__ws_conn_run(c);
        return;
    }
    if (start_close(c, code, reason) != 0) {
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

/* Feeds wslay from the input buffer, frame by frame, so that frame-level
 * protocol errors are caught here and answered with 1002 (wslay would close
 * without a status code), and so that wslay never holds a byte of the next
 * frame: at a frame boundary its context is empty and can be freed. */
static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
    (void)flags;
    nimbus_ws_conn_t *c = arg;
    struct evbuffer *in = c->in;
    size_t n = 0;
    while (n < len && !c->proto_error) {
        if (c->frame_left == 0) {
            unsigned char h[NIMBUS_WS_FRAME_HEADER_MAX];
            ev_ssize_t avail = evbuffer_copyout(in, h, sizeof h);
            int64_t size = avail < 0 ? 0 : nimbus__ws_frame_size(h, (size_t)avail);
            if (size < 0) {
                c->proto_error = true;
            }
            if (size <= 0) {
                break;
            }
            c->frame_left = (uint64_t)size;
            c->fragmented = nimbus__ws_fragment_open(h[0], c->fragmented);
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

/* wslay writes only what it queued itself: pongs and close frames, a few
 * bytes each, straight into the output. */
static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *arg)
{
    (void)flags;
    nimbus_ws_conn_t *c = arg;
    c->out_used = true;
    if (evbuffer_add(c->out, data, len) != 0) {
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

static const struct wslay_event_callbacks WSLAY_CALLBACKS = {
    recv_cb, send_cb, NULL, NULL, NULL, NULL, on_msg,
};

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
    nimbus_metrics_ws_queued(nimbus_service_metrics(c->sw->w->svc),
                             (int64_t)queued - (int64_t)c->queued_counted);
    c->queued_counted = queued;
    if (!c->read_paused && queued >= 2 * limit) {
        c->read_paused = true;
        bufferevent_disable(c->bev, EV_READ);
    } else if (c->read_paused && queued < limit) {
        c->read_paused = false;
        bufferevent_enable(c->bev, EV_READ);
        if (buffered(c->in, &c->in_used) > 0) {
            schedule(c);
        }
    }
}

static void heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus__ws_conn_run(arg);
}

/* Sends the session's heartbeats that are due and sets the timer for the
 * next (its event made the first time a subscription has a heartbeat).
 * Returns 0, or -1 when the connection failed. */
static int arm_heartbeat(nimbus_ws_conn_t *c)
{
    uint64_t next = nimbus__stream_session_heartbeats(c->session, nimbus_now_us());
    if (next == UINT64_MAX) {
        return -1;
    }
    if (next == 0) {
        return 0;
    }
    if (!c->heartbeat && !(c->heartbeat = evtimer_new(c->sw->w->base, heartbeat_cb, c))) {
        return -1;
    }
    struct timeval tv = {(time_t)(next / 1000000u), (suseconds_t)(next % 1000000u)};
    return evtimer_add(c->heartbeat, &tv) == 0 ? 0 : -1;
}

void nimbus__ws_conn_run(nimbus_ws_conn_t *c)
{
    if (c->dead) {
        return;
    }
    size_t unread = buffered(c->in, &c->in_used);
    if (!websocket(c)) {
        /* The request was the whole of what the client had to say. */
        if (unread > 0) {
            evbuffer_drain(c->in, unread);
        }
    } else if (!c->read_paused && reading(c) && unread > 0) {
        if (parser_open(c) != 0) {
            abort_conn(c); /* no memory even for the close frame */
            return;
        }
        if (wslay_event_recv(c->ctx) != 0) {
            /* wslay queued a close frame (without a status code) before
             * failing: send it, then close. The frame pre-check (ws_frame.c)
             * answers the protocol errors that lead here with 1002 first, so
             * what is left is a failing callback or no memory. */
            c->closing = true;
            wslay_event_shutdown_read(c->ctx);
        }
        /* Reading stops when the peer's close frame came, or when wslay
         * refused a frame and queued a close frame of its own (reserved
         * bits, an unmasked frame, a continuation of nothing): no message
         * of ours may follow that frame. */
        if (!wslay_event_want_read(c->ctx)) {
            c->closing = true;
        }
    }
    if (c->proto_error) {
        fail_conn(c, WSLAY_CODE_PROTOCOL_ERROR, "protocol error");
    }
    if (!reading(c) &&
        (unread = buffered(c->in, &c->in_used)) > 0) { /* what the peer still sends is ignored */
        evbuffer_drain(c->in, unread);
    }
    int more = c->closing ? 0 : nimbus__stream_session_pump(c->session);
    if (more < 0) {
        fail_conn(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "internal error");
    }
    if (!c->closing && arm_heartbeat(c) != 0) {
        fail_conn(c, WSLAY_CODE_INTERNAL_SERVER_ERROR, "internal error");
    }
    if (c->dead || send_control(c) != 0) {
        abort_conn(c);
        return;
    }
    parser_release(c);
    flush_output(c);
    if (c->dead) {
        return;
    }
    update_backpressure(c);
    /* The session yielded with room left: continue on the next loop
     * iteration, after the other connections had their turn. */
    if (more > 0 && queued_bytes(c) < c->sw->shared.queue_max) {
        yield(c);
    }
    /* Both directions finished (close frames exchanged, or we failed the
     * connection and our close frame is written): wslay's part is over, so
     * its context goes now rather than when the connection is freed (when
     * thousands of clients close at once, each would otherwise hold one
     * until its socket is closed); the socket closes once the output is
     * out. */
    if (c->ctx && !wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx)) {
        wslay_event_context_free(c->ctx);
        c->ctx = NULL;
        c->closed = true;
    }
    if (c->closed && buffered(c->out, &c->out_used) == 0) {
        abort_conn(c);
    }
}

static void read_cb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    nimbus_ws_conn_t *c = arg;
    c->in_used = true;
    nimbus__ws_conn_run(c);
}

/* The bufferevent has written everything a direct write left behind (the
 * low watermark is 0): writing is ours again. */
static void write_cb(struct bufferevent *bev, void *arg)
{
    nimbus_ws_conn_t *c = arg;
    if (!over_tls(c)) {
        c->write_pending = false;
        bufferevent_disable(bev, EV_WRITE);
    }
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

/* Whether output to the peer waits (in our buffer or the kernel's send
 * queue) while its TCP stack is alive: the connection is established,
 * nothing we sent is being retransmitted, and every zero-window probe the
 * kernel sent was acknowledged. That is a client that stopped reading (its
 * window is shut), not a dead one; a vanished peer leaves retransmissions
 * or probes unanswered. */
static bool slow_reader(const nimbus_ws_conn_t *c)
{
    evutil_socket_t fd = c->fd;
    int queued = 0;
    if (evbuffer_get_length(c->out) == 0 && (ioctl(fd, TIOCOUTQ, &queued) != 0 || queued == 0)) {
        return false;
    }
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
        return false;
    }
    /* A probe may wait a while for its answer (probes at 1 were seen for a
     * second on loopback); a dead peer's unanswered ones add up, until the
     * kernel gives up on it (net.ipv4.tcp_retries2) and closes it. */
    return ti.tcpi_state == TCP_ESTABLISHED && ti.tcpi_retransmits == 0 && ti.tcpi_probes < 3;
}

static void keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_ws_conn_t *c = arg;
    if (c->closing) {
        /* A slow reader may still be reading what was queued before our
         * close frame (at a stop: a subscriber's backlog): give it time,
         * a bounded number of timeouts. Otherwise the peer never answered
         * our close frame. */
        if (++c->close_ticks <= NIMBUS_WS_CLOSE_SLOW_TICKS && slow_reader(c)) {
            return;
        }
        abort_conn(c);
        return;
    }
    if (!websocket(c)) {
        /* A client of an HTTP framing never speaks, so silence proves
         * nothing; a dead peer shows when a write fails. A quiet SSE
         * stream gets a comment line, so that a write comes (and proxies
         * see traffic); NDJSON has no comment, and no heartbeat unless
         * asked for one. */
        if (c->framing == NIMBUS_STREAM_SSE && c->bytes_out == c->bytes_at_tick) {
            static const nimbus_stream_part_t comment = {":\n", 2};
            if (write_frame(c, 0, &comment, 1) != 0) {
                abort_conn(c);
                return;
            }
            nimbus__ws_conn_run(c);
        }
        c->bytes_at_tick = c->bytes_out;
        return;
    }
    if (c->alive) {
        c->alive = false;
        c->ping_outstanding = false;
        return;
    }
    /* Output waits and the peer's kernel acknowledges: a slow reader. A
     * ping would wait behind the backlog and its pong never come in time,
     * so it was dropped as dead and its stream ended without a word. It
     * is kept: what it is owed is bounded by --ws-queue, past which its
     * subscriptions lag (a `lagged` it resumes from once it reads). */
    if (slow_reader(c)) {
        c->ping_outstanding = false;
        return;
    }
    if (c->ping_outstanding) { /* silent for two intervals: dead */
        abort_conn(c);
        return;
    }
    static const nimbus_stream_part_t ping = {"nimbus", 6};
    if (send_control(c) != 0 || write_frame(c, NIMBUS_WS_OP_PING, &ping, 1) != 0) {
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
    nimbus_http_conn_forget(c->sw->w, evcon);
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
    if (c->heartbeat) {
        event_free(c->heartbeat);
    }
    if (c->pre) {
        evbuffer_free(c->pre);
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
    nimbus__stream_worker_counted(sw);
    nimbus_access_log(sw->w, &c->log, websocket(c) ? 101 : 200, c->bytes_out);
    nimbus_metrics_ws_queued(nimbus_service_metrics(sw->w->svc), -(int64_t)c->queued_counted);
    stage_drop(c);
    release_parts(c);
    if (c->evcon) {
        evhttp_connection_set_closecb(c->evcon, NULL, NULL);
        nimbus_http_conn_forget(sw->w, c->evcon); /* uncounted, its memory freed below */
        evhttp_connection_free(c->evcon);         /* closes the socket */
    }
    free(c);
}

/* Our writes go to the socket as soon as they are made, so the kernel's
 * send buffer (autotuned up to net.ipv4.tcp_wmem's maximum, 4 MiB by
 * default) would fill before our own queue does, and a replay would put
 * megabytes ahead of a pong or an `unsubscribed`. TCP_NOTSENT_LOWAT holds
 * the bytes the kernel has not sent yet under the same limit as our queue
 * (a write past it is refused, the socket is writable again below it),
 * without limiting what is in flight, so throughput on a long path is
 * unchanged. Best effort: without it only the kernel's own limit applies. */
static void limit_unsent(nimbus_ws_conn_t *c)
{
#ifdef TCP_NOTSENT_LOWAT
    size_t limit = c->sw->shared.queue_max;
    int lowat = limit > INT_MAX ? INT_MAX : (int)limit;
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
#else
    (void)c;
#endif
}

/* Makes c for req's connection with a session in `framing`; nothing is
 * written or taken over yet. Returns 0, or -1 when out of memory (c is then
 * released but not freed). */
static int conn_make(nimbus_stream_worker_t *sw, nimbus_ws_conn_t *c, struct evhttp_request *req,
                     nimbus_stream_framing_t framing, const nimbus_credentials_t *creds,
                     const char *key)
{
    static const char *const protocols[] = {
        [NIMBUS_STREAM_WS] = "ws", [NIMBUS_STREAM_SSE] = "sse", [NIMBUS_STREAM_NDJSON] = "ndjson"};
    c->sw = sw;
    c->framing = framing;
    c->evcon = evhttp_request_get_connection(req);
    c->bev = c->evcon ? evhttp_connection_get_bufferevent(c->evcon) : NULL;
    c->in = c->bev ? bufferevent_get_input(c->bev) : NULL;
    c->out = c->bev ? bufferevent_get_output(c->bev) : NULL;
    c->in_used = c->out_used = true; /* not known yet */
    c->fd = c->bev ? bufferevent_getfd(c->bev) : -1;
    c->log = NIMBUS_REQUEST_LOG(protocols[framing], "-", nimbus_now_us());
    snprintf(c->log.key, sizeof c->log.key, "%s", key ? key : "");
    snprintf(c->log.request_id, sizeof c->log.request_id, "%s", nimbus_http_request_id(req));
    nimbus_stream_out_t out = {session_send, queued_bytes, session_flush, c,
                               websocket(c) ? NULL : session_finish};
    struct event_base *base = sw->w->base;
    if (!c->bev || !(c->session = nimbus__stream_session_new(&sw->shared, creds, &out)) ||
        !(c->deferred = event_new(base, -1, 0, deferred_cb, c)) ||
        !(c->keepalive = event_new(base, -1, EV_PERSIST, keepalive_cb, c)) ||
        (!websocket(c) && !(c->pre = evbuffer_new()))) {
        release_parts(c);
        return -1;
    }
    nimbus__stream_session_set_framing(c->session, framing);
    char client[NIMBUS_FORWARDED_CLIENT_MAX];
    nimbus__stream_session_set_client(c->session,
                                      nimbus_http_client(sw->w, req, client, sizeof client));
    nimbus__stream_session_set_request_id(c->session, c->log.request_id);
    return 0;
}

/* Takes the connection over once the response head (and, for an HTTP
 * framing, what the session queued before it) is in the output: our
 * callbacks, no evhttp timeouts, keepalive, linked into sw. */
static void take_over(nimbus_ws_conn_t *c, struct evhttp_request *req)
{
    nimbus_stream_worker_t *sw = c->sw;
    /* From here on evhttp never touches the socket again. */
    bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
    bufferevent_setwatermark(c->bev, EV_READ | EV_WRITE, 0, 0);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    struct timeval dummy = {3600, 0};
    bufferevent_set_timeouts(c->bev, &dummy, &dummy);
    bufferevent_set_timeouts(c->bev, NULL, NULL);
    /* Both events had their remembered timeouts cleared while pending;
     * writing is ours now (flush_output) until a socket is full. */
    if (!over_tls(c)) {
        bufferevent_disable(c->bev, EV_WRITE);
    }
    limit_unsent(c);
    /* The request stays allocated as long as evhttp owns the connection,
     * but nothing reads its headers again: give them back (an upgrade from
     * a browser carries a kilobyte or more, the key among them). */
    evhttp_clear_headers(evhttp_request_get_input_headers(req));
    evhttp_clear_headers(evhttp_request_get_output_headers(req));
    evhttp_connection_set_closecb(c->evcon, evhttp_closed, c);
    event_add(c->keepalive, &sw->ping_interval);
    LIST_INSERT_HEAD(&sw->conns, c, link);
    sw->conn_count++;
    nimbus__stream_worker_counted(sw);
    nimbus__stream_worker_reserve_fds(sw, c->fd);
    schedule(c); /* bytes behind the handshake are already buffered; so is our output */
}

int nimbus__ws_conn_start(nimbus_stream_worker_t *sw, struct evhttp_request *req,
                          const char *accept, const nimbus_credentials_t *creds, const char *key,
                          nimbus_error_t *err)
{
    nimbus_ws_conn_t *c = calloc(1, sizeof *c);
    if (!c || conn_make(sw, c, req, NIMBUS_STREAM_WS, creds, key) != 0) {
        free(c);
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    char reply[256 + NIMBUS_REQUEST_ID_MAX];
    int n = snprintf(reply, sizeof reply,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\nX-Request-Id: %s\r\n\r\n",
                     accept, c->log.request_id);
    if (evbuffer_add(c->out, reply, (size_t)n) != 0) {
        release_parts(c);
        free(c);
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    c->bytes_out = (size_t)n;
    take_over(c, req);
    return 0;
}

int nimbus__stream_conn_start(nimbus_stream_worker_t *sw, struct evhttp_request *req,
                              nimbus_stream_framing_t framing, const char *headers,
                              const nimbus_credentials_t *creds, const char *key,
                              const nimbus_stream_subscribe_t *sub, nimbus_error_t *err)
{
    nimbus_ws_conn_t *c = calloc(1, sizeof *c);
    if (!c || conn_make(sw, c, req, framing, creds, key) != 0) {
        free(c);
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    /* The subscription first: refused, it leaves nothing written, and the
     * caller answers with a problem+json as for any request. */
    int rc = nimbus__stream_session_subscribe(c->session, "stream", sub, err);
    struct evbuffer *out = c->out;
    char head[512 + NIMBUS_REQUEST_ID_MAX];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nCache-Control: no-store\r\n"
                     "X-Accel-Buffering: no\r\nConnection: close\r\nX-Request-Id: %s\r\n%s\r\n",
                     nimbus__stream_media_type(framing), c->log.request_id, headers ? headers : "");
    if (rc == 0 && (n < 0 || (size_t)n >= sizeof head || evbuffer_add(out, head, (size_t)n) != 0 ||
                    evbuffer_add_buffer(out, c->pre) != 0)) {
        rc = -2;
    }
    if (rc != 0) {
        if (rc == -2) {
            nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        }
        evbuffer_drain(out, evbuffer_get_length(out));
        release_parts(c);
        free(c);
        return -1;
    }
    c->bytes_out += (size_t)n;
    evbuffer_free(c->pre);
    c->pre = NULL;
    take_over(c, req);
    return 0;
}
