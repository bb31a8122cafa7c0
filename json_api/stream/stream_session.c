/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The session state machine (see stream_session.h for the REPLAY/LIVE
 * states and the `through` invariant that keeps the replay -> live hand-over
 * free of gaps and duplicates). Client messages are parsed here
 * (nimbus_json_parse: duplicate keys, NUL and excessive nesting refused);
 * operations go through stream_call.c; every server message is built by
 * stream_wire.c, in the session's framing (WebSocket, SSE or NDJSON).
 */
#include "stream_session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <jansson.h>

#include "nimbus_json.h"
#include "nimbus_metrics.h"
#include "nimbus_util.h"
#include "stream_call.h"
#include "stream_wire.h"

typedef enum sub_state { SUB_REPLAY, SUB_LIVE } sub_state_t;

typedef struct subscription {
    LIST_ENTRY(subscription) link;
    char *id;
    char **stations; /* NULL: every station */
    size_t station_count;
    int64_t through;
    int64_t last_sent; /* seq of the last observation sent (start: through) */
    sub_state_t state;
    /* What precedes an observation's JSON in the framing: WS
     * {"type":"observation","id":ID,"observation": / NDJSON the same
     * without id / SSE "event: observation\nid: " (then its seq). */
    char *prefix;
    size_t prefix_len;
    char holder[NIMBUS_COUNTS_NAME_MAX]; /* whose subscription limit it counts in */
    uint64_t heartbeat_us;               /* 0: none */
    uint64_t quiet_since_us;             /* when it last sent anything */
} subscription_t;

/* What the metrics count of one `call`: its operation (-1: none named),
 * when it arrived, the message's size and the bytes answered so far. */
typedef struct call_meta {
    int op;
    uint64_t start_us;
    uint64_t bytes_in;
    uint64_t sent_before; /* the session's `sent` when the call arrived */
} call_meta_t;

typedef struct pending_call {
    STAILQ_ENTRY(pending_call) link;
    char *id;
    nimbus_stream_call_t *call;
    call_meta_t meta;
    uint64_t sent; /* bytes of its items and done so far */
} pending_call_t;

/* A SINGLE call waiting for its answer (a write, until its commit). Freed
 * by the answer; a session that ends first only lets go of it (s NULL). */
typedef struct pending_result {
    LIST_ENTRY(pending_result) link;
    nimbus_stream_session_t *s;
    char *id;
    call_meta_t meta;
} pending_result_t;

struct nimbus_stream_session {
    nimbus_stream_shared_t *shared;
    nimbus_stream_out_t out;
    nimbus_credentials_t creds; /* points at the copies below */
    char *cred_name;
    char *cred_secret;
    LIST_HEAD(sub_list, subscription) subs;
    size_t sub_count;
    STAILQ_HEAD(call_queue, pending_call) calls;    /* FIFO: items of one call at a time */
    LIST_HEAD(result_list, pending_result) results; /* SINGLE calls not yet answered */
    size_t call_count;                              /* calls and results in flight */
    char client[64]; /* the client's address (nimbus_http_client): the rate limit's subject
                      * without keys */
    char key[NIMBUS_KEY_NAME_MAX + 1];          /* the caller's key, for the metrics; "" none */
    uint64_t sent;                              /* bytes of messages sent, for the metrics */
    uint64_t message_len;                       /* of the client message being handled */
    char request_id[NIMBUS_REQUEST_ID_MAX + 1]; /* the upgrade's, in every error */
    nimbus_stream_framing_t framing;
    size_t heartbeat_subs; /* subscriptions with a heartbeat */
};

/* ---- output ------------------------------------------------------------ */

static bool has_room(const nimbus_stream_session_t *s)
{
    return s->out.queued(s->out.arg) < s->shared->queue_max;
}

/* Sends heap text and frees it; NULL text means building it ran out of
 * memory, which fails the connection like a failed send. */
static int send_owned(nimbus_stream_session_t *s, char *text, size_t len)
{
    if (!text) {
        return -1;
    }
    nimbus_stream_part_t part = {text, len};
    int rc = s->out.send(s->out.arg, &part, 1);
    free(text);
    s->sent += len;
    return rc;
}

