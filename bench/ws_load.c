/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The load client of scripts/bench's connection workloads, in C on one
 * libevent loop (wslay for WebSocket framing) so that it is never the
 * bottleneck. Two modes; each prints one line "BENCHJSON {...}" on stdout
 * and exits 1 when a check fails.
 *
 * In fan-out, frames from the server are read by raw_read below, not by
 * wslay's receive path: wslay checks every text byte for UTF-8 and copies
 * each message into a fresh allocation, and its read loop ends with one
 * more recv() that finds nothing; at 200,000 messages a second that made
 * this client, not the server, the row's bottleneck (91-96% of its core).
 * wslay still writes what the client sends (masked frames, pongs, the
 * close).
 *
 * idle: memory of idle connections.
 *   nimbus_bench_ws idle --connect HOST:PORT --server-pid PID --sessions N
 *                        --kind ws|http [--subscribe STATION]
 *   Reads the server's VmRSS and open descriptors, opens N connections
 *   (kind ws: WebSocket upgrades of GET /v1/stream, each then subscribed to
 *   STATION when given and waiting for `subscribed`; kind http: one
 *   GET /healthz each, kept alive), waits for the server's RSS to settle,
 *   reads it, closes every connection (WebSocket: close handshake), waits
 *   for the server to have closed them all and its RSS to settle, and
 *   reads it again.
 *
 * fanout: delivery of live observations to many subscribers.
 *   nimbus_bench_ws fanout --connect HOST:PORT --subscribers N --rate R
 *                          --seconds S --stations ID,ID... --start-epoch T
 *   Opens N WebSockets subscribed to every station, then records R
 *   observations a second for S seconds over REST (POST one observation,
 *   keep-alive connections, stations in turn, observedAt = T + k seconds
 *   for the k-th), timestamping each request when it is written; every
 *   receipt is timestamped on the same clock (CLOCK_MONOTONIC). Checks
 *   that every subscriber got every observation once, in increasing seq,
 *   with the seq its POST answered, and reports the delivery latency
 *   percentiles over every (subscriber, observation) pair.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <wslay/wslay.h>

#include "bench_util.h"

/* Connections opening at once: enough to keep the server busy, few enough
 * that the listen backlog (1024) never overflows. */
#define MAX_OPENING 256
/* Keep-alive connections that record observations in fan-out. */
#define RECORDERS 16
#define HEAD_MAX 8192
#define SETTLE_SAMPLE_MS 250
#define SETTLE_MAX_MS 20000
#define DRAIN_MAX_MS 10000
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="

typedef enum run_mode { MODE_IDLE, MODE_FANOUT } run_mode_t;
typedef enum kind { KIND_WS, KIND_HTTP, KIND_RECORDER } kind_t;
typedef enum state {
    ST_CONNECTING,
    ST_HEAD,    /* request written, reading the response head */
    ST_OPEN,    /* WebSocket open (waiting for `subscribed` if any) */
    ST_READY,   /* subscribed / answered: idle */
    ST_BUSY,    /* recorder: a POST in flight */
    ST_CLOSING, /* close frame sent, waiting for the server to close */
    ST_CLOSED
} state_t;

typedef struct tool tool_t;

typedef struct conn {
    tool_t *tool;
    int index;
    kind_t kind;
    state_t state;
    int fd;
    struct event *rd, *wr;
    char head[HEAD_MAX];
    size_t head_len;
    /* Bytes read past the handshake's head, for wslay's first reads. */
    char *pending;
    size_t pending_len, pending_off;
    wslay_event_context_ptr ws;
    /* Raw output not yet written (HTTP requests, the upgrade request). */
    char out[2048];
    size_t out_len, out_off;
    /* fan-out: frames read but not yet whole (raw_read) */
    uint8_t *rbuf;
    size_t rlen;
    /* fan-out, per subscriber */
    int64_t last_seq;
    uint32_t received;
    uint8_t *seen; /* one bit per observation index */
    /* fan-out, recorder: the observation in flight */
    long inflight;
    size_t body_need; /* HTTP: body bytes still expected after the head */
} conn_t;

