/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gSOAP hosted inside evhttp. evhttp owns HTTP (connections, keep-alive,
 * headers, body limits); gSOAP only parses the XML body and writes the XML
 * answer. Each worker owns one gSOAP context, reused for every request on
 * that worker's thread: frecv reads the request body evbuffer, fsend appends
 * to a reply evbuffer, and HTTP parsing is disabled (input SOAP_ENC_PLAIN
 * and a no-op fparse): gSOAP sees no HTTP header at all. After every
 * request soap_destroy + soap_dealloc release everything the request and its
 * answer allocated, and soap_begin_recv releases gSOAP's per-message tables
 * at the start of the next, so memory stays flat however many requests a
 * worker serves.
 *
 * A request body sent with Content-Encoding gzip or deflate (PHP's
 * SoapClient does so with its `compression` option) is decompressed first,
 * never beyond config->max_body; gSOAP's own zlib support is not in
 * Debian's libgsoap. A build without zlib (NIMBUS_SOAP_ZLIB unset) refuses
 * such bodies with INVALID_ARGUMENT. Answers are never compressed.
 *
 * Refused before gSOAP sees them: bodies over config->max_body
 * (PAYLOAD_TOO_LARGE), a Content-Type charset other than UTF-8, and
 * (INVALID_ARGUMENT; see soap_scan.c) another declared encoding, bytes that
 * are not UTF-8, characters and references XML 1.0 does not allow, any
 * DTD, nesting deeper than --soap-max-depth, more attributes on a tag or
 * namespace declarations in scope than --soap-max-attributes and
 * --soap-max-namespaces allow, a binary xsi:type in the
 * Body and a Body with more than one element child. Bounded by
 * gSOAP: nesting depth again (maxlevel), element counts (maxoccurs) and the
 * message length.
 *
 * HTTP status of an answer: 200; for a Fault, 500 in SOAP 1.1, and in SOAP
 * 1.2 400 for Sender faults and 500 for Receiver faults (contract,
 * "Errors"). PAYLOAD_TOO_LARGE follows the same SOAP rule, not REST's 413.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifdef NIMBUS_SOAP_ZLIB
#include <zlib.h>
#endif

#include "nimbus_soap_namespaces.h"
#include "soap_internal.h"

static size_t host_recv(struct soap *soap, char *buf, size_t len)
{
    nimbus_soap_worker_t *ws = soap->user;
    int n = ws->in ? evbuffer_remove(ws->in, buf, len) : 0;
    return n > 0 ? (size_t)n : 0;
}

static int host_send(struct soap *soap, const char *s, size_t n)
{
    nimbus_soap_worker_t *ws = soap->user;
    return evbuffer_add(ws->out, s, n) == 0 ? SOAP_OK : SOAP_EOM;
}

/* evhttp already parsed the HTTP header; there is none in the stream. */
static int host_parse(struct soap *soap)
{
    (void)soap;
    return SOAP_OK;
}

nimbus_soap_worker_t *nimbus_soap_worker_new(nimbus_worker_t *w, nimbus_error_t *err)
{
    nimbus_soap_worker_t *ws = calloc(1, sizeof *ws);
    if (!ws) {
        goto fail;
    }
    ws->w = w;
    ws->out = evbuffer_new();
    ws->inflated = evbuffer_new();
    /* Strict: a missing required element or an unknown one is refused rather
     * than read as 0 or skipped. UTF-8 strings pass through unchanged. Tree
     * mode: no id/href graphs in or out (plain document/literal). */
    ws->soap = soap_new2(SOAP_ENC_PLAIN | SOAP_XML_STRICT | SOAP_XML_TREE | SOAP_C_UTFSTRING,
                         SOAP_ENC_PLAIN | SOAP_IO_BUFFER | SOAP_XML_TREE | SOAP_XML_NOTYPE |
                             SOAP_C_UTFSTRING);
    if (!ws->out || !ws->inflated || !ws->soap) {
        goto fail;
    }
    struct soap *soap = ws->soap;
    soap->user = ws;
    soap->frecv = host_recv;
    soap->fsend = host_send;
    soap->fparse = host_parse;
    /* No header reaches gSOAP's header parser (fparsehdr). Of the two that
     * used to, from an fprepareinitrecv hook: SOAPAction and Content-Type's
     * action parameter fill soap->action, and Content-Type soap->http_content,
     * which gSOAP reads only to write HTTP itself; its multipart and DIME
     * parameters set attachment bits in imode after soap_begin_recv had
     * copied imode to mode, so they changed nothing but the next message
     * (an MTOM bit was never cleared). Dispatch is by the Body's element,
     * the version by the Envelope's namespace and the Fault's by the
     * namespace table begin_request picks. That parse was 8% of a kept
     * answer's instructions (docs/performance.md). */
    soap->maxlevel = (unsigned int)w->config->soap_max_depth;
    soap->maxoccurs = NIMBUS_RECORD_BATCH_MAX;
    soap->recv_maxlength = w->config->max_body;
    /* gSOAP's own empty encodingStyle (a static string soap_begin installs),
     * for begin_serve to install as soap_begin would. */
    soap_begin(soap);
    ws->empty_style = soap->encodingStyle;
    return ws;
fail:
    nimbus_soap_worker_free(ws);
    nimbus_error_set(err, NIMBUS_INTERNAL, "cannot create the SOAP context");
    return NULL;
}

