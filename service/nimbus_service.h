/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The public face of the transport-independent core: open the store, make a
 * per-thread service handle, call operations, check credentials, and listen
 * to the event hub. Nothing here knows XML, JSON or HTTP.
 *
 * Threads: one nimbus_core_t per process, shared by every worker; one
 * nimbus_service_t per worker thread (it owns that thread's SQLite
 * connection and must not be used by two threads at once).
 *
 * Writes: one writer thread per core owns every write transaction. A write
 * is checked (caller, every value rule) on the calling thread, then queued;
 * the writer runs everything waiting in one transaction and one fsync
 * (group commit) and hands each result back. Nobody is answered before the
 * commit that holds their write: a write answered is durable (WAL,
 * synchronous=FULL). A write refused by storage-independent rules never
 * reaches the writer; one refused by what is stored (NOT_FOUND,
 * ALREADY_EXISTS) is refused before it changes anything, so it fails alone
 * and the rest of its group commits.
 *
 * Order: sequence numbers come from a counter stored in the same
 * transaction, in the order the writer runs the group's writes, so they are
 * gap-free, strictly increasing and never reused, and they survive
 * restarts. Stored observations are published to the hub after COMMIT under
 * the hub lock, so listeners see them in seq order, whichever worker took
 * the write.
 */
#ifndef NIMBUS_SERVICE_H
#define NIMBUS_SERVICE_H

#include "nimbus_error.h"
#include "nimbus_operations.h"
#include "nimbus_types.h"
#include "nimbus_util.h"

typedef struct nimbus_core nimbus_core_t;
typedef struct nimbus_service nimbus_service_t;

/* ---- access ------------------------------------------------------------ */

#define NIMBUS_KEY_NAME_MAX 64
#define NIMBUS_KEY_SECRET_MAX 256
/* The longest request id (X-Request-Id, server/http), which the access log
 * and the adapters' error documents carry. */
#define NIMBUS_REQUEST_ID_MAX 128

/* What a request presented. Strings are borrowed for the call. */
typedef enum nimbus_credential_kind {
    NIMBUS_CRED_NONE,   /* nothing presented */
    NIMBUS_CRED_SECRET, /* Bearer token or ?access_token=: the secret alone */
    NIMBUS_CRED_NAMED,  /* HTTP Basic or WS-Security UsernameToken */
    NIMBUS_CRED_TRUSTED /* the server itself (demo feeder); never from a client */
} nimbus_credential_kind_t;

typedef struct nimbus_credentials {
    nimbus_credential_kind_t kind;
    const char *name;   /* NIMBUS_CRED_NAMED only */
    const char *secret; /* SECRET and NAMED */
} nimbus_credentials_t;

/* Keys in force at once, --api-key's and the key file's together. */
#define NIMBUS_KEYS_MAX 64
/* Salt and hash of a stored key: SHA-256 over the salt, then the secret. */
#define NIMBUS_KEY_SALT_SIZE 16
#define NIMBUS_KEY_HASH_SIZE 32
/* Secrets `nimbus keys add` makes: 32 random bytes in base64url (43
 * characters), so a salted SHA-256 is enough (no guess can succeed: a slow
 * hash would only slow every request down). */
#define NIMBUS_KEY_NEW_SECRET_BYTES 32
#define NIMBUS_KEY_NEW_SECRET_LEN 43

/* One API key as the core keeps it and the key file stores it: never the
 * secret, only a salted hash of it. */
typedef struct nimbus_key_entry {
    char name[NIMBUS_KEY_NAME_MAX + 1];
    nimbus_role_t role;
    unsigned char salt[NIMBUS_KEY_SALT_SIZE];
    unsigned char hash[NIMBUS_KEY_HASH_SIZE]; /* SHA-256(salt || secret) */
    char added[32];                           /* "2024-05-01T12:00:00Z", or "" */
} nimbus_key_entry_t;

/* A key's name: 1-64 characters of A-Z a-z 0-9 . _ - */
bool nimbus_key_name_valid(const char *name);
/* Makes entry for a key named name with role and secret (checked as for
 * --api-key): a new random salt and the hash; added left "". 0, or -1 with
 * INVALID_ARGUMENT (or INTERNAL when the random generator fails). */
int nimbus_key_entry_make(const char *name, nimbus_role_t role, const char *secret,
                          nimbus_key_entry_t *entry, nimbus_error_t *err);
/* A new random secret (NIMBUS_KEY_NEW_SECRET_LEN characters and a NUL into
 * out, size NIMBUS_KEY_NEW_SECRET_LEN + 1). 0, or -1 with INTERNAL. */
