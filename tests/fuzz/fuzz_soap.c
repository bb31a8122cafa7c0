/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: the SOAP path as the server runs it. Each input becomes
 * a real evhttp_request (evhttp_request_new, no connection) handed to
 * nimbus_soap_handle (soap/soap_host.c) on a worker with a real core on a
 * temporary SQLite database (in /dev/shm when there is one) holding two API
 * keys, so credentials, the rate-limit admission, decompression, the
 * pre-parse scan (nimbus__soap_scan), gSOAP's parse through the host's
 * callbacks, the conversion to core types, the call itself, the render
 * cache and the Fault renderer all run. evhttp_send_reply frees a request
 * without a connection (libevent 2.1's evhttp_send), so the answer is read
 * from the worker's reply buffer afterwards, as it stays there until the
 * next request.
 *
 * The first byte says how the request is sent (bit 0: SOAP 1.2's
 * application/soap+xml or 1.1's text/xml; bits 1-2: no Authorization, the
 * admin's Bearer key, the reader's Basic credentials, or a wrong key; bit
 * 3: a SOAPAction/action naming the operation of the second byte; bit 4:
 * the body gzip-compressed); the rest is the body.
 *
 * Properties checked besides the sanitizers':
 *   - there is an answer, a SOAP envelope in SOAP 1.1's or 1.2's own
 *     namespace (never a near miss the client wrote), and it passes the
 *     scan itself (UTF-8 of XML characters, no declarations, one Body
 *     child, within the default limits): the server never writes what it
 *     would refuse to read;
 *   - a Fault's code is one of the contract's and never INTERNAL (no input
 *     may make the server fail in its own right);
 *   - a wrong key is UNAUTHENTICATED whatever the body, the reader's key is
 *     PERMISSION_DENIED whatever the body when the action names an
 *     operation that needs more (both are decided before the body), and
 *     otherwise a body the scan refuses is INVALID_ARGUMENT (the scan's
 *     verdict is the answer; gSOAP never sees such a body);
 *   - the admin's key is never refused (UNAUTHENTICATED or
 *     PERMISSION_DENIED) unless the envelope brings a UsernameToken of its
 *     own;
 *   - an answer that is not a Fault names the operation's response.
 *
 * Seeds: tests/fuzz/corpus/soap/ (one request of every operation, both
 * versions, a UsernameToken, and refusals the scan knows); dictionary:
 * soap.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_tmpdir.h"

#include <zlib.h>

#include "soap_internal.h"
/* The request's method has no setter; its struct is libevent's public
 * (if old-style) one. After event2/http.h, which soap_internal.h brings. */
#include <event2/http_struct.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
void __sanitizer_set_death_callback(void (*callback)(void));

/* The worker's gSOAP context lives from one request to the next, as in the
 * server, so a failure may need the requests before it: the last HISTORY
 * inputs are kept, and written out when a sanitizer reports (to the
 * folder FUZZ_SOAP_HISTORY names, as history-00 oldest .. history-NN the
 * failing one), to be replayed in order: fuzz_soap history-*. */
#define HISTORY 32
static uint8_t *history[HISTORY];
static size_t history_len[HISTORY];
static size_t history_next;

static void remember(const uint8_t *data, size_t size)
{
    size_t i = history_next++ % HISTORY;
    free(history[i]);
    history[i] = malloc(size ? size : 1);
    if (history[i]) {
        memcpy(history[i], data, size);
    }
    history_len[i] = history[i] ? size : 0;
}

static void dump_history(void)
{
    const char *to = getenv("FUZZ_SOAP_HISTORY");
    if (!to) {
        return;
    }
    size_t n = history_next < HISTORY ? history_next : HISTORY;
    for (size_t k = 0; k < n; k++) {
        size_t i = (history_next - n + k) % HISTORY;
        char path[4200];
        snprintf(path, sizeof path, "%s/history-%02zu", to, k);
        FILE *f = fopen(path, "wb");
        if (f) {
            fwrite(history[i], 1, history_len[i], f);
            fclose(f);
        }
    }
}

#define ADMIN_BEARER "Bearer fuzz-admin-secret"
/* reader:fuzz-read-secret */
#define READER_BASIC "Basic cmVhZGVyOmZ1enotcmVhZC1zZWNyZXQ="

static nimbus_config_t config;
static nimbus_worker_t worker;
static char dir[4096];

static void seed_database(void);
static void handle(const char *headers[][2], const void *body, size_t len);