void nimbus_soap_worker_free(nimbus_soap_worker_t *ws)
{
    if (!ws) {
        return;
    }
    if (ws->soap) {
        soap_destroy(ws->soap);
        soap_end(ws->soap);
        soap_free(ws->soap);
    }
    if (ws->out) {
        evbuffer_free(ws->out);
    }
    if (ws->inflated) {
        evbuffer_free(ws->inflated);
    }
    free(ws);
}

/* The operation the client says it calls, before the body is read: SOAP
 * 1.1's SOAPAction header, SOAP 1.2's action parameter of the Content-Type
 * (quotes removed). It only chooses the role checked before the body; the
 * Body's element is still what runs, and is authorized again. */
static void read_action(nimbus_soap_worker_t *ws, const struct evkeyvalq *headers, const char *ct,
                        bool v12)
{
    const char *a = NULL;
    if (!v12) {
        a = nimbus_http_find_header(headers, "SOAPAction");
    } else if (ct) {
        for (const char *p = ct; (p = strchr(p, ';')) != NULL;) {
            p++;
            while (*p == ' ' || *p == '\t') {
                p++;
            }
            if (strncasecmp(p, "action=", 7) == 0) {
                a = p + 7;
                break;
            }
        }
    }
    ws->action = NULL;
    ws->action_len = 0;
    if (!a) {
        return;
    }
    size_t len = v12 ? strcspn(a, ";") : strlen(a);
    while (len > 0 && (a[len - 1] == ' ' || a[len - 1] == '\t')) {
        len--;
    }
    if (len >= 2 && a[0] == '"' && a[len - 1] == '"') {
        a++;
        len -= 2;
    }
    ws->action = a;
    ws->action_len = len;
}

/* The role of the operation the action names, or READ, the least any
 * call needs, when it names none. */
static nimbus_role_t action_role(const nimbus_soap_worker_t *ws)
{
    static const char prefix[] = NIMBUS_SOAP_NAMESPACE "/";
    size_t plen = sizeof prefix - 1;
    if (ws->action && ws->action_len > plen && memcmp(ws->action, prefix, plen) == 0) {
        for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
            const char *name = nimbus_op_table[i].name;
            if (ws->action_len - plen == strlen(name) &&
                memcmp(ws->action + plen, name, ws->action_len - plen) == 0) {
                return nimbus_op_table[i].role;
            }
        }
    }
    return NIMBUS_ROLE_READ;
}

/*
 * Before the body is looked at (decompressed, scanned or parsed): HTTP
 * credentials (Bearer, Basic) are checked, for the role of the operation
 * SOAPAction names (READ when it names none), and the call is taken from
 * the caller's rate limit; on a server without keys, from the client
 * address's. A wrong key or a caller past its rate so costs no XML
 * parsing at all. Only a caller who names itself with a WS-Security
 * UsernameToken, which lives in the envelope, is admitted later, once the
 * header is read (authorize_before_body). Returns 0, or -1 with err.
 */
static int admit_before_body(nimbus_soap_worker_t *ws, nimbus_error_t *err)
{
    if (ws->http_creds_err.code != NIMBUS_OK) {
        *err = ws->http_creds_err;
        return -1;
    }
    nimbus_core_t *core = ws->w->core;
    if (ws->http_creds.kind == NIMBUS_CRED_NONE && nimbus_core_keys_required(core)) {
        return 0;
    }
    if (nimbus_core_admit_as(core, &ws->http_creds, ws->peer, action_role(ws), ws->caller_key,
                             err) != 0) {
        return -1;
    }
    ws->admitted = true;
    return 0;
}

/* Reads what the request says about itself into ws. */
static void begin_request(nimbus_soap_worker_t *ws, struct evhttp_request *req)
{
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    const char *ct = nimbus_http_find_header(headers, "Content-Type");
    nimbus_media_type_t mt;
    nimbus_http_media_type(ct, &mt);
    bool v12 = nimbus_http_media_type_is(&mt, "application/soap+xml");
    ws->version = v12 ? 2 : 1;
    ws->content_type = v12 || nimbus_http_media_type_is(&mt, "text/xml") ? ct : NULL;
    ws->content_encoding = nimbus_http_find_header(headers, "Content-Encoding");
    ws->in = evhttp_request_get_input_buffer(req);
    ws->operation = "-";
    ws->fault_code = NIMBUS_OK;
    ws->retry_after_s = 0;
    ws->admitted = false;
    /* Through a trusted proxy, the client it names (forwarded.c). */
    nimbus_http_client(ws->w, req, ws->peer, sizeof ws->peer);
    read_action(ws, headers, ct, v12);
    ws->op = -1;
    ws->keep = false;
    ws->key_len = 0;
    ws->caller_key[0] = '\0';
    ws->request_id = nimbus_http_request_id(req);
    nimbus_error_clear(&ws->http_creds_err);
    nimbus_http_credentials(req, &ws->http_creds, ws->cred_buf, sizeof ws->cred_buf,
                            &ws->http_creds_err);
    evbuffer_drain(ws->out, evbuffer_get_length(ws->out));
    /* The first namespace-table entry decides the SOAP version of a Fault
     * for a body gSOAP cannot read at all. */
    soap_set_namespaces(ws->soap, v12 ? nimbus_soap12_namespaces : nimbus_soap11_namespaces);
}

/* Client text quoted in a Fault message: at most 32 bytes, and only if it
 * is printable ASCII (the message must stay valid XML text). */
