/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What one durable write costs on the disk under the database: appends
 * 4 KiB (a SQLite page) to a scratch file in DIR and calls fdatasync, N
 * times, and prints the median and p99 in microseconds. scripts/bench
 * shows it beside the write workloads, since every acknowledged
 * RecordObservations waits for at least one of these (WAL,
 * synchronous=FULL).
 *
 *   nimbus_bench_fsync DIR [N]      (N: 200 by default)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"

int main(int argc, char **argv)
{
    bench_program = "nimbus_bench_fsync";
    if (argc < 2 || argc > 3) {
        bench_usage_error("usage: DIR [N]");
    }
    long n = argc == 3 ? (long)bench_parse_int("N", argv[2], 10, 100000) : 200;
    char path[4200];
    snprintf(path, sizeof path, "%s/fsync-probe.%ld.tmp", argv[1], (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        bench_fail("cannot create %s: %s", path, strerror(errno));
    }
    char page[4096];
    memset(page, 'x', sizeof page);
    uint32_t *us = malloc((size_t)n * sizeof *us);
    if (!us) {
        bench_fail("out of memory");
    }
    for (long i = 0; i < n; i++) {
        int64_t t0 = bench_now_us();
        if (write(fd, page, sizeof page) != (ssize_t)sizeof page || fdatasync(fd) != 0) {
            unlink(path);
            bench_fail("write/fdatasync on %s: %s", path, strerror(errno));
        }
        us[i] = (uint32_t)(bench_now_us() - t0);
    }
    close(fd);
    unlink(path);
    uint32_t p50 = bench_percentile(us, (size_t)n, 50);
    uint32_t p99 = bench_percentile(us, (size_t)n, 99);
    printf("BENCHJSON {\"samples\":%ld,\"p50_us\":%u,\"p99_us\":%u}\n", n, p50, p99);
    free(us);
    return 0;
}
