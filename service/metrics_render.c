/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A scrape (nimbus_metrics.h): every thread's block summed into one
 * snapshot, then written as the Prometheus text exposition format 0.0.4
 * (GET /metrics) or as the Clients view's JSON (GET /metrics/clients).
 * Both read the same counts, so the dashboard and Prometheus agree.
 *
 * Label values are written from the bounded sets only (protocol names,
 * the operation table, code names, configured key names, whose alphabet
 * A-Z a-z 0-9 . _ - needs no escaping in either format). Series whose
 * counts are all zero are left out, so a scrape stays as small as the
 * traffic actually seen.
 */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics_internal.h"
#include "nimbus_version.h"

/* ---- a growable string ------------------------------------------------- */

typedef struct text {
    char *p;
    size_t len, cap;
    bool failed;
} text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(text_t *t, const char *fmt, ...)
{
    if (t->failed) {
        return;
    }
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n;
        char *grown = realloc(t->p, cap);
        if (!grown) {
            t->failed = true;
            return;
        }
        t->p = grown;
        t->cap = cap;
    }
}

static char *text_steal(text_t *t, size_t *len)
{
    if (t->failed) {
        free(t->p);
        return NULL;
    }
    *len = t->len;
    return t->p;
}

static bool text_init(text_t *t, size_t cap)
{
    t->p = malloc(cap);
    t->len = 0;
    t->cap = cap;
    t->failed = t->p == NULL;
    if (t->p) {
        t->p[0] = '\0';
    }
    return !t->failed;
}

/* ---- the snapshot ------------------------------------------------------- */

typedef struct snapshot {
    uint64_t calls[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS][NIMBUS_CODE_COUNT][NIMBUS__M_KEYS];
    uint64_t latency[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS][NIMBUS__M_LATENCY_BUCKETS + 1];
    uint64_t latency_sum_us[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS];
    uint64_t bytes_in[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS];
    uint64_t bytes_out[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS];
    int64_t conns_open[NIMBUS_CONN_KIND_COUNT];
    uint64_t refused_limit;
    int64_t ws_queued;
    uint64_t lagged;
    uint64_t lag[NIMBUS__M_LAG_BUCKETS + 1];
    uint64_t lag_sum;
    size_t key_count;
} snapshot_t;

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

static void sum_block(snapshot_t *s, nimbus_metrics_block_t *b)
{
    for (size_t p = 0; p < NIMBUS_PROTO_COUNT; p++) {
        for (size_t o = 0; o < NIMBUS__M_OPS; o++) {
            for (size_t c = 0; c < NIMBUS_CODE_COUNT; c++) {
                for (size_t k = 0; k <= s->key_count; k++) {
                    s->calls[p][o][c][k] += LOAD(b->calls[p][o][c][k]);
                }
            }
            for (size_t i = 0; i <= NIMBUS__M_LATENCY_BUCKETS; i++) {
                s->latency[p][o][i] += LOAD(b->latency[p][o][i]);
            }
            s->latency_sum_us[p][o] += LOAD(b->latency_sum_us[p][o]);
            s->bytes_in[p][o] += LOAD(b->bytes_in[p][o]);
            s->bytes_out[p][o] += LOAD(b->bytes_out[p][o]);
        }
    }
    for (size_t k = 0; k < NIMBUS_CONN_KIND_COUNT; k++) {
        s->conns_open[k] += LOAD(b->conns_open[k]);
    }
    s->refused_limit += LOAD(b->refused_limit);
    s->ws_queued += LOAD(b->ws_queued);
    s->lagged += LOAD(b->lagged);
    for (size_t i = 0; i <= NIMBUS__M_LAG_BUCKETS; i++) {
        s->lag[i] += LOAD(b->lag[i]);
    }
    s->lag_sum += LOAD(b->lag_sum);
}

/* A heap snapshot the caller frees; NULL when out of memory. */
static snapshot_t *snapshot_take(nimbus_core_t *core)
{
    snapshot_t *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    s->key_count = nimbus__key_label_count(core);
    pthread_mutex_lock(&core->metrics.lock);
    for (nimbus_metrics_block_t *b = core->metrics.blocks; b; b = b->next) {
        sum_block(s, b);
    }
    pthread_mutex_unlock(&core->metrics.lock);
    return s;
}