static int quotable(const char *s, size_t len)
{
    if (len > 32) {
        len = 32;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] > 0x7e) {
            return 0;
        }
    }
    return (int)len;
}

static bool token_is(const char *s, const char *token)
{
    size_t n = strlen(token);
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (strncasecmp(s, token, n) != 0) {
        return false;
    }
    for (s += n; *s == ' ' || *s == '\t'; s++) {
        ;
    }
    return *s == '\0';
}

/* Replaces a gzip- or deflate-encoded ws->in by its decompressed bytes,
 * stopping as soon as they pass max_body. Returns 0, or -1 with err. */
static int decode_body(nimbus_soap_worker_t *ws, nimbus_error_t *err)
{
    const char *enc = ws->content_encoding;
    if (!enc || token_is(enc, "identity")) {
        return 0;
    }
    if (!token_is(enc, "gzip") && !token_is(enc, "x-gzip") && !token_is(enc, "deflate")) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "Content-Encoding %.*s is not supported: send gzip, deflate or an "
                                "uncompressed body",
                                quotable(enc, strlen(enc)), enc);
    }
#ifndef NIMBUS_SOAP_ZLIB
    return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                            "Content-Encoding %s is not supported by this build (no zlib): "
                            "send an uncompressed body",
                            token_is(enc, "deflate") ? "deflate" : "gzip");
#else
    size_t max = ws->w->config->max_body;
    size_t len = evbuffer_get_length(ws->in);
    if (len > UINT_MAX) { /* zlib counts input in uInt */
        return nimbus_error_set(err, NIMBUS_PAYLOAD_TOO_LARGE,
                                "compressed request body of %zu bytes is too large", len);
    }
    unsigned char *src = len ? evbuffer_pullup(ws->in, -1) : NULL;
    if (len && !src) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading the request");
    }
    evbuffer_drain(ws->inflated, evbuffer_get_length(ws->inflated));
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* 15 + 32: either a gzip or a zlib header (what "deflate" means in HTTP). */
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "cannot start decompressing the request");
    }
    zs.next_in = src;
    zs.avail_in = (uInt)len;
    unsigned char chunk[16384];
    int rc = 0;
    for (;;) {
        zs.next_out = chunk;
        zs.avail_out = sizeof chunk;
        int z = inflate(&zs, Z_NO_FLUSH);
        size_t got = sizeof chunk - zs.avail_out;
        if (got > max - evbuffer_get_length(ws->inflated)) {
            rc = nimbus_error_set(err, NIMBUS_PAYLOAD_TOO_LARGE,
                                  "request body exceeds the limit of %zu bytes once decompressed",
                                  max);
            break;
        }
        if (got && evbuffer_add(ws->inflated, chunk, got) != 0) {
            rc = nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory reading the request");
            break;
        }
        if (z == Z_STREAM_END) {
            break;
        }
        /* Z_OK with output room left means every input byte was used
         * before the stream ended: truncated. */
        if (z != Z_OK || zs.avail_out > 0) {
            rc = nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                  "the request body is not valid, complete %s data "
                                  "(Content-Encoding)",
                                  token_is(enc, "deflate") ? "deflate" : "gzip");
            break;
        }
    }
    inflateEnd(&zs);
    if (rc == 0) {
        ws->in = ws->inflated;
    }
    return rc;
#endif
}

/* Answers with err without parsing the body. */
static void refuse(nimbus_soap_worker_t *ws, const nimbus_error_t *err)
{
    struct soap *soap = ws->soap;
    soap_begin(soap);
    soap->version = (short)ws->version;
    nimbus__soap_fault(soap, err);
    soap_send_fault(soap);
}

/* WS-Security's PasswordText type; PasswordDigest is refused because the
 * core compares secrets, it cannot verify a digest of one. */
#define WSSE_PASSWORD_TEXT                                                                         \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#"          \
    "PasswordText"

/* The caller: a WS-Security UsernameToken in the SOAP header when there is
 * one, else the HTTP Authorization header. The header is detached from the
 * context here so that gSOAP never echoes it (with its password) back. */
static int read_caller(struct soap *soap, nimbus_credentials_t *out, nimbus_error_t *err)
{
    nimbus_soap_worker_t *ws = soap->user;
    struct SOAP_ENV__Header *header = soap->header;
    soap->header = NULL;
    memset(out, 0, sizeof *out);
    if (header && header->wsse__Security && header->wsse__Security->UsernameToken) {
        const struct _wsse__UsernameToken *ut = header->wsse__Security->UsernameToken;
        if (!ut->Username || !ut->Password || !ut->Password->__item) {
            return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED,
                                    "WS-Security UsernameToken needs a Username and a Password");
        }
        if (ut->Password->Type && strcmp(ut->Password->Type, WSSE_PASSWORD_TEXT) != 0) {
            return nimbus_error_set(err, NIMBUS_UNAUTHENTICATED,
                                    "only WS-Security PasswordText passwords are supported");
        }
        out->kind = NIMBUS_CRED_NAMED;
        out->name = ut->Username;
        out->secret = ut->Password->__item;
        return 0;
    }
    if (ws->http_creds_err.code != NIMBUS_OK) {
        *err = ws->http_creds_err;
        return -1;
    }
    *out = ws->http_creds;
    return 0;
}

