/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/observation.c: RecordObservations (new, duplicate,
 * correction, repeats inside a batch, all-or-nothing, batch limits, large
 * batches against a model of the store,
 * stationId rules), GetObservations (window, paging across many pages,
 * errors) and the seq-ordered replay of nimbus_service_observations_since.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "service_internal.h"
#include "test_util.h"

static const nimbus_credentials_t *T = &nimbus_test_trusted;

static size_t count_stored(nimbus_service_t *svc, const char *id)
{
    nimbus_get_observations_request_t req = {.station_id = id, .has_limit = true, .limit = 1000};
    nimbus_get_observations_response_t res = {0};
    nimbus_error_t err;
    CU_ASSERT_EQUAL_FATAL(nimbus_service_get_observations(svc, T, &req, &res, &err), 0);
    size_t n = res.count;
    nimbus_get_observations_response_cleanup(&res);
    return n;
}

static void test_new_duplicate_correction(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    nimbus_observation_t obs[3] = {nimbus_test_obs(100, 1), nimbus_test_obs(200, 2),
                                   nimbus_test_obs(300, 3)};
    obs[1].humidity = (nimbus_opt_double_t){true, 55};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 3, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 3);
    CU_ASSERT_EQUAL(res.duplicates, 0);
    CU_ASSERT_TRUE(res.has_seq);
    CU_ASSERT_EQUAL(res.first_seq, 1);
    CU_ASSERT_EQUAL(res.last_seq, 3);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 3);

    /* The same again: all duplicates, no seq. */
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 3, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 0);
    CU_ASSERT_EQUAL(res.duplicates, 3);
    CU_ASSERT_FALSE(res.has_seq);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 3);

    /* A correction: one changed, one removed field, one new. */
    nimbus_observation_t next[3] = {obs[0], obs[1], nimbus_test_obs(400, 4)};
    next[0].temperature.value = 1.5;
    next[1].humidity.present = false;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", next, 3, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 3);
    CU_ASSERT_EQUAL(res.duplicates, 0);
    CU_ASSERT_EQUAL(res.first_seq, 4);
    CU_ASSERT_EQUAL(res.last_seq, 6);

    nimbus_get_observations_request_t greq = {.station_id = "a"};
    nimbus_get_observations_response_t gres = {0};
    CU_ASSERT_EQUAL_FATAL(nimbus_service_get_observations(svc, T, &greq, &gres, &err), 0);
    CU_ASSERT_EQUAL_FATAL(gres.count, 4);
    CU_ASSERT_EQUAL(gres.observations[0].observed_at, 100);
    CU_ASSERT_EQUAL(gres.observations[0].temperature.value, 1.5);
    CU_ASSERT_EQUAL(gres.observations[0].seq, 4);
    CU_ASSERT_STRING_EQUAL(gres.observations[0].station_id, "a");
    CU_ASSERT_FALSE(gres.observations[1].humidity.present);
    CU_ASSERT_EQUAL(gres.observations[1].seq, 5);
    CU_ASSERT_EQUAL(gres.observations[2].seq, 3); /* untouched */
    CU_ASSERT_EQUAL(gres.observations[3].seq, 6);
    CU_ASSERT_EQUAL(gres.next_cursor[0], '\0');
    nimbus_get_observations_response_cleanup(&gres);

    /* Mixed: one duplicate, one new. */
    nimbus_observation_t mixed[2] = {next[2], nimbus_test_obs(500, 5)};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", mixed, 2, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 1);
    CU_ASSERT_EQUAL(res.duplicates, 1);
    CU_ASSERT_EQUAL(res.first_seq, 7);
    CU_ASSERT_EQUAL(res.last_seq, 7);
    nimbus_test_close(core, svc);
}

static void test_batch_repeats(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    /* An identical repeat inside one batch counts as a duplicate. */
    nimbus_observation_t same[3] = {nimbus_test_obs(100, 1), nimbus_test_obs(200, 2),
                                    nimbus_test_obs(100, 1)};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", same, 3, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 2);
    CU_ASSERT_EQUAL(res.duplicates, 1);
    CU_ASSERT_EQUAL(res.last_seq, 2);
    /* Conflicting values for one observedAt refuse the batch, naming both. */
    nimbus_observation_t clash[4] = {nimbus_test_obs(900, 1), nimbus_test_obs(300, 2),
                                     nimbus_test_obs(400, 3), nimbus_test_obs(300, 9)};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", clash, 4, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_STRING_EQUAL(err.message, "observations[1] and observations[3] have the same "
                                        "observedAt but different values");
    CU_ASSERT_EQUAL(count_stored(svc, "a"), 2);
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 2);
    nimbus_test_close(core, svc);
}

