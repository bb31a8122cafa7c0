/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/log.c: the shape of a line in both formats (RFC 3339
 * UTC time with milliseconds, level, message, fields), what escaping does
 * to hostile values (one line stays one line; JSON stays JSON, U+FFFD for
 * bytes that are not UTF-8), a line cut at NIMBUS_LOG_LINE_MAX, the file
 * reopened after a rename (logrotate), and lines from many threads that
 * never interleave.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nimbus_log.h"
#include "test_util.h"

static const struct timespec when = {1709251199, 999999999}; /* 2024-02-29T23:59:59.999Z */

static void test_text_line(void)
{
    char buf[NIMBUS_LOG_LINE_MAX + 1];
    nimbus_log_field_t f[] = {NIMBUS_LOG_NUM("w", 1),        NIMBUS_LOG_STR("path", "/v1/stations"),
                              NIMBUS_LOG_STR("db", "my db"), NIMBUS_LOG_STR("q", "a\"b\\c"),
                              NIMBUS_LOG_STR("empty", ""),   NIMBUS_LOG_NUM("neg", -5),
                              NIMBUS_LOG_REAL("r", 0.5),     NIMBUS_LOG_STR("none", NULL)};
    size_t n = nimbus_log_render(buf, sizeof buf, NIMBUS_LOG_TEXT, &when, NIMBUS_LOG_INFO, false,
                                 "access", f, 8);
    CU_ASSERT_STRING_EQUAL(buf, "2024-02-29T23:59:59.999Z info access w=1 path=/v1/stations "
                                "db=\"my db\" q=\"a\\\"b\\\\c\" empty=\"\" neg=-5 r=0.5 none=-\n");
    CU_ASSERT_EQUAL(n, strlen(buf));
    nimbus_log_render(buf, sizeof buf, NIMBUS_LOG_TEXT, &when, NIMBUS_LOG_ERROR, true,
                      "bad\nline\x01 caf\xc3\xa9 \xff", NULL, 0);
    CU_ASSERT_STRING_EQUAL(buf, "2024-02-29T23:59:59.999Z error nimbus: bad?line? caf\xc3\xa9 ?\n");
    struct timespec early = {0, 5000000};
    nimbus_log_render(buf, sizeof buf, NIMBUS_LOG_TEXT, &early, NIMBUS_LOG_WARN, true, "x", NULL,
                      0);
    CU_ASSERT_STRING_EQUAL(buf, "1970-01-01T00:00:00.005Z warn nimbus: x\n");
}

static void test_json_line(void)
{
    char buf[NIMBUS_LOG_LINE_MAX + 1];
    nimbus_log_field_t f[] = {NIMBUS_LOG_NUM("status", 200), NIMBUS_LOG_STR("key", "-"),
                              NIMBUS_LOG_REAL("rate", 1e9),
                              NIMBUS_LOG_STR("odd", "\"\\\n\t\x01\x7f\xc3\xa9\xe2\x82\xac\xed\xa0"
                                                    "\x80\xf0\x9f\x98\x80\xc0\xaf")};
    nimbus_log_render(buf, sizeof buf, NIMBUS_LOG_JSON, &when, NIMBUS_LOG_INFO, false, "access", f,
                      4);
    CU_ASSERT_STRING_EQUAL(buf, "{\"ts\":\"2024-02-29T23:59:59.999Z\",\"level\":\"info\","
                                "\"msg\":\"access\",\"status\":200,\"key\":\"-\","
                                "\"rate\":1000000000,\"odd\":\"\\\"\\\\"
                                "\\n\\t\\u0001\\u007f\xc3\xa9\xe2\x82\xac\\ufffd\\ufffd\\ufffd"
                                "\xf0\x9f\x98\x80\\ufffd\\ufffd\"}\n");
    /* A message line in JSON has no "nimbus: ": that is the text's. */
    nimbus_log_render(buf, sizeof buf, NIMBUS_LOG_JSON, &when, NIMBUS_LOG_WARN, true, "stopping",
                      NULL, 0);
    CU_ASSERT_STRING_EQUAL(buf, "{\"ts\":\"2024-02-29T23:59:59.999Z\",\"level\":\"warn\","
                                "\"msg\":\"stopping\"}\n");
}

/* A value longer than a line: cut, still one line, still closed. */
static void test_long_values_are_cut(void)
{
    char buf[NIMBUS_LOG_LINE_MAX + 1];
    char *big = malloc(3 * NIMBUS_LOG_LINE_MAX);
    memset(big, 'x', 3 * NIMBUS_LOG_LINE_MAX - 1);
    big[3 * NIMBUS_LOG_LINE_MAX - 1] = '\0';
    nimbus_log_field_t f[] = {NIMBUS_LOG_STR("a", big), NIMBUS_LOG_NUM("b", 7)};
    for (int fmt = 0; fmt < 2; fmt++) {
        for (int quoted = 0; quoted < 2; quoted++) {
            big[10] = quoted ? ' ' : 'x';
            size_t n = nimbus_log_render(buf, sizeof buf, (nimbus_log_format_t)fmt, &when,
                                         NIMBUS_LOG_INFO, false, "access", f, 2);
            CU_ASSERT(n <= NIMBUS_LOG_LINE_MAX);
            CU_ASSERT_EQUAL(n, strlen(buf));
            CU_ASSERT_EQUAL(buf[n - 1], '\n');
            CU_ASSERT_PTR_NULL(memchr(buf, '\n', n - 1));
            if (fmt == NIMBUS_LOG_JSON) {
                CU_ASSERT_PTR_NOT_NULL(strstr(buf, "x\",\"truncated\":true}\n"));
                CU_ASSERT_PTR_NULL(strstr(buf, "\"b\":"));
            } else if (quoted) {
                CU_ASSERT_STRING_EQUAL(buf + n - 3, "x\"\n");
            }
        }
    }
    /* An escape that would not fit whole is left out, not cut in two. */
    memset(big, '"', 3 * NIMBUS_LOG_LINE_MAX - 1);
    size_t n = nimbus_log_render(buf, sizeof buf, NIMBUS_LOG_JSON, &when, NIMBUS_LOG_INFO, false,
                                 "access", f, 1);
    CU_ASSERT_STRING_EQUAL(buf + n - 22, "\\\"\",\"truncated\":true}\n");
    CU_ASSERT_EQUAL(buf[n - 23], '"');
    free(big);
}

