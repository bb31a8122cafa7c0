/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the session state machine (json_api/stream_session.c) with
 * no socket: a real core on a temporary SQLite file, the real hub queue fed
 * by the core's listener, and an output that records messages and counts
 * queued bytes until the test "drains" them. Covers: subscribe and live
 * delivery, replay from fromSeq then live with no gap or duplicate, a slow
 * reader that falls back to storage (bounded queue), a hub loss, streamed
 * calls paused by a full connection, and error messages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nimbus_cunit.h"
#include <jansson.h>
#include <sqlite3.h>

#include "nimbus_json.h"
#include "nimbus_service.h"
#include "stream_call.h"
#include "stream_hub.h"
#include "stream_session.h"

#define QUEUE_MAX 4096
#define SENT_MAX 20000

static char dir[64];
static nimbus_core_t *core;
static nimbus_service_t *svc;
static nimbus_stream_hub_t *hub;
static int listener;
static nimbus_stream_shared_t shared;
static const nimbus_credentials_t admin = {NIMBUS_CRED_TRUSTED, NULL, NULL};

/* The fake connection: every message, and the bytes not yet drained. */
static json_t *sent[SENT_MAX];
static size_t sent_count, sent_read;
static size_t queued;
static int activations;

static int out_send(void *arg, const nimbus_stream_part_t *parts, size_t count)
{
    (void)arg;
    if (sent_count == SENT_MAX) {
        return -1;
    }
    char text[8192];
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        CU_ASSERT_FATAL(len + parts[i].len <= sizeof text);
        memcpy(text + len, parts[i].data, parts[i].len);
        len += parts[i].len;
    }
    json_error_t jerr;
    sent[sent_count] = json_loadb(text, len, 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL(sent[sent_count]);
    sent_count++;
    queued += len;
    return 0;
}

static size_t out_queued(void *arg)
{
    (void)arg;
    return queued;
}

static void activate(void *arg, bool on)
{
    (void)arg;
    activations += on ? 1 : -1;
    nimbus__stream_hub_set_active(hub, on);
}

static const nimbus_stream_out_t OUT = {out_send, out_queued, NULL, NULL, NULL};

static int setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/nimbus-ws-session-XXXXXX");
    if (!mkdtemp(dir)) {
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/t.db", dir);
    nimbus_error_t err;
    core = nimbus_core_open(path, &err);
    svc = core ? nimbus_service_new(core, &err) : NULL;
    hub = nimbus__stream_hub_new(8, NULL, NULL);
    if (!svc || !hub) {
        return 1;
    }
    listener = nimbus_core_listen(core, nimbus__stream_hub_publish, hub, &shared.head, &err);
    shared.svc = svc;
    shared.queue_max = QUEUE_MAX;
    shared.activate = activate;
    return listener > 0 ? 0 : 1;
}

static int teardown(void)
{
    nimbus_core_unlisten(core, listener);
    nimbus__stream_hub_free(hub);
    nimbus_service_free(svc);
    nimbus_core_free(core);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static void reset_sent(void)
{
    for (size_t i = 0; i < sent_count; i++) {
        json_decref(sent[i]);
    }
    sent_count = sent_read = 0;
    queued = 0;
}

/* The next recorded message, which must have this type (and id). */
static json_t *next(const char *type, const char *id)
{
    CU_ASSERT_FATAL(sent_read < sent_count);
    json_t *m = sent[sent_read++];
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "type")), type);
    if (id) {
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "id")), id);
    }
    return m;
}

static void create_station(const char *id)
{
    nimbus_create_station_request_t req;
    memset(&req, 0, sizeof req);
    snprintf(req.station.id, sizeof req.station.id, "%s", id);
    snprintf(req.station.name, sizeof req.station.name, "Station %s", id);
    snprintf(req.station.city, sizeof req.station.city, "Testville");
    snprintf(req.station.country, sizeof req.station.country, "NZ");
    nimbus_create_station_response_t res = {0};
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_service_create_station(svc, &admin, &req, &res, &err), 0);
    nimbus_create_station_response_cleanup(&res);
}

/* Records n observations on station starting at minute `start`; returns the
 * first seq. */
static int64_t record(const char *station, int n, int start)
{
    nimbus_observation_t *obs = calloc((size_t)n, sizeof *obs);
    for (int i = 0; i < n; i++) {
        obs[i].observed_at = 1714521600 + (int64_t)(start + i) * 60;
        obs[i].temperature = (nimbus_opt_double_t){true, 20.5};
    }
    nimbus_record_observations_request_t req = {station, obs, (size_t)n};
    nimbus_record_observations_response_t res = {0};
    nimbus_error_t err;
    CU_ASSERT_EQUAL_FATAL(nimbus_service_record_observations(svc, &admin, &req, &res, &err), 0);
    free(obs);
    return res.first_seq;
}

