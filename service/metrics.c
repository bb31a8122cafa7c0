/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Counting (nimbus_metrics.h): each thread's block, made on the first count
 * of its service and kept, with its counts, until the core is freed (a
 * counter never goes back when a worker's service goes away), and the
 * storage counts the writer keeps in the core.
 *
 * Every block has one writer, its thread, so an increment is a relaxed
 * load and store: no lock prefix, no cache line shared with another
 * worker. Counts that any thread may bump (the rate limit's refusals) are
 * atomic read-modify-writes in the core; they happen only on refusals.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics_internal.h"

const uint64_t nimbus__m_latency_bounds_us[NIMBUS__M_LATENCY_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};
const int64_t nimbus__m_lag_bounds[NIMBUS__M_LAG_BUCKETS] = {0,    1,     10,     100,
                                                             1000, 10000, 100000, 1000000};

static inline void add_u(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

static inline void add_i(_Atomic int64_t *c, int64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

uint64_t nimbus_metrics_now_us(void)
{
    return nimbus_clock_us(CLOCK_MONOTONIC);
}

const char *nimbus_proto_name(nimbus_proto_t proto)
{
    switch (proto) {
    case NIMBUS_PROTO_SOAP11:
        return "soap11";
    case NIMBUS_PROTO_SOAP12:
        return "soap12";
    case NIMBUS_PROTO_REST:
        return "rest";
    case NIMBUS_PROTO_WS:
        return "ws";
    }
    return "rest";
}

int nimbus__metrics_init(nimbus_core_t *core)
{
    nimbus__metrics_t *m = &core->metrics;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        return -1;
    }
    m->start_time = (int64_t)time(NULL);
    return 0;
}

void nimbus__metrics_cleanup(nimbus_core_t *core)
{
    nimbus__metrics_t *m = &core->metrics;
    while (m->blocks) {
        struct nimbus_metrics_block *b = m->blocks;
        m->blocks = b->next;
        free(b);
    }
    pthread_mutex_destroy(&m->lock);
}

nimbus_metrics_block_t *nimbus_service_metrics(nimbus_service_t *svc)
{
    if (svc == NULL) {
        return NULL;
    }
    if (svc->metrics == NULL) {
        nimbus_metrics_block_t *b = calloc(1, sizeof *b);
        if (b == NULL) {
            return NULL;
        }
        b->core = svc->core;
        nimbus__metrics_t *m = &svc->core->metrics;
        pthread_mutex_lock(&m->lock);
        b->next = m->blocks;
        m->blocks = b;
        pthread_mutex_unlock(&m->lock);
        svc->metrics = b;
    }
    return svc->metrics;
}

/* The key's slot: 1 + its index among the key names in force since start
 * (nimbus__key_label); 0 for none or a name that never was (no client text
 * becomes a label). */
static size_t key_slot(const nimbus_core_t *core, const char *name)
{
    if (name == NULL || *name == '\0') {
        return 0;
    }
    size_t n = nimbus__key_label_count(core);
    for (size_t i = 0; i < n; i++) {
        const char *label = nimbus__key_label(core, i);
        if (label[0] == name[0] && strcmp(label, name) == 0) {
            return i + 1;
        }
    }
    return 0;
}

void nimbus_metrics_count_call(nimbus_metrics_block_t *b, const nimbus_metrics_call_t *c)
{
    if (b == NULL) {
        return;
    }
    size_t proto = (size_t)c->proto < NIMBUS_PROTO_COUNT ? (size_t)c->proto : NIMBUS_PROTO_REST;
    size_t op = c->op >= 0 && c->op < NIMBUS_OP_COUNT ? (size_t)c->op : NIMBUS_OP_COUNT;
    size_t code = (size_t)c->code < NIMBUS_CODE_COUNT ? (size_t)c->code : NIMBUS_INTERNAL;
    add_u(&b->calls[proto][op][code][key_slot(b->core, c->key)], 1);
    size_t bucket = 0;
    while (bucket < NIMBUS__M_LATENCY_BUCKETS &&
           c->elapsed_us > nimbus__m_latency_bounds_us[bucket]) {
        bucket++;
    }
    add_u(&b->latency[proto][op][bucket], 1);
    add_u(&b->latency_sum_us[proto][op], c->elapsed_us);
    add_u(&b->bytes_in[proto][op], c->bytes_in);
    add_u(&b->bytes_out[proto][op], c->bytes_out);
}

void nimbus_metrics_conn_open(nimbus_metrics_block_t *b, nimbus_conn_kind_t kind, int delta)
{
    if (b != NULL && (size_t)kind < NIMBUS_CONN_KIND_COUNT) {
        add_i(&b->conns_open[kind], delta);
    }
}

void nimbus_metrics_conn_refused_limit(nimbus_metrics_block_t *b)
{
    if (b != NULL) {
        add_u(&b->refused_limit, 1);
    }
}

void nimbus_metrics_ws_queued(nimbus_metrics_block_t *b, int64_t delta)
{
    if (b != NULL && delta != 0) {
        add_i(&b->ws_queued, delta);
    }
}

void nimbus_metrics_stream_replay(nimbus_metrics_block_t *b, int64_t lag_seqs)
{
    if (b == NULL) {
        return;
    }
    if (lag_seqs < 0) {
        lag_seqs = 0;
    }
    size_t bucket = 0;
    while (bucket < NIMBUS__M_LAG_BUCKETS && lag_seqs > nimbus__m_lag_bounds[bucket]) {
        bucket++;
    }
    add_u(&b->lag[bucket], 1);
    add_u(&b->lag_sum, (uint64_t)lag_seqs);
}

void nimbus_metrics_stream_lagged(nimbus_metrics_block_t *b)
{
    if (b != NULL) {
        add_u(&b->lagged, 1);
    }
}

void nimbus__metrics_rate_refused(nimbus_core_t *core)
{
    atomic_fetch_add_explicit(&core->metrics.rate_refused, 1, memory_order_relaxed);
}

void nimbus__metrics_commit(nimbus_core_t *core, uint64_t us, size_t stored, bool ok)
{
    nimbus__metrics_t *m = &core->metrics;
    if (!ok) {
        return;
    }
    size_t bucket = 0;
    while (bucket < NIMBUS__COMMIT_BUCKETS && us > nimbus__m_latency_bounds_us[bucket]) {
        bucket++;
    }
    add_u(&m->commit_buckets[bucket], 1);
    add_u(&m->commit_sum_us, us);
    add_u(&m->observations_stored, stored);
    add_u(&m->duplicates, (uint64_t)m->group_duplicates);
}
