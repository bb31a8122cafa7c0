/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The server: N worker threads, each running its own libevent loop with its
 * own evhttp, its own listening socket on the shared port (SO_REUSEPORT, so
 * the kernel spreads connections evenly; one shared socket sent whole bursts
 * to a single loop), its own SQLite connection and its own per-protocol
 * state. Requests are dispatched by path to the SOAP binding, the REST
 * routes or the WebSocket endpoint.
 *
 * Shutdown: the main thread blocks SIGINT/SIGTERM in every thread and waits
 * for them with sigwait, so no handler runs on a worker. On a signal it
 * activates each worker's stop event (thread-safe: evthread_use_pthreads);
 * the worker closes its WebSocket sessions with 1001, stops accepting, and
 * leaves its loop after a short grace period so close frames and in-flight
 * replies are flushed. Every acknowledged write is already committed, so
 * stopping loses nothing. The signals are blocked from the first line of
 * nimbus__server_run, so a stop during start-up is a clean stop once the
 * workers run; a second signal during the stop ends the process at once.
 *
 * SIGHUP reloads what can change under a running server (the log file,
 * the key file, the TLS certificate) and never stops it or drops a
 * connection; a reload that fails keeps what was
 * loaded and says why.
 *
 * A service manager is told (notify.h) when every worker listens, around a
 * reload and when a stop begins.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sys/file.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/thread.h>

#include <openssl/crypto.h>

#include "nimbus_json.h"
#include "notify.h"
#include "server_internal.h"

/* The least time a stopping worker keeps running to flush replies and
 * close frames, and how often it then looks whether writes the writer
 * still runs are answered (up to --shutdown-grace). */
#define NIMBUS_SHUTDOWN_FLUSH_MS 300
#define NIMBUS_SHUTDOWN_POLL_MS 50

/* GET /healthz: alive (cheap: no storage touched). GET /readyz: 200 when
 * this server should get traffic, 503 naming what is not ready (storage
 * failing its writes, or shutting down), for load balancers and
 * orchestrators. */
static void health_handle(nimbus_worker_t *w, struct evhttp_request *req, bool readiness)
{
    nimbus_request_log_t log =
        NIMBUS_REQUEST_LOG("http", readiness ? "Ready" : "Health", nimbus_now_us());
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "%s answers GET and HEAD",
                         readiness ? "/readyz" : "/healthz");
        evhttp_add_header(out, "Allow", "GET, HEAD");
        nimbus_http_reply_problem(w, req, 405, &err, &log);
        return;
    }
    char storage[NIMBUS_ERROR_MESSAGE_MAX] = "";
    bool storage_ok = !readiness || nimbus_core_storage_ok(w->core, storage, sizeof storage);
    bool ready = storage_ok && !w->stopping;
    nimbus_json_writer_t jw;
    nimbus_json_writer_init(&jw);
    nimbus_json_object_begin(&jw);
    nimbus_json_member_string(&jw, "status", readiness ? (ready ? "ready" : "not ready") : "ok");
    nimbus_json_member_string(&jw, "version", NIMBUS_VERSION);
    nimbus_json_member_int(&jw, "seq", nimbus_core_head_seq(w->core));
    if (readiness && !ready) {
        nimbus_json_key(&jw, "notReady");
        nimbus_json_array_begin(&jw);
        if (!storage_ok) {
            nimbus_json_string(&jw, storage);
        }
        if (w->stopping) {
            nimbus_json_string(&jw, "shutting down");
        }
        nimbus_json_array_end(&jw);
    }
    nimbus_json_object_end(&jw);
    nimbus_json_raw(&jw, "\n", 1);
    size_t len = 0;
    char *text = nimbus_json_writer_steal(&jw, &len);
    evhttp_add_header(out, "Cache-Control", "no-store");
    nimbus_http_reply_owned(w, req, readiness && !ready ? 503 : 200, "application/json", text, len,
                            &log);
}