/* Each operation's request element as soap_match_tag reads it. */
static const char *const op_elements[NIMBUS_OP_COUNT] = {
#define NIMBUS_X_SOAP_ELEMENT(Name, snake, role, kind) [NIMBUS_OP_##Name] = "nimbus:" #Name,
    NIMBUS_OPERATIONS(NIMBUS_X_SOAP_ELEMENT)
#undef NIMBUS_X_SOAP_ELEMENT
};

/*
 * Runs once gSOAP has read the Envelope's header and before it reads the
 * body: reads the caller, finds the operation from the body's first element
 * (ws->op) and authorizes the caller for its row's role, as REST does
 * before it reads a body. A caller without the key or the role so learns
 * nothing about its input, and costs no body parsing. An element that names
 * no operation is left to gSOAP to refuse. Returns SOAP_OK, or SOAP_FAULT
 * with the Fault set.
 */
static int authorize_before_body(nimbus_soap_worker_t *ws)
{
    struct soap *soap = ws->soap;
    nimbus_error_clear(&ws->caller_err);
    if (read_caller(soap, &ws->caller, &ws->caller_err) != 0) {
        return nimbus__soap_fault(soap, &ws->caller_err);
    }
    if (soap_peek_element(soap) != SOAP_OK) {
        soap->error = SOAP_OK; /* gSOAP words what is wrong with the body */
        return SOAP_OK;
    }
    nimbus_role_t role = NIMBUS_ROLE_READ; /* an unknown element: any caller's */
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        if (soap_match_tag(soap, soap->tag, op_elements[i]) == SOAP_OK) {
            ws->op = i;
            ws->operation = nimbus_op_table[i].name;
            role = nimbus_op_table[i].role;
            break;
        }
    }
    /* Admitted before the body (HTTP credentials, or no keys): the role
     * of the element's operation still needs checking. Otherwise the
     * UsernameToken's key is admitted now, once. */
    nimbus_error_t err;
    int rc =
        ws->admitted
            ? nimbus_core_authorize_as(ws->w->core, &ws->caller, role, ws->caller_key, &err)
            : nimbus_core_admit_as(ws->w->core, &ws->caller, ws->peer, role, ws->caller_key, &err);
    if (rc != 0) {
        return nimbus__soap_fault(soap, &err);
    }
    ws->admitted = true;
    return SOAP_OK;
}

/*
 * soap_begin_serve without its soap_begin. soap_begin resets the message
 * state and calls soap_free_temp, and soap_begin_recv then does both again:
 * soap_free_temp empties gSOAP's id table (SOAP_IDHASH buckets) and clears
 * its pointer table (SOAP_PTRHASH pointers, a 32 KiB memset), so the first
 * call was a fifth of a GetWeather's instructions for nothing (see
 * docs/performance.md, "SOAP: where the time goes"). Of what soap_begin
 * sets, soap_begin_recv leaves only encoding and encodingStyle alone: they
 * are set here as soap_begin sets them. Same returns as soap_begin_serve.
 */
/* gSOAP's scratch kept from one message to the next (see begin_recv):
 * attribute slots, and bytes of their values and of the string buffer.
 * More is released by gSOAP's own soap_begin_recv. */
#define NIMBUS_SOAP_KEPT_ATTRIBUTES 32
#define NIMBUS_SOAP_KEPT_BYTES 16384

/* Whether begin_recv may stand in for soap_begin_recv: everything
 * soap_free_temp would release is empty or reusable, and the body has no
 * attribute that could be an id (ws->ids), the only ones whose order among
 * kept attribute slots could matter. */
static bool light_begin_allowed(nimbus_soap_worker_t *ws, const char *body, size_t len)
{
#if GSOAP_VERSION == 208124
    struct soap *soap = ws->soap;
    if (ws->iht_dirty || ws->scratch_dirty || ws->ids || len == 0 || body[0] != '<' ||
        soap->nlist || soap->blist || soap->xlist || soap->pblk || !soap->local_namespaces ||
        !(soap->imode & SOAP_ENC_PLAIN) || (soap->imode & SOAP_IO) == SOAP_IO_CHUNK) {
        return false;
    }
    int n = 0;
    size_t bytes = soap->lablen;
    for (const struct soap_attribute *tp = soap->attributes; tp; tp = tp->next) {
        /* A slot whose value gSOAP freed when the value outgrew it, and
         * whose regrowth then failed (the body ended inside the value),
         * keeps its old size with no buffer: gSOAP would write the next
         * value of that name through the null pointer (found by
         * fuzz_soap). Only soap_begin_recv's soap_free_temp clears it. */
        if (!tp->value && tp->size) {
            return false;
        }
        bytes += tp->size;
        if (++n > NIMBUS_SOAP_KEPT_ATTRIBUTES || bytes > NIMBUS_SOAP_KEPT_BYTES) {
            return false;
        }
    }
    return bytes <= NIMBUS_SOAP_KEPT_BYTES;
#else
    (void)ws;
    (void)body;
    (void)len;
    return false; /* begin_recv mirrors 2.8.124 only */
#endif
}

