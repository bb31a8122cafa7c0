/*
 * Helpers shared by the JSON codec files (json_*.c) and the REST routes
 * (rest_*.c); not for other folders. Each reads one member of a JSON object
 * by the contract's input rules (null = absent, wrong JSON type =
 * INVALID_ARGUMENT naming `what.key`) and returns 0 or -1 with err.
 */
#ifndef NIMBUS_JSON_INTERNAL_H
#define NIMBUS_JSON_INTERNAL_H

#include "nimbus_json.h"

/* obj must be an object whose member names all appear in allowed
 * (NULL-terminated); else INVALID_ARGUMENT naming the first stranger. */
int nimbus__json_check_members(json_t *obj, const char *what, const char *const *allowed,
                               nimbus_error_t *err);
/* *out borrowed from obj (NULL when absent). */
int nimbus__json_get_string(json_t *obj, const char *what, const char *key, bool required,
                            const char **out, nimbus_error_t *err);
/* Any JSON number; out->present false when absent. */
int nimbus__json_get_double(json_t *obj, const char *what, const char *key, bool required,
                            nimbus_opt_double_t *out, nimbus_error_t *err);
/* A JSON integer (or a real with no fraction); *has false when absent. */
int nimbus__json_get_integer(json_t *obj, const char *what, const char *key, bool *has,
                             int64_t *out, nimbus_error_t *err);
/* A dateTime string read with nimbus_time_parse; *has false when absent. */
int nimbus__json_get_time(json_t *obj, const char *what, const char *key, bool *has, int64_t *out,
                          nimbus_error_t *err);

#endif
