/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals shared by the files of service/: the core and service objects,
 * the statement cache, the writer thread and its jobs, the hub, and the
 * cursor codec. Nothing outside service/ (tests aside) includes this; the
 * rest of Nimbus sees only the public nimbus_*.h headers.
 *
 * Threads and locks: one writer thread (writer.c) runs every write
 * transaction on its own connection, many requests' writes in one group
 * commit; workers only validate a write, queue it and go on serving.
 * core->hub_lock guards the head seq's publication and the hub's listener
 * list, so seqs are assigned, committed and published in one order. Reads
 * take no lock: each service has its own SQLite connection and WAL lets
 * readers run beside the writer, whatever it does. A checkpointer thread
 * (checkpoint.c) copies the WAL back into the database on a connection of
 * its own, so neither the writer nor a reader ever does.
 *
 * Two engines sit behind one statement interface (store.c): SQLite, the
 * embedded default, and PostgreSQL (store_pg.c), chosen by a
 * postgresql:// URI, which several Nimbus processes share. The operations
 * are written once against nimbus__stmt and the nimbus__bind_* /
 * nimbus__col_* calls below; only the SQL text, connecting, the schema and
 * the error mapping differ per engine. On PostgreSQL a follower thread
 * (follow.c) brings the commits of other processes into this one's hub and
 * freshness generations.
 */
#ifndef NIMBUS_SERVICE_INTERNAL_H
#define NIMBUS_SERVICE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "nimbus_fields.h"
#include "nimbus_service.h"
#include "nimbus_util.h"

/* Current schema version, kept in PRAGMA user_version (SQLite) or the meta
 * row schema_version (PostgreSQL). */
#define NIMBUS__SCHEMA_VERSION 2
/* How long a connection waits on a lock held by another process. */
#define NIMBUS__BUSY_TIMEOUT_MS 5000
/* The same on PostgreSQL, where a writer may wait for another node's whole
 * group transaction (store_pg.c). */
#define NIMBUS__PG_LOCK_TIMEOUT_MS 30000
/* Upper bound on hub listeners, so a leak of subscriptions cannot grow the
 * list without bound. */
#define NIMBUS__LISTENER_MAX 65536
/* Size of the key that authenticates cursors (HMAC-SHA256). */
#define NIMBUS__CURSOR_KEY_SIZE 32

/* The keys in force: --api-key's and the key file's, one immutable
 * snapshot that a reload replaces whole (auth.c). A caller takes a
 * reference under core->keys_lock and checks against it without any lock;
 * the last reference frees it, so a reload never waits for callers and a
 * caller never sees half a key file. */
typedef struct nimbus__keyset {
    _Atomic size_t refs;
    bool required; /* keys are configured (a key file may hold none: nobody gets in) */
    size_t count;
    nimbus_key_entry_t keys[NIMBUS_KEYS_MAX];
} nimbus__keyset_t;

typedef struct nimbus__listener {
    int id;
    nimbus_hub_listener_fn fn;
    void *arg;
} nimbus__listener_t;

/* Freshness generations (freshness.c): slot 0 is the write generation,
 * slot 1 the set of stations, then NIMBUS__GEN_SLOTS slots of stations. */
#define NIMBUS__GEN_ALL 0u
#define NIMBUS__GEN_STATIONS 1u
#define NIMBUS__GEN_SLOTS 4096u

typedef struct nimbus__job nimbus__job_t;
STAILQ_HEAD(nimbus__job_queue, nimbus__job);

/* The writer thread (writer.c). */
typedef struct nimbus__writer {
    pthread_t thread;
    bool started;
    pthread_mutex_t lock; /* guards queue and stopping */
    pthread_cond_t cond;
    struct nimbus__job_queue queue;
    bool stopping;
    nimbus_service_t *svc; /* the writer's own connection; writer thread only */
    /* Observations the current group stored, in seq order: published
     * after its COMMIT. Writer thread only. */
    nimbus_observation_t *stored;
    size_t stored_count;
    size_t stored_cap;
    /* What the current group changed (freshness.c): station slots and the
     * set of stations. Writer thread only. */
    uint64_t touched[NIMBUS__GEN_SLOTS / 64];
    bool touched_set;
    /* Set while a group runs (nimbus_core_commit_pending). */
    _Atomic bool in_group;
    /* How the last group ended: a failed COMMIT (disk full, I/O error)
     * makes the server not ready until one succeeds (nimbus_core_storage_ok).
     * Under lock. */
    bool failing;
    char failing_why[NIMBUS_ERROR_MESSAGE_MAX];
    /* Retention (retention.c): the age kept (0: all), whether a step is
     * due at once, and the rows removed so far. Under lock but the count. */
    int64_t retention_s;
    bool retention_due;
    _Atomic uint64_t retention_removed;
    /* Batches stored many rows to a statement (observation.c,
     * store_many), and the statements of NIMBUS__OBS_UPSERT_ROWS
     * observations among them (store_rows): for the tests, which see this
     * way which path a batch took. */
    _Atomic uint64_t many_batches;
    _Atomic uint64_t many_statements;
} nimbus__writer_t;

/* Retention steps (retention.c): rows per step, and the pause between
 * steps that found nothing more to do. */
#define NIMBUS__RETENTION_BATCH 1000
#define NIMBUS__RETENTION_IDLE_MS 60000