int nimbus_key_secret_new(char *out, nimbus_error_t *err);
/* Whether secret is entry's, in time that does not depend on how close it
 * came. */
bool nimbus_key_entry_matches(const nimbus_key_entry_t *entry, const char *secret);

/* The key file (service/keyfile.c): one key a line, "NAME ROLE
 * sha256:SALT:HASH ADDED" (hex; ADDED an RFC 3339 UTC time), '#' comments.
 * Reading refuses a file other users may read or write (mode o+r or o+w),
 * a line it cannot read (naming path and line), twice the same name and
 * more than NIMBUS_KEYS_MAX keys. *entries is the caller's to free(). 0, or
 * -1 with err: UNAVAILABLE for a file that cannot be read, INVALID_ARGUMENT
 * for one it refuses. */
int nimbus_key_file_read(const char *path, nimbus_key_entry_t **entries, size_t *count,
                         nimbus_error_t *err);
/* The same from an open descriptor (its permissions checked the same way). */
int nimbus_key_file_read_fd(int fd, const char *path, nimbus_key_entry_t **entries, size_t *count,
                            nimbus_error_t *err);
/* Writes entries as path's new contents in one step (a file beside it,
 * synced, renamed over it): mode 0600 for a new file, an existing file's
 * owner and mode (less any bit for other users) otherwise. 0, or -1 with
 * UNAVAILABLE. */
int nimbus_key_file_write(const char *path, const nimbus_key_entry_t *entries, size_t count,
                          nimbus_error_t *err);

/* Parses one key "name:secret:role" (as given to --api-key) and adds it to
 * the keys in force, where it stays across reloads of the key file.
 * Returns 0, or -1 with INVALID_ARGUMENT. Any thread. */
int nimbus_core_add_key(nimbus_core_t *core, const char *spec, nimbus_error_t *err);

/* Reads the key file at path (nimbus_key_file_read) and puts its keys in
 * force in place of those it had before, in one step: a call checked
 * meanwhile sees either set whole. With a key file keys are required even
 * when it holds none. Any thread, while the workers run (SIGHUP). 0 with
 * *count the number of keys read, or -1 with err and the keys in force
 * unchanged. */
int nimbus_core_load_key_file(nimbus_core_t *core, const char *path, size_t *count,
                              nimbus_error_t *err);

/* Number of keys in force. */
size_t nimbus_core_key_count(nimbus_core_t *core);
/* Whether calls need a key: some --api-key, or a key file (even empty).
 * false: the server is open. */
bool nimbus_core_keys_required(nimbus_core_t *core);

/* Checks that creds name a configured key whose role includes `needed`.
 * With no keys configured everyone may do everything. Returns 0, or -1 with
 * UNAUTHENTICATED (missing or wrong key) or PERMISSION_DENIED (role too
 * small). Secrets are compared in constant time. */
int nimbus_core_authorize(nimbus_core_t *core, const nimbus_credentials_t *creds,
                          nimbus_role_t needed, nimbus_error_t *err);
/* The same, writing into who (NIMBUS_KEY_NAME_MAX + 1 bytes, or NULL) the
 * name of the key the caller authenticated with, for the access log: also
 * when its role falls short (PERMISSION_DENIED); "" for an open server, a
 * trusted caller, or a missing or wrong key. */
int nimbus_core_authorize_as(nimbus_core_t *core, const nimbus_credentials_t *creds,
                             nimbus_role_t needed, char *who, nimbus_error_t *err);

/* nimbus_core_authorize, then one call taken from the caller's rate limit
 * (service/ratelimit.c): the key's bucket, or the client address's when
 * the server has no keys (client: the peer's address as text, for that).
 * Adapters call it once per call, before reading its arguments. Returns 0,
 * or -1 with UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED (and
 * err->retry_after_s). Any thread. */
int nimbus_core_admit(nimbus_core_t *core, const nimbus_credentials_t *creds, const char *client,
                      nimbus_role_t needed, nimbus_error_t *err);
/* The same, naming the caller's key in who as nimbus_core_authorize_as. */
int nimbus_core_admit_as(nimbus_core_t *core, const nimbus_credentials_t *creds, const char *client,
                         nimbus_role_t needed, char *who, nimbus_error_t *err);

/* Counts one more subscription for the caller's key (its client address on
 * a server without keys) unless it holds the limit already: 0 with the
 * subject to release it by (a copy in `subject`), or -1 with
 * UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED. Trusted callers
 * are not counted (subject ""). Any thread. */
