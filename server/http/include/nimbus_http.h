/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The HTTP host: what the server offers every protocol front-end (SOAP
 * binding, REST routes, stream, dashboard): the worker each request runs
 * on, the shared configuration, one way to send a response (which also
 * writes the access-log line) and one way to send an error as
 * problem+json, credentials taken from HTTP headers, query parsing, and the
 * header toolkit (media types, token lists, origin lists) so that every
 * front-end reads a header the same way, and what trusted proxies say of a
 * request (the client's address, the base URL to advertise: forwarded.c,
 * nimbus_forwarded.h). Front-ends include this and
 * json_api/json's nimbus_json.h, never each other.
 *
 * Threads: the server runs config.workers event loops, one per thread, each
 * with its own listening socket (SO_REUSEPORT), evhttp, SQLite connection
 * and per-protocol state. A request is handled entirely on the worker whose
 * loop accepted its connection; nothing in a nimbus_worker_t is touched by
 * another thread except where a field says so.
 */
#ifndef NIMBUS_HTTP_H
#define NIMBUS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "nimbus_forwarded.h"
#include "nimbus_log.h"
#include "nimbus_metrics.h"
#include "nimbus_render_cache.h"
#include "nimbus_service.h"
#include "nimbus_version.h"

#define NIMBUS_DEFAULT_LISTEN "127.0.0.1:8080"
#define NIMBUS_DEFAULT_DB "var/nimbus.db"
#define NIMBUS_DEFAULT_MAX_BODY (1024 * 1024)
#define NIMBUS_DEFAULT_MAX_WS_MESSAGE (1024 * 1024)
#define NIMBUS_DEFAULT_WS_QUEUE (4 * 1024 * 1024)
/* The connection guard's defaults (conn.c; --max-connections defaults to
 * the descriptor limit less 64). */
#define NIMBUS_DEFAULT_MAX_CONNECTIONS_PER_CLIENT 512
#define NIMBUS_DEFAULT_REQUEST_TIMEOUT_S 10
#define NIMBUS_DEFAULT_MIN_BODY_RATE 4096
#define NIMBUS_DEFAULT_IDLE_TIMEOUT_S 60
#define NIMBUS_DEFAULT_SHUTDOWN_GRACE_S 10
#define NIMBUS_DEFAULT_MAX_SUBSCRIPTIONS_PER_KEY 1000
/* Rendered answers each worker keeps (--render-cache). */
#define NIMBUS_DEFAULT_RENDER_CACHE (16 * 1024 * 1024)
/* A WebSocket idle this long is pinged; silent for two intervals, dropped
 * (--ws-ping-interval, within the bounds below). */
#define NIMBUS_DEFAULT_WS_PING_INTERVAL_MS 30000
#define NIMBUS_WS_PING_INTERVAL_MIN_MS 50
#define NIMBUS_WS_PING_INTERVAL_MAX_MS 3600000

/* SOAP message shape (soap_scan.c). The deepest legitimate request
 * (Envelope/Body/RecordObservations/observation/temperature, or
 * Envelope/Header/Security/UsernameToken/Password) is 5 deep; toolkits put
 * at most a handful of attributes on a tag and declare under a dozen
 * namespaces. The depth is capped because the scan keeps a count per open
 * element on its stack. */
#define NIMBUS_DEFAULT_SOAP_MAX_DEPTH 32
#define NIMBUS_SOAP_MAX_DEPTH_CAP 256
#define NIMBUS_DEFAULT_SOAP_MAX_ATTRIBUTES 32
#define NIMBUS_DEFAULT_SOAP_MAX_NAMESPACES 64

