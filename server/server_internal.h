/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Internals shared by the files of server/: the server object that owns the
 * workers, and the pieces main.c drives. Nothing outside server/ includes
 * this; the front-ends see only the HTTP host's nimbus_http.h, and the
 * server sees each front-end only through its entry header.
 */
#ifndef NIMBUS_SERVER_INTERNAL_H
#define NIMBUS_SERVER_INTERNAL_H

#include <pthread.h>

#include "nimbus_dashboard.h"
#include "nimbus_http.h"
#include "nimbus_rest.h"
#include "nimbus_soap.h"
#include "nimbus_stream.h"

/* Extra room evhttp reads past --max-body before it gives up on a request
 * by itself (with its own 413 and a closed connection). Bodies between
 * max_body and max_body * NIMBUS_BODY_READ_FACTOR reach the front-ends,
 * which answer PAYLOAD_TOO_LARGE in their own format. */
#define NIMBUS_BODY_READ_FACTOR 4
#define NIMBUS_MAX_HEADERS_SIZE (64 * 1024)
#define NIMBUS_MAX_WORKERS 64

struct nimbus_server {
    nimbus_config_t config;
    nimbus_core_t *core;
    int worker_count;
    nimbus_worker_t *workers;
    pthread_t *threads;
    int *listen_fds;
    struct evhttp_bound_socket **bound; /* per worker, owned by its evhttp */
    int bound_port;
    char authority[300]; /* "127.0.0.1:8080" as bound, for when no Host came */
    struct nimbus_demo *demo;
    nimbus_conn_table_t *conns; /* every worker's connections, counted */
    int db_lock;                /* the flock on "<db>.lock"; -1 none */
    nimbus_tls_t *tls;          /* with --tls-cert */
};

/* The settings (options.c): config gets the defaults, then the file of
 * --config (an INI file whose keys are the long options, at the top or
 * under [nimbus]), then the command line, which wins. Returns 0 to run, 1
 * when --help or --version was handled (exit 0), or -1 after logging why,
 * naming the file and line for the file's mistakes (exit 2). */
int nimbus__options_parse(int argc, char **argv, nimbus_config_t *config);

/* --soap-sunset DATE (sunset true) or --soap-sunset-link URL into config.
 * 0, or -1 with why (a sentence after the option's name: "needs ...")
 * (sunset.c). */
int nimbus__sunset_option(bool sunset, const char *arg, nimbus_config_t *config, char *why,
                          size_t why_size);

/* GET /metrics (Prometheus text), GET /metrics/clients (the dashboard's
 * Clients view) and GET /migration (the migration guide), on w
 * (metrics_http.c). With API keys, the first two need the admin role. */
void nimbus__metrics_handle(nimbus_worker_t *w, struct evhttp_request *req, const char *path);

/* Defaults, then the settings of the configuration file at path alone: for
 * `nimbus keys --config FILE`, which needs its `keys`. 0, or -1 after
 * logging why. */
int nimbus__config_read(const char *path, nimbus_config_t *config);

/* `nimbus keys add|list|remove ...` (keys_cmd.c): argv[0] is "keys".
 * Returns the exit code. */
int nimbus__keys_main(int argc, char **argv);

/* Runs the server until SIGINT or SIGTERM. Returns the process exit code.
 * The --api-key secrets in config are wiped once the core has their
 * hashes. */
int nimbus__server_run(nimbus_config_t *config);

/* `nimbus migrate ...` (migrate.c): argv[0] is "migrate". Returns the exit
 * code. */
int nimbus__migrate_main(int argc, char **argv);

/* Demo data: seeds stations into an empty database (or any, with force)
 * and marks it as a demo database. *feed says whether the feeder may run:
 * after a seed, or on a database an earlier --demo run seeded; never on a
 * database that holds other stations (it is left alone). Returns 0 or -1
 * with err. The feeder records observations on worker 0's loop. */
typedef struct nimbus_demo nimbus_demo_t;
int nimbus__demo_seed(nimbus_core_t *core, bool force, bool *feed, nimbus_error_t *err);
/* Starts the feeder on w's loop. Returns it, owned by the caller, who stops
 * and frees it with nimbus__demo_stop on w's thread (or before w's loop
 * runs); NULL with err on failure. */
nimbus_demo_t *nimbus__demo_start(nimbus_worker_t *w, nimbus_error_t *err);
void nimbus__demo_stop(nimbus_demo_t *demo); /* NULL-safe; on w's thread */

#endif