struct tool {
    run_mode_t mode;
    struct event_base *base;
    char host[256];
    int port;
    conn_t *conns;
    int count;
    int next_to_open;
    int opening;
    int ready;
    int closed;
    int failures;
    bool closing_all;
    const char *subscribe;
    /* idle */
    pid_t server_pid;
    /* fan-out */
    conn_t recorders[RECORDERS];
    char **stations;
    int station_count;
    long rate, seconds, total;
    int64_t start_epoch;
    long sent, answered;
    int64_t t0;
    double cpu_at_t0;  /* this process's CPU seconds when recording began */
    int64_t *sent_at;  /* per observation index: when its POST was written */
    int64_t *seq_of;   /* per index: seq the POST answered (0: not yet) */
    int64_t *seq_seen; /* per index: seq the first receipt carried */
    uint32_t *latency; /* microseconds, one per receipt */
    uint32_t *answer;  /* microseconds from a POST written to its answer, per answer */
    size_t latency_count, latency_cap;
    long out_of_order, duplicates, unknown, seq_mismatch, ticks_behind, lagged;
    struct event *tick;
};

static struct wslay_event_callbacks ws_callbacks;

static void conn_fail(conn_t *c, const char *what);
static void conn_drop(conn_t *c);
static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void open_more(tool_t *t);
static void recorder_send(tool_t *t);

/* ---- small parsers -------------------------------------------------------- */

static const char *find(const char *hay, size_t len, const char *needle)
{
    return memmem(hay, len, needle, strlen(needle));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t digits(const char *p, int n)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DDThh:mm:ssZ" -> seconds since the epoch, or INT64_MIN. */
static int64_t parse_time(const char *p)
{
    int64_t y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
    int64_t h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
    if (y < 0 || mo < 1 || d < 1 || h < 0 || mi < 0 || s < 0 || p[19] != 'Z') {
        return INT64_MIN;
    }
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static void format_time(int64_t t, char out[32])
{
    int64_t days = t / 86400, rem = t % 86400;
    /* civil_from_days (H. Hinnant) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60));
}

/* Status code of an HTTP response head, or -1. */
static int head_status(const char *head)
{
    if (strncmp(head, "HTTP/1.1 ", 9) != 0 && strncmp(head, "HTTP/1.0 ", 9) != 0) {
        return -1;
    }
    return atoi(head + 9);
}

static size_t head_content_length(const char *head, size_t len)
{
    const char *p = find(head, len, "\r\nContent-Length:");
    if (!p) {
        p = find(head, len, "\r\ncontent-length:");
    }
    return p ? (size_t)strtoul(p + 17, NULL, 10) : 0;
}

/* ---- raw output ------------------------------------------------------------ */

static int flush_out(conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            event_add(c->wr, NULL);
            return 0;
        }
        if (n <= 0) {
            return -1;
        }
        c->out_off += (size_t)n;
    }
    c->out_len = c->out_off = 0;
    return 0;
}

static void queue_out(conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void queue_out(conn_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->out + c->out_len, sizeof c->out - c->out_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof c->out - c->out_len) {
        bench_fail("request too long");
    }
    c->out_len += (size_t)n;
}

/* ---- wslay callbacks ------------------------------------------------------ */

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    conn_t *c = user;
    if (c->pending_off < c->pending_len) {
        size_t n = c->pending_len - c->pending_off;
        n = n < len ? n : len;
        memcpy(buf, c->pending + c->pending_off, n);
        c->pending_off += n;
        if (c->pending_off == c->pending_len) {
            free(c->pending);
            c->pending = NULL;
            c->pending_len = c->pending_off = 0;
        }
        return (ssize_t)n;
    }
    ssize_t n = recv(c->fd, buf, len, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    conn_t *c = user;
    ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return n;
}

static uint64_t mask_state = 0x9E3779B97F4A7C15u;

static int ws_genmask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    (void)ctx;
    (void)user;
    for (size_t i = 0; i < len; i++) {
        mask_state ^= mask_state << 13;
        mask_state ^= mask_state >> 7;
        mask_state ^= mask_state << 17;
        buf[i] = (uint8_t)mask_state;
    }
    return 0;
}

static void on_observation(conn_t *c, const char *msg, size_t len)
{
    tool_t *t = c->tool;
    int64_t now = bench_now_us();
    const char *at = find(msg, len, "\"observedAt\":\"");
    const char *sq = find(msg, len, "\"seq\":");
    int64_t when = at && (size_t)(at - msg) + 14 + 20 <= len ? parse_time(at + 14) : INT64_MIN;
    int64_t k = when == INT64_MIN ? -1 : when - t->start_epoch;
    if (!sq || k < 0 || k >= t->total) {
        t->unknown++;
        return;
    }
    int64_t seq = strtoll(sq + 6, NULL, 10);
    if (c->seen[k / 8] & (1u << (k % 8))) {
        t->duplicates++;
        return;
    }
    c->seen[k / 8] |= (uint8_t)(1u << (k % 8));
    if (seq <= c->last_seq) {
        t->out_of_order++;
    }
    c->last_seq = seq;
    c->received++;
    if (t->seq_seen[k] == 0) {
        t->seq_seen[k] = seq;
    } else if (t->seq_seen[k] != seq) {
        t->seq_mismatch++;
    }
    if (t->latency_count < t->latency_cap) {
        int64_t us = now - t->sent_at[k];
        t->latency[t->latency_count++] = (uint32_t)(us < 0 ? 0 : us);
    }
}