/* How many WAL pages wake the checkpointer (checkpoint.c); SQLite's own
 * wal_autocheckpoint default. */
#define NIMBUS__CHECKPOINT_PAGES 1000
/* Past this many WAL pages the writer checkpoints itself (RESTART) before
 * its next group, so the WAL starts over (checkpoint.c): the WAL's bound,
 * about 16 MB, plus one group. */
#define NIMBUS__WAL_PAGES_MAX 4000

/* The checkpointer thread (checkpoint.c). */
typedef struct nimbus__checkpointer {
    pthread_t thread;
    bool initialised, started;
    pthread_mutex_t lock; /* guards wanted and stopping */
    pthread_cond_t cond;
    bool wanted;
    bool stopping;
    sqlite3 *db;           /* its own connection; checkpointer thread only */
    _Atomic int wal_pages; /* after the last COMMIT, from the WAL hook */
    _Atomic int next_at;   /* WAL pages that wake the next checkpoint */
    _Atomic uint64_t runs, restarts, failures;
} nimbus__checkpointer_t;

/* The keys' lock and an empty snapshot (auth.c): 0, or -1. */
int nimbus__keys_init(nimbus_core_t *core);
void nimbus__keys_free(nimbus_core_t *core);
/* The metrics' client labels (see key_labels): how many, and the i-th
 * (i below the count, which only grows). Any thread, no lock. */
size_t nimbus__key_label_count(const nimbus_core_t *core);
const char *nimbus__key_label(const nimbus_core_t *core, size_t i);

/* Rate limits (ratelimit.c): buckets by subject ("key NAME" or
 * "addr ADDRESS"), open addressing over NIMBUS__RATE_SLOTS slots, a subject
 * looked for in NIMBUS__RATE_PROBES of them. */
#define NIMBUS__RATE_SLOTS 8192
#define NIMBUS__RATE_PROBES 16

typedef struct nimbus__bucket {
    char subject[80]; /* "" : free */
    double tokens;
    uint64_t last_us;
} nimbus__bucket_t;

typedef struct nimbus__rates {
    pthread_mutex_t lock;
    double per_second; /* 0: no limit */
    double burst;
    nimbus__bucket_t *buckets; /* NIMBUS__RATE_SLOTS, made with the first limit */
} nimbus__rates_t;

/* What GET /metrics counts outside the workers' blocks (metrics.c):
 * the blocks themselves, and storage, which the writer thread alone
 * counts. */
#define NIMBUS__COMMIT_BUCKETS 13
typedef struct nimbus__metrics {
    pthread_mutex_t lock; /* guards the list of blocks */
    struct nimbus_metrics_block *blocks;
    int64_t start_time; /* Unix seconds the core opened */
    _Atomic uint64_t rate_refused;
    /* Writer thread only (one writer: relaxed load and store). */
    _Atomic uint64_t commit_buckets[NIMBUS__COMMIT_BUCKETS + 1];
    _Atomic uint64_t commit_sum_us;
    _Atomic uint64_t observations_stored;
    _Atomic uint64_t duplicates;
    int64_t group_duplicates; /* of the group being written */
} nimbus__metrics_t;

/* Which engine a core stores in (store.c). */
typedef enum nimbus__engine { NIMBUS__SQLITE, NIMBUS__POSTGRES } nimbus__engine_t;

/* The follower (follow.c, PostgreSQL only): what of the shared store this
 * process has handed to its hub. */
typedef struct nimbus__follower {
    pthread_t thread;
    bool initialised, started;
    /* Taken by whoever feeds the hub from the store (the follower thread,
     * the writer after a commit, a subscriber catching up), so rows are
     * read and published in one order; fed is the newest seq published.
     * Taken before hub_lock, never after it. */
    pthread_mutex_t lock;
    int64_t fed;
    pthread_mutex_t wake_lock; /* guards stopping */
    bool stopping;
    int wake_fd;             /* an eventfd: write to stop the thread's poll */
    _Atomic int64_t poll_ms; /* the fallback timer (--follow-poll); 0: the default */
    nimbus_service_t *svc;   /* the LISTEN connection; follower thread only */
    _Atomic uint64_t reconnects, notifications, polls;
    /* The backend of this process's writer connection: its notifications
     * are this process's own, whose hub and generations the writer has
     * moved already. Set by the writer before it notifies. */
    _Atomic int writer_pid;
} nimbus__follower_t;

struct nimbus_core {
    char *path;
    nimbus__engine_t engine;
    /* Guards the listener list below and the publication of what a commit
     * stored (head_seq moves under it), so a listener's registration reads
     * the head atomically with joining. */
    pthread_mutex_t hub_lock;
    _Atomic int64_t head_seq;
    /* Bumped after every committed group; gens[] hold the write_gen of the
     * last group that changed the set of stations (gens[0]) or a slot of
     * stations (freshness.c). All start at 1, so 0 marks "no stamp". */
    _Atomic uint64_t write_gen;
    _Atomic uint64_t gens[1 + NIMBUS__GEN_SLOTS];
    unsigned char cursor_key[NIMBUS__CURSOR_KEY_SIZE];