static void test_all_or_nothing(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_test_create(svc, "b", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    nimbus_observation_t obs[5];
    for (int i = 0; i < 5; i++) {
        obs[i] = nimbus_test_obs(1000 + i, 10);
    }
    obs[3].humidity = (nimbus_opt_double_t){true, 100.5};
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 5, &res, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "observations[3].humidity must be between 0 and 100");
    CU_ASSERT_EQUAL(count_stored(svc, "a"), 0);

    obs[3].humidity.value = 100;
    strcpy(obs[4].station_id, "b");
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 5, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "observations[4].stationId"));
    CU_ASSERT_EQUAL(count_stored(svc, "a"), 0);

    strcpy(obs[4].station_id, "a"); /* equal to the call's: allowed */
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 5, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, 5);

    CU_ASSERT_EQUAL(nimbus_test_record(svc, "nope", obs, 1, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "bad id", obs, 1, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "stationId"));
    CU_ASSERT_EQUAL(nimbus_core_head_seq(core), 5);
    nimbus_test_close(core, svc);
}

static void test_batch_limits(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    size_t n = NIMBUS_RECORD_BATCH_MAX + 1;
    nimbus_observation_t *obs = calloc(n, sizeof(*obs));
    CU_ASSERT_PTR_NOT_NULL_FATAL(obs);
    for (size_t i = 0; i < n; i++) {
        obs[i] = nimbus_test_obs((int64_t)i * 60, (double)(i % 50));
    }
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, n, &res, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "observations must hold 1-1000 observations");
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 0, &res, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, n - 1, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, NIMBUS_RECORD_BATCH_MAX);
    CU_ASSERT_EQUAL(res.last_seq - res.first_seq + 1, NIMBUS_RECORD_BATCH_MAX);
    CU_ASSERT_EQUAL(count_stored(svc, "a"), NIMBUS_RECORD_BATCH_MAX);
    free(obs);
    nimbus_test_close(core, svc);
}

/* What the store should hold at observedAt i * 60 (the model of
 * test_large_batches). */
typedef struct modelled {
    bool stored;
    double temperature;
    bool humidity;
    bool pressure;
    int64_t seq;
} modelled_t;

/* Records batch on station "a" and applies it to model the way the
 * contract says: new and corrected rows take the next seqs in batch order,
 * identical ones are duplicates. Checks the answer against the model, and
 * that on SQLite the rows written went many to a statement (store_many)
 * when many says so, and one by one when not; PostgreSQL always goes one
 * by one. */
static void record_modelled(nimbus_core_t *core, nimbus_service_t *svc,
                            const nimbus_observation_t *batch, size_t n, modelled_t *model,
                            int64_t *head, bool many)
{
    uint64_t statements = atomic_load(&core->writer.many_statements);
    uint64_t batches = atomic_load(&core->writer.many_batches);
    nimbus_record_observations_response_t res;
    nimbus_error_t err;
    int64_t first = *head;
    int64_t dups = 0;
    for (size_t i = 0; i < n; i++) {
        modelled_t *m = &model[batch[i].observed_at / 60];
        /* == : -0.0 is 0.0, as for the store. */
        if (m->stored && m->temperature == batch[i].temperature.value &&
            m->humidity == batch[i].humidity.present && m->pressure == batch[i].pressure.present) {
            dups++;
            continue;
        }
        *m = (modelled_t){true, batch[i].temperature.value, batch[i].humidity.present,
                          batch[i].pressure.present, ++*head};
    }
    CU_ASSERT_EQUAL_FATAL(nimbus_test_record(svc, "a", batch, n, &res, &err), 0);
    CU_ASSERT_EQUAL(res.accepted, *head - first);
    CU_ASSERT_EQUAL(res.duplicates, dups);
    CU_ASSERT_EQUAL(res.has_seq, *head > first);
    if (*head > first) {
        CU_ASSERT_EQUAL(res.first_seq, first + 1);
        CU_ASSERT_EQUAL(res.last_seq, *head);
    }
    many = many && core->engine == NIMBUS__SQLITE;
    uint64_t full = many ? (uint64_t)(*head - first) / NIMBUS__OBS_UPSERT_ROWS : 0;
    CU_ASSERT_EQUAL(atomic_load(&core->writer.many_statements) - statements, full);
    CU_ASSERT_EQUAL(atomic_load(&core->writer.many_batches) - batches, many ? 1 : 0);
}

