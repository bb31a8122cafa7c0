/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/hub.c with service/write.c: listeners hear every stored
 * observation (new and corrected, never duplicates) once, in seq order,
 * even with several threads writing at once; the head seq reported at
 * registration splits what a listener sees from what it does not; and once
 * nimbus_core_unlisten returns, the listener is never called again.
 */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../service/service_internal.h"
#include "test_util.h"

typedef struct collected {
    int64_t seqs[8192];
    char ids[8192][NIMBUS_STATION_ID_MAX + 1];
    size_t count;
    size_t calls;
} collected_t;

/* Called with the write lock held, so no locking of its own is needed. */
static void collect(void *arg, const nimbus_observation_t *obs, size_t count)
{
    collected_t *c = arg;
    c->calls++;
    for (size_t i = 0; i < count && c->count < 8192; i++) {
        c->seqs[c->count] = obs[i].seq;
        strcpy(c->ids[c->count], obs[i].station_id);
        c->count++;
    }
}

static void test_delivery(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    nimbus_observation_t obs[3] = {nimbus_test_obs(1, 1), nimbus_test_obs(2, 2),
                                   nimbus_test_obs(3, 3)};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 2, &res, &err), 0);

    collected_t *c = calloc(1, sizeof(*c));
    int64_t head = -1;
    int id = nimbus_core_listen(core, collect, c, &head, &err);
    CU_ASSERT_TRUE(id > 0);
    CU_ASSERT_EQUAL(head, 2); /* the two before are not delivered */

    obs[0].temperature.value = 9; /* correction */
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 3, &res, &err), 0);
    CU_ASSERT_EQUAL(res.duplicates, 1);
    CU_ASSERT_EQUAL(c->calls, 1);
    CU_ASSERT_EQUAL_FATAL(c->count, 2);
    CU_ASSERT_EQUAL(c->seqs[0], 3);
    CU_ASSERT_EQUAL(c->seqs[1], 4);
    CU_ASSERT_STRING_EQUAL(c->ids[0], "a");

    /* Duplicates only: no call at all. Station writes: no call. */
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 3, &res, &err), 0);
    nimbus_test_create(svc, "b", "Berlin", "DE");
    CU_ASSERT_EQUAL(c->calls, 1);
    /* A refused batch publishes nothing. */
    obs[2].humidity = (nimbus_opt_double_t){true, -1};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 3, &res, &err), -1);
    CU_ASSERT_EQUAL(c->calls, 1);

    nimbus_core_unlisten(core, id);
    nimbus_observation_t later = nimbus_test_obs(50, 1);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", &later, 1, &res, &err), 0);
    CU_ASSERT_EQUAL(c->calls, 1);
    nimbus_core_unlisten(core, id); /* unknown ids are ignored */
    free(c);
    nimbus_test_close(core, svc);
}

#define WRITERS 4
#define BATCHES 40

typedef struct writer {
    nimbus_core_t *core;
    int index;
    int failures;
} writer_t;

static void *write_batches(void *arg)
{
    writer_t *w = arg;
    nimbus_error_t err;
    nimbus_service_t *svc = nimbus_service_new(w->core, &err);
    if (svc == NULL) {
        w->failures++;
        return NULL;
    }
    char id[8];
    snprintf(id, sizeof(id), "w%d", w->index);
    for (int b = 0; b < BATCHES; b++) {
        nimbus_observation_t obs[5];
        for (int i = 0; i < 5; i++) {
            obs[i] = nimbus_test_obs(b * 5 + i, w->index);
        }
        nimbus_record_observations_request_t req = {id, obs, 5};
        nimbus_record_observations_response_t res = {0};
        if (nimbus_service_record_observations(svc, &nimbus_test_trusted, &req, &res, &err) != 0 ||
            res.accepted != 5 || res.last_seq - res.first_seq != 4) {
            w->failures++;
        }
    }
    nimbus_service_free(svc);
    return NULL;
}