    /* The keys (auth.c): keyset is the snapshot in force, never NULL;
     * dev_keys the --api-key ones, kept across reloads of file_keys. All
     * three guarded by keys_lock, which is held only to take a reference
     * or to swap. */
    pthread_mutex_t keys_lock;
    nimbus__keyset_t *keyset;
    nimbus_key_entry_t dev_keys[NIMBUS_KEYS_MAX];
    size_t dev_key_count;
    nimbus_key_entry_t *file_keys;
    size_t file_key_count;
    bool key_file; /* a key file is in force (even an empty one) */
    /* The metrics' client labels: every key name in force since start, in
     * the order it first was, at most NIMBUS_KEYS_MAX (a name past that
     * counts as "-"), so a reload neither renames nor drops a series.
     * Append-only: a name is written under keys_lock, then published by
     * the release store of key_label_count; readers load the count
     * (acquire) and read the names below it without a lock. */
    char key_labels[NIMBUS_KEYS_MAX][NIMBUS_KEY_NAME_MAX + 1];
    _Atomic size_t key_label_count;

    /* Guarded by hub_lock. */
    nimbus__listener_t *listeners;
    size_t listener_count;
    size_t listener_cap;
    int next_listener_id;

    nimbus__writer_t writer;
    nimbus__checkpointer_t checkpointer;
    nimbus__follower_t follower;
    nimbus__rates_t rates;
    /* Subscriptions held per key (per address without keys), bounded by
     * subscriptions_per_key (0: no limit). */
    nimbus_counts_t *subscriptions;
    size_t subscriptions_per_key;
    nimbus__metrics_t metrics;
};

/* Every statement a service prepares once and reuses. */
typedef enum nimbus__stmt_id {
    NIMBUS__STMT_BEGIN,
    NIMBUS__STMT_READ_BEGIN,
    NIMBUS__STMT_COMMIT,
    NIMBUS__STMT_ROLLBACK,
    NIMBUS__STMT_SEQ_GET,
    NIMBUS__STMT_SEQ_SET,
    NIMBUS__STMT_STATION_GET,
    NIMBUS__STMT_STATION_INSERT,
    NIMBUS__STMT_STATION_UPDATE,
    NIMBUS__STMT_STATION_DELETE,
    NIMBUS__STMT_STATION_OBS_DELETE,
    NIMBUS__STMT_STATION_COUNT,
    NIMBUS__STMT_STATION_LIST,
    NIMBUS__STMT_STATION_CITY,
    NIMBUS__STMT_OBS_UPSERT,
    /* SQLite only (NULL SQL on PostgreSQL): NIMBUS__OBS_UPSERT_ROWS rows
     * of OBS_UPSERT in one statement (observation.c, store_many). */
    NIMBUS__STMT_OBS_UPSERT_MANY,
    NIMBUS__STMT_OBS_RANGE,
    NIMBUS__STMT_OBS_LATEST,
    NIMBUS__STMT_OBS_SUMMARY,
    NIMBUS__STMT_OBS_SINCE_ALL,
    NIMBUS__STMT_OBS_SINCE_STATION,
    NIMBUS__STMT_STATION_IDS,
    NIMBUS__STMT_OBS_EXPIRE,
    NIMBUS__STMT_MARK_GET,
    NIMBUS__STMT_MARK_SET,
    NIMBUS__STMT_HEAD_GET,
    /* PostgreSQL only (NULL SQL on SQLite): a notification to the other
     * processes, sent at COMMIT (follow.c). */
    NIMBUS__STMT_NOTIFY,
    NIMBUS__STMT_COUNT
} nimbus__stmt_id_t;

/* The rows of NIMBUS__STMT_OBS_UPSERT_MANY (store.c spells them out). */
#define NIMBUS__OBS_UPSERT_ROWS 50

/* When a batch goes many rows to a statement (observation.c,
 * store_many): from this many rows, and while its observedAt range holds
 * at most NIMBUS__STORE_MANY_RANGE(rows) stored rows. A smaller batch
 * goes row by row because the range read would cost more than the
 * statements it saves; a denser range, so that the read stays bounded by
 * the batch's size. */
#define NIMBUS__STORE_MANY_MIN 16
#define NIMBUS__STORE_MANY_RANGE(rows) (2 * (rows) + NIMBUS__STORE_MANY_MIN)

/* The names GetObservationFeed and the stream's replay read "observations
 * with seq > S" by: every station, or those of a ",a,b," list. */
#define NIMBUS__STMT_OBSERVATIONS_AFTER_SEQ NIMBUS__STMT_OBS_SINCE_ALL
#define NIMBUS__STMT_OBSERVATIONS_AFTER_SEQ_OF NIMBUS__STMT_OBS_SINCE_SOME

/* One cached statement of either engine. On SQLite `lite` is the prepared
 * statement and every call below is SQLite's own; on PostgreSQL `pg` holds
 * the bound parameters and the result being read (store_pg.c). */
struct nimbus__pg_st;
typedef struct nimbus__st {
    sqlite3_stmt *lite;
    struct nimbus__pg_st *pg;
} nimbus__st_t;

/* What nimbus__step returns besides a failure: SQLite's own codes, which
 * the PostgreSQL engine returns too. A failure is any other value
 * (SQLite's code, or NIMBUS__PG_FAILED with the reason kept in the
 * service for nimbus__store_error). */
#define NIMBUS__STEP_ROW SQLITE_ROW
#define NIMBUS__STEP_DONE SQLITE_DONE
#define NIMBUS__PG_FAILED 1000

