/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Rate limits: a token bucket per API key (per client address when the
 * server has no keys), shared by SOAP, REST and WebSocket calls, since all
 * of them come through nimbus_core_admit. --rate tokens a second refill a
 * bucket of at most --burst; each call takes one. An empty bucket refuses
 * with RESOURCE_EXHAUSTED and the whole seconds until a token is back.
 *
 * Buckets live in one table under one lock (a call holds it for a few
 * dozen instructions). The table is bounded: a subject idle long enough to
 * have refilled its bucket is the same as one never seen, so when the
 * table is full such an entry is reused, and failing that the least
 * recently used; a flood of distinct client addresses therefore costs no
 * memory, only, at worst, an earlier refill for someone idle.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "service_internal.h"

int nimbus_core_set_rate(nimbus_core_t *core, double per_second, double burst, nimbus_error_t *err)
{
    nimbus__rates_t *r = &core->rates;
    if (per_second > 0 && !r->buckets) {
        r->buckets = calloc(NIMBUS__RATE_SLOTS, sizeof *r->buckets);
        if (!r->buckets) {
            return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        }
    }
    pthread_mutex_lock(&r->lock);
    r->per_second = per_second > 0 ? per_second : 0;
    r->burst = burst >= 1 ? burst : 1;
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static size_t subject_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    }
    return h;
}

/* The bucket of subject, found or made (reusing an idle or the least
 * recently used entry near its slot). Under the lock. */
static nimbus__bucket_t *bucket_of(nimbus__rates_t *r, const char *subject, uint64_t now)
{
    size_t home = subject_hash(subject) % NIMBUS__RATE_SLOTS;
    nimbus__bucket_t *reusable = NULL, *oldest = NULL;
    for (size_t i = 0; i < NIMBUS__RATE_PROBES; i++) {
        nimbus__bucket_t *b = &r->buckets[(home + i) % NIMBUS__RATE_SLOTS];
        if (b->subject[0] == '\0') {
            if (!reusable) {
                reusable = b;
            }
            continue;
        }
        if (strcmp(b->subject, subject) == 0) {
            return b;
        }
        /* Refilled by now: the same as a subject never seen. */
        double refill = (double)(now - b->last_us) / 1e6 * r->per_second;
        if (!reusable && b->tokens + refill >= r->burst) {
            reusable = b;
        }
        if (!oldest || b->last_us < oldest->last_us) {
            oldest = b;
        }
    }
    nimbus__bucket_t *b = reusable ? reusable : oldest;
    snprintf(b->subject, sizeof b->subject, "%s", subject);
    b->tokens = r->burst;
    b->last_us = now;
    return b;
}

bool nimbus__rate_limited(const nimbus_core_t *core)
{
    return core->rates.per_second > 0;
}

int nimbus__rate_take(nimbus_core_t *core, const char *subject, nimbus_error_t *err)
{
    nimbus__rates_t *r = &core->rates;
    if (r->per_second <= 0) {
        return 0; /* unlimited (read without the lock: set before serving) */
    }
    uint64_t now = nimbus_clock_us(CLOCK_MONOTONIC);
    pthread_mutex_lock(&r->lock);
    nimbus__bucket_t *b = bucket_of(r, subject, now);
    double tokens = b->tokens + (double)(now - b->last_us) / 1e6 * r->per_second;
    if (tokens > r->burst) {
        tokens = r->burst;
    }
    b->last_us = now;
    int retry = 0;
    if (tokens >= 1) {
        b->tokens = tokens - 1;
    } else {
        b->tokens = tokens;
        retry = (int)ceil((1 - tokens) / r->per_second);
        if (retry < 1) {
            retry = 1;
        }
    }
    double rate = r->per_second;
    pthread_mutex_unlock(&r->lock);
    if (retry == 0) {
        return 0;
    }
    nimbus__metrics_rate_refused(core);
    nimbus_error_set(err, NIMBUS_RESOURCE_EXHAUSTED,
                     "rate limit of %g calls a second exceeded; retry in %d s", rate, retry);
    if (err) {
        err->retry_after_s = retry;
    }
    return -1;
}
