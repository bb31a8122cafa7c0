/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Baseline (b) of scripts/bench: the SOAP server a gSOAP user would build
 * from wsdl/nimbus.wsdl, the deployment gSOAP's manual describes. gSOAP
 * owns the socket and HTTP: soap_bind and soap_accept, one thread per
 * connection (soap_copy, detached), soap_serve with keep-alive and no
 * limit on requests per connection (max_keep_alive 0). It links the same
 * generated stubs Nimbus links (nimbus_soap_gen: serializers, the request
 * dispatcher, the shortest-round-trip double serializer, the namespace
 * tables) and its service functions call our own core: each connection's
 * thread opens its own nimbus_service_t, as a Nimbus worker does.
 *
 * The service functions convert gSOAP structs to core types and back
 * themselves, as a gSOAP user writes them; scripts/bench compares one
 * answer of each operation it measures with Nimbus's before measuring.
 * Served: GetStation and GetWeather (what the benchmark asks). The other
 * operations of the WSDL answer a Server fault.
 *
 *   nimbus_bench_gsoap --listen HOST:PORT --port-file FILE --db PATH
 *
 * The same XML modes as soap/soap_host.c (strict input, tree output, no
 * xsi:type, UTF-8 strings), with gSOAP's own HTTP (Content-Length by
 * counting, keep-alive). Timeouts of 60 s, as evhttp's in Nimbus. No API
 * keys: the caller is anonymous and the core is open, as it is for the
 * Nimbus the harness starts. SIGINT/SIGTERM end the process.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "soapH.h"

#include "bench_util.h"
#include "nimbus_service.h"

#define GSOAP_TIMEOUT_SECONDS 60
#define GSOAP_BACKLOG 1024

static nimbus_core_t *core;

/* What a connection's thread owns: its gSOAP context and its core handle. */
typedef struct conn {
    struct soap *soap;
    nimbus_service_t *svc;
    nimbus_credentials_t caller;
} conn_t;

/* ---- core -> gSOAP (allocated in the context; soap_end frees it) ------ */

static double *opt_out(struct soap *soap, nimbus_opt_double_t v, int *oom)
{
    if (!v.present) {
        return NULL;
    }
    double *d = soap_malloc(soap, sizeof *d);
    if (!d) {
        *oom = 1;
        return NULL;
    }
    *d = v.value;
    return d;
}

static struct nimbus__Station *station_out(struct soap *soap, const nimbus_station_t *in)
{
    struct nimbus__Station *s = soap_new_nimbus__Station(soap, -1);
    if (!s) {
        return NULL;
    }
    int oom = 0;
    s->id = soap_strdup(soap, in->id);
    s->name = soap_strdup(soap, in->name);
    s->city = soap_strdup(soap, in->city);
    s->country = soap_strdup(soap, in->country);
    s->latitude = in->latitude;
    s->longitude = in->longitude;
    s->elevation = opt_out(soap, in->elevation, &oom);
    return oom || !s->id || !s->name || !s->city || !s->country ? NULL : s;
}

static struct nimbus__Observation *observation_out(struct soap *soap,
                                                   const nimbus_observation_t *in)
{
    struct nimbus__Observation *o = soap_new_nimbus__Observation(soap, -1);
    char *when = soap_malloc(soap, NIMBUS_TIME_TEXT_SIZE);
    if (!o || !when) {
        return NULL;
    }
    int oom = 0;
    o->observedAt = nimbus_time_format(in->observed_at, when);
    if (in->station_id[0] && !(o->stationId = soap_strdup(soap, in->station_id))) {
        return NULL;
    }
    o->temperature = opt_out(soap, in->temperature, &oom);
    o->humidity = opt_out(soap, in->humidity, &oom);
    o->pressure = opt_out(soap, in->pressure, &oom);
    o->windSpeed = opt_out(soap, in->wind_speed, &oom);
    o->windDirection = opt_out(soap, in->wind_direction, &oom);
    o->precipitation = opt_out(soap, in->precipitation, &oom);
    if (in->seq > 0) {
        o->seq = soap_malloc(soap, sizeof *o->seq);
        if (!o->seq) {
            return NULL;
        }
        *o->seq = in->seq;
    }
    return oom ? NULL : o;
}

