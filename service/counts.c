/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A thread-safe count per name with limits (nimbus_util.h): open
 * addressing with linear probing and backward-shift deletion, so a name
 * whose count drops to zero leaves no tombstone and a flood of distinct
 * names costs only while they are held. The HTTP host counts connections
 * per client address with it, the core subscriptions per key.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_util.h"

typedef struct slot {
    char name[NIMBUS_COUNTS_NAME_MAX];
    size_t count; /* 0: free */
} slot_t;

struct nimbus_counts {
    pthread_mutex_t lock;
    size_t total;
    slot_t *slots;
    size_t cap; /* a power of two, at least twice what is in use */
    size_t used;
};

nimbus_counts_t *nimbus_counts_new(void)
{
    nimbus_counts_t *t = calloc(1, sizeof *t);
    if (!t) {
        return NULL;
    }
    t->cap = 256;
    t->slots = calloc(t->cap, sizeof *t->slots);
    if (!t->slots || pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t->slots);
        free(t);
        return NULL;
    }
    return t;
}

void nimbus_counts_free(nimbus_counts_t *t)
{
    if (t) {
        pthread_mutex_destroy(&t->lock);
        free(t->slots);
        free(t);
    }
}

size_t nimbus_counts_total(nimbus_counts_t *t)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->total;
    pthread_mutex_unlock(&t->lock);
    return n;
}

static size_t name_hash(const char *s)
{
    size_t h = 2166136261u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

static slot_t *slot_of(slot_t *slots, size_t cap, const char *name)
{
    size_t i = name_hash(name) & (cap - 1);
    while (slots[i].count != 0 && strcmp(slots[i].name, name) != 0) {
        i = (i + 1) & (cap - 1);
    }
    return &slots[i];
}

static bool grow(nimbus_counts_t *t)
{
    size_t cap = t->cap * 2;
    slot_t *s = calloc(cap, sizeof *s);
    if (!s) {
        return false;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].count != 0) {
            *slot_of(s, cap, t->slots[i].name) = t->slots[i];
        }
    }
    free(t->slots);
    t->slots = s;
    t->cap = cap;
    return true;
}

int nimbus_counts_take(nimbus_counts_t *t, const char *name, size_t per_name, size_t total)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    if (total && t->total >= total) {
        rc = 1;
    } else if ((t->used + 1) * 2 > t->cap && !grow(t)) {
        rc = -1;
    } else {
        slot_t *s = slot_of(t->slots, t->cap, name);
        if (per_name && s->count >= per_name) {
            rc = 2;
        } else {
            if (s->count == 0) {
                snprintf(s->name, sizeof s->name, "%s", name);
                t->used++;
            }
            s->count++;
            t->total++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void nimbus_counts_give(nimbus_counts_t *t, const char *name)
{
    pthread_mutex_lock(&t->lock);
    slot_t *s = slot_of(t->slots, t->cap, name);
    if (s->count > 0) {
        t->total--;
        if (--s->count == 0) {
            t->used--;
            size_t i = (size_t)(s - t->slots);
            size_t j = i;
            for (;;) {
                j = (j + 1) & (t->cap - 1);
                if (t->slots[j].count == 0) {
                    break;
                }
                size_t home = name_hash(t->slots[j].name) & (t->cap - 1);
                /* Move j back to i unless its home lies cyclically in (i, j]. */
                bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
                if (!stays) {
                    t->slots[i] = t->slots[j];
                    t->slots[j].count = 0;
                    i = j;
                }
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
}
