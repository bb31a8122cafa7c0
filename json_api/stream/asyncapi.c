/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The AsyncAPI 3.0 document of the stream (contract 1.1: GET
 * /v1/asyncapi.json): GET /v1/stream in both its transports, a WebSocket
 * (every message in each direction) and an HTTP response framed as
 * server-sent events or NDJSON (the messages of one subscription).
 *
 * Everything in it comes from the tables the server runs on, so it cannot
 * describe a stream other than the one served: the contract's types from
 * the field tables through json_api/json's schema writer, listed by
 * nimbus_json_schema_types exactly as the OpenAPI document lists them (so
 * both documents carry one definition of Station, Observation, ..., written
 * by one function); a `call` message, its params and its `result` or
 * `item` for every row of the operation table; the limits from the
 * constants the session enforces (ids, stations, heartbeat); the error
 * codes from the error table. Only the envelope of each message is written
 * here, once per framing.
 *
 * Servers name the address the client used (nimbus_http_base_url, as the
 * WSDL's soap:address), with ws/wss and http/https as its scheme is.
 */
#include <stdio.h>
#include <string.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "nimbus_json.h"
#include "nimbus_stream.h"
#include "stream_internal.h"

#define SCHEMAS "#/components/schemas/"
#define MESSAGES "#/components/messages/"
#define TYPES_MAX 32

/* ---- small writers --------------------------------------------------------- */

static void typed(nimbus_json_writer_t *w, const char *type)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", type);
    nimbus_json_object_end(w);
}

static void constant(nimbus_json_writer_t *w, const char *name, const char *value)
{
    nimbus_json_key(w, name);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "string");
    nimbus_json_member_string(w, "const", value);
    nimbus_json_object_end(w);
}

static void integer(nimbus_json_writer_t *w, const char *name, int64_t min, int64_t max,
                    const char *description)
{
    nimbus_json_key(w, name);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "integer");
    nimbus_json_member_int(w, "minimum", min);
    if (max > 0) {
        nimbus_json_member_int(w, "maximum", max);
    }
    if (description) {
        nimbus_json_member_string(w, "description", description);
    }
    nimbus_json_object_end(w);
}

/* A seq: the service's strictly increasing 64-bit sequence. */
static void seq(nimbus_json_writer_t *w, const char *name, const char *description)
{
    integer(w, name, 0, 0, description);
}

/* "required": [names...] for a NULL-terminated list. */
static void required(nimbus_json_writer_t *w, const char *const *names)
{
    nimbus_json_key(w, "required");
    nimbus_json_array_begin(w);
    for (size_t i = 0; names[i]; i++) {
        nimbus_json_string(w, names[i]);
    }
    nimbus_json_array_end(w);
}

/* The client's id: a string of 1-NIMBUS_STREAM_ID_MAX characters (null in
 * an error about a message whose id could not be read). */
static void client_id(nimbus_json_writer_t *w, bool nullable)
{
    nimbus_json_key(w, "id");
    nimbus_json_object_begin(w);
    if (nullable) {
        nimbus_json_key(w, "type");
        nimbus_json_array_begin(w);
        nimbus_json_string(w, "string");
        nimbus_json_string(w, "null");
        nimbus_json_array_end(w);
    } else {
        nimbus_json_member_string(w, "type", "string");
    }
    nimbus_json_member_int(w, "minLength", 1);
    nimbus_json_member_int(w, "maxLength", NIMBUS_STREAM_ID_MAX);
    nimbus_json_member_string(w, "description",
                              "chosen by the client; every server message about it repeats it");
    nimbus_json_object_end(w);
}

/* ---- message payloads ------------------------------------------------------ */

/* How a server message is framed. */
typedef enum shape { WS, NDJSON, SSE } shape_t;

/*
 * Opens a payload object: {"type":"object","additionalProperties":?,
 * "required":[...],"properties":{ and the envelope's properties (`type`,
 * and `id` on the WebSocket). The caller writes its own properties and
 * closes with payload_end. SSE data has no envelope.
 */
