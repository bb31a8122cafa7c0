/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The growth workload's seeder: records observations through the REST API
 * in batches, from several clients at once, while a side prober asks
 * GET /healthz at a fixed interval and notes how long the server ever went
 * without answering. Blocking sockets, one thread per client and one for
 * the prober: the server, not this, is the bottleneck (a batch of 1,000 is
 * ~100 KB of JSON written with snprintf).
 *
 *   nimbus_bench_seed --connect HOST:PORT --prefix P --stations N
 *                     --from I --to J [--batch 1000] [--clients 3]
 *                     [--spacing 120] --start-epoch T
 *                     [--probe-ms 100] [--probe-timeout-ms 2000]
 *
 * Station P%03d (0 <= s < N) gets observations i in [I, J), observedAt
 * T + i * spacing, in batches of `batch` consecutive i; batches go out
 * station after station, so every station grows at the same pace. Each
 * answer must say accepted = the batch size and duplicates = 0.
 * Prints one line "BENCHJSON {...}" (observations, seconds, rate, the
 * prober's worst answer time and longest stall) and exits 1 when a batch
 * was refused or not fully accepted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define RESPONSE_MAX (64 * 1024)

typedef struct seed {
    char host[256];
    int port;
    const char *prefix;
    long stations, from, to, batch, clients, spacing;
    int64_t start_epoch;
    long probe_ms, probe_timeout_ms;
    long batches_per_station, total_batches;
    atomic_long next_batch;
    atomic_long accepted, duplicates, failures;
    atomic_bool done;
    /* prober */
    long probes, probe_failures;
    int64_t probe_max_us, longest_stall_us;
} seed_t;

/* One request, one answer on a keep-alive connection; with attempts 2, a
 * connection the server had closed before the request is reopened once.
 * Returns the status (body at resp + *body_off), or -1. */
static int roundtrip(int *fd, const char *host, int port, const char *req, size_t len, char *resp,
                     size_t cap, size_t *body_off, int attempts)
{
    for (int attempt = 0; attempt < attempts; attempt++) {
        if (*fd < 0 && (*fd = bench_connect(host, port, 0)) < 0) {
            return -1;
        }
        size_t off = 0;
        while (off < len) {
            ssize_t n = send(*fd, req + off, len - off, MSG_NOSIGNAL);
            if (n <= 0) {
                break;
            }
            off += (size_t)n;
        }
        size_t got = 0;
        size_t need = 0;
        const char *end = NULL;
        while (off == len && got < cap - 1) {
            ssize_t n = recv(*fd, resp + got, cap - 1 - got, 0);
            if (n <= 0) {
                break;
            }
            got += (size_t)n;
            resp[got] = '\0';
            if (!end && (end = strstr(resp, "\r\n\r\n")) != NULL) {
                const char *cl = strstr(resp, "Content-Length:");
                need = (size_t)(end - resp) + 4 + (cl ? strtoul(cl + 15, NULL, 10) : 0);
            }
            if (end && got >= need) {
                *body_off = (size_t)(end - resp) + 4;
                return atoi(resp + 9);
            }
        }
        close(*fd);
        *fd = -1;
        if (got > 0) {
            return -1; /* an answer cut short: not something to resend */
        }
    }
    return -1;
}

static void *client_main(void *arg)
{
    seed_t *s = arg;
    size_t cap = (size_t)s->batch * 160 + 1024;
    char *body = malloc(cap);
    char *req = malloc(cap + 512);
    char *resp = malloc(RESPONSE_MAX);
    if (!body || !req || !resp) {
        bench_fail("out of memory");
    }
    int fd = -1;
    for (;;) {
        long b = atomic_fetch_add(&s->next_batch, 1);
        if (b >= s->total_batches || atomic_load(&s->failures) > 0) {
            break;
        }
        long station = b % s->stations;
        long first = s->from + (b / s->stations) * s->batch;
        long last = first + s->batch < s->to ? first + s->batch : s->to;
        size_t n = (size_t)snprintf(body, cap, "{\"observations\":[");
        for (long i = first; i < last; i++) {
            time_t t = (time_t)(s->start_epoch + i * s->spacing);
            struct tm tm;
            gmtime_r(&t, &tm);
            n += (size_t)snprintf(
                body + n, cap - n,
                "%s{\"observedAt\":\"%04d-%02d-%02dT%02d:%02d:%02dZ\",\"temperature\":%ld.%ld,"
                "\"humidity\":%ld,\"pressure\":%ld.%ld,\"precipitation\":0.%ld}",
                i == first ? "" : ",", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, (i % 400) / 10 - 5, i % 10, 30 + i % 60, 990 + i % 40, i % 10,
                i % 3);
        }
        n += (size_t)snprintf(body + n, cap - n, "]}");
        size_t rl = (size_t)snprintf(req, cap + 512,
                                     "POST /v1/stations/%s%03ld/observations HTTP/1.1\r\n"
                                     "Host: %s:%d\r\nContent-Type: application/json\r\n"
                                     "Content-Length: %zu\r\n\r\n",
                                     s->prefix, station, s->host, s->port, n);
        memcpy(req + rl, body, n);
        size_t off = 0;
        int status = roundtrip(&fd, s->host, s->port, req, rl + n, resp, RESPONSE_MAX, &off, 2);
        const char *acc = status == 200 ? strstr(resp + off, "\"accepted\":") : NULL;
        const char *dup = status == 200 ? strstr(resp + off, "\"duplicates\":") : NULL;
        long a = acc ? strtol(acc + 11, NULL, 10) : -1;
        long d = dup ? strtol(dup + 13, NULL, 10) : -1;
        if (status != 200 || a != last - first || d != 0) {
            fprintf(stderr, "nimbus_bench_seed: batch %ld (station %ld) answered %d: %.300s\n", b,
                    station, status, status > 0 ? resp + off : "(no answer)");
            atomic_fetch_add(&s->failures, 1);
            break;
        }
        atomic_fetch_add(&s->accepted, a);
        atomic_fetch_add(&s->duplicates, d);
    }
    if (fd >= 0) {
        close(fd);
    }
    free(body);
    free(req);
    free(resp);
    return NULL;
}

/* GET /healthz every probe_ms on its own connection, each with a
 * probe_timeout_ms receive timeout (a timeout closes the connection). The
 * stall is the longest time between two answers (so 100 ms when nothing
 * ever stalls). */
static void *prober_main(void *arg)
{
    seed_t *s = arg;
    char req[256];
    int rl =
        snprintf(req, sizeof req, "GET /healthz HTTP/1.1\r\nHost: %s:%d\r\n\r\n", s->host, s->port);
    char resp[4096];
    int fd = -1;
    int64_t last_ok = bench_now_us();
    while (!atomic_load(&s->done)) {
        int64_t t0 = bench_now_us();
        if (fd < 0 && (fd = bench_connect(s->host, s->port, 0)) >= 0) {
            struct timeval tv = {s->probe_timeout_ms / 1000, (s->probe_timeout_ms % 1000) * 1000};
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        }
        size_t off = 0;
        int status =
            fd >= 0 ? roundtrip(&fd, s->host, s->port, req, (size_t)rl, resp, sizeof resp, &off, 1)
                    : -1;
        int64_t t1 = bench_now_us();
        s->probes++;
        if (status == 200) {
            if (t1 - t0 > s->probe_max_us) {
                s->probe_max_us = t1 - t0;
            }
            if (t1 - last_ok > s->longest_stall_us) {
                s->longest_stall_us = t1 - last_ok;
            }
            last_ok = t1;
        } else {
            s->probe_failures++;
            s->probe_max_us = s->probe_max_us > t1 - t0 ? s->probe_max_us : t1 - t0;
        }
        int64_t next = t0 + s->probe_ms * 1000;
        int64_t now = bench_now_us();
        if (next > now) {
            usleep((useconds_t)(next - now));
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    bench_program = "nimbus_bench_seed";
    static seed_t s;
    s.batch = 1000;
    s.clients = 3;
    s.spacing = 120;
    s.probe_ms = 100;
    s.probe_timeout_ms = 2000;
    s.from = -1;
    const char *connect_to = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (strcmp(o, "--connect") == 0) {
            connect_to = v;
        } else if (strcmp(o, "--prefix") == 0) {
            s.prefix = v;
        } else if (strcmp(o, "--stations") == 0) {
            s.stations = (long)bench_parse_int(o, v, 1, 1000);
        } else if (strcmp(o, "--from") == 0) {
            s.from = (long)bench_parse_int(o, v, 0, 100000000);
        } else if (strcmp(o, "--to") == 0) {
            s.to = (long)bench_parse_int(o, v, 1, 100000000);
        } else if (strcmp(o, "--batch") == 0) {
            s.batch = (long)bench_parse_int(o, v, 1, 1000);
        } else if (strcmp(o, "--clients") == 0) {
            s.clients = (long)bench_parse_int(o, v, 1, 64);
        } else if (strcmp(o, "--spacing") == 0) {
            s.spacing = (long)bench_parse_int(o, v, 1, 86400);
        } else if (strcmp(o, "--start-epoch") == 0) {
            s.start_epoch = bench_parse_int(o, v, 0, 200000000000LL);
        } else if (strcmp(o, "--probe-ms") == 0) {
            s.probe_ms = (long)bench_parse_int(o, v, 1, 60000);
        } else if (strcmp(o, "--probe-timeout-ms") == 0) {
            s.probe_timeout_ms = (long)bench_parse_int(o, v, 1, 600000);
        } else {
            bench_usage_error("unknown option %s", o);
        }
    }
    if (!connect_to || bench_parse_hostport(connect_to, s.host, sizeof s.host, &s.port) != 0 ||
        !s.prefix || !s.stations || s.from < 0 || s.to <= s.from || !s.start_epoch) {
        bench_usage_error("usage: --connect HOST:PORT --prefix P --stations N --from I --to J "
                          "--start-epoch T [--batch B --clients C --spacing S --probe-ms MS "
                          "--probe-timeout-ms MS]");
    }
    s.batches_per_station = (s.to - s.from + s.batch - 1) / s.batch;
    s.total_batches = s.batches_per_station * s.stations;

    pthread_t prober;
    pthread_t *clients = calloc((size_t)s.clients, sizeof *clients);
    if (!clients || pthread_create(&prober, NULL, prober_main, &s) != 0) {
        bench_fail("cannot start the prober");
    }
    int64_t t0 = bench_now_us();
    for (long c = 0; c < s.clients; c++) {
        if (pthread_create(&clients[c], NULL, client_main, &s) != 0) {
            bench_fail("cannot start a client");
        }
    }
    for (long c = 0; c < s.clients; c++) {
        pthread_join(clients[c], NULL);
    }
    double secs = (double)(bench_now_us() - t0) / 1e6;
    atomic_store(&s.done, true);
    pthread_join(prober, NULL);
    free(clients);
    long accepted = atomic_load(&s.accepted);
    long failures = atomic_load(&s.failures);
    printf("BENCHJSON {\"observations\":%ld,\"expected\":%ld,\"duplicates\":%ld,"
           "\"failures\":%ld,\"seconds\":%.2f,\"obs_per_s\":%.0f,\"probes\":%ld,"
           "\"probe_failures\":%ld,\"probe_max_ms\":%.1f,\"longest_stall_ms\":%.1f}\n",
           accepted, (s.to - s.from) * s.stations, atomic_load(&s.duplicates), failures, secs,
           (double)accepted / secs, s.probes, s.probe_failures, (double)s.probe_max_us / 1000.0,
           (double)s.longest_stall_us / 1000.0);
    return failures || accepted != (s.to - s.from) * s.stations ? 1 : 0;
}