/* Counts one finished `call` in the worker's metrics. */
static void count_call(nimbus_stream_session_t *s, const call_meta_t *meta, nimbus_code_t code,
                       uint64_t bytes_out)
{
    nimbus_metrics_call_t c = {
        .proto = NIMBUS_PROTO_WS,
        .op = meta->op,
        .code = code,
        .key = s->key,
        .elapsed_us = nimbus_metrics_now_us() - meta->start_us,
        .bytes_in = meta->bytes_in,
        .bytes_out = bytes_out,
    };
    nimbus_metrics_count_call(nimbus_service_metrics(s->shared->svc), &c);
}

static int send_error(nimbus_stream_session_t *s, const char *id, const nimbus_error_t *err)
{
    size_t len;
    char *text = nimbus__stream_error_text(id, err, s->request_id, &len);
    return send_owned(s, text, len);
}

static int send_message(nimbus_stream_session_t *s, const char *type, const char *id,
                        const char *key, const char *value)
{
    size_t len;
    char *text = nimbus__stream_message_text(type, id, key, value, &len);
    return send_owned(s, text, len);
}

/* A subscription's message in the session's framing: members as JSON
 * member text, event_id the SSE id (< 0: none). */
static int send_event(nimbus_stream_session_t *s, subscription_t *sub, const char *type,
                      const char *members, int64_t event_id)
{
    size_t len;
    char *text = nimbus__stream_event_text(s->framing, type, sub->id, members, event_id, &len);
    if (sub->heartbeat_us) {
        sub->quiet_since_us = nimbus_clock_us(CLOCK_MONOTONIC);
    }
    return send_owned(s, text, len);
}

/* Sends one observation from the subscription's prefix and the
 * observation's encoded text, which the transport copies once into its
 * output: WS {"type":"observation","id":ID,"observation":JSON}, NDJSON the
 * same without id and with its line end, SSE an `observation` event whose
 * id is the seq and whose data is the Observation. */
static int send_observation(nimbus_stream_session_t *s, subscription_t *sub, const char *json,
                            size_t json_len, int64_t seq)
{
    if (sub->heartbeat_us) {
        sub->quiet_since_us = nimbus_clock_us(CLOCK_MONOTONIC);
    }
    switch (s->framing) {
    case NIMBUS_STREAM_WS:
    case NIMBUS_STREAM_NDJSON: {
        const nimbus_stream_part_t parts[] = {
            {sub->prefix, sub->prefix_len},
            {json, json_len},
            {"}\n", s->framing == NIMBUS_STREAM_NDJSON ? 2 : 1},
        };
        return s->out.send(s->out.arg, parts, 3);
    }
    case NIMBUS_STREAM_SSE:
        break;
    }
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)seq);
    const nimbus_stream_part_t parts[] = {
        {sub->prefix, sub->prefix_len},
        {digits, (size_t)n},
        {"\ndata: ", 7},
        {json, json_len},
        {"\n\n", 2},
    };
    return s->out.send(s->out.arg, parts, 5);
}

/* ---- lifecycle --------------------------------------------------------- */

static char *dup_or_null(const char *text, bool *failed)
{
    if (!text) {
        return NULL;
    }
    char *copy = strdup(text);
    if (!copy) {
        *failed = true;
    }
    return copy;
}

nimbus_stream_session_t *nimbus__stream_session_new(nimbus_stream_shared_t *shared,
                                                    const nimbus_credentials_t *creds,
                                                    const nimbus_stream_out_t *out)
{
    nimbus_stream_session_t *s = calloc(1, sizeof *s);
    if (!s) {
        return NULL;
    }
    bool failed = false;
    LIST_INIT(&s->subs);
    STAILQ_INIT(&s->calls);
    LIST_INIT(&s->results);
    s->shared = shared;
    s->out = *out;
    s->creds.kind = creds ? creds->kind : NIMBUS_CRED_NONE;
    s->cred_name = dup_or_null(creds ? creds->name : NULL, &failed);
    s->cred_secret = dup_or_null(creds ? creds->secret : NULL, &failed);
    s->creds.name = s->cred_name;
    s->creds.secret = s->cred_secret;
    nimbus_error_t err;
    (void)nimbus_core_authorize_as(nimbus_service_core(shared->svc), &s->creds, NIMBUS_ROLE_READ,
                                   s->key, &err);
    if (failed) {
        nimbus__stream_session_free(s);
        return NULL;
    }
    return s;
}

static void subscription_free(subscription_t *sub)
{
    if (!sub) {
        return;
    }
    for (size_t i = 0; i < sub->station_count; i++) {
        free(sub->stations[i]);
    }
    free(sub->stations);
    free(sub->prefix);
    free(sub->id);
    free(sub);
}