static void payload_begin(nimbus_json_writer_t *w, shape_t shape, const char *type,
                          const char *const *members, bool closed)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "object");
    if (closed) {
        nimbus_json_key(w, "additionalProperties");
        nimbus_json_bool(w, false);
    }
    nimbus_json_key(w, "required");
    nimbus_json_array_begin(w);
    if (shape != SSE) {
        nimbus_json_string(w, "type");
    }
    if (shape == WS) {
        nimbus_json_string(w, "id");
    }
    for (size_t i = 0; members && members[i]; i++) {
        nimbus_json_string(w, members[i]);
    }
    nimbus_json_array_end(w);
    nimbus_json_key(w, "properties");
    nimbus_json_object_begin(w);
    if (shape != SSE) {
        constant(w, "type", type);
    }
    if (shape == WS) {
        client_id(w, false);
    }
}

static void payload_end(nimbus_json_writer_t *w)
{
    nimbus_json_object_end(w); /* properties */
    nimbus_json_object_end(w);
}

/* The subscription's messages, the same in every framing but for the
 * envelope. */
static void subscribed_payload(nimbus_json_writer_t *w, shape_t shape)
{
    static const char *const m[] = {"seq", NULL};
    payload_begin(w, shape, "subscribed", m, false);
    seq(w, "seq",
        "the newest seq of the service when the subscription started; without fromSeq "
        "(or with a snapshot) live observations follow from exactly there");
    payload_end(w);
}

static void observation_payload(nimbus_json_writer_t *w, shape_t shape)
{
    if (shape == SSE) {
        nimbus_json_schema_ref(w, SCHEMAS, "Observation"); /* the data is the Observation itself */
        return;
    }
    static const char *const m[] = {"observation", NULL};
    payload_begin(w, shape, "observation", m, false);
    nimbus_json_key(w, "observation");
    nimbus_json_schema_ref(w, SCHEMAS, "Observation");
    payload_end(w);
}

static void snapshot_payload(nimbus_json_writer_t *w, shape_t shape)
{
    static const char *const m[] = {"seq", "observations", NULL};
    payload_begin(w, shape, "snapshot", m, false);
    seq(w, "seq",
        "HEAD: the snapshot holds the latest observation of each subscribed station as "
        "of this seq; live observations follow with seq > HEAD");
    nimbus_json_key(w, "observations");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "array");
    nimbus_json_key(w, "items");
    nimbus_json_schema_ref(w, SCHEMAS, "Observation");
    nimbus_json_object_end(w);
    payload_end(w);
}

static void heartbeat_payload(nimbus_json_writer_t *w, shape_t shape)
{
    static const char *const m[] = {"seq", NULL};
    payload_begin(w, shape, "heartbeat", m, false);
    seq(w, "seq",
        "the service's newest seq as this subscription has been brought up to: every "
        "matching observation up to it was sent, so it is safe to resume from");
    payload_end(w);
}

static void lagged_payload(nimbus_json_writer_t *w, shape_t shape)
{
    static const char *const m[] = {"lastSeq", NULL};
    payload_begin(w, shape, "lagged", m, false);
    seq(w, "lastSeq",
        "the seq of the last observation sent: subscribe again with fromSeq (or "
        "reconnect with Last-Event-ID) set to it");
    payload_end(w);
}

/* ---- the WebSocket's own messages -------------------------------------------- */

static void subscribe_payload(nimbus_json_writer_t *w)
{
    payload_begin(w, WS, "subscribe", NULL, true);
    nimbus_json_key(w, "stations");
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "type");
    nimbus_json_array_begin(w);
    nimbus_json_string(w, "array");
    nimbus_json_string(w, "null");
    nimbus_json_array_end(w);
    nimbus_json_member_int(w, "minItems", 1);
    nimbus_json_member_int(w, "maxItems", NIMBUS_SUBSCRIBE_STATIONS_MAX);
    nimbus_json_key(w, "items");
    nimbus_json_schema_ref(w, SCHEMAS, "StationId");
    nimbus_json_member_string(w, "description", "omitted or null: every station");
    nimbus_json_object_end(w);
    seq(w, "fromSeq", "replay every stored observation with a greater seq first, then live");
    nimbus_json_key(w, "snapshot");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "boolean");
    nimbus_json_member_string(w, "description",
                              "(1.1) start with the latest observation of each station, then "
                              "live from exactly that point; not together with fromSeq");
    nimbus_json_object_end(w);
    integer(w, "heartbeat", NIMBUS_HEARTBEAT_MIN_S, NIMBUS_HEARTBEAT_MAX_S,
            "(1.1) seconds: a heartbeat whenever this long passes with nothing sent");
    payload_end(w);
}