/* One text message from the server. */
static void on_text(conn_t *c, const char *msg, size_t len)
{
    tool_t *t = c->tool;
    size_t head = len < 40 ? len : 40;
    if (find(msg, head, "\"type\":\"observation\"")) {
        on_observation(c, msg, len);
    } else if (find(msg, head, "\"type\":\"subscribed\"")) {
        if (c->state == ST_OPEN) {
            c->state = ST_READY;
            t->ready++;
        }
    } else if (find(msg, head, "\"type\":\"lagged\"")) {
        t->lagged++;
        t->failures++;
    } else {
        if (t->failures < 5) {
            fprintf(stderr, "nimbus_bench_ws: unexpected message: %.*s\n", (int)len, msg);
        }
        t->failures++;
    }
}

static void ws_on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                      void *user)
{
    (void)ctx;
    /* A close is answered by wslay; the server then closes the socket. */
    if (arg->opcode == WSLAY_TEXT_FRAME) {
        on_text(user, (const char *)arg->msg, arg->msg_length);
    }
}

/* ---- connections -------------------------------------------------------- */

static void conn_drop(conn_t *c)
{
    tool_t *t = c->tool;
    if (c->state == ST_CLOSED) {
        return;
    }
    if (c->rd) {
        event_free(c->rd);
        c->rd = NULL;
    }
    if (c->wr) {
        event_free(c->wr);
        c->wr = NULL;
    }
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (c->ws) {
        wslay_event_context_free(c->ws);
        c->ws = NULL;
    }
    free(c->pending);
    c->pending = NULL;
    free(c->rbuf);
    c->rbuf = NULL;
    c->rlen = 0;
    if (c->state == ST_CONNECTING || c->state == ST_HEAD) {
        t->opening--;
    }
    c->state = ST_CLOSED;
    t->closed++;
}

static void conn_fail(conn_t *c, const char *what)
{
    tool_t *t = c->tool;
    if (!t->closing_all && t->failures < 5) {
        fprintf(stderr, "nimbus_bench_ws: connection %d: %s\n", c->index, what);
    }
    if (!t->closing_all) {
        t->failures++;
    }
    conn_drop(c);
}

static int conn_start(tool_t *t, conn_t *c)
{
    c->tool = t;
    c->fd = bench_connect(t->host, t->port, 1);
    if (c->fd < 0) {
        return -1;
    }
    c->rd = event_new(t->base, c->fd, EV_READ | EV_PERSIST, on_read, c);
    c->wr = event_new(t->base, c->fd, EV_WRITE, on_write, c);
    if (!c->rd || !c->wr) {
        bench_fail("out of memory");
    }
    c->state = ST_CONNECTING;
    event_add(c->wr, NULL);
    return 0;
}

/* The server closed the WebSocket (a close frame, or the socket). */
static void ws_closed(conn_t *c)
{
    if (c->state == ST_CLOSING || c->tool->closing_all) {
        conn_drop(c);
    } else {
        conn_fail(c, "the server closed the WebSocket");
    }
}

/* Fan-out's receive path: one recv() per readiness (the loop calls again
 * while bytes remain), then every whole frame in the buffer. The server's
 * frames are unmasked and unfragmented (json_api/stream/ws_frame.c); one
 * that is not fails the run rather than being guessed at. Returns false
 * once c is closed. */