/* Unlinks sub from s, frees it, and tells the worker when it was the last
 * subscription of the worker. */
static void subscription_remove(nimbus_stream_session_t *s, subscription_t *sub)
{
    LIST_REMOVE(sub, link);
    nimbus_core_subscription_release(nimbus_service_core(s->shared->svc), sub->holder);
    if (sub->heartbeat_us) {
        s->heartbeat_subs--;
    }
    subscription_free(sub);
    s->sub_count--;
    nimbus_stream_shared_t *sh = s->shared;
    if (--sh->subscriptions == 0 && sh->activate) {
        sh->activate(sh->activate_arg, false);
    }
}

static void call_pop(nimbus_stream_session_t *s)
{
    pending_call_t *c = STAILQ_FIRST(&s->calls);
    STAILQ_REMOVE_HEAD(&s->calls, link);
    s->call_count--;
    nimbus__stream_call_free(c->call);
    free(c->id);
    free(c);
}

void nimbus__stream_session_set_client(nimbus_stream_session_t *s, const char *client)
{
    snprintf(s->client, sizeof s->client, "%s", client ? client : "?");
}

void nimbus__stream_session_set_request_id(nimbus_stream_session_t *s, const char *id)
{
    snprintf(s->request_id, sizeof s->request_id, "%s", id ? id : "");
}

void nimbus__stream_session_set_framing(nimbus_stream_session_t *s, nimbus_stream_framing_t framing)
{
    s->framing = framing;
}

void nimbus__stream_session_free(nimbus_stream_session_t *s)
{
    if (!s) {
        return;
    }
    while (!LIST_EMPTY(&s->subs)) {
        subscription_remove(s, LIST_FIRST(&s->subs));
    }
    while (!STAILQ_EMPTY(&s->calls)) {
        call_pop(s);
    }
    /* Answers still to come find no session and free themselves. */
    pending_result_t *pr;
    while ((pr = LIST_FIRST(&s->results)) != NULL) {
        LIST_REMOVE(pr, link);
        pr->s = NULL;
    }
    free(s->cred_name);
    free(s->cred_secret);
    free(s);
}

size_t nimbus__stream_session_subscription_count(const nimbus_stream_session_t *s)
{
    return s->sub_count;
}

static subscription_t *find_sub(nimbus_stream_session_t *s, const char *id)
{
    subscription_t *sub;
    LIST_FOREACH(sub, &s->subs, link)
    {
        if (strcmp(sub->id, id) == 0) {
            return sub;
        }
    }
    return NULL;
}

static bool id_in_use(nimbus_stream_session_t *s, const char *id)
{
    if (find_sub(s, id)) {
        return true;
    }
    pending_call_t *c;
    STAILQ_FOREACH(c, &s->calls, link)
    {
        if (strcmp(c->id, id) == 0) {
            return true;
        }
    }
    pending_result_t *pr;
    LIST_FOREACH(pr, &s->results, link)
    {
        if (strcmp(pr->id, id) == 0) {
            return true;
        }
    }
    return false;
}

/* ---- subscribe / unsubscribe ------------------------------------------ */

/* Reads "stations" as strings borrowed from list into a new array *ids
 * (left NULL when the member is absent or null: every station). Only the
 * types are checked here; the rules are the core's. */
static int read_stations(json_t *list, const char ***ids, size_t *count, nimbus_error_t *err)
{
    *ids = NULL;
    *count = 0;
    if (!list || json_is_null(list)) {
        return 0;
    }
    if (!json_is_array(list)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                "stations must be an array of station ids (omit it for every "
                                "station)");
    }
    size_t n = json_array_size(list);
    *ids = calloc(n ? n : 1, sizeof **ids);
    if (!*ids) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
    }
    *count = n;
    for (size_t i = 0; i < n; i++) {
        (*ids)[i] = json_string_value(json_array_get(list, i));
        if (!(*ids)[i]) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "stations[%zu] must be a string",
                                    i);
        }
    }
    return 0;
}

/* Copies the checked station filter into sub. */
static int copy_stations(subscription_t *sub, const char *const *ids, size_t count)
{
    if (!ids) {
        return 0;
    }
    sub->stations = calloc(count, sizeof *sub->stations);
    if (!sub->stations) {
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (!(sub->stations[i] = strdup(ids[i]))) {
            return -1;
        }
        sub->station_count = i + 1;
    }
    return 0;
}

