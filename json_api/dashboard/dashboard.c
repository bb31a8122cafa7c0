/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The dashboard's files: GET / serves index.html and GET /static/NAME the
 * file NAME, from config->static_dir (default: json_api/dashboard/static in the
 * source tree, NIMBUS_STATIC_DIR). Names are checked against a strict
 * alphabet with no ".." component before anything touches the file system,
 * so a request can never leave the directory; only regular files are
 * served, streamed with evbuffer_add_file (no copy in memory).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_dashboard.h"

#ifndef NIMBUS_STATIC_DIR
#define NIMBUS_STATIC_DIR "static"
#endif

#define DASHBOARD_NAME_MAX 200
#define DASHBOARD_FILE_MAX (16 * 1024 * 1024)

static const struct {
    const char *ext;
    const char *type;
} CONTENT_TYPES[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
};

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot) {
        for (size_t i = 0; i < sizeof CONTENT_TYPES / sizeof CONTENT_TYPES[0]; i++) {
            if (strcmp(dot, CONTENT_TYPES[i].ext) == 0) {
                return CONTENT_TYPES[i].type;
            }
        }
    }
    return "application/octet-stream";
}

/* true for "a/b.js"-like names: [A-Za-z0-9._-] components separated by
 * single slashes, none empty or starting with a dot (no "..", no hidden
 * files). */
static bool name_is_safe(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > DASHBOARD_NAME_MAX) {
        return false;
    }
    bool component_start = true;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '/') {
            if (component_start) {
                return false;
            }
            component_start = true;
            continue;
        }
        if (component_start && c == '.') {
            return false;
        }
        component_start = false;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-')) {
            return false;
        }
    }
    return !component_start;
}

static void not_found(nimbus_worker_t *w, struct evhttp_request *req,
                      const nimbus_request_log_t *log)
{
    nimbus_error_t err;
    nimbus_error_set(&err, NIMBUS_NOT_FOUND, "no such file");
    nimbus_http_reply_problem(w, req, 404, &err, log);
}

void nimbus_dashboard_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("http", "-", nimbus_now_us());
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "the dashboard is read-only (GET)");
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        nimbus_http_reply_problem(w, req, 405, &err, &log);
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *name = NULL;
    if (!path || strcmp(path, "/") == 0 || strcmp(path, "") == 0) {
        name = "index.html";
    } else if (strcmp(path, "/favicon.ico") == 0) {
        name = "favicon.ico";
    } else if (strncmp(path, "/static/", 8) == 0) {
        name = path + 8;
    }
    if (!name || !name_is_safe(name)) {
        not_found(w, req, &log);
        return;
    }
    const char *dir = w->config->static_dir[0] ? w->config->static_dir : NIMBUS_STATIC_DIR;
    char full[4096 + DASHBOARD_NAME_MAX + 2];
    snprintf(full, sizeof full, "%s/%s", dir, name);
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > DASHBOARD_FILE_MAX) {
        if (fd >= 0) {
            close(fd);
        }
        not_found(w, req, &log);
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (!body || (st.st_size > 0 && evbuffer_add_file(body, fd, 0, st.st_size) != 0)) {
        if (body) {
            evbuffer_free(body);
        } else {
            close(fd);
        }
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INTERNAL, "cannot read %s", name);
        nimbus_http_reply_problem(w, req, 500, &err, &log);
        return;
    }
    if (st.st_size == 0) {
        close(fd);
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_add_header(out, "Content-Type", content_type(name));
    evhttp_add_header(out, "Cache-Control", "no-cache");
    evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    nimbus_http_reply(w, req, 200, body, &log);
    evbuffer_free(body);
}