#define RAW_BUF (64 * 1024)
static bool raw_read(conn_t *c)
{
    if (!c->rbuf && !(c->rbuf = malloc(RAW_BUF))) {
        bench_fail("out of memory");
    }
    if (c->pending) { /* what came with the handshake's head */
        size_t n = c->pending_len - c->pending_off;
        memcpy(c->rbuf, c->pending + c->pending_off, n); /* n < HEAD_MAX < RAW_BUF */
        c->rlen = n;
        free(c->pending);
        c->pending = NULL;
        c->pending_len = c->pending_off = 0;
    } else {
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, RAW_BUF - c->rlen, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        }
        if (n <= 0) {
            ws_closed(c);
            return false;
        }
        c->rlen += (size_t)n;
    }
    size_t off = 0;
    for (;;) {
        size_t have = c->rlen - off;
        const uint8_t *f = c->rbuf + off;
        if (have < 2) {
            break;
        }
        if (f[1] & 0x80 || !(f[0] & 0x80) || f[0] & 0x70) {
            conn_fail(c, "a masked, fragmented or extended frame from the server");
            return false;
        }
        uint64_t len = f[1] & 0x7f;
        size_t hdr = 2;
        if (len == 126) {
            hdr = 4;
            len = have >= 4 ? (uint64_t)f[2] << 8 | f[3] : 0;
        } else if (len == 127) {
            hdr = 10;
            len = 0;
            for (int i = 0; i < 8 && have >= 10; i++) {
                len = len << 8 | f[2 + i];
            }
        }
        if (have < hdr || len > RAW_BUF - hdr) {
            if (have >= hdr) {
                conn_fail(c, "a frame larger than the client's buffer");
                return false;
            }
            break;
        }
        if (have < hdr + len) {
            break;
        }
        const uint8_t *payload = f + hdr;
        off += hdr + (size_t)len;
        switch (f[0] & 0x0f) {
        case WSLAY_TEXT_FRAME:
            on_text(c, (const char *)payload, (size_t)len);
            break;
        case WSLAY_PING: {
            struct wslay_event_msg pong = {WSLAY_PONG, payload, (size_t)len};
            if (wslay_event_queue_msg(c->ws, &pong) != 0) {
                conn_fail(c, "cannot queue a pong");
                return false;
            }
            break;
        }
        case WSLAY_CONNECTION_CLOSE:
            ws_closed(c);
            return false;
        default: /* pong, binary: nothing for this client */
            break;
        }
    }
    c->rlen -= off;
    memmove(c->rbuf, c->rbuf + off, c->rlen);
    return true;
}

static void ws_pump(conn_t *c)
{
    if (c->tool->mode == MODE_FANOUT) {
        if (!raw_read(c)) {
            return;
        }
    } else if (wslay_event_recv(c->ws) != 0) {
        ws_closed(c);
        return;
    }
    if (wslay_event_want_write(c->ws)) {
        if (wslay_event_send(c->ws) != 0) {
            conn_fail(c, "WebSocket send failed");
            return;
        }
        if (wslay_event_want_write(c->ws)) {
            event_add(c->wr, NULL);
        }
    }
}

static void ws_queue_text(conn_t *c, const char *text)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, strlen(text)};
    if (wslay_event_queue_msg(c->ws, &m) != 0) {
        conn_fail(c, "cannot queue a message");
        return;
    }
    ws_pump(c);
}

/* A complete response head is in c->head[0..end). */
static void head_done(conn_t *c, size_t end)
{
    tool_t *t = c->tool;
    int status = head_status(c->head);
    if (c->kind == KIND_WS) {
        if (status != 101) {
            c->head[end < 200 ? end : 200] = '\0';
            conn_fail(c, c->head);
            return;
        }
        if (wslay_event_context_client_init(&c->ws, &ws_callbacks, c) != 0) {
            bench_fail("out of memory");
        }
        if (c->head_len > end) {
            c->pending_len = c->head_len - end;
            c->pending = malloc(c->pending_len);
            if (!c->pending) {
                bench_fail("out of memory");
            }
            memcpy(c->pending, c->head + end, c->pending_len);
        }
        c->head_len = 0;
        t->opening--;
        c->state = ST_OPEN;
        if (t->subscribe) {
            ws_queue_text(c, t->subscribe);
        } else {
            c->state = ST_READY;
            t->ready++;
        }
        if (c->state != ST_CLOSED && c->pending) {
            ws_pump(c);
        }
        return;
    }
    /* HTTP: the body follows; keep reading until it is all here. */
    if (status != 200) {
        c->head[end < 300 ? end : 300] = '\0';
        conn_fail(c, c->head);
        return;
    }
    size_t body = head_content_length(c->head, end);
    size_t have = c->head_len - end;
    if (c->kind == KIND_RECORDER) {
        /* The whole body is needed for firstSeq; it is small. */
        if (have < body) {
            c->body_need = end + body;
            return;
        }
        const char *fs = find(c->head + end, have, "\"firstSeq\":");
        if (!fs || c->inflight < 0) {
            conn_fail(c, "a RecordObservations answer without firstSeq");
            return;
        }
        t->seq_of[c->inflight] = strtoll(fs + 11, NULL, 10);
        int64_t took = bench_now_us() - t->sent_at[c->inflight];
        t->answer[t->answered] = (uint32_t)(took < 0 ? 0 : took);
        t->answered++;
        c->inflight = -1;
        c->head_len = 0;
        c->body_need = 0;
        c->state = ST_READY;
        recorder_send(t);
        return;
    }
    if (have < body) {
        c->body_need = end + body;
        return;
    }
    c->head_len = 0;
    c->body_need = 0;
    t->opening--;
    c->state = ST_READY;
    t->ready++;
}