/* A fresh core and service with one station per writer ("w0", "w1", ...). */
static void open_with_writer_stations(nimbus_core_t **core, nimbus_service_t **svc)
{
    nimbus_test_open(core, svc);
    for (int i = 0; i < WRITERS; i++) {
        char id[8];
        snprintf(id, sizeof(id), "w%d", i);
        nimbus_test_create(*svc, id, "Berlin", "DE");
    }
}

static void start_writers(nimbus_core_t *core, pthread_t threads[WRITERS],
                          writer_t writers[WRITERS])
{
    for (int i = 0; i < WRITERS; i++) {
        writers[i] = (writer_t){core, i, 0};
        pthread_create(&threads[i], NULL, write_batches, &writers[i]);
    }
}

static void test_concurrent_order(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    open_with_writer_stations(&core, &svc);
    nimbus_error_t err;
    collected_t *c = calloc(1, sizeof(*c));
    int id = nimbus_core_listen(core, collect, c, NULL, &err);
    CU_ASSERT_TRUE_FATAL(id > 0);
    pthread_t threads[WRITERS];
    writer_t writers[WRITERS];
    start_writers(core, threads, writers);
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(threads[i], NULL);
        CU_ASSERT_EQUAL(writers[i].failures, 0);
    }
    /* Every seq exactly once, in order, no gap. */
    CU_ASSERT_EQUAL_FATAL(c->count, WRITERS * BATCHES * 5);
    for (size_t i = 0; i < c->count; i++) {
        CU_ASSERT_EQUAL(c->seqs[i], (int64_t)i + 1);
    }
    /* One call per committed group: the writer may have put several
     * writers' batches in one transaction, never one batch in two. */
    CU_ASSERT_TRUE(c->calls >= 1 && c->calls <= WRITERS * BATCHES);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), WRITERS * BATCHES * 5);
    nimbus_core_unlisten(core, id);
    free(c);
    nimbus_test_close(core, svc);
}

/* Registering while writers run: the head seq reported splits the stream
 * exactly, the listener's first seq is head + 1 and nothing is missing
 * after it (what a stream subscriber's replay-then-live relies on). */
static void test_listen_during_writes(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    open_with_writer_stations(&core, &svc);
    nimbus_error_t err;
    pthread_t threads[WRITERS];
    writer_t writers[WRITERS];
    start_writers(core, threads, writers);
    for (int wait = 0; wait < 100000 && nimbus_core_head_seq(core) < 50; wait++) {
        usleep(100); /* bounded: a failed writer must not hang the test */
    }
    collected_t *c = calloc(1, sizeof(*c));
    int64_t head = -1;
    int id = nimbus_core_listen(core, collect, c, &head, &err);
    CU_ASSERT_TRUE(id > 0);
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(threads[i], NULL);
    }
    nimbus_core_unlisten(core, id);
    int64_t final = nimbus_core_head_seq(core);
    CU_ASSERT_EQUAL(final, WRITERS * BATCHES * 5);
    CU_ASSERT_TRUE(head >= 50);
    CU_ASSERT_EQUAL_FATAL(c->count, (size_t)(final - head));
    for (size_t i = 0; i < c->count; i++) {
        CU_ASSERT_EQUAL(c->seqs[i], head + 1 + (int64_t)i);
    }
    free(c);
    nimbus_test_close(core, svc);
}

typedef struct slow {
    atomic_int calls;
    atomic_int after_unlisten;
    atomic_bool unlistened;
} slow_t;

static void slow_listener(void *arg, const nimbus_observation_t *obs, size_t count)
{
    slow_t *s = arg;
    (void)obs;
    (void)count;
    atomic_fetch_add(&s->calls, 1);
    usleep(2000);
    if (atomic_load(&s->unlistened)) {
        atomic_fetch_add(&s->after_unlisten, 1);
    }
}

