/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/follow.c on PostgreSQL: two cores on one database in one
 * process stand for two Nimbus nodes. Writes through both, from several
 * threads at once, get strictly increasing seqs that are never reused; a
 * hub listener of one core hears every observation stored through either,
 * in seq order, exactly once; the other core's writes make this core's kept
 * answers stale (observations and station changes); a follower whose
 * connection is killed reconnects and catches up without a gap or a
 * repeat; a commit whose notification was lost is found by the fallback
 * poll; and a subscriber may resume from a seq it saw through the other
 * core as soon as that core acknowledged it.
 *
 * Run by ctest as service_pg_follow, with NIMBUS_TEST_PG_URI set by the
 * pg_cluster fixture; it fails when the variable is missing.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../service/nimbus_metrics.h"
#include "../../service/service_internal.h"
#include "test_util.h"

#define MAX_SEEN 20000

typedef struct seen {
    int64_t seqs[MAX_SEEN];
    size_t count;
    pthread_mutex_t lock; /* calls come from several threads (hub lock too) */
} seen_t;

static void hear(void *arg, const nimbus_observation_t *obs, size_t count)
{
    seen_t *s = arg;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < count && s->count < MAX_SEEN; i++) {
        s->seqs[s->count++] = obs[i].seq;
    }
    pthread_mutex_unlock(&s->lock);
}

