/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The log (nimbus_log.h): renders a line into a buffer on the stack and
 * writes it with one write(2). Nothing is locked: the descriptor's number
 * never changes while threads log (a reopen dup2()s the new file onto it,
 * which the kernel does atomically), and the format is set before any
 * other thread starts.
 *
 * JSON is written here rather than by json_api/json's writer: the core
 * cannot depend on it, a line is one flat object of strings and integers,
 * and it must be rendered into a fixed buffer without allocating (a log
 * line may report that memory ran out). Strings are escaped as RFC 8259
 * asks, and bytes that are not UTF-8 become U+FFFD, so every line parses.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nimbus_log.h"

/* Room kept at the end of the buffer for what closes a cut line: a quote,
 * ',"truncated":true}' and the newline. */
#define LOG_RESERVE 32

static int log_fd = STDERR_FILENO;
static nimbus_log_format_t log_format = NIMBUS_LOG_TEXT;
static char log_path[4096];

bool nimbus_log_format_from_name(const char *name, nimbus_log_format_t *out)
{
    if (name && strcmp(name, "text") == 0) {
        *out = NIMBUS_LOG_TEXT;
        return true;
    }
    if (name && strcmp(name, "json") == 0) {
        *out = NIMBUS_LOG_JSON;
        return true;
    }
    return false;
}

const char *nimbus_log_level_name(nimbus_log_level_t level)
{
    switch (level) {
    case NIMBUS_LOG_INFO:
        return "info";
    case NIMBUS_LOG_WARN:
        return "warn";
    case NIMBUS_LOG_ERROR:
        return "error";
    }
    return "info";
}

static int open_file(const char *path, nimbus_error_t *err)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "cannot open log file %s: %s", path,
                         strerror(errno));
    }
    return fd;
}

int nimbus_log_open(const char *path, nimbus_log_format_t format, nimbus_error_t *err)
{
    if (!path || !*path) {
        nimbus_log_close();
        log_format = format;
        return 0;
    }
    if (strlen(path) >= sizeof log_path) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "log file name too long");
    }
    int fd = open_file(path, err);
    if (fd < 0) {
        return -1;
    }
    nimbus_log_close();
    log_fd = fd;
    log_format = format;
    strcpy(log_path, path);
    return 0;
}

int nimbus_log_reopen(nimbus_error_t *err)
{
    if (!*log_path) {
        return 0;
    }
    int fd = open_file(log_path, err);
    if (fd < 0) {
        return -1;
    }
    /* Whoever writes now writes to the old file or the new one, whole. */
    if (dup2(fd, log_fd) < 0) {
        int e = errno;
        close(fd);
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot reopen log file %s: %s", log_path,
                                strerror(e));
    }
    close(fd);
    return 0;
}

const char *nimbus_log_file(void)
{
    return log_path;
}

void nimbus_log_close(void)
{
    if (log_fd != STDERR_FILENO) {
        close(log_fd);
        log_fd = STDERR_FILENO;
    }
    log_path[0] = '\0';
    log_format = NIMBUS_LOG_TEXT;
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct line {
    char *buf;
    size_t len;
    size_t cap; /* the buffer less LOG_RESERVE: what content may use */
    bool cut;
} line_t;

/* All of bytes, or nothing and the line is cut. */
static bool put(line_t *l, const char *bytes, size_t n)
{
    if (l->cut || l->len + n > l->cap) {
        l->cut = true;
        return false;
    }
    memcpy(l->buf + l->len, bytes, n);
    l->len += n;
    return true;
}

/* Closers go into the reserve, which only they use. */
static void close_with(line_t *l, const char *bytes)
{
    size_t n = strlen(bytes);
    memcpy(l->buf + l->len, bytes, n);
    l->len += n;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * forms, no surrogates, nothing past U+10FFFF), 0 when there is none. */
static size_t utf8_char(const unsigned char *s)
{
    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xC2 && s[0] <= 0xDF) {
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    }
    if (s[0] >= 0xE0 && s[0] <= 0xEF) {
        unsigned lo = s[0] == 0xE0 ? 0xA0 : 0x80, hi = s[0] == 0xED ? 0x9F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4) {
        unsigned lo = s[0] == 0xF0 ? 0x90 : 0x80, hi = s[0] == 0xF4 ? 0x8F : 0xBF;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

/* A JSON string: as much of s as fits, always closed. */
static void put_json_string(line_t *l, const char *s)
{
    if (!put(l, "\"", 1)) {
        return;
    }
    const unsigned char *p = (const unsigned char *)s;
    while (*p && !l->cut) {
        char esc[8];
        size_t n = utf8_char(p);
        if (n == 0) {
            put(l, "\\ufffd", 6);
            p++;
            continue;
        }
        if (n > 1) {
            put(l, (const char *)p, n);
        } else if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put(l, esc, 2);
        } else if (*p == '\n') {
            put(l, "\\n", 2);
        } else if (*p == '\t') {
            put(l, "\\t", 2);
        } else if (*p == '\r') {
            put(l, "\\r", 2);
        } else if (*p < 0x20 || *p == 0x7F) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put(l, esc, 6);
        } else {
            put(l, (const char *)p, 1);
        }
        p += n;
    }
    close_with(l, "\"");
}

/* Text: one line stays one line whatever a value holds; a control
 * character or a byte that is not UTF-8 becomes '?'. In quotes (quoted),
 * '"' and '\' are escaped as logfmt does. */
