/* Placeholder until the SOAP binding lands; replaced by soap/*.c. */
#include "nimbus_server.h"
struct nimbus_soap_worker { int unused; };
nimbus_soap_worker_t *nimbus_soap_worker_new(nimbus_worker_t *w, nimbus_error_t *err)
{
    (void)w; (void)err;
    static struct nimbus_soap_worker dummy;
    return &dummy;
}
void nimbus_soap_worker_free(nimbus_soap_worker_t *soap) { (void)soap; }
void nimbus_soap_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = {"soap", "-", nimbus_now_us()};
    nimbus_http_reply(w, req, 501, NULL, &log);
}
