/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The `nimbus` binary: parse the settings (options.c), run the server until
 * SIGINT/SIGTERM; or, as `nimbus keys ...`, manage the key file
 * (keys_cmd.c); or `nimbus migrate ...` (server/migrate.c). Exit codes: 0
 * after a clean stop (or --help/--version), 1 when the server could not
 * start or failed, 2 for bad options or a bad configuration file.
 */
#include <string.h>

#include "server_internal.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "keys") == 0) {
        return nimbus__keys_main(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "migrate") == 0) {
        return nimbus__migrate_main(argc - 1, argv + 1);
    }
    static nimbus_config_t config; /* large: the key specs */
    int rc = nimbus__options_parse(argc, argv, &config);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    return nimbus__server_run(&config);
}