int nimbus_core_subscription_hold(nimbus_core_t *core, const nimbus_credentials_t *creds,
                                  const char *client, char subject[NIMBUS_COUNTS_NAME_MAX],
                                  nimbus_error_t *err);
/* One subscription of subject fewer ("" : nothing). */
void nimbus_core_subscription_release(nimbus_core_t *core, const char *subject);
/* Subscriptions a key may hold at once (--max-subscriptions-per-key;
 * 0: no limit). Before the workers start. */
void nimbus_core_set_subscription_limit(nimbus_core_t *core, size_t per_key);

/* Calls a second per key (or client address) and the burst a bucket holds
 * (--rate, --burst); per_second 0: no limit. Before the workers start (and
 * at a reload). 0, or -1 when out of memory. */
int nimbus_core_set_rate(nimbus_core_t *core, double per_second, double burst, nimbus_error_t *err);

/* ---- freshness ---------------------------------------------------------- */

/* When a read's answer was the truth: a slot of what it depends on and that
 * slot's generation, taken before the read (service/freshness.c). */
typedef struct nimbus_stamp {
    uint32_t slot;
    uint64_t gen; /* 0: no stamp, never fresh */
} nimbus_stamp_t;

/* Takes the stamp for op's answer to req, before the read is made. Returns
 * false (and leaves *out alone) for an operation whose answer must not be
 * kept: every write. Any thread. */
bool nimbus_core_stamp(nimbus_core_t *core, nimbus_op_t op, const nimbus_request_t *req,
                       nimbus_stamp_t *out);
/* True while no committed write has changed what stamp's answer depends on.
 * A write is answered only after it made its stamps stale, so an answer
 * kept under a fresh stamp never hides an acknowledged write. Any thread. */
bool nimbus_core_stamp_fresh(nimbus_core_t *core, const nimbus_stamp_t *stamp);

/* ---- lifecycle --------------------------------------------------------- */

/* Opens (creating if needed) the SQLite file at path, with its directory,
 * or, when path is a postgresql:// (or postgres://) libpq URI, that
 * PostgreSQL database, which other Nimbus processes may share; and brings
 * its schema up to date. Returns a core the caller frees with
 * nimbus_core_free, or NULL with err set (UNAVAILABLE when the store cannot
 * be opened). */
nimbus_core_t *nimbus_core_open(const char *path, nimbus_error_t *err);

/* true when the store is shared with other processes (PostgreSQL): no
 * lock file, and other processes' writes reach this one's hub and caches
 * through the follower (service/follow.c). */
bool nimbus_core_shared(const nimbus_core_t *core);

/* What nimbus_store_migrate copied. */
typedef struct nimbus_migrate_report {
    int64_t stations, observations;
    int64_t seq; /* the seq counter carried over: the next write gets seq + 1 */
} nimbus_migrate_report_t;

/* Copies the SQLite database at `from` (opened read-only, never changed)
 * into the empty PostgreSQL database `to` (a libpq URI; its schema is made
 * if missing), in one transaction: every station and observation with its
 * seq, the seq counter, the cursor key and the marks (`nimbus migrate`).
 * Returns 0 with *report filled, or -1 with err: INVALID_ARGUMENT (not a
 * path and a URI), ALREADY_EXISTS (the target holds data), UNAVAILABLE. */
int nimbus_store_migrate(const char *from, const char *to, nimbus_migrate_report_t *report,
                         nimbus_error_t *err);

/* PostgreSQL: how often, at most, the follower reads what other processes
 * committed when no notification came (--follow-poll; default
 * 1000 ms): the longest a lost notification delays a subscriber or a
 * cache. No effect on SQLite. Any thread. */
void nimbus_core_set_follow_poll(nimbus_core_t *core, long ms);

/* path as it may be shown in a log: a URI's password replaced by "***".
 * Writes at most size bytes (NUL included) to out. */
void nimbus_store_label(const char *path, char *out, size_t size);
void nimbus_core_free(nimbus_core_t *core); /* NULL-safe; after every service is freed */

/* The newest seq ever assigned (0 before the first). Thread-safe. */
int64_t nimbus_core_head_seq(nimbus_core_t *core);

/* Whether the writer is running a group now (from taking its jobs until
 * they are handed back): work that holds a worker's loop for long (a
 * fan-out) yields the core at points while it is, so that a commit whose
 * fsync has returned publishes at once instead of at the next scheduler
 * tick (the writer does not preempt: service/writer.c, "Scheduling").
 * Thread-safe, lock-free. */
bool nimbus_core_commit_pending(nimbus_core_t *core);