static void test_unlisten_waits(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    open_with_writer_stations(&core, &svc);
    nimbus_error_t err;
    slow_t s;
    atomic_init(&s.calls, 0);
    atomic_init(&s.after_unlisten, 0);
    atomic_init(&s.unlistened, false);
    int id = nimbus_core_listen(core, slow_listener, &s, NULL, &err);
    pthread_t thread;
    writer_t w = {core, 1, 0};
    pthread_create(&thread, NULL, write_batches, &w);
    for (int wait = 0; wait < 20000 && atomic_load(&s.calls) < 3; wait++) {
        usleep(500);
    }
    CU_ASSERT_TRUE(atomic_load(&s.calls) >= 3);
    nimbus_core_unlisten(core, id);
    atomic_store(&s.unlistened, true);
    int calls = atomic_load(&s.calls);
    pthread_join(thread, NULL);
    CU_ASSERT_EQUAL(w.failures, 0);
    CU_ASSERT_EQUAL(atomic_load(&s.after_unlisten), 0);
    CU_ASSERT_EQUAL(atomic_load(&s.calls), calls);
    nimbus_test_close(core, svc);
}

static void noop(void *arg, const nimbus_observation_t *obs, size_t count)
{
    (void)arg;
    (void)obs;
    (void)count;
}

static void test_listener_limit(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    int last = 0;
    for (int i = 0; i < NIMBUS__LISTENER_MAX; i++) {
        last = nimbus_core_listen(core, noop, NULL, NULL, &err);
        if (last <= 0) {
            break;
        }
    }
    CU_ASSERT_TRUE(last > 0);
    CU_ASSERT_EQUAL(nimbus_core_listen(core, noop, NULL, NULL, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_RESOURCE_EXHAUSTED);
    nimbus_core_unlisten(core, last);
    CU_ASSERT_TRUE(nimbus_core_listen(core, noop, NULL, NULL, &err) > 0);
    CU_ASSERT_EQUAL(nimbus_core_listen(core, NULL, NULL, NULL, &err), -1);
    nimbus_test_close(core, svc);
}

static void count_calls(void *arg, const nimbus_observation_t *obs, size_t count)
{
    (void)obs;
    (void)count;
    (*(int *)arg)++;
}

/* Listener ids stay > 0 and unique when the counter wraps: no signed
 * overflow at INT_MAX (UBSan), and an id still held by a long-lived
 * listener is never handed out again, or unlistening the newcomer would
 * silently unsubscribe the old one. */
static void test_listener_ids_wrap(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    int calls[3] = {0, 0, 0};
    core->next_listener_id = INT_MAX;
    int first = nimbus_core_listen(core, count_calls, &calls[0], NULL, &err);
    int second = nimbus_core_listen(core, count_calls, &calls[1], NULL, &err);
    CU_ASSERT_EQUAL(first, INT_MAX);
    CU_ASSERT_EQUAL(second, 1);
    core->next_listener_id = INT_MAX; /* as if 2^31 listeners had come and gone */
    int third = nimbus_core_listen(core, count_calls, &calls[2], NULL, &err);
    CU_ASSERT_TRUE(third > 0);
    CU_ASSERT_NOT_EQUAL(third, first);
    CU_ASSERT_NOT_EQUAL(third, second);
    nimbus_core_unlisten(core, third);
    nimbus_record_observations_response_t res;
    nimbus_observation_t obs = nimbus_test_obs(1, 1);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", &obs, 1, &res, &err), 0);
    CU_ASSERT_EQUAL(calls[0], 1);
    CU_ASSERT_EQUAL(calls[1], 1);
    CU_ASSERT_EQUAL(calls[2], 0);
    nimbus_core_unlisten(core, first);
    nimbus_core_unlisten(core, second);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"delivery, duplicates and head seq", test_delivery},
        {"seq order across concurrent writers", test_concurrent_order},
        {"listen while writers run", test_listen_during_writes},
        {"unlisten waits for a running listener", test_unlisten_waits},
        {"listener limit", test_listener_limit},
        {"listener ids wrap without overflow or reuse", test_listener_ids_wrap},
        {NULL, NULL},
    };
    return nimbus_test_run("hub", cases);
}
