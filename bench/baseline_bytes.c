/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Baseline (a) of scripts/bench: an evhttp server that answers each
 * request URI with the exact status, headers and body Nimbus returned for
 * it, from memory. It is what Nimbus would cost if producing an answer
 * were free, so "Nimbus / this" is the share of evhttp's own cost that the
 * REST front-end and the core leave. It copies the event-loop settings of
 * server/server.c (worker_init, listen_socket): libevent's allocations
 * through malloc, its pthread locking on, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST,
 * a listening socket with SO_REUSEPORT and TCP_NODELAY (inherited by
 * accepted sockets), the same header limit, timeout, methods and lingering
 * close; one thread, one loop.
 *
 *   nimbus_bench_bytes --listen HOST:PORT --port-file FILE
 *                      --response URI FILE [--response URI FILE]...
 *
 * Each FILE holds "STATUS REASON\n", then one "Name: value\n" line per
 * header to send (in order; evhttp adds Date and Content-Length itself, as
 * it does for Nimbus), an empty line, and the body's bytes. Any other URI
 * gets 404. SIGINT/SIGTERM stop it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include "bench_util.h"

/* Nimbus's values (server/server_internal.h, server.c). */
#define BYTES_MAX_HEADERS_SIZE (64 * 1024)
#define BYTES_TIMEOUT_SECONDS 60
#define BYTES_MAX_RESPONSES 16
#define BYTES_MAX_HEADERS 32

typedef struct canned {
    const char *uri;
    int status;
    char *reason;
    int header_count;
    char *names[BYTES_MAX_HEADERS];
    char *values[BYTES_MAX_HEADERS];
    char *body; /* owned: the whole file; names, values and reason point into it */
    size_t body_len;
    char *file;
} canned_t;

typedef struct server {
    canned_t canned[BYTES_MAX_RESPONSES];
    int count;
    struct evbuffer *reply; /* reused: evhttp_send_reply empties it */
} server_t;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        bench_fail("cannot open %s: %s", path, strerror(errno));
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *bigger = realloc(buf, cap + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf) {
        bench_fail("out of memory reading %s", path);
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Splits the file into status, headers and body, in place. */
static void load_canned(canned_t *c, const char *uri, const char *path)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    char *end = text + len;
    char *line = text;
    char *nl = memchr(line, '\n', (size_t)(end - line));
    if (!nl) {
        bench_fail("%s: no status line", path);
    }
    *nl = '\0';
    char *sp = NULL;
    c->status = (int)strtol(line, &sp, 10);
    if (c->status < 100 || c->status > 599 || !sp || *sp != ' ') {
        bench_fail("%s: bad status line '%s'", path, line);
    }
    c->reason = sp + 1;
    line = nl + 1;
    for (;;) {
        nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl) {
            bench_fail("%s: headers do not end with an empty line", path);
        }
        *nl = '\0';
        if (line == nl) {
            line = nl + 1;
            break;
        }
        char *colon = strchr(line, ':');
        if (!colon || c->header_count == BYTES_MAX_HEADERS) {
            bench_fail("%s: bad or too many header lines ('%s')", path, line);
        }
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ') {
            value++;
        }
        c->names[c->header_count] = line;
        c->values[c->header_count] = value;
        c->header_count++;
        line = nl + 1;
    }
    c->uri = uri;
    c->file = text;
    c->body = line;
    c->body_len = (size_t)(end - line);
}

static void handle(struct evhttp_request *req, void *arg)
{
    server_t *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    for (int i = 0; i < s->count; i++) {
        const canned_t *c = &s->canned[i];
        if (strcmp(uri, c->uri) != 0) {
            continue;
        }
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);
        for (int h = 0; h < c->header_count; h++) {
            evhttp_add_header(out, c->names[h], c->values[h]);
        }
        /* By reference: the bytes go from the canned copy to the socket. */
        evbuffer_add_reference(s->reply, c->body, c->body_len, NULL, NULL);
        evhttp_send_reply(req, c->status, c->reason, s->reply);
        return;
    }
    evhttp_send_reply(req, 404, "Not Found", NULL);
}

/* server/server.c listen_socket(): SO_REUSEADDR, SO_REUSEPORT, TCP_NODELAY,
 * backlog 1024. */
static int listen_socket(const char *host, int port, int *bound)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    if (getaddrinfo(host, portbuf, &hints, &res) != 0) {
        bench_fail("cannot resolve %s", host);
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
        bench_fail("cannot listen on %s:%d: %s", host, port, strerror(errno));
    }
    freeaddrinfo(res);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        bench_fail("getsockname: %s", strerror(errno));
    }
    *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    bench_program = "nimbus_bench_bytes";
    static server_t s;
    const char *listen_at = NULL;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_at = argv[++i];
        } else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
            port_file = argv[++i];
        } else if (strcmp(argv[i], "--response") == 0 && i + 2 < argc) {
            if (s.count == BYTES_MAX_RESPONSES) {
                bench_usage_error("at most %d --response options", BYTES_MAX_RESPONSES);
            }
            load_canned(&s.canned[s.count++], argv[i + 1], argv[i + 2]);
            i += 2;
        } else {
            bench_usage_error("usage: --listen HOST:PORT --port-file FILE --response URI FILE...");
        }
    }
    char host[256];
    int port = 0;
    if (!listen_at || !port_file || s.count == 0 ||
        bench_parse_hostport(listen_at, host, sizeof host, &port) != 0) {
        bench_usage_error("usage: --listen HOST:PORT --port-file FILE --response URI FILE...");
    }

    signal(SIGPIPE, SIG_IGN);
    /* Nimbus routes libevent's allocations through malloc (server.c). */
    event_set_mem_functions(malloc, realloc, free);
    /* Nimbus runs with libevent's locking on (it has several loops). */
    if (evthread_use_pthreads() != 0) {
        bench_fail("libevent has no thread support");
    }
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    struct event_base *base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    s.reply = evbuffer_new();
    if (!http || !s.reply) {
        bench_fail("cannot create the event loop");
    }
    evhttp_set_max_headers_size(http, BYTES_MAX_HEADERS_SIZE);
    evhttp_set_timeout(http, BYTES_TIMEOUT_SECONDS);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                         EVHTTP_REQ_PATCH);
    evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(http, handle, &s);
    int bound = 0;
    int fd = listen_socket(host, port, &bound);
    if (!evhttp_accept_socket_with_handle(http, fd)) {
        bench_fail("cannot accept on the listening socket");
    }
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(sigint, NULL);
    event_add(sigterm, NULL);
    if (bench_write_port_file(port_file, bound) != 0) {
        bench_fail("cannot write %s: %s", port_file, strerror(errno));
    }
    event_base_dispatch(base);

    event_free(sigint);
    event_free(sigterm);
    evhttp_free(http);
    evbuffer_free(s.reply);
    event_base_free(base);
    for (int i = 0; i < s.count; i++) {
        free(s.canned[i].file);
    }
    libevent_global_shutdown();
    return 0;
}