/* Keeps observations whose observedAt is at most `seconds` old (0: all):
 * the writer deletes older ones in small steps when it has nothing else to
 * do (service/retention.c). Any thread; a first step follows soon. */
void nimbus_core_set_retention(nimbus_core_t *core, int64_t seconds);
/* Observations deleted by retention since start. */
uint64_t nimbus_core_retention_removed(nimbus_core_t *core);

/* true while storage takes writes: the writer runs and its last group
 * committed. Otherwise false with why (a sentence for /readyz). Any
 * thread. */
bool nimbus_core_storage_ok(nimbus_core_t *core, char *why, size_t size);

/* Number of stations stored (for --demo's "leave a used database alone"). */
int nimbus_core_station_count(nimbus_core_t *core, int64_t *count, nimbus_error_t *err);

/* Named yes/no marks kept in the database itself, so they travel with the
 * file (e.g. "demo": this database was seeded by --demo and may be fed).
 * name: 1-32 characters of [a-z0-9_]. get reads false for a mark never set.
 * Return 0, or -1 with err (INVALID_ARGUMENT for a bad name, UNAVAILABLE
 * when storage fails). Thread-safe; not for hot paths (own connection). */
int nimbus_core_get_mark(nimbus_core_t *core, const char *name, bool *value, nimbus_error_t *err);
int nimbus_core_set_mark(nimbus_core_t *core, const char *name, bool value, nimbus_error_t *err);

/* A per-thread handle with its own SQLite connection. Free with
 * nimbus_service_free (NULL-safe). NULL with err set on failure. */
nimbus_service_t *nimbus_service_new(nimbus_core_t *core, nimbus_error_t *err);
void nimbus_service_free(nimbus_service_t *svc);
/* The core svc was made from: borrowed, valid as long as the core. */
nimbus_core_t *nimbus_service_core(nimbus_service_t *svc);

/* ---- operations -------------------------------------------------------- */

/*
 * nimbus_service_<snake>(svc, caller, request, response, err) for every row
 * of NIMBUS_OPERATIONS. Each first authorizes caller for the row's role, then
 * validates the request by the contract's rules, then runs. Returns 0 with
 * response filled, or -1 with err set and response holding nothing that needs
 * freeing beyond what cleanup handles. The caller always calls
 * nimbus_<snake>_response_cleanup(response) afterwards.
 * response must be zeroed (or cleaned up) before the call.
 */
#define NIMBUS_X_SERVICE_DECL(Name, snake, role, kind)                                             \
    int nimbus_service_##snake(nimbus_service_t *svc, const nimbus_credentials_t *caller,          \
                               const nimbus_##snake##_request_t *request,                          \
                               nimbus_##snake##_response_t *response, nimbus_error_t *err);
NIMBUS_OPERATIONS(NIMBUS_X_SERVICE_DECL)
#undef NIMBUS_X_SERVICE_DECL

/* nimbus_service_<snake> for the row `op`, with the request and response
 * as the member of the unions that op names: the one entry point of the
 * adapters that treat every operation alike. Same contract as above: for a
 * write, the calling thread waits for its commit. */
int nimbus_service_call(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                        const nimbus_request_t *request, nimbus_response_t *response,
                        nimbus_error_t *err);

/* The end of an asynchronous call: rc 0, or -1 with err (valid only during
 * the call). */
typedef void (*nimbus_call_done_fn)(void *arg, int rc, const nimbus_error_t *err);

/*
 * nimbus_service_call without waiting for a write to commit, so an event
 * loop goes on serving meanwhile. A read, and a write refused before
 * storage (caller, value rules), finish at once: done is called before this
 * returns. A write is checked here (the request may be freed once this
 * returns; its values are copied), queued to the writer, and done is called
 * later on svc's own thread, from nimbus_service_run_completions, once its
 * group committed or failed; response (zeroed by the caller) must stay
 * valid until then and is filled before done runs. The caller cleans the
 * response up after done, as for nimbus_service_call. A service without a
 * wake function (nimbus_service_set_wake) waits for the write instead.
 */
void nimbus_service_call_async(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               nimbus_op_t op, const nimbus_request_t *request,
                               nimbus_response_t *response, nimbus_call_done_fn done, void *arg);

/* How the writer tells svc's thread that writes have finished: wake(arg)
 * runs on the writer's thread (so it must be thread-safe, e.g. libevent's
 * event_active), and the service's thread then calls
 * nimbus_service_run_completions. Set before the first call_async. */
void nimbus_service_set_wake(nimbus_service_t *svc, void (*wake)(void *arg), void *arg);

