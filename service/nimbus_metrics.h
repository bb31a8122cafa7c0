/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Counters for GET /metrics and the dashboard's Clients view
 * (service/metrics.c, rendered by service/metrics_render.c).
 *
 * Hot path: every worker thread counts into its own block (one per
 * nimbus_service_t, so one per thread), one writer per block: an increment
 * is a relaxed load and a relaxed store, no lock, no shared cache line.
 * A scrape sums every block with relaxed loads; a count read mid-update is
 * at most one behind. Storage counts are kept by the writer thread alone,
 * in the core. Blocks live as long as the core, so a scrape never reads a
 * freed one.
 *
 * Labels come from bounded sets only: the protocol (below), the operation
 * table (or "-"), the error codes (or "OK"), and the configured key names
 * (or "-" on an open server, for a wrong or missing key, and for trusted
 * callers). Nothing a client sends becomes a label value.
 */
#ifndef NIMBUS_METRICS_H
#define NIMBUS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "nimbus_error.h"
#include "nimbus_service.h"

typedef enum nimbus_proto {
    NIMBUS_PROTO_SOAP11,
    NIMBUS_PROTO_SOAP12,
    NIMBUS_PROTO_REST,
    NIMBUS_PROTO_WS
} nimbus_proto_t;
#define NIMBUS_PROTO_COUNT 4

/* "soap11", "soap12", "rest", "ws". */
const char *nimbus_proto_name(nimbus_proto_t proto);

typedef enum nimbus_conn_kind {
    NIMBUS_CONN_HTTP,      /* every accepted connection, upgraded ones too */
    NIMBUS_CONN_WEBSOCKET, /* upgraded to a WebSocket */
    NIMBUS_CONN_TLS        /* accepted on a TLS port */
} nimbus_conn_kind_t;
#define NIMBUS_CONN_KIND_COUNT 3

typedef struct nimbus_metrics_block nimbus_metrics_block_t;

/* The block svc's thread counts into; NULL when it could not be made (out
 * of memory at nimbus_service_new): every count function takes NULL and
 * does nothing. Valid as long as svc's core. */
nimbus_metrics_block_t *nimbus_service_metrics(nimbus_service_t *svc);

/* One answered call (an HTTP request of a protocol, or a WebSocket `call`). */
typedef struct nimbus_metrics_call {
    nimbus_proto_t proto;
    int op;              /* a nimbus_op_t, or -1: none named (WSDL, refused early) */
    nimbus_code_t code;  /* NIMBUS_OK, or the error answered */
    const char *key;     /* the caller's key name; "" or NULL: none */
    uint64_t elapsed_us; /* from arrival to the answer */
    uint64_t bytes_in;   /* request body (HTTP) or message (WebSocket) */
    uint64_t bytes_out;  /* response body or message */
} nimbus_metrics_call_t;

/* Monotonic microseconds, for elapsed_us. */
uint64_t nimbus_metrics_now_us(void);

/* Counts c on b (the calling thread's block). */
void nimbus_metrics_count_call(nimbus_metrics_block_t *b, const nimbus_metrics_call_t *c);

/* Connections of kind open: delta +1 when one opens, -1 when it closes
 * (on the thread that opened it). */
void nimbus_metrics_conn_open(nimbus_metrics_block_t *b, nimbus_conn_kind_t kind, int delta);
/* A connection refused by --max-connections(-per-client). */
void nimbus_metrics_conn_refused_limit(nimbus_metrics_block_t *b);
/* Bytes queued for WebSocket clients on this thread changed by delta. */
void nimbus_metrics_ws_queued(nimbus_metrics_block_t *b, int64_t delta);
/* A subscription reads storage to catch up (a replay), lag_seqs behind the
 * head seq. */
void nimbus_metrics_stream_replay(nimbus_metrics_block_t *b, int64_t lag_seqs);
/* A `lagged` message was sent. */
void nimbus_metrics_stream_lagged(nimbus_metrics_block_t *b);

/* Renders every metric in the Prometheus text exposition format 0.0.4
 * into a heap string (*len bytes, NUL-terminated) the caller frees; NULL
 * when out of memory. Any thread. */
char *nimbus_metrics_render_text(nimbus_core_t *core, size_t *len);

/* The Clients view's data: calls since start per client and operation,
 * split by protocol, as JSON:
 *   {"protocols":["soap11","soap12","rest","ws"],"startTime":S,
 *    "rows":[{"client":"-","operation":"GetWeather","calls":[a,b,c,d],
 *             "errors":[e,f,g,h]}, ...]}
 * rows sorted by client, then operation; only rows with calls. Heap
 * string the caller frees; NULL when out of memory. Any thread. */
char *nimbus_metrics_render_clients(nimbus_core_t *core, size_t *len);

#endif