static const char *op_label(size_t op)
{
    return op < NIMBUS_OP_COUNT ? nimbus_op_table[op].name : "-";
}

static const char *code_label(size_t code)
{
    return code == NIMBUS_OK ? "OK" : nimbus_code_name((nimbus_code_t)code);
}

static const char *key_label(const nimbus_core_t *core, size_t slot)
{
    return slot == 0 ? "-" : nimbus__key_label(core, slot - 1);
}

/* ---- process facts ------------------------------------------------------ */

static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) {
        return -1;
    }
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

static long long resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, resident = -1;
    if (f) {
        if (fscanf(f, "%lld %lld", &size, &resident) != 2) {
            resident = -1;
        }
        fclose(f);
    }
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

static long long file_size(const char *path, const char *suffix)
{
    char name[4200];
    snprintf(name, sizeof name, "%s%s", path, suffix);
    struct stat st;
    return stat(name, &st) == 0 ? (long long)st.st_size : 0;
}

/* ---- text format -------------------------------------------------------- */

static void head(text_t *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void le(char *buf, size_t size, double bound)
{
    snprintf(buf, size, "%g", bound);
}

static void write_requests(text_t *t, const nimbus_core_t *core, const snapshot_t *s)
{
    head(t, "nimbus_requests_total", "counter",
         "Calls answered, by protocol, operation (\"-\": none named), code (\"OK\" or the "
         "error) and client (the API key's name; \"-\": none).");
    for (size_t p = 0; p < NIMBUS_PROTO_COUNT; p++) {
        for (size_t o = 0; o < NIMBUS__M_OPS; o++) {
            for (size_t c = 0; c < NIMBUS_CODE_COUNT; c++) {
                for (size_t k = 0; k <= s->key_count; k++) {
                    uint64_t n = s->calls[p][o][c][k];
                    if (n) {
                        put(t,
                            "nimbus_requests_total{protocol=\"%s\",operation=\"%s\",code=\"%s\","
                            "client=\"%s\"} %llu\n",
                            nimbus_proto_name((nimbus_proto_t)p), op_label(o), code_label(c),
                            key_label(core, k), (unsigned long long)n);
                    }
                }
            }
        }
    }
    head(t, "nimbus_request_duration_seconds", "histogram",
         "Time from a call's arrival to its answer, by protocol and operation.");
    for (size_t p = 0; p < NIMBUS_PROTO_COUNT; p++) {
        for (size_t o = 0; o < NIMBUS__M_OPS; o++) {
            uint64_t cum = 0;
            for (size_t i = 0; i <= NIMBUS__M_LATENCY_BUCKETS; i++) {
                cum += s->latency[p][o][i];
            }
            if (cum == 0) {
                continue;
            }
            const char *pn = nimbus_proto_name((nimbus_proto_t)p);
            uint64_t total = cum;
            cum = 0;
            for (size_t i = 0; i <= NIMBUS__M_LATENCY_BUCKETS; i++) {
                cum += s->latency[p][o][i];
                char bound[32];
                if (i < NIMBUS__M_LATENCY_BUCKETS) {
                    le(bound, sizeof bound, (double)nimbus__m_latency_bounds_us[i] / 1e6);
                } else {
                    snprintf(bound, sizeof bound, "+Inf");
                }
                put(t,
                    "nimbus_request_duration_seconds_bucket{protocol=\"%s\",operation=\"%s\","
                    "le=\"%s\"} %llu\n",
                    pn, op_label(o), bound, (unsigned long long)cum);
            }
            put(t,
                "nimbus_request_duration_seconds_sum{protocol=\"%s\",operation=\"%s\"} %.6f\n"
                "nimbus_request_duration_seconds_count{protocol=\"%s\",operation=\"%s\"} %llu\n",
                pn, op_label(o), (double)s->latency_sum_us[p][o] / 1e6, pn, op_label(o),
                (unsigned long long)total);
        }
    }
    static const struct {
        const char *name, *help;
        size_t offset;
    } bytes[] = {
        {"nimbus_request_bytes_total",
         "Bytes of request bodies (HTTP) and call messages (WebSocket), by protocol and "
         "operation.",
         offsetof(snapshot_t, bytes_in)},
        {"nimbus_response_bytes_total",
         "Bytes of response bodies (HTTP) and answer messages (WebSocket), by protocol and "
         "operation.",
         offsetof(snapshot_t, bytes_out)},
    };
    for (size_t b = 0; b < 2; b++) {
        head(t, bytes[b].name, "counter", bytes[b].help);
        const uint64_t(*v)[NIMBUS__M_OPS] =
            (const uint64_t(*)[NIMBUS__M_OPS])((const char *)s + bytes[b].offset);
        for (size_t p = 0; p < NIMBUS_PROTO_COUNT; p++) {
            for (size_t o = 0; o < NIMBUS__M_OPS; o++) {
                uint64_t calls = 0;
                for (size_t i = 0; i <= NIMBUS__M_LATENCY_BUCKETS; i++) {
                    calls += s->latency[p][o][i];
                }
                if (calls) {
                    put(t, "%s{protocol=\"%s\",operation=\"%s\"} %llu\n", bytes[b].name,
                        nimbus_proto_name((nimbus_proto_t)p), op_label(o),
                        (unsigned long long)v[p][o]);
                }
            }
        }
    }
}

static void write_connections(text_t *t, nimbus_core_t *core, const snapshot_t *s)
{
    static const char *const kinds[NIMBUS_CONN_KIND_COUNT] = {"http", "websocket", "tls"};
    head(t, "nimbus_connections_open", "gauge",
         "Connections open, by kind (http: all, websocket: upgraded, tls: on a TLS port).");
    for (size_t k = 0; k < NIMBUS_CONN_KIND_COUNT; k++) {
        put(t, "nimbus_connections_open{kind=\"%s\"} %lld\n", kinds[k],
            (long long)(s->conns_open[k] > 0 ? s->conns_open[k] : 0));
    }
    uint64_t auth = 0;
    for (size_t p = 0; p < NIMBUS_PROTO_COUNT; p++) {
        for (size_t o = 0; o < NIMBUS__M_OPS; o++) {
            for (size_t k = 0; k <= s->key_count; k++) {
                auth += s->calls[p][o][NIMBUS_UNAUTHENTICATED][k] +
                        s->calls[p][o][NIMBUS_PERMISSION_DENIED][k];
            }
        }
    }
    head(t, "nimbus_refused_total", "counter",
         "Connections and calls refused, by reason (limit: --max-connections or "
         "--max-connections-per-client; rate: --rate; auth: missing, wrong or too small key).");
    put(t,
        "nimbus_refused_total{reason=\"limit\"} %llu\n"
        "nimbus_refused_total{reason=\"rate\"} %llu\n"
        "nimbus_refused_total{reason=\"auth\"} %llu\n",
        (unsigned long long)s->refused_limit,
        (unsigned long long)atomic_load_explicit(&core->metrics.rate_refused, memory_order_relaxed),
        (unsigned long long)auth);
}

static void write_stream(text_t *t, nimbus_core_t *core, const snapshot_t *s)
{
    head(t, "nimbus_stream_subscribers", "gauge", "Stream subscriptions held.");
    put(t, "nimbus_stream_subscribers %zu\n", nimbus_counts_total(core->subscriptions));
    head(t, "nimbus_stream_queued_bytes", "gauge",
         "Bytes queued for WebSocket clients, not yet taken by their sockets.");
    put(t, "nimbus_stream_queued_bytes %lld\n", (long long)(s->ws_queued > 0 ? s->ws_queued : 0));
    head(t, "nimbus_stream_replay_lag_seqs", "histogram",
         "How far behind the head seq a subscription was at each catch-up read from storage.");
    uint64_t cum = 0;
    for (size_t i = 0; i <= NIMBUS__M_LAG_BUCKETS; i++) {
        cum += s->lag[i];
        if (i < NIMBUS__M_LAG_BUCKETS) {
            put(t, "nimbus_stream_replay_lag_seqs_bucket{le=\"%lld\"} %llu\n",
                (long long)nimbus__m_lag_bounds[i], (unsigned long long)cum);
        } else {
            put(t, "nimbus_stream_replay_lag_seqs_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)cum);
        }
    }
    put(t, "nimbus_stream_replay_lag_seqs_sum %llu\nnimbus_stream_replay_lag_seqs_count %llu\n",
        (unsigned long long)s->lag_sum, (unsigned long long)cum);
    head(t, "nimbus_stream_replays_total", "counter",
         "Catch-up reads from storage for subscriptions (fromSeq replays and slow readers).");
    put(t, "nimbus_stream_replays_total %llu\n", (unsigned long long)cum);
    head(t, "nimbus_stream_lagged_total", "counter", "`lagged` messages sent.");
    put(t, "nimbus_stream_lagged_total %llu\n", (unsigned long long)s->lagged);
}

static void write_storage(text_t *t, nimbus_core_t *core)
{
    nimbus__metrics_t *m = &core->metrics;
    head(t, "nimbus_storage_commit_duration_seconds", "histogram",
         "Time a group of writes took to commit (one fsync).");
    uint64_t cum = 0;
    for (size_t i = 0; i <= NIMBUS__COMMIT_BUCKETS; i++) {
        cum += LOAD(m->commit_buckets[i]);
        char bound[32];
        if (i < NIMBUS__COMMIT_BUCKETS) {
            le(bound, sizeof bound, (double)nimbus__m_latency_bounds_us[i] / 1e6);
        } else {
            snprintf(bound, sizeof bound, "+Inf");
        }
        put(t, "nimbus_storage_commit_duration_seconds_bucket{le=\"%s\"} %llu\n", bound,
            (unsigned long long)cum);
    }
    put(t,
        "nimbus_storage_commit_duration_seconds_sum %.6f\n"
        "nimbus_storage_commit_duration_seconds_count %llu\n",
        (double)LOAD(m->commit_sum_us) / 1e6, (unsigned long long)cum);
    head(t, "nimbus_storage_observations_stored_total", "counter",
         "Observations stored (new or corrected), each with a new seq.");
    put(t, "nimbus_storage_observations_stored_total %llu\n",
        (unsigned long long)LOAD(m->observations_stored));
    head(t, "nimbus_storage_duplicates_total", "counter",
         "Observations sent again with identical values: acknowledged, not stored again.");
    put(t, "nimbus_storage_duplicates_total %llu\n", (unsigned long long)LOAD(m->duplicates));
    head(t, "nimbus_storage_head_seq", "gauge", "The newest seq assigned.");
    put(t, "nimbus_storage_head_seq %lld\n", (long long)nimbus_core_head_seq(core));
    if (core->engine == NIMBUS__SQLITE) {
        head(t, "nimbus_storage_database_bytes", "gauge",
             "Size of the database file and its write-ahead log.");
        put(t, "nimbus_storage_database_bytes %lld\n",
            file_size(core->path, "") + file_size(core->path, "-wal"));
    } else {
        /* PostgreSQL: the database is the server's to measure; what this
         * node does is follow the other nodes (follow.c). */
        nimbus__follower_t *f = &core->follower;
        head(t, "nimbus_follow_notifications_total", "counter",
             "Notifications received on the LISTEN connection (this node's own included).");
        put(t, "nimbus_follow_notifications_total %llu\n",
            (unsigned long long)atomic_load(&f->notifications));
        head(t, "nimbus_follow_polls_total", "counter",
             "Fallback polls (--follow-poll) that found no notification waiting.");
        put(t, "nimbus_follow_polls_total %llu\n", (unsigned long long)atomic_load(&f->polls));
        head(t, "nimbus_follow_reconnects_total", "counter",
             "Times the LISTEN connection was lost and made again.");
        put(t, "nimbus_follow_reconnects_total %llu\n",
            (unsigned long long)atomic_load(&f->reconnects));
    }
    head(t, "nimbus_retention_removed_total", "counter",
         "Observations deleted by --retention since start.");
    put(t, "nimbus_retention_removed_total %llu\n",
        (unsigned long long)nimbus_core_retention_removed(core));
}

static void write_process(text_t *t, nimbus_core_t *core)
{
    head(t, "nimbus_build_info", "gauge", "Always 1; the version is in its label.");
    put(t, "nimbus_build_info{version=\"%s\"} 1\n", NIMBUS_VERSION);
    head(t, "process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.");
    put(t, "process_start_time_seconds %lld\n", (long long)core->metrics.start_time);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        head(t, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
        put(t, "process_cpu_seconds_total %.3f\n",
            (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    }
    long fds = open_fds();
    if (fds >= 0) {
        head(t, "process_open_fds", "gauge", "Open file descriptors.");
        put(t, "process_open_fds %ld\n", fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        head(t, "process_max_fds", "gauge", "The limit on open file descriptors.");
        put(t, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
    long long rss = resident_bytes();
    if (rss >= 0) {
        head(t, "process_resident_memory_bytes", "gauge", "Resident memory size.");
        put(t, "process_resident_memory_bytes %lld\n", rss);
    }
}

char *nimbus_metrics_render_text(nimbus_core_t *core, size_t *len)
{
    snapshot_t *s = snapshot_take(core);
    text_t t;
    if (!s || !text_init(&t, 16384)) {
        free(s);
        return NULL;
    }
    write_requests(&t, core, s);
    write_connections(&t, core, s);
    write_stream(&t, core, s);
    write_storage(&t, core);
    write_process(&t, core);
    free(s);
    return text_steal(&t, len);
}

/* ---- the Clients view's JSON -------------------------------------------- */

char *nimbus_metrics_render_clients(nimbus_core_t *core, size_t *len)
{
    snapshot_t *s = snapshot_take(core);
    text_t t;
    if (!s || !text_init(&t, 4096)) {
        free(s);
        return NULL;
    }
    put(&t, "{\"protocols\":[");
    for (size_t p = 0; p < NIMBUS_PROTO_COUNT; p++) {
        put(&t, "%s\"%s\"", p ? "," : "", nimbus_proto_name((nimbus_proto_t)p));
    }
    put(&t, "],\"startTime\":%lld,\"keys\":%s,\"rows\":[", (long long)core->metrics.start_time,
        nimbus_core_keys_required(core) ? "true" : "false");
    bool first = true;
    /* Key names sort as their text; "-" (no key) first. */
    size_t order[NIMBUS__M_KEYS];
    for (size_t k = 0; k <= s->key_count; k++) {
        order[k] = k;
    }
    for (size_t i = 2; i <= s->key_count; i++) {
        for (size_t j = i;
             j > 1 && strcmp(key_label(core, order[j - 1]), key_label(core, order[j])) > 0; j--) {
            size_t tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    }
    for (size_t ki = 0; ki <= s->key_count; ki++) {
        size_t k = order[ki];
        for (size_t o = 0; o < NIMBUS_OP_COUNT; o++) {
            uint64_t calls[NIMBUS_PROTO_COUNT] = {0}, errors[NIMBUS_PROTO_COUNT] = {0};
            uint64_t any = 0;
            for (size_t p = 0; p < NIMBUS_PROTO_COUNT; p++) {
                for (size_t c = 0; c < NIMBUS_CODE_COUNT; c++) {
                    calls[p] += s->calls[p][o][c][k];
                    if (c != NIMBUS_OK) {
                        errors[p] += s->calls[p][o][c][k];
                    }
                }
                any += calls[p];
            }
            if (!any) {
                continue;
            }
            put(&t,
                "%s{\"client\":\"%s\",\"operation\":\"%s\",\"calls\":[%llu,%llu,%llu,%llu],"
                "\"errors\":[%llu,%llu,%llu,%llu]}",
                first ? "" : ",", key_label(core, k), op_label(o), (unsigned long long)calls[0],
                (unsigned long long)calls[1], (unsigned long long)calls[2],
                (unsigned long long)calls[3], (unsigned long long)errors[0],
                (unsigned long long)errors[1], (unsigned long long)errors[2],
                (unsigned long long)errors[3]);
            first = false;
        }
    }
    put(&t, "]}\n");
    free(s);
    return text_steal(&t, len);
}