/* What a worker does when its hub event fires. */
static void deliver(nimbus_stream_session_t *s)
{
    const nimbus_observation_t *items;
    size_t count;
    int64_t lost;
    while (nimbus__stream_hub_take(hub, &items, &count, &lost)) {
        char **json = calloc(count + 1, sizeof *json);
        for (size_t i = 0; i < count; i++) {
            json[i] = nimbus_json_observation_text(&items[i], NULL);
        }
        CU_ASSERT_EQUAL(nimbus__stream_session_on_live(s, items, (const char *const *)json, count),
                        0);
        if (lost) {
            nimbus__stream_session_on_lost(s, lost);
        }
        if (count && items[count - 1].seq > shared.head) {
            shared.head = items[count - 1].seq;
        }
        if (lost > shared.head) {
            shared.head = lost;
        }
        for (size_t i = 0; i < count; i++) {
            free(json[i]);
        }
        free(json);
    }
    CU_ASSERT(nimbus__stream_session_pump(s) >= 0);
}

/* Reads every observation message for id from the recorded ones, draining
 * the fake connection and pumping until the session is idle; checks that
 * they continue seq `*expect` with no gap or duplicate. */
static int collect(nimbus_stream_session_t *s, const char *id, int64_t *expect, int64_t last)
{
    int got = 0;
    for (int rounds = 0; rounds < 10000; rounds++) {
        while (sent_read < sent_count) {
            json_t *m = next("observation", id);
            int64_t seq =
                json_integer_value(json_object_get(json_object_get(m, "observation"), "seq"));
            CU_ASSERT_EQUAL(seq, *expect);
            *expect = seq + 1;
            got++;
        }
        if (*expect > last) {
            break;
        }
        queued = 0; /* the client read everything */
        CU_ASSERT(nimbus__stream_session_pump(s) >= 0);
        deliver(s);
    }
    return got;
}

static void test_subscribe_replay_live(void)
{
    reset_sent();
    create_station("A");
    create_station("B");
    int64_t first = record("A", 10, 0);
    nimbus_stream_session_t *s = nimbus__stream_session_new(&shared, &admin, &OUT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char msg[128];
    snprintf(msg, sizeof msg,
             "{\"type\":\"subscribe\",\"id\":\"r\",\"stations\":[\"A\"],\"fromSeq\":%lld}",
             (long long)first + 2);
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, msg, strlen(msg)), 0);
    CU_ASSERT_EQUAL(activations, 1);
    json_t *sub = next("subscribed", "r");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(sub, "seq")), first + 9);
    CU_ASSERT_EQUAL(nimbus__stream_session_pump(s), 0); /* replay done, now live */
    int64_t expect = first + 3;
    CU_ASSERT_EQUAL(collect(s, "r", &expect, first + 9), 7);
    record("B", 3, 0); /* filtered out */
    int64_t more = record("A", 4, 100);
    deliver(s);
    expect = more;
    CU_ASSERT_EQUAL(collect(s, "r", &expect, more + 3), 4);
    CU_ASSERT_EQUAL(sent_read, sent_count);
    nimbus__stream_session_free(s);
    CU_ASSERT_EQUAL(activations, 0);
}

static void test_slow_reader_catches_up_from_storage(void)
{
    reset_sent();
    nimbus_stream_session_t *s = nimbus__stream_session_new(&shared, &admin, &OUT);
    const char *msg = "{\"type\":\"subscribe\",\"id\":\"slow\"}";
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, msg, strlen(msg)), 0);
    int64_t head = json_integer_value(json_object_get(next("subscribed", "slow"), "seq"));
    /* 300 observations in batches, nobody reading: the queue never grows
     * past the limit plus one message, and the hub (capacity 8) loses most
     * of them, which costs nothing but reads. */
    for (int i = 0; i < 30; i++) {
        record("A", 10, 1000 + i * 10);
        deliver(s);
        CU_ASSERT(queued < QUEUE_MAX + 512);
    }
    int64_t expect = head + 1;
    CU_ASSERT_EQUAL(collect(s, "slow", &expect, head + 300), 300);
    CU_ASSERT_EQUAL(nimbus__stream_session_pump(s), 0);
    /* And live again afterwards. */
    int64_t more = record("B", 2, 5000);
    deliver(s);
    expect = more;
    CU_ASSERT_EQUAL(collect(s, "slow", &expect, more + 1), 2);
    nimbus__stream_session_free(s);
}

