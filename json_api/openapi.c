/*
 * The OpenAPI 3.1 document (see openapi.h). Paths, methods, operationIds,
 * parameters and success statuses come from NIMBUS_OPERATIONS and
 * nimbus_json_op_params, so the document cannot list a route the router
 * lacks or miss one it has; the schemas spell the contract's types and
 * rules (the same limits the core's validators enforce).
 *
 * Built with jansson (no double in it needs nimbus_double_format: every
 * bound is an integer) once per request; it is small and rarely fetched.
 */
#include "openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nimbus_json.h"
#include "nimbus_operations.h"
#include "nimbus_server.h"

#define REF(name) json_pack("{s:s}", "$ref", "#/components/schemas/" name)

static json_t *num(double lo, double hi, const char *desc)
{
    return json_pack("{s:s,s:f,s:f,s:s}", "type", "number", "minimum", lo, "maximum", hi,
                     "description", desc);
}

static json_t *text(int lo, int hi)
{
    return json_pack("{s:s,s:i,s:i}", "type", "string", "minLength", lo, "maxLength", hi);
}

static json_t *schemas(void)
{
    json_t *station = json_pack(
        "{s:s,s:b,s:[ssssss],s:{s:{s:s,s:s},s:o,s:o,s:{s:s,s:s},s:o,s:o,s:o}}", "type", "object",
        "additionalProperties", 0, "required", "id", "name", "city", "country", "latitude",
        "longitude", "properties", "id", "type", "string", "pattern", "^[A-Za-z0-9_-]{1,32}$",
        "name", text(1, NIMBUS_STATION_NAME_MAX), "city", text(1, NIMBUS_CITY_MAX), "country",
        "type", "string", "pattern", "^[A-Z]{2}$", "latitude", num(-90, 90, "degrees"), "longitude",
        num(-180, 180, "degrees"), "elevation", num(-500, 9000, "metres"));
    /* The body of PUT may leave out id (the path carries it). */
    json_t *station_update = json_deep_copy(station);
    if (station_update)
        json_array_remove(json_object_get(station_update, "required"), 0);
    json_t *observation = json_pack(
        "{s:s,s:b,s:[s],s:{s:{s:s,s:s},s:{s:s,s:s},s:o,s:o,s:o,s:o,s:o,s:o,"
        "s:{s:s,s:s,s:b,s:s}}}",
        "type", "object", "additionalProperties", 0, "required", "observedAt", "properties",
        "stationId", "type", "string", "pattern", "^[A-Za-z0-9_-]{1,32}$", "observedAt", "type",
        "string", "format", "date-time", "temperature", num(-100, 70, "degrees Celsius"),
        "humidity", num(0, 100, "percent"), "pressure", num(100, 1100, "hPa"), "windSpeed",
        num(0, 150, "m/s"), "windDirection", num(0, 360, "degrees"), "precipitation",
        num(0, 1000, "mm since the previous observation"), "seq", "type", "integer", "format",
        "int64", "readOnly", 1, "description", "server-assigned; ignored on input");
    json_t *summary =
        json_pack("{s:s,s:[ss],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s}}}", "type", "object",
                  "required", "count", "totalPrecipitation", "properties", "count", "type",
                  "integer", "minTemperature", "type", "number", "maxTemperature", "type", "number",
                  "meanTemperature", "type", "number", "totalPrecipitation", "type", "number");
    json_t *report = json_pack("{s:s,s:[s],s:{s:o,s:o,s:o}}", "type", "object", "required",
                               "station", "properties", "station", REF("Station"), "latest",
                               REF("Observation"), "last24h", REF("Summary"));
    json_t *station_list =
        json_pack("{s:s,s:[s],s:{s:{s:s,s:o},s:{s:s}}}", "type", "object", "required", "stations",
                  "properties", "stations", "type", "array", "items", REF("Station"), "nextCursor",
                  "type", "string");
    json_t *obs_list =
        json_pack("{s:s,s:[s],s:{s:{s:s,s:o},s:{s:s}}}", "type", "object", "required",
                  "observations", "properties", "observations", "type", "array", "items",
                  REF("Observation"), "nextCursor", "type", "string");
    json_t *city =
        json_pack("{s:s,s:[s],s:{s:{s:s,s:o}}}", "type", "object", "required", "reports",
                  "properties", "reports", "type", "array", "items", REF("WeatherReport"));
    json_t *record_req = json_pack("{s:s,s:b,s:[s],s:{s:{s:s,s:i,s:i,s:o},s:{s:s}}}", "type",
                                   "object", "additionalProperties", 0, "required", "observations",
                                   "properties", "observations", "type", "array", "minItems", 1,
                                   "maxItems", NIMBUS_RECORD_BATCH_MAX, "items", REF("Observation"),
                                   "stationId", "type", "string");
    json_t *record_res = json_pack("{s:s,s:[ss],s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s}}}", "type",
                                   "object", "required", "accepted", "duplicates", "properties",
                                   "accepted", "type", "integer", "duplicates", "type", "integer",
                                   "firstSeq", "type", "integer", "lastSeq", "type", "integer");
    json_t *codes = json_array();
    for (int c = NIMBUS_OK + 1; codes && c < NIMBUS_CODE_COUNT; c++)
        json_array_append_new(codes, json_string(nimbus_code_name((nimbus_code_t)c)));
    json_t *problem = json_pack(
        "{s:s,s:[sssss],s:{s:{s:s,s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s,s:o}}}", "type", "object",
        "required", "type", "title", "status", "detail", "code", "properties", "type", "type",
        "string", "format", "uri", "title", "type", "string", "status", "type", "integer", "detail",
        "type", "string", "code", "type", "string", "enum", codes);
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "Station", station,
                     "StationUpdate", station_update, "Observation", observation, "Summary",
                     summary, "WeatherReport", report, "StationList", station_list,
                     "ObservationList", obs_list, "CityWeather", city, "RecordObservations",
                     record_req, "RecordObservationsResult", record_res, "Problem", problem);
}