static size_t seen_count(seen_t *s)
{
    pthread_mutex_lock(&s->lock);
    size_t n = s->count;
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Waits up to ms for s to hold n seqs. */
static bool wait_seen(seen_t *s, size_t n, int ms)
{
    for (int i = 0; i < ms / 10 && seen_count(s) < n; i++) {
        usleep(10000);
    }
    return seen_count(s) >= n;
}

/* Two cores ("nodes") on one fresh schema, a service on each. */
typedef struct nodes {
    nimbus_core_t *core[2];
    nimbus_service_t *svc[2];
} nodes_t;

static void open_nodes(nodes_t *n)
{
    char uri[1024];
    snprintf(uri, sizeof uri, "%s", nimbus_test_db_path());
    nimbus_error_t err;
    for (int i = 0; i < 2; i++) {
        n->core[i] = nimbus_core_open(uri, &err);
        if (n->core[i] == NULL) {
            fprintf(stderr, "open %s: %s\n", uri, err.message);
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(n->core[i]);
        n->svc[i] = nimbus_service_new(n->core[i], &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(n->svc[i]);
    }
}

static void close_nodes(nodes_t *n)
{
    for (int i = 0; i < 2; i++) {
        nimbus_test_close(n->core[i], n->svc[i]);
    }
}

typedef struct writer_arg {
    nimbus_core_t *core;
    int index;
    int batches;
    int64_t first[64], last[64];
} writer_arg_t;

static void *write_batches(void *p)
{
    writer_arg_t *w = p;
    nimbus_error_t err;
    nimbus_service_t *svc = nimbus_service_new(w->core, &err);
    if (svc == NULL) {
        return NULL;
    }
    for (int b = 0; b < w->batches; b++) {
        nimbus_observation_t obs[5];
        for (int i = 0; i < 5; i++) {
            obs[i] = nimbus_test_obs(1700000000 + w->index * 100000 + b * 10 + i, i);
        }
        nimbus_record_observations_response_t res;
        if (nimbus_test_record(svc, "s", obs, 5, &res, &err) == 0) {
            w->first[b] = res.first_seq;
            w->last[b] = res.last_seq;
        }
    }
    nimbus_service_free(svc);
    return NULL;
}

static void test_global_seq_and_feed(void)
{
    nodes_t n;
    open_nodes(&n);
    nimbus_test_create(n.svc[0], "s", "Oslo", "NO");
    seen_t *a = calloc(1, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    nimbus_error_t err;
    int64_t head = -1;
    int id = nimbus_core_listen(n.core[0], hear, a, &head, &err);
    CU_ASSERT_TRUE_FATAL(id > 0);
    CU_ASSERT_EQUAL(head, 0);

    /* Eight writers, four through each node, 20 batches of 5 each. */
    enum { WRITERS = 8, BATCHES = 20 };
    writer_arg_t *w = calloc(WRITERS, sizeof *w);
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (writer_arg_t){.core = n.core[i % 2], .index = i, .batches = BATCHES};
        pthread_create(&th[i], NULL, write_batches, &w[i]);
    }
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
    }
    /* Every acknowledged batch: 5 consecutive seqs, and no seq twice. */
    static bool used[WRITERS * BATCHES * 5 + 1];
    memset(used, 0, sizeof used);
    for (int i = 0; i < WRITERS; i++) {
        for (int b = 0; b < BATCHES; b++) {
            CU_ASSERT_EQUAL(w[i].last[b] - w[i].first[b], 4);
            if (b > 0) {
                CU_ASSERT_TRUE(w[i].first[b] > w[i].last[b - 1]); /* one client: increasing */
            }
            for (int64_t q = w[i].first[b]; q <= w[i].last[b]; q++) {
                CU_ASSERT_TRUE_FATAL(q >= 1 && q <= WRITERS * BATCHES * 5);
                CU_ASSERT_FALSE(used[q]);
                used[q] = true;
            }
        }
    }
    /* Node 0's hub heard all of it, in order, once, whichever node wrote. */
    CU_ASSERT_TRUE(wait_seen(a, WRITERS * BATCHES * 5, 10000));
    pthread_mutex_lock(&a->lock);
    CU_ASSERT_EQUAL(a->count, WRITERS * BATCHES * 5);
    for (size_t i = 0; i < a->count; i++) {
        CU_ASSERT_EQUAL(a->seqs[i], (int64_t)i + 1);
    }
    pthread_mutex_unlock(&a->lock);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(n.core[0]), WRITERS * BATCHES * 5);
    nimbus_core_unlisten(n.core[0], id);
    pthread_mutex_destroy(&a->lock);
    free(a);
    free(w);
    close_nodes(&n);
}

static void test_other_nodes_writes_stale_caches(void)
{
    nodes_t n;
    open_nodes(&n);
    nimbus_test_create(n.svc[1], "c", "Oslo", "NO");
    nimbus_get_weather_request_t req = {"c"};
    nimbus_request_t r = {.get_weather = req};
    nimbus_stamp_t stamp;
    /* Node 0 keeps an answer about station c. */
    CU_ASSERT_TRUE(nimbus_core_stamp(n.core[0], NIMBUS_OP_GetWeather, &r, &stamp));
    CU_ASSERT_TRUE(nimbus_core_stamp_fresh(n.core[0], &stamp));
    /* Node 1 records for c: node 0's stamp goes stale once its follower
     * has seen the write. */
    nimbus_observation_t o = nimbus_test_obs(1700000000, 3);
    nimbus_record_observations_response_t res;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_test_record(n.svc[1], "c", &o, 1, &res, &err), 0);
    bool stale = false;
    for (int i = 0; i < 500 && !stale; i++) {
        stale = !nimbus_core_stamp_fresh(n.core[0], &stamp);
        usleep(10000);
    }
    CU_ASSERT_TRUE(stale);
    /* A station change on node 1 stales node 0's station list. */
    nimbus_request_t list = {.list_stations = {0}};
    CU_ASSERT_TRUE(nimbus_core_stamp(n.core[0], NIMBUS_OP_ListStations, &list, &stamp));
    nimbus_update_station_request_t up = {"c", nimbus_test_station("c", "Bergen", "NO")};
    nimbus_update_station_response_t ures;
    memset(&ures, 0, sizeof ures);
    CU_ASSERT_EQUAL(nimbus_service_update_station(n.svc[1], &nimbus_test_trusted, &up, &ures, &err),
                    0);
    stale = false;
    for (int i = 0; i < 500 && !stale; i++) {
        stale = !nimbus_core_stamp_fresh(n.core[0], &stamp);
        usleep(10000);
    }
    CU_ASSERT_TRUE(stale);
    close_nodes(&n);
}

/* Kills node 0's follower connection from the server side. */
static void kill_follower_connection(nimbus_core_t *core)
{
    int pid = PQbackendPID(core->follower.svc->pg);
    PGconn *c = PQconnectdb(nimbus_test_pg_uri());
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%d)", pid);
    PGresult *r = PQexec(c, sql);
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

