/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: the WebSocket stream below the socket. The input is
 * what a client sends after the handshake; it is cut into frames by the
 * frame layer ws_conn.c runs before wslay (json_api/stream/ws_frame.c:
 * nimbus__ws_frame_size, nimbus__ws_fragment_open), text messages are
 * put together from their fragments and UTF-8-checked
 * (nimbus__ws_text_valid), and each valid one goes to a stream session
 * (stream_session.c) on a real core on a temporary SQLite database, as
 * ws_conn.c hands them over; the session's answers are collected and its
 * replays and streamed calls pumped until idle. The bytes between the
 * frame layer and the session (unmasking, reassembly) are this harness's
 * own, as wslay's are in the server: ws_conn.c itself needs an evhttp
 * connection to take over and is covered by ws_interop and ws_idle.
 *
 * Properties checked besides the sanitizers':
 *   - frame sizes agree with an independent reading of RFC 6455 5.2 (0
 *     while the header is incomplete, -1 for a fragmented or long control
 *     frame, a one-byte close body or a 64-bit length with its top bit
 *     set), and a prefix of a frame is never given another size than the
 *     whole (0 or the same);
 *   - the fragment state agrees with 5.4's rules;
 *   - the UTF-8 check agrees with an independent decoder (no overlongs,
 *     surrogates or code points past U+10FFFF);
 *   - the server's own header for every payload length read back is the
 *     shortest form and reads back as that length;
 *   - every message the session sends is a JSON object whose type is one
 *     of the contract's server messages, whose id is null (an error) or an
 *     id the client sent, and an error's code is one of the contract's and
 *     never INTERNAL, with a message; the session never fails a message
 *     (on_text returns 0) and holds at most
 *     NIMBUS_STREAM_SUBSCRIPTIONS_MAX subscriptions.
 *
 * Seeds: tests/fuzz/corpus/ws_frame/; dictionary: ws_frame.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_tmpdir.h"

#include <jansson.h>

#include "nimbus_service.h"
#include "stream_session.h"
#include "ws_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[4096];
static nimbus_core_t *core;
static nimbus_stream_shared_t shared;
static const nimbus_credentials_t admin = {NIMBUS_CRED_TRUSTED, NULL, NULL};

/* Ids the client sent in this input (string ids of messages that parsed). */
#define IDS_MAX 256
static char *ids[IDS_MAX];
static size_t id_count;
static size_t queued;

static void die(const char *why, const char *text, size_t len)
{
    fprintf(stderr, "fuzz_ws_frame: %s\n  [%.*s]\n", why, (int)(len > 2000 ? 2000 : len),
            text ? text : "");
    abort();
}

static void setup(void)
{
    fuzz_tmpdir("ws", dir, sizeof dir);
    char path[4200];
    snprintf(path, sizeof path, "%s/fuzz.db", dir);
    nimbus_error_t err;
    core = nimbus_core_open(path, &err);
    /* No wake function: writes are waited for inside the call. */
    shared.svc = core ? nimbus_service_new(core, &err) : NULL;
    if (!shared.svc) {
        fprintf(stderr, "fuzz_ws_frame: %s\n", err.message);
        abort();
    }
    shared.queue_max = 64 * 1024;
    /* A station and an observation for subscriptions and calls to find. */
    nimbus_request_t req;
    nimbus_response_t res;
    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    nimbus_station_t *st = &req.create_station.station;
    snprintf(st->id, sizeof st->id, "st-1");
    snprintf(st->name, sizeof st->name, "Harbour");
    snprintf(st->city, sizeof st->city, "Wellington");
    snprintf(st->country, sizeof st->country, "NZ");
    if (nimbus_service_call(shared.svc, &admin, NIMBUS_OP_CreateStation, &req, &res, &err) != 0) {
        fprintf(stderr, "fuzz_ws_frame: %s\n", err.message);
        abort();
    }
    nimbus_response_cleanup(NIMBUS_OP_CreateStation, &res);
}

static bool known_id(const char *id)
{
    for (size_t i = 0; i < id_count; i++) {
        if (strcmp(ids[i], id) == 0) {
            return true;
        }
    }
    return false;
}