static struct nimbus__Summary *summary_out(struct soap *soap, const nimbus_summary_t *in)
{
    struct nimbus__Summary *s = soap_new_nimbus__Summary(soap, -1);
    if (!s) {
        return NULL;
    }
    int oom = 0;
    s->count = in->count;
    s->minTemperature = opt_out(soap, in->min_temperature, &oom);
    s->maxTemperature = opt_out(soap, in->max_temperature, &oom);
    s->meanTemperature = opt_out(soap, in->mean_temperature, &oom);
    s->totalPrecipitation = in->total_precipitation;
    return oom ? NULL : s;
}

static struct nimbus__WeatherReport *report_out(struct soap *soap,
                                                const nimbus_weather_report_t *in)
{
    struct nimbus__WeatherReport *r = soap_new_nimbus__WeatherReport(soap, -1);
    if (!r || !(r->station = station_out(soap, &in->station))) {
        return NULL;
    }
    if (in->has_latest && !(r->latest = observation_out(soap, &in->latest))) {
        return NULL;
    }
    if (in->has_last24h && !(r->last24h = summary_out(soap, &in->last24h))) {
        return NULL;
    }
    return r;
}

/* A core error as a plain SOAP fault; the benchmark never takes this path,
 * so no ServiceFault detail is built. */
static int core_fault(struct soap *soap, const nimbus_error_t *err)
{
    const char *text = soap_strdup(soap, err->message);
    if (nimbus_code_is_server_fault(err->code)) {
        return soap_receiver_fault(soap, text, NULL);
    }
    return soap_sender_fault(soap, text, NULL);
}

/* ---- the service functions soapServer.c dispatches to ----------------- */

int __nimbus__GetStation(struct soap *soap, struct _nimbus__GetStation *in,
                         struct _nimbus__GetStationResponse *out)
{
    conn_t *c = soap->user;
    nimbus_get_station_request_t req = {in ? in->id : NULL};
    nimbus_get_station_response_t res;
    nimbus_error_t err;
    memset(&res, 0, sizeof res);
    if (nimbus_service_get_station(c->svc, &c->caller, &req, &res, &err) != 0) {
        nimbus_get_station_response_cleanup(&res);
        return core_fault(soap, &err);
    }
    out->station = station_out(soap, &res.station);
    nimbus_get_station_response_cleanup(&res);
    return out->station ? SOAP_OK : SOAP_EOM;
}

int __nimbus__GetWeather(struct soap *soap, struct _nimbus__GetWeather *in,
                         struct _nimbus__GetWeatherResponse *out)
{
    conn_t *c = soap->user;
    nimbus_get_weather_request_t req = {in ? in->stationId : NULL};
    nimbus_get_weather_response_t res;
    nimbus_error_t err;
    memset(&res, 0, sizeof res);
    if (nimbus_service_get_weather(c->svc, &c->caller, &req, &res, &err) != 0) {
        nimbus_get_weather_response_cleanup(&res);
        return core_fault(soap, &err);
    }
    out->report = report_out(soap, &res.report);
    nimbus_get_weather_response_cleanup(&res);
    return out->report ? SOAP_OK : SOAP_EOM;
}

/* The WSDL's other operations: present because soapServer.c dispatches to
 * them, not served by the baseline. */
