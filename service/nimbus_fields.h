/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The contract's data described as data: one definition of every field
 * rule, and of every field of every type, request and response.
 *
 * NIMBUS_RULES lists the contract's simple types (the WSDL's
 * xsd:simpleTypes, by the same names): a station id's length and alphabet,
 * a latitude's range, a page limit's bounds. The type tables
 * (nimbus_station_type, nimbus_observation_type, ...) list each field of a
 * contract type with its contract name, the C member it lives in, how it is
 * represented, whether it may be absent, and its rule; the operation
 * tables (nimbus_op_info_t.request / .response in nimbus_operations.h) do
 * the same for each operation's request and response.
 *
 * From these come: the core's value checks (nimbus_type_validate, which
 * nimbus_station_validate and nimbus_observation_validate are), the JSON
 * member lists, decoders and encoders (json_api/json), the OpenAPI and
 * AsyncAPI schemas, the REST query and path decoding. A test compares them
 * with the WSDL's facets and element lists, so SOAP cannot drift either.
 */
#ifndef NIMBUS_FIELDS_H
#define NIMBUS_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus_error.h"

/* ---- rules ----------------------------------------------------------- */

/*
 * X(Name, KIND, min, max, default, "XSD pattern" or NULL, "unit" or "",
 *   example as JSON text or NULL)
 *   ID       1..max characters of [A-Za-z0-9_-]; refused words the alphabet
 *   TEXT     min..max code points of UTF-8 text without control characters
 *   COUNTRY  an assigned ISO 3166-1 alpha-2 code (two upper-case letters)
 *   RANGE    a finite double in [min, max]
 *   INTEGER  an integer in [min, max]
 *   OPAQUE   text the client got from us and passes back (a cursor): the
 *            core decodes it, so no rule beyond its length bounds is
 *            written here
 * default is the value an absent INTEGER stands for (0: none); the example
 * is what the API documents show (OpenAPI, AsyncAPI). The numbers
 * are the constants of nimbus_types.h where the core needs them by name
 * (array sizes, defaults), so each is written once.
 */
#define NIMBUS_RULES(X)                                                                            \
    X(StationId, ID, 1, NIMBUS_STATION_ID_MAX, 0, "[A-Za-z0-9_\\-]+", "", "\"berlin-tempelhof\"")  \
    X(StationName, TEXT, 1, NIMBUS_STATION_NAME_MAX, 0, NULL, "", "\"Berlin-Tempelhof\"")          \
    X(City, TEXT, 1, NIMBUS_CITY_MAX, 0, NULL, "", "\"Berlin\"")                                   \
    X(Country, COUNTRY, NIMBUS_COUNTRY_LEN, NIMBUS_COUNTRY_LEN, 0, "[A-Z]{2}", "", "\"DE\"")       \
    X(Latitude, RANGE, -90, 90, 0, NULL, "degrees", "52.4675")                                     \
    X(Longitude, RANGE, -180, 180, 0, NULL, "degrees", "13.4021")                                  \
    X(Elevation, RANGE, -500, 9000, 0, NULL, "metres", "48")                                       \
    X(Temperature, RANGE, -100, 70, 0, NULL, "degrees Celsius", "21.5")                            \
    X(Humidity, RANGE, 0, 100, 0, NULL, "percent", "63")                                           \
    X(Pressure, RANGE, 100, 1100, 0, NULL, "hPa", "1013.25")                                       \
    X(WindSpeed, RANGE, 0, 150, 0, NULL, "m/s", "3.5")                                             \
    X(WindDirection, RANGE, 0, 360, 0, NULL, "degrees", "270")                                     \
    X(Precipitation, RANGE, 0, 1000, 0, NULL, "mm since the previous observation", "0.2")          \
    X(PageLimit, INTEGER, 1, NIMBUS_LIST_LIMIT_MAX, NIMBUS_LIST_LIMIT_DEFAULT, NULL, "", "100")    \
    X(Cursor, OPAQUE, 1, NIMBUS_CURSOR_SIZE - 1, 0, NULL, "", NULL)