static void dispatch(struct evhttp_request *req, void *arg)
{
    nimbus_worker_t *w = arg;
    nimbus_http_request_begin(req);
    nimbus_http_conn_request(w, req);
    /* CONNECT is answered (404/405 problem+json, like any method a path
     * does not have) and its connection closed after: evhttp would keep it
     * open for a tunnel. */
    if (evhttp_request_get_command(req) == EVHTTP_REQ_CONNECT) {
        nimbus_http_conn_close_after(w, req);
    }
    /* Writes that waited long enough for quiet go first. */
    nimbus_http_run_deferred(w, false);
    const char *uri = evhttp_request_get_uri(req);
    const struct evhttp_uri *parsed = evhttp_request_get_evhttp_uri(req);
    const char *path = parsed ? evhttp_uri_get_path(parsed) : NULL;
    if (!path || !*path) {
        path = uri && *uri ? uri : "/";
    }

    /* Most requests are REST's: the /v1/ prefix is tested first, by hand,
     * and the stream's two paths under it before the rest. */
    bool v1 = path[0] == '/' && path[1] == 'v' && path[2] == '1' && path[3] == '/';
    if (v1 && strcmp(path + 4, "stream") == 0) {
        /* An accepted upgrade puts the stream's callbacks on the connection
         * (a refusal is answered like any request, which leaves evhttp's
         * own or none): from then on the stream times it. */
        struct bufferevent *bev =
            evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
        bufferevent_data_cb before = NULL, after = NULL;
        bufferevent_getcb(bev, &before, NULL, NULL, NULL);
        nimbus_stream_handle(w, req);
        bufferevent_getcb(bev, &after, NULL, NULL, NULL);
        if (after && after != before) {
            nimbus_http_conn_upgraded(w, req);
        }
    } else if (v1 && strcmp(path + 4, "asyncapi.json") == 0) {
        nimbus_stream_asyncapi_handle(w, req); /* the stream's document is the stream's */
    } else if (v1 || strcmp(path, "/v1") == 0) {
        nimbus_rest_handle(w, req);
    } else if (strcmp(path, "/soap") == 0) {
        nimbus_soap_handle(w, req);
    } else if (strcmp(path, "/metrics") == 0 || strcmp(path, "/metrics/clients") == 0 ||
               strcmp(path, "/migration") == 0) {
        nimbus__metrics_handle(w, req, path);
    } else if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0) {
        health_handle(w, req, path[1] == 'r');
    } else if (strcmp(path, "/") == 0 || strncmp(path, "/static/", 8) == 0 ||
               strcmp(path, "/favicon.ico") == 0) {
        nimbus_dashboard_handle(w, req);
    } else {
        nimbus_rest_handle(w, req); /* answers 404 problem+json */
    }
}

/* The writer's thread says writes of this worker finished: answer them. */
static void wake_worker(void *arg)
{
    nimbus_worker_t *w = arg;
    event_active(w->writes_done, EV_READ, 0);
}

static void writes_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_worker_t *w = arg;
    nimbus_service_run_completions(w->svc);
}

static void stop_grace_elapsed(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_worker_t *w = arg;
    /* A write the writer still runs will be answered: its reply (and the
     * evhttp request it belongs to) must outlive the loop. The writer
     * finishes every queued write, so this waits for storage only. */
    nimbus_http_run_deferred(w, true);
    /* ... and so do WebSocket sessions still sending what was queued for
     * them before their 1001 close frame (a subscriber's backlog). */
    if ((nimbus_service_pending(w->svc) > 0 || nimbus_stream_worker_open(w->stream) > 0) &&
        nimbus_now_us() < w->stop_deadline_us) {
        struct timeval again = {0, NIMBUS_SHUTDOWN_POLL_MS * 1000};
        if (event_base_once(w->base, -1, EV_TIMEOUT, stop_grace_elapsed, w, &again) == 0) {
            return;
        }
    }
    if (nimbus_service_pending(w->svc) > 0) {
        nimbus_log(NIMBUS_LOG_WARN,
                   "worker %d stops with %zu writes unanswered after --shutdown-grace "
                   "(they commit, or not, as the writer finishes; their clients may retry)",
                   w->index, nimbus_service_pending(w->svc));
    }
    event_base_loopbreak(w->base);
}

