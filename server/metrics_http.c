/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What an operator reads over HTTP besides the API: GET /metrics, every
 * counter in the Prometheus text exposition format 0.0.4; GET
 * /metrics/clients, the same counters as the dashboard's Clients view
 * reads them (JSON: calls per client and operation, split by protocol);
 * GET /migration, the SOAP-to-REST migration guide (docs/migration.md,
 * built in), which --soap-sunset's Link points at.
 *
 * On a server with API keys the two metrics documents need the admin
 * role, on the same port as the API (no second listener): they name the
 * keys and how much each calls. An open server serves them to anyone, as
 * it serves everything else. These answers are not counted as requests
 * (their protocol is "http").
 */
#include <stdlib.h>
#include <string.h>

#include "server_internal.h"

extern const unsigned char nimbus_migration_text[];
extern const size_t nimbus_migration_text_len;

#define METRICS_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define CREDENTIALS_BUF 600

static void keep_static(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    (void)arg;
}

void nimbus__metrics_handle(nimbus_worker_t *w, struct evhttp_request *req, const char *path)
{
    bool migration = strcmp(path, "/migration") == 0;
    bool clients = strcmp(path, "/metrics/clients") == 0;
    nimbus_request_log_t log =
        NIMBUS_REQUEST_LOG("http", migration ? "-" : "Metrics", nimbus_now_us());
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    nimbus_error_t err;
    nimbus_error_clear(&err);
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "%s answers GET and HEAD", path);
        evhttp_add_header(out, "Allow", "GET, HEAD");
        nimbus_http_reply_problem(w, req, 405, &err, &log);
        return;
    }
    if (migration) {
        evhttp_add_header(out, "Cache-Control", "max-age=3600");
        nimbus_http_reply_lent(w, req, 200, "text/markdown; charset=utf-8", nimbus_migration_text,
                               nimbus_migration_text_len, keep_static, NULL, &log);
        return;
    }
    if (nimbus_core_keys_required(w->core)) {
        nimbus_credentials_t creds;
        char buf[CREDENTIALS_BUF];
        if (nimbus_http_credentials(req, &creds, buf, sizeof buf, &err) != 0 ||
            nimbus_core_authorize_as(w->core, &creds, NIMBUS_ROLE_ADMIN, log.key, &err) != 0) {
            nimbus_http_reply_problem(w, req, 0, &err, &log);
            return;
        }
    }
    size_t len = 0;
    char *text = clients ? nimbus_metrics_render_clients(w->core, &len)
                         : nimbus_metrics_render_text(w->core, &len);
    evhttp_add_header(out, "Cache-Control", "no-store");
    nimbus_http_reply_owned(w, req, 200, clients ? "application/json" : METRICS_TEXT_TYPE, text,
                            len, &log);
}