/* Slots of a service's GetWeather cache (direct-mapped by station id). */
#define NIMBUS__WEATHER_CACHE_SLOTS 128

typedef struct nimbus__weather_slot {
    nimbus_stamp_t stamp; /* when computed (freshness.c); gen 0: empty */
    nimbus_weather_report_t report;
} nimbus__weather_slot_t;

struct pg_conn; /* libpq's PGconn */

struct nimbus_service {
    nimbus_core_t *core;
    sqlite3 *db;        /* SQLite; NULL on PostgreSQL */
    struct pg_conn *pg; /* PostgreSQL; NULL on SQLite */
    bool pg_prepared;   /* the statements exist on pg's current session */
    /* The last PostgreSQL failure, for nimbus__store_error: its SQLSTATE
     * ("" when the connection itself failed) and message. */
    char pg_state[6];
    char pg_message[200];
    nimbus__st_t stmts[NIMBUS__STMT_COUNT];
    nimbus__weather_slot_t weather_cache[NIMBUS__WEATHER_CACHE_SLOTS];
    /* Writes of this service the writer has finished, waiting for
     * nimbus_service_run_completions on the service's thread; wake(arg)
     * says so from the writer's thread. */
    pthread_mutex_t done_lock;
    struct nimbus__job_queue done;
    void (*wake)(void *arg);
    void *wake_arg;
    _Atomic size_t pending;               /* queued by call_async, not yet completed */
    struct nimbus_metrics_block *metrics; /* made on first use; the core's */
};

/* ---- metrics.c ---------------------------------------------------------- */

int nimbus__metrics_init(nimbus_core_t *core);     /* 0, or -1: out of resources */
void nimbus__metrics_cleanup(nimbus_core_t *core); /* after every service is freed */
/* Writer thread: a group committed in us microseconds (ok) or failed. */
void nimbus__metrics_commit(nimbus_core_t *core, uint64_t us, size_t stored, bool ok);
/* Calls refused by the rate limit. Any thread. */
void nimbus__metrics_rate_refused(nimbus_core_t *core);

/* The least role operation Name needs, from the operation table. */
#define NIMBUS__ROLE(Name) (nimbus_op_table[NIMBUS_OP_##Name].role)

/* ---- store.c / store_pg.c: the storage interface ------------------------ */

/* true when path names a PostgreSQL database (a postgresql:// or
 * postgres:// libpq URI) rather than a SQLite file. */
bool nimbus__is_pg_uri(const char *path);

/* Opens a SQLite connection to path with Nimbus's pragmas. Returns 0 or -1
 * with err (UNAVAILABLE); *out is NULL on failure, else the caller closes
 * it. */
int nimbus__store_connect(const char *path, sqlite3 **out, nimbus_error_t *err);
/* Creates or upgrades the SQLite schema and reads the seq counter and
 * cursor key into core. Called once by nimbus_core_open. */
int nimbus__store_migrate(nimbus_core_t *core, sqlite3 *db, nimbus_error_t *err);
/* Opens svc's connection of core's engine and prepares every statement. */
int nimbus__store_open_service(nimbus_service_t *svc, nimbus_error_t *err);
void nimbus__store_close_service(nimbus_service_t *svc);
/* The cached statement id, reset and with bindings cleared; NULL with err
 * set when it cannot be prepared (or has no SQL for this engine).
 * Borrowed from svc. */
nimbus__st_t *nimbus__stmt(nimbus_service_t *svc, nimbus__stmt_id_t id, nimbus_error_t *err);
/* A read transaction, so several queries see one snapshot. read_end is
 * safe after a failed read_begin. */
int nimbus__read_begin(nimbus_service_t *svc, nimbus_error_t *err);
void nimbus__read_end(nimbus_service_t *svc);
/* Ends whatever transaction is open on svc's connection by rolling it back
 * (never committing it); a no-op when none is. Needs no memory when the
 * cached ROLLBACK statement is usable, and falls back to sqlite3_exec. */
void nimbus__rollback(nimbus_service_t *svc);
/* Maps a failed step (rc) to UNAVAILABLE or INTERNAL in err; returns -1.
 * `doing` says what failed ("reading the station"). svc NULL: rc is a
 * SQLite code. */
int nimbus__store_error(nimbus_service_t *svc, int rc, const char *doing, nimbus_error_t *err);
/* Directory part of path created (with parents) when missing. */
int nimbus__mkdir_parents(const char *path, nimbus_error_t *err);

/* PostgreSQL (store_pg.c). */
/* Connects svc to core->path and prepares its statements. */
int nimbus__pg_open_service(nimbus_service_t *svc, nimbus_error_t *err);
void nimbus__pg_close_service(nimbus_service_t *svc);
/* Creates or upgrades the schema (under an advisory lock, so nodes that
 * start together agree) and reads the seq counter and cursor key. */
int nimbus__pg_migrate(nimbus_core_t *core, nimbus_error_t *err);
/* Reconnects a service whose connection broke and prepares again; 0 or -1
 * with UNAVAILABLE. */
int nimbus__pg_ensure(nimbus_service_t *svc, nimbus_error_t *err);
/* Runs sql (no parameters, no rows wanted) on svc's connection: 0, or
 * NIMBUS__PG_FAILED with the reason kept in svc. */
