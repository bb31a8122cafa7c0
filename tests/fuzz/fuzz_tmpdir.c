/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Temporary folders of the fuzz targets (see fuzz_tmpdir.h).
 */
#include "fuzz_tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static char made[4096];

static void remove_tree(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    (void)!system(cmd);
}

static void remove_made(void)
{
    remove_tree(made);
}

/* Removes base/nimbus-fuzz-*-PID-* folders whose PID no longer runs. */
static void remove_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "nimbus-fuzz-", 12) != 0) {
            continue;
        }
        const char *dash = strchr(e->d_name + 12, '-');
        long pid = dash ? strtol(dash + 1, NULL, 10) : 0;
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", base, e->d_name);
            remove_tree(path);
        }
    }
    closedir(d);
}

void fuzz_tmpdir(const char *what, char *out, size_t size)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    remove_stale(base);
    snprintf(out, size, "%s/nimbus-fuzz-%s-%ld-XXXXXX", base, what, (long)getpid());
    if (!mkdtemp(out)) {
        perror("fuzz_tmpdir: mkdtemp");
        abort();
    }
    snprintf(made, sizeof made, "%s", out);
    atexit(remove_made);
}