static void call_payload(nimbus_json_writer_t *w, const nimbus_op_info_t *op)
{
    static const char *const m[] = {"op", NULL};
    char params[96];
    snprintf(params, sizeof params, "%sParams", op->name);
    payload_begin(w, WS, "call", m, true);
    constant(w, "op", op->name);
    nimbus_json_key(w, "params");
    nimbus_json_schema_ref(w, SCHEMAS, params);
    payload_end(w);
}

/* The list an operation's answer holds: its one ARRAY field. */
static const nimbus_field_t *list_of(const nimbus_op_info_t *op)
{
    for (size_t i = 0; i < op->response->count; i++) {
        if (op->response->fields[i].kind == NIMBUS_FIELD_ARRAY) {
            return &op->response->fields[i];
        }
    }
    return NULL;
}

/* A SINGLE operation's `result`, a LIST operation's `item`. */
static void answer_payload(nimbus_json_writer_t *w, const nimbus_op_info_t *op)
{
    const nimbus_field_t *list = op->kind == NIMBUS_OP_KIND_LIST ? list_of(op) : NULL;
    static const char *const result[] = {"result", NULL};
    static const char *const item[] = {"item", NULL};
    payload_begin(w, WS, list ? "item" : "result", list ? item : result, false);
    nimbus_json_key(w, list ? "item" : "result");
    if (list) {
        nimbus_json_schema_ref(w, SCHEMAS, list->type->name);
    } else {
        char name[96];
        snprintf(name, sizeof name, "%sResult", op->name);
        nimbus_json_schema_ref(w, SCHEMAS, name);
    }
    payload_end(w);
}

static void error_payload(nimbus_json_writer_t *w)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "object");
    static const char *const m[] = {"type", "id", "code", "message", NULL};
    required(w, m);
    nimbus_json_key(w, "properties");
    nimbus_json_object_begin(w);
    constant(w, "type", "error");
    client_id(w, true);
    nimbus_json_key(w, "code");
    nimbus_json_schema_code(w);
    nimbus_json_key(w, "message");
    typed(w, "string");
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

/* ---- components -------------------------------------------------------------- */

/* A message component: name, title, summary, content type and payload
 * (written by fn). */
typedef void (*payload_fn)(nimbus_json_writer_t *w, shape_t shape);

static void message_head(nimbus_json_writer_t *w, const char *key, const char *name,
                         const char *content_type, const char *summary)
{
    nimbus_json_key(w, key);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "name", name);
    nimbus_json_member_string(w, "title", name);
    nimbus_json_member_string(w, "summary", summary);
    nimbus_json_member_string(w, "contentType", content_type);
}

static const struct {
    const char *type;
    payload_fn payload;
    int64_t sse_id; /* 1: the SSE event has an id, 0: none */
    const char *summary;
} subscription_messages[] = {
    {"subscribed", subscribed_payload, 0, "the subscription is open"},
    {"observation", observation_payload, 1,
     "an observation (new or corrected) of a subscribed station, in increasing seq"},
    {"snapshot", snapshot_payload, 1,
     "(1.1) the latest observation of each subscribed station at one seq, right after "
     "subscribed"},
    {"heartbeat", heartbeat_payload, 1,
     "(1.1) nothing was sent for the subscription's heartbeat seconds"},
    {"lagged", lagged_payload, 0,
     "the subscription ended; resume from lastSeq (an HTTP stream ends with it)"},
};
#define SUBSCRIPTION_MESSAGES (sizeof subscription_messages / sizeof subscription_messages[0])