int nimbus__pg_exec(nimbus_service_t *svc, const char *sql);
/* true when a transaction (or a failed one) is open on svc's connection. */
bool nimbus__pg_in_transaction(nimbus_service_t *svc);
void nimbus__pg_bind(nimbus__st_t *st, int i, const char *text, size_t len);
void nimbus__pg_bind_int64(nimbus__st_t *st, int i, int64_t v);
void nimbus__pg_bind_double(nimbus__st_t *st, int i, double v);
void nimbus__pg_bind_null(nimbus__st_t *st, int i);
int nimbus__pg_step(nimbus__st_t *st);
void nimbus__pg_reset(nimbus__st_t *st);
void nimbus__pg_clear_bindings(nimbus__st_t *st);
const char *nimbus__pg_col_text(nimbus__st_t *st, int col);
bool nimbus__pg_col_null(nimbus__st_t *st, int col);
int64_t nimbus__pg_changes(nimbus__st_t *st);

/* The statement calls of both engines. Text is borrowed until the
 * statement is reset (SQLite binds it in place; PostgreSQL copies it). */
static inline void nimbus__bind_text(nimbus__st_t *st, int i, const char *s)
{
    if (st->lite != NULL) {
        sqlite3_bind_text(st->lite, i, s, -1, SQLITE_STATIC);
    } else {
        nimbus__pg_bind(st, i, s, strlen(s));
    }
}
static inline void nimbus__bind_text_n(nimbus__st_t *st, int i, const char *s, size_t len)
{
    if (st->lite != NULL) {
        sqlite3_bind_text(st->lite, i, s, (int)len, SQLITE_STATIC);
    } else {
        nimbus__pg_bind(st, i, s, len);
    }
}
static inline void nimbus__bind_int64(nimbus__st_t *st, int i, int64_t v)
{
    if (st->lite != NULL) {
        sqlite3_bind_int64(st->lite, i, v);
    } else {
        nimbus__pg_bind_int64(st, i, v);
    }
}
static inline void nimbus__bind_double(nimbus__st_t *st, int i, double v)
{
    if (st->lite != NULL) {
        sqlite3_bind_double(st->lite, i, v);
    } else {
        nimbus__pg_bind_double(st, i, v);
    }
}
static inline void nimbus__bind_null(nimbus__st_t *st, int i)
{
    if (st->lite != NULL) {
        sqlite3_bind_null(st->lite, i);
    } else {
        nimbus__pg_bind_null(st, i);
    }
}
/* NIMBUS__STEP_ROW, NIMBUS__STEP_DONE, or a failure for nimbus__store_error. */
static inline int nimbus__step(nimbus__st_t *st)
{
    return st->lite != NULL ? sqlite3_step(st->lite) : nimbus__pg_step(st);
}
static inline void nimbus__reset(nimbus__st_t *st)
{
    if (st->lite != NULL) {
        sqlite3_reset(st->lite);
    } else {
        nimbus__pg_reset(st);
    }
}
static inline void nimbus__clear_bindings(nimbus__st_t *st)
{
    if (st->lite != NULL) {
        sqlite3_clear_bindings(st->lite);
    } else {
        nimbus__pg_clear_bindings(st);
    }
}
/* A column of the current row; text is valid until the next step or
 * reset, and NULL for SQL NULL. */
static inline const char *nimbus__col_text(nimbus__st_t *st, int col)
{
    return st->lite != NULL ? (const char *)sqlite3_column_text(st->lite, col)
                            : nimbus__pg_col_text(st, col);
}
static inline bool nimbus__col_null(nimbus__st_t *st, int col)
{
    return st->lite != NULL ? sqlite3_column_type(st->lite, col) == SQLITE_NULL
                            : nimbus__pg_col_null(st, col);
}
static inline int64_t nimbus__col_int64(nimbus__st_t *st, int col)
{
    if (st->lite != NULL) {
        return sqlite3_column_int64(st->lite, col);
    }
    const char *t = nimbus__pg_col_text(st, col);
    return t != NULL ? strtoll(t, NULL, 10) : 0;
}
static inline double nimbus__col_double(nimbus__st_t *st, int col)
{
    if (st->lite != NULL) {
        return sqlite3_column_double(st->lite, col);
    }
    const char *t = nimbus__pg_col_text(st, col);
    return t != NULL ? strtod(t, NULL) : 0;
}
/* Rows the last INSERT, UPDATE or DELETE of st changed (after its step,
 * reset or not). */
static inline int64_t nimbus__changes(nimbus__st_t *st)
{
    return st->lite != NULL ? sqlite3_changes(sqlite3_db_handle(st->lite)) : nimbus__pg_changes(st);
}

/* ---- writer.c: the writer thread and its jobs ---------------------------- */

/* A job's part in a group transaction, run on the writer's thread with the
 * writer's service (wsvc). Returns 0 when the job wrote what it had to
 * (its response filled, the observations it stored appended with
 * nimbus__writer_stored), 1 when it was refused before it changed anything
 * (err set: it fails alone, the group goes on), or -1 when storage failed
 * (err set: the whole group is rolled back and every job in it fails). */
typedef int (*nimbus__apply_fn)(nimbus_service_t *wsvc, nimbus__job_t *job, int64_t *seq,
                                nimbus_error_t *err);

/* One write, from the worker that checked it to the writer and back. Owns
 * everything it needs (copies of the request's values), so the request it
 * came from may be gone by the time the writer runs it. */