/* The type of fromSeq; its range is the core's rule. */
static int read_from_seq(json_t *value, bool *has, int64_t *from, nimbus_error_t *err)
{
    *has = false;
    if (!value || json_is_null(value)) {
        return 0;
    }
    if (!json_is_integer(value)) {
        return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "fromSeq must be an integer >= 0");
    }
    *has = true;
    *from = json_integer_value(value);
    return 0;
}

/* The types of the 1.1 members snapshot (a boolean) and heartbeat (an
 * integer, 10.0 included); their rules are the core's. */
static int read_options(json_t *msg, nimbus_stream_subscribe_t *req, nimbus_error_t *err)
{
    json_t *snapshot = json_object_get(msg, "snapshot");
    json_t *heartbeat = json_object_get(msg, "heartbeat");
    if (snapshot && !json_is_null(snapshot)) {
        if (!json_is_boolean(snapshot)) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "snapshot must be true or false");
        }
        req->snapshot = json_is_true(snapshot);
    }
    if (heartbeat && !json_is_null(heartbeat)) {
        if (nimbus_json_integer(heartbeat, &req->heartbeat_s) != 0) {
            return nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT,
                                    "heartbeat must be an integer number of seconds");
        }
        req->has_heartbeat = true;
    }
    return 0;
}

static int make_prefix(nimbus_stream_session_t *s, subscription_t *sub)
{
    switch (s->framing) {
    case NIMBUS_STREAM_WS:
        sub->prefix =
            nimbus__stream_prefix_text("observation", sub->id, "observation", &sub->prefix_len);
        break;
    case NIMBUS_STREAM_NDJSON: {
        static const char ndjson[] = "{\"type\":\"observation\",\"observation\":";
        sub->prefix = strdup(ndjson);
        sub->prefix_len = sizeof ndjson - 1;
        break;
    }
    case NIMBUS_STREAM_SSE: {
        static const char sse[] = "event: observation\nid: ";
        sub->prefix = strdup(sse);
        sub->prefix_len = sizeof sse - 1;
        break;
    }
    }
    return sub->prefix ? 0 : -1;
}

/* `snapshot`: the latest observation of each station as of head. */
static int send_snapshot(nimbus_stream_session_t *s, subscription_t *sub,
                         const nimbus_observation_t *obs, size_t count, int64_t head)
{
    nimbus_json_writer_t w;
    nimbus_json_writer_init(&w);
    nimbus_json_object_begin(&w);
    nimbus_json_member_int(&w, "seq", head);
    nimbus_json_key(&w, "observations");
    nimbus_json_array_begin(&w);
    for (size_t i = 0; i < count; i++) {
        nimbus_json_write_object(&w, &nimbus_observation_type, &obs[i]);
    }
    nimbus_json_array_end(&w);
    nimbus_json_object_end(&w);
    size_t len;
    char *object = nimbus_json_writer_steal(&w, &len);
    if (!object) {
        return -1;
    }
    /* The members are the object's inside, without its braces. */
    object[len - 1] = '\0';
    int rc = send_event(s, sub, "snapshot", object + 1, head);
    free(object);
    return rc;
}