static void setup(void)
{
    fuzz_tmpdir("soap", dir, sizeof dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/fuzz.db", dir);
    nimbus_error_t err;
    nimbus_core_t *core = nimbus_core_open(path, &err);
    if (!core || nimbus_core_add_key(core, "admin:fuzz-admin-secret:admin", &err) != 0 ||
        nimbus_core_add_key(core, "reader:fuzz-read-secret:read", &err) != 0) {
        fprintf(stderr, "fuzz_soap: %s\n", err.message);
        abort();
    }
    config.max_body = NIMBUS_DEFAULT_MAX_BODY;
    config.soap_max_depth = NIMBUS_DEFAULT_SOAP_MAX_DEPTH;
    config.soap_max_attributes = NIMBUS_DEFAULT_SOAP_MAX_ATTRIBUTES;
    config.soap_max_namespaces = NIMBUS_DEFAULT_SOAP_MAX_NAMESPACES;
    config.render_cache = NIMBUS_DEFAULT_RENDER_CACHE;
    worker.config = &config;
    worker.core = core;
    worker.authority = "127.0.0.1:8080";
    worker.base = event_base_new();
    /* No wake function: a write is waited for inside the call, so every
     * request is answered before nimbus_soap_handle returns. */
    worker.svc = nimbus_service_new(core, &err);
    worker.render_cache = nimbus_render_cache_new(config.render_cache);
    worker.soap = worker.svc ? nimbus_soap_worker_new(&worker, &err) : NULL;
    if (!worker.base || !worker.render_cache || !worker.soap) {
        fprintf(stderr, "fuzz_soap: %s\n", err.message);
        abort();
    }
    seed_database();
}

/* What the reads of the seeds find: st-1 and two observations, written
 * through the same path as every input. */
static void seed_database(void)
{
    static const char *const bodies[] = {
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:n=\"urn:nimbus:weather:v1\"><s:Body><n:CreateStation><n:station><n:id>st-1</n:id>"
        "<n:name>Harbour</n:name><n:city>Wellington</n:city><n:country>NZ</n:country>"
        "<n:latitude>-41.29</n:latitude><n:longitude>174.78</n:longitude></n:station>"
        "</n:CreateStation></s:Body></s:Envelope>",
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:n=\"urn:nimbus:weather:v1\"><s:Body><n:RecordObservations><n:stationId>st-1"
        "</n:stationId><n:observation><n:observedAt>2024-05-01T12:00:00Z</n:observedAt>"
        "<n:temperature>14.5</n:temperature></n:observation><n:observation><n:observedAt>"
        "2024-05-01T13:00:00Z</n:observedAt><n:precipitation>0.4</n:precipitation>"
        "</n:observation></n:RecordObservations></s:Body></s:Envelope>"};
    const char *headers[][2] = {
        {"Content-Type", "text/xml"}, {"Authorization", ADMIN_BEARER}, {NULL, NULL}};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        handle(headers, bodies[i], strlen(bodies[i]));
        if (worker.soap->fault_code != NIMBUS_OK) {
            fprintf(stderr, "fuzz_soap: seeding the database: %s\n",
                    nimbus_code_name(worker.soap->fault_code));
            abort();
        }
    }
}

/* A POST /soap with these headers and body, answered (and freed) before
 * this returns: the request has no connection. */
static void handle(const char *headers[][2], const void *body, size_t len)
{
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    if (!req) {
        abort();
    }
    req->type = EVHTTP_REQ_POST;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    for (size_t i = 0; headers[i][0]; i++) {
        evhttp_add_header(h, headers[i][0], headers[i][1]);
    }
    evbuffer_add(evhttp_request_get_input_buffer(req), body, len);
    nimbus_soap_handle(&worker, req);
}

static void fail(const char *why, const uint8_t *body, size_t len)
{
    nimbus_soap_worker_t *ws = worker.soap;
    size_t olen = evbuffer_get_length(ws->out);
    const char *out = olen ? (const char *)evbuffer_pullup(ws->out, -1) : "";
    fprintf(stderr, "fuzz_soap: %s\n  body (%zu bytes): ", why, len);
    for (size_t i = 0; i < len && i < 2000; i++) {
        fprintf(stderr, body[i] >= 0x20 && body[i] < 0x7f ? "%c" : "\\x%02x", body[i]);
    }
    fprintf(stderr, "\n  fault code: %s\n  answer: %.*s\n", nimbus_code_name(ws->fault_code),
            (int)(olen > 2000 ? 2000 : olen), out);
    dump_history();
    abort();
}

