/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The `nimbus` binary: parse options, run the server until SIGINT/SIGTERM;
 * or `nimbus migrate ...` (server/migrate.c).
 * Exit codes: 0 after a clean stop (or --help/--version), 1 when the server
 * could not start or failed, 2 for bad command-line options.
 */
#include <string.h>

#include "server_internal.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "migrate") == 0) {
        return nimbus__migrate_main(argc - 1, argv + 1);
    }
    nimbus_config_t config;
    const char *keys[NIMBUS_MAX_KEYS];
    int key_count = 0;
    int rc = nimbus__options_parse(argc, argv, &config, keys, &key_count);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    return nimbus__server_run(&config, keys, key_count);
}