int nimbus__stream_session_subscribe(nimbus_stream_session_t *s, const char *id,
                                     const nimbus_stream_subscribe_t *req, nimbus_error_t *err)
{
    nimbus_stream_shared_t *sh = s->shared;
    bool active = false;
    subscription_t *sub = NULL;
    nimbus_observation_t *snap = NULL;
    size_t snap_count = 0;
    char holder[NIMBUS_COUNTS_NAME_MAX] = "";
    nimbus_core_t *core = nimbus_service_core(sh->svc);
    /* A subscribe is a call as far as the rate limit goes. */
    if (nimbus_core_admit(core, &s->creds, s->client, NIMBUS_ROLE_READ, err) != 0) {
        goto fail;
    }
    if (s->sub_count >= NIMBUS_STREAM_SUBSCRIPTIONS_MAX) {
        nimbus_error_set(err, NIMBUS_RESOURCE_EXHAUSTED, "at most %d subscriptions per connection",
                         NIMBUS_STREAM_SUBSCRIPTIONS_MAX);
        goto fail;
    }
    if (id_in_use(s, id)) {
        nimbus_error_set(err, NIMBUS_INVALID_ARGUMENT, "id is already in use on this connection");
        goto fail;
    }
    if (nimbus_service_subscribe_options_check(req->has_from_seq, req->snapshot, req->has_heartbeat,
                                               req->heartbeat_s, err) != 0) {
        goto fail;
    }
    /* The hub must copy for us before we read the head: a write published
     * before activation has a seq <= the head we read, so it is ours to
     * replay or skip, never to miss. */
    if (sh->subscriptions++ == 0 && sh->activate) {
        sh->activate(sh->activate_arg, true);
    }
    active = true;
    int64_t head = nimbus_core_head_seq(core);
    if (nimbus_service_subscribe_check(sh->svc, &s->creds, req->stations, req->station_count,
                                       req->has_from_seq ? &req->from_seq : NULL, head, err) != 0) {
        goto fail;
    }
    if (nimbus_core_subscription_hold(core, &s->creds, s->client, holder, err) != 0) {
        goto fail;
    }
    /* The snapshot's own seq is the seam: everything up to it is in what
     * it read, everything after it comes live (the hub copies for us since
     * before the snapshot was read, so nothing after it is missed). */
    if (req->snapshot && nimbus_service_snapshot(sh->svc, req->stations, req->station_count, &snap,
                                                 &snap_count, &head, err) != 0) {
        goto fail;
    }
    sub = calloc(1, sizeof *sub);
    if (!sub || !(sub->id = strdup(id)) || make_prefix(s, sub) != 0 ||
        copy_stations(sub, req->stations, req->station_count) != 0) {
        nimbus_error_set(err, NIMBUS_INTERNAL, "out of memory");
        goto fail;
    }
    memcpy(sub->holder, holder, sizeof holder);
    sub->through = req->has_from_seq ? req->from_seq : head;
    sub->last_sent = sub->through;
    sub->state = req->has_from_seq && req->from_seq < head ? SUB_REPLAY : SUB_LIVE;
    if (req->has_heartbeat) {
        sub->heartbeat_us = (uint64_t)req->heartbeat_s * 1000000u;
        s->heartbeat_subs++;
    }
    LIST_INSERT_HEAD(&s->subs, sub, link);
    s->sub_count++;
    char members[40];
    snprintf(members, sizeof members, "\"seq\":%lld", (long long)head);
    int rc = send_event(s, sub, "subscribed", members, -1);
    if (rc == 0 && req->snapshot) {
        rc = send_snapshot(s, sub, snap, snap_count, head);
    }
    free(snap);
    return rc == 0 ? 0 : -2;
fail:
    if (active && --sh->subscriptions == 0 && sh->activate) {
        sh->activate(sh->activate_arg, false);
    }
    nimbus_core_subscription_release(core, holder);
    free(snap);
    subscription_free(sub);
    return -1;
}

static int handle_subscribe(nimbus_stream_session_t *s, const char *id, json_t *msg)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    nimbus_stream_subscribe_t req = {0};
    const char **stations = NULL;
    int rc = -1;
    if (read_from_seq(json_object_get(msg, "fromSeq"), &req.has_from_seq, &req.from_seq, &err) ==
            0 &&
        read_stations(json_object_get(msg, "stations"), &stations, &req.station_count, &err) == 0 &&
        read_options(msg, &req, &err) == 0) {
        req.stations = stations;
        rc = nimbus__stream_session_subscribe(s, id, &req, &err);
    }
    free(stations);
    if (rc == -1) {
        return send_error(s, id, &err);
    }
    return rc == 0 ? 0 : -1;
}

static int handle_unsubscribe(nimbus_stream_session_t *s, const char *id)
{
    subscription_t *sub = find_sub(s, id);
    if (!sub) {
        nimbus_error_t err;
        nimbus_error_set(&err, NIMBUS_NOT_FOUND, "no subscription with this id");
        return send_error(s, id, &err);
    }
    subscription_remove(s, sub);
    return send_message(s, "unsubscribed", id, NULL, NULL);
}

/* ---- call ---------------------------------------------------------------- */