/* Every stored row of station "a" below slots * 60, value and seq, is
 * what model says. */
static void check_modelled(nimbus_service_t *svc, const modelled_t *model, size_t slots)
{
    nimbus_error_t err;
    nimbus_get_observations_request_t greq = {.station_id = "a",
                                              .has_limit = true,
                                              .limit = 1000,
                                              .has_to = true,
                                              .to = (int64_t)slots * 60};
    nimbus_get_observations_response_t gres = {0};
    CU_ASSERT_EQUAL_FATAL(nimbus_service_get_observations(svc, T, &greq, &gres, &err), 0);
    size_t k = 0;
    for (size_t slot = 0; slot < slots; slot++) {
        if (!model[slot].stored) {
            continue;
        }
        CU_ASSERT_FATAL(k < gres.count);
        const nimbus_observation_t *o = &gres.observations[k++];
        CU_ASSERT_EQUAL(o->observed_at, (int64_t)slot * 60);
        CU_ASSERT_EQUAL(o->temperature.value, model[slot].temperature);
        CU_ASSERT_EQUAL(o->humidity.present, model[slot].humidity);
        CU_ASSERT_EQUAL(o->pressure.present, model[slot].pressure);
        CU_ASSERT_EQUAL(o->seq, model[slot].seq);
    }
    CU_ASSERT_EQUAL(k, gres.count);
    nimbus_get_observations_response_cleanup(&gres);
}

/* Batches large enough to be stored in statements of many rows
 * (observation.c, store_many), mixing new rows, duplicates (-0.0 sent
 * for 0.0 among them) and corrections (a value changed, a field added)
 * in shuffled order, with chunks full and partial; and a
 * small batch spread over a dense range, which goes row by row. Every
 * answer and every stored row, value and seq, is what the model says. */
static void test_large_batches(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    enum { SLOTS = 1200 };
    modelled_t *model = calloc(SLOTS, sizeof(*model));
    nimbus_observation_t *batch = calloc(NIMBUS_RECORD_BATCH_MAX, sizeof(*batch));
    CU_ASSERT_PTR_NOT_NULL_FATAL(model);
    CU_ASSERT_PTR_NOT_NULL_FATAL(batch);
    int64_t head = 0;
    /* 300 new rows at every other slot of 0-599. */
    for (size_t i = 0; i < 300; i++) {
        batch[i] = nimbus_test_obs((int64_t)(2 * i) * 60, (double)(i % 50));
    }
    record_modelled(core, svc, batch, 300, model, &head, true);
    /* 233 rows in a shuffled order: duplicates, corrections (a new
     * temperature, or the humidity added), new rows between stored ones
     * and past them. */
    uint32_t x = 12345;
    size_t n = 0;
    for (size_t slot = 0; slot < 700 && n < 233; slot += 3) {
        nimbus_observation_t o = nimbus_test_obs((int64_t)slot * 60, (double)(slot / 2 % 50));
        if (slot % 2 == 0 && model[slot].stored) {
            x = x * 1103515245u + 12345u;
            if (x >> 30 == 1) {
                o.temperature.value += 0.5;
            } else if (x >> 30 == 2) {
                o.humidity = (nimbus_opt_double_t){true, 40};
            } else if (x >> 29 == 6) {
                o.pressure = (nimbus_opt_double_t){true, 1013};
            } else if (o.temperature.value == 0) {
                o.temperature.value = -0.0; /* the same value: a duplicate */
            }
        }
        batch[n++] = o;
    }
    for (size_t i = n - 1; i > 0; i--) {
        x = x * 1103515245u + 12345u;
        size_t j = (x >> 8) % (i + 1);
        nimbus_observation_t t = batch[i];
        batch[i] = batch[j];
        batch[j] = t;
    }
    record_modelled(core, svc, batch, n, model, &head, true);
    /* The same batch again: all duplicates. */
    record_modelled(core, svc, batch, n, model, &head, true);
    /* 20 rows spread over slots 0-1140, which hold ~450 rows: row by row. */
    for (size_t i = 0; i < 20; i++) {
        batch[i] = nimbus_test_obs((int64_t)(i * 57) * 60, 7.0);
    }
    record_modelled(core, svc, batch, 20, model, &head, false);
    /* 1,000 new rows in one batch: twenty full statements. */
    for (size_t i = 0; i < NIMBUS_RECORD_BATCH_MAX; i++) {
        batch[i] = nimbus_test_obs((int64_t)(SLOTS + i) * 60, 1.0);
    }
    nimbus_record_observations_response_t res;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", batch, NIMBUS_RECORD_BATCH_MAX, &res, &err), 0);
    CU_ASSERT_EQUAL(res.first_seq, head + 1);
    CU_ASSERT_EQUAL(res.last_seq, head + NIMBUS_RECORD_BATCH_MAX);
    check_modelled(svc, model, SLOTS);
    free(batch);
    free(model);
    nimbus_test_close(core, svc);
}