static void test_follower_reconnects_and_catches_up(void)
{
    nodes_t n;
    open_nodes(&n);
    nimbus_test_create(n.svc[1], "r", "Oslo", "NO");
    seen_t *a = calloc(1, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    nimbus_error_t err;
    int id = nimbus_core_listen(n.core[0], hear, a, NULL, &err);
    CU_ASSERT_TRUE_FATAL(id > 0);
    nimbus_record_observations_response_t res;
    int64_t t = 1700000000;
    for (int round = 0; round < 3; round++) {
        uint64_t reconnects = atomic_load(&n.core[0]->follower.reconnects);
        kill_follower_connection(n.core[0]);
        /* Written while node 0's follower is down or reconnecting. */
        for (int i = 0; i < 5; i++) {
            nimbus_observation_t o = nimbus_test_obs(t++, i);
            CU_ASSERT_EQUAL(nimbus_test_record(n.svc[1], "r", &o, 1, &res, &err), 0);
        }
        CU_ASSERT_TRUE(wait_seen(a, (size_t)(round + 1) * 5, 10000));
        for (int i = 0; i < 300 && atomic_load(&n.core[0]->follower.reconnects) == reconnects;
             i++) {
            usleep(10000);
        }
        CU_ASSERT_TRUE(atomic_load(&n.core[0]->follower.reconnects) > reconnects);
    }
    usleep(200000); /* a repeat would have arrived by now */
    pthread_mutex_lock(&a->lock);
    CU_ASSERT_EQUAL(a->count, 15);
    for (size_t i = 0; i < a->count; i++) {
        CU_ASSERT_EQUAL(a->seqs[i], (int64_t)i + 1);
    }
    pthread_mutex_unlock(&a->lock);
    nimbus_core_unlisten(n.core[0], id);
    pthread_mutex_destroy(&a->lock);
    free(a);
    close_nodes(&n);
}

/* A commit whose notification never came (as if lost with a connection)
 * is found by the fallback poll, at the interval nimbus_core_set_follow_poll
 * set, which takes effect at once rather than after the wait under way. */
static void test_fallback_poll_finds_unnotified_rows(void)
{
    nodes_t n;
    open_nodes(&n);
    nimbus_test_create(n.svc[1], "q", "Oslo", "NO");
    seen_t *a = calloc(1, sizeof *a);
    pthread_mutex_init(&a->lock, NULL);
    nimbus_error_t err;
    int id = nimbus_core_listen(n.core[0], hear, a, NULL, &err);
    CU_ASSERT_TRUE_FATAL(id > 0);
    nimbus_core_set_follow_poll(n.core[0], 20);
    uint64_t polls = atomic_load(&n.core[0]->follower.polls);
    /* Stored as the writer would, under the seq row lock, without NOTIFY. */
    PGconn *c = PQconnectdb(n.core[0]->path);
    PGresult *r = PQexec(c, "BEGIN;"
                            " SELECT value FROM meta WHERE key = 'seq' FOR UPDATE;"
                            " INSERT INTO observations (station_id, observed_at, temperature, seq)"
                            " SELECT 'q', 1700000000, 4.5, value + 1 FROM meta WHERE key = 'seq';"
                            " UPDATE meta SET value = value + 1 WHERE key = 'seq';"
                            " COMMIT");
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_TRUE(wait_seen(a, 1, 5000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* Well below the default second (sanitizer builds are slow: 600 ms). */
    CU_ASSERT_TRUE(ms < 600);
    CU_ASSERT_TRUE(atomic_load(&n.core[0]->follower.polls) > polls);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(n.core[0]), 1);
    /* /metrics shows the follower (and no file size: there is no file). */
    size_t len = 0;
    char *text = nimbus_metrics_render_text(n.core[0], &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nnimbus_follow_polls_total "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nnimbus_follow_notifications_total "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nnimbus_follow_reconnects_total 0\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "nimbus_storage_database_bytes"));
    const char *polled = strstr(text, "\nnimbus_follow_polls_total ");
    CU_ASSERT_TRUE(polled != NULL && strtoull(polled + 27, NULL, 10) > 0);
    free(text);
    nimbus_core_unlisten(n.core[0], id);
    pthread_mutex_destroy(&a->lock);
    free(a);
    close_nodes(&n);
}

static void test_resume_from_another_nodes_seq(void)
{
    nodes_t n;
    open_nodes(&n);
    nimbus_test_create(n.svc[1], "f", "Oslo", "NO");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    for (int i = 0; i < 20; i++) {
        nimbus_observation_t o = nimbus_test_obs(1700000000 + i, i);
        CU_ASSERT_EQUAL_FATAL(nimbus_test_record(n.svc[1], "f", &o, 1, &res, &err), 0);
        /* At once, whatever node 0's follower has seen: the seq is real. */
        int64_t head = nimbus_core_head_seq(n.core[0]);
        int64_t from = res.last_seq;
        CU_ASSERT_EQUAL(nimbus_service_subscribe_check(n.svc[0], &nimbus_test_trusted, NULL, 0,
                                                       &from, head, &err),
                        0);
        CU_ASSERT_TRUE(nimbus_core_head_seq(n.core[0]) >= from);
    }
    /* A seq nobody assigned is still refused. */
    int64_t beyond = res.last_seq + 1;
    CU_ASSERT_EQUAL(nimbus_service_subscribe_check(n.svc[0], &nimbus_test_trusted, NULL, 0, &beyond,
                                                   nimbus_core_head_seq(n.core[0]), &err),
                    -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    close_nodes(&n);
}

static void test_schema_shared_and_versioned(void)
{
    /* A second core on the same database finds the schema the first made
     * and the same cursor key: a cursor made on one node pages on the
     * other. */
    nodes_t n;
    open_nodes(&n);
    CU_ASSERT_EQUAL(memcmp(n.core[0]->cursor_key, n.core[1]->cursor_key, NIMBUS__CURSOR_KEY_SIZE),
                    0);
    CU_ASSERT_TRUE(nimbus_core_shared(n.core[0]));
    char uri[1024];
    snprintf(uri, sizeof uri, "%s", n.core[0]->path);
    close_nodes(&n);
    /* A schema written by a newer Nimbus is refused, not guessed at. */
    char sql[1200];
    const char *opt = strstr(uri, "search_path%3D");
    CU_ASSERT_PTR_NOT_NULL_FATAL(opt);
    snprintf(sql, sizeof sql, "UPDATE %s.meta SET value = 99 WHERE key = 'schema_version'",
             opt + strlen("search_path%3D"));
    PGconn *c = PQconnectdb(nimbus_test_pg_uri());
    PGresult *r = PQexec(c, sql);
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
    nimbus_error_t err;
    nimbus_core_t *core = nimbus_core_open(uri, &err);
    CU_ASSERT_PTR_NULL(core);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "newer"));
    nimbus_core_free(core);
}