/* The answer of a SINGLE call, now or after its write committed. */
static void single_answered(void *arg, int rc, char *text, size_t len, const nimbus_error_t *err)
{
    (void)len;
    pending_result_t *pr = arg;
    nimbus_stream_session_t *s = pr->s;
    if (s != NULL) {
        LIST_REMOVE(pr, link);
        s->call_count--;
        uint64_t before = s->sent;
        int sent = rc == 0 ? send_message(s, "result", pr->id, "result", text)
                           : send_error(s, pr->id, err);
        (void)sent; /* a connection that cannot take it is failing already */
        count_call(s, &pr->meta, rc == 0 ? NIMBUS_OK : err->code, s->sent - before);
        if (s->out.flush) {
            s->out.flush(s->out.arg);
        }
    }
    free(text);
    free(pr->id);
    free(pr);
}

static int handle_call(nimbus_stream_session_t *s, const char *id, json_t *msg)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    const char *op = json_string_value(json_object_get(msg, "op"));
    json_t *params = json_object_get(msg, "params");
    const nimbus_op_info_t *info = op ? nimbus_op_find(op) : NULL;
    call_meta_t meta = {info ? (int)info->op : -1, nimbus_metrics_now_us(), s->message_len,
                        s->sent};
    if (!op) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "op must be an operation name");
    } else if (params && !json_is_null(params) && !json_is_object(params)) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "params must be an object");
    } else if (id_in_use(s, id)) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "id is already in use on this connection");
    } else if (s->call_count >= NIMBUS_STREAM_CALLS_MAX) {
        nimbus_error_set(&err, NIMBUS_RESOURCE_EXHAUSTED,
                         "at most %d calls in flight per connection", NIMBUS_STREAM_CALLS_MAX);
    }
    if (err.code != NIMBUS_OK) {
        int rc = send_error(s, id, &err);
        count_call(s, &meta, err.code, s->sent - meta.sent_before);
        return rc;
    }
    if (json_is_null(params)) {
        params = NULL;
    }
    /* Registered before the call starts: a read answers inside it. */
    pending_result_t *pr = calloc(1, sizeof *pr);
    if (!pr || !(pr->id = strdup(id))) {
        free(pr);
        return -1;
    }
    pr->s = s;
    pr->meta = meta;
    LIST_INSERT_HEAD(&s->results, pr, link);
    s->call_count++;
    nimbus_stream_call_t *call = NULL;
    int rc = nimbus__stream_call_start(s->shared->svc, &s->creds, s->client, op, params,
                                       single_answered, pr, &call, &err);
    if (rc != 0 || call != NULL) {
        /* Not a SINGLE call after all, or refused: no answer will come. */
        LIST_REMOVE(pr, link);
        s->call_count--;
        free(pr->id);
        free(pr);
    }
    if (rc != 0) {
        int sent = send_error(s, id, &err);
        count_call(s, &meta, err.code, s->sent - meta.sent_before);
        return sent;
    }
    if (call == NULL) {
        return 0; /* answered, or to be answered once committed */
    }
    pending_call_t *c = calloc(1, sizeof *c);
    if (!c || !(c->id = strdup(id))) {
        free(c);
        nimbus__stream_call_free(call);
        return -1;
    }
    c->call = call;
    c->meta = meta;
    STAILQ_INSERT_TAIL(&s->calls, c, link);
    s->call_count++;
    return 0;
}

/* ---- dispatch ------------------------------------------------------------ */

/* The client's id, if it is a string of 1..NIMBUS_STREAM_ID_MAX characters. */
static const char *read_id(json_t *msg)
{
    json_t *id = json_object_get(msg, "id");
    const char *text = json_string_value(id);
    if (!text) {
        return NULL;
    }
    long chars = nimbus_utf8_length(text, json_string_length(id));
    if (chars < 1 || chars > NIMBUS_STREAM_ID_MAX || strlen(text) != json_string_length(id)) {
        return NULL;
    }
    return text;
}

/* Members each message type may carry. A stranger is refused, as in
 * every JSON the API reads: a misspelt "fromseq" must not silently mean
 * "live from now". */
static const char *const subscribe_members[] = {"type",     "id",        "stations", "fromSeq",
                                                "snapshot", "heartbeat", NULL};
static const char *const unsubscribe_members[] = {"type", "id", NULL};
static const char *const call_members[] = {"type", "id", "op", "params", NULL};