static json_t *query_param(const char *name)
{
    json_t *schema;
    const char *desc;
    if (strcmp(name, "limit") == 0) {
        schema = json_pack("{s:s,s:i,s:i,s:i}", "type", "integer", "minimum", 1, "maximum",
                           NIMBUS_LIST_LIMIT_MAX, "default", NIMBUS_LIST_LIMIT_DEFAULT);
        desc = "page size";
    } else if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0) {
        schema = json_pack("{s:s,s:s}", "type", "string", "format", "date-time");
        desc =
            name[0] == 'f' ? "observedAt at or after (inclusive)" : "observedAt before (exclusive)";
    } else if (strcmp(name, "cursor") == 0) {
        schema = json_pack("{s:s}", "type", "string");
        desc = "opaque cursor from the previous page's nextCursor";
    } else {
        schema = json_pack("{s:s}", "type", "string");
        desc = strcmp(name, "country") == 0 ? "ISO 3166-1 alpha-2 filter" : "exact-match filter";
    }
    return json_pack("{s:s,s:s,s:b,s:s,s:o}", "name", name, "in", "query", "required", 0,
                     "description", desc, "schema", schema);
}

static json_t *parameters(const nimbus_op_info_t *op)
{
    json_t *list = json_array();
    const char *path_param = strstr(op->rest_path, "{city}") ? "city"
                             : strstr(op->rest_path, "{id}") ? "id"
                                                             : NULL;
    if (path_param)
        json_array_append_new(list, json_pack("{s:s,s:s,s:b,s:{s:s}}", "name", path_param, "in",
                                              "path", "required", 1, "schema", "type", "string"));
    static const char *const query[] = {"city", "country", "limit", "cursor", "from", "to"};
    const char *const *allowed = nimbus_json_op_params(op->op);
    for (size_t q = 0; q < sizeof query / sizeof query[0]; q++) {
        if (path_param && strcmp(path_param, query[q]) == 0)
            continue;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(allowed[i], query[q]) == 0)
                json_array_append_new(list, query_param(query[q]));
    }
    return list;
}

static json_t *content(json_t *schema, const char *type)
{
    return json_pack("{s:{s:o}}", type, "schema", schema);
}

static json_t *problem_response(const char *desc)
{
    return json_pack("{s:s,s:o}", "description", desc, "content",
                     content(REF("Problem"), NIMBUS_JSON_PROBLEM_TYPE));
}