typedef struct nimbus_config {
    char listen_host[256]; /* "127.0.0.1", "::1", "0.0.0.0" */
    int listen_port;       /* 0: ephemeral; the chosen port is printed */
    int workers;           /* event loops (threads) */
    char db_path[4096];
    size_t max_body;                   /* request bodies above this: PAYLOAD_TOO_LARGE */
    size_t max_ws_message;             /* WebSocket messages above this: close 1009 */
    int soap_max_depth;                /* SOAP elements nested deeper: refused */
    int soap_max_attributes;           /* attributes on one SOAP start tag */
    int soap_max_namespaces;           /* SOAP namespace declarations in scope */
    size_t ws_queue_max;               /* bytes queued per WebSocket before it lags */
    long ws_ping_interval_ms;          /* keepalive ping after this much silence */
    long follow_poll_ms;               /* PostgreSQL: the follower's fallback poll; 0: default */
    size_t render_cache;               /* bytes of rendered answers per worker; 0 keeps none */
    size_t max_connections;            /* in all; 0: no limit */
    size_t max_connections_per_client; /* per client address; 0: no limit */
    long request_timeout_ms;           /* a request's time to arrive whole, from its first byte */
    size_t min_body_rate;              /* bytes/s that buy a slower request more time; 0: none */
    long idle_timeout_s;               /* a silent connection is closed after this */
    double rate;                       /* calls a second per key (or address); 0: no limit */
    double burst;                      /* calls a bucket holds; 0: one second's worth */
    size_t max_subscriptions_per_key;  /* stream subscriptions a key holds at once; 0: no limit */
    long shutdown_grace_s;             /* at a stop, the longest wait for answers in flight */
    long long retention_s;             /* observations kept this long; 0: all (-1: unset) */
    char tls_cert[4096];               /* PEM certificate (chain); "" : plain HTTP */
    char tls_key[4096];                /* PEM private key */
    bool demo;           /* seed stations if the database has none, feed observations */
    bool demo_force;     /* seed even when the database holds stations */
    bool open;           /* keyless server may listen beyond loopback */
    bool access_log;     /* one line per request in the log */
    char log_file[4096]; /* where lines go; "" : stderr */
    nimbus_log_format_t log_format;
    char cors_origins[1024]; /* comma-separated allowed origins for GET; "" none; "*" any */
    char static_dir[4096];   /* dashboard files (GET /) */
    char port_file[4096];    /* when set, the bound port is written here once listening */
    char config_file[4096];  /* --config: where the settings below came from too; "" none */
    char keys_file[4096];    /* --keys: the key file, read again at SIGHUP; "" none */
    /* --api-key NAME:SECRET:ROLE values (development keys), in order. */
    char api_keys[NIMBUS_KEYS_MAX][NIMBUS_KEY_NAME_MAX + NIMBUS_KEY_SECRET_MAX + 16];
    int api_key_count;
    long long soap_sunset;       /* --soap-sunset as Unix seconds; 0: none */
    long long soap_deprecated;   /* Deprecation's date: the start, or the sunset if earlier */
    char soap_sunset_link[1024]; /* --soap-sunset-link; "": this server's /migration */
    /* Behind proxies (forwarded.c): peers whose Forwarded and X-Forwarded-*
     * headers are believed (--trusted-proxy), and the base URL advertised
     * whatever the request says (--public-url, normalised; "" none). */
    nimbus_cidr_t trusted_proxies[NIMBUS_MAX_TRUSTED_PROXIES];
    size_t trusted_proxy_count;
    char public_url[NIMBUS_PUBLIC_URL_MAX];
} nimbus_config_t;

/* Event priorities of a worker's loop (event_base_priority_init). Every
 * event is NIMBUS_PRIORITY_NORMAL but the one that runs deferred writes:
 * reads are answered before the CPU goes to parsing writes, and a write
 * waits at most NIMBUS_DEFER_MAX_WAIT_US for it (nimbus_http_defer). */
#define NIMBUS_PRIORITIES 3
#define NIMBUS_PRIORITY_NORMAL 1
#define NIMBUS_PRIORITY_DEFERRED 2
#define NIMBUS_DEFER_MAX_WAIT_US 10000

typedef struct nimbus_worker nimbus_worker_t;

/* Handles a deferred request; start_us is when it arrived. */
typedef void (*nimbus_http_deferred_fn)(nimbus_worker_t *w, struct evhttp_request *req,
                                        uint64_t start_us);