static void put_text(line_t *l, const char *s, bool quoted)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p && !l->cut) {
        size_t n = utf8_char(p);
        if (n == 0 || *p < 0x20 || *p == 0x7F) {
            put(l, "?", 1);
            p += n ? n : 1;
            continue;
        }
        if (quoted && (*p == '"' || *p == '\\')) {
            char esc[2] = {'\\', (char)*p};
            put(l, esc, 2);
        } else {
            put(l, (const char *)p, n);
        }
        p += n;
    }
}

static bool needs_quotes(const char *s)
{
    return !*s || strpbrk(s, " =\"") != NULL;
}

/* A number field's digits, into out (32 bytes); returns their length. */
static size_t number_text(const nimbus_log_field_t *f, char out[32])
{
    int n = f->kind == NIMBUS_LOG_KIND_INT ? snprintf(out, 32, "%lld", f->number)
                                           : snprintf(out, 32, "%.15g", f->real);
    return n > 0 && n < 32 ? (size_t)n : 0;
}

static void put_time(line_t *l, const struct timespec *when)
{
    /* gmtime_r takes glibc's time-zone lock: once a second per thread. */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[64];
    if (when->tv_sec != cached_sec) {
        struct tm tm;
        time_t sec = when->tv_sec;
        gmtime_r(&sec, &tm);
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_sec = when->tv_sec;
    }
    char ms[16];
    snprintf(ms, sizeof ms, ".%03dZ", (int)(when->tv_nsec / 1000000) % 1000);
    put(l, cached, strlen(cached));
    put(l, ms, 5);
}

size_t nimbus_log_render(char *buf, size_t size, nimbus_log_format_t format,
                         const struct timespec *when, nimbus_log_level_t level, bool prefixed,
                         const char *message, const nimbus_log_field_t *fields, size_t count)
{
    line_t l = {buf, 0, size > LOG_RESERVE ? size - LOG_RESERVE : 0, false};
    const char *lv = nimbus_log_level_name(level);
    if (format == NIMBUS_LOG_JSON) {
        put(&l, "{\"ts\":\"", 7);
        put_time(&l, when);
        put(&l, "\",\"level\":\"", 11);
        put(&l, lv, strlen(lv));
        put(&l, "\",\"msg\":", 8);
        put_json_string(&l, message);
        for (size_t i = 0; i < count && !l.cut; i++) {
            char head[80];
            int n = snprintf(head, sizeof head, ",\"%s\":", fields[i].name);
            if (n <= 0 || (size_t)n >= sizeof head) {
                continue;
            }
            if (fields[i].kind == NIMBUS_LOG_KIND_STR) {
                /* The name and a value's first bytes, or neither. */
                if (l.len + (size_t)n + 8 > l.cap) {
                    l.cut = true;
                    break;
                }
                put(&l, head, (size_t)n);
                put_json_string(&l, fields[i].text ? fields[i].text : "-");
            } else {
                char num[32];
                size_t m = number_text(&fields[i], num);
                if (l.len + (size_t)n + m > l.cap) {
                    l.cut = true;
                    break;
                }
                put(&l, head, (size_t)n);
                put(&l, num, m);
            }
        }
        close_with(&l, l.cut ? ",\"truncated\":true}\n" : "}\n");
    } else {
        put_time(&l, when);
        put(&l, " ", 1);
        put(&l, lv, strlen(lv));
        put(&l, prefixed ? " nimbus: " : " ", prefixed ? 9 : 1);
        put_text(&l, message, false);
        for (size_t i = 0; i < count && !l.cut; i++) {
            put(&l, " ", 1);
            put(&l, fields[i].name, strlen(fields[i].name));
            put(&l, "=", 1);
            const char *text = fields[i].text ? fields[i].text : "-";
            if (fields[i].kind != NIMBUS_LOG_KIND_STR) {
                char num[32];
                put(&l, num, number_text(&fields[i], num));
            } else if (needs_quotes(text)) {
                if (put(&l, "\"", 1)) {
                    put_text(&l, text, true);
                    close_with(&l, "\"");
                }
            } else {
                put_text(&l, text, false);
            }
        }
        close_with(&l, "\n");
    }
    l.buf[l.len] = '\0';
    return l.len;
}

static void emit(nimbus_log_level_t level, bool prefixed, const char *message,
                 const nimbus_log_field_t *fields, size_t count)
{
    char buf[NIMBUS_LOG_LINE_MAX + 1];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    size_t n = nimbus_log_render(buf, NIMBUS_LOG_LINE_MAX + 1, log_format, &now, level, prefixed,
                                 message, fields, count);
    /* One write: a line is whole in the file or not there. A signal may
     * interrupt it before anything was written; nothing else is retried
     * (a full disk must not stop the server). */
    ssize_t w;
    do {
        w = write(log_fd, buf, n);
    } while (w < 0 && errno == EINTR);
}

void nimbus_log(nimbus_log_level_t level, const char *fmt, ...)
{
    char message[NIMBUS_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    emit(level, true, message, NULL, 0);
}

void nimbus_log_fields(nimbus_log_level_t level, const char *message,
                       const nimbus_log_field_t *fields, size_t count)
{
    emit(level, true, message, fields, count);
}

void nimbus_log_access(const nimbus_log_field_t *fields, size_t count)
{
    emit(NIMBUS_LOG_INFO, false, "access", fields, count);
}
