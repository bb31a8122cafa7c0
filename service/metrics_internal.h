/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The counter block of one thread (see nimbus_metrics.h), shared by
 * metrics.c, which counts into it, and metrics_render.c, which sums the
 * blocks for a scrape. Dense arrays indexed by label values: a count is one
 * array cell, found without hashing or comparing strings (but the key's
 * name, among at most NIMBUS_KEYS_MAX).
 */
#ifndef NIMBUS_METRICS_INTERNAL_H
#define NIMBUS_METRICS_INTERNAL_H

#include "nimbus_metrics.h"
#include "service_internal.h"

/* Operation slots: the table's rows, then "-" (none named). */
#define NIMBUS__M_OPS (NIMBUS_OP_COUNT + 1)
/* Client slots: "-" (no key), then the configured keys in their order. */
#define NIMBUS__M_KEYS (NIMBUS_KEYS_MAX + 1)
#define NIMBUS__M_LATENCY_BUCKETS 13
#define NIMBUS__M_LAG_BUCKETS 8

/* Upper bounds: request latency (microseconds; the commit histogram's
 * too), and a replay's lag (seqs). */
extern const uint64_t nimbus__m_latency_bounds_us[NIMBUS__M_LATENCY_BUCKETS];
extern const int64_t nimbus__m_lag_bounds[NIMBUS__M_LAG_BUCKETS];

struct nimbus_metrics_block {
    struct nimbus_metrics_block *next;
    nimbus_core_t *core;
    _Atomic uint64_t calls[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS][NIMBUS_CODE_COUNT][NIMBUS__M_KEYS];
    /* Per bucket (not cumulative); the last one is +Inf. */
    _Atomic uint64_t latency[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS][NIMBUS__M_LATENCY_BUCKETS + 1];
    _Atomic uint64_t latency_sum_us[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS];
    _Atomic uint64_t bytes_in[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS];
    _Atomic uint64_t bytes_out[NIMBUS_PROTO_COUNT][NIMBUS__M_OPS];
    _Atomic int64_t conns_open[NIMBUS_CONN_KIND_COUNT];
    _Atomic uint64_t refused_limit;
    _Atomic int64_t ws_queued;
    _Atomic uint64_t lagged;
    _Atomic uint64_t lag[NIMBUS__M_LAG_BUCKETS + 1]; /* one per replay read */
    _Atomic uint64_t lag_sum;
};

#endif