/*
 * soap_begin_recv (gSOAP 2.8.124) for a body that starts with '<', when
 * light_begin_allowed: the same state, set field by field, without its
 * soap_free_temp and soap_free_iht. Those walk the 1,999 buckets of the id
 * table twice and clear the 4,096-pointer table, about 11% of a kept
 * answer's time, to release what is already empty here: the id table (no
 * body parsed since it was last emptied had ids), the pointer table (tree
 * mode never fills it), the namespace stack, blocks and attachments.
 * gSOAP's attribute slots and string buffer are kept for the next message
 * (up to NIMBUS_SOAP_KEPT_ATTRIBUTES slots and NIMBUS_SOAP_KEPT_BYTES), as
 * gSOAP keeps them from one element to the next: soap_peek_element hides
 * every slot before it reads a tag. The namespace table copy is the fresh
 * one begin_request made.
 */
static int begin_recv(nimbus_soap_worker_t *ws, bool light)
{
    struct soap *soap = ws->soap;
    if (!light) {
        ws->scratch_dirty = false; /* soap_free_temp releases it all */
        return soap_begin_recv(soap);
    }
    soap->error = SOAP_OK;
    soap->recverror = SOAP_OK;
    soap->version = 0;
    soap->imode &= ~(SOAP_ENC_DIME | SOAP_ENC_MIME | SOAP_ENC_ZLIB);
    soap->mode = soap->imode;
    if (!(soap->mode & SOAP_IO_KEEPALIVE)) {
        soap->keep_alive = 0;
    }
    if (!soap->keep_alive) {
        soap->buflen = 0;
        soap->bufidx = 0;
    }
    soap->null = 0;
    soap->position = 0;
    soap->mustUnderstand = 0;
    soap->shaky = 0;
    soap->ahead = 0;
    soap->peeked = 0;
    soap->level = 0;
    soap->part = SOAP_BEGIN_RECV;
    soap->count = 0;
    soap->length = 0;
    soap->cdata = 0;
    soap->header = NULL;
    soap->fault = NULL;
    soap->status = 0;
    soap->body = 1;
    soap->dom = NULL;
    soap->dime.count = 0;
    soap->dime.chunksize = 0;
    soap->dime.buflen = 0;
    soap->dime.list = NULL;
    soap->dime.first = NULL;
    soap->dime.last = NULL;
    soap->mime.list = NULL;
    soap->mime.first = NULL;
    soap->mime.last = NULL;
    soap->mime.boundary = NULL;
    soap->mime.start = NULL;
    soap->start = (ULONG64)time(NULL);
    if (soap->fprepareinitrecv && (soap->error = soap->fprepareinitrecv(soap)) != SOAP_OK) {
        return soap->error;
    }
    /* The body's first byte, '<': no byte order mark, MIME or DIME. */
    soap_wchar c = soap_getchar(soap);
    if ((int)c == EOF) {
        return soap->error = soap->error ? soap->error : SOAP_EOF;
    }
    soap_unget(soap, c);
    return SOAP_OK;
}

static int begin_serve(nimbus_soap_worker_t *ws, bool light)
{
    struct soap *soap = ws->soap;
    soap->encoding = 0;
    soap->encodingStyle = ws->empty_style;
    int rc = begin_recv(ws, light);
    /* What is parsed from here on may put ids in the table. */
    ws->iht_dirty = ws->ids;
    if (rc || soap_envelope_begin_in(soap) || soap_recv_header(soap) || soap_body_begin_in(soap)) {
        return soap->error < SOAP_STOP ? soap_send_fault(soap) : soap_closesock(soap);
    }
    return SOAP_OK;
}

/* SOAP 1.1's and 1.2's envelope and encoding namespaces, as gSOAP
 * (soap_envelope_begin_in) compares them to settle the version. */
static const char *const envelope_ns[2] = {"http://schemas.xmlsoap.org/soap/envelope/",
                                           "http://www.w3.org/2003/05/soap-envelope"};
static const char *const encoding_ns[2] = {"http://schemas.xmlsoap.org/soap/encoding/",
                                           "http://www.w3.org/2003/05/soap-encoding"};

/*
 * Whether the message bound the envelope or encoding entry of the
 * namespace table to a URI other than SOAP 1.1's or 1.2's. gSOAP matches a
 * URI against an entry's third column (the other version's URI) with its
 * pattern rules: case-insensitively, '-' standing for any character. Such
 * a near miss ("http://www.w3.org/2003/05/soap)envelope") settles no
 * version, and the answer would then declare the client's URI as its
 * envelope's namespace, which no client reads as SOAP (found by
 * fuzz_soap). The binding is dropped, so that the Fault is written in the
 * real namespace, and true is returned.
 */
static bool foreign_envelope(struct soap *soap)
{
    struct Namespace *ns = soap->local_namespaces;
    bool foreign = false;
    for (int i = 0; ns && i < 2 && ns[i].id; i++) {
        const char *const *known = i == 0 ? envelope_ns : encoding_ns;
        if (ns[i].out && strcmp(ns[i].out, known[0]) != 0 && strcmp(ns[i].out, known[1]) != 0) {
            SOAP_FREE(soap, ns[i].out);
            ns[i].out = NULL;
            foreign = true;
        }
    }
    return foreign;
}