static void test_unreachable_server(void)
{
    nimbus_error_t err;
    nimbus_core_t *core =
        nimbus_core_open("postgresql://nimbus@127.0.0.1:1/none?connect_timeout=2", &err);
    CU_ASSERT_PTR_NULL(core);
    CU_ASSERT_EQUAL(err.code, NIMBUS_UNAVAILABLE);
    char label[256];
    nimbus_store_label("postgresql://u:secret@h:5/db", label, sizeof label);
    CU_ASSERT_STRING_EQUAL(label, "postgresql://u:***@h:5/db");
    nimbus_store_label("postgresql://h/db?password=x", label, sizeof label);
    CU_ASSERT_STRING_EQUAL(label, "postgresql://h/db?password=***");
    nimbus_store_label("postgresql://u@h/db?sslmode=require&password=x&a=b", label, sizeof label);
    CU_ASSERT_STRING_EQUAL(label, "postgresql://u@h/db?sslmode=require&password=***&a=b");
    nimbus_store_label("/var/lib/nimbus.db", label, sizeof label);
    CU_ASSERT_STRING_EQUAL(label, "/var/lib/nimbus.db");
}

int main(void)
{
    if (nimbus_test_pg_uri() == NULL) {
        fprintf(stderr, "test_follow: NIMBUS_TEST_PG_URI is not set; run it through ctest "
                        "(service_pg_follow), which starts a PostgreSQL cluster\n");
        return 1;
    }
    static const nimbus_test_case_t cases[] = {
        {"global seq and feed", test_global_seq_and_feed},
        {"other nodes' writes stale caches", test_other_nodes_writes_stale_caches},
        {"follower reconnects and catches up", test_follower_reconnects_and_catches_up},
        {"fallback poll finds unnotified rows", test_fallback_poll_finds_unnotified_rows},
        {"resume from another node's seq", test_resume_from_another_nodes_seq},
        {"schema shared and versioned", test_schema_shared_and_versioned},
        {"unreachable server", test_unreachable_server},
        {NULL, NULL}};
    return nimbus_test_run("follow", cases);
}