static void messages(nimbus_json_writer_t *w)
{
    char key[96];
    nimbus_json_object_begin(w);
    /* WebSocket, client to server. */
    message_head(w, "subscribe", "subscribe", "application/json",
                 "live observations of some stations or all, optionally replayed from fromSeq");
    nimbus_json_key(w, "payload");
    subscribe_payload(w);
    nimbus_json_object_end(w);
    message_head(w, "unsubscribe", "unsubscribe", "application/json", "ends a subscription");
    nimbus_json_key(w, "payload");
    payload_begin(w, WS, "unsubscribe", NULL, true);
    payload_end(w);
    nimbus_json_object_end(w);
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        char summary[160];
        snprintf(summary, sizeof summary, "runs %s (needs the %s role)", op->name,
                 nimbus_role_name(op->role));
        snprintf(key, sizeof key, "call.%s", op->name);
        message_head(w, key, "call", "application/json", summary);
        nimbus_json_key(w, "payload");
        call_payload(w, op);
        nimbus_json_object_end(w);
    }
    /* WebSocket, server to client. */
    for (size_t i = 0; i < SUBSCRIPTION_MESSAGES; i++) {
        message_head(w, subscription_messages[i].type, subscription_messages[i].type,
                     "application/json", subscription_messages[i].summary);
        nimbus_json_key(w, "payload");
        subscription_messages[i].payload(w, WS);
        nimbus_json_object_end(w);
    }
    message_head(w, "unsubscribed", "unsubscribed", "application/json",
                 "the subscription has ended");
    nimbus_json_key(w, "payload");
    payload_begin(w, WS, "unsubscribed", NULL, false);
    payload_end(w);
    nimbus_json_object_end(w);
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        bool list = op->kind == NIMBUS_OP_KIND_LIST;
        char summary[160];
        snprintf(summary, sizeof summary,
                 list ? "one result of %s; every result is streamed, then done"
                      : "the answer of %s",
                 op->name);
        snprintf(key, sizeof key, "%s.%s", list ? "item" : "result", op->name);
        message_head(w, key, list ? "item" : "result", "application/json", summary);
        nimbus_json_key(w, "payload");
        answer_payload(w, op);
        nimbus_json_object_end(w);
    }
    message_head(w, "done", "done", "application/json", "a streamed call has ended");
    nimbus_json_key(w, "payload");
    static const char *const count[] = {"count", NULL};
    payload_begin(w, WS, "done", count, false);
    integer(w, "count", 0, 0, "the items streamed");
    payload_end(w);
    nimbus_json_object_end(w);
    message_head(w, "error", "error", "application/json",
                 "a message was refused; the connection stays open");
    nimbus_json_key(w, "payload");
    error_payload(w);
    nimbus_json_object_end(w);
    /* The HTTP framings: one subscription's messages. */
    for (size_t i = 0; i < SUBSCRIPTION_MESSAGES; i++) {
        char summary[300];
        snprintf(key, sizeof key, "ndjson.%s", subscription_messages[i].type);
        message_head(w, key, subscription_messages[i].type, "application/x-ndjson",
                     subscription_messages[i].summary);
        nimbus_json_key(w, "payload");
        subscription_messages[i].payload(w, NDJSON);
        nimbus_json_object_end(w);
        snprintf(key, sizeof key, "sse.%s", subscription_messages[i].type);
        snprintf(summary, sizeof summary, "%s; the event `event: %s`%s, the payload its data",
                 subscription_messages[i].summary, subscription_messages[i].type,
                 subscription_messages[i].sse_id ? ", with `id:` the seq to resume from" : "");
        message_head(w, key, subscription_messages[i].type, "text/event-stream", summary);
        nimbus_json_key(w, "payload");
        subscription_messages[i].payload(w, SSE);
        nimbus_json_object_end(w);
    }
    nimbus_json_object_end(w);
}

