/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/checkpoint.c: the writer's connection never checkpoints
 * (wal_autocheckpoint 0), the checkpointer thread does once the WAL has
 * grown past NIMBUS__CHECKPOINT_PAGES, and the WAL file stays bounded by
 * NIMBUS__WAL_PAGES_MAX (and a group's worth) however much is written
 * without a pause: here over ten times that bound.
 * Everything written reads back after the checkpoints, and after a
 * reopen. The writer and the checkpointer run under SCHED_BATCH, and no
 * other thread does (service/writer.c, "Scheduling").
 */
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "service_internal.h"
#include "test_util.h"

#define BATCH 1000

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static void record_batches(nimbus_service_t *svc, int batches, int64_t *t)
{
    static nimbus_observation_t obs[BATCH];
    for (int b = 0; b < batches; b++) {
        for (int i = 0; i < BATCH; i++) {
            obs[i] = nimbus_test_obs((*t)++, 10.0 + i % 17);
        }
        nimbus_record_observations_response_t res;
        nimbus_error_t err;
        CU_ASSERT_EQUAL_FATAL(nimbus_test_record(svc, "c", obs, BATCH, &res, &err), 0);
        CU_ASSERT_EQUAL(res.accepted, BATCH);
    }
}

static void test_writer_never_checkpoints(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    sqlite3_stmt *st;
    CU_ASSERT_EQUAL_FATAL(
        sqlite3_prepare_v2(nimbus_test_writer_db(core), "PRAGMA wal_autocheckpoint", -1, &st, NULL),
        SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(st), SQLITE_ROW);
    CU_ASSERT_EQUAL(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    nimbus_test_close(core, svc);
}

/* The scheduling policy of each of this process's threads: how many run
 * under `policy` (field 41 of /proc/self/task/TID/stat). */
static int threads_with_policy(int policy)
{
    DIR *dir = opendir("/proc/self/task");
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[64], line[1024];
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) {
            continue; /* the thread ended meanwhile */
        }
        size_t len = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[len] = '\0';
        /* After the command's closing parenthesis come fields 3 on. */
        char *p = strrchr(line, ')');
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        int field = 2;
        for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
            if (++field == 41) {
                n += atoi(tok) == policy;
                break;
            }
        }
    }
    closedir(dir);
    return n;
}

static void test_writer_threads_batch(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    /* Each thread sets its own policy when it starts: wait for both. */
    for (int i = 0; i < 200 && threads_with_policy(SCHED_BATCH) < 2; i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    CU_ASSERT_EQUAL(threads_with_policy(SCHED_BATCH), 2);
    CU_ASSERT_EQUAL(sched_getscheduler(0), SCHED_OTHER); /* this one, as a worker */
    CU_ASSERT_FALSE(nimbus_core_commit_pending(core));   /* nothing written */
    nimbus_test_close(core, svc);
    /* Both are joined; a joined thread may still be listed for a moment
     * (the kernel wakes the joiner before it has released the task). */
    for (int i = 0; i < 200 && threads_with_policy(SCHED_BATCH) > 0; i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    CU_ASSERT_EQUAL(threads_with_policy(SCHED_BATCH), 0);
}

static void test_wal_stays_bounded(void)
{
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", core->path);
    nimbus_test_create(svc, "c", "Berlin", "DE");
    int64_t t = 1700000000;
    long long largest = 0;
    /* Each batch adds some tens of pages; 400 batches is far more than
     * ten checkpoints' worth. */
    for (int round = 0; round < 40; round++) {
        record_batches(svc, 10, &t);
        long long size = file_size(wal);
        if (size > largest) {
            largest = size;
        }
    }
    long long page = 4096;
    /* The hard limit, plus what one group may add past it, plus a frame
     * header per page. */
    long long bound = (NIMBUS__WAL_PAGES_MAX + NIMBUS__CHECKPOINT_PAGES) * (page + 24);
    printf("\n    WAL peaked at %lld bytes (bound %lld); %llu checkpoints, %llu restarts\n",
           largest, bound, (unsigned long long)atomic_load(&core->checkpointer.runs),
           (unsigned long long)atomic_load(&core->checkpointer.restarts));
    CU_ASSERT_TRUE(largest > 0);
    CU_ASSERT_TRUE(largest <= bound);
    CU_ASSERT_TRUE(atomic_load(&core->checkpointer.runs) > 0);
    CU_ASSERT_EQUAL(atomic_load(&core->checkpointer.failures), 0);

    /* Everything reads back, here and after a reopen. */
    nimbus_get_weather_request_t req = {"c"};
    nimbus_get_weather_response_t res;
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_service_get_weather(svc, &nimbus_test_trusted, &req, &res, &err), 0);
    CU_ASSERT_EQUAL(res.report.latest.seq, 400 * BATCH);
    char path[4096];
    snprintf(path, sizeof path, "%s", core->path);
    nimbus_test_close(core, svc);
    core = nimbus_core_open(path, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(core);
    svc = nimbus_service_new(core, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
    CU_ASSERT_EQUAL(nimbus_service_get_weather(svc, &nimbus_test_trusted, &req, &res, &err), 0);
    CU_ASSERT_EQUAL(res.report.latest.seq, 400 * BATCH);
    nimbus_test_close(core, svc);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"writer never checkpoints", test_writer_never_checkpoints},
        {"WAL stays bounded", test_wal_stays_bounded},
        {"writer threads under SCHED_BATCH", test_writer_threads_batch},
        {NULL, NULL},
    };
    return nimbus_test_run("checkpoint", cases);
}
