/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Cross-file internals of the SOAP binding. The binding has three parts:
 * soap_host.c hosts gSOAP inside the evhttp request callback (one gSOAP
 * context per worker, reused for every request), soap_ops.c holds the
 * service functions soapcpp2 expects (__nimbus__<Op>), and soap_convert.c
 * turns gSOAP structs into core types and back. soap_fault.c is the one
 * place a nimbus_error_t becomes a SOAP Fault. gSOAP's generated names stay
 * inside these files.
 */
#ifndef NIMBUS_SOAP_INTERNAL_H
#define NIMBUS_SOAP_INTERNAL_H

#include "soapH.h"

#include "nimbus_http.h"
#include "nimbus_service.h"
#include "nimbus_soap.h"

/* Longest element or attribute name (prefix included) the scan lets
 * through: gSOAP reads names into SOAP_TAGLEN-byte buffers and truncates
 * longer ones. Fixed by that buffer, so not an option. */
#define NIMBUS_SOAP_NAME_MAX (SOAP_TAGLEN - 1)
/* The service's target namespace; SOAPAction is it, '/' and the operation. */
#define NIMBUS_SOAP_NAMESPACE "urn:nimbus:weather:v1"
/* Room for decoded HTTP credentials (name + secret + NULs). */
#define NIMBUS_SOAP_CRED_BUF (NIMBUS_KEY_NAME_MAX + NIMBUS_KEY_SECRET_MAX + 8)

/* What a service function returns when its write went to the writer: the
 * host keeps the request and answers it once the write committed. Outside
 * gSOAP's own codes. */
#define NIMBUS_SOAP_DEFERRED 0x4e494d42
/* What a service function returns once the answer's envelope is in the
 * reply buffer (written by gSOAP, or a kept one): nothing is left for
 * gSOAP's generated serving code to write. */
#define NIMBUS_SOAP_SENT 0x4e494d43
/* The longest render-cache key kept: an answer whose request (with the
 * namespace URIs the envelope echoes) needs more is not kept. */
#define NIMBUS_SOAP_KEY_MAX 1024

/* A call on its way through the core: kept by the service function, and
 * past the request's own gSOAP processing when the call writes. */
typedef struct nimbus__soap_call {
    struct nimbus_soap_worker *ws;
    nimbus_op_t op;
    /* Writes the response envelope for op (out_<snake>, then gSOAP's
     * serializer), as the generated soap_serve___nimbus__<Op> would. */
    int (*send)(struct soap *soap, const nimbus_response_t *res);
    bool answered;
    int rc;
    nimbus_error_t err;
    nimbus_response_t res;
    /* Set by the host when the answer comes later. */
    struct evhttp_request *req;
    int version;
    const char *operation;
    uint64_t start_us;
    char caller_key[NIMBUS_KEY_NAME_MAX + 1]; /* the caller's, for the access log and metrics */
} nimbus__soap_call_t;

struct nimbus_soap_worker {
    nimbus_worker_t *w;
    struct soap *soap;
    struct evbuffer *out;      /* the reply being written by gSOAP; owned */
    struct evbuffer *inflated; /* a compressed request body, decompressed; owned */
    const char *empty_style;   /* gSOAP's static "" encodingStyle (see begin_serve) */
    /* Per request; reset by nimbus_soap_handle before serving. */
    struct evbuffer *in;          /* the request body, borrowed from evhttp (or inflated) */
    const char *content_type;     /* borrowed from the request headers */
    const char *content_encoding; /* borrowed from the request headers */
    int version;                  /* 1 or 2, from the Content-Type */
    const char *operation;        /* contract name for the access log (static) */
    nimbus_code_t fault_code;     /* set when soap_fault.c rendered a Fault */
    nimbus_credentials_t http_creds;
    nimbus_error_t http_creds_err; /* malformed Authorization header */
    /* The caller, read once the SOAP header is (before the body): a
     * UsernameToken, else http_creds; caller_err when neither is usable. */
    nimbus_credentials_t caller;
    nimbus_error_t caller_err;
    char peer[NIMBUS_FORWARDED_CLIENT_MAX]; /* the client's address (nimbus_http_client) */
    const char *action; /* SOAPAction (1.1) or the action parameter (1.2), or NULL */
    size_t action_len;  /* its length, quotes removed */
    bool admitted;      /* the call was taken from a rate limit (nimbus_core_admit) */
    int retry_after_s;  /* a Fault's Retry-After (RESOURCE_EXHAUSTED), or 0 */
    char caller_key[NIMBUS_KEY_NAME_MAX + 1]; /* the caller's key once authorized; "" none */
    nimbus__soap_call_t *deferred;            /* the write this request left to the writer */
    int op;                                   /* the Body's operation (nimbus_op_t), or -1 */
    bool ids;           /* the scan saw attributes that may be ids (scan_info.ids) */
    bool iht_dirty;     /* gSOAP's id table may hold entries (see begin_recv) */
    bool scratch_dirty; /* the last parse failed midway (see light_begin_allowed) */
    /* A read to keep once answered: key[0..key_len) (0: none), stamped
     * before the read (soap_render.c). */
    bool keep;
    size_t key_len;
    nimbus_stamp_t stamp;
    const char *request_id; /* the request's (nimbus_http_request_id), for Faults */
    char cred_buf[NIMBUS_SOAP_CRED_BUF];
    char key[NIMBUS_SOAP_KEY_MAX];
};