static void schemas(nimbus_json_writer_t *w)
{
    nimbus_json_object_begin(w);
    const nimbus_type_t *types[TYPES_MAX];
    bool closed[TYPES_MAX];
    size_t count = nimbus_json_schema_types(types, closed, TYPES_MAX);
    for (size_t i = 0; i < count && i < TYPES_MAX; i++) {
        nimbus_json_key(w, types[i]->name);
        nimbus_json_schema_object(w, types[i], SCHEMAS, closed[i] ? NIMBUS_JSON_SCHEMA_CLOSED : 0,
                                  NULL, NULL);
    }
    /* A station id as the subscription names it, by the field tables'
     * rule. */
    nimbus_json_key(w, "StationId");
    nimbus_json_schema_field(w, nimbus_type_field(&nimbus_station_type, "id"), SCHEMAS);
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        char name[96];
        snprintf(name, sizeof name, "%sParams", op->name);
        nimbus_json_key(w, name);
        nimbus_json_schema_object(w, op->request, SCHEMAS, NIMBUS_JSON_SCHEMA_CLOSED, NULL, NULL);
        if (op->kind == NIMBUS_OP_KIND_SINGLE) {
            snprintf(name, sizeof name, "%sResult", op->name);
            nimbus_json_key(w, name);
            nimbus_json_schema_object(w, op->response, SCHEMAS, 0, NULL, NULL);
        }
    }
    nimbus_json_object_end(w);
}

static void security_schemes(nimbus_json_writer_t *w)
{
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "bearer");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "http");
    nimbus_json_member_string(w, "scheme", "bearer");
    nimbus_json_member_string(w, "description", "Authorization: Bearer SECRET");
    nimbus_json_object_end(w);
    nimbus_json_key(w, "basic");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "http");
    nimbus_json_member_string(w, "scheme", "basic");
    nimbus_json_member_string(w, "description", "the key's name and secret");
    nimbus_json_object_end(w);
    nimbus_json_key(w, "accessToken");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "httpApiKey");
    nimbus_json_member_string(w, "name", "access_token");
    nimbus_json_member_string(w, "in", "query");
    nimbus_json_member_string(w, "description",
                              "the secret in the URL, for browsers, which "
                              "cannot set headers on an upgrade or an "
                              "EventSource");
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

/* ---- servers, channels, operations ------------------------------------------- */

static void server(nimbus_json_writer_t *w, const char *key, const char *host, const char *path,
                   const char *protocol, const char *description)
{
    nimbus_json_key(w, key);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "host", host);
    if (path[0]) {
        nimbus_json_member_string(w, "pathname", path); /* a --public-url's prefix */
    }
    nimbus_json_member_string(w, "protocol", protocol);
    nimbus_json_member_string(w, "description", description);
    nimbus_json_key(w, "security");
    nimbus_json_array_begin(w);
    static const char *const schemes[] = {"bearer", "basic", "accessToken"};
    for (size_t i = 0; i < 3; i++) {
        nimbus_json_schema_ref(w, "#/components/securitySchemes/", schemes[i]);
    }
    nimbus_json_array_end(w);
    nimbus_json_object_end(w);
}

/* A channel's `messages`: name -> $ref of each component whose key has
 * the prefix ("" : the WebSocket's, which have none or "call.", "item.",
 * "result."). */
static void channel_message(nimbus_json_writer_t *w, const char *key)
{
    nimbus_json_key(w, key);
    nimbus_json_schema_ref(w, MESSAGES, key);
}

static void ws_channel_messages(nimbus_json_writer_t *w)
{
    char key[96];
    nimbus_json_object_begin(w);
    channel_message(w, "subscribe");
    channel_message(w, "unsubscribe");
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        snprintf(key, sizeof key, "call.%s", nimbus_op_table[i].name);
        channel_message(w, key);
    }
    for (size_t i = 0; i < SUBSCRIPTION_MESSAGES; i++) {
        channel_message(w, subscription_messages[i].type);
    }
    channel_message(w, "unsubscribed");
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        snprintf(key, sizeof key, "%s.%s", op->kind == NIMBUS_OP_KIND_LIST ? "item" : "result",
                 op->name);
        channel_message(w, key);
    }
    channel_message(w, "done");
    channel_message(w, "error");
    nimbus_json_object_end(w);
}