static void test_streamed_call_waits_for_room(void)
{
    reset_sent();
    char id[16];
    for (int i = 0; i < 150; i++) {
        snprintf(id, sizeof id, "L%03d", i);
        create_station(id);
    }
    nimbus_stream_session_t *s = nimbus__stream_session_new(&shared, &admin, &OUT);
    const char *msg = "{\"type\":\"call\",\"id\":\"c\",\"op\":\"ListStations\",\"params\":{}}";
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, msg, strlen(msg)), 0);
    queued = QUEUE_MAX; /* full: nothing may go out */
    CU_ASSERT_EQUAL(nimbus__stream_session_pump(s), 1);
    CU_ASSERT_EQUAL(sent_count, 0);
    size_t items = 0, pumps = 0;
    int more = 1;
    while (more == 1 && pumps++ < 1000) {
        queued = 0;
        more = nimbus__stream_session_pump(s);
        CU_ASSERT(queued < QUEUE_MAX + 512);
        while (sent_read < sent_count) {
            json_t *m = sent[sent_read];
            if (strcmp(json_string_value(json_object_get(m, "type")), "item") == 0) {
                next("item", "c");
                items++;
            } else {
                json_t *done = next("done", "c");
                CU_ASSERT_EQUAL(json_integer_value(json_object_get(done, "count")), 152);
            }
        }
    }
    CU_ASSERT_EQUAL(items, 152); /* A, B and L000..L149 */
    CU_ASSERT(pumps > 2);        /* it really waited for room */
    CU_ASSERT_EQUAL(more, 0);
    nimbus__stream_session_free(s);
}

static void exec_sql(const char *sql)
{
    char path[128];
    snprintf(path, sizeof path, "%s/t.db", dir);
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL_FATAL(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Storage fails while a subscriber is being caught up: the subscription
 * ends with `lagged` naming the seq to resume from, and resuming there
 * loses nothing. */
static void test_lagged_when_storage_fails(void)
{
    reset_sent();
    int64_t first = record("A", 3, 20000);
    nimbus_stream_session_t *s = nimbus__stream_session_new(&shared, &admin, &OUT);
    char msg[128];
    snprintf(msg, sizeof msg, "{\"type\":\"subscribe\",\"id\":\"lag\",\"fromSeq\":%lld}",
             (long long)first - 1);
    exec_sql("ALTER TABLE observations RENAME TO observations_away");
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, msg, strlen(msg)), 0);
    next("subscribed", "lag");
    CU_ASSERT_EQUAL(nimbus__stream_session_pump(s), 0);
    json_t *lagged = next("lagged", "lag");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(lagged, "lastSeq")), first - 1);
    CU_ASSERT_EQUAL(nimbus__stream_session_subscription_count(s), 0);
    CU_ASSERT_EQUAL(activations, 0);
    exec_sql("ALTER TABLE observations_away RENAME TO observations");
    snprintf(msg, sizeof msg, "{\"type\":\"subscribe\",\"id\":\"lag\",\"fromSeq\":%lld}",
             (long long)first - 1);
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, msg, strlen(msg)), 0);
    next("subscribed", "lag");
    int64_t expect = first;
    CU_ASSERT_EQUAL(collect(s, "lag", &expect, first + 2), 3);
    nimbus__stream_session_free(s);
}

static void expect_error(nimbus_stream_session_t *s, const char *text, const char *id,
                         const char *code)
{
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, text, strlen(text)), 0);
    json_t *m = next("error", NULL);
    json_t *jid = json_object_get(m, "id");
    if (id) {
        CU_ASSERT_STRING_EQUAL(json_string_value(jid), id);
    } else {
        CU_ASSERT_TRUE(json_is_null(jid));
    }
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "code")), code);
    CU_ASSERT_TRUE(json_string_length(json_object_get(m, "message")) > 0);
}

static void test_errors(void)
{
    reset_sent();
    nimbus_stream_session_t *s = nimbus__stream_session_new(&shared, &admin, &OUT);
    expect_error(s, "{oops", NULL, "INVALID_ARGUMENT");
    expect_error(s, "[]", NULL, "INVALID_ARGUMENT");
    expect_error(s, "{\"type\":\"subscribe\"}", NULL, "INVALID_ARGUMENT");
    expect_error(s, "{\"type\":\"subscribe\",\"id\":7}", NULL, "INVALID_ARGUMENT");
    expect_error(s, "{\"type\":\"dance\",\"id\":\"d\"}", "d", "INVALID_ARGUMENT");
    expect_error(s, "{\"type\":\"unsubscribe\",\"id\":\"u\"}", "u", "NOT_FOUND");
    expect_error(s, "{\"type\":\"subscribe\",\"id\":\"n\",\"stations\":[\"ZZ\"]}", "n",
                 "NOT_FOUND");
    expect_error(s, "{\"type\":\"subscribe\",\"id\":\"f\",\"fromSeq\":99999999}", "f",
                 "INVALID_ARGUMENT");
    expect_error(s, "{\"type\":\"call\",\"id\":\"o\",\"op\":\"Nope\"}", "o", "INVALID_ARGUMENT");
    expect_error(
        s, "{\"type\":\"call\",\"id\":\"g\",\"op\":\"GetStation\",\"params\":{\"id\":\"ZZ\"}}", "g",
        "NOT_FOUND");
    const char *sub = "{\"type\":\"subscribe\",\"id\":\"dup\"}";
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, sub, strlen(sub)), 0);
    next("subscribed", "dup");
    expect_error(s, sub, "dup", "INVALID_ARGUMENT");
    CU_ASSERT_EQUAL(nimbus__stream_session_subscription_count(s), 1);
    const char *unsub = "{\"type\":\"unsubscribe\",\"id\":\"dup\"}";
    CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, unsub, strlen(unsub)), 0);
    next("unsubscribed", "dup");
    CU_ASSERT_EQUAL(nimbus__stream_session_subscription_count(s), 0);
    CU_ASSERT_EQUAL(activations, 0);
    nimbus__stream_session_free(s);
}