static void test_formats_by_name(void)
{
    nimbus_log_format_t f = NIMBUS_LOG_TEXT;
    CU_ASSERT(nimbus_log_format_from_name("json", &f) && f == NIMBUS_LOG_JSON);
    CU_ASSERT(nimbus_log_format_from_name("text", &f) && f == NIMBUS_LOG_TEXT);
    CU_ASSERT_FALSE(nimbus_log_format_from_name("JSON", &f));
    CU_ASSERT_FALSE(nimbus_log_format_from_name("", &f));
    CU_ASSERT_FALSE(nimbus_log_format_from_name(NULL, &f));
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    char *text = calloc(1, (size_t)st.st_size + 1);
    size_t n = fread(text, 1, (size_t)st.st_size, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_file_and_reopen(void)
{
    char path[4200], rotated[4300];
    snprintf(path, sizeof path, "%s/nimbus.log", nimbus_test_dir());
    snprintf(rotated, sizeof rotated, "%s.1", path);
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_log_open(path, NIMBUS_LOG_JSON, &err), 0);
    CU_ASSERT_STRING_EQUAL(nimbus_log_file(), path);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0640);
    nimbus_log(NIMBUS_LOG_INFO, "before %d", 1);
    CU_ASSERT_EQUAL(rename(path, rotated), 0);
    nimbus_log(NIMBUS_LOG_INFO, "still the old file");
    CU_ASSERT_EQUAL(nimbus_log_reopen(&err), 0);
    nimbus_log(NIMBUS_LOG_WARN, "after");
    /* A file that cannot be opened keeps the one in use. */
    char missing[4300];
    snprintf(missing, sizeof missing, "%s/no/such/dir.log", nimbus_test_dir());
    CU_ASSERT_EQUAL(nimbus_log_open(missing, NIMBUS_LOG_TEXT, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no/such/dir.log"));
    nimbus_log(NIMBUS_LOG_INFO, "kept");
    nimbus_log_close();
    CU_ASSERT_STRING_EQUAL(nimbus_log_file(), "");

    char *old = slurp(rotated), *now = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    CU_ASSERT_PTR_NOT_NULL_FATAL(now);
    CU_ASSERT_PTR_NOT_NULL(strstr(old, "\"level\":\"info\",\"msg\":\"before 1\"}\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(old, "\"msg\":\"still the old file\"}\n"));
    CU_ASSERT_PTR_NULL(strstr(old, "after"));
    CU_ASSERT_PTR_NOT_NULL(strstr(now, "\"level\":\"warn\",\"msg\":\"after\"}\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(now, "\"msg\":\"kept\"}\n"));
    free(old);
    free(now);
}

#define THREADS 8
#define LINES 500

static void *log_many(void *arg)
{
    long id = (long)(size_t)arg;
    char pad[3000];
    memset(pad, 'a' + (int)id, sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < LINES; i++) {
        nimbus_log_field_t f[] = {NIMBUS_LOG_NUM("t", id), NIMBUS_LOG_NUM("i", i),
                                  NIMBUS_LOG_STR("pad", pad)};
        nimbus_log_access(f, 3);
    }
    return NULL;
}

/* Lines of 3 KB from 8 threads at once: each is whole, on its own line. */
static void test_threads_never_interleave(void)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/threads.log", nimbus_test_dir());
    nimbus_error_t err;
    CU_ASSERT_EQUAL_FATAL(nimbus_log_open(path, NIMBUS_LOG_TEXT, &err), 0);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) {
        pthread_create(&t[i], NULL, log_many, (void *)(size_t)i);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
    }
    nimbus_log_close();
    char *text = slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    int lines = 0, bad = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        lines++;
        int id = -1, i = -1;
        char *pad = strstr(line, " pad=");
        if (sscanf(line, "%*s info access t=%d i=%d", &id, &i) != 2 || !pad ||
            strspn(pad + 5, (char[]){(char)('a' + id), '\0'}) != 2999 || pad[5 + 2999] != '\0') {
            bad++;
        }
    }
    CU_ASSERT_EQUAL(lines, THREADS * LINES);
    CU_ASSERT_EQUAL(bad, 0);
    free(text);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"text line", test_text_line},
        {"JSON line", test_json_line},
        {"long values are cut", test_long_values_are_cut},
        {"formats by name", test_formats_by_name},
        {"file and reopen", test_file_and_reopen},
        {"threads never interleave", test_threads_never_interleave},
        {NULL, NULL},
    };
    return nimbus_test_run("log", cases);
}
