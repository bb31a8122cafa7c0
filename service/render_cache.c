/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The rendered-answer cache (nimbus_render_cache.h): a chained hash table
 * over entries that each hold their key and body in one allocation, and a
 * least-recently-used list for eviction. Memory is counted as the entries'
 * allocations plus the bucket array, and kept under the cache's bound.
 *
 * Why by hand: none of our dependencies has a bounded byte cache (libevent
 * and jansson have hash tables of their own, not exported), and what is
 * needed is a hundred lines.
 */
#include <stdlib.h>
#include <string.h>

#include "nimbus_render_cache.h"

typedef struct entry {
    nimbus_render_entry_t pub; /* first: the public view is the entry */
    struct entry *next;        /* bucket chain */
    struct entry *newer, *older;
    nimbus_render_cache_t *cache; /* NULL once unlinked (evicted while lent) */
    uint64_t key_hash;
    size_t key_len;
    size_t size; /* what this allocation counts for */
    unsigned refs;
    char data[]; /* key, then body */
} entry_t;

struct nimbus_render_cache {
    size_t max_bytes;
    size_t bytes;
    entry_t **buckets;
    size_t bucket_count; /* a power of two */
    entry_t *newest, *oldest;
    nimbus_render_stats_t stats;
};

uint64_t nimbus_hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < len; i++) {
        h = (h ^ p[i]) * 1099511628211ULL;
    }
    return h;
}

nimbus_render_cache_t *nimbus_render_cache_new(size_t max_bytes)
{
    nimbus_render_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        return NULL;
    }
    c->max_bytes = max_bytes;
    c->bucket_count = 64;
    c->buckets = calloc(c->bucket_count, sizeof *c->buckets);
    if (c->buckets == NULL) {
        free(c);
        return NULL;
    }
    c->bytes = c->bucket_count * sizeof *c->buckets;
    return c;
}

static void lru_unlink(nimbus_render_cache_t *c, entry_t *e)
{
    if (e->newer) {
        e->newer->older = e->older;
    } else {
        c->newest = e->older;
    }
    if (e->older) {
        e->older->newer = e->newer;
    } else {
        c->oldest = e->newer;
    }
    e->newer = e->older = NULL;
}

static void lru_push(nimbus_render_cache_t *c, entry_t *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest) {
        c->newest->newer = e;
    } else {
        c->oldest = e;
    }
    c->newest = e;
}

/* Takes e out of the table and the list; frees it unless lent. */
static void drop(nimbus_render_cache_t *c, entry_t *e)
{
    entry_t **pp = &c->buckets[e->key_hash & (c->bucket_count - 1)];
    while (*pp != e) {
        pp = &(*pp)->next;
    }
    *pp = e->next;
    lru_unlink(c, e);
    c->bytes -= e->size;
    c->stats.entries--;
    e->cache = NULL;
    if (e->refs == 0) {
        free(e);
    }
}

void nimbus_render_cache_free(nimbus_render_cache_t *c)
{
    if (c == NULL) {
        return;
    }
    while (c->oldest) {
        drop(c, c->oldest);
    }
    free(c->buckets);
    free(c);
}

static entry_t *find(nimbus_render_cache_t *c, const void *key, size_t key_len, uint64_t h)
{
    for (entry_t *e = c->buckets[h & (c->bucket_count - 1)]; e != NULL; e = e->next) {
        if (e->key_hash == h && e->key_len == key_len && memcmp(e->data, key, key_len) == 0) {
            return e;
        }
    }
    return NULL;
}

const nimbus_render_entry_t *nimbus_render_cache_get(nimbus_render_cache_t *c, nimbus_core_t *core,
                                                     const void *key, size_t key_len)
{
    if (c == NULL) {
        return NULL;
    }
    entry_t *e = find(c, key, key_len, nimbus_hash64(key, key_len));
    if (e == NULL) {
        c->stats.misses++;
        return NULL;
    }
    if (!nimbus_core_stamp_fresh(core, &e->pub.stamp)) {
        c->stats.stale++;
        drop(c, e);
        return NULL;
    }
    c->stats.hits++;
    lru_unlink(c, e);
    lru_push(c, e);
    return &e->pub;
}

/* Doubles the bucket array when entries outnumber buckets; a failure only
 * leaves chains longer. */
static void maybe_grow(nimbus_render_cache_t *c)
{
    if (c->stats.entries < c->bucket_count) {
        return;
    }
    size_t n = c->bucket_count * 2;
    size_t extra = (n - c->bucket_count) * sizeof *c->buckets;
    if (c->bytes + extra > c->max_bytes / 4) {
        return; /* the table itself stays a small part of the bound */
    }
    entry_t **b = calloc(n, sizeof *b);
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < c->bucket_count; i++) {
        entry_t *e = c->buckets[i];
        while (e != NULL) {
            entry_t *next = e->next;
            e->next = b[e->key_hash & (n - 1)];
            b[e->key_hash & (n - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->bucket_count = n;
    c->bytes += extra;
}

const nimbus_render_entry_t *nimbus_render_cache_put(nimbus_render_cache_t *c, const void *key,
                                                     size_t key_len, const nimbus_stamp_t *stamp,
                                                     const char *body, size_t len)
{
    if (c == NULL) {
        return NULL;
    }
    uint64_t h = nimbus_hash64(key, key_len);
    entry_t *old = find(c, key, key_len, h);
    if (old != NULL) {
        drop(c, old);
    }
    size_t size = sizeof(entry_t) + key_len + len;
    if (size < len || len > c->max_bytes / 8 || size > c->max_bytes / 8) {
        return NULL;
    }
    entry_t *e = malloc(size);
    if (e == NULL) {
        return NULL;
    }
    while (c->oldest != NULL && c->bytes + size > c->max_bytes) {
        c->stats.evictions++;
        drop(c, c->oldest);
    }
    if (c->bytes + size > c->max_bytes) {
        free(e); /* the bound is smaller than the table and this entry */
        return NULL;
    }
    memcpy(e->data, key, key_len);
    memcpy(e->data + key_len, body, len);
    e->pub = (nimbus_render_entry_t){e->data + key_len, len, nimbus_hash64(body, len), *stamp};
    e->cache = c;
    e->key_hash = h;
    e->key_len = key_len;
    e->size = size;
    e->refs = 0;
    size_t b = h & (c->bucket_count - 1);
    e->next = c->buckets[b];
    c->buckets[b] = e;
    lru_push(c, e);
    c->bytes += size;
    c->stats.entries++;
    maybe_grow(c);
    return &e->pub;
}

void nimbus_render_entry_hold(const nimbus_render_entry_t *pub)
{
    ((entry_t *)(void *)pub)->refs++;
}

void nimbus_render_entry_release(const nimbus_render_entry_t *pub)
{
    entry_t *e = (entry_t *)(void *)pub;
    if (--e->refs == 0 && e->cache == NULL) {
        free(e);
    }
}

void nimbus_render_cache_stats(const nimbus_render_cache_t *c, nimbus_render_stats_t *out)
{
    if (c == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = c->stats;
    out->bytes = c->bytes;
}
