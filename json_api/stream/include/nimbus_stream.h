/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The stream front-end's entry points (GET /v1/stream): the per-worker
 * state the server makes for each worker, the handler of the stream's
 * requests (a WebSocket upgrade, or server-sent events or NDJSON) and of
 * its AsyncAPI document. Everything else of json_api/stream (RFC 6455 transport, the
 * stream protocol, the hub queue) is private to it.
 *
 * Ownership: nimbus_stream_worker_new returns state the server owns and
 * frees with nimbus_stream_worker_free once every worker's loop has ended
 * (other workers' writes publish to it until then); NULL with err.
 * nimbus_stream_worker_shutdown closes every session with 1001 and is
 * called on the worker's thread before its loop ends;
 * nimbus_stream_worker_open counts the sessions not yet closed, which the
 * loop waits for (up to --shutdown-grace) so that each gets what was
 * queued for it and its close frame.
 */
#ifndef NIMBUS_STREAM_H
#define NIMBUS_STREAM_H

#include "nimbus_http.h"

nimbus_stream_worker_t *nimbus_stream_worker_new(nimbus_worker_t *w, nimbus_error_t *err);
void nimbus_stream_worker_shutdown(nimbus_stream_worker_t *stream);
size_t nimbus_stream_worker_open(nimbus_stream_worker_t *stream);
void nimbus_stream_worker_free(nimbus_stream_worker_t *stream);

/* GET /v1/stream on w's thread: checks and authorizes the upgrade (refusals
 * are problem+json), then takes the connection over as a WebSocket. */
void nimbus_stream_handle(nimbus_worker_t *w, struct evhttp_request *req);

/* GET /v1/asyncapi.json on w's thread (contract 1.1): the AsyncAPI 3.0
 * document of the stream, written from the tables the stream runs on. */
void nimbus_stream_asyncapi_handle(nimbus_worker_t *w, struct evhttp_request *req);

#endif
