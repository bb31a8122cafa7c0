/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * `nimbus migrate --from PATH --to URI`: the command line of the SQLite to
 * PostgreSQL copy (service/migrate.c, nimbus_store_migrate). Exit codes as
 * the server's: 0 copied, 1 the copy failed (nothing was written), 2 bad
 * arguments.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "nimbus_service.h"
#include "server_internal.h"

static const char usage[] =
    "usage: nimbus migrate --from PATH --to postgresql://...\n"
    "  copies the SQLite database PATH (read-only; stop its server first) into an\n"
    "  empty PostgreSQL database, keeping every seq, the cursor key and the marks\n"
    "  (docs/scaling.md)\n";

int nimbus__migrate_main(int argc, char **argv)
{
    static const struct option options[] = {{"from", required_argument, NULL, 'f'},
                                            {"to", required_argument, NULL, 't'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
        if (c == 'f') {
            from = optarg;
        } else if (c == 't') {
            to = optarg;
        } else if (c == 'h') {
            fputs(usage, stdout);
            return 0;
        } else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (from == NULL || to == NULL || optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    char label[512];
    nimbus_store_label(to, label, sizeof label);
    nimbus_migrate_report_t report;
    nimbus_error_t err;
    if (nimbus_store_migrate(from, to, &report, &err) != 0) {
        fprintf(stderr, "nimbus migrate: %s; nothing was copied\n", err.message);
        return 1;
    }
    printf("nimbus migrate: copied %lld stations and %lld observations from %s to %s; the seq "
           "counter is %lld\n",
           (long long)report.stations, (long long)report.observations, from, label,
           (long long)report.seq);
    return 0;
}