struct nimbus__job {
    STAILQ_ENTRY(nimbus__job) link;
    nimbus_op_t op;
    nimbus__apply_fn apply;
    union {
        nimbus_station_t station;           /* CreateStation, UpdateStation */
        char id[NIMBUS_STATION_ID_MAX + 1]; /* DeleteStation */
        struct {
            char station_id[NIMBUS_STATION_ID_MAX + 1];
            nimbus_observation_t *obs; /* owned: the batch less its in-batch repeats */
            size_t count;
            int64_t repeats; /* in-batch duplicates, counted as duplicates */
        } record;
    } in;
    nimbus_response_t res; /* filled by apply */
    int rc;
    nimbus_error_t err;
    /* Where the result goes: a service's completion queue (owner, done,
     * arg, out), or a waiting thread (sync). */
    nimbus_service_t *owner;
    nimbus_call_done_fn done;
    void *arg;
    nimbus_response_t *out;
    struct nimbus__sync *sync;
};

/* Where a job stands in its group (job->rc while the writer runs it). */
enum nimbus__job_state { NIMBUS__JOB_PENDING, NIMBUS__JOB_WRITTEN, NIMBUS__JOB_REFUSED };

/* A job for op whose apply is `apply`, zeroed; NULL when out of memory. */
nimbus__job_t *nimbus__job_new(nimbus_op_t op, nimbus__apply_fn apply);
void nimbus__job_free(nimbus__job_t *job); /* NULL-safe */

/* Runs a checked job and waits for the writer to finish it: the calling
 * thread blocks (never call it on the writer's thread). Copies the job's
 * response into *out and returns its result (0, or -1 with err). Frees
 * the job. */
int nimbus__job_run(nimbus_service_t *svc, nimbus__job_t *job, nimbus_response_t *out,
                    nimbus_error_t *err);

/* Queues a checked job whose result reaches done(arg, rc, err) on svc's
 * thread through its completion queue (svc->wake must be set); the
 * response is copied into *out first. Takes the job. */
void nimbus__job_submit(nimbus_service_t *svc, nimbus__job_t *job, nimbus_response_t *out,
                        nimbus_call_done_fn done, void *arg);

/* Appends an observation an apply stored to the group's publication.
 * Returns 0, or -1 with INTERNAL when out of memory (a storage-level
 * failure: the group is rolled back). */
int nimbus__writer_stored(nimbus_service_t *wsvc, const nimbus_observation_t *obs,
                          nimbus_error_t *err);

/* The write operations' checks (on the caller's thread): authorize, check
 * every value rule, and return a job for the writer in *out; or -1 with
 * err (*out NULL). station.c and observation.c. */
int nimbus__create_station_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_create_station_request_t *req, nimbus__job_t **out,
                               nimbus_error_t *err);
int nimbus__update_station_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_update_station_request_t *req, nimbus__job_t **out,
                               nimbus_error_t *err);
int nimbus__delete_station_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               const nimbus_delete_station_request_t *req, nimbus__job_t **out,
                               nimbus_error_t *err);
int nimbus__record_observations_job(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                    const nimbus_record_observations_request_t *req,
                                    nimbus__job_t **out, nimbus_error_t *err);

/* ---- freshness.c -------------------------------------------------------- */

/* Notes what a written job changed; the writer calls it for every job of
 * a group that wrote. */
void nimbus__writer_touch(nimbus__writer_t *wr, const nimbus__job_t *job);
/* Notes that a write changed station id (its answers go stale). */
void nimbus__writer_touch_station(nimbus__writer_t *wr, const char *id);
/* Moves the write generation and stamps every slot the group touched with
 * it; after COMMIT, before anyone is answered. */
void nimbus__writer_publish_gens(nimbus_core_t *core);
/* The same for changes another process committed (follow.c): the stations
 * of rows brought in, a station changed, or everything (after the follower
 * may have missed notifications). Any thread. */
void nimbus__gens_stamp_rows(nimbus_core_t *core, const nimbus_observation_t *obs, size_t count);
void nimbus__gens_stamp_station(nimbus_core_t *core, const char *id);
void nimbus__gens_stamp_all(nimbus_core_t *core);

int nimbus__writer_start(nimbus_core_t *core, nimbus_error_t *err);
/* Puts the calling thread (the writer, the checkpointer) under
 * SCHED_BATCH: see writer.c, "Scheduling". */
void nimbus__writer_thread_batch(void);

/* ---- ratelimit.c --------------------------------------------------------- */

/* Takes one call from subject's bucket: 0, or -1 with RESOURCE_EXHAUSTED
 * and err->retry_after_s. */
int nimbus__rate_take(nimbus_core_t *core, const char *subject, nimbus_error_t *err);
/* Whether calls are rate-limited at all (--rate): set before serving, so
 * read without the lock. */
bool nimbus__rate_limited(const nimbus_core_t *core);

/* ---- retention.c --------------------------------------------------------- */

/* One retention step on the writer's thread: the rows deleted (at most
 * NIMBUS__RETENTION_BATCH), or -1 when storage failed. */
int64_t nimbus__retention_step(nimbus_core_t *core, int64_t retention_s);

/* ---- checkpoint.c ------------------------------------------------------- */

