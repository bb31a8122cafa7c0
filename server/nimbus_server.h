/*
 * What the HTTP server offers the protocol front-ends (SOAP binding, REST
 * routes, WebSocket endpoint): the worker each request runs on, the shared
 * configuration, credentials taken from HTTP headers, and one way to send a
 * response that also writes the access-log line.
 *
 * Threads: the server runs config.workers event loops, one per thread, each
 * with its own listening socket (SO_REUSEPORT), evhttp, SQLite connection
 * and per-protocol state. A request is handled entirely on the worker whose
 * loop accepted its connection; nothing in a nimbus_worker_t is touched by
 * another thread except where a field says so.
 */
#ifndef NIMBUS_SERVER_H
#define NIMBUS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "nimbus_service.h"

#define NIMBUS_VERSION "0.1.0"
#define NIMBUS_DEFAULT_LISTEN "127.0.0.1:8080"
#define NIMBUS_DEFAULT_DB "var/nimbus.db"
#define NIMBUS_DEFAULT_MAX_BODY (1024 * 1024)
#define NIMBUS_DEFAULT_MAX_WS_MESSAGE (1024 * 1024)

typedef struct nimbus_config {
    char listen_host[256]; /* "127.0.0.1", "::1", "0.0.0.0" */
    int listen_port;       /* 0: ephemeral; the chosen port is printed */
    int workers;           /* event loops (threads) */
    char db_path[4096];
    size_t max_body;         /* request bodies above this: PAYLOAD_TOO_LARGE */
    size_t max_ws_message;   /* WebSocket messages above this: close 1009 */
    size_t ws_queue_max;     /* bytes queued per WebSocket before it lags */
    bool demo;               /* seed stations if the database has none, feed observations */
    bool demo_force;         /* seed even when the database holds stations */
    bool open;               /* keyless server may listen beyond loopback */
    bool access_log;         /* one line per request on stderr */
    char cors_origins[1024]; /* comma-separated allowed origins for GET; "" none; "*" any */
    char static_dir[4096];   /* dashboard files (GET /) */
    char port_file[4096];    /* when set, the bound port is written here once listening */
} nimbus_config_t;

typedef struct nimbus_server nimbus_server_t;
typedef struct nimbus_soap_worker nimbus_soap_worker_t;
typedef struct nimbus_stream_worker nimbus_stream_worker_t;

typedef struct nimbus_worker {
    int index;
    struct event_base *base;
    struct evhttp *http;
    nimbus_core_t *core;
    nimbus_service_t *svc; /* this thread's connection */
    const nimbus_config_t *config;
    nimbus_server_t *server;
    nimbus_soap_worker_t *soap;     /* owned by the SOAP binding */
    nimbus_stream_worker_t *stream; /* owned by the WebSocket endpoint */
} nimbus_worker_t;

/* Per-request facts for the access-log line. `protocol` is "soap", "rest",
 * "ws" or "http"; `operation` the contract's name or "-" (both static
 * strings); start_us from nimbus_now_us() when the request arrived. */
typedef struct nimbus_request_log {
    const char *protocol;
    const char *operation;
    uint64_t start_us;
} nimbus_request_log_t;

/* Monotonic microseconds. */
uint64_t nimbus_now_us(void);

/* Parses a URI query string into out (free with evhttp_clear_headers after
 * a 0 return; nothing to free after -1). evhttp decodes values into C
 * strings, so an encoded NUL would silently cut one short ("city=a%00b"
 * asking for city "a", "access_token=secret%00x" for "secret"); no value
 * of the API holds NUL, so the raw query is refused before decoding.
 * Returns 0, or -1 with INVALID_ARGUMENT naming the parameter. */
int nimbus_http_parse_query(const char *query, struct evkeyvalq *out, nimbus_error_t *err);

/* The request method's name ("GET"; "?" for one evhttp has no name for). */
const char *nimbus_http_method_name(enum evhttp_cmd_type cmd);

/* Sends status and body (may be NULL; its contents are drained) as the reply
 * to req, with Content-Length, and writes the access-log line. Headers set
 * on evhttp_request_get_output_headers(req) before the call are kept. To a
 * HEAD request it sends the Content-Length of body but not body itself, so
 * a HEAD handler may build the same body as for GET. */
void nimbus_http_reply(nimbus_worker_t *w, struct evhttp_request *req, int status,
                       struct evbuffer *body, const nimbus_request_log_t *log);

/* Answers req with status and err as application/problem+json, the body
 * the REST binding's own errors carry (json_api/ renders it), so that every
 * HTTP error outside SOAP Faults reads the same: health checks, the
 * dashboard, refused WebSocket upgrades, wrong methods on /soap. */
void nimbus_http_reply_problem(nimbus_worker_t *w, struct evhttp_request *req, int status,
                               const nimbus_error_t *err, const nimbus_request_log_t *log);

/* Writes one access-log line for a request answered some other way (a
 * WebSocket session, say). */
void nimbus_access_log(nimbus_worker_t *w, const nimbus_request_log_t *log, int status,
                       size_t bytes);

/*
 * Reads the credentials of req: "Authorization: Bearer SECRET" gives
 * NIMBUS_CRED_SECRET, "Authorization: Basic base64(name:secret)" gives
 * NIMBUS_CRED_NAMED, nothing gives NIMBUS_CRED_NONE. Decoded strings are
 * written into buf (bufsize bytes) and out points into it, so out is valid
 * while buf is. Returns 0, or -1 with UNAUTHENTICATED for a malformed
 * header.
 */
int nimbus_http_credentials(struct evhttp_request *req, nimbus_credentials_t *out, char *buf,
                            size_t bufsize, nimbus_error_t *err);

/* Host and port the client used to reach us ("Host" header, else the
 * listening address), for the WSDL's soap:address. Writes a NUL-terminated
 * "host:port" into buf. */
void nimbus_http_request_authority(nimbus_worker_t *w, struct evhttp_request *req, char *buf,
                                   size_t bufsize);

/* ---- entry points the server calls; each front-end implements its own --- */

/* SOAP binding (soap/). POST /soap and GET /soap?wsdl. The worker state
 * nimbus_soap_worker_new returns belongs to the server, which frees it with
 * nimbus_soap_worker_free after w's loop has ended; NULL with err. */
nimbus_soap_worker_t *nimbus_soap_worker_new(nimbus_worker_t *w, nimbus_error_t *err);
void nimbus_soap_worker_free(nimbus_soap_worker_t *soap);
void nimbus_soap_handle(nimbus_worker_t *w, struct evhttp_request *req);

/* REST routes (json_api/). Every path under /v1/ except /v1/stream. */
void nimbus_rest_handle(nimbus_worker_t *w, struct evhttp_request *req);

/* WebSocket endpoint and dashboard (json_api/). GET /v1/stream and GET /
 * with its static files. nimbus_stream_worker_new returns state the server
 * owns and frees with nimbus_stream_worker_free once every worker's loop
 * has ended (other workers' writes publish to it until then); NULL with
 * err. nimbus_stream_worker_shutdown closes every session with 1001 and is
 * called on the worker's thread before its loop ends. */
nimbus_stream_worker_t *nimbus_stream_worker_new(nimbus_worker_t *w, nimbus_error_t *err);
void nimbus_stream_worker_shutdown(nimbus_stream_worker_t *stream);
void nimbus_stream_worker_free(nimbus_stream_worker_t *stream);
void nimbus_stream_handle(nimbus_worker_t *w, struct evhttp_request *req);
void nimbus_dashboard_handle(nimbus_worker_t *w, struct evhttp_request *req);

#endif