int nimbus__stream_session_on_text(nimbus_stream_session_t *s, const char *text, size_t len)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    s->message_len = len;
    json_t *msg = nimbus_json_parse(text, len, &err);
    if (!msg) {
        return send_error(s, NULL, &err);
    }
    int rc;
    const char *id = json_is_object(msg) ? read_id(msg) : NULL;
    const char *type = json_string_value(json_object_get(msg, "type"));
    if (!json_is_object(msg)) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "a message must be a JSON object");
        rc = send_error(s, NULL, &err);
    } else if (!type) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "type must be a string");
        rc = send_error(s, id, &err);
    } else if (!id) {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT, "id must be a string of 1-%d characters",
                         NIMBUS_STREAM_ID_MAX);
        rc = send_error(s, NULL, &err);
    } else if (strcmp(type, "subscribe") == 0) {
        rc = nimbus_json_check_members(msg, "subscribe", subscribe_members, &err) != 0
                 ? send_error(s, id, &err)
                 : handle_subscribe(s, id, msg);
    } else if (strcmp(type, "unsubscribe") == 0) {
        rc = nimbus_json_check_members(msg, "unsubscribe", unsubscribe_members, &err) != 0
                 ? send_error(s, id, &err)
                 : handle_unsubscribe(s, id);
    } else if (strcmp(type, "call") == 0) {
        rc = nimbus_json_check_members(msg, "call", call_members, &err) != 0
                 ? send_error(s, id, &err)
                 : handle_call(s, id, msg);
    } else {
        nimbus_error_set(&err, NIMBUS_INVALID_ARGUMENT,
                         "unknown message type (use subscribe, unsubscribe or call)");
        rc = send_error(s, id, &err);
    }
    json_decref(msg);
    return rc;
}

/* ---- live, lost, replay ---------------------------------------------------- */

static bool sub_matches(const subscription_t *sub, const char *station_id)
{
    if (!sub->stations) {
        return true;
    }
    for (size_t i = 0; i < sub->station_count; i++) {
        if (strcmp(sub->stations[i], station_id) == 0) {
            return true;
        }
    }
    return false;
}

int nimbus__stream_session_on_live(nimbus_stream_session_t *s, const nimbus_observation_t *obs,
                                   const char *const *json, size_t count)
{
    subscription_t *sub;
    LIST_FOREACH(sub, &s->subs, link)
    {
        for (size_t i = 0; i < count && sub->state == SUB_LIVE; i++) {
            if (obs[i].seq <= sub->through) {
                continue; /* replayed already, or before the subscription */
            }
            if (sub_matches(sub, obs[i].station_id)) {
                if (!has_room(s)) {
                    /* No buffering for a slow reader: it is caught up from
                     * storage once it drains. */
                    sub->state = SUB_REPLAY;
                    break;
                }
                if (send_observation(s, sub, json[i], strlen(json[i]), obs[i].seq) != 0) {
                    return -1;
                }
                sub->last_sent = obs[i].seq;
            }
            sub->through = obs[i].seq;
        }
    }
    return 0;
}

void nimbus__stream_session_on_lost(nimbus_stream_session_t *s, int64_t lost_through)
{
    subscription_t *sub;
    LIST_FOREACH(sub, &s->subs, link)
    {
        if (sub->state == SUB_LIVE && sub->through < lost_through) {
            sub->state = SUB_REPLAY;
        }
    }
}

/* Ends sub with `lagged` (storage failed while catching it up), naming the
 * last seq sent: every matching observation up to `through` was sent, so
 * resuming with fromSeq = last_sent misses nothing and repeats nothing. */
static int end_lagged(nimbus_stream_session_t *s, subscription_t *sub)
{
    char members[40];
    snprintf(members, sizeof members, "\"lastSeq\":%lld", (long long)sub->last_sent);
    int rc = send_event(s, sub, "lagged", members, -1);
    subscription_remove(s, sub);
    nimbus_metrics_stream_lagged(nimbus_service_metrics(s->shared->svc));
    /* An HTTP framing carries one subscription: `lagged` ends the response
     * (the client resumes with Last-Event-ID or fromSeq). */
    if (s->out.finish) {
        s->out.finish(s->out.arg);
    }
    return rc;
}

/* One storage read for a REPLAY subscription. Returns 1 when sub was ended
 * (lagged), 0 otherwise, -1 when the connection failed. */