/* Which path a batch takes, at each switch and one past it: a batch of
 * NIMBUS__STORE_MANY_MIN - 1 rows goes row by row and one of
 * NIMBUS__STORE_MANY_MIN many to a statement; a batch whose observedAt
 * range holds NIMBUS__STORE_MANY_RANGE(rows) stored rows goes many to a
 * statement, one whose range holds one more row by row. Answers and
 * stored rows are the model's on either path. */
static void test_many_thresholds(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    enum { SLOTS = 400, MIN = NIMBUS__STORE_MANY_MIN };
    modelled_t model[SLOTS] = {0};
    nimbus_observation_t batch[200];
    int64_t head = 0;
    for (size_t i = 0; i < MIN - 1; i++) {
        batch[i] = nimbus_test_obs((int64_t)i * 60, 3.0);
    }
    record_modelled(core, svc, batch, MIN - 1, model, &head, false);
    for (size_t i = 0; i < MIN; i++) {
        batch[i] = nimbus_test_obs((int64_t)(20 + i) * 60, 3.0);
    }
    record_modelled(core, svc, batch, MIN, model, &head, true);
    /* Slots 100-299 stored, one row each. */
    for (size_t i = 0; i < 200; i++) {
        batch[i] = nimbus_test_obs((int64_t)(100 + i) * 60, 4.0);
    }
    record_modelled(core, svc, batch, 200, model, &head, true);
    /* MIN corrections spread from slot 100 to slot 100 + span - 1, a range
     * holding span stored rows: the first and last slots and MIN - 2
     * between them. */
    size_t most = NIMBUS__STORE_MANY_RANGE(MIN);
    for (size_t span = most; span <= most + 1; span++) {
        for (size_t i = 0; i < MIN; i++) {
            size_t slot = 100 + i * (span - 1) / (MIN - 1);
            batch[i] = nimbus_test_obs((int64_t)slot * 60, 5.0 + (double)span);
        }
        record_modelled(core, svc, batch, MIN, model, &head, span == most);
    }
    check_modelled(svc, model, SLOTS);
    nimbus_test_close(core, svc);
}

/* Pages through GetObservations; returns the number seen and checks order. */
static size_t page_all(nimbus_service_t *svc, nimbus_get_observations_request_t req, size_t *pages,
                       int64_t *first, int64_t *last)
{
    char cursor[NIMBUS_CURSOR_SIZE] = "";
    size_t total = 0;
    int64_t prev = INT64_MIN;
    *pages = 0;
    *first = *last = -1;
    for (;;) {
        nimbus_get_observations_response_t res = {0};
        nimbus_error_t err;
        req.cursor = cursor[0] ? cursor : NULL;
        CU_ASSERT_EQUAL_FATAL(nimbus_service_get_observations(svc, T, &req, &res, &err), 0);
        (*pages)++;
        CU_ASSERT_TRUE(res.next_cursor[0] == '\0' || res.count == (size_t)req.limit);
        for (size_t i = 0; i < res.count; i++) {
            CU_ASSERT_TRUE(res.observations[i].observed_at > prev);
            prev = res.observations[i].observed_at;
            if (total++ == 0) {
                *first = prev;
            }
            *last = prev;
        }
        snprintf(cursor, sizeof(cursor), "%s", res.next_cursor);
        nimbus_get_observations_response_cleanup(&res);
        if (cursor[0] == '\0') {
            return total;
        }
    }
}