/* body gzip-compressed into a new evbuffer-ready heap block (*out_len). */
static unsigned char *gzip(const uint8_t *body, size_t len, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return NULL;
    }
    size_t cap = deflateBound(&zs, (uLong)len) + 32;
    unsigned char *out = malloc(cap);
    if (out) {
        zs.next_in = (Bytef *)(uintptr_t)body;
        zs.avail_in = (uInt)len;
        zs.next_out = out;
        zs.avail_out = (uInt)cap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
            free(out);
            out = NULL;
        }
        *out_len = cap - zs.avail_out;
    }
    deflateEnd(&zs);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    if (!worker.soap) {
        setup();
        __sanitizer_set_death_callback(dump_history);
    }
    remember(data, size);
    unsigned flags = data[0];
    nimbus_op_t action_op = (nimbus_op_t)(data[1] % NIMBUS_OP_COUNT);
    const uint8_t *body = data + 2;
    size_t len = size - 2;
    bool v12 = flags & 1;
    unsigned creds = (flags >> 1) & 3;
    bool action = flags & 8;
    bool compressed = flags & 16;

    const char *headers[6][2] = {{NULL, NULL}};
    size_t nh = 0;
    char ct[160], a[96];
    if (v12) {
        snprintf(ct, sizeof ct, "application/soap+xml; charset=utf-8%s%s%s",
                 action ? "; action=\"" NIMBUS_SOAP_NAMESPACE "/" : "",
                 action ? nimbus_op_table[action_op].name : "", action ? "\"" : "");
    } else {
        snprintf(ct, sizeof ct, "text/xml; charset=utf-8");
        if (action) {
            snprintf(a, sizeof a, "\"%s/%s\"", NIMBUS_SOAP_NAMESPACE,
                     nimbus_op_table[action_op].name);
            headers[nh][0] = "SOAPAction";
            headers[nh++][1] = a;
        }
    }
    headers[nh][0] = "Content-Type";
    headers[nh++][1] = ct;
    static const char *const auth[4] = {NULL, ADMIN_BEARER, READER_BASIC, "Bearer not-a-key"};
    if (auth[creds]) {
        headers[nh][0] = "Authorization";
        headers[nh++][1] = auth[creds];
    }
    if (compressed) {
        size_t zlen = 0;
        unsigned char *z = gzip(body, len, &zlen);
        if (!z) {
            return 0;
        }
        headers[nh][0] = "Content-Encoding";
        headers[nh++][1] = "gzip";
        handle(headers, z, zlen);
        free(z);
    } else {
        handle(headers, body, len);
    }

    nimbus_soap_worker_t *ws = worker.soap;
    size_t olen = evbuffer_get_length(ws->out);
    if (olen == 0) {
        fail("no answer", body, len);
    }
    const char *out = (const char *)evbuffer_pullup(ws->out, -1);
    const nimbus_soap_limits_t limits = {NIMBUS_DEFAULT_SOAP_MAX_DEPTH,
                                         NIMBUS_DEFAULT_SOAP_MAX_ATTRIBUTES,
                                         NIMBUS_DEFAULT_SOAP_MAX_NAMESPACES};
    if (nimbus__soap_scan(out, olen, &limits, NULL) != NIMBUS_SOAP_SCAN_OK) {
        fail("the answer is not XML the server itself would read", body, len);
    }
    if (!memmem(out, olen, "http://schemas.xmlsoap.org/soap/envelope/", 41) &&
        !memmem(out, olen, "http://www.w3.org/2003/05/soap-envelope", 39)) {
        fail("the answer is not a SOAP envelope", body, len);
    }
    nimbus_code_t code = ws->fault_code;
    if (getenv("FUZZ_SOAP_SHOW")) { /* to see what a seed gets */
        fprintf(stderr, "%s %s: %.*s\n", ws->operation, nimbus_code_name(code),
                (int)(olen > 600 ? 600 : olen), out);
    }
    if ((int)code < 0 || (int)code >= NIMBUS_CODE_COUNT) {
        fail("a Fault code outside the contract's", body, len);
    }
    if (code == NIMBUS_INTERNAL) {
        fail("INTERNAL for a client's input", body, len);
    }
    /* What is decided before the body: a wrong key, and the reader's key
     * for an operation the action names that needs more than READ. */
    bool denied = creds == 2 && action && nimbus_op_table[action_op].role > NIMBUS_ROLE_READ;
    if (creds == 3 && code != NIMBUS_UNAUTHENTICATED) {
        fail("a wrong key was not UNAUTHENTICATED", body, len);
    } else if (denied && code != NIMBUS_PERMISSION_DENIED) {
        fail("the reader's key was not refused for the action's role", body, len);
    } else if (creds != 3 && !denied) {
        nimbus_soap_scan_t scan = nimbus__soap_scan((const char *)body, len, &limits, NULL);
        if (scan != NIMBUS_SOAP_SCAN_OK && code != NIMBUS_INVALID_ARGUMENT) {
            fail("the scan refused the body but the answer is not INVALID_ARGUMENT", body, len);
        }
    }
    if (creds == 1 && (code == NIMBUS_UNAUTHENTICATED || code == NIMBUS_PERMISSION_DENIED) &&
        !memmem(body, len, "UsernameToken", 13)) {
        fail("the admin's key was refused", body, len);
    }
    if (code == NIMBUS_OK) {
        if (strcmp(ws->operation, "-") == 0 || !memmem(out, olen, "Response", 8) ||
            !memmem(out, olen, ws->operation, strlen(ws->operation))) {
            fail("an answer that is not a Fault names no operation's response", body, len);
        }
    }
    return 0;
}
