/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/metrics.c and metrics_render.c: threads counting into
 * their own blocks add up exactly in a scrape (no count lost, none counted
 * twice; run under TSan, no race); label values stay in their bounded sets
 * (a key name that is not configured is "-", an operation out of range is
 * "-"); histograms are cumulative with a +Inf bucket equal to _count; a
 * rate-limit refusal, stored observations and duplicates are counted by the
 * core; the Clients JSON splits calls and errors by protocol.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_metrics.h"
#include "test_util.h"

#define THREADS 4
#define CALLS_PER_THREAD 20000

typedef struct {
    nimbus_core_t *core;
    int index;
} worker_arg_t;

static void *count_calls(void *arg)
{
    worker_arg_t *a = arg;
    nimbus_error_t err;
    nimbus_service_t *svc = nimbus_service_new(a->core, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    nimbus_metrics_block_t *b = nimbus_service_metrics(svc);
    CU_ASSERT_PTR_NOT_NULL(b);
    CU_ASSERT_PTR_EQUAL(nimbus_service_metrics(svc), b); /* one block per service */
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        nimbus_metrics_call_t c = {
            .proto = (nimbus_proto_t)(i % NIMBUS_PROTO_COUNT),
            .op = NIMBUS_OP_GetWeather,
            .code = i % 10 == 0 ? NIMBUS_NOT_FOUND : NIMBUS_OK,
            .key = i % 2 ? "alpha" : "beta",
            .elapsed_us = 700,
            .bytes_in = 10,
            .bytes_out = 100,
        };
        nimbus_metrics_count_call(b, &c);
    }
    nimbus_metrics_conn_open(b, NIMBUS_CONN_HTTP, 1);
    nimbus_service_free(svc); /* the counts stay with the core */
    return NULL;
}

/* The value of the sample line that starts with `series` (its name and
 * labels, exactly), or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            return strtod(p + n + 1, NULL);
        }
    }
    return -1;
}

static void test_threads_add_up(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "alpha:sa:read", &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "beta:sb:read", &err), 0);
    pthread_t t[THREADS];
    worker_arg_t args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg_t){core, i};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, count_calls, &args[i]), 0);
    }
    /* Scrapes while the threads count: never more than what was counted. */
    for (int i = 0; i < 20; i++) {
        size_t len = 0;
        char *text = nimbus_metrics_render_text(core, &len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_EQUAL(strlen(text), len);
        double n = sample(text, "nimbus_request_duration_seconds_count{protocol=\"rest\","
                                "operation=\"GetWeather\"}");
        CU_ASSERT(n <= THREADS * CALLS_PER_THREAD / NIMBUS_PROTO_COUNT);
        free(text);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    size_t len = 0;
    char *text = nimbus_metrics_render_text(core, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    const double per_proto = (double)THREADS * CALLS_PER_THREAD / NIMBUS_PROTO_COUNT;
    /* i % 4 == 2 (rest) is even: key beta; i % 10 == 0 on 1/5 of those. */
    CU_ASSERT_EQUAL(sample(text, "nimbus_requests_total{protocol=\"rest\",operation="
                                 "\"GetWeather\",code=\"OK\",client=\"beta\"}"),
                    per_proto * 4 / 5);
    CU_ASSERT_EQUAL(sample(text, "nimbus_requests_total{protocol=\"rest\",operation="
                                 "\"GetWeather\",code=\"NOT_FOUND\",client=\"beta\"}"),
                    per_proto / 5);
    CU_ASSERT_EQUAL(sample(text, "nimbus_requests_total{protocol=\"soap12\",operation="
                                 "\"GetWeather\",code=\"OK\",client=\"alpha\"}"),
                    per_proto);
    CU_ASSERT_EQUAL(sample(text, "nimbus_request_duration_seconds_bucket{protocol=\"ws\","
                                 "operation=\"GetWeather\",le=\"0.0005\"}"),
                    0);
    CU_ASSERT_EQUAL(sample(text, "nimbus_request_duration_seconds_bucket{protocol=\"ws\","
                                 "operation=\"GetWeather\",le=\"0.001\"}"),
                    per_proto);
    CU_ASSERT_EQUAL(sample(text, "nimbus_request_duration_seconds_bucket{protocol=\"ws\","
                                 "operation=\"GetWeather\",le=\"+Inf\"}"),
                    per_proto);
    CU_ASSERT_EQUAL(sample(text, "nimbus_request_bytes_total{protocol=\"ws\","
                                 "operation=\"GetWeather\"}"),
                    per_proto * 10);
    CU_ASSERT_EQUAL(sample(text, "nimbus_response_bytes_total{protocol=\"soap11\","
                                 "operation=\"GetWeather\"}"),
                    per_proto * 100);
    CU_ASSERT_EQUAL(sample(text, "nimbus_connections_open{kind=\"http\"}"), THREADS);
    CU_ASSERT_PTR_NULL(strstr(text, "client=\"-\"")); /* nothing counted without a key */
    free(text);
    nimbus_test_close(core, svc);
}

static void test_labels_bounded(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "known:sk:read", &err), 0);
    nimbus_metrics_block_t *b = nimbus_service_metrics(svc);
    nimbus_metrics_call_t c = {
        .proto = NIMBUS_PROTO_REST, .op = 9999, .code = NIMBUS_OK, .key = "intruder"};
    nimbus_metrics_count_call(b, &c);
    c.op = -1;
    c.key = NULL;
    c.code = (nimbus_code_t)77;
    nimbus_metrics_count_call(b, &c);
    nimbus_metrics_count_call(NULL, &c); /* no block: nothing, no crash */
    size_t len = 0;
    char *text = nimbus_metrics_render_text(core, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NULL(strstr(text, "intruder"));
    CU_ASSERT_EQUAL(sample(text, "nimbus_requests_total{protocol=\"rest\",operation=\"-\","
                                 "code=\"OK\",client=\"-\"}"),
                    1);
    CU_ASSERT_EQUAL(sample(text, "nimbus_requests_total{protocol=\"rest\",operation=\"-\","
                                 "code=\"INTERNAL\",client=\"-\"}"),
                    1);
    free(text);
    nimbus_test_close(core, svc);
}

static void test_core_counts(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_set_rate(core, 1, 1, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, NULL, "192.0.2.9", NIMBUS_ROLE_READ, &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_admit(core, NULL, "192.0.2.9", NIMBUS_ROLE_READ, &err), -1);
    nimbus_test_create(svc, "M-1", "Berlin", "DE");
    nimbus_observation_t obs[2] = {nimbus_test_obs(1700000000, 1.0),
                                   nimbus_test_obs(1700000060, 2.0)};
    nimbus_record_observations_response_t res;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "M-1", obs, 2, &res, &err), 0);
    nimbus_record_observations_response_cleanup(&res);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "M-1", obs, 2, &res, &err), 0);
    CU_ASSERT_EQUAL(res.duplicates, 2);
    nimbus_record_observations_response_cleanup(&res);
    size_t len = 0;
    char *text = nimbus_metrics_render_text(core, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(sample(text, "nimbus_refused_total{reason=\"rate\"}"), 1);
    CU_ASSERT_EQUAL(sample(text, "nimbus_storage_observations_stored_total"), 2);
    CU_ASSERT_EQUAL(sample(text, "nimbus_storage_duplicates_total"), 2);
    CU_ASSERT_EQUAL(sample(text, "nimbus_storage_head_seq"), 2);
    CU_ASSERT(sample(text, "nimbus_storage_commit_duration_seconds_count") >= 3);
    CU_ASSERT_EQUAL(sample(text, "nimbus_storage_commit_duration_seconds_count"),
                    sample(text, "nimbus_storage_commit_duration_seconds_bucket{le=\"+Inf\"}"));
    CU_ASSERT(sample(text, "nimbus_storage_database_bytes") > 0);
    free(text);
    nimbus_test_close(core, svc);
}

