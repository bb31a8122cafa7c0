/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The JSON layer of Nimbus, shared by REST and the stream and knowing no
 * HTTP: the one JSON writer, the contract's types to JSON and back driven
 * by the field tables (nimbus_fields.h), the one renderer of problem+json,
 * and the table-driven call that turns a JSON params object into a core
 * operation and its response into JSON.
 *
 * Output goes through nimbus_json_writer_t into one contiguous buffer,
 * which the caller takes whole: doubles are written as the core's
 * nimbus_double_format writes them (the same text SOAP sends) and no json_t
 * tree is built per response. Requests are read from their JSON text by our
 * own streaming reader (nimbus_json_request_read, json_read.c) straight
 * into the operation's request struct: strict RFC 8259 (UTF-8 checked,
 * duplicate member names, \u0000, unpaired surrogates, integers beyond
 * int64 and reals beyond a double refused), nesting deeper than
 * NIMBUS_JSON_MAX_DEPTH refused. jansson is kept for what is not a request
 * (the WebSocket message envelope, nimbus_json_parse): it has no streaming
 * interface, and its tree costs about 2 µs per observation of a batch.
 *
 * Input rules (the contract's): member names are the contract's camelCase
 * exactly; `null` means absent; an unknown member is INVALID_ARGUMENT naming
 * it; a member of the wrong JSON type is INVALID_ARGUMENT naming the field;
 * an integer may be written with a zero fraction (10.0); dateTimes are read
 * with nimbus_time_parse; output-only fields (`seq`) are accepted and
 * ignored. Only the JSON shape is checked here: every value rule is the
 * core's.
 *
 * Every function here is reentrant and touches no global state.
 */
#ifndef NIMBUS_JSON_H
#define NIMBUS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "nimbus_fields.h"
#include "nimbus_service.h"
#include "nimbus_util.h"

/* Deepest nesting of arrays and objects accepted in a request. The deepest
 * valid request ({"observations":[{...}]} inside a WebSocket message) needs
 * 4; the margin leaves room for future fields. Nesting beyond 2048 (jansson's
 * own limit, kept by our reader) is a syntax error. */
#define NIMBUS_JSON_MAX_DEPTH 16
/* Most values (scalars, arrays, objects) in a message parsed into a tree
 * (nimbus_json_parse: the WebSocket envelope and its params). The largest
 * valid message, a RecordObservations call of NIMBUS_RECORD_BATCH_MAX
 * observations with every field, holds about 12,000; jansson's cost per
 * value is what this bounds (see docs/security.md). */
#define NIMBUS_JSON_MAX_VALUES 20000

/* ---- parsing (jansson: the WebSocket envelope) --------------------------- */

/*
 * Parses text (len bytes, need not be NUL-terminated) as one JSON value with
 * JSON_REJECT_DUPLICATES, after a linear scan has checked its size in
 * values (NIMBUS_JSON_MAX_VALUES, so jansson never builds a larger tree),
 * and checks its depth. Returns a new reference the
 * caller releases with json_decref, or NULL with INVALID_ARGUMENT in err
 * whose message carries jansson's line and column ("malformed JSON at line 1,
 * column 7: ..."). For messages that are not requests; a request is read
 * from its text by nimbus_json_request_read.
 */
json_t *nimbus_json_parse(const char *text, size_t len, nimbus_error_t *err);

/* obj must be an object whose member names all appear in allowed
 * (NULL-terminated); else INVALID_ARGUMENT: "WHAT must be a JSON object",
 * or "WHAT: unknown member "x"" naming the first stranger. */
int nimbus_json_check_members(json_t *obj, const char *what, const char *const *allowed,
                              nimbus_error_t *err);

/* The one reading of an integer, for every protocol's JSON: a JSON integer,
 * or a real with no fraction (10.0, which people write), within int64.
 * Returns 0, or -1 when v is not one. */
int nimbus_json_integer(json_t *v, int64_t *out);

/* Its rule for a real (nimbus_json_request_read's too): d is an integer
 * when it has no fraction and lies within +-9.2e18. Returns 0 with *out, or
 * -1. */
int nimbus_json_real_integer(double d, int64_t *out);

/* ---- the writer ------------------------------------------------------- */

#define NIMBUS_JSON_WRITER_DEPTH 32

/*
 * Writes one JSON text into a growable buffer; separators are placed for
 * the caller. A write that cannot grow the buffer marks the writer failed
 * and later writes do nothing, so a caller checks once, when it takes the
 * text. Strings are escaped as JSON requires; text that is not UTF-8 (a
 * client's bytes echoed in an error message) is written as U+FFFD, so the
 * output is always valid JSON.
 */
typedef struct nimbus_json_writer {
    nimbus_buf_t buf;
    unsigned depth;
    bool after_key;
    uint32_t has_member; /* bit d: the container at depth d holds a value */
} nimbus_json_writer_t;

void nimbus_json_writer_init(nimbus_json_writer_t *w);
void nimbus_json_writer_cleanup(nimbus_json_writer_t *w);
bool nimbus_json_writer_failed(const nimbus_json_writer_t *w);
/* The text written (heap, NUL-terminated, the caller frees it) and its
 * length; the writer is then empty. NULL when a write failed. */
char *nimbus_json_writer_steal(nimbus_json_writer_t *w, size_t *len);

void nimbus_json_object_begin(nimbus_json_writer_t *w);
void nimbus_json_object_end(nimbus_json_writer_t *w);
void nimbus_json_array_begin(nimbus_json_writer_t *w);
void nimbus_json_array_end(nimbus_json_writer_t *w);
void nimbus_json_key(nimbus_json_writer_t *w, const char *name);
void nimbus_json_string(nimbus_json_writer_t *w, const char *s); /* NULL writes null */
void nimbus_json_int(nimbus_json_writer_t *w, int64_t v);
void nimbus_json_double(nimbus_json_writer_t *w, double v); /* nimbus_double_format */
void nimbus_json_bool(nimbus_json_writer_t *w, bool v);
void nimbus_json_null(nimbus_json_writer_t *w);
/* A value already written as JSON text (e.g. an encoded observation). */
void nimbus_json_raw(nimbus_json_writer_t *w, const char *json, size_t len);

/* Member shorthands: key then value. */
void nimbus_json_member_string(nimbus_json_writer_t *w, const char *key, const char *s);
void nimbus_json_member_int(nimbus_json_writer_t *w, const char *key, int64_t v);

/* ---- contract types <-> JSON ------------------------------------------- */

/* Writes the struct at `value` as a JSON object with the fields of `type`
 * in table order, absent optional fields omitted. */
void nimbus_json_write_object(nimbus_json_writer_t *w, const nimbus_type_t *type,
                              const void *value);

/* Frees the arrays a request read into the struct at `value` (of `type`)
 * holds, and sets them to NULL. */
void nimbus_json_object_cleanup(const nimbus_type_t *type, void *value);

/* ---- JSON Schemas of the contract's data (json_schema.c) ---------------- */

/* Schema options. */
#define NIMBUS_JSON_SCHEMA_CLOSED 0x1u      /* additionalProperties: false (types clients send) */
#define NIMBUS_JSON_SCHEMA_ID_OPTIONAL 0x2u /* `id` not required (UpdateStation's body) */

/* {"$ref": prefix + name}, the reference every API document writes
 * (prefix e.g. "#/components/schemas/"). */
void nimbus_json_schema_ref(nimbus_json_writer_t *w, const char *prefix, const char *name);

/* The JSON Schema of field f's value: its kind and rule; OBJECT and ARRAY
 * items as {"$ref": ref_prefix + type name}, e.g. "#/components/schemas/". */
void nimbus_json_schema_field(nimbus_json_writer_t *w, const nimbus_field_t *f,
                              const char *ref_prefix);

/* The JSON Schema of an object of `type`: its required fields and their
 * schemas, in table order, leaving out the fields named in skip and
 * requiring none of those named in optional (both NULL-terminated, or
 * NULL). A CLOSED (input) schema lets every field that is not required be
 * null, as the decoders take null for absent; an open (answer) schema
 * requires the lists, which answers always carry. */
void nimbus_json_schema_object(nimbus_json_writer_t *w, const nimbus_type_t *type,
                               const char *ref_prefix, unsigned opts, const char *const *skip,
                               const char *const *optional);

/* The contract's types an API document describes: every type an
 * operation's request or response holds, and the types those hold, each
 * once, those clients send first, in table order. A type is `closed`
 * (NIMBUS_JSON_SCHEMA_CLOSED: an unknown member is refused) when a client
 * sends it. Writes up to max into types/closed and returns how many there
 * are. The OpenAPI and AsyncAPI documents both list their components from
 * this, so they describe the same types the same way. */
size_t nimbus_json_schema_types(const nimbus_type_t **types, bool *closed, size_t max);

/* The JSON Schema of an `error`'s or a problem's `code`: a string, one of
 * the contract's codes. */
void nimbus_json_schema_code(nimbus_json_writer_t *w);

/* ---- errors ------------------------------------------------------------ */

/*
 * The one renderer of problem+json (RFC 9457) for a core error: writes
 * {"type":"urn:nimbus:problem:<code>","title":...,"status":...,"detail":...,
 * "code":...} and returns the HTTP status to send with it: `status` when it
 * is one HTTP needs and no code of the contract has (405, 415, 426; the
 * problem's `code` stays err's), else the code's own (NIMBUS_ERROR_CODES).
 */
#define NIMBUS_JSON_PROBLEM_TYPE "application/problem+json"
int nimbus_json_problem_write(nimbus_json_writer_t *w, const nimbus_error_t *err, int status);
/* The same with a "requestId" member after "code" (none when request_id is
 * NULL): the id the answer's X-Request-Id carries, for a user to quote. */
int nimbus_json_problem_write_id(nimbus_json_writer_t *w, const nimbus_error_t *err, int status,
                                 const char *request_id);

/* The problem `type` URI and the short title of code (static storage). */
const char *nimbus_json_problem_type(nimbus_code_t code);
const char *nimbus_json_problem_title(nimbus_code_t code);

/* ---- calls: JSON params -> operation -> JSON response ------------------ */

/* A decoded request of any operation. Strings read from JSON text are
 * copies the request owns (texts); strings set by whoever filled it
 * otherwise (REST's path and query) are borrowed from them. Arrays are
 * owned. nimbus_json_request_cleanup frees what it owns. */
struct nimbus_json_text;
typedef struct nimbus_json_request {
    nimbus_op_t op;
    nimbus_request_t u;
    struct nimbus_json_text *texts;
} nimbus_json_request_t;

/* Zeroes req for op. */
void nimbus_json_request_init(nimbus_json_request_t *req, nimbus_op_t op);
void nimbus_json_request_cleanup(nimbus_json_request_t *req);

/* How a JSON text maps onto an operation's request (nimbus_json_request_read).
 * Zero-initialise, then set what applies. */
typedef struct nimbus_json_target {
    /* Names the text's object in refusals: "params: unknown member "x"". */
    const char *container;
    /* The refusal of a text that is JSON but no object; NULL: "<container>
     * must be a JSON object". */
    const char *not_object;
    /* NULL: the text's members are the request's fields. Else the text is
     * the value of this one request field (REST: CreateStation's body is the
     * station), named as the field ("station.latitude ..."). */
    const char *value_field;
    /* Request fields that are not members of the text (REST's query
     * parameters): a member so named is unknown. NULL-terminated, or NULL. */
    const char *const *excluded;
    /* A member that may repeat a value the request has already, but not
     * contradict it ("stationId in the body must equal the path's"); it is
     * compared, not stored. NULL: none. */
    const char *equal_field;
    const char *equal_value;
    /* The request names its station already (REST: the path's id), so an
     * object flagged NIMBUS_FIELD_ID_FROM_REQUEST may leave its id out. */
    bool id_known;
    /* Every check of a field in table order, the length of CHARS text
     * included (REST's body members); else, as for every nested object,
     * the lengths after all other checks. */
    bool in_order;
} nimbus_json_target_t;

/* What nimbus_json_request_read returns besides 0. */
#define NIMBUS_JSON_READ_SYNTAX (-1) /* not JSON, nested too deeply, not an object */
#define NIMBUS_JSON_READ_FIELDS (-2) /* JSON, but not the request's members */

/*
 * Reads text (len bytes, need not be NUL-terminated; NULL reads as "") as
 * the members of req's operation's request, per target, into req->u (which
 * nimbus_json_request_init prepared; members the text does not name are
 * left as they are). One pass, no tree: strict RFC 8259, duplicate member
 * names refused, depth limited (NIMBUS_JSON_MAX_DEPTH), CPU and memory
 * linear in len. Returns 0; NIMBUS_JSON_READ_SYNTAX with err
 * ("malformed JSON at line L, column C: ...", "JSON nested deeper than 16
 * levels", "<container> must be a JSON object"; INTERNAL when memory ran
 * out); or NIMBUS_JSON_READ_FIELDS with err naming the member ("request
 * body: unknown member "x"", "observations[3].temperature must be a
 * number", "stationId is required"). A syntax error anywhere is answered
 * before any refusal of members, as when the text was parsed whole first.
 * Call nimbus_json_request_cleanup on req either way.
 */
int nimbus_json_request_read(const char *text, size_t len, const nimbus_json_target_t *target,
                             nimbus_json_request_t *req, nimbus_error_t *err);

/*
 * Reads params (a JSON object, or NULL for none; borrowed) into req as op's
 * request: its members are op's request fields (nimbus_op_table[op].request).
 * The WebSocket's `call` params come parsed with their envelope, so the
 * reader of nimbus_json_request_read takes its tokens from the tree instead
 * of a text: the same field tables and the same answers. Returns 0, or -1
 * with INVALID_ARGUMENT ("params: unknown member ...", "stationId is
 * required"); call nimbus_json_request_cleanup either way. req does not
 * borrow from params.
 */
int nimbus_json_request_decode(nimbus_op_t op, json_t *params, nimbus_json_request_t *req,
                               nimbus_error_t *err);

/* How a response is written. */
typedef enum nimbus_json_shape {
    /* The response fields as one object: {"station":{...}}, {} for
     * DeleteStation (the WebSocket `result`). */
    NIMBUS_JSON_FIELDS,
    /* The response's one field's value alone (REST: GetStation answers the
     * Station, GetWeather the WeatherReport). */
    NIMBUS_JSON_VALUE,
    /* Nothing (REST: DeleteStation's 204). */
    NIMBUS_JSON_NONE
} nimbus_json_shape_t;

/* Writes op's response in the given shape. */
void nimbus_json_write_response(nimbus_json_writer_t *w, nimbus_op_t op,
                                const nimbus_response_t *res, nimbus_json_shape_t shape);

/*
 * Runs req as caller (nimbus_service_call) and writes the response to w in
 * the given shape. Returns 0, or -1 with err (whatever the operation failed
 * with, or INTERNAL when the writer failed; w then holds nothing usable).
 */
int nimbus_json_run(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                    const nimbus_json_request_t *req, nimbus_json_shape_t shape,
                    nimbus_json_writer_t *w, nimbus_error_t *err);

/* The end of nimbus_json_run_async: rc 0 with the response written as JSON
 * (text: heap, len bytes, NUL-terminated, now the callee's to free), or -1
 * with err (valid only during the call; text NULL). */
typedef void (*nimbus_json_done_fn)(void *arg, int rc, char *text, size_t len,
                                    const nimbus_error_t *err);

/*
 * nimbus_json_run without waiting for a write to commit: runs req through
 * nimbus_service_call_async and hands the response, written in the given
 * shape, to done, at once (reads, refusals) or later on svc's thread (a
 * write, once committed). req may be cleaned up as soon as this returns.
 */
void nimbus_json_run_async(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                           const nimbus_json_request_t *req, nimbus_json_shape_t shape,
                           nimbus_json_done_fn done, void *arg);

/* nimbus_json_request_decode + nimbus_json_run. */
int nimbus_json_call(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                     json_t *params, nimbus_json_shape_t shape, nimbus_json_writer_t *w,
                     nimbus_error_t *err);

/*
 * Paging of a LIST operation, read from its field tables: the request's
 * `limit` (0 when the request has none, or none is given) for a caller that
 * caps a stream's total.
 */
int64_t nimbus_json_request_limit(const nimbus_json_request_t *req);

/*
 * One page of a LIST operation, item by item, for streaming without holding
 * every result. Runs req (whose `cursor` and `limit` fields, where op has
 * them, are replaced for this page by `cursor` (NULL: req's own) and `limit`
 * (> 0: that many)), then calls item(arg, text, len) once per result of the
 * response's list field with that result's JSON object text (len bytes,
 * also NUL-terminated; valid only during the call). A non-zero return from
 * item stops the walk and is returned as is, err untouched. Otherwise
 * writes the next page's cursor into next_cursor ("" on the last page, or
 * when op has no paging) and returns 0, or -1 with err on failure.
 */
typedef int (*nimbus_json_item_fn)(void *arg, const char *text, size_t len);
int nimbus_json_list_page(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                          const nimbus_json_request_t *req, const char *cursor, int64_t limit,
                          nimbus_json_item_fn item, void *arg, char next_cursor[NIMBUS_CURSOR_SIZE],
                          nimbus_error_t *err);

/* The JSON object text of one observation as the contract spells it (heap,
 * the caller frees it; NULL when out of memory), for live fan-out. */
char *nimbus_json_observation_text(const nimbus_observation_t *obs, size_t *len);

#endif
