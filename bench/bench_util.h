/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the C programs of bench/ share: the one clock they timestamp with
 * (CLOCK_MONOTONIC), reading a server's resident memory and open
 * descriptors from /proc, raising the descriptor limit, loopback sockets,
 * the port file the harness waits for, percentiles, and small parsers for
 * their command lines. None of it is used by nimbus itself.
 */
#ifndef NIMBUS_BENCH_UTIL_H
#define NIMBUS_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Microseconds on CLOCK_MONOTONIC. */
int64_t bench_now_us(void);

/* VmRSS of pid in KiB, or -1. */
long bench_rss_kib(pid_t pid);

/* Number of open descriptors of pid (entries of /proc/PID/fd), or -1. */
long bench_fd_count(pid_t pid);

/* Raises the soft RLIMIT_NOFILE to min(want, hard); returns the new soft
 * limit. */
long bench_raise_nofile(long want);

/* Splits "HOST:PORT" into host (at most hostsize - 1 bytes) and port.
 * Returns 0, or -1 when malformed. */
int bench_parse_hostport(const char *text, char *host, size_t hostsize, int *port);

/* A TCP socket to host:port (numeric IPv4 or IPv6) with TCP_NODELAY; with
 * nonblocking the connect may still be in progress. Returns the fd or -1
 * with errno. */
int bench_connect(const char *host, int port, int nonblocking);

/* Writes port to path through a renamed temporary file, so a reader never
 * sees half a number. Returns 0 or -1. */
int bench_write_port_file(const char *path, int port);

/* The p-th percentile (0..100, nearest rank) of v[0..n), sorting v in
 * place; 0 when n is 0. */
uint32_t bench_percentile(uint32_t *v, size_t n, double p);

/* Parses a whole decimal number in [min, max]; exits with a message naming
 * opt when text is not one. */
long long bench_parse_int(const char *opt, const char *text, long long min, long long max);

/* Prints "PROGRAM: message" and exits 2 (usage) or 1 (failure). */
void bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The program name bench_usage_error and bench_fail print; set by main. */
extern const char *bench_program;

#endif