static void read_head(conn_t *c)
{
    for (;;) {
        if (c->head_len == sizeof c->head - 1) {
            conn_fail(c, "response head too long");
            return;
        }
        ssize_t n = recv(c->fd, c->head + c->head_len, sizeof c->head - 1 - c->head_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }
        if (n <= 0) {
            conn_fail(c, n == 0 ? "the server closed the connection" : strerror(errno));
            return;
        }
        c->head_len += (size_t)n;
        c->head[c->head_len] = '\0';
        if (c->body_need) {
            if (c->head_len >= c->body_need) {
                size_t end = (size_t)(find(c->head, c->head_len, "\r\n\r\n") - c->head) + 4;
                c->body_need = 0;
                head_done(c, end);
            }
            return;
        }
        const char *e = find(c->head, c->head_len, "\r\n\r\n");
        if (e) {
            head_done(c, (size_t)(e - c->head) + 4);
            return;
        }
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_t *c = arg;
    if (c->ws) {
        ws_pump(c);
        return;
    }
    if (c->state == ST_READY && c->kind == KIND_HTTP) {
        char buf[256];
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            if (c->tool->closing_all) {
                conn_drop(c);
            } else {
                conn_fail(c, "the server closed an idle keep-alive connection");
            }
        }
        return;
    }
    read_head(c);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_t *c = arg;
    tool_t *t = c->tool;
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            conn_fail(c, strerror(err));
            open_more(t);
            return;
        }
        event_add(c->rd, NULL);
        if (c->kind == KIND_WS) {
            queue_out(c,
                      "GET /v1/stream HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: " WS_KEY "\r\n\r\n",
                      t->host, t->port);
            c->state = ST_HEAD;
        } else if (c->kind == KIND_HTTP) {
            queue_out(c, "GET /healthz HTTP/1.1\r\nHost: %s:%d\r\n\r\n", t->host, t->port);
            c->state = ST_HEAD;
        } else {
            c->state = ST_READY;
            t->opening--;
            recorder_send(t);
            return;
        }
    }
    if (c->ws) {
        if (wslay_event_send(c->ws) != 0) {
            conn_fail(c, "WebSocket send failed");
        } else if (wslay_event_want_write(c->ws)) {
            event_add(c->wr, NULL);
        }
        return;
    }
    if (flush_out(c) != 0) {
        conn_fail(c, "send failed");
    }
}

static void open_more(tool_t *t)
{
    while (t->opening < MAX_OPENING && t->next_to_open < t->count) {
        conn_t *c = &t->conns[t->next_to_open];
        c->index = t->next_to_open++;
        t->opening++;
        if (conn_start(t, c) != 0) {
            conn_fail(c, strerror(errno));
        }
    }
}

/* ---- loop helpers ------------------------------------------------------- */

static void run_for(tool_t *t, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    event_base_loopexit(t->base, &tv);
    event_base_dispatch(t->base);
}

/* Runs the loop until every connection is open (or failed). */
static int open_all(tool_t *t, int64_t deadline_ms)
{
    int64_t until = bench_now_us() + deadline_ms * 1000;
    open_more(t);
    while (t->ready + t->closed < t->count && bench_now_us() < until) {
        run_for(t, 20);
        open_more(t);
    }
    return t->ready == t->count ? 0 : -1;
}

/* Keeps serving the loop while sampling the server's RSS until it stops
 * moving (four samples within 1% of the growth so far, or 64 KiB) and, if
 * fd_target >= 0, its descriptors are down to fd_target. Returns the RSS. */
static long settle(tool_t *t, long base_rss, long fd_target)
{
    long prev = -1;
    int stable = 0;
    int64_t until = bench_now_us() + SETTLE_MAX_MS * 1000;
    for (;;) {
        run_for(t, SETTLE_SAMPLE_MS);
        long rss = bench_rss_kib(t->server_pid);
        long fds = bench_fd_count(t->server_pid);
        if (rss < 0) {
            bench_fail("cannot read the server's memory (pid %ld)", (long)t->server_pid);
        }
        long tolerance = labs(rss - base_rss) / 100;
        tolerance = tolerance > 64 ? tolerance : 64;
        stable = prev >= 0 && labs(rss - prev) <= tolerance ? stable + 1 : 0;
        prev = rss;
        bool fds_done = fd_target < 0 || (fds >= 0 && fds <= fd_target);
        if ((stable >= 3 && fds_done) || bench_now_us() > until) {
            return rss;
        }
    }
}

