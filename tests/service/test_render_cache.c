/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/render_cache.c: an answer is served back byte for byte
 * while its stamp is fresh and never after a write that changed what it
 * depends on; the cache stays within its bound (at the bound everything
 * fits, one byte past it the oldest goes); a body over an eighth of the
 * bound is not kept; an entry lent to an output buffer survives its
 * eviction until released (ASan checks the use after eviction).
 */
#include <stdio.h>
#include <string.h>

#include "nimbus_render_cache.h"
#include "test_util.h"

static nimbus_stamp_t weather_stamp(nimbus_core_t *core, const char *id)
{
    nimbus_stamp_t s;
    CU_ASSERT_TRUE(nimbus_core_stamp(core, NIMBUS_OP_GetWeather,
                                     &(nimbus_request_t){.get_weather = {id}}, &s));
    return s;
}

static void test_fresh_until_written(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_render_cache_t *c = nimbus_render_cache_new(1 << 20);
    nimbus_stamp_t s = weather_stamp(core, "a");
    const char body[] = "{\"station\":{\"id\":\"a\"}}";
    const nimbus_render_entry_t *e =
        nimbus_render_cache_put(c, "w/a", 3, &s, body, sizeof body - 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->hash, nimbus_hash64(body, sizeof body - 1));
    const nimbus_render_entry_t *got = nimbus_render_cache_get(c, core, "w/a", 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_EQUAL(got->len, sizeof body - 1);
    CU_ASSERT_EQUAL(memcmp(got->body, body, got->len), 0);
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(c, core, "w/b", 3)); /* another key */
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(c, core, "w/", 2));  /* a prefix */

    nimbus_observation_t o = nimbus_test_obs(1714564800, 3);
    nimbus_record_observations_response_t res;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", &o, 1, &res, &err), 0);
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(c, core, "w/a", 3));
    nimbus_render_stats_t st;
    nimbus_render_cache_stats(c, &st);
    CU_ASSERT_EQUAL(st.hits, 1);
    CU_ASSERT_EQUAL(st.stale, 1);
    CU_ASSERT_EQUAL(st.misses, 2);
    CU_ASSERT_EQUAL(st.entries, 0);
    nimbus_render_cache_free(c);
    nimbus_test_close(core, svc);
}

/* Fills a cache with equal entries: the bound is what they add up to. */
static void test_bound(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_stamp_t s = weather_stamp(core, "a");
    char body[1000];
    memset(body, 'x', sizeof body);
    /* What one entry counts for: measured on a roomy cache. */
    nimbus_render_cache_t *probe = nimbus_render_cache_new(1 << 20);
    nimbus_render_stats_t st0, st1;
    nimbus_render_cache_stats(probe, &st0);
    nimbus_render_cache_put(probe, "k000", 4, &s, body, sizeof body);
    nimbus_render_cache_stats(probe, &st1);
    size_t table = st0.bytes, one = st1.bytes - st0.bytes;
    nimbus_render_cache_free(probe);

    /* Exactly eight entries' room (each body is an eighth, the largest
     * kept): all eight stay. */
    size_t bound = table + 8 * one;
    nimbus_render_cache_t *c = nimbus_render_cache_new(bound);
    char key[8];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        CU_ASSERT_PTR_NOT_NULL(nimbus_render_cache_put(c, key, 4, &s, body, sizeof body));
    }
    nimbus_render_cache_stats(c, &st1);
    CU_ASSERT_EQUAL(st1.entries, 8);
    CU_ASSERT_EQUAL(st1.bytes, bound);
    CU_ASSERT_EQUAL(st1.evictions, 0);
    /* Touch k000 so k001 is the least recently used, then one more. */
    CU_ASSERT_PTR_NOT_NULL(nimbus_render_cache_get(c, core, "k000", 4));
    CU_ASSERT_PTR_NOT_NULL(nimbus_render_cache_put(c, "k008", 4, &s, body, sizeof body));
    nimbus_render_cache_stats(c, &st1);
    CU_ASSERT_EQUAL(st1.entries, 8);
    CU_ASSERT_TRUE(st1.bytes <= bound);
    CU_ASSERT_EQUAL(st1.evictions, 1);
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(c, core, "k001", 4));
    CU_ASSERT_PTR_NOT_NULL(nimbus_render_cache_get(c, core, "k000", 4));
    nimbus_render_cache_free(c);

    /* One byte less: the ninth entry would not fit beside eight. */
    c = nimbus_render_cache_new(bound - 1);
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "k%03d", i);
        nimbus_render_cache_put(c, key, 4, &s, body, sizeof body);
    }
    nimbus_render_cache_stats(c, &st1);
    CU_ASSERT_EQUAL(st1.entries, 7);
    CU_ASSERT_TRUE(st1.bytes <= bound - 1);
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(c, core, "k000", 4));
    nimbus_render_cache_free(c);
    nimbus_test_close(core, svc);
}