static void test_get_paging(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_test_create(svc, "b", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    nimbus_observation_t obs[250];
    /* Recorded out of order; read back ordered by observedAt. */
    for (int i = 0; i < 250; i++) {
        obs[i] = nimbus_test_obs((int64_t)((i * 37) % 250) * 60, 5);
    }
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 250, &res, &err), 0);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "b", obs, 10, &res, &err), 0);
    size_t pages;
    int64_t first, last;
    nimbus_get_observations_request_t req = {.station_id = "a", .has_limit = true, .limit = 30};
    CU_ASSERT_EQUAL(page_all(svc, req, &pages, &first, &last), 250);
    CU_ASSERT_EQUAL(pages, 9);
    CU_ASSERT_EQUAL(first, 0);
    CU_ASSERT_EQUAL(last, 249 * 60);
    req.limit = 50;
    CU_ASSERT_EQUAL(page_all(svc, req, &pages, &first, &last), 250);
    CU_ASSERT_EQUAL(pages, 5);
    /* from inclusive, to exclusive. */
    req = (nimbus_get_observations_request_t){.station_id = "a",
                                              .has_from = true,
                                              .from = 600,
                                              .has_to = true,
                                              .to = 6000,
                                              .has_limit = true,
                                              .limit = 7};
    CU_ASSERT_EQUAL(page_all(svc, req, &pages, &first, &last), 90);
    CU_ASSERT_EQUAL(first, 600);
    CU_ASSERT_EQUAL(last, 5940);
    CU_ASSERT_EQUAL(pages, 13);
    req.to = 600;
    CU_ASSERT_EQUAL(page_all(svc, req, &pages, &first, &last), 0);
    req.has_to = false;
    req.from = 601;
    CU_ASSERT_EQUAL(page_all(svc, req, &pages, &first, &last), 239);
    CU_ASSERT_EQUAL(first, 660);
    req.has_from = false;
    req.has_to = true;
    req.to = 601;
    CU_ASSERT_EQUAL(page_all(svc, req, &pages, &first, &last), 11);

    /* Errors. */
    nimbus_get_observations_response_t gres = {0};
    req = (nimbus_get_observations_request_t){
        .station_id = "a", .has_from = true, .from = 10, .has_to = true, .to = 9};
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &req, &gres, &err), -1);
    CU_ASSERT_STRING_EQUAL(err.message, "from must not be after to");
    req = (nimbus_get_observations_request_t){.station_id = "zz"};
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &req, &gres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    req = (nimbus_get_observations_request_t){.station_id = "a", .has_limit = true, .limit = 0};
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &req, &gres, &err), -1);
    req.limit = 1001;
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &req, &gres, &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);
    req.has_limit = false;
    CU_ASSERT_EQUAL(nimbus_service_get_observations(svc, T, &req, &gres, &err), 0);
    CU_ASSERT_EQUAL(gres.count, NIMBUS_LIST_LIMIT_DEFAULT);
    nimbus_get_observations_response_cleanup(&gres);
    nimbus_test_close(core, svc);
}