static void stop_requested(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    nimbus_worker_t *w = arg;
    w->stopping = true;
    w->stop_deadline_us = nimbus_now_us() + (uint64_t)w->config->shutdown_grace_s * 1000000u;
    if (w->index == 0 && w->server->demo) {
        nimbus__demo_stop(w->server->demo);
        w->server->demo = NULL;
    }
    /* Writes still waiting to be parsed go to the writer now, so the
     * grace period below waits for them like for any other write. */
    nimbus_http_run_deferred(w, true);
    /* No new connections; sessions get their 1001 close frames. */
    if (w->server->bound[w->index]) {
        evhttp_del_accept_socket(w->http, w->server->bound[w->index]);
        w->server->bound[w->index] = NULL;
    }
    if (w->stream) {
        nimbus_stream_worker_shutdown(w->stream);
    }
    struct timeval grace = {0, NIMBUS_SHUTDOWN_FLUSH_MS * 1000};
    if (event_base_once(w->base, -1, EV_TIMEOUT, stop_grace_elapsed, w, &grace) != 0) {
        /* Without the timer nothing would ever end this loop (open
         * connections keep it busy) and the stop would hang: skip the
         * grace period rather than never stop. */
        event_base_loopbreak(w->base);
    }
}

static void *worker_main(void *arg)
{
    nimbus_worker_t *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

/* Binds and listens on host:port with SO_REUSEPORT; TCP_NODELAY on the
 * listening socket is inherited by accepted ones (evhttp never sets it, and
 * without it responses over ~38 KB stall 40 ms on delayed ACKs). */
/* True when something already listens on host:port: a socket bound there
 * without SO_REUSEPORT fails. Without this probe a second nimbus (same
 * user, SO_REUSEPORT too) would quietly share the port and half the
 * traffic. */
static bool address_taken(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bool taken = bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

static int listen_socket(const char *host, int port, int *bound_port, bool first)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    int rc = getaddrinfo(host, portbuf, &hints, &res);
    if (rc != 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "cannot resolve listen address %s: %s", host,
                   gai_strerror(rc));
        return -1;
    }
    if (first && port != 0 && address_taken(res)) {
        nimbus_log(NIMBUS_LOG_ERROR, "cannot listen on %s:%d: address already in use", host, port);
        freeaddrinfo(res);
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        goto fail;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        goto fail;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        goto fail;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        goto fail;
    }
    *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                 : ((struct sockaddr_in *)&ss)->sin_port);
    freeaddrinfo(res);
    return fd;
fail:
    nimbus_log(NIMBUS_LOG_ERROR, "cannot listen on %s:%d: %s", host, port, strerror(errno));
    if (fd >= 0) {
        close(fd);
    }
    freeaddrinfo(res);
    return -1;
}

/* One server per database: an exclusive flock on "<db>.lock", held until
 * exit, with the holder's pid in it for the message. (Not a lock on the
 * database file itself: SQLite's own locks there are POSIX locks, which a
 * second descriptor of the same file would release on close.) Returns the
 * descriptor, or -1 after saying why. */
static int lock_database(const char *db_path)
{
    char path[4200];
    snprintf(path, sizeof path, "%s.lock", db_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        nimbus_log(NIMBUS_LOG_ERROR,
                   "database %s is in use by another nimbus%s%s%s; one server per "
                   "database",
                   db_path, *pid ? " (pid " : "", pid, *pid ? ")" : "");
        close(fd);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
        /* the lock holds without the pid; the message just lacks it */
    }
    return fd;
}

/* SIGHUP: what a running server can take again. The log file first, so
 * that what the rest says lands in the new one (logrotate renamed the old
 * one before it sent the signal). */
static void reload(nimbus_server_t *s)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    if (*s->config.log_file) {
        if (nimbus_log_reopen(&err) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "SIGHUP: keeping the log file in use: %s", err.message);
        } else {
            nimbus_log(NIMBUS_LOG_INFO, "SIGHUP: log file %s opened again", s->config.log_file);
        }
    }
    if (*s->config.keys_file) {
        size_t count = 0;
        if (nimbus_core_load_key_file(s->core, s->config.keys_file, &count, &err) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "SIGHUP: keeping the API keys in use: %s", err.message);
        } else {
            nimbus_log(NIMBUS_LOG_INFO, "SIGHUP: key file %s read again: %zu key%s in it",
                       s->config.keys_file, count, count == 1 ? "" : "s");
        }
    }
    if (!s->tls) {
        if (!*s->config.log_file && !*s->config.keys_file) {
            nimbus_log(NIMBUS_LOG_INFO, "SIGHUP received: nothing to reload");
        }
        return;
    }
    if (nimbus_tls_reload(s->tls, &err) != 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "SIGHUP: keeping the TLS certificate in use: %s", err.message);
        return;
    }
    nimbus_log(NIMBUS_LOG_INFO, "SIGHUP: TLS certificate and key read again from %s",
               s->config.tls_cert);
}