static json_t *operation(const nimbus_op_info_t *op)
{
    json_t *body = NULL, *ok = NULL;
    switch (op->op) {
    case NIMBUS_OP_ListStations:
        ok = REF("StationList");
        break;
    case NIMBUS_OP_GetStation:
        ok = REF("Station");
        break;
    case NIMBUS_OP_CreateStation:
        body = REF("Station");
        ok = REF("Station");
        break;
    case NIMBUS_OP_UpdateStation:
        body = REF("StationUpdate");
        ok = REF("Station");
        break;
    case NIMBUS_OP_DeleteStation:
        break;
    case NIMBUS_OP_RecordObservations:
        body = REF("RecordObservations");
        ok = REF("RecordObservationsResult");
        break;
    case NIMBUS_OP_GetObservations:
        ok = REF("ObservationList");
        break;
    case NIMBUS_OP_GetWeather:
        ok = REF("WeatherReport");
        break;
    case NIMBUS_OP_GetCityWeather:
        ok = REF("CityWeather");
        break;
    default:
        break;
    }
    json_t *responses = json_object();
    json_t *success = json_pack("{s:s}", "description", "success");
    if (ok)
        json_object_set_new(success, "content", content(ok, "application/json"));
    if (op->op == NIMBUS_OP_CreateStation)
        json_object_set_new(success, "headers",
                            json_pack("{s:{s:s,s:{s:s}}}", "Location", "description",
                                      "/v1/stations/{id}", "schema", "type", "string"));
    if (op->op == NIMBUS_OP_GetStation)
        json_object_set_new(success, "headers",
                            json_pack("{s:{s:s,s:{s:s}}}", "ETag", "description",
                                      "entity tag; send it as If-None-Match", "schema", "type",
                                      "string"));
    char status[8];
    snprintf(status, sizeof status, "%d", op->success_status);
    json_object_set_new(responses, status, success);
    if (op->op == NIMBUS_OP_GetStation)
        json_object_set_new(responses, "304", json_pack("{s:s}", "description", "not modified"));
    json_object_set_new(responses, "400", problem_response("INVALID_ARGUMENT"));
    json_object_set_new(responses, "401", problem_response("UNAUTHENTICATED"));
    json_object_set_new(responses, "403", problem_response("PERMISSION_DENIED"));
    if (op->op != NIMBUS_OP_ListStations && op->op != NIMBUS_OP_CreateStation)
        json_object_set_new(responses, "404", problem_response("NOT_FOUND"));
    if (op->op == NIMBUS_OP_CreateStation)
        json_object_set_new(responses, "409", problem_response("ALREADY_EXISTS"));
    if (body) {
        json_object_set_new(responses, "413", problem_response("PAYLOAD_TOO_LARGE"));
        json_object_set_new(responses, "415", problem_response("the body is not application/json"));
    }
    json_object_set_new(responses, "429", problem_response("RESOURCE_EXHAUSTED"));
    json_object_set_new(responses, "500", problem_response("INTERNAL"));
    json_object_set_new(responses, "503", problem_response("UNAVAILABLE"));
    char desc[96];
    snprintf(desc, sizeof desc, "SOAP operation %s; needs the %s role.", op->name,
             nimbus_role_name(op->role));
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:o,s:o}", "operationId", op->name, "summary", op->name,
                  "description", desc, "parameters", parameters(op), "responses", responses);
    if (o) {
        if (body)
            json_object_set_new(o, "requestBody",
                                json_pack("{s:b,s:o}", "required", 1, "content",
                                          content(body, "application/json")));
    }
    return o;
}

/* The table's {param} templates are already OpenAPI path templates. */
static json_t *paths(void)
{
    json_t *paths = json_object();
    for (size_t i = 0; paths && i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        json_t *item = json_object_get(paths, op->rest_path);
        if (!item) {
            item = json_object();
            if (json_object_set_new(paths, op->rest_path, item) != 0)
                break;
        }
        char method[8];
        size_t n = strlen(op->http_method);
        for (size_t k = 0; k <= n && k < sizeof method; k++)
            method[k] = (char)(op->http_method[k] | (k < n ? 0x20 : 0));
        method[sizeof method - 1] = '\0';
        json_object_set_new(item, method, operation(op));
    }
    return paths;
}

json_t *nimbus_openapi_document(void)
{
    return json_pack(
        "{s:s,s:{s:s,s:s,s:s},s:[{s:s}],s:o,s:{s:o,s:{s:{s:s,s:s},s:{s:s,s:s}}},"
        "s:[{s:[]},{s:[]},{}]}",
        "openapi", "3.1.0", "info", "title", "Nimbus weather-station API", "version",
        NIMBUS_VERSION, "description",
        "REST + JSON binding of the Nimbus service contract; the same operations as the SOAP "
        "WSDL at /soap?wsdl. Errors are application/problem+json (RFC 9457).",
        "servers", "url", "/", "paths", paths(), "components", "schemas", schemas(),
        "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "basic", "type", "http",
        "scheme", "basic", "security", "bearer", "basic");
}

int nimbus_openapi_encode(struct evbuffer *out)
{
    json_t *doc = nimbus_openapi_document();
    if (!doc)
        return -1;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return -1;
    int rc = evbuffer_add(out, text, strlen(text));
    free(text);
    return rc;
}