typedef struct nimbus_deferred {
    struct nimbus_deferred *next;
    struct evhttp_request *req;
    nimbus_http_deferred_fn fn;
    uint64_t start_us;
} nimbus_deferred_t;

/* Connections of the whole server, counted per client address (conn.c);
 * shared by every worker. */
typedef struct nimbus_conn_table nimbus_conn_table_t;
nimbus_conn_table_t *nimbus_conn_table_new(void); /* NULL: out of memory */
void nimbus_conn_table_free(nimbus_conn_table_t *t);
size_t nimbus_conn_table_total(nimbus_conn_table_t *t);

/* One accepted connection as the guard sees it (conn.c). */
typedef struct nimbus_conn nimbus_conn_t;
LIST_HEAD(nimbus_conn_list, nimbus_conn);

/* TLS (tls.c): the server's certificate and key, shared by every worker. */
typedef struct nimbus_tls nimbus_tls_t;
struct ssl_st;
/* Reads cert (PEM, may hold the chain) and key. NULL with err
 * (INVALID_ARGUMENT naming the file and OpenSSL's reason). Free with
 * nimbus_tls_free after every worker stopped. */
nimbus_tls_t *nimbus_tls_new(const char *cert, const char *key, nimbus_error_t *err);
/* Reads the same files again and uses them for new connections; on failure
 * the old ones stay (-1 with err). Any thread. */
int nimbus_tls_reload(nimbus_tls_t *tls, nimbus_error_t *err);
/* A new SSL for one connection (the caller's; NULL when out of memory). */
struct ssl_st *nimbus_tls_ssl(nimbus_tls_t *tls);
void nimbus_tls_free(nimbus_tls_t *tls); /* NULL-safe */

typedef struct nimbus_server nimbus_server_t;
typedef struct nimbus_soap_worker nimbus_soap_worker_t;
typedef struct nimbus_stream_worker nimbus_stream_worker_t;

struct nimbus_worker {
    int index;
    struct event_base *base;
    struct evhttp *http;
    nimbus_core_t *core;
    nimbus_service_t *svc; /* this thread's connection */
    const nimbus_config_t *config;
    nimbus_server_t *server;        /* opaque to the front-ends */
    const char *authority;          /* "127.0.0.1:8080" as bound, for when no Host came */
    nimbus_soap_worker_t *soap;     /* owned by the SOAP binding */
    nimbus_stream_worker_t *stream; /* owned by the stream */
    /* Activated (from the writer's thread) when writes this worker queued
     * have finished; runs nimbus_service_run_completions on this thread. */
    struct event *writes_done;
    bool stopping;                       /* SIGTERM: answers say Connection: close */
    uint64_t stop_deadline_us;           /* --shutdown-grace from the stop */
    nimbus_render_cache_t *render_cache; /* this worker's rendered answers */
    /* Requests whose handling waits for a quiet moment (nimbus_http_defer),
     * oldest first, and the low-priority event that runs them. */
    nimbus_deferred_t *deferred_head, *deferred_tail;
    struct event *deferred_event;
    /* The connection guard (conn.c). */
    nimbus_conn_table_t *server_conns; /* the server's, shared */
    struct nimbus_conn_list conns;     /* this worker's */
    size_t conn_count;
    nimbus_conn_t **conn_hash; /* by evhttp connection */
    nimbus_conn_t *conn_last;  /* the last to start a request; NULL once released */
    size_t conn_hash_cap;
    struct event *conn_sweep;
    time_t accept_logged;
    nimbus_tls_t *tls; /* the server's, when it speaks TLS */
};

/* Hands req to fn later, when no request of normal priority is waiting, or
 * once it has waited NIMBUS_DEFER_MAX_WAIT_US (nimbus_http_run_overdue,
 * which dispatch calls first for every request): for writes, whose parsing
 * and checking is the costly part, so that reads are not queued behind
 * them. evhttp never frees a request that is waiting for its answer (it
 * reads nothing more from that connection). Runs fn at once when out of
 * memory. */