static void close_all(tool_t *t)
{
    t->closing_all = true;
    for (int i = 0; i < t->count; i++) {
        conn_t *c = &t->conns[i];
        if (c->state == ST_CLOSED) {
            continue;
        }
        if (c->ws) {
            c->state = ST_CLOSING;
            if (wslay_event_queue_close(c->ws, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0) != 0) {
                conn_drop(c);
                continue;
            }
            ws_pump(c);
        } else {
            conn_drop(c);
        }
    }
    int64_t until = bench_now_us() + 5000 * 1000;
    while (t->closed < t->count && bench_now_us() < until) {
        run_for(t, 20);
    }
    for (int i = 0; i < t->count; i++) {
        conn_drop(&t->conns[i]);
    }
}

/* ---- idle --------------------------------------------------------------- */

static int run_idle(tool_t *t, const char *kind)
{
    long fd0 = bench_fd_count(t->server_pid);
    long rss0 = settle(t, bench_rss_kib(t->server_pid), -1);
    int64_t t_open = bench_now_us();
    if (open_all(t, 60000) != 0) {
        fprintf(stderr, "nimbus_bench_ws: %d of %d connections opened\n", t->ready, t->count);
        return 1;
    }
    double open_s = (double)(bench_now_us() - t_open) / 1e6;
    long fd1 = bench_fd_count(t->server_pid);
    long rss1 = settle(t, rss0, -1);
    int failures_open = t->failures;
    close_all(t);
    /* The server has let go of them when its descriptors are back. */
    long rss2 = settle(t, rss1, fd0 + 2);
    long fd2 = bench_fd_count(t->server_pid);
    printf("BENCHJSON {\"kind\":\"%s\",\"sessions\":%d,\"subscribed\":%s,\"open_s\":%.2f,"
           "\"rss_before_kib\":%ld,\"rss_open_kib\":%ld,\"rss_after_close_kib\":%ld,"
           "\"fds_before\":%ld,\"fds_open\":%ld,\"fds_after_close\":%ld,"
           "\"bytes_per_session\":%.0f,\"failures\":%d}\n",
           kind, t->count, t->subscribe ? "true" : "false", open_s, rss0, rss1, rss2, fd0, fd1, fd2,
           (double)(rss1 - rss0) * 1024.0 / t->count, failures_open);
    return failures_open ? 1 : 0;
}

/* ---- fan-out ------------------------------------------------------------ */

