/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of json_api/stream_hub.c, the per-worker fan-out queue: order,
 * wake-ups only on empty -> non-empty, the "prefix then lost tail" window
 * when full or inactive, and a multi-threaded publish/take run in which
 * every seq is either taken once, in order, or covered by a loss mark.
 */
#include <pthread.h>
#include <string.h>

#include "nimbus_cunit.h"

#include "stream_hub.h"

static int wakes;

static void count_wake(void *arg)
{
    (void)arg;
    __atomic_add_fetch(&wakes, 1, __ATOMIC_SEQ_CST);
}

static void fill(nimbus_observation_t *obs, size_t n, int64_t first_seq)
{
    memset(obs, 0, n * sizeof *obs);
    for (size_t i = 0; i < n; i++) {
        strcpy(obs[i].station_id, "S1");
        obs[i].seq = first_seq + (int64_t)i;
    }
}

static void test_order_and_wake(void)
{
    wakes = 0;
    nimbus_stream_hub_t *hub = nimbus__stream_hub_new(16, count_wake, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hub);
    nimbus__stream_hub_set_active(hub, true);
    nimbus_observation_t obs[5];
    fill(obs, 3, 1);
    nimbus__stream_hub_publish(hub, obs, 3);
    fill(obs, 2, 4);
    nimbus__stream_hub_publish(hub, obs, 2);
    CU_ASSERT_EQUAL(wakes, 1); /* only the first publish into an empty queue */
    const nimbus_observation_t *items;
    size_t count;
    int64_t lost;
    CU_ASSERT_TRUE(nimbus__stream_hub_take(hub, &items, &count, &lost));
    CU_ASSERT_EQUAL(count, 5);
    CU_ASSERT_EQUAL(lost, 0);
    for (size_t i = 0; i < count; i++) {
        CU_ASSERT_EQUAL(items[i].seq, (int64_t)i + 1);
    }
    CU_ASSERT_FALSE(nimbus__stream_hub_take(hub, &items, &count, &lost));
    CU_ASSERT_EQUAL(count, 0);
    nimbus__stream_hub_publish(hub, obs, 1);
    CU_ASSERT_EQUAL(wakes, 2);
    nimbus__stream_hub_free(hub);
}

static void test_overflow_is_a_lost_tail(void)
{
    nimbus_stream_hub_t *hub = nimbus__stream_hub_new(4, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hub);
    nimbus__stream_hub_set_active(hub, true);
    nimbus_observation_t obs[10];
    fill(obs, 6, 1);
    nimbus__stream_hub_publish(hub, obs, 6); /* 1..4 fit, 5..6 lost */
    const nimbus_observation_t *items;
    size_t count;
    int64_t lost;
    CU_ASSERT_TRUE(nimbus__stream_hub_take(hub, &items, &count, &lost));
    CU_ASSERT_EQUAL(count, 4);
    CU_ASSERT_EQUAL(items[3].seq, 4);
    CU_ASSERT_EQUAL(lost, 6);
    /* After a take there is room again, and no loss is left over. */
    fill(obs, 2, 7);
    nimbus__stream_hub_publish(hub, obs, 2);
    CU_ASSERT_TRUE(nimbus__stream_hub_take(hub, &items, &count, &lost));
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT_EQUAL(items[0].seq, 7);
    CU_ASSERT_EQUAL(lost, 0);
    nimbus__stream_hub_free(hub);
}

static void test_inactive_and_after_loss(void)
{
    nimbus_stream_hub_t *hub = nimbus__stream_hub_new(8, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hub);
    nimbus_observation_t obs[4];
    fill(obs, 2, 1);
    nimbus__stream_hub_publish(hub, obs, 2); /* inactive: lost */
    nimbus__stream_hub_set_active(hub, true);
    fill(obs, 2, 3);
    nimbus__stream_hub_publish(hub, obs, 2); /* after a loss in the window: lost too */
    const nimbus_observation_t *items;
    size_t count;
    int64_t lost;
    CU_ASSERT_TRUE(nimbus__stream_hub_take(hub, &items, &count, &lost));
    CU_ASSERT_EQUAL(count, 0);
    CU_ASSERT_EQUAL(lost, 4);
    fill(obs, 1, 5);
    nimbus__stream_hub_publish(hub, obs, 1);
    CU_ASSERT_TRUE(nimbus__stream_hub_take(hub, &items, &count, &lost));
    CU_ASSERT_EQUAL(count, 1);
    CU_ASSERT_EQUAL(lost, 0);
    nimbus__stream_hub_free(hub);
}

#define WRITERS_TOTAL 200000

static int64_t next_seq;
static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;

/* Like the core: seqs assigned and published under one write lock. */
static void *writer(void *arg)
{
    nimbus_stream_hub_t *hub = arg;
    nimbus_observation_t obs[3];
    for (;;) {
        pthread_mutex_lock(&writer_lock);
        if (next_seq >= WRITERS_TOTAL) {
            pthread_mutex_unlock(&writer_lock);
            return NULL;
        }
        fill(obs, 3, next_seq + 1);
        next_seq += 3;
        nimbus__stream_hub_publish(hub, obs, 3);
        pthread_mutex_unlock(&writer_lock);
    }
}

static void test_threads(void)
{
    nimbus_stream_hub_t *hub = nimbus__stream_hub_new(64, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hub);
    nimbus__stream_hub_set_active(hub, true);
    next_seq = 0;
    pthread_t t[3];
    for (int i = 0; i < 3; i++) {
        pthread_create(&t[i], NULL, writer, hub);
    }
    int64_t covered = 0; /* every seq <= covered was taken or marked lost */
    int ok = 1;
    size_t taken = 0;
    for (;;) {
        /* Read `done` before draining: publishes happen under writer_lock,
         * so once it is true the drain below sees every one of them. */
        pthread_mutex_lock(&writer_lock);
        int done = next_seq >= WRITERS_TOTAL;
        pthread_mutex_unlock(&writer_lock);
        const nimbus_observation_t *items;
        size_t count;
        int64_t lost;
        while (nimbus__stream_hub_take(hub, &items, &count, &lost)) {
            for (size_t i = 0; i < count; i++) {
                if (items[i].seq != covered + 1) {
                    ok = 0;
                }
                covered = items[i].seq;
            }
            taken += count;
            if (lost) {
                if (lost <= covered) {
                    ok = 0;
                }
                covered = lost;
            }
        }
        if (done) {
            break;
        }
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(t[i], NULL);
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_TRUE(taken > 0);
    pthread_mutex_lock(&writer_lock);
    CU_ASSERT_EQUAL(covered, next_seq);
    pthread_mutex_unlock(&writer_lock);
    nimbus__stream_hub_free(hub);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"order and wake-ups", test_order_and_wake},
        {"a full queue keeps a prefix and marks a lost tail", test_overflow_is_a_lost_tail},
        {"inactive queue and publishes after a loss", test_inactive_and_after_loss},
        {"publishers on three threads, one taker", test_threads},
        {NULL, NULL},
    };
    return nimbus_test_run("stream_hub", cases);
}