void nimbus_http_defer(nimbus_worker_t *w, struct evhttp_request *req, nimbus_http_deferred_fn fn,
                       uint64_t start_us);
/* Runs the deferred requests that have waited too long (all of them with
 * all true: at stop, before evhttp frees the connections). */
void nimbus_http_run_deferred(nimbus_worker_t *w, bool all);
/* The low-priority event's callback: one deferred request per call, so
 * that a request of normal priority never waits behind more than one. */
void nimbus_http_deferred_cb(evutil_socket_t fd, short what, void *arg);
/* Runs the oldest deferred request, if any, whatever waits: for work that
 * holds the loop for long in one callback (a fan-out), after which a
 * write should not wait for a quiet moment that may not come. */
void nimbus_http_run_deferred_next(nimbus_worker_t *w);

/* The connection guard (conn.c): counts and bounds every connection of
 * the worker's evhttp (bound: its listening socket) and times requests;
 * start after the socket is bound, stop after evhttp_free. 0 or -1 (out of
 * memory). */
int nimbus_http_conns_start(nimbus_worker_t *w, struct evhttp_bound_socket *bound);
void nimbus_http_conns_stop(nimbus_worker_t *w);
/* req arrived whole: its connection is not timed while it is answered. */
void nimbus_http_conn_request(nimbus_worker_t *w, struct evhttp_request *req);
/* Closes req's connection once its answer is sent, whatever evhttp would
 * do (it keeps a CONNECT request's connection open, for a tunnel we never
 * make, even when the client asked to close). */
void nimbus_http_conn_close_after(nimbus_worker_t *w, struct evhttp_request *req);
/* The owner of a taken-over connection (a WebSocket) is about to free it,
 * or evhttp told it so: uncount it now and let its memory go with it (the
 * guard's reference would keep it until its next sweep). */
void nimbus_http_conn_forget(nimbus_worker_t *w, struct evhttp_connection *evcon);
/* req's connection was taken over (a WebSocket): no more request timing;
 * it still counts towards the limits until it closes. */
void nimbus_http_conn_upgraded(nimbus_worker_t *w, struct evhttp_request *req);

/* Request ids. Every answer a request gets carries one in X-Request-Id, and
 * so do its access-log line, a problem+json body ("requestId") and a SOAP
 * Fault's detail (<requestId>), so that a user can quote it and an
 * operator find the line. A client (or a proxy in front) may choose it:
 * an X-Request-Id of 1 to NIMBUS_REQUEST_ID_MAX characters of A-Z a-z 0-9
 * '.' '_' '-' is kept; anything else is replaced by a new one (nothing a
 * client sends reaches a log line or a document unchecked).
 * NIMBUS_REQUEST_ID_MAX is in nimbus_service.h. */
bool nimbus_http_request_id_valid(const char *id);
/* Writes a new id into out (NIMBUS_REQUEST_ID_MAX + 1 bytes): 32 hex
 * digits, unique per process and thread and not showing how many requests
 * came before (see http.c); not a secret. Any thread. */
void nimbus_http_request_id_new(char *out);
/* The value of headers' first header called name (ASCII case-insensitive),
 * or NULL: evhttp_find_header, cheaper (see http.c). Points into headers. */
const char *nimbus_http_find_header(const struct evkeyvalq *headers, const char *name);
/* Gives req its id, the client's or a new one, as the X-Request-Id of its
 * answer. The server calls it first for every request. */
void nimbus_http_request_begin(struct evhttp_request *req);
/* req's id (valid while req is), "-" when it has none. */
const char *nimbus_http_request_id(struct evhttp_request *req);

/* Per-request facts for the access-log line and the metrics
 * (nimbus_metrics.h), which nimbus_http_reply counts for "soap", "rest"
 * and "ws". `protocol` is "soap", "rest", "ws" or "http"; `operation` the
 * contract's name or "-" (both static strings); start_us from
 * nimbus_now_us() when the request arrived. The rest may stay zero. */