static void recorder_send(tool_t *t)
{
    int64_t now = bench_now_us();
    long due = (long)((now - t->t0) * t->rate / 1000000) + 1;
    if (due > t->total) {
        due = t->total;
    }
    for (int r = 0; r < RECORDERS && t->sent < due; r++) {
        conn_t *c = &t->recorders[r];
        if (c->state != ST_READY) {
            continue;
        }
        long k = t->sent++;
        char when[32];
        format_time(t->start_epoch + k, when);
        char body[256];
        int blen = snprintf(body, sizeof body,
                            "{\"observations\":[{\"observedAt\":\"%s\",\"temperature\":%ld.%ld,"
                            "\"humidity\":%ld}]}",
                            when, 10 + k % 20, k % 10, 40 + k % 50);
        queue_out(c,
                  "POST /v1/stations/%s/observations HTTP/1.1\r\nHost: %s:%d\r\n"
                  "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                  t->stations[k % t->station_count], t->host, t->port, blen, body);
        c->inflight = k;
        c->state = ST_BUSY;
        if (flush_out(c) != 0) {
            conn_fail(c, "send failed");
            continue;
        }
        t->sent_at[k] = bench_now_us();
    }
    if (t->sent < due) {
        t->ticks_behind++; /* every recorder busy: this one goes out late */
    }
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    recorder_send(arg);
}

static bool all_delivered(tool_t *t)
{
    for (int i = 0; i < t->count; i++) {
        if (t->conns[i].state != ST_CLOSED && t->conns[i].received < (uint32_t)t->total) {
            return false;
        }
    }
    return true;
}

static int run_fanout(tool_t *t)
{
    if (open_all(t, 60000) != 0) {
        fprintf(stderr, "nimbus_bench_ws: %d of %d subscribers ready\n", t->ready, t->count);
        return 1;
    }
    size_t bits = (size_t)(t->total + 7) / 8;
    for (int i = 0; i < t->count; i++) {
        t->conns[i].seen = calloc(bits, 1);
        if (!t->conns[i].seen) {
            bench_fail("out of memory");
        }
    }
    t->sent_at = calloc((size_t)t->total, sizeof *t->sent_at);
    t->seq_of = calloc((size_t)t->total, sizeof *t->seq_of);
    t->seq_seen = calloc((size_t)t->total, sizeof *t->seq_seen);
    t->latency_cap = (size_t)t->total * (size_t)t->count;
    t->latency = malloc(t->latency_cap * sizeof *t->latency);
    t->answer = calloc((size_t)t->total, sizeof *t->answer);
    if (!t->sent_at || !t->seq_of || !t->seq_seen || !t->latency || !t->answer) {
        bench_fail("out of memory");
    }
    t->opening = 0;
    for (int r = 0; r < RECORDERS; r++) {
        conn_t *c = &t->recorders[r];
        c->kind = KIND_RECORDER;
        c->index = -1 - r;
        c->inflight = -1;
        t->opening++;
        if (conn_start(t, c) != 0) {
            bench_fail("cannot connect a recorder: %s", strerror(errno));
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    t->cpu_at_t0 = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    t->t0 = bench_now_us();
    t->tick = event_new(t->base, -1, EV_PERSIST, on_tick, t);
    struct timeval every = {0, 1000};
    event_add(t->tick, &every);
    int64_t send_deadline = t->t0 + (t->seconds + 10) * 1000000;
    while ((t->sent < t->total || t->answered < t->total) && bench_now_us() < send_deadline &&
           !t->failures) {
        run_for(t, 50);
    }
    double send_s = (double)(bench_now_us() - t->t0) / 1e6;
    event_del(t->tick);
    int64_t drain_until = bench_now_us() + DRAIN_MAX_MS * 1000;
    while (!all_delivered(t) && bench_now_us() < drain_until) {
        run_for(t, 20);
    }
    long missing = 0, short_subscribers = 0, bad_seq = 0;
    for (int i = 0; i < t->count; i++) {
        long m = t->total - (long)t->conns[i].received;
        if (m > 0) {
            missing += m;
            short_subscribers++;
        }
    }
    for (long k = 0; k < t->answered && k < t->total; k++) {
        if (t->seq_seen[k] && t->seq_of[k] && t->seq_seen[k] != t->seq_of[k]) {
            bad_seq++;
        }
    }
    struct rusage end;
    getrusage(RUSAGE_SELF, &end);
    double client_s = (double)(end.ru_utime.tv_sec + end.ru_stime.tv_sec) +
                      (double)(end.ru_utime.tv_usec + end.ru_stime.tv_usec) / 1e6 - t->cpu_at_t0;
    size_t n = t->latency_count;
    uint32_t p50 = bench_percentile(t->latency, n, 50);
    uint32_t p99 = bench_percentile(t->latency, n, 99);
    uint32_t p999 = bench_percentile(t->latency, n, 99.9);
    uint32_t max = n ? t->latency[n - 1] : 0;
    /* The recording's own part of a delivery's latency: POST written to
     * its answer (the write committed; publication follows the COMMIT). */
    size_t answers = t->answered > 0 ? (size_t)t->answered : 0;
    uint32_t answer_p50 = bench_percentile(t->answer, answers, 50);
    uint32_t answer_p99 = bench_percentile(t->answer, answers, 99);
    bool ok = t->failures == 0 && missing == 0 && t->out_of_order == 0 && t->duplicates == 0 &&
              t->unknown == 0 && t->seq_mismatch == 0 && bad_seq == 0 && t->answered == t->total;
    printf("BENCHJSON {\"subscribers\":%d,\"recorded\":%ld,\"answered\":%ld,\"send_s\":%.2f,"
           "\"rate\":%.1f,\"ticks_behind\":%ld,\"deliveries\":%zu,\"expected\":%ld,"
           "\"missing\":%ld,\"subscribers_short\":%ld,\"out_of_order\":%ld,\"duplicates\":%ld,"
           "\"unknown\":%ld,\"seq_mismatch\":%ld,\"seq_vs_post\":%ld,\"lagged\":%ld,"
           "\"failures\":%d,\"p50_us\":%u,\"p99_us\":%u,\"p999_us\":%u,\"max_us\":%u,"
           "\"answer_p50_us\":%u,\"answer_p99_us\":%u,\"client_cpu\":%.2f,\"ok\":%s}\n",
           t->count, t->sent, t->answered, send_s, (double)t->answered / send_s, t->ticks_behind, n,
           t->total * (long)t->count, missing, short_subscribers, t->out_of_order, t->duplicates,
           t->unknown, t->seq_mismatch, bad_seq, t->lagged, t->failures, p50, p99, p999, max,
           answer_p50, answer_p99, client_s / ((double)(bench_now_us() - t->t0) / 1e6),
           ok ? "true" : "false");
    return ok ? 0 : 1;
}

/* ---- main ----------------------------------------------------------------- */

static void split_stations(tool_t *t, char *list)
{
    for (char *p = strtok(list, ","); p; p = strtok(NULL, ",")) {
        char **grown = realloc(t->stations, (size_t)(t->station_count + 1) * sizeof *grown);
        if (!grown) {
            bench_fail("out of memory");
        }
        t->stations = grown;
        t->stations[t->station_count++] = p;
    }
}

int main(int argc, char **argv)
{
    bench_program = "nimbus_bench_ws";
    static tool_t t;
    const char *usage = "usage: idle --connect HOST:PORT --server-pid PID --sessions N "
                        "--kind ws|http [--subscribe STATION]\n"
                        "       fanout --connect HOST:PORT --subscribers N --rate R --seconds S "
                        "--stations ID,... --start-epoch T";
    if (argc < 2) {
        bench_usage_error("%s", usage);
    }
    t.mode = strcmp(argv[1], "fanout") == 0 ? MODE_FANOUT : MODE_IDLE;
    if (t.mode == MODE_IDLE && strcmp(argv[1], "idle") != 0) {
        bench_usage_error("%s", usage);
    }
    const char *connect_to = NULL, *kind = "ws";
    char subscribe[256];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (strcmp(o, "--connect") == 0) {
            connect_to = v;
        } else if (strcmp(o, "--server-pid") == 0) {
            t.server_pid = (pid_t)bench_parse_int(o, v, 1, 1 << 30);
        } else if (strcmp(o, "--sessions") == 0 || strcmp(o, "--subscribers") == 0) {
            t.count = (int)bench_parse_int(o, v, 1, 1000000);
        } else if (strcmp(o, "--kind") == 0) {
            kind = v;
        } else if (strcmp(o, "--subscribe") == 0) {
            snprintf(subscribe, sizeof subscribe,
                     "{\"type\":\"subscribe\",\"id\":\"s\",\"stations\":[\"%s\"]}", v);
            t.subscribe = subscribe;
        } else if (strcmp(o, "--rate") == 0) {
            t.rate = (long)bench_parse_int(o, v, 1, 1000000);
        } else if (strcmp(o, "--seconds") == 0) {
            t.seconds = (long)bench_parse_int(o, v, 1, 3600);
        } else if (strcmp(o, "--stations") == 0) {
            split_stations(&t, argv[i + 1]);
        } else if (strcmp(o, "--start-epoch") == 0) {
            t.start_epoch = bench_parse_int(o, v, 0, 200000000000LL);
        } else {
            bench_usage_error("%s", usage);
        }
    }
    if (!connect_to || bench_parse_hostport(connect_to, t.host, sizeof t.host, &t.port) != 0 ||
        t.count == 0) {
        bench_usage_error("%s", usage);
    }
    kind_t k = strcmp(kind, "http") == 0 ? KIND_HTTP : KIND_WS;
    if (t.mode == MODE_IDLE && (!t.server_pid || (k == KIND_WS && strcmp(kind, "ws") != 0))) {
        bench_usage_error("%s", usage);
    }
    if (t.mode == MODE_FANOUT) {
        if (!t.rate || !t.seconds || !t.station_count || !t.start_epoch) {
            bench_usage_error("%s", usage);
        }
        k = KIND_WS;
        t.subscribe = "{\"type\":\"subscribe\",\"id\":\"all\"}";
        t.total = t.rate * t.seconds;
    }
    if (bench_raise_nofile(t.count + RECORDERS + 64) < t.count + RECORDERS + 16) {
        bench_fail("cannot raise the descriptor limit to %d", t.count + RECORDERS + 64);
    }
    ws_callbacks.recv_callback = ws_recv;
    ws_callbacks.send_callback = ws_send;
    ws_callbacks.genmask_callback = ws_genmask;
    ws_callbacks.on_msg_recv_callback = ws_on_msg;
    t.base = event_base_new();
    t.conns = calloc((size_t)t.count, sizeof *t.conns);
    if (!t.base || !t.conns) {
        bench_fail("out of memory");
    }
    for (int i = 0; i < t.count; i++) {
        t.conns[i].kind = k;
        t.conns[i].fd = -1;
    }
    for (int r = 0; r < RECORDERS; r++) {
        t.recorders[r].fd = -1;
    }
    int rc = t.mode == MODE_IDLE ? run_idle(&t, kind) : run_fanout(&t);
    fflush(stdout);
    return rc;
}