/* The one start-up line: what this server is and every limit it runs
 * with, by the options' names, so an operator reads the effective
 * configuration (defaults, file and command line together) in one place. */
static void log_started(const nimbus_server_t *s, bool keys, long long keep_s, double burst,
                        const char *db_label)
{
    const nimbus_config_t *c = &s->config;
    char listen[320];
    snprintf(listen, sizeof listen, "%s://%s", s->tls ? "https" : "http", s->authority);
    const nimbus_log_field_t fields[] = {
        NIMBUS_LOG_STR("version", NIMBUS_VERSION),
        NIMBUS_LOG_STR("listen", listen),
        NIMBUS_LOG_NUM("workers", s->worker_count),
        NIMBUS_LOG_STR("db", db_label), /* a URI's password left out */
        NIMBUS_LOG_STR("access", keys ? "keys" : "open"),
        NIMBUS_LOG_NUM("keys", nimbus_core_key_count(s->core)),
        NIMBUS_LOG_STR("key-file", *c->keys_file ? c->keys_file : "-"),
        NIMBUS_LOG_STR("config", *c->config_file ? c->config_file : "-"),
        NIMBUS_LOG_NUM("max-body", c->max_body),
        NIMBUS_LOG_NUM("max-ws-message", c->max_ws_message),
        NIMBUS_LOG_NUM("ws-queue", c->ws_queue_max),
        NIMBUS_LOG_NUM("max-connections", c->max_connections),
        NIMBUS_LOG_NUM("max-connections-per-client", c->max_connections_per_client),
        NIMBUS_LOG_NUM("request-timeout", c->request_timeout_ms / 1000),
        NIMBUS_LOG_NUM("min-body-rate", c->min_body_rate),
        NIMBUS_LOG_NUM("idle-timeout", c->idle_timeout_s),
        NIMBUS_LOG_REAL("rate", c->rate),
        NIMBUS_LOG_REAL("burst", burst),
        NIMBUS_LOG_NUM("max-subscriptions-per-key", c->max_subscriptions_per_key),
        NIMBUS_LOG_NUM("retention", keep_s),
        NIMBUS_LOG_NUM("render-cache", c->render_cache),
        NIMBUS_LOG_NUM("ws-ping-interval", c->ws_ping_interval_ms),
        NIMBUS_LOG_NUM("shutdown-grace", c->shutdown_grace_s),
    };
    nimbus_log_fields(NIMBUS_LOG_INFO, "started", fields, sizeof fields / sizeof fields[0]);
}

static bool host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1) {
        return (ntohl(a4.s_addr) >> 24) == 127;
    }
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        return IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return strcmp(host, "localhost") == 0;
}