typedef struct nimbus_request_log {
    const char *protocol;
    const char *operation;
    uint64_t start_us;
    /* The caller's key, once the core authenticated it
     * (nimbus_core_admit_as); "" (logged as "-") for an open server or no
     * valid key. */
    char key[NIMBUS_KEY_NAME_MAX + 1];
    /* For lines written without the request (nimbus_access_log): its id.
     * A line written with the request takes the request's own. */
    char request_id[NIMBUS_REQUEST_ID_MAX + 1];
    /* The error answered, when the status alone does not say (a SOAP
     * Fault); nimbus_http_reply_problem sets it. NIMBUS_OK: read from the
     * status. */
    nimbus_code_t code;
    bool soap12; /* a SOAP 1.2 request (else 1.1) */
} nimbus_request_log_t;

/* A nimbus_request_log_t with the rest empty: designated, so that a field
 * added later needs no edit where one is made. */
#define NIMBUS_REQUEST_LOG(proto, op, start)                                                       \
    ((nimbus_request_log_t){.protocol = (proto), .operation = (op), .start_us = (start)})

/* Monotonic microseconds. */
uint64_t nimbus_now_us(void);

/* Parses a URI query string into out (free with evhttp_clear_headers after
 * a 0 return; nothing to free after -1), decoding with
 * nimbus_http_uri_decode: a malformed %-escape is refused (evhttp would
 * keep "%zz" as three characters, so "?city=%zz" would look for a city of
 * that name), and so is an encoded NUL, which would cut a C string short
 * ("access_token=secret%00x" read as "secret"); no value of the API holds
 * NUL. So is a line break (%0A, %0D), which evhttp's header list would
 * drop silently ("?city=a%0Ab" would then list every city). Returns 0, or
 * -1 with INVALID_ARGUMENT naming the parameter (INTERNAL when out of
 * memory). */
int nimbus_http_parse_query(const char *query, struct evkeyvalq *out, nimbus_error_t *err);

/* "https" on a TLS port, else "http": the connection's own scheme. */
const char *nimbus_http_scheme(const nimbus_worker_t *w);

/* The peer's address as text ("127.0.0.1", "::1"), owned by evhttp and
 * valid while req is; "?" when unknown. That is the client only when no
 * trusted proxy stands between: see nimbus_http_client. */
const char *nimbus_http_peer(struct evhttp_request *req);

/* ---- behind proxies (forwarded.c) ------------------------------------- */

/* The request as its client made it: nimbus_forwarded_read on req's
 * headers and peer with the configured --trusted-proxy networks, and
 * out->scheme set to the connection's own when no trusted proxy said. */
void nimbus_http_forwarded(const nimbus_worker_t *w, struct evhttp_request *req,
                           nimbus_forwarded_t *out);

/* The client's address as text (the peer's, or what a trusted proxy said
 * of it) into buf (size bytes, NIMBUS_FORWARDED_CLIENT_MAX will do), which
 * it returns: the subject of rate limits on a server without keys, and the
 * client of the access log. */
const char *nimbus_http_client(const nimbus_worker_t *w, struct evhttp_request *req, char *buf,
                               size_t size);

/* The base URL the server advertises to this client, without a trailing
 * slash, into buf (size bytes): --public-url when given; else the scheme
 * and host the client used (a trusted proxy's word, else the connection's
 * scheme and the Host header, when well-formed), else the listening
 * address. What the WSDL's soap:address, OpenAPI's servers and Location
 * headers start with. */
void nimbus_http_base_url(const nimbus_worker_t *w, struct evhttp_request *req, char *buf,
                          size_t size);

/* Percent-decodes len bytes of raw into out (size bytes, NUL-terminated),
 * '+' as a space when plus_is_space (query strings). Strict: returns the
 * decoded length, -1 for a malformed escape ("%zz", a cut-off "%4"), -2 for
 * an encoded NUL, -3 when out is too small. */
int nimbus_http_uri_decode(const char *raw, size_t len, bool plus_is_space, char *out, size_t size);

/* The request method's name ("GET"; "?" for one evhttp has no name for). */
const char *nimbus_http_method_name(enum evhttp_cmd_type cmd);

