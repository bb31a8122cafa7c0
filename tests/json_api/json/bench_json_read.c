/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * How much decoding a RecordObservations body costs, per observation: the
 * request reader (nimbus__rest_body, as REST calls it) against the jansson
 * tree and its walk that it replaced (nimbus_json_parse + the old decoder,
 * json_oracle.c), on the body bench/wrk/batch.lua sends (1,000
 * observations: observedAt, temperature, humidity, pressure, windSpeed).
 * Not a test: a measuring tool for docs/performance.md ("JSON request
 * decoding"). Reports process CPU time, which a neighbour's load disturbs
 * less than wall time; for instruction counts run it under callgrind with
 * one side only.
 *
 *   bench_json_read [reader|tree|parse|ws|ws-tree|all [ROUNDS [OBSERVATIONS]]]
 *     reader   nimbus__rest_body + cleanup (a REST body, now)
 *     tree     nimbus_json_parse + the old tree decoder + cleanup (before)
 *     parse    nimbus_json_parse alone (jansson's share of "tree")
 *     ws       the same batch as WebSocket params, parsed already with
 *              their envelope: nimbus_json_request_decode (written out,
 *              read by the reader) + cleanup (now)
 *     ws-tree  the old tree decoder on those params + cleanup (before)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json_oracle.h"
#include "nimbus_json.h"
#include "rest_binding.h"
#include "rest_request.h"

/* The body batch.lua writes for observations start+1 .. start+n. */
static char *batch_body(long start, int n, size_t *len)
{
    size_t cap = (size_t)n * 160 + 64, used = 0;
    char *s = malloc(cap);
    if (!s) {
        abort();
    }
    used += (size_t)snprintf(s, cap, "{\"observations\":[");
    for (int i = 1; i <= n; i++) {
        long t = start + i;
        char when[32];
        time_t tt = (time_t)t;
        struct tm tm;
        gmtime_r(&tt, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        used += (size_t)snprintf(s + used, cap - used,
                                 "%s{\"observedAt\":\"%s\",\"temperature\":%.1f,\"humidity\":%ld,"
                                 "\"pressure\":%ld.5,\"windSpeed\":%ld}",
                                 i > 1 ? "," : "", when, -5 + (double)(t % 100) * 0.4, 30 + t % 60,
                                 990 + t % 40, t % 15);
    }
    used += (size_t)snprintf(s + used, cap - used, "]}");
    *len = used;
    return s;
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef enum side { READER, TREE, PARSE, WS, WS_TREE } side_t;

/* Decodes body once by side; exits on a refusal (the body is valid). */
static void decode(side_t side, const nimbus_rest_binding_t *b, const nimbus_rest_match_t *m,
                   const char *body, size_t len)
{
    nimbus_error_t err;
    if (side == READER) {
        nimbus_json_request_t req;
        nimbus_json_request_init(&req, b->op);
        if (nimbus__rest_body(b, m, body, len, &req, &err) != 0) {
            fprintf(stderr, "reader refused the body: %s\n", err.message);
            exit(1);
        }
        nimbus_json_request_cleanup(&req);
        return;
    }
    if (side == WS || side == WS_TREE) {
        static json_t *params; /* parsed once, as the envelope would be */
        if (!params) {
            params = nimbus_json_parse(body, len, &err);
            json_object_set_new(params, "stationId", json_string("bench-b"));
        }
        nimbus_json_request_t req;
        int rc = side == WS ? nimbus_json_request_decode(b->op, params, &req, &err)
                            : oracle_request_decode(b->op, params, &req.u, &err);
        if (rc != 0) {
            fprintf(stderr, "params refused: %s\n", err.message);
            exit(1);
        }
        if (side == WS) {
            nimbus_json_request_cleanup(&req);
        } else {
            nimbus_json_object_cleanup(nimbus_op_table[b->op].request, &req.u);
        }
        return;
    }
    json_t *tree = nimbus_json_parse(body, len, &err);
    if (!tree) {
        fprintf(stderr, "jansson refused the body: %s\n", err.message);
        exit(1);
    }
    if (side == TREE) {
        nimbus_request_t u;
        memset(&u, 0, sizeof u);
        if (oracle_rest_body(b->op, true, NULL, NULL, b->path_field, m->param, tree, &u, &err) !=
            0) {
            fprintf(stderr, "the tree decoder refused the body: %s\n", err.message);
            exit(1);
        }
        nimbus_json_object_cleanup(nimbus_op_table[b->op].request, &u);
    }
    json_decref(tree);
}

/* ROUNDS rounds of 20 decodings; prints the median and the best round. */
static void run(side_t side, const char *name, int rounds, int n)
{
    const nimbus_rest_binding_t *b = nimbus__rest_binding(NIMBUS_OP_RecordObservations);
    nimbus_rest_match_t m;
    memset(&m, 0, sizeof m);
    snprintf(m.param, sizeof m.param, "bench-b");
    size_t len;
    char *body = batch_body(1714564800, n, &len);
    double *per = malloc((size_t)rounds * sizeof *per);
    if (!per) {
        abort();
    }
    decode(side, b, &m, body, len); /* warm */
    for (int r = 0; r < rounds; r++) {
        double t0 = cpu_seconds();
        for (int k = 0; k < 20; k++) {
            decode(side, b, &m, body, len);
        }
        per[r] = (cpu_seconds() - t0) / 20 / n * 1e6;
    }
    qsort(per, (size_t)rounds, sizeof *per, compare_doubles);
    printf("%-7s %d observations, %zu bytes: %.3f us/observation CPU (median of %d rounds of 20; "
           "best %.3f)\n",
           name, n, len, per[rounds / 2], rounds, per[0]);
    free(per);
    free(body);
}

int main(int argc, char **argv)
{
    const char *which = argc > 1 ? argv[1] : "all";
    int rounds = argc > 2 ? atoi(argv[2]) : 15;
    int n = argc > 3 ? atoi(argv[3]) : 1000;
    if (rounds < 1 || n < 1 || n > 1000) {
        fprintf(stderr,
                "usage: bench_json_read [reader|tree|parse|ws|ws-tree|all [ROUNDS [1..1000]]]\n");
        return 2;
    }
    bool all = strcmp(which, "all") == 0;
    if (all || strcmp(which, "tree") == 0) {
        run(TREE, "tree", rounds, n);
    }
    if (all || strcmp(which, "parse") == 0) {
        run(PARSE, "parse", rounds, n);
    }
    if (all || strcmp(which, "reader") == 0) {
        run(READER, "reader", rounds, n);
    }
    if (all || strcmp(which, "ws-tree") == 0) {
        run(WS_TREE, "ws-tree", rounds, n);
    }
    if (all || strcmp(which, "ws") == 0) {
        run(WS, "ws", rounds, n);
    }
    return 0;
}