static void serve(nimbus_soap_worker_t *ws)
{
    struct soap *soap = ws->soap;
    nimbus_error_t err;
    nimbus_media_type_t mt;
    nimbus_http_media_type(ws->content_type, &mt);
    /* The body is read as UTF-8 whatever the header says (gSOAP ignores the
     * parameter); saying so beats misreading another charset. */
    if (!nimbus_http_charset_is_utf8(&mt)) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "SOAP request bodies are UTF-8, not charset=%.*s: send charset=utf-8 or "
                         "no charset",
                         quotable(mt.charset, mt.charset_len), mt.charset);
        refuse(ws, &err);
        return;
    }
    if (admit_before_body(ws, &err) != 0 || decode_body(ws, &err) != 0) {
        refuse(ws, &err);
        return;
    }
    size_t len = evbuffer_get_length(ws->in);
    if (len > ws->w->config->max_body) {
        nimbus_error_set(&err, NIMBUS_PAYLOAD_TOO_LARGE,
                         "request body of %zu bytes exceeds the limit of %zu bytes", len,
                         ws->w->config->max_body);
        refuse(ws, &err);
        return;
    }
    /* One contiguous copy at most; gSOAP then reads it without copying. */
    const char *text = len ? (const char *)evbuffer_pullup(ws->in, -1) : "";
    if (!text) {
        nimbus_error_set(&err, NIMBUS_INTERNAL, "out of memory reading the request");
        refuse(ws, &err);
        return;
    }
    nimbus_soap_scan_info_t where;
    const nimbus_config_t *config = ws->w->config;
    nimbus_soap_limits_t limits = {config->soap_max_depth, config->soap_max_attributes,
                                   config->soap_max_namespaces};
    nimbus_soap_scan_t scan = nimbus__soap_scan(text, len, &limits, &where);
    switch (scan) {
    case NIMBUS_SOAP_SCAN_DECLARATION:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "DTDs and entity declarations are not allowed in SOAP messages");
        break;
    case NIMBUS_SOAP_SCAN_TOO_DEEP:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "XML elements are nested deeper than %d levels", limits.max_depth);
        break;
    case NIMBUS_SOAP_SCAN_ATTRIBUTES:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "element %.*s has more than %d attributes (namespace declarations "
                         "included)",
                         quotable(where.element, where.element_len), where.element,
                         limits.max_attributes);
        break;
    case NIMBUS_SOAP_SCAN_NAMESPACES:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "more than %d namespace declarations are in scope at element %.*s",
                         limits.max_namespaces, quotable(where.element, where.element_len),
                         where.element);
        break;
    case NIMBUS_SOAP_SCAN_LONG_NAME:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "an element or attribute name in %.*s... is longer than %d bytes",
                         quotable(where.element, where.element_len < 40 ? where.element_len : 40),
                         where.element, NIMBUS_SOAP_NAME_MAX);
        break;
    case NIMBUS_SOAP_SCAN_BINARY_TYPE:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "element %.*s has xsi:type=\"%.*s\", but no Nimbus field is binary: send "
                         "the text itself, without xsi:type or as xsd:string",
                         quotable(where.element, where.element_len), where.element,
                         quotable(where.type, where.type_len), where.type);
        break;
    case NIMBUS_SOAP_SCAN_ENCODING:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "the XML declaration says encoding=\"%.*s\", but SOAP requests must be "
                         "UTF-8: send UTF-8 and declare encoding=\"UTF-8\" or no encoding",
                         quotable(where.text, where.text_len), where.text);
        break;
    case NIMBUS_SOAP_SCAN_BAD_UTF8:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "the request body must be valid UTF-8 (invalid byte sequence at byte %zu)",
                         where.offset);
        break;
    case NIMBUS_SOAP_SCAN_BAD_CHAR:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "the request body contains U+%04lX at byte %zu, a character XML 1.0 "
                         "does not allow",
                         where.code_point, where.offset);
        break;
    case NIMBUS_SOAP_SCAN_BAD_CHAR_REF:
        if (where.code_point > 0x10FFFF) {
            nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                             "character reference %.*s at byte %zu is past U+10FFFF, the last "
                             "Unicode character",
                             quotable(where.text, where.text_len), where.text, where.offset);
        } else {
            nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                             "character reference %.*s at byte %zu is U+%04lX, a character XML "
                             "1.0 does not allow",
                             quotable(where.text, where.text_len), where.text, where.offset,
                             where.code_point);
        }
        break;
    case NIMBUS_SOAP_SCAN_BAD_REFERENCE:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "malformed or undefined reference %.*s at byte %zu: XML defines only "
                         "&lt; &gt; &amp; &quot; &apos; and character references such as &#160;",
                         quotable(where.text, where.text_len), where.text, where.offset);
        break;
    case NIMBUS_SOAP_SCAN_LONG_CHAR_REF:
        nimbus_error_set(
            &err, NIMBUS_INVALID_ARGUMENT,
            "character reference %.*s at byte %zu is longer than the SOAP parser reads "
            "(at most 6 characters between & and ;): send U+%04lX as UTF-8 text",
            quotable(where.text, where.text_len), where.text, where.offset, where.code_point);
        break;
    case NIMBUS_SOAP_SCAN_BODY_CHILDREN:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "the SOAP Body must hold exactly one operation element, but %.*s "
                         "follows %.*s",
                         quotable(where.element, where.element_len), where.element,
                         quotable(where.first, where.first_len), where.first);
        break;
    case NIMBUS_SOAP_SCAN_MARKUP:
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "the request body is not well-formed XML at byte %zu: a comment holding "
                         "\"--\", a processing instruction holding '?' before its end, '<' "
                         "followed by a blank, or a comment, processing instruction or CDATA "
                         "section that does not end",
                         where.offset);
        break;
    case NIMBUS_SOAP_SCAN_OK:
        break;
    }
    if (scan != NIMBUS_SOAP_SCAN_OK) {
        refuse(ws, &err);
        return;
    }
    ws->ids = where.ids;
    int rc = begin_serve(ws, light_begin_allowed(ws, text, len));
    if (foreign_envelope(soap)) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "the SOAP envelope's namespace must be %s (SOAP 1.1) or %s (SOAP 1.2)",
                         envelope_ns[0], envelope_ns[1]);
        rc = nimbus__soap_fault(soap, &err);
    }
    if (rc == SOAP_OK) {
        rc = authorize_before_body(ws);
    }
    if (rc == SOAP_OK) {
        /* The element names no operation: gSOAP's dispatcher refuses it
         * in its own words. */
        rc =
            ws->op >= 0 ? nimbus__soap_serve_op(ws, (nimbus_op_t)ws->op) : soap_serve_request(soap);
    }
    if (rc == SOAP_OK || rc == SOAP_STOP || rc == NIMBUS_SOAP_DEFERRED || rc == NIMBUS_SOAP_SENT) {
        return;
    }
    /* gSOAP stopped somewhere in the body: what it keeps from one message
     * to the next may be half-updated, so the next begins afresh. */
    ws->scratch_dirty = true;
    if (ws->fault_code == NIMBUS_OK || soap->error != SOAP_FAULT) {
        nimbus__soap_fault_from_gsoap(soap);
    }
    /* A response may have been half-written before serialization failed. */
    evbuffer_drain(ws->out, evbuffer_get_length(ws->out));
    soap->header = NULL;
    /* The body may have bound a near miss deeper in (found by fuzz_soap). */
    (void)foreign_envelope(soap);
    soap_send_fault(soap);
}