/* Calls the done function of every write of svc the writer has finished,
 * in the order they finished, on the calling thread (svc's). */
void nimbus_service_run_completions(nimbus_service_t *svc);

/* Writes of svc queued by call_async whose done has not run yet: a worker
 * that stops waits for 0 before it frees what their done functions use.
 * Thread-safe. */
size_t nimbus_service_pending(nimbus_service_t *svc);

/* Observations of the given stations (all when station_count is 0) with
 * seq > after_seq, in seq order, at most `limit` (with stations, at most
 * 16000 a call: a page, fewer than asked does not mean the end); for
 * stream replay and GetObservationFeed. Costs what it returns, however
 * many rows other stations have after after_seq.
 * *out is set to NULL first, then to a heap array the caller frees with
 * free(). Returns 0 or -1 with err. */
int nimbus_service_observations_since(nimbus_service_t *svc, const char *const *station_ids,
                                      size_t station_count, int64_t after_seq, size_t limit,
                                      nimbus_observation_t **out, size_t *out_count,
                                      nimbus_error_t *err);

/* (1.1) The start of a subscription with "snapshot": the latest
 * observation (greatest observedAt) of each of the given stations (every
 * station when station_count is 0; each listed station once, in id order;
 * a station without observations has none) and *head, the newest seq, both
 * read in one snapshot of storage (service/feed.c): every observation with
 * seq <= *head is reflected in what was read, none above it is. *out is set
 * to NULL first, then to a heap array the caller frees with free(). Returns
 * 0 or -1 with err. */
int nimbus_service_snapshot(nimbus_service_t *svc, const char *const *station_ids,
                            size_t station_count, nimbus_observation_t **out, size_t *out_count,
                            int64_t *head, nimbus_error_t *err);

/* (1.1) A subscription's heartbeat, in seconds. */
#define NIMBUS_HEARTBEAT_MIN_S 1
#define NIMBUS_HEARTBEAT_MAX_S 300

/* (1.1) The rules of subscribe's options (service/feed.c): `snapshot` not
 * together with fromSeq, `heartbeat` (has_heartbeat) in
 * NIMBUS_HEARTBEAT_MIN_S..NIMBUS_HEARTBEAT_MAX_S. 0, or -1 with
 * INVALID_ARGUMENT. */
int nimbus_service_subscribe_options_check(bool has_from_seq, bool snapshot, bool has_heartbeat,
                                           int64_t heartbeat_s, nimbus_error_t *err);

/* Station filters one subscription may name. */
#define NIMBUS_SUBSCRIBE_STATIONS_MAX 1000

/* Checks a stream subscription against the contract's rules: the caller may
 * read; station_ids is NULL (every station) or 1..NIMBUS_SUBSCRIBE_STATIONS_MAX
 * ids of existing stations; *from_seq, when from_seq is not NULL, lies in
 * 0..head_seq, head_seq being the newest seq the subscriber's hand-over
 * starts from (read by the caller once its hub listener is active). Returns
 * 0, or -1 with err for the first rule broken (UNAUTHENTICATED,
 * PERMISSION_DENIED, INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE). */
int nimbus_service_subscribe_check(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                                   const char *const *station_ids, size_t station_count,
                                   const int64_t *from_seq, int64_t head_seq, nimbus_error_t *err);

/* 0 when the station exists, else -1 with NOT_FOUND. */
int nimbus_service_station_exists(nimbus_service_t *svc, const char *id, nimbus_error_t *err);

/* ---- event hub --------------------------------------------------------- */

/*
 * Called once per committed group of writes with the observations it stored
 * (new or corrected, in increasing seq; one write's observations are never
 * split across calls), on the writer's thread, with the core's hub lock
 * held: copy what you need and return quickly; do not call back into the
 * service. `obs` is valid only during the call.
 */
typedef void (*nimbus_hub_listener_fn)(void *arg, const nimbus_observation_t *obs, size_t count);

/* Registers a listener; returns an id > 0 for nimbus_core_unlisten, or -1
 * with RESOURCE_EXHAUSTED. Thread-safe. The head seq at registration is
 * written to *head_seq (may be NULL) atomically with the registration, so a
 * listener misses nothing after it and sees nothing before it. */
int nimbus_core_listen(nimbus_core_t *core, nimbus_hub_listener_fn fn, void *arg, int64_t *head_seq,
                       nimbus_error_t *err);
/* Removes a listener; once it returns, fn is not running and will not be
 * called again. Thread-safe; must not be called from inside a listener. */
void nimbus_core_unlisten(nimbus_core_t *core, int id);

#endif
