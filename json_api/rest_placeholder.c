/* Placeholder until the REST routes land; replaced by json_api/rest*.c. */
#include "nimbus_server.h"
void nimbus_rest_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = {"rest", "-", nimbus_now_us()};
    nimbus_http_reply(w, req, 404, NULL, &log);
}