/* Starts the checkpointer and hands it the WAL of writer_db (the writer's
 * connection, whose automatic checkpoints it turns off). Before the writer
 * thread starts. */
int nimbus__checkpointer_start(nimbus_core_t *core, sqlite3 *writer_db, nimbus_error_t *err);
/* On the writer's thread between groups: once the WAL holds
 * NIMBUS__WAL_PAGES_MAX pages, a RESTART checkpoint on its own connection,
 * so the WAL stays bounded whatever the checkpointer thread manages. */
void nimbus__checkpoint_restart(nimbus_core_t *core, sqlite3 *writer_db);
/* After the writer stopped: a last checkpoint, then the thread stops. */
void nimbus__checkpointer_stop(nimbus_core_t *core);
/* Runs every job still queued, then stops the thread. */
void nimbus__writer_stop(nimbus_core_t *core);

/* ---- follow.c: other processes' commits, PostgreSQL only ----------------- */

/* The follower's fallback poll when no notification arrives, and the
 * longest pause between two attempts to reconnect its connection. */
#define NIMBUS__FOLLOW_POLL_MS 1000
#define NIMBUS__FOLLOW_RETRY_MS 1000
/* Rows read per query while catching up. */
#define NIMBUS__FOLLOW_BATCH 1000
/* The channel every process of one database notifies and listens on. */
#define NIMBUS__FOLLOW_CHANNEL "nimbus"

/* Starts the follower thread (after the writer): it LISTENs, and feeds the
 * hub with every row of seq > what was fed, in seq order, on each
 * notification and on the fallback poll. */
int nimbus__follower_start(nimbus_core_t *core, nimbus_error_t *err);
void nimbus__follower_stop(nimbus_core_t *core);
/* On the writer's thread after a COMMIT that stored obs (seqs after
 * first_seq, the counter's value when the group began): publishes them,
 * after whatever other processes committed before them, which the writer
 * reads on its own connection first. Takes the follower's lock and the hub
 * lock. */
void nimbus__follow_published(nimbus_core_t *core, nimbus_service_t *wsvc, int64_t first_seq,
                              const nimbus_observation_t *obs, size_t count);
/* Reads and publishes everything committed past what was fed, on svc's
 * connection. 0, or -1 with err. Any thread with its own service. */
int nimbus__follow_catch_up(nimbus_core_t *core, nimbus_service_t *svc, nimbus_error_t *err);
/* In the writer's transaction, before COMMIT: the notifications of the
 * group (the new head when seq moved, and each station created, updated or
 * deleted). 0, or -1 with err (the group fails). */
int nimbus__follow_notify_group(nimbus_service_t *wsvc, struct nimbus__job_queue *group,
                                int64_t old_seq, int64_t new_seq, nimbus_error_t *err);
/* One station changed outside a job (retention): notified the same way. */
int nimbus__follow_notify_station(nimbus_service_t *wsvc, const char *id, nimbus_error_t *err);

/* ---- hub.c ------------------------------------------------------------- */

/* Calls every listener with obs; the caller holds the hub lock. */
void nimbus__hub_publish(nimbus_core_t *core, const nimbus_observation_t *obs, size_t count);

/* ---- rows: station.c / observation.c ----------------------------------- */

void nimbus__station_from_row(nimbus__st_t *st, int col, nimbus_station_t *out);
void nimbus__observation_from_row(nimbus__st_t *st, int col, nimbus_observation_t *out);
/* Steps st, appending each row to *rows (a heap array the caller frees,
 * grown as needed). On failure *rows is freed and err set. st is reset
 * either way. observation.c. */
int nimbus__observations_collect(nimbus_service_t *svc, nimbus__st_t *st,
                                 nimbus_observation_t **rows, size_t *count, nimbus_error_t *err);
/* Reads station id into out. Returns 1 found, 0 not found, -1 with err. */
int nimbus__station_get(nimbus_service_t *svc, const char *id, nimbus_station_t *out,
                        nimbus_error_t *err);
/* Validates an optional limit; writes the effective one. */
int nimbus__limit_resolve(bool has_limit, int64_t limit, int64_t *out, nimbus_error_t *err);

/* ---- weather.c --------------------------------------------------------- */

/* Fills report->latest and report->last24h for report->station. */
int nimbus__weather_fill(nimbus_service_t *svc, nimbus_weather_report_t *report,
                         nimbus_error_t *err);

/* ---- cursor.c ---------------------------------------------------------- */

/* What a cursor points after. Bound to the query that made it by `scope`
 * (the filters, as text), which is authenticated but not carried. */
typedef enum nimbus__cursor_kind {
    NIMBUS__CURSOR_STATIONS = 1,
    NIMBUS__CURSOR_OBSERVATIONS = 2
} nimbus__cursor_kind_t;

typedef struct nimbus__cursor {
    nimbus__cursor_kind_t kind;
    char text_key[NIMBUS_STATION_ID_MAX + 1]; /* STATIONS: the last id */
    int64_t int_key;                          /* OBSERVATIONS: the last observedAt */
} nimbus__cursor_t;

/* Encodes c into out (NIMBUS_CURSOR_SIZE bytes). Returns 0 or -1 with
 * INTERNAL. */
int nimbus__cursor_encode(const nimbus_core_t *core, const nimbus__cursor_t *c, const char *scope,
                          char out[NIMBUS_CURSOR_SIZE], nimbus_error_t *err);