static int replay_batch(nimbus_stream_session_t *s, subscription_t *sub)
{
    nimbus_error_t err;
    nimbus_observation_t *obs = NULL;
    size_t n = 0;
    nimbus_metrics_stream_replay(nimbus_service_metrics(s->shared->svc),
                                 nimbus_core_head_seq(nimbus_service_core(s->shared->svc)) -
                                     sub->through);
    if (nimbus_service_observations_since(s->shared->svc, (const char *const *)sub->stations,
                                          sub->station_count, sub->through,
                                          NIMBUS_STREAM_REPLAY_BATCH, &obs, &n, &err) != 0) {
        free(obs);
        return end_lagged(s, sub) < 0 ? -1 : 1;
    }
    size_t i = 0;
    for (; i < n && has_room(s); i++) {
        size_t len;
        char *json = nimbus_json_observation_text(&obs[i], &len);
        int rc = json ? send_observation(s, sub, json, len, obs[i].seq) : -1;
        free(json);
        if (rc != 0) {
            free(obs);
            return -1;
        }
        sub->through = sub->last_sent = obs[i].seq;
    }
    if (i == n && n < NIMBUS_STREAM_REPLAY_BATCH) {
        /* A short read saw everything committed, which includes all the
         * worker has taken from the hub: the rest comes live. */
        if (s->shared->head > sub->through) {
            sub->through = s->shared->head;
        }
        sub->state = SUB_LIVE;
    }
    free(obs);
    return 0;
}

static int pump_replays(nimbus_stream_session_t *s)
{
    int reads = 0;
    bool progressed = true;
    while (progressed && has_room(s) && reads < NIMBUS_STREAM_PUMP_READS) {
        progressed = false;
        subscription_t *next;
        for (subscription_t *sub = LIST_FIRST(&s->subs); sub && has_room(s); sub = next) {
            next = LIST_NEXT(sub, link);
            if (sub->state != SUB_REPLAY) {
                continue;
            }
            if (replay_batch(s, sub) < 0) {
                return -1;
            }
            progressed = true;
            reads++;
        }
    }
    return 0;
}

static int pump_calls(nimbus_stream_session_t *s)
{
    for (int items = 0; !STAILQ_EMPTY(&s->calls) && has_room(s) && items < NIMBUS_STREAM_PUMP_ITEMS;
         items++) {
        pending_call_t *c = STAILQ_FIRST(&s->calls);
        nimbus_error_t err;
        nimbus_error_clear(&err);
        char *item = NULL;
        int got = nimbus__stream_call_next(c->call, &item, &err);
        int rc;
        uint64_t before = s->sent;
        if (got == 1) {
            rc = send_message(s, "item", c->id, "item", item);
            c->sent += s->sent - before;
            free(item);
            if (rc != 0) {
                return -1;
            }
            continue;
        }
        if (got == 0) {
            char count[24];
            snprintf(count, sizeof count, "%zu", nimbus__stream_call_count(c->call));
            rc = send_message(s, "done", c->id, "count", count);
        } else {
            rc = send_error(s, c->id, &err);
        }
        count_call(s, &c->meta, got == 0 ? NIMBUS_OK : err.code, c->sent + s->sent - before);
        call_pop(s);
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

int nimbus__stream_session_pump(nimbus_stream_session_t *s)
{
    if (pump_replays(s) != 0 || pump_calls(s) != 0) {
        return -1;
    }
    if (!STAILQ_EMPTY(&s->calls)) {
        return 1;
    }
    subscription_t *sub;
    LIST_FOREACH(sub, &s->subs, link)
    {
        if (sub->state == SUB_REPLAY) {
            return 1;
        }
    }
    return 0;
}

uint64_t nimbus__stream_session_heartbeats(nimbus_stream_session_t *s, uint64_t now_us)
{
    if (s->heartbeat_subs == 0) {
        return 0;
    }
    uint64_t next = UINT64_MAX - 1;
    subscription_t *sub;
    LIST_FOREACH(sub, &s->subs, link)
    {
        if (!sub->heartbeat_us) {
            continue;
        }
        uint64_t due = sub->quiet_since_us + sub->heartbeat_us;
        if (due <= now_us) {
            /* Only a LIVE subscription owes nothing, so only its `through`
             * is safe to resume from; one that is catching up sends
             * observations (or waits for room), which is no quiet. */
            if (sub->state == SUB_LIVE && has_room(s)) {
                char members[40];
                snprintf(members, sizeof members, "\"seq\":%lld", (long long)sub->through);
                if (send_event(s, sub, "heartbeat", members, sub->through) != 0) {
                    return UINT64_MAX;
                }
            }
            sub->quiet_since_us = now_us;
            due = now_us + sub->heartbeat_us;
        }
        if (due - now_us < next) {
            next = due - now_us;
        }
    }
    return next;
}
