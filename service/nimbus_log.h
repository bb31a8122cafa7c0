/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one way Nimbus writes a log line: the server's messages, the access
 * log, start-up and shutdown, and the errors of the command line all come
 * through here, so every line has the same shape: an RFC 3339 UTC time with
 * milliseconds, a level, then the message and its fields, as text
 *
 *     2024-05-01T12:00:00.123Z info nimbus: SIGTERM received, stopping
 *     2024-05-01T12:00:00.124Z info access w=1 peer=127.0.0.1 proto=rest ...
 *
 * or as one JSON object per line (--log-format json) for log shippers:
 *
 *     {"ts":"2024-05-01T12:00:00.123Z","level":"info","msg":"access","w":1,...}
 *
 * Each line is rendered into one buffer of at most NIMBUS_LOG_LINE_MAX
 * bytes (PIPE_BUF: atomic on a pipe too) and written with one write(2) to
 * an O_APPEND descriptor, so lines from different threads never
 * interleave and no lock is taken. It lives in service/ because every
 * library links the core; it holds the one piece of global state of the
 * process that is not the core's: where lines go and in which format.
 */
#ifndef NIMBUS_LOG_H
#define NIMBUS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "nimbus_error.h"

/* The longest line, newline included; longer values are cut (a JSON line
 * then says "truncated":true and stays valid JSON). */
#define NIMBUS_LOG_LINE_MAX 4096

typedef enum nimbus_log_level {
    NIMBUS_LOG_INFO,
    NIMBUS_LOG_WARN,
    NIMBUS_LOG_ERROR
} nimbus_log_level_t;

typedef enum nimbus_log_format { NIMBUS_LOG_TEXT, NIMBUS_LOG_JSON } nimbus_log_format_t;

/* One name=value of a line: a string, an integer or a real number (finite;
 * written with 15 significant digits). In text lines a string with a
 * space, '=', '"' or nothing in it is quoted. */
typedef enum nimbus_log_kind {
    NIMBUS_LOG_KIND_STR,
    NIMBUS_LOG_KIND_INT,
    NIMBUS_LOG_KIND_REAL
} nimbus_log_kind_t;

typedef struct nimbus_log_field {
    const char *name; /* static: a plain word, never escaped */
    nimbus_log_kind_t kind;
    const char *text; /* STR; NULL is written as "-" */
    long long number; /* INT */
    double real;      /* REAL */
} nimbus_log_field_t;

#define NIMBUS_LOG_STR(name, value)                                                                \
    ((nimbus_log_field_t){(name), NIMBUS_LOG_KIND_STR, (value), 0, 0})
#define NIMBUS_LOG_NUM(name, value)                                                                \
    ((nimbus_log_field_t){(name), NIMBUS_LOG_KIND_INT, NULL, (long long)(value), 0})
#define NIMBUS_LOG_REAL(name, value)                                                               \
    ((nimbus_log_field_t){(name), NIMBUS_LOG_KIND_REAL, NULL, 0, (double)(value)})

/* "text" or "json"; false for anything else. */
bool nimbus_log_format_from_name(const char *name, nimbus_log_format_t *out);
const char *nimbus_log_level_name(nimbus_log_level_t level);

/* Where lines go from now on: the file at path (created 0640, appended to)
 * or, for NULL or "", stderr; in format. Call before other threads log.
 * Returns 0, or -1 with err naming the file and why (lines keep going
 * where they went). */
int nimbus_log_open(const char *path, nimbus_log_format_t format, nimbus_error_t *err);

/* Opens the file again by its name and puts it in place of the one in use
 * without a moment without a log (dup2 onto the same descriptor): after
 * logrotate renamed it, lines go to the new file. Any thread. Nothing to do
 * (0) for stderr. Returns 0, or -1 with err (the old file stays). */
int nimbus_log_reopen(nimbus_error_t *err);

/* The file lines go to, or "" for stderr. */
const char *nimbus_log_file(void);

/* Back to stderr in text, closing the file. At exit, after every thread
 * that logs has stopped. */
void nimbus_log_close(void);

/* A message: text "TIME LEVEL nimbus: MESSAGE", JSON {"msg":MESSAGE}. */
void nimbus_log(nimbus_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A message with fields after it: "TIME LEVEL nimbus: MESSAGE a=1 b=x". */
void nimbus_log_fields(nimbus_log_level_t level, const char *message,
                       const nimbus_log_field_t *fields, size_t count);

/* An access-log line: "TIME info access a=1 b=x", JSON {"msg":"access",...}. */
void nimbus_log_access(const nimbus_log_field_t *fields, size_t count);

/* Renders one line as the functions above write it, at time `when`, into
 * buf (size bytes, at least 64): prefixed says whether the message is a
 * "nimbus: " message (else an event such as "access"). Returns the length,
 * newline included, not counting the NUL. For tests. */
size_t nimbus_log_render(char *buf, size_t size, nimbus_log_format_t format,
                         const struct timespec *when, nimbus_log_level_t level, bool prefixed,
                         const char *message, const nimbus_log_field_t *fields, size_t count);

#endif