static int worker_init(nimbus_server_t *s, nimbus_worker_t *w, int index, int fd,
                       nimbus_error_t *err)
{
    w->index = index;
    w->server = s;
    w->authority = s->authority;
    w->core = s->core;
    w->config = &s->config;
    struct event_config *cfg = event_config_new();
    if (!cfg) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    /* Halves evhttp's epoll_ctl calls per request (~+20% requests/s). */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    /* A deferred write runs one at a time: the loop looks for reads
     * between any two (nimbus_http_defer). */
    event_config_set_max_dispatch_interval(cfg, NULL, 1, NIMBUS_PRIORITY_DEFERRED);
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!w->base || event_base_priority_init(w->base, NIMBUS_PRIORITIES) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create an event loop");
    }
    w->deferred_event = event_new(w->base, -1, 0, nimbus_http_deferred_cb, w);
    if (!w->deferred_event ||
        event_priority_set(w->deferred_event, NIMBUS_PRIORITY_DEFERRED) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    w->http = evhttp_new(w->base);
    if (!w->http) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create an HTTP server");
    }
    size_t cap = s->config.max_body * NIMBUS_BODY_READ_FACTOR;
    evhttp_set_max_body_size(w->http, (ev_ssize_t)cap);
    evhttp_set_max_headers_size(w->http, NIMBUS_MAX_HEADERS_SIZE);
    evhttp_set_timeout(w->http, (int)s->config.idle_timeout_s);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
                                            EVHTTP_REQ_CONNECT | EVHTTP_REQ_TRACE);
    /* Read out the rest of an oversized body before answering, so the
     * client sees the 413 instead of a reset. */
    evhttp_set_flags(w->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(w->http, dispatch, w);
    s->bound[index] = evhttp_accept_socket_with_handle(w->http, fd);
    if (!s->bound[index]) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot accept on the listening socket");
    }
    w->server_conns = s->conns;
    w->tls = s->tls;
    if (nimbus_http_conns_start(w, s->bound[index]) != 0) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    s->listen_fds[index] = -1; /* evhttp owns it now */
    w->svc = nimbus_service_new(s->core, err);
    if (!w->svc) {
        return -1;
    }
    w->writes_done = event_new(w->base, -1, 0, writes_done, w);
    if (!w->writes_done) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    nimbus_service_set_wake(w->svc, wake_worker, w);
    w->render_cache = nimbus_render_cache_new(s->config.render_cache);
    if (!w->render_cache) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    w->soap = nimbus_soap_worker_new(w, err);
    if (!w->soap) {
        return -1;
    }
    w->stream = nimbus_stream_worker_new(w, err);
    if (!w->stream) {
        return -1;
    }
    return 0;
}

static void worker_cleanup(nimbus_worker_t *w)
{
    if (w->stream) {
        nimbus_stream_worker_free(w->stream);
    }
    /* Requests still deferred belong to connections evhttp_free frees. */
    while (w->deferred_head) {
        nimbus_deferred_t *d = w->deferred_head;
        w->deferred_head = d->next;
        free(d);
    }
    if (w->deferred_event) {
        event_free(w->deferred_event);
    }
    if (w->http) {
        evhttp_free(w->http);
    }
    nimbus_http_conns_stop(w);
    if (w->soap) {
        nimbus_soap_worker_free(w->soap);
    }
    nimbus_service_free(w->svc);
    /* After evhttp_free: answers lent to connections' buffers are back. */
    nimbus_render_cache_free(w->render_cache);
    if (w->writes_done) {
        event_free(w->writes_done);
    }
    if (w->base) {
        event_base_free(w->base);
    }
    memset(w, 0, sizeof *w);
}

static int write_port_file(const char *path, int port)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        return -1;
    }
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0) {
        return -1;
    }
    /* rename: a reader never sees a half-written number. */
    return rename(tmp, path);
}