typedef enum nimbus_rule_kind {
    NIMBUS_RULE_KIND_ID,
    NIMBUS_RULE_KIND_TEXT,
    NIMBUS_RULE_KIND_COUNTRY,
    NIMBUS_RULE_KIND_RANGE,
    NIMBUS_RULE_KIND_INTEGER,
    NIMBUS_RULE_KIND_OPAQUE
} nimbus_rule_kind_t;

typedef struct nimbus_rule {
    const char *name; /* the WSDL's simpleType name, "Latitude" */
    nimbus_rule_kind_t kind;
    double min; /* RANGE, INTEGER: bounds; ID, TEXT, OPAQUE: length bounds */
    double max;
    int64_t def;         /* INTEGER: the value when absent; 0: none */
    const char *pattern; /* the XSD pattern, or NULL */
    const char *unit;    /* "" when none */
    const char *example; /* a valid value as JSON text, or NULL */
} nimbus_rule_t;

typedef enum nimbus_rule_id {
#define NIMBUS_X_RULE_ENUM(Name, kind, min, max, def, pattern, unit, example) NIMBUS_RULE_##Name,
    NIMBUS_RULES(NIMBUS_X_RULE_ENUM)
#undef NIMBUS_X_RULE_ENUM
} nimbus_rule_id_t;

#define NIMBUS_X_RULE_ONE(Name, kind, min, max, def, pattern, unit, example) +1
#define NIMBUS_RULE_COUNT (0 NIMBUS_RULES(NIMBUS_X_RULE_ONE))

/* Every rule, in NIMBUS_RULES order (static storage). */
extern const nimbus_rule_t nimbus_rules[NIMBUS_RULE_COUNT];
#define NIMBUS_RULE(Name) (&nimbus_rules[NIMBUS_RULE_##Name])

/* The rule named `name` ("Latitude"), or NULL. */
const nimbus_rule_t *nimbus_rule_find(const char *name);

/* ---- fields and types -------------------------------------------------- */

/* How a field's value is held in its C struct. */
typedef enum nimbus_field_kind {
    NIMBUS_FIELD_CHARS,      /* char[size], inline */
    NIMBUS_FIELD_STRING,     /* const char *, borrowed (requests); NULL: absent */
    NIMBUS_FIELD_DOUBLE,     /* double */
    NIMBUS_FIELD_OPT_DOUBLE, /* nimbus_opt_double_t */
    NIMBUS_FIELD_TIME,       /* int64_t seconds since the epoch; dateTime text */
    NIMBUS_FIELD_INT64,      /* int64_t */
    NIMBUS_FIELD_INT,        /* int */
    NIMBUS_FIELD_OBJECT,     /* an embedded struct of `type` */
    NIMBUS_FIELD_ARRAY,      /* a heap array of `type` items, count at `aux` */
    /* const char **: a heap array of strings of `rule`, count at `aux` (a
     * feed's station filter); its strings are borrowed like STRING's. */
    NIMBUS_FIELD_STRINGS
} nimbus_field_kind_t;

/* Field flags. */
#define NIMBUS_FIELD_REQUIRED 0x01u     /* the contract's minOccurs 1 */
#define NIMBUS_FIELD_OUTPUT_ONLY 0x02u  /* ignored on input (seq) */
#define NIMBUS_FIELD_EMPTY_ABSENT 0x04u /* CHARS: "" means absent */
#define NIMBUS_FIELD_ZERO_ABSENT 0x08u  /* INT64: 0 means absent (seq) */
#define NIMBUS_FIELD_REFERENCE 0x10u    /* names another record: the operation checks it */
/* A request field beyond the contract's SOAP element (UpdateStation's `id`,
 * the REST path's station): JSON and REST take it, the WSDL has no such
 * element. */
