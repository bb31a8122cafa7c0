/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * REST routing from the binding table: a request path is matched against
 * every binding's path template ("/v1/stations/{id}/weather"); the captured
 * {param} segment is percent-decoded. Internal to json_api/rest.
 */
#ifndef NIMBUS_REST_ROUTE_H
#define NIMBUS_REST_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "rest_binding.h"

/* The longest path segment accepted, decoded (a city is at most 64
 * characters of up to 4 bytes; the margin lets the core, not the router,
 * word the error for a value that is too long). */
#define NIMBUS_REST_SEGMENT_MAX 1024

typedef struct nimbus_rest_match {
    /* Bindings whose template matches the path, whatever their method. */
    const nimbus_rest_binding_t *rows[NIMBUS_OP_COUNT];
    size_t count;
    /* The template's {name} and the segment's decoded value; name "" when
     * the template has none. */
    char param_name[32];
    char param[NIMBUS_REST_SEGMENT_MAX + 1];
    bool param_bad; /* the segment did not decode to text without NUL */
} nimbus_rest_match_t;

/* Matches path (as received, still percent-encoded) against the table.
 * Returns the number of bindings matched (0: unknown path). */
size_t nimbus__rest_match(const char *path, nimbus_rest_match_t *m);

/* The binding of m for method ("GET"; HEAD is looked up as GET), or NULL. */
const nimbus_rest_binding_t *nimbus__rest_match_method(const nimbus_rest_match_t *m,
                                                       const char *method);

/* Writes the Allow header value for m ("GET, HEAD, PUT, DELETE, OPTIONS"). */
void nimbus__rest_allow(const nimbus_rest_match_t *m, char *buf, size_t size);

#endif
