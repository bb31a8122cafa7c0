/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A worker's cache of rendered answers: the exact bytes an adapter sent for
 * a read, keyed by the adapter's own key (for REST, the route and query),
 * kept with the freshness stamp the core gave the read (nimbus_core_stamp)
 * and served again while that stamp is fresh. Bounded in bytes, least
 * recently used first out. One cache per worker thread; not thread-safe.
 *
 * An entry may be lent to an output buffer (hold/release) so a hit is sent
 * without a copy; an entry evicted or dropped while lent is freed by its
 * last release.
 */
#ifndef NIMBUS_RENDER_CACHE_H
#define NIMBUS_RENDER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "nimbus_service.h"

typedef struct nimbus_render_cache nimbus_render_cache_t;

typedef struct nimbus_render_entry {
    const char *body; /* the kept bytes, not NUL-terminated */
    size_t len;
    uint64_t hash;        /* FNV-1a 64 of body: an ETag's material */
    nimbus_stamp_t stamp; /* when the bytes were the truth */
} nimbus_render_entry_t;

typedef struct nimbus_render_stats {
    uint64_t hits, misses, stale, evictions;
    size_t entries, bytes;
} nimbus_render_stats_t;

/* A cache of at most max_bytes (entries, keys and bodies together); a body
 * larger than an eighth of that is never kept. max_bytes 0: a cache that
 * keeps nothing. Returns NULL when out of memory; free with
 * nimbus_render_cache_free. */
nimbus_render_cache_t *nimbus_render_cache_new(size_t max_bytes);
/* NULL-safe. Entries still lent are freed by their last release. */
void nimbus_render_cache_free(nimbus_render_cache_t *cache);

/* The entry kept under key if its stamp is still fresh, else NULL (a stale
 * one is dropped). The entry stays valid until the next put or free on the
 * cache unless held. NULL-safe (a NULL cache keeps nothing). */
const nimbus_render_entry_t *nimbus_render_cache_get(nimbus_render_cache_t *cache,
                                                     nimbus_core_t *core, const void *key,
                                                     size_t key_len);
/* Keeps a copy of body under key with stamp (taken before the read that
 * made body), replacing what was kept there. Returns the entry, or NULL
 * when it is not kept (too large, out of memory, a cache of 0 bytes). */
const nimbus_render_entry_t *nimbus_render_cache_put(nimbus_render_cache_t *cache, const void *key,
                                                     size_t key_len, const nimbus_stamp_t *stamp,
                                                     const char *body, size_t len);
/* Lends an entry (it outlives eviction until released). */
void nimbus_render_entry_hold(const nimbus_render_entry_t *entry);
void nimbus_render_entry_release(const nimbus_render_entry_t *entry);

void nimbus_render_cache_stats(const nimbus_render_cache_t *cache, nimbus_render_stats_t *out);

/* FNV-1a 64 over len bytes. */
uint64_t nimbus_hash64(const void *data, size_t len);

#endif