#define NIMBUS_FIELD_EXTENSION 0x20u
/* OBJECT of Station: its `id` may be left out when the request carries an
 * `id` field (UpdateStation over REST: the path names the station). */
#define NIMBUS_FIELD_ID_FROM_REQUEST 0x40u

/* No aux member. */
#define NIMBUS_FIELD_NO_AUX ((size_t)-1)

typedef struct nimbus_type nimbus_type_t;

typedef struct nimbus_field {
    const char *name;      /* contract name: the JSON member, the XML element */
    const char *item_name; /* ARRAY, STRINGS: the XML element of one item ("observation") */
    nimbus_field_kind_t kind;
    size_t offset; /* of the value in its struct */
    size_t size;   /* CHARS: the array's size in bytes */
    /* OBJECT, TIME and INT64 that may be absent: offset of the bool saying
     * it is present; ARRAY, STRINGS: offset of its size_t count; else
     * NO_AUX. */
    size_t aux;
    unsigned flags;
    const nimbus_rule_t *rule; /* NULL: none beyond the kind; STRINGS: each item's */
    const nimbus_type_t *type; /* OBJECT, ARRAY: the item type */
    const char *doc;           /* what a request field means, for API documents; or NULL */
    size_t min_items;          /* ARRAY, STRINGS: occurrences */
    size_t max_items;          /* ARRAY, STRINGS: 0 means unbounded */
} nimbus_field_t;

struct nimbus_type {
    const char *name; /* "Station"; for requests and responses, "GetStation" */
    size_t size;      /* sizeof the C struct */
    const nimbus_field_t *fields;
    size_t count;
};

/* The contract's types (static storage). */
extern const nimbus_type_t nimbus_station_type;
extern const nimbus_type_t nimbus_observation_type;
extern const nimbus_type_t nimbus_summary_type;
extern const nimbus_type_t nimbus_report_type;

/* The field of type named `name`, or NULL. */
const nimbus_field_t *nimbus_type_field(const nimbus_type_t *type, const char *name);

/* true when field is optional and absent in the struct at `value`. */
bool nimbus_field_absent(const nimbus_field_t *field, const void *value);

/*
 * Checks every input field of the struct at `value` (of `type`) against its
 * rule, in table order, stopping at the first broken one. Output-only and
 * reference fields are skipped (a reference is the operation's to check).
 * `what` prefixes field names in messages ("station" gives
 * "station.latitude must be between -90 and 90"). Returns 0, or -1 with
 * INVALID_ARGUMENT.
 */
int nimbus_type_validate(const nimbus_type_t *type, const void *value, const char *what,
                         nimbus_error_t *err);

/*
 * Copies a client's string into a CHARS field of the struct at `value`. A
 * string the array cannot hold is longer than the field's rule allows, so
 * it is refused with that rule's own message ("station.name must be 1-128
 * characters"), exactly as any other bad value of the field would be; `name`
 * is the field's full name for it. NULL copies "". Returns 0 or -1.
 */
int nimbus_field_set_text(const nimbus_field_t *field, void *value, const char *name,
                          const char *text, nimbus_error_t *err);

/* Checks text (NUL-terminated) against rule as the value of field `name`:
 * 0, or -1 with INVALID_ARGUMENT worded by the rule. For ID, TEXT, COUNTRY
 * and OPAQUE (length only) rules. */
int nimbus_rule_check_text(const nimbus_rule_t *rule, const char *text, const char *name,
                           nimbus_error_t *err);

/* Checks the number of items of an ARRAY or STRINGS field against its occurrence
 * bounds: 0, or -1 with INVALID_ARGUMENT ("observations must hold 1-1000
 * observations"). */
int nimbus_array_count_validate(const nimbus_field_t *field, size_t count, nimbus_error_t *err);

/* Checks v against a RANGE or INTEGER rule as the value of `name`. */
int nimbus_rule_check_number(const nimbus_rule_t *rule, double v, const char *name,
                             nimbus_error_t *err);

#endif
