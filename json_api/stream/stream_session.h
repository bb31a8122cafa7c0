/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The WebSocket protocol of the contract ("WebSocket: GET /v1/stream") as a
 * state machine with no socket in it: it takes complete, UTF-8-checked text
 * messages and hub events, and produces text messages through a
 * nimbus_stream_out_t. ws_conn.c wires it to wslay and a bufferevent; the
 * unit tests wire it to an array.
 *
 * A subscription is always in one of two states:
 *
 *   REPLAY  it owes the client stored observations: every matching
 *           observation with seq > `through` is read from storage
 *           (nimbus_service_observations_since) in seq order, a batch at a
 *           time, while the connection has room;
 *   LIVE    observations from the hub are sent as they come.
 *
 * `through` is the invariant that makes the hand-over exact: every matching
 * observation with seq <= through has been sent (or was never stored), and
 * nothing above it has. Live observations with seq <= through are dropped
 * (no duplicate); a REPLAY read that comes back short proves storage holds
 * nothing more up to the worker's head, so the subscription jumps to
 * max(last read, head) and turns LIVE (no gap, because everything the worker
 * has taken from the hub was committed before it was published).
 *
 * Bounded memory: a message is only queued while the connection's queued
 * bytes are under the configured maximum (config->ws_queue_max). A LIVE
 * subscription that finds no room falls back to REPLAY and is caught up from
 * storage when the client reads again; it never loses, reorders or
 * duplicates an observation, and nothing is buffered for it meanwhile, so
 * other subscribers are not slowed. If storage fails during a catch-up, the
 * subscription ends with `lagged` so that the client can resume.
 *
 * Framings (contract 1.1): the same session serves a WebSocket (messages
 * in, messages out, many subscriptions and calls) and a server-sent events
 * or NDJSON response (one subscription made from the request, messages out
 * only); stream_wire.c writes each message in the session's framing. The
 * subscriptions, the replay -> live hand-over, the slow-consumer policy,
 * snapshots and heartbeats are this one implementation's, whatever the
 * framing.
 *
 * Snapshot: a subscription with `snapshot` starts with the latest
 * observation of each of its stations, read in one storage snapshot
 * together with the newest seq of that snapshot (nimbus_service_snapshot);
 * that seq is its `through`, so live observations continue from exactly
 * there. Heartbeat: a LIVE subscription that sent nothing for its
 * heartbeat's seconds sends `heartbeat` with `through`: every matching
 * observation up to it was sent, so it is safe to resume from (an SSE
 * client's Last-Event-ID), and it is the service's newest seq but for
 * writes still on their way through the hub.
 *
 * Threads: a session and its shared state belong to one worker thread.
 */
#ifndef NIMBUS_STREAM_SESSION_H
#define NIMBUS_STREAM_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus_service.h"
#include "stream_wire.h"

#define NIMBUS_STREAM_ID_MAX 64            /* characters in a client's id */
#define NIMBUS_STREAM_SUBSCRIPTIONS_MAX 64 /* per connection */
#define NIMBUS_STREAM_CALLS_MAX 16         /* streamed calls in flight per connection */
#define NIMBUS_STREAM_REPLAY_BATCH 256     /* observations read from storage at a time */
/* Work one pump call may do before it yields to the event loop, so one
 * connection catching up cannot stall the others on its worker. */
#define NIMBUS_STREAM_PUMP_READS 8
#define NIMBUS_STREAM_PUMP_ITEMS 1000

/* A piece of a message. Messages are handed over in pieces so that an
 * observation (the subscription's prefix, the observation's text encoded
 * once for every session, the closing brace) is copied once, straight into
 * the connection's output, rather than assembled first. */
typedef struct nimbus_stream_part {
    const char *data;
    size_t len;
} nimbus_stream_part_t;

/* Where a session's messages go. */
typedef struct nimbus_stream_out {
    /* Queues one complete text message, the concatenation of parts[0..count)
     * (copied). Returns 0, or -1 when the connection can take no more
     * (closing, out of memory). */
    int (*send)(void *arg, const nimbus_stream_part_t *parts, size_t count);
    /* Bytes queued on the connection and not yet written to the socket. */
    size_t (*queued)(void *arg);
    /* Asks the transport to write what is queued soon: a message sent
     * outside the transport's own run (a write's answer, after its commit)
     * would otherwise wait for the next event on the connection. */
    void (*flush)(void *arg);
    void *arg;
    /* The response is over (an HTTP framing's subscription ended with
     * `lagged`): write what is queued, then close. NULL for WebSocket. */
    void (*finish)(void *arg);
} nimbus_stream_out_t;

/* What a worker's sessions share. Owned by the worker (stream_worker.c). */
typedef struct nimbus_stream_shared {
    nimbus_service_t *svc;
    size_t queue_max; /* bytes a connection may have queued before it lags */
    /* Greatest seq this worker has taken from the hub, delivered or lost.
     * Everything up to it is committed. */
    int64_t head;
    /* Subscriptions on this worker. `activate` is called with true before
     * the first one reads the core's head (so the hub copies for it) and
     * with false after the last one ends. May be NULL. */
    size_t subscriptions;
    void (*activate)(void *arg, bool active);
    void *activate_arg;
} nimbus_stream_shared_t;

typedef struct nimbus_stream_session nimbus_stream_session_t;

/* A session for a connection that presented creds (copied). Free with
 * nimbus__stream_session_free (NULL-safe). NULL when out of memory. */
nimbus_stream_session_t *nimbus__stream_session_new(nimbus_stream_shared_t *shared,
                                                    const nimbus_credentials_t *creds,
                                                    const nimbus_stream_out_t *out);
void nimbus__stream_session_free(nimbus_stream_session_t *s);
/* The peer's address (copied), for the rate limit of a server without keys. */
void nimbus__stream_session_set_client(nimbus_stream_session_t *s, const char *client);
/* The connection's request id (copied; at most NIMBUS_REQUEST_ID_MAX
 * characters), quoted as "requestId" in every error it is sent. */
void nimbus__stream_session_set_request_id(nimbus_stream_session_t *s, const char *id);
/* The framing of every message (default NIMBUS_STREAM_WS); before the
 * first message. */
void nimbus__stream_session_set_framing(nimbus_stream_session_t *s,
                                        nimbus_stream_framing_t framing);

/* A subscription as a request makes it (subscribe's members, or the query
 * of an SSE/NDJSON request). Strings are borrowed for the call. */
typedef struct nimbus_stream_subscribe {
    const char *const *stations; /* NULL: every station */
    size_t station_count;
    bool has_from_seq;
    int64_t from_seq;
    bool snapshot;
    bool has_heartbeat;
    int64_t heartbeat_s;
} nimbus_stream_subscribe_t;

/* Opens subscription `id`: the caller's rate limit and subscription limit,
 * the core's rules, then `subscribed` and (with snapshot) `snapshot` are
 * sent. Returns 0; -1 with err when refused (nothing was sent, no
 * subscription exists: a WebSocket answers `error`, an HTTP framing a
 * problem+json); or -2 when the connection failed while sending. */
int nimbus__stream_session_subscribe(nimbus_stream_session_t *s, const char *id,
                                     const nimbus_stream_subscribe_t *req, nimbus_error_t *err);

/* Sends the heartbeats due at now_us (nimbus_now_us) on LIVE subscriptions
 * that have room. Returns the microseconds until the next one is due, 0
 * when no subscription has a heartbeat, or UINT64_MAX when the connection
 * failed. */
uint64_t nimbus__stream_session_heartbeats(nimbus_stream_session_t *s, uint64_t now_us);

/* Handles one client message: text is valid UTF-8 (the transport checked).
 * Bad messages get an `error` and leave the session open. Returns 0, or -1
 * when the connection failed (send returned -1) and must close. */
int nimbus__stream_session_on_text(nimbus_stream_session_t *s, const char *text, size_t len);

/* Live observations from the hub, in increasing seq; json[i] is
 * observation i encoded as a JSON object. Returns 0 or -1 as above. */
int nimbus__stream_session_on_live(nimbus_stream_session_t *s, const nimbus_observation_t *obs,
                                   const char *const *json, size_t count);

/* The hub dropped every observation with seq <= lost_through that the
 * worker had not taken: LIVE subscriptions behind it go back to REPLAY. */
void nimbus__stream_session_on_lost(nimbus_stream_session_t *s, int64_t lost_through);

/* Makes progress on replays and streamed calls while the connection has
 * room, up to NIMBUS_STREAM_PUMP_READS storage reads and
 * NIMBUS_STREAM_PUMP_ITEMS call items. Returns 1 when work remains (call
 * again soon if there is room, else once the connection drains), 0 when
 * idle, -1 when the connection failed. */
int nimbus__stream_session_pump(nimbus_stream_session_t *s);

/* Subscriptions open on this session (for tests and the access log). */
size_t nimbus__stream_session_subscription_count(const nimbus_stream_session_t *s);

#endif