int nimbus__server_run(nimbus_config_t *config)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    int exit_code = 1;
    int started = 0;
    struct event **stop_events = NULL;
    nimbus_server_t *s = calloc(1, sizeof *s);
    if (!s) {
        nimbus_log(NIMBUS_LOG_ERROR, "out of memory");
        return 1;
    }
    /* Before anything else is said, so that all of it goes there. */
    if (nimbus_log_open(config->log_file, config->log_format, &err) != 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "%s", err.message);
        free(s);
        return 1;
    }
    s->config = *config;
    s->worker_count = config->workers;
    s->db_lock = -1;
    s->conns = nimbus_conn_table_new();
    if (!s->conns) {
        nimbus_log(NIMBUS_LOG_ERROR, "out of memory");
        free(s);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    /* Blocked from the start, not just before the threads: a stop asked for
     * while the database opens or the demo seeds is then held and honoured
     * by sigwait below as a clean stop, instead of killing the process
     * halfway through start-up. Workers inherit this mask. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    /* libevent's own allocations through malloc rather than calloc: in a
     * process with threads glibc's calloc takes the arena lock and skips
     * the per-thread cache on every call, and evhttp makes ~15 of them per
     * request (its request, header and buffer chunks). libevent then zeroes
     * with memset. 5% fewer instructions per cached read (callgrind,
     * docs/performance.md). The same libc allocator: nothing allocated
     * before this call is freed any differently. */
    event_set_mem_functions(malloc, realloc, free);
    if (evthread_use_pthreads() != 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "libevent has no thread support");
        goto done;
    }
    char db_label[512];
    nimbus_store_label(config->db_path, db_label, sizeof db_label);
    s->core = nimbus_core_open(config->db_path, &err);
    if (!s->core) {
        nimbus_log(NIMBUS_LOG_ERROR, "cannot open database %s: %s", db_label, err.message);
        goto done;
    }
    /* A SQLite file is this server's alone; a PostgreSQL database is
     * shared by every node on it, by design (docs/scaling.md). */
    if (!nimbus_core_shared(s->core)) {
        s->db_lock = lock_database(config->db_path);
        if (s->db_lock < 0) {
            goto done;
        }
    }
    /* The key file first: a --api-key whose secret is a file key's too is
     * then refused. */
    size_t file_keys = 0;
    if (*config->keys_file) {
        if (nimbus_core_load_key_file(s->core, config->keys_file, &file_keys, &err) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "--keys: %s", err.message);
            goto done;
        }
        if (file_keys == 0) {
            nimbus_log(NIMBUS_LOG_WARN,
                       "key file %s holds no keys: every call is refused until one is added "
                       "(nimbus keys add NAME ROLE --keys %s, then SIGHUP)",
                       config->keys_file, config->keys_file);
        }
    }
    for (int i = 0; i < config->api_key_count; i++) {
        if (nimbus_core_add_key(s->core, config->api_keys[i], &err) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "--api-key: %s", err.message);
            goto done;
        }
    }
    /* The core keeps hashes only: the secrets go. */
    OPENSSL_cleanse(config->api_keys, sizeof config->api_keys);
    OPENSSL_cleanse(s->config.api_keys, sizeof s->config.api_keys);
    if (*config->tls_cert) {
        s->tls = nimbus_tls_new(config->tls_cert, config->tls_key, &err);
        if (!s->tls) {
            nimbus_log(NIMBUS_LOG_ERROR, "TLS: %s", err.message);
            goto done;
        }
    }
    /* The demo feeds observations for ever: it keeps three days unless told
     * otherwise. */
    long long keep = config->retention_s >= 0 ? config->retention_s
                     : config->demo           ? 3LL * 86400
                                              : 0;
    nimbus_core_set_retention(s->core, keep);
    if (config->follow_poll_ms > 0) {
        nimbus_core_set_follow_poll(s->core, config->follow_poll_ms);
    }
    nimbus_core_set_subscription_limit(s->core, config->max_subscriptions_per_key);
    double burst = config->burst > 0 ? config->burst : (config->rate > 1 ? config->rate : 1);
    if (nimbus_core_set_rate(s->core, config->rate, burst, &err) != 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "--rate: %s", err.message);
        goto done;
    }
    bool keys_required = nimbus_core_keys_required(s->core);
    if (!keys_required && !config->open && !host_is_loopback(config->listen_host)) {
        nimbus_log(NIMBUS_LOG_ERROR,
                   "refusing to listen on %s without API keys; add --keys FILE (made by "
                   "nimbus keys add), or --open if the server is meant to be open to everyone",
                   config->listen_host);
        goto done;
    }
    bool demo_feed = false;
    if (config->demo && nimbus__demo_seed(s->core, config->demo_force, &demo_feed, &err) != 0) {
        nimbus_log(NIMBUS_LOG_ERROR, "demo data: %s", err.message);
        goto done;
    }

    s->workers = calloc((size_t)s->worker_count, sizeof *s->workers);
    s->threads = calloc((size_t)s->worker_count, sizeof *s->threads);
    s->listen_fds = calloc((size_t)s->worker_count, sizeof *s->listen_fds);
    s->bound = calloc((size_t)s->worker_count, sizeof *s->bound);
    stop_events = calloc((size_t)s->worker_count, sizeof *stop_events);
    if (!s->workers || !s->threads || !s->listen_fds || !s->bound || !stop_events) {
        nimbus_log(NIMBUS_LOG_ERROR, "out of memory");
        goto done;
    }
    for (int i = 0; i < s->worker_count; i++) {
        s->listen_fds[i] = -1;
    }
    /* The first socket picks the port (maybe ephemeral); the rest join it. */
    int port = config->listen_port;
    for (int i = 0; i < s->worker_count; i++) {
        s->listen_fds[i] = listen_socket(config->listen_host, port, &s->bound_port, i == 0);
        if (s->listen_fds[i] < 0) {
            goto done;
        }
        port = s->bound_port;
    }
    if (strchr(config->listen_host, ':')) {
        snprintf(s->authority, sizeof s->authority, "[%s]:%d", config->listen_host, s->bound_port);
    } else {
        snprintf(s->authority, sizeof s->authority, "%s:%d", config->listen_host, s->bound_port);
    }

    for (int i = 0; i < s->worker_count; i++) {
        if (worker_init(s, &s->workers[i], i, s->listen_fds[i], &err) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "worker %d: %s", i, err.message);
            goto done;
        }
        stop_events[i] = event_new(s->workers[i].base, -1, 0, stop_requested, &s->workers[i]);
        if (!stop_events[i]) {
            nimbus_log(NIMBUS_LOG_ERROR, "out of memory");
            goto done;
        }
    }
    if (demo_feed) {
        s->demo = nimbus__demo_start(&s->workers[0], &err);
        if (!s->demo) {
            nimbus_log(NIMBUS_LOG_ERROR, "demo feeder: %s", err.message);
            goto done;
        }
    }

    for (; started < s->worker_count; started++) {
        if (pthread_create(&s->threads[started], NULL, worker_main, &s->workers[started]) != 0) {
            nimbus_log(NIMBUS_LOG_ERROR, "cannot start worker thread");
            break;
        }
    }
    if (started == s->worker_count) {
        if (config->port_file[0] && write_port_file(config->port_file, s->bound_port) != 0) {
            nimbus_log(NIMBUS_LOG_WARN, "cannot write port file %s: %s", config->port_file,
                       strerror(errno));
        }
        log_started(s, keys_required, keep, burst, db_label);
        /* Every worker's socket listens (connections queue until its loop
         * takes them): systemd may start what waits for us. */
        char url[320];
        snprintf(url, sizeof url, "%s://%s", s->tls ? "https" : "http", s->authority);
        nimbus__notify_ready(url, s->worker_count);
        int sig = 0;
        for (;;) {
            if (sigwait(&stop_signals, &sig) != 0) {
                continue;
            }
            if (sig != SIGHUP) {
                break;
            }
            nimbus__notify_reloading();
            reload(s);
            nimbus__notify_ready(url, s->worker_count);
        }
        nimbus__notify_stopping();
        nimbus_log(NIMBUS_LOG_INFO, "%s received, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
        exit_code = 0;
        /* A second signal stops at once (the default action), should a
         * worker fail to leave its loop; every acknowledged write is
         * already committed, so nothing is lost. Workers keep them
         * blocked, so only this thread can take it. */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        pthread_sigmask(SIG_UNBLOCK, &stop_signals, NULL);
    }
    for (int i = 0; i < started; i++) {
        event_active(stop_events[i], EV_READ, 0);
    }
    for (int i = 0; i < started; i++) {
        pthread_join(s->threads[i], NULL);
    }
    if (started > 0) {
        nimbus_log(NIMBUS_LOG_INFO, "stopped");
    }

done:
    if (s->demo) {
        nimbus__demo_stop(s->demo);
    }
    for (int i = 0; s->workers && i < s->worker_count; i++) {
        if (stop_events && stop_events[i]) {
            event_free(stop_events[i]);
        }
        worker_cleanup(&s->workers[i]);
        if (s->listen_fds && s->listen_fds[i] >= 0) {
            close(s->listen_fds[i]);
        }
    }
    free(stop_events);
    free(s->workers);
    free(s->threads);
    free(s->listen_fds);
    free(s->bound);
    nimbus_core_free(s->core);
    if (s->db_lock >= 0) {
        close(s->db_lock); /* the lock goes with it */
    }
    nimbus_conn_table_free(s->conns);
    nimbus_tls_free(s->tls);
    free(s);
    libevent_global_shutdown();
    nimbus_log_close();
    return exit_code;
}