/* The query of an SSE/NDJSON request: the subscription. */
static void http_query(nimbus_json_writer_t *w)
{
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "object");
    nimbus_json_key(w, "additionalProperties");
    nimbus_json_bool(w, false);
    nimbus_json_key(w, "properties");
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "station");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "array");
    nimbus_json_member_int(w, "maxItems", NIMBUS_SUBSCRIBE_STATIONS_MAX);
    nimbus_json_key(w, "items");
    nimbus_json_schema_ref(w, SCHEMAS, "StationId");
    nimbus_json_member_string(w, "description",
                              "repeated (station=a&station=b); none: every station");
    nimbus_json_object_end(w);
    seq(w, "fromSeq",
        "as subscribe's; a Last-Event-ID header (an EventSource reconnecting) "
        "resumes the same way and wins over fromSeq and snapshot");
    nimbus_json_key(w, "snapshot");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "string");
    nimbus_json_key(w, "enum");
    nimbus_json_array_begin(w);
    nimbus_json_string(w, "true");
    nimbus_json_string(w, "false");
    nimbus_json_array_end(w);
    nimbus_json_object_end(w);
    integer(w, "heartbeat", NIMBUS_HEARTBEAT_MIN_S, NIMBUS_HEARTBEAT_MAX_S, "seconds");
    nimbus_json_key(w, "access_token");
    typed(w, "string");
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

static void http_channel(nimbus_json_writer_t *w, const char *key, const char *server_key,
                         const char *prefix, const char *description)
{
    char name[96];
    nimbus_json_key(w, key);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "address", "/v1/stream");
    nimbus_json_member_string(w, "description", description);
    nimbus_json_key(w, "servers");
    nimbus_json_array_begin(w);
    nimbus_json_schema_ref(w, "#/servers/", server_key);
    nimbus_json_array_end(w);
    nimbus_json_key(w, "messages");
    nimbus_json_object_begin(w);
    for (size_t i = 0; i < SUBSCRIPTION_MESSAGES; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, subscription_messages[i].type);
        channel_message(w, name);
    }
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
}

static void channels(nimbus_json_writer_t *w)
{
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "stream");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "address", "/v1/stream");
    nimbus_json_member_string(
        w, "description",
        "GET /v1/stream upgraded to a WebSocket (RFC 6455): JSON text messages, one per frame");
    nimbus_json_key(w, "servers");
    nimbus_json_array_begin(w);
    nimbus_json_schema_ref(w, "#/servers/", "websocket");
    nimbus_json_array_end(w);
    nimbus_json_key(w, "messages");
    ws_channel_messages(w);
    nimbus_json_key(w, "bindings");
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "ws");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "method", "GET");
    nimbus_json_key(w, "query");
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "type", "object");
    nimbus_json_key(w, "properties");
    nimbus_json_object_begin(w);
    nimbus_json_key(w, "access_token");
    typed(w, "string");
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
    nimbus_json_member_string(w, "bindingVersion", "0.1.0");
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
    nimbus_json_object_end(w);
    http_channel(w, "events", "http", "sse",
                 "GET /v1/stream with Accept: text/event-stream: server-sent events of one "
                 "subscription, made from the query; Cache-Control: no-store, "
                 "X-Accel-Buffering: no");
    http_channel(w, "lines", "http", "ndjson",
                 "GET /v1/stream with Accept: application/x-ndjson: one JSON object per line, "
                 "the WebSocket's messages without id, of one subscription made from the query");
    nimbus_json_object_end(w);
}

/* One operation: action, channel, and the messages it carries (keys of
 * the channel's messages). */