static void test_clients_json(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "zeta:sz:read", &err), 0);
    CU_ASSERT_EQUAL(nimbus_core_add_key(core, "alpha:sa:read", &err), 0);
    nimbus_metrics_block_t *b = nimbus_service_metrics(svc);
    nimbus_metrics_call_t c = {
        .proto = NIMBUS_PROTO_SOAP11, .op = NIMBUS_OP_GetStation, .code = NIMBUS_OK, .key = "zeta"};
    nimbus_metrics_count_call(b, &c);
    nimbus_metrics_count_call(b, &c);
    c.proto = NIMBUS_PROTO_WS;
    c.code = NIMBUS_NOT_FOUND;
    nimbus_metrics_count_call(b, &c);
    c.key = "alpha";
    c.proto = NIMBUS_PROTO_REST;
    c.code = NIMBUS_OK;
    nimbus_metrics_count_call(b, &c);
    c.op = -1; /* not an operation: not a row */
    nimbus_metrics_count_call(b, &c);
    size_t len = 0;
    char *json = nimbus_metrics_render_clients(core, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    const char *alpha = strstr(json, "{\"client\":\"alpha\",\"operation\":\"GetStation\","
                                     "\"calls\":[0,0,1,0],\"errors\":[0,0,0,0]}");
    const char *zeta = strstr(json, "{\"client\":\"zeta\",\"operation\":\"GetStation\","
                                    "\"calls\":[2,0,0,1],\"errors\":[0,0,0,1]}");
    CU_ASSERT_PTR_NOT_NULL(alpha);
    CU_ASSERT_PTR_NOT_NULL(zeta);
    CU_ASSERT(alpha && zeta && alpha < zeta); /* by name */
    CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"protocols\":[\"soap11\",\"soap12\",\"rest\",\"ws\"]"));
    CU_ASSERT_PTR_NULL(strstr(json, "\"operation\":\"-\""));
    free(json);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"threads add up", test_threads_add_up},
        {"labels bounded", test_labels_bounded},
        {"core counts", test_core_counts},
        {"clients json", test_clients_json},
        {NULL, NULL},
    };
    return nimbus_test_run("metrics", cases);
}