static int out_send(void *arg, const nimbus_stream_part_t *parts, size_t count)
{
    (void)arg;
    size_t len = 0;
    for (size_t i = 0; i < count; i++) {
        len += parts[i].len;
    }
    char *text = malloc(len + 1);
    len = 0;
    for (size_t i = 0; i < count; i++) {
        memcpy(text + len, parts[i].data, parts[i].len);
        len += parts[i].len;
    }
    text[len] = '\0';
    queued += len;
    if (getenv("FUZZ_WS_SHOW")) { /* to see what a seed gets */
        fprintf(stderr, "%s\n", text);
    }
    json_error_t jerr;
    json_t *m = json_loadb(text, len, 0, &jerr);
    if (!json_is_object(m)) {
        die("the session sent what is not a JSON object", text, len);
    }
    static const char *const types[] = {"subscribed",   "observation", "snapshot", "heartbeat",
                                        "unsubscribed", "item",        "done",     "result",
                                        "error",        "lagged",      NULL};
    const char *type = json_string_value(json_object_get(m, "type"));
    size_t t = 0;
    while (type && types[t] && strcmp(types[t], type) != 0) {
        t++;
    }
    if (!type || !types[t]) {
        die("a message type the contract does not have", text, len);
    }
    json_t *id = json_object_get(m, "id");
    bool error = strcmp(type, "error") == 0;
    if (!id || (json_is_null(id) && !error) ||
        (!json_is_null(id) && (!json_is_string(id) || !known_id(json_string_value(id))))) {
        die("a message whose id the client did not send", text, len);
    }
    if (error) {
        const char *code = json_string_value(json_object_get(m, "code"));
        const char *message = json_string_value(json_object_get(m, "message"));
        bool known = false;
        for (int c = 1; code && c < NIMBUS_CODE_COUNT; c++) {
            known = known || strcmp(code, nimbus_code_name((nimbus_code_t)c)) == 0;
        }
        if (!known || strcmp(code, "INTERNAL") == 0 || !message || !*message) {
            die("an error without a contract code other than INTERNAL, or a message", text, len);
        }
    }
    json_decref(m);
    free(text);
    return 0;
}

static size_t out_queued(void *arg)
{
    (void)arg;
    return queued;
}

/* ---- RFC 6455, independently -------------------------------------- */

/* The size of the frame at h (avail bytes): 0 incomplete, -1 violation. */
static int64_t frame_size(const unsigned char *h, size_t avail, bool *minimal)
{
    *minimal = true;
    if (avail < 2) {
        return 0;
    }
    bool fin = h[0] >> 7;
    unsigned op = h[0] & 15, l7 = h[1] & 127;
    bool control = op >= 8;
    if (control && (!fin || l7 > 125)) {
        return -1;
    }
    if (op == 8 && l7 == 1) {
        return -1;
    }
    size_t ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
    size_t head = 2 + ext + ((h[1] >> 7) ? 4 : 0);
    if (avail < head) {
        return 0;
    }
    uint64_t len = l7;
    if (ext == 2) {
        len = (uint64_t)h[2] * 256 + h[3];
        *minimal = len >= 126;
    } else if (ext == 8) {
        len = 0;
        for (int i = 0; i < 8; i++) {
            len = len * 256 + h[2 + i];
        }
        if (h[2] & 0x80) {
            return -1;
        }
        *minimal = len > 0xffff;
    }
    if (len >> 62) {
        return -1; /* the layer's own bound: no message is 2^62 bytes long */
    }
    return (int64_t)(head + len);
}

static bool utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned long cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            k = 1, cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2, cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3, cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k) {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += k + 1;
    }
    return true;
}

static void check_server_header(uint64_t len)
{
    unsigned char h[NIMBUS_WS_SERVER_HEADER_MAX];
    size_t n = nimbus__ws_frame_header(h, NIMBUS_WS_OP_TEXT, len);
    size_t want = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
    if (n != want || h[0] != (0x80 | NIMBUS_WS_OP_TEXT) || (h[1] & 0x80)) {
        die("the server's header is not the shortest unmasked FIN text header", NULL, 0);
    }
    if (nimbus__ws_frame_size(h, n) != (int64_t)(n + len)) {
        die("the server's header does not read back as its length", NULL, 0);
    }
}