/* Decodes text made by nimbus__cursor_encode for the same kind and scope.
 * Returns 0, or -1 with INVALID_ARGUMENT "cursor is invalid". */
int nimbus__cursor_decode(const nimbus_core_t *core, const char *text, nimbus__cursor_kind_t kind,
                          const char *scope, nimbus__cursor_t *out, nimbus_error_t *err);

/* ---- validate.c -------------------------------------------------------- */

/* true when code is an assigned ISO 3166-1 alpha-2 code (or XK). */
bool nimbus__country_is_assigned(const char *code);

/* A free-text field of 1..max code points held in at most `size` bytes (a
 * struct's char array, or a borrowed string: strnlen never reads past its
 * NUL): valid UTF-8 without control characters, U+FFFE or U+FFFF. `name` is
 * the field's full name for the message. 0 or -1 with INVALID_ARGUMENT. */
int nimbus__text_validate(const char *s, size_t size, long max, const char *name,
                          nimbus_error_t *err);

/* ---- fields.c / op_fields.c: building the field tables ------------------ */

/* One row of a field table (nimbus_fields.h) for member `member` of struct
 * T; Rule is a NIMBUS_RULES name. Each macro fixes what its kind needs. */
#define NIMBUS__ROW(T, name, item, kind, member, size, aux, flags, rule, type, min, max, doc)      \
    {                                                                                              \
        name, item, kind, offsetof(T, member), size, aux, flags, rule, type, doc, min, max         \
    }
#define NIMBUS__CHARS(T, name, member, flags, Rule)                                                \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_CHARS, member, sizeof(((T *)0)->member),               \
                NIMBUS_FIELD_NO_AUX, flags, NIMBUS_RULE(Rule), NULL, 0, 0, NULL)
#define NIMBUS__STRING(T, name, member, flags, Rule, doc)                                          \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_STRING, member, 0, NIMBUS_FIELD_NO_AUX, flags,         \
                NIMBUS_RULE(Rule), NULL, 0, 0, doc)
#define NIMBUS__DOUBLE(T, name, member, Rule)                                                      \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_DOUBLE, member, 0, NIMBUS_FIELD_NO_AUX,                \
                NIMBUS_FIELD_REQUIRED, NIMBUS_RULE(Rule), NULL, 0, 0, NULL)
#define NIMBUS__DOUBLE_FREE(T, name, member)                                                       \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_DOUBLE, member, 0, NIMBUS_FIELD_NO_AUX,                \
                NIMBUS_FIELD_REQUIRED, NULL, NULL, 0, 0, NULL)
#define NIMBUS__OPT_DOUBLE(T, name, member, Rule)                                                  \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_OPT_DOUBLE, member, 0, NIMBUS_FIELD_NO_AUX, 0,         \
                NIMBUS_RULE(Rule), NULL, 0, 0, NULL)
#define NIMBUS__OPT_DOUBLE_FREE(T, name, member)                                                   \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_OPT_DOUBLE, member, 0, NIMBUS_FIELD_NO_AUX, 0, NULL,   \
                NULL, 0, 0, NULL)
#define NIMBUS__TIME(T, name, member, aux, flags, doc)                                             \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_TIME, member, 0, aux, flags, NULL, NULL, 0, 0, doc)
#define NIMBUS__INT64(T, name, member, aux, flags)                                                 \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_INT64, member, 0, aux, flags, NULL, NULL, 0, 0, NULL)
#define NIMBUS__INT64_RULE(T, name, member, aux, flags, Rule, doc)                                 \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_INT64, member, 0, aux, flags, NIMBUS_RULE(Rule), NULL, \
                0, 0, doc)
#define NIMBUS__INT(T, name, member)                                                               \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_INT, member, 0, NIMBUS_FIELD_NO_AUX,                   \
                NIMBUS_FIELD_REQUIRED, NULL, NULL, 0, 0, NULL)
#define NIMBUS__OBJECT(T, name, member, aux, flags, Type)                                          \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_OBJECT, member, 0, aux, flags, NULL, &Type, 0, 0, NULL)
#define NIMBUS__ARRAY(T, name, item, member, count_member, flags, Type, min, max)                  \
    NIMBUS__ROW(T, name, item, NIMBUS_FIELD_ARRAY, member, 0, offsetof(T, count_member), flags,    \
                NULL, &Type, min, max, NULL)
#define NIMBUS__STRINGS(T, name, item, member, count_member, flags, Rule, min, max, doc)           \
    NIMBUS__ROW(T, name, item, NIMBUS_FIELD_STRINGS, member, 0, offsetof(T, count_member), flags,  \
                NIMBUS_RULE(Rule), NULL, min, max, doc)
#define NIMBUS__INT64_DOC(T, name, member, aux, flags, doc)                                        \
    NIMBUS__ROW(T, name, NULL, NIMBUS_FIELD_INT64, member, 0, aux, flags, NULL, NULL, 0, 0, doc)
#define NIMBUS__TYPE(Name, T, rows)                                                                \
    {                                                                                              \
        Name, sizeof(T), rows, sizeof(rows) / sizeof(rows[0])                                      \
    }
#define NIMBUS__TYPE_EMPTY(Name, T)                                                                \
    {                                                                                              \
        Name, sizeof(T), NULL, 0                                                                   \
    }

#endif