/* Every per-connection limit at the limit and one past it. */
static void test_limits(void)
{
    reset_sent();
    nimbus_stream_session_t *s = nimbus__stream_session_new(&shared, &admin, &OUT);
    char msg[256];
    for (int i = 0; i < NIMBUS_STREAM_SUBSCRIPTIONS_MAX; i++) {
        snprintf(msg, sizeof msg, "{\"type\":\"subscribe\",\"id\":\"s%d\"}", i);
        CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, msg, strlen(msg)), 0);
        next("subscribed", NULL);
    }
    expect_error(s, "{\"type\":\"subscribe\",\"id\":\"one-more\"}", "one-more",
                 "RESOURCE_EXHAUSTED");
    CU_ASSERT_EQUAL(nimbus__stream_session_subscription_count(s), NIMBUS_STREAM_SUBSCRIPTIONS_MAX);
    nimbus__stream_session_free(s);
    CU_ASSERT_EQUAL(activations, 0);

    /* Streamed calls stay in flight while the connection is full. */
    s = nimbus__stream_session_new(&shared, &admin, &OUT);
    queued = QUEUE_MAX;
    for (int i = 0; i < NIMBUS_STREAM_CALLS_MAX; i++) {
        snprintf(msg, sizeof msg, "{\"type\":\"call\",\"id\":\"c%d\",\"op\":\"ListStations\"}", i);
        CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, msg, strlen(msg)), 0);
    }
    CU_ASSERT_EQUAL(sent_count, sent_read); /* nothing sent: no room */
    expect_error(s, "{\"type\":\"call\",\"id\":\"c-more\",\"op\":\"ListStations\"}", "c-more",
                 "RESOURCE_EXHAUSTED");
    nimbus__stream_session_free(s);
    reset_sent();

    /* Station lists: NIMBUS_SUBSCRIBE_STATIONS_MAX ids are fine, one more is not. */
    s = nimbus__stream_session_new(&shared, &admin, &OUT);
    for (int n = NIMBUS_SUBSCRIBE_STATIONS_MAX; n <= NIMBUS_SUBSCRIBE_STATIONS_MAX + 1; n++) {
        size_t size = 64 + (size_t)n * 4;
        char *big = malloc(size);
        int at = snprintf(big, size, "{\"type\":\"subscribe\",\"id\":\"n%d\",\"stations\":[", n);
        for (int i = 0; i < n; i++) {
            at += snprintf(big + at, size - (size_t)at, "%s\"A\"", i ? "," : "");
        }
        snprintf(big + at, size - (size_t)at, "]}");
        CU_ASSERT_EQUAL(nimbus__stream_session_on_text(s, big, strlen(big)), 0);
        free(big);
        json_t *m = next(n == NIMBUS_SUBSCRIBE_STATIONS_MAX ? "subscribed" : "error", NULL);
        if (n > NIMBUS_SUBSCRIBE_STATIONS_MAX) {
            CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m, "code")),
                                   "INVALID_ARGUMENT");
        }
    }
    nimbus__stream_session_free(s);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"subscribe, replay from fromSeq, then live", test_subscribe_replay_live},
        {"a slow reader is caught up from storage", test_slow_reader_catches_up_from_storage},
        {"a streamed call waits for room", test_streamed_call_waits_for_room},
        {"bad messages get errors", test_errors},
        {"per-connection limits, at and past each", test_limits},
        {"storage failure during catch-up ends with lagged", test_lagged_when_storage_fails},
        {NULL, NULL},
    };
    static const nimbus_test_suite_t suites[] = {
        {"stream_session", setup, teardown, cases},
        {NULL, NULL, NULL, NULL},
    };
    int status = nimbus_test_run_suites(suites);
    reset_sent();
    return status;
}