int nimbus__soap_end_recv(nimbus_soap_worker_t *ws)
{
    struct soap *soap = ws->soap;
    /* A near miss of the envelope namespace declared inside the Body
     * rebinds its table entry as well: the answer must still be written in
     * the real one (foreign_envelope; found by fuzz_soap). */
    (void)foreign_envelope(soap);
    /* Attachments, chunked input and hooks take gSOAP's own path, as does
     * any body whose attributes might be ids (the scan says). */
    if (ws->ids || (soap->mode & (SOAP_ENC_DIME | SOAP_ENC_MIME | SOAP_ENC_MTOM)) ||
        (soap->mode & SOAP_IO) == SOAP_IO_CHUNK || soap->xlist || soap->fpreparefinalrecv) {
        return soap_end_recv(soap);
    }
    /* What soap_end_recv (2.8.124) does for such a message, but for
     * soap_resolve: it walks the SOAP_IDHASH buckets twice to find id
     * references to settle, and no attribute of this body could have made
     * one (in SOAP_XML_TREE mode only SOAP-ENC:id and SOAP-ENC:ref do, and
     * id, href and ref only in graph mode). */
    soap->part = SOAP_END;
    soap->wsuid = NULL;
    soap->c14nexclude = NULL;
    soap->c14ninclude = NULL;
    soap->ffilterrecv = NULL;
    soap->dime.list = soap->dime.first;
    soap->dime.first = NULL;
    soap->dime.last = NULL;
    soap->mime.list = soap->mime.first;
    soap->mime.first = NULL;
    soap->mime.last = NULL;
    soap->mime.boundary = NULL;
    /* soap_free_ns: every namespace binding, as popping to level 0 does. */
    unsigned int level = soap->level;
    soap->level = 0;
    soap_pop_namespace(soap);
    soap->level = level;
    return SOAP_OK;
}

static void reply(nimbus_worker_t *w, struct evhttp_request *req, int status,
                  const char *content_type, struct evbuffer *body, nimbus_request_log_t *log)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    evhttp_remove_header(out, "Content-Type");
    evhttp_add_header(out, "Content-Type", content_type);
    nimbus_http_add_sunset(w, req);
    nimbus_http_reply(w, req, status, body, log);
}

static void reply_text(nimbus_worker_t *w, struct evhttp_request *req, int status, const char *text,
                       nimbus_request_log_t *log)
{
    struct evbuffer *body = evbuffer_new();
    if (body) {
        evbuffer_add_printf(body, "%s\n", text);
    }
    reply(w, req, status, "text/plain; charset=utf-8", body, log);
    if (body) {
        evbuffer_free(body);
    }
}

/* GET /soap?wsdl: the embedded WSDL with every soap:address pointing at the
 * base URL this client used (nimbus_http_base_url: --public-url, or the
 * scheme and host it used, through a trusted proxy too). */
static void serve_wsdl(nimbus_worker_t *w, struct evhttp_request *req, nimbus_request_log_t *log)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!query || strcasecmp(query, "wsdl") != 0) {
        reply_text(w, req, 404, "POST SOAP requests to /soap; the WSDL is at /soap?wsdl", log);
        return;
    }
    char base[NIMBUS_PUBLIC_URL_MAX];
    nimbus_http_base_url(w, req, base, sizeof base);
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        reply_text(w, req, 500, "out of memory", log);
        return;
    }
    const char *p = nimbus_wsdl_text;
    const char *end = nimbus_wsdl_text + nimbus_wsdl_text_len;
    const size_t plen = strlen(NIMBUS_WSDL_ADDRESS_PLACEHOLDER);
    int rc = 0;
    const char *hit;
    while (rc == 0 && (hit = strstr(p, NIMBUS_WSDL_ADDRESS_PLACEHOLDER)) != NULL) {
        rc = evbuffer_add(body, p, (size_t)(hit - p));
        if (rc == 0) {
            rc = evbuffer_add_printf(body, "%s/soap", base) < 0 ? -1 : 0;
        }
        p = hit + plen;
    }
    if (rc == 0) {
        rc = evbuffer_add(body, p, (size_t)(end - p));
    }
    if (rc != 0) {
        reply_text(w, req, 500, "out of memory", log);
    } else {
        reply(w, req, 200, "text/xml; charset=utf-8", body, log);
    }
    evbuffer_free(body);
}