/* ---- soap_fault.c ------------------------------------------------------ */

/* Makes err the Fault gSOAP sends: faultcode Client/Server (1.1) or
 * Sender/Receiver (1.2), faultstring = message, detail = ServiceFault
 * {code, message}. Returns SOAP_FAULT for a service function to return.
 * Strings are copied into soap's memory (freed by soap_end). */
int nimbus__soap_fault(struct soap *soap, const nimbus_error_t *err);

/* Turns gSOAP's own failure (soap->error: bad XML, wrong type, unknown
 * element, ...) into an INVALID_ARGUMENT Fault with gSOAP's explanation. */
void nimbus__soap_fault_from_gsoap(struct soap *soap);

/* ---- soap_host.c ------------------------------------------------------- */

/* The core's answer to a call (nimbus_call_done_fn): records it, and when
 * the request was deferred, sends the reply (the write committed). */
void nimbus__soap_answered(void *arg, int rc, const nimbus_error_t *err);

/* soap_end_recv, without soap_resolve's two scans of the id table when the
 * body cannot have put anything in it (ws->ids false, no attachments). */
int nimbus__soap_end_recv(nimbus_soap_worker_t *ws);

/* ---- soap_ops.c -------------------------------------------------------- */

/* Serves the request whose Body holds op's element (peeked, caller
 * authorized): what soapcpp2's soap_serve___nimbus__<Op> does, with
 * nimbus__soap_end_recv and the answer written by soap_ops.c. Returns
 * NIMBUS_SOAP_SENT (the envelope is in ws->out), NIMBUS_SOAP_DEFERRED, or a
 * gSOAP error with the Fault set. */
int nimbus__soap_serve_op(nimbus_soap_worker_t *ws, nimbus_op_t op);

/* ---- soap_render.c ----------------------------------------------------- */

/* Looks the answer to a read (op, req, as nimbus_core_stamp stamped it)
 * up in the worker's render cache. true: the kept envelope is in ws->out
 * (lent by the cache, no copy). false: not kept (or out of memory), and
 * ws->key_len (0: the request cannot be keyed), ws->key and ws->stamp say
 * where the answer may be kept. */
bool nimbus__soap_kept(nimbus_soap_worker_t *ws, nimbus_op_t op, const nimbus_request_t *req,
                       const nimbus_stamp_t *stamp);
/* Keeps the envelope in ws->out under ws->key: called once a read was
 * answered without a Fault (ws->keep). The cache copies it. */
void nimbus__soap_keep(nimbus_soap_worker_t *ws);

/* ---- soap_scan.c ------------------------------------------------------- */

typedef enum nimbus_soap_scan {
    NIMBUS_SOAP_SCAN_OK,
    NIMBUS_SOAP_SCAN_DECLARATION,   /* <!DOCTYPE, <!ENTITY, ... */
    NIMBUS_SOAP_SCAN_TOO_DEEP,      /* elements nested deeper than max_depth */
    NIMBUS_SOAP_SCAN_BINARY_TYPE,   /* a Body element with xsi:type base64Binary/hexBinary */
    NIMBUS_SOAP_SCAN_ENCODING,      /* an XML declaration naming an encoding other than UTF-8 */
    NIMBUS_SOAP_SCAN_BAD_UTF8,      /* bytes that are not UTF-8 (overlong, surrogate, ...) */
    NIMBUS_SOAP_SCAN_BAD_CHAR,      /* a character XML 1.0 does not allow (U+0000, U+FFFE, ...) */
    NIMBUS_SOAP_SCAN_BAD_CHAR_REF,  /* a character reference to such a character (&#0;) */
    NIMBUS_SOAP_SCAN_BAD_REFERENCE, /* a malformed or undefined reference (&nbsp;, &#x;, & ) */
    NIMBUS_SOAP_SCAN_LONG_CHAR_REF, /* a character reference gSOAP cannot read (&#x1F600;) */
    NIMBUS_SOAP_SCAN_BODY_CHILDREN, /* a Body with more than one element child */
    NIMBUS_SOAP_SCAN_ATTRIBUTES,    /* a start tag with more than max_attributes attributes */
    NIMBUS_SOAP_SCAN_NAMESPACES,    /* more than max_namespaces declarations in scope */
    NIMBUS_SOAP_SCAN_LONG_NAME,     /* an element or attribute name over NIMBUS_SOAP_NAME_MAX */
    NIMBUS_SOAP_SCAN_MARKUP         /* a comment, PI or '<' gSOAP would end elsewhere than XML */
} nimbus_soap_scan_t;