static void test_since(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    nimbus_test_create(svc, "b", "Berlin", "DE");
    nimbus_test_create(svc, "c", "Berlin", "DE");
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    for (int round = 0; round < 4; round++) {
        const char *ids[] = {"a", "b", "c"};
        for (int s = 0; s < 3; s++) {
            nimbus_observation_t o = nimbus_test_obs(round * 10 + s, round);
            CU_ASSERT_EQUAL(nimbus_test_record(svc, ids[s], &o, 1, &res, &err), 0);
        }
    }
    /* a's first observation corrected: it moves to the end of seq order. */
    nimbus_observation_t fix = nimbus_test_obs(0, 42);
    CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", &fix, 1, &res, &err), 0);
    CU_ASSERT_EQUAL(res.first_seq, 13);

    nimbus_observation_t *out = NULL;
    size_t n = 0;
    CU_ASSERT_EQUAL(nimbus_service_observations_since(svc, NULL, 0, 0, 100, &out, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 12);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(out[i].seq, (int64_t)i + 2);
    }
    free(out);
    CU_ASSERT_EQUAL(nimbus_service_observations_since(svc, NULL, 0, 5, 3, &out, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    CU_ASSERT_EQUAL(out[0].seq, 6);
    CU_ASSERT_EQUAL(out[2].seq, 8);
    free(out);
    const char *some[] = {"a", "c", "bad id", "nope"};
    CU_ASSERT_EQUAL(nimbus_service_observations_since(svc, some, 4, 0, 100, &out, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 8);
    int64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_TRUE(out[i].seq > prev);
        prev = out[i].seq;
        CU_ASSERT_TRUE(strcmp(out[i].station_id, "b") != 0);
    }
    CU_ASSERT_EQUAL(out[n - 1].temperature.value, 42);
    free(out);
    /* Stations are read one by one and merged: the first `limit` by seq
     * across them (a: 4 7 10 13, c: 3 6 9 12), a station listed twice
     * counted once. */
    const char *merged[] = {"c", "a", "c"};
    CU_ASSERT_EQUAL(nimbus_service_observations_since(svc, merged, 3, 3, 4, &out, &n, &err), 0);
    CU_ASSERT_EQUAL_FATAL(n, 4);
    CU_ASSERT_EQUAL(out[0].seq, 4);
    CU_ASSERT_EQUAL(out[1].seq, 6);
    CU_ASSERT_EQUAL(out[2].seq, 7);
    CU_ASSERT_EQUAL(out[3].seq, 9);
    free(out);
    const char *none[] = {"bad id"};
    CU_ASSERT_EQUAL(nimbus_service_observations_since(svc, none, 1, 0, 100, &out, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    free(out);
    CU_ASSERT_EQUAL(nimbus_service_observations_since(svc, NULL, 0, 13, 100, &out, &n, &err), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(nimbus_service_station_exists(svc, "a", &err), 0);
    CU_ASSERT_EQUAL(nimbus_service_station_exists(svc, "zz", &err), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    nimbus_test_close(core, svc);
}

typedef struct reader {
    nimbus_core_t *core;
    atomic_bool *stop;
    int bad;
    int reads;
} reader_t;

/* Reads the whole station over and over: a batch is visible all at once
 * or not at all, so the count is always a multiple of the batch size. */
static void *read_loop(void *arg)
{
    reader_t *r = arg;
    nimbus_error_t err;
    nimbus_service_t *svc = nimbus_service_new(r->core, &err);
    if (svc == NULL) {
        r->bad++;
        return NULL;
    }
    do {
        nimbus_get_observations_request_t req = {
            .station_id = "a", .has_limit = true, .limit = 1000};
        nimbus_get_observations_response_t res = {0};
        if (nimbus_service_get_observations(svc, T, &req, &res, &err) != 0 || res.count % 5 != 0) {
            r->bad++;
        }
        for (size_t i = 0; i < res.count; i++) {
            r->bad += res.observations[i].observed_at != (int64_t)i;
        }
        nimbus_get_observations_response_cleanup(&res);
        r->reads++;
    } while (!atomic_load(r->stop));
    nimbus_service_free(svc);
    return NULL;
}

static void test_batches_visible_whole(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_test_create(svc, "a", "Berlin", "DE");
    atomic_bool stop;
    atomic_init(&stop, false);
    reader_t readers[2] = {{core, &stop, 0, 0}, {core, &stop, 0, 0}};
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        pthread_create(&threads[i], NULL, read_loop, &readers[i]);
    }
    nimbus_error_t err;
    nimbus_record_observations_response_t res;
    for (int b = 0; b < 100; b++) {
        nimbus_observation_t obs[5];
        for (int i = 0; i < 5; i++) {
            obs[i] = nimbus_test_obs(b * 5 + i, 1);
        }
        CU_ASSERT_EQUAL(nimbus_test_record(svc, "a", obs, 5, &res, &err), 0);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
        CU_ASSERT_EQUAL(readers[i].bad, 0);
        CU_ASSERT_TRUE(readers[i].reads > 0);
    }
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"new, duplicate, correction", test_new_duplicate_correction},
        {"repeats inside a batch", test_batch_repeats},
        {"all or nothing", test_all_or_nothing},
        {"batch size limits", test_batch_limits},
        {"large batches: new, duplicates and corrections in statements of many rows",
         test_large_batches},
        {"which path a batch takes, at each switch and one past it", test_many_thresholds},
        {"GetObservations window and paging", test_get_paging},
        {"observations since a seq", test_since},
        {"batches become visible whole", test_batches_visible_whole},
        {NULL, NULL},
    };
    return nimbus_test_run("observation", cases);
}
