/* Placeholder until the WebSocket endpoint lands; replaced by json_api/ws*.c. */
#include "nimbus_server.h"
struct nimbus_stream_worker { int unused; };
nimbus_stream_worker_t *nimbus_stream_worker_new(nimbus_worker_t *w, nimbus_error_t *err)
{
    (void)w; (void)err;
    static struct nimbus_stream_worker dummy;
    return &dummy;
}
void nimbus_stream_worker_shutdown(nimbus_stream_worker_t *s) { (void)s; }
void nimbus_stream_worker_free(nimbus_stream_worker_t *s) { (void)s; }
void nimbus_stream_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = {"ws", "-", nimbus_now_us()};
    nimbus_http_reply(w, req, 404, NULL, &log);
}
void nimbus_dashboard_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = {"http", "-", nimbus_now_us()};
    nimbus_http_reply(w, req, 404, NULL, &log);
}
