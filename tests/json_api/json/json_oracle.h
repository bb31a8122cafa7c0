/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The oracle of the differential test: the jansson-tree request decoder
 * Nimbus used before its streaming reader (json_oracle.c). Test-only.
 */
#ifndef NIMBUS_JSON_ORACLE_H
#define NIMBUS_JSON_ORACLE_H

#include <stdbool.h>

#include "nimbus_json.h"

/* The old nimbus_json_read_object: obj (any JSON value) as an object of
 * type into the zeroed struct at value; strings borrowed from obj, arrays
 * freed with nimbus_json_object_cleanup. 0 or -1 with err. */
int oracle_read_object(json_t *obj, const nimbus_type_t *type, void *value, const char *what,
                       nimbus_error_t *err);

/* The old nimbus_json_read_field: one member's value v (not null) into
 * field f of the struct at value, CHARS text included. */
int oracle_read_field(json_t *v, const nimbus_field_t *f, void *value, const char *what,
                      bool id_known, nimbus_error_t *err);

/* The old nimbus_json_request_decode, into the zeroed request struct at
 * value (of op's request type). */
int oracle_request_decode(nimbus_op_t op, json_t *params, void *value, nimbus_error_t *err);

/* The old REST body reading (rest_request.c's read_members, or
 * nimbus_json_read_field for a body that is one field's value) of a parsed
 * body object, after the path's field (a STRING) was set to path_value.
 * query: the query's field names (NULL-terminated, or NULL). */
int oracle_rest_body(nimbus_op_t op, bool members, const char *body_field, const char *const *query,
                     const char *path_field, const char *path_value, json_t *body, void *value,
                     nimbus_error_t *err);

/* Whether the structs of `type` at a and b hold the same values, field by
 * field through the table (strings by content, arrays item by item, every
 * field's presence flag). exact: doubles bit for bit and an empty array's
 * pointer NULL in both or in neither, as two decoders of one text must
 * agree (test_json_diff); otherwise doubles by value, as a round trip
 * through text keeps them (-0.0 comes back 0; fuzz_json_request). */
bool oracle_same_struct(const nimbus_type_t *type, const void *a, const void *b, bool exact);

#endif