/* 200; for a Fault, 500 in SOAP 1.1, and in SOAP 1.2 400 for Sender faults
 * and 500 for Receiver faults. */
static int status_of(nimbus_soap_worker_t *ws)
{
    if (ws->fault_code == NIMBUS_OK) {
        return 200;
    }
    return ws->soap->version == 2 && !nimbus_code_is_server_fault(ws->fault_code) ? 400 : 500;
}

static const char *content_type(int version)
{
    return version == 2 ? "application/soap+xml; charset=utf-8" : "text/xml; charset=utf-8";
}

/* Releases what one request used of the worker's context: everything
 * allocated for the request and its answer (soap_destroy, soap_dealloc),
 * which is what soap_end releases but for soap_free_temp. That one clears
 * the id and pointer tables and drops gSOAP's scratch (attribute slots,
 * string buffer, namespace stack); the next request's soap_begin_recv runs
 * it, and begin_recv keeps only a bounded scratch
 * (NIMBUS_SOAP_KEPT_ATTRIBUTES, NIMBUS_SOAP_KEPT_BYTES), so a worker's
 * memory stays bounded; nimbus_soap_worker_free runs the full soap_end. */
static void finish_request(nimbus_soap_worker_t *ws)
{
    ws->in = NULL;
    ws->request_id = NULL; /* the request's headers go with it */
    /* A large decompressed body is not kept for the next request. */
    evbuffer_drain(ws->inflated, evbuffer_get_length(ws->inflated));
    soap_destroy(ws->soap);
    soap_dealloc(ws->soap, NULL);
}

void nimbus_soap_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("soap", "-", nimbus_now_us());
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD) {
        serve_wsdl(w, req, &log);
        return;
    }
    if (cmd != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD, POST");
        reply_text(w, req, 405, "/soap accepts POST (SOAP requests) and GET /soap?wsdl", &log);
        return;
    }
    nimbus_soap_worker_t *ws = w->soap;
    begin_request(ws, req);
    serve(ws);

    struct soap *soap = ws->soap;
    if (ws->deferred) {
        /* A write the writer has: answered once it committed, by
         * nimbus__soap_answered; gSOAP's context serves others meanwhile. */
        nimbus__soap_call_t *call = ws->deferred;
        ws->deferred = NULL;
        call->req = req;
        call->version = soap->version;
        call->operation = ws->operation;
        call->start_us = log.start_us;
        memcpy(call->caller_key, ws->caller_key, sizeof call->caller_key);
        finish_request(ws);
        return;
    }
    log.operation = ws->operation;
    memcpy(log.key, ws->caller_key, sizeof log.key);
    log.code = ws->fault_code;
    log.soap12 = soap->version == 2;
    if (ws->keep && ws->fault_code == NIMBUS_OK) {
        nimbus__soap_keep(ws);
    }
    if (ws->retry_after_s > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", ws->retry_after_s);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", secs);
    }
    reply(w, req, status_of(ws), content_type(soap->version), ws->out, &log);
    finish_request(ws);
}

void nimbus__soap_answered(void *arg, int rc, const nimbus_error_t *err)
{
    nimbus__soap_call_t *call = arg;
    call->answered = true;
    call->rc = rc;
    if (rc != 0) {
        call->err = *err;
    }
    if (!call->req) {
        return; /* answered inside the service function, which replies */
    }
    /* The write committed (or failed) after its request was read: write
     * the envelope now, with the worker's gSOAP context, as gSOAP's
     * generated serving code would have. */
    nimbus_soap_worker_t *ws = call->ws;
    struct soap *soap = ws->soap;
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("soap", call->operation, call->start_us);
    memcpy(log.key, call->caller_key, sizeof log.key);
    log.soap12 = call->version == 2;
    ws->request_id = nimbus_http_request_id(call->req);
    evbuffer_drain(ws->out, evbuffer_get_length(ws->out));
    soap_begin(soap);
    soap->version = (short)call->version;
    soap_set_namespaces(soap,
                        call->version == 2 ? nimbus_soap12_namespaces : nimbus_soap11_namespaces);
    ws->fault_code = NIMBUS_OK;
    int sent = rc == 0 ? call->send(soap, &call->res) : nimbus__soap_fault(soap, &call->err);
    if (sent != SOAP_OK) {
        if (ws->fault_code == NIMBUS_OK || soap->error != SOAP_FAULT) {
            nimbus__soap_fault_from_gsoap(soap);
        }
        evbuffer_drain(ws->out, evbuffer_get_length(ws->out));
        soap_send_fault(soap);
    }
    ws->request_id = NULL; /* the Fault has it; the headers go with the reply */
    log.code = ws->fault_code;
    reply(ws->w, call->req, status_of(ws), content_type(call->version), ws->out, &log);
    soap_destroy(soap);
    soap_end(soap);
    nimbus_response_cleanup(call->op, &call->res);
    free(call);
}
