/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals shared by the files of the WebSocket endpoint: the per-worker
 * state (stream_worker.c) and the connection transport (ws_conn.c). Nothing
 * outside json_api/ws_* and json_api/stream_* includes this.
 *
 * Ownership: a worker owns its connections (a doubly linked list); a
 * connection owns its session, its events and, while it is receiving a
 * message or closing, a wslay context; it borrows the evhttp connection,
 * which evhttp keeps owning for the whole session (freeing it is what closes
 * the socket).
 */
#ifndef NIMBUS_STREAM_INTERNAL_H
#define NIMBUS_STREAM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "nimbus_http.h"
#include "nimbus_stream.h"
#include "stream_hub.h"
#include "stream_session.h"

/* Keepalive: a ping after config->ws_ping_interval_ms of silence
 * (--ws-ping-interval); a peer that shows no sign of life for two intervals
 * is dropped. How long we wait for the peer's close frame after sending ours. */
#define NIMBUS_WS_CLOSE_TIMEOUT_MS 2000
/* A slow reader that is still being sent what was queued before our close
 * frame gets this much longer, in close timeouts (at a stop,
 * --shutdown-grace ends it sooner). */
#define NIMBUS_WS_CLOSE_SLOW_TICKS 15
/* Bytes of one connection's frames gathered in the worker's staging buffer
 * before its run ends and sends them; more go to its output evbuffer. */
#define NIMBUS_WS_STAGE_MAX (64 * 1024)
/* Sessions a fan-out serves between two offers of the core to a commit
 * under way (hub_ready): ~0.5 ms of sends. 50, 100 and 200 gave the same
 * row-10 latencies. */
#define NIMBUS_STREAM_YIELD_SESSIONS 100
/* Sessions a fan-out serves between two looks at the hub for observations
 * published since it began (hub_ready: they join the fan-out under way). */
#define NIMBUS_STREAM_MERGE_SESSIONS 50

typedef struct nimbus_ws_conn nimbus_ws_conn_t;

struct nimbus_stream_worker {
    nimbus_worker_t *w;
    nimbus_stream_hub_t *hub;
    int listener_id; /* 0 when not listening */
    struct event *hub_event;
    nimbus_stream_shared_t shared;
    LIST_HEAD(ws_conn_list, nimbus_ws_conn) conns;
    size_t conn_count;
    size_t conn_peak;             /* most connections open since the last trim */
    uint64_t trim_due_since;      /* nimbus_now_us() when a trim became due; 0: not due */
    struct event *trim_event;     /* gives closed sessions' memory back (stream_trim.h) */
    struct event *fd_event;       /* reused to make libevent's per-descriptor records */
    evutil_socket_t fds_reserved; /* records exist below this descriptor number */
    evutil_socket_t fds_max;      /* descriptor limit; 0: records made one by one */
    bool shutting_down;
    struct timeval ping_interval;
    /* Scratch of one fan-out: its observations, copied from the hub (whose
     * window the next take hands back to the publishers), and each one
     * encoded. */
    nimbus_observation_t *fanout_items;
    size_t fanout_items_size;
    char **fanout_json;
    size_t fanout_size;
    /* The frames of one connection (stage_owner; NULL when empty), made
     * during its run and sent with one write when the run ends: a message
     * that the socket takes at once never touches the heap (ws_conn.c). */
    char *stage;
    size_t stage_len, stage_cap;
    nimbus_ws_conn_t *stage_owner;
};

/*
 * Takes the connection of req over as a WebSocket (the upgrade was checked
 * and authorized): writes the 101 with accept, installs our bufferevent
 * callbacks, clears evhttp's timeouts and links the connection into sw.
 * creds are copied; key is the caller's key name for the access line ("":
 * none), which also takes req's request id, echoed in the 101. On success
 * req's headers are cleared (nothing reads them again): the caller must
 * not use pointers into them afterwards.
 * Returns 0, or -1 with err when out of memory (nothing was written; the
 * caller answers with an error).
 */
int nimbus__ws_conn_start(nimbus_stream_worker_t *sw, struct evhttp_request *req,
                          const char *accept, const nimbus_credentials_t *creds, const char *key,
                          nimbus_error_t *err);

/*
 * (1.1) Answers req (GET /v1/stream, checked and authorized) with the
 * stream in an HTTP framing (SSE or NDJSON): opens the subscription sub
 * first, and only when it is accepted writes the 200 head (its media type,
 * Cache-Control: no-store, X-Accel-Buffering: no, Connection: close, and
 * `headers`, each line ending in CRLF, or NULL) followed by what the
 * subscription sent (subscribed, snapshot), and takes the connection over
 * as nimbus__ws_conn_start does. Returns 0, or -1 with err (the refusal:
 * nothing was written, the caller answers with a problem+json).
 */
int nimbus__stream_conn_start(nimbus_stream_worker_t *sw, struct evhttp_request *req,
                              nimbus_stream_framing_t framing, const char *headers,
                              const nimbus_credentials_t *creds, const char *key,
                              const nimbus_stream_subscribe_t *sub, nimbus_error_t *err);

/* The AsyncAPI document (asyncapi.c) for clients that reach us at
 * base_url ("scheme://host[/path]", nimbus_http_base_url): heap JSON text
 * the caller frees, its length in *len; NULL when memory ran out. */
char *nimbus__stream_asyncapi_text(const char *base_url, size_t *len);

/* Starts the closing handshake with code (1001 at shutdown); an HTTP
 * framing's response ends once what is queued is out. */
void nimbus__ws_conn_close(nimbus_ws_conn_t *c, uint16_t code, const char *reason);

/* Reads what arrived, pumps the session, writes what is queued. */
void nimbus__ws_conn_run(nimbus_ws_conn_t *c);

/* Hands live observations (json[i] encodes obs[i]) or a hub loss to c's
 * session; a connection that is closing takes nothing. Call
 * nimbus__ws_conn_run afterwards to write. */
void nimbus__ws_conn_live(nimbus_ws_conn_t *c, const nimbus_observation_t *obs,
                          const char *const *json, size_t count);
void nimbus__ws_conn_lost(nimbus_ws_conn_t *c, int64_t lost_through);

nimbus_ws_conn_t *nimbus__ws_conn_next(nimbus_ws_conn_t *c);
/* Whether c is still open (not yet marked for freeing). */
bool nimbus__ws_conn_open(const nimbus_ws_conn_t *c);

/* Tells the worker that a connection was added or freed (conn_count has
 * changed): keeps the peak and arms a trim when one is due. */
void nimbus__stream_worker_counted(nimbus_stream_worker_t *sw);

/* A connection on descriptor fd was taken over: when fd comes within half a
 * block of the descriptor numbers libevent has records for, makes the
 * records of the next NIMBUS_STREAM_FD_BLOCK at once (stream_worker.c says
 * why). */
void nimbus__stream_worker_reserve_fds(nimbus_stream_worker_t *sw, evutil_socket_t fd);

/* Frees c and its evhttp connection now; never from inside c's own or
 * evhttp's callbacks (ws_conn.c defers to an event for that). */
void nimbus__ws_conn_free(nimbus_ws_conn_t *c);

#endif