static void test_large_bodies_not_kept(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_stamp_t s = weather_stamp(core, "a");
    static char body[1 << 16];
    memset(body, 'y', sizeof body);
    nimbus_render_cache_t *c = nimbus_render_cache_new(8 * sizeof body);
    /* An eighth of the bound less the entry's own overhead fits... */
    size_t fits = sizeof body - 256;
    CU_ASSERT_PTR_NOT_NULL(nimbus_render_cache_put(c, "big", 3, &s, body, fits));
    /* ...an eighth of it and more does not. */
    CU_ASSERT_PTR_NULL(nimbus_render_cache_put(c, "bigger", 6, &s, body, sizeof body));
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(c, core, "bigger", 6));
    nimbus_render_cache_free(c);
    /* A cache of 0 bytes keeps nothing, and a NULL cache is a miss. */
    c = nimbus_render_cache_new(0);
    CU_ASSERT_PTR_NULL(nimbus_render_cache_put(c, "k", 1, &s, "v", 1));
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(c, core, "k", 1));
    nimbus_render_cache_free(c);
    CU_ASSERT_PTR_NULL(nimbus_render_cache_get(NULL, core, "k", 1));
    nimbus_test_close(core, svc);
}

static void test_lent_entry_outlives_eviction(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_stamp_t s = weather_stamp(core, "a");
    nimbus_render_cache_t *c = nimbus_render_cache_new(1 << 20);
    const nimbus_render_entry_t *e = nimbus_render_cache_put(c, "k", 1, &s, "first", 5);
    nimbus_render_entry_hold(e);
    /* Replaced under the same key while lent: the old bytes stay readable. */
    nimbus_render_cache_put(c, "k", 1, &s, "second", 6);
    CU_ASSERT_EQUAL(memcmp(e->body, "first", 5), 0);
    nimbus_render_entry_release(e);
    const nimbus_render_entry_t *now = nimbus_render_cache_get(c, core, "k", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(now);
    CU_ASSERT_EQUAL(memcmp(now->body, "second", 6), 0);
    /* Lent when the cache goes. */
    nimbus_render_entry_hold(now);
    nimbus_render_cache_free(c);
    CU_ASSERT_EQUAL(memcmp(now->body, "second", 6), 0);
    nimbus_render_entry_release(now);
    nimbus_test_close(core, svc);
}

/* Many keys: the table grows and every one is found again. */
static void test_many_keys(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_stamp_t s = weather_stamp(core, "a");
    nimbus_render_cache_t *c = nimbus_render_cache_new(64 << 20);
    char key[32], body[32];
    for (int i = 0; i < 20000; i++) {
        int kl = snprintf(key, sizeof key, "/v1/stations/s%d", i);
        int bl = snprintf(body, sizeof body, "{\"n\":%d}", i);
        nimbus_render_cache_put(c, key, (size_t)kl, &s, body, (size_t)bl);
    }
    int found = 0;
    for (int i = 0; i < 20000; i++) {
        int kl = snprintf(key, sizeof key, "/v1/stations/s%d", i);
        int bl = snprintf(body, sizeof body, "{\"n\":%d}", i);
        const nimbus_render_entry_t *e = nimbus_render_cache_get(c, core, key, (size_t)kl);
        found += e != NULL && e->len == (size_t)bl && memcmp(e->body, body, e->len) == 0;
    }
    CU_ASSERT_EQUAL(found, 20000);
    nimbus_render_cache_free(c);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"fresh until written", test_fresh_until_written},
        {"bound", test_bound},
        {"large bodies not kept", test_large_bodies_not_kept},
        {"lent entry outlives eviction", test_lent_entry_outlives_eviction},
        {"many keys", test_many_keys},
        {NULL, NULL},
    };
    return nimbus_test_run("render_cache", cases);
}
