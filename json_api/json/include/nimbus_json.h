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
 * tree is built per response. Input is parsed with jansson
 * (nimbus_json_parse), which rejects duplicate keys, NUL in strings,
 * invalid UTF-8, numbers out of range, and here nesting deeper than
 * NIMBUS_JSON_MAX_DEPTH.
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
 * 4; the margin leaves room for future fields. jansson's own limit is 2048. */
#define NIMBUS_JSON_MAX_DEPTH 16

/* ---- parsing ------------------------------------------------------------ */

/*
 * Parses text (len bytes, need not be NUL-terminated) as one JSON value with
 * JSON_REJECT_DUPLICATES, and checks its depth. Returns a new reference the
 * caller releases with json_decref, or NULL with INVALID_ARGUMENT in err
 * whose message carries jansson's line and column ("malformed JSON at line 1,
 * column 7: ...").
 */
json_t *nimbus_json_parse(const char *text, size_t len, nimbus_error_t *err);

/* obj must be an object whose member names all appear in allowed
 * (NULL-terminated); else INVALID_ARGUMENT: "WHAT must be a JSON object",
 * or "WHAT: unknown member "x"" naming the first stranger. */
int nimbus_json_check_members(json_t *obj, const char *what, const char *const *allowed,
                              nimbus_error_t *err);

/* As nimbus_json_check_members, with the field names of `type` allowed. */
int nimbus_json_check_fields(json_t *obj, const char *what, const nimbus_type_t *type,
                             nimbus_error_t *err);

/* The one reading of an integer, for every protocol's JSON: a JSON integer,
 * or a real with no fraction (10.0, which people write), within int64.
 * Returns 0, or -1 when v is not one. */
int nimbus_json_integer(json_t *v, int64_t *out);

/* Its rule for a real, for a reader that has no json_t: d is an integer
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

/*
 * Reads the JSON object obj into the struct at `value` (of `type`), which
 * the caller zeroed. `what` names the object in messages ("station",
 * "observations[3]"; "" for a request's own fields). Strings of STRING
 * fields are borrowed from obj (valid while obj is); arrays of ARRAY fields
 * are allocated and must be freed with nimbus_json_object_cleanup, even on
 * failure. Returns 0, or -1 with INVALID_ARGUMENT naming the member (or
 * INTERNAL when memory ran out).
 */
int nimbus_json_read_object(json_t *obj, const nimbus_type_t *type, void *value, const char *what,
                            nimbus_error_t *err);
/* Reads one member's JSON value v (not null) into field f of the struct at
 * `value`, as nimbus_json_read_object does for each member, CHARS text
 * included. id_known: the request already names the station (its `id`),
 * so a NIMBUS_FIELD_ID_FROM_REQUEST station may leave its own id out. */
int nimbus_json_read_field(json_t *v, const nimbus_field_t *f, void *value, const char *what,
                           bool id_known, nimbus_error_t *err);
/* Frees the arrays nimbus_json_read_object allocated in the struct. */
void nimbus_json_object_cleanup(const nimbus_type_t *type, void *value);

/* Compatibility shorthands for the two types clients send. */
int nimbus_json_station_decode(json_t *obj, const char *what, bool id_required,
                               nimbus_station_t *out, nimbus_error_t *err);
int nimbus_json_observation_decode(json_t *obj, const char *what, nimbus_observation_t *out,
                                   nimbus_error_t *err);

/* ---- JSON Schemas of the contract's data (json_schema.c) ---------------- */

/* Schema options. */
#define NIMBUS_JSON_SCHEMA_CLOSED 0x1u      /* additionalProperties: false (types clients send) */
#define NIMBUS_JSON_SCHEMA_ID_OPTIONAL 0x2u /* `id` not required (UpdateStation's body) */

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

/* The problem `type` URI and the short title of code (static storage). */
const char *nimbus_json_problem_type(nimbus_code_t code);
const char *nimbus_json_problem_title(nimbus_code_t code);

/* ---- calls: JSON params -> operation -> JSON response ------------------ */

/* A decoded request of any operation. Strings are borrowed from the params
 * it was read from (or from whoever filled it); arrays are owned and freed
 * by nimbus_json_request_cleanup. */
typedef struct nimbus_json_request {
    nimbus_op_t op;
    nimbus_request_t u;
} nimbus_json_request_t;

/* Zeroes req for op. */
void nimbus_json_request_init(nimbus_json_request_t *req, nimbus_op_t op);
void nimbus_json_request_cleanup(nimbus_json_request_t *req);

/*
 * Reads params (a JSON object, or NULL for none; borrowed and kept alive by
 * the caller while req is used) into req as op's request: its members are
 * op's request fields (nimbus_op_table[op].request). Returns 0, or -1 with
 * INVALID_ARGUMENT ("params: unknown member ...", "stationId is required");
 * call nimbus_json_request_cleanup either way.
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