static void operation(nimbus_json_writer_t *w, const char *key, const char *action,
                      const char *channel, const char *const *msgs, size_t count,
                      const char *summary, bool http_get)
{
    char path[160];
    nimbus_json_key(w, key);
    nimbus_json_object_begin(w);
    nimbus_json_member_string(w, "action", action);
    nimbus_json_key(w, "channel");
    nimbus_json_schema_ref(w, "#/channels/", channel);
    nimbus_json_member_string(w, "summary", summary);
    nimbus_json_key(w, "messages");
    nimbus_json_array_begin(w);
    for (size_t i = 0; i < count; i++) {
        snprintf(path, sizeof path, "#/channels/%s/messages/", channel);
        nimbus_json_schema_ref(w, path, msgs[i]);
    }
    nimbus_json_array_end(w);
    if (http_get) {
        nimbus_json_key(w, "bindings");
        nimbus_json_object_begin(w);
        nimbus_json_key(w, "http");
        nimbus_json_object_begin(w);
        nimbus_json_member_string(w, "method", "GET");
        nimbus_json_key(w, "query");
        http_query(w);
        nimbus_json_member_string(w, "bindingVersion", "0.3.0");
        nimbus_json_object_end(w);
        nimbus_json_object_end(w);
    }
    nimbus_json_object_end(w);
}

static void operations(nimbus_json_writer_t *w)
{
    char keys[2 * NIMBUS_OP_COUNT + 8][48];
    const char *msgs[2 * NIMBUS_OP_COUNT + 8];
    size_t n = 0;
    nimbus_json_object_begin(w);
    static const char *const subscribe[] = {"subscribe"};
    operation(w, "sendSubscribe", "send", "stream", subscribe, 1,
              "subscribe: subscribed, then observation messages", false);
    static const char *const unsubscribe[] = {"unsubscribe"};
    operation(w, "sendUnsubscribe", "send", "stream", unsubscribe, 1, "unsubscribe: unsubscribed",
              false);
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        snprintf(keys[n], sizeof keys[n], "call.%s", nimbus_op_table[i].name);
        msgs[n] = keys[n];
        n++;
    }
    operation(w, "sendCall", "send", "stream", msgs, n,
              "call: any operation; a result, or item messages and done for a list", false);
    n = 0;
    for (size_t i = 0; i < SUBSCRIPTION_MESSAGES; i++) {
        msgs[n++] = subscription_messages[i].type;
    }
    msgs[n++] = "unsubscribed";
    operation(w, "receiveSubscription", "receive", "stream", msgs, n,
              "what a subscription sends, in this order: subscribed, snapshot, then observations "
              "in increasing seq, heartbeats when quiet, lagged when it ends",
              false);
    n = 0;
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        snprintf(keys[n], sizeof keys[n], "%s.%s",
                 op->kind == NIMBUS_OP_KIND_LIST ? "item" : "result", op->name);
        msgs[n] = keys[n];
        n++;
    }
    msgs[n++] = "done";
    msgs[n++] = "error";
    operation(w, "receiveAnswer", "receive", "stream", msgs, n,
              "the answers to calls, and errors about any message", false);
    for (int f = 0; f < 2; f++) {
        n = 0;
        for (size_t i = 0; i < SUBSCRIPTION_MESSAGES; i++) {
            snprintf(keys[n], sizeof keys[n], "%s.%s", f == 0 ? "sse" : "ndjson",
                     subscription_messages[i].type);
            msgs[n] = keys[n];
            n++;
        }
        operation(w, f == 0 ? "receiveEvents" : "receiveLines", "receive",
                  f == 0 ? "events" : "lines", msgs, n,
                  f == 0 ? "server-sent events: EventSource, curl, proxies that refuse upgrades"
                         : "NDJSON: curl -N, line-oriented tools",
                  true);
    }
    nimbus_json_object_end(w);
}