/* A complete text message for the session: the ids it names are noted. */
static void deliver(nimbus_stream_session_t *s, const char *text, size_t len)
{
    json_error_t jerr;
    json_t *m = json_loadb(text, len, 0, &jerr);
    const char *id = json_string_value(json_object_get(m, "id"));
    if (id && id_count < IDS_MAX && !known_id(id)) {
        ids[id_count++] = strdup(id);
    }
    json_decref(m);
    if (nimbus__stream_session_on_text(s, text, len) != 0) {
        die("the session failed a message", text, len);
    }
    for (int i = 0; i < 64; i++) {
        queued = 0; /* the client reads everything */
        int rc = nimbus__stream_session_pump(s);
        if (rc < 0) {
            die("the session failed while pumping", text, len);
        }
        if (rc == 0) {
            break;
        }
    }
    if (nimbus__stream_session_subscription_count(s) > NIMBUS_STREAM_SUBSCRIPTIONS_MAX) {
        die("more subscriptions than a connection may hold", text, len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!shared.svc) {
        setup();
    }
    const nimbus_stream_out_t out = {out_send, out_queued, NULL, NULL, NULL};
    nimbus_stream_session_t *s = nimbus__stream_session_new(&shared, &admin, &out);
    if (!s) {
        return 0;
    }
    nimbus__stream_session_set_client(s, "127.0.0.1");
    unsigned char *msg = NULL;
    size_t msg_len = 0;
    bool open = false, text_msg = false;
    size_t at = 0;
    while (at < size) {
        const unsigned char *h = data + at;
        size_t avail = size - at;
        bool minimal;
        int64_t got = nimbus__ws_frame_size(h, avail);
        int64_t want = frame_size(h, avail, &minimal);
        /* A longer length form than needed may be refused (RFC 6455 5.2
         * wants the shortest); the size is otherwise the oracle's. */
        if (got != want && !(got == -1 && !minimal)) {
            die("a frame size other than RFC 6455's", (const char *)h, avail < 14 ? avail : 14);
        }
        for (size_t k = 0; k < avail && k < NIMBUS_WS_FRAME_HEADER_MAX; k++) {
            int64_t part = nimbus__ws_frame_size(h, k);
            if (part != 0 && part != got) {
                die("a frame's prefix got another size", (const char *)h, k);
            }
        }
        if (got <= 0 || (uint64_t)got > avail) {
            break; /* 1002, or the rest has not arrived */
        }
        bool masked = h[1] >> 7;
        if (!masked) {
            break; /* a client's frame must be masked: wslay closes with 1002 */
        }
        unsigned op = h[0] & 15;
        bool fin = h[0] >> 7;
        if (h[0] & 0x70) {
            break; /* reserved bits: 1002 */
        }
        size_t l7 = h[1] & 127;
        size_t head = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
        const unsigned char *key = h + head;
        size_t plen = (size_t)got - head - 4;
        check_server_header(plen);
        bool was_open = open;
        open = nimbus__ws_fragment_open(h[0], was_open);
        bool want_open = (op == 1 || op == 2) ? !fin : op == 0 ? (was_open && !fin) : was_open;
        if (open != want_open) {
            die("fragment state other than RFC 6455 5.4's", (const char *)h, 2);
        }
        at += (size_t)got;
        if (op >= 8) {
            if (op == 8) {
                break; /* close */
            }
            continue; /* ping, pong */
        }
        if ((op == 0 && !was_open) || (op != 0 && was_open) || (op != 0 && op != 1 && op != 2)) {
            break; /* a continuation of nothing, a new message mid-message: 1002 */
        }
        if (op != 0) {
            text_msg = op == 1;
            msg_len = 0;
        }
        unsigned char *grown = realloc(msg, msg_len + plen + 1);
        if (!grown) {
            break;
        }
        msg = grown;
        for (size_t i = 0; i < plen; i++) {
            msg[msg_len + i] = key[4 + i] ^ key[i % 4];
        }
        msg_len += plen;
        if (!fin) {
            continue;
        }
        if (!text_msg) {
            break; /* binary: 1003 */
        }
        bool valid = nimbus__ws_text_valid(msg, msg_len);
        if (valid != utf8_valid(msg, msg_len)) {
            die("the UTF-8 check disagrees with the oracle", (const char *)msg, msg_len);
        }
        if (!valid) {
            break; /* 1007 */
        }
        deliver(s, (const char *)msg, msg_len);
    }
    free(msg);
    nimbus__stream_session_free(s);
    for (size_t i = 0; i < id_count; i++) {
        free(ids[i]);
    }
    id_count = 0;
    queued = 0;
    return 0;
}