/* The shape limits the scan enforces (--soap-max-depth, --soap-max-attributes,
 * --soap-max-namespaces). gSOAP keeps a start tag's attributes and the
 * namespace declarations in scope in lists it searches linearly for every
 * name it reads, so a tag with 90,000 attributes costs it minutes of CPU
 * in one request; with these bounded, its work per element is bounded. */
typedef struct nimbus_soap_limits {
    int max_depth;      /* element nesting, the Envelope at 1 */
    int max_attributes; /* attributes of one start tag, xmlns declarations included */
    int max_namespaces; /* namespace declarations on the open elements together */
} nimbus_soap_limits_t;

/* What the scan found, pointing into the scanned body. Each field is set
 * only for the results named. */
typedef struct nimbus_soap_scan_info {
    /* BINARY_TYPE: the element; BODY_CHILDREN: the Body's second child;
     * ATTRIBUTES, NAMESPACES, LONG_NAME: the start tag past the limit */
    const char *element;
    size_t element_len;
    /* BINARY_TYPE: the xsi:type value */
    const char *type;
    size_t type_len;
    /* BODY_CHILDREN: the Body's first child */
    const char *first;
    size_t first_len;
    /* ENCODING: the declared name; BAD_CHAR_REF, BAD_REFERENCE,
     * LONG_CHAR_REF: the reference as written (up to its ';', at most 32
     * bytes) */
    const char *text;
    size_t text_len;
    /* BAD_UTF8, BAD_CHAR, *_REF*, MARKUP: byte offset in body */
    size_t offset;
    /* BAD_CHAR, BAD_CHAR_REF: the code point (0x110000 for anything past
     * U+10FFFF) */
    unsigned long code_point;
    /* Every result: some start tag's attributes hold "id" or "ref" (names
     * or values), or the scan stopped before the body's end. false means
     * gSOAP's id table stays empty while it parses the body. */
    bool ids;
} nimbus_soap_scan_info_t;

/* Scans body[0..len) for what gSOAP would accept but must not: a declared
 * encoding other than UTF-8, bytes that are not UTF-8, characters and
 * character references XML 1.0 forbids, character references longer than
 * gSOAP reads whole, references other than XML's five predefined
 * entities, markup declarations, excess nesting, too many attributes on
 * one tag or namespace declarations in scope, binary
 * xsi:types in the Body and a Body with more than one element child. Text
 * in comments, CDATA sections and processing instructions is not markup
 * (but must still be UTF-8 made of XML characters). info (may be NULL) is
 * filled as described above. */
nimbus_soap_scan_t nimbus__soap_scan(const char *body, size_t len,
                                     const nimbus_soap_limits_t *limits,
                                     nimbus_soap_scan_info_t *info);

/* ---- soap_convert.c ---------------------------------------------------- */

/* gSOAP -> core. Return 0, or -1 with INVALID_ARGUMENT in err when a value
 * cannot be represented (a string longer than any valid one, a dateTime the
 * core's nimbus_time_parse refuses). Rules are the core's job, not these. */
int nimbus__soap_station_in(const struct nimbus__Station *in, const char *what,
                            nimbus_station_t *out, nimbus_error_t *err);
int nimbus__soap_observation_in(const struct nimbus__Observation *in, const char *what,
                                nimbus_observation_t *out, nimbus_error_t *err);
int nimbus__soap_time_in(const char *text, const char *what, bool *has, int64_t *out,
                         nimbus_error_t *err);

/* core -> gSOAP, allocated in soap's memory (freed by soap_end). NULL when
 * out of memory. */
int nimbus__soap_station_fill(struct soap *soap, const nimbus_station_t *in,
                              struct nimbus__Station *out);
struct nimbus__Station *nimbus__soap_station_out(struct soap *soap, const nimbus_station_t *in);
int nimbus__soap_observation_out(struct soap *soap, const nimbus_observation_t *in,
                                 struct nimbus__Observation *out);
struct nimbus__WeatherReport *nimbus__soap_report_out(struct soap *soap,
                                                      const nimbus_weather_report_t *in,
                                                      struct nimbus__WeatherReport *out);
double *nimbus__soap_opt_double_out(struct soap *soap, nimbus_opt_double_t v);

/* ---- the WSDL, embedded at build time (generated/embed_wsdl.cmake) ------ */

extern const char nimbus_wsdl_text[];
extern const size_t nimbus_wsdl_text_len;
/* The soap:address the committed WSDL carries; replaced when served. */
#define NIMBUS_WSDL_ADDRESS_PLACEHOLDER "http://localhost:8080/soap"

#endif