char *nimbus__stream_asyncapi_text(const char *base_url, size_t *len)
{
    /* "scheme://host[/path]": the host for `host`, the path for
     * `pathname`, TLS when the scheme is https. */
    bool tls = strncmp(base_url, "https://", 8) == 0;
    const char *rest = strstr(base_url, "://");
    rest = rest ? rest + 3 : base_url;
    size_t host_len = strcspn(rest, "/");
    char authority[300];
    snprintf(authority, sizeof authority, "%.*s", (int)(host_len < 299 ? host_len : 299), rest);
    const char *path = rest + host_len;
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    nimbus_json_object_begin(&w);
    nimbus_json_member_string(&w, "asyncapi", "3.0.0");
    nimbus_json_member_string(&w, "id", "urn:nimbus:weather:v1:stream");
    nimbus_json_key(&w, "info");
    nimbus_json_object_begin(&w);
    nimbus_json_member_string(&w, "title", "Nimbus weather-station stream");
    nimbus_json_member_string(&w, "version", NIMBUS_VERSION);
    nimbus_json_member_string(
        &w, "description",
        "GET /v1/stream of the Nimbus service contract 1.1: live observations with resume from a "
        "durable seq, snapshot and heartbeat, and every operation as a call, over a WebSocket; "
        "one subscription as server-sent events or NDJSON for clients that do not speak "
        "WebSocket. The types are the REST API's (GET /v1/openapi.json).");
    nimbus_json_object_end(&w);
    nimbus_json_member_string(&w, "defaultContentType", "application/json");
    nimbus_json_key(&w, "servers");
    nimbus_json_object_begin(&w);
    server(&w, "websocket", authority, path, tls ? "wss" : "ws",
           "the WebSocket: a GET /v1/stream with Upgrade: websocket");
    server(&w, "http", authority, path, tls ? "https" : "http",
           "the HTTP framings: a GET /v1/stream with Accept: text/event-stream or "
           "application/x-ndjson");
    nimbus_json_object_end(&w);
    nimbus_json_key(&w, "channels");
    channels(&w);
    nimbus_json_key(&w, "operations");
    operations(&w);
    nimbus_json_key(&w, "components");
    nimbus_json_object_begin(&w);
    nimbus_json_key(&w, "schemas");
    schemas(&w);
    nimbus_json_key(&w, "messages");
    messages(&w);
    nimbus_json_key(&w, "securitySchemes");
    security_schemes(&w);
    nimbus_json_object_end(&w);
    nimbus_json_object_end(&w);
    return nimbus_json_writer_steal(&w, len);
}

void nimbus_stream_asyncapi_handle(nimbus_worker_t *w, struct evhttp_request *req)
{
    nimbus_request_log_t log = NIMBUS_REQUEST_LOG("http", "AsyncAPI", nimbus_now_us());
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *origin = nimbus_http_find_header(evhttp_request_get_input_headers(req), "Origin");
    const char *list = w->config->cors_origins;
    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD && cmd != EVHTTP_REQ_OPTIONS) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "/v1/asyncapi.json answers GET, HEAD and OPTIONS");
        evhttp_add_header(out, "Allow", "GET, HEAD, OPTIONS");
        nimbus_http_reply_problem(w, req, 405, &err, &log);
        return;
    }
    /* As the OpenAPI document: public, cacheable, readable cross-site
     * from the listed origins. */
    if (*list && strcmp(list, "*") != 0) {
        evhttp_add_header(out, "Vary", "Origin");
    }
    if (origin && nimbus_http_origin_listed(list, origin)) {
        evhttp_add_header(out, "Access-Control-Allow-Origin",
                          strcmp(list, "*") == 0 ? "*" : origin);
    }
    evhttp_add_header(out, "Cache-Control", "public, max-age=3600");
    if (cmd == EVHTTP_REQ_OPTIONS) {
        evhttp_add_header(out, "Allow", "GET, HEAD, OPTIONS");
        nimbus_http_reply(w, req, 204, NULL, &log);
        return;
    }
    /* The address the client used, as the WSDL's soap:address and the
     * OpenAPI document's servers say it (--public-url, a trusted proxy's
     * word, or Host). */
    char base[NIMBUS_PUBLIC_URL_MAX + 16];
    nimbus_http_base_url(w, req, base, sizeof base);
    size_t len = 0;
    char *text = nimbus__stream_asyncapi_text(base, &len);
    nimbus_http_reply_owned(w, req, 200, "application/json", text, len, &log);
}