#define BENCH_UNSERVED(Name)                                                                       \
    int __nimbus__##Name(struct soap *soap, struct _nimbus__##Name *in,                            \
                         struct _nimbus__##Name##Response *out)                                    \
    {                                                                                              \
        (void)in;                                                                                  \
        (void)out;                                                                                 \
        return soap_receiver_fault(soap, #Name " is not served by the benchmark baseline", NULL);  \
    }
BENCH_UNSERVED(ListStations)
BENCH_UNSERVED(CreateStation)
BENCH_UNSERVED(UpdateStation)
BENCH_UNSERVED(DeleteStation)
BENCH_UNSERVED(RecordObservations)
BENCH_UNSERVED(GetObservations)
BENCH_UNSERVED(GetCityWeather)
BENCH_UNSERVED(GetObservationFeed)
#undef BENCH_UNSERVED

/* The SOAP 1.2 binding's copies (soapcpp2 names them with a trailing _);
 * dispatch is by element, so they are never reached, as in soap/soap_ops.c. */
#define BENCH_SOAP12_COPY(Name)                                                                    \
    int __nimbus__##Name##_(struct soap *soap, struct _nimbus__##Name *in,                         \
                            struct _nimbus__##Name##Response *out)                                 \
    {                                                                                              \
        return __nimbus__##Name(soap, in, out);                                                    \
    }
BENCH_SOAP12_COPY(ListStations)
BENCH_SOAP12_COPY(GetStation)
BENCH_SOAP12_COPY(CreateStation)
BENCH_SOAP12_COPY(UpdateStation)
BENCH_SOAP12_COPY(DeleteStation)
BENCH_SOAP12_COPY(RecordObservations)
BENCH_SOAP12_COPY(GetObservations)
BENCH_SOAP12_COPY(GetWeather)
BENCH_SOAP12_COPY(GetCityWeather)
BENCH_SOAP12_COPY(GetObservationFeed)
#undef BENCH_SOAP12_COPY

/* ---- the server --------------------------------------------------------- */

static void *serve_connection(void *arg)
{
    conn_t *c = arg;
    nimbus_error_t err;
    c->svc = nimbus_service_new(core, &err);
    if (!c->svc) {
        fprintf(stderr, "nimbus_bench_gsoap: %s\n", err.message);
    } else {
        c->soap->user = c;
        soap_serve(c->soap);
    }
    soap_destroy(c->soap);
    soap_end(c->soap);
    soap_free(c->soap);
    nimbus_service_free(c->svc);
    free(c);
    return NULL;
}

int main(int argc, char **argv)
{
    bench_program = "nimbus_bench_gsoap";
    const char *listen_at = NULL, *port_file = NULL, *db = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--listen") == 0) {
            listen_at = argv[i + 1];
        } else if (strcmp(argv[i], "--port-file") == 0) {
            port_file = argv[i + 1];
        } else if (strcmp(argv[i], "--db") == 0) {
            db = argv[i + 1];
        } else {
            break;
        }
    }
    char host[256];
    int port = 0;
    if (argc != 7 || !listen_at || !port_file || !db ||
        bench_parse_hostport(listen_at, host, sizeof host, &port) != 0) {
        bench_usage_error("usage: --listen HOST:PORT --port-file FILE --db PATH");
    }
    signal(SIGPIPE, SIG_IGN);
    nimbus_error_t err;
    core = nimbus_core_open(db, &err);
    if (!core) {
        bench_fail("cannot open %s: %s", db, err.message);
    }

    int io = SOAP_IO_KEEPALIVE | SOAP_XML_TREE | SOAP_C_UTFSTRING;
    struct soap *master = soap_new2(io | SOAP_XML_STRICT, io | SOAP_IO_BUFFER | SOAP_XML_NOTYPE);
    if (!master) {
        bench_fail("out of memory");
    }
    master->bind_flags = SO_REUSEADDR;
    master->max_keep_alive = 0; /* soap_serve: no limit on requests per connection */
    master->send_timeout = GSOAP_TIMEOUT_SECONDS;
    master->recv_timeout = GSOAP_TIMEOUT_SECONDS;
    master->maxoccurs = NIMBUS_RECORD_BATCH_MAX;
    if (!soap_valid_socket(soap_bind(master, host, port, GSOAP_BACKLOG))) {
        soap_print_fault(master, stderr);
        bench_fail("cannot listen on %s", listen_at);
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(master->master, (struct sockaddr *)&ss, &sl) != 0) {
        bench_fail("getsockname: %s", strerror(errno));
    }
    int bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                               : ((struct sockaddr_in *)&ss)->sin_port);
    if (bench_write_port_file(port_file, bound) != 0) {
        bench_fail("cannot write %s: %s", port_file, strerror(errno));
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        if (!soap_valid_socket(soap_accept(master))) {
            if (master->errnum == 0) {
                continue; /* accept timed out (none is set) */
            }
            soap_print_fault(master, stderr);
            continue;
        }
        conn_t *c = calloc(1, sizeof *c);
        if (!c || !(c->soap = soap_copy(master))) {
            bench_fail("out of memory");
        }
        c->caller.kind = NIMBUS_CRED_NONE;
        pthread_t tid;
        if (pthread_create(&tid, &attr, serve_connection, c) != 0) {
            bench_fail("cannot start a connection thread");
        }
    }
}