/* Sends status and body (may be NULL; its contents are drained) as the reply
 * to req, with Content-Length, and writes the access-log line. Headers set
 * on evhttp_request_get_output_headers(req) before the call are kept. To a
 * HEAD request it sends the Content-Length of body but not body itself, so
 * a HEAD handler may build the same body as for GET. */
void nimbus_http_reply(nimbus_worker_t *w, struct evhttp_request *req, int status,
                       struct evbuffer *body, const nimbus_request_log_t *log);

/* As nimbus_http_reply, with len bytes at data lent as the body without a
 * copy: cleanup(data, len, arg) runs once they are sent (or at once, when
 * the answer cannot be made: a bare 500 then). content_type NULL sets
 * none. For bytes kept elsewhere, e.g. a rendered answer. */
void nimbus_http_reply_lent(nimbus_worker_t *w, struct evhttp_request *req, int status,
                            const char *content_type, const void *data, size_t len,
                            void (*cleanup)(const void *data, size_t len, void *arg), void *arg,
                            const nimbus_request_log_t *log);

/* As nimbus_http_reply, with a body taken over whole: `data` (len bytes of
 * heap memory, e.g. from nimbus_json_writer_steal) becomes the body without
 * a copy and is freed once sent. data NULL means building the body ran out
 * of memory: the answer is then a bare 500. content_type NULL sets none. */
void nimbus_http_reply_owned(nimbus_worker_t *w, struct evhttp_request *req, int status,
                             const char *content_type, char *data, size_t len,
                             const nimbus_request_log_t *log);

/* Answers req with status and err as application/problem+json (rendered
 * by json_api/json's one renderer), so that every HTTP error outside SOAP
 * Faults reads the same: REST, health checks, the dashboard, refused
 * WebSocket upgrades. status 0 means the code's own; 405, 415 and 426 are
 * sent as such (the contract's codes have no status of their own for them).
 * Adds Cache-Control: no-store, WWW-Authenticate for UNAUTHENTICATED and
 * Retry-After for 503. */
void nimbus_http_reply_problem(nimbus_worker_t *w, struct evhttp_request *req, int status,
                               const nimbus_error_t *err, const nimbus_request_log_t *log);

/* With --soap-sunset: adds Deprecation (RFC 9745), Sunset (RFC 8594) and
 * Link rel="deprecation" and rel="sunset" to the migration guide to req's
 * answer; nothing otherwise. The SOAP binding calls it for every answer. */
void nimbus_http_add_sunset(nimbus_worker_t *w, struct evhttp_request *req);

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

/* ---- headers ---------------------------------------------------------- */

/* A Content-Type value split up (RFC 9110 8.3.1): the media type and the
 * charset parameter, pointing into the header (not NUL-terminated). */
typedef struct nimbus_media_type {
    const char *type; /* "application/json"; "" when the header is absent */
    size_t type_len;
    const char *charset; /* the value without quotes; NULL when not given */
    size_t charset_len;
} nimbus_media_type_t;

/* Splits value (may be NULL) into *out. Parameters are split at ';' outside
 * quoted strings, so an action="...;charset=..." URI is not taken for a
 * charset. */
void nimbus_http_media_type(const char *value, nimbus_media_type_t *out);

/* true when mt's media type is `type` (ASCII case-insensitive). */
bool nimbus_http_media_type_is(const nimbus_media_type_t *mt, const char *type);

/* true when mt names no charset or UTF-8. */
bool nimbus_http_charset_is_utf8(const nimbus_media_type_t *mt);

/* true when the comma-separated header value lists token (ASCII
 * case-insensitive, surrounding blanks ignored). NULL value: false. */
bool nimbus_http_has_token(const char *value, const char *token);

/* true when origin is in the comma-separated list of origins given to
 * --cors-origin, or the list is "*". Origins compare ASCII
 * case-insensitively (scheme and host are case-insensitive, RFC 6454), as
 * CORS and the stream's Origin check both need. */
bool nimbus_http_origin_listed(const char *list, const char *origin);

#endif
