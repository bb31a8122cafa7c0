/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the REST binding table and routing (json_api/rest/
 * rest_binding.c, rest_route.c): every row of the operation table has a
 * binding with the contract's method, path and status, whose fields are
 * the row's request fields; every row is reachable by its own path and
 * method; path parameters are percent-decoded (and refused when they decode
 * to NUL or overflow); unknown paths match nothing; HEAD routes as GET; and
 * Allow lists exactly the methods a path serves.
 */
#include <stdio.h>
#include <string.h>

#include "nimbus_cunit.h"

#include "rest_route.h"

/* The contract's REST column (contract "Operations"). */
static void test_bindings(void)
{
    static const struct {
        const char *name;
        const char *method;
        const char *path;
        int status;
    } rows[] = {
        {"ListStations", "GET", "/v1/stations", 200},
        {"GetStation", "GET", "/v1/stations/{id}", 200},
        {"CreateStation", "POST", "/v1/stations", 201},
        {"UpdateStation", "PUT", "/v1/stations/{id}", 200},
        {"DeleteStation", "DELETE", "/v1/stations/{id}", 204},
        {"RecordObservations", "POST", "/v1/stations/{id}/observations", 200},
        {"GetObservations", "GET", "/v1/stations/{id}/observations", 200},
        {"GetWeather", "GET", "/v1/stations/{id}/weather", 200},
        {"GetCityWeather", "GET", "/v1/cities/{city}/weather", 200},
        {"GetObservationFeed", "GET", "/v1/observations", 200},
    };
    CU_ASSERT_EQUAL_FATAL(NIMBUS_OP_COUNT, sizeof(rows) / sizeof(rows[0]));
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const nimbus_op_info_t *op = nimbus_op_find(rows[i].name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op);
        const nimbus_rest_binding_t *b = nimbus__rest_binding(op->op);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(b->op, op->op);
        CU_ASSERT_STRING_EQUAL(b->method, rows[i].method);
        CU_ASSERT_STRING_EQUAL(b->path, rows[i].path);
        CU_ASSERT_EQUAL(b->status, rows[i].status);
    }
}

/* A binding names only fields of its row's request, each of a kind its
 * part can carry, and a body where the method has one. */
static void test_binding_fields(void)
{
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_rest_binding_t *b = nimbus__rest_binding((nimbus_op_t)i);
        const nimbus_type_t *req = nimbus_op_table[i].request;
        const char *name = nimbus_op_table[i].name;
        const nimbus_field_t *f;
        if (b->path_field) {
            f = nimbus_type_field(req, b->path_field);
            if (!f || f->kind != NIMBUS_FIELD_STRING || !strchr(b->path, '{')) {
                fprintf(stderr, "\n%s: path field %s\n", name, b->path_field);
            }
            CU_ASSERT(f && f->kind == NIMBUS_FIELD_STRING && strchr(b->path, '{'));
        } else {
            CU_ASSERT_PTR_NULL(strchr(b->path, '{'));
        }
        for (size_t k = 0; k < NIMBUS_REST_QUERY_MAX && b->query[k]; k++) {
            /* A STRINGS field repeats its parameter, named as its item. */
            f = nimbus__rest_query_field(b, b->query[k]);
            bool ok =
                f && (f->kind == NIMBUS_FIELD_STRING || f->kind == NIMBUS_FIELD_INT64 ||
                      f->kind == NIMBUS_FIELD_TIME ||
                      (f->kind == NIMBUS_FIELD_STRINGS && strcmp(f->item_name, b->query[k]) == 0));
            if (!ok) {
                fprintf(stderr, "\n%s: query field %s\n", name, b->query[k]);
            }
            CU_ASSERT_TRUE(ok);
        }
        bool has_body = strcmp(b->method, "POST") == 0 || strcmp(b->method, "PUT") == 0;
        CU_ASSERT_EQUAL(b->body != NIMBUS_REST_BODY_NONE, has_body);
        if (b->body == NIMBUS_REST_BODY_FIELD) {
            CU_ASSERT_PTR_NOT_NULL(nimbus_type_field(req, b->body_field));
        }
        if (b->body != NIMBUS_REST_BODY_NONE) {
            CU_ASSERT_PTR_NOT_NULL(b->body_schema);
        }
        CU_ASSERT_EQUAL(b->reply == NIMBUS_JSON_NONE, b->status == 204);
        if (b->reply == NIMBUS_JSON_VALUE) {
            CU_ASSERT_EQUAL(nimbus_op_table[i].response->count, 1u);
        }
        if (b->reply != NIMBUS_JSON_NONE) {
            CU_ASSERT_PTR_NOT_NULL(b->reply_schema);
        }
    }
}

static void test_every_row(void)
{
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_rest_binding_t *row = nimbus__rest_binding((nimbus_op_t)i);
        char path[128];
        size_t n = 0;
        /* Fill the template's parameter with a sample value. */
        for (const char *t = row->path; *t && n + 8 < sizeof path; t++) {
            if (*t == '{') {
                memcpy(path + n, "x1", 2);
                n += 2;
                t = strchr(t, '}');
            } else {
                path[n++] = *t;
            }
        }
        path[n] = '\0';
        nimbus_rest_match_t m;
        CU_ASSERT(nimbus__rest_match(path, &m) >= 1);
        CU_ASSERT_PTR_EQUAL(nimbus__rest_match_method(&m, row->method), row);
        if (strchr(row->path, '{')) {
            CU_ASSERT_STRING_EQUAL(m.param, "x1");
        } else {
            CU_ASSERT_STRING_EQUAL(m.param_name, "");
        }
    }
}

static void test_params(void)
{
    nimbus_rest_match_t m;
    CU_ASSERT_EQUAL(nimbus__rest_match("/v1/cities/S%C3%A3o%20Paulo+x/weather", &m), 1);
    CU_ASSERT_STRING_EQUAL(m.param_name, "city");
    CU_ASSERT_STRING_EQUAL(m.param, "S\xc3\xa3o Paulo+x"); /* '+' is a plus in a path */
    CU_ASSERT_FALSE(m.param_bad);
    CU_ASSERT_EQUAL(nimbus__rest_match("/v1/stations/a%2Fb", &m), 3);
    CU_ASSERT_STRING_EQUAL(m.param, "a/b"); /* stays one segment */
    CU_ASSERT_STRING_EQUAL(m.param_name, "id");
    CU_ASSERT_EQUAL(nimbus__rest_match("/v1/stations/a%00b", &m), 3);
    CU_ASSERT_TRUE(m.param_bad);
    static char longp[NIMBUS_REST_SEGMENT_MAX + 64];
    strcpy(longp, "/v1/stations/");
    memset(longp + strlen(longp), 'a', NIMBUS_REST_SEGMENT_MAX + 1);
    CU_ASSERT_EQUAL(nimbus__rest_match(longp, &m), 3);
    CU_ASSERT_TRUE(m.param_bad);
}

static void test_unknown(void)
{
    static const char *const paths[] = {"/",
                                        "/v1",
                                        "/v1/",
                                        "/v1/stations/",
                                        "/v1/stations//weather",
                                        "/v1/stations/a/b",
                                        "/v1/stations/a/weather/x",
                                        "/v1/cities/x",
                                        "/v2/stations",
                                        "/v1/Stations"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        nimbus_rest_match_t m;
        CU_ASSERT_EQUAL(nimbus__rest_match(paths[i], &m), 0);
    }
}

static void test_methods(void)
{
    nimbus_rest_match_t m;
    char allow[96];
    CU_ASSERT_EQUAL(nimbus__rest_match("/v1/stations/x", &m), 3);
    nimbus__rest_allow(&m, allow, sizeof allow);
    CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD, PUT, DELETE, OPTIONS");
    CU_ASSERT_EQUAL(nimbus__rest_match_method(&m, "HEAD")->op, NIMBUS_OP_GetStation);
    CU_ASSERT_PTR_NULL(nimbus__rest_match_method(&m, "POST"));
    CU_ASSERT_PTR_NULL(nimbus__rest_match_method(&m, "PATCH"));
    CU_ASSERT_EQUAL(nimbus__rest_match("/v1/stations", &m), 2);
    nimbus__rest_allow(&m, allow, sizeof allow);
    CU_ASSERT_STRING_EQUAL(allow, "GET, HEAD, POST, OPTIONS");
    CU_ASSERT_EQUAL(nimbus__rest_match_method(&m, "POST")->op, NIMBUS_OP_CreateStation);
    /* A buffer too small is cut, never overrun. */
    char tiny[6];
    nimbus__rest_allow(&m, tiny, sizeof tiny);
    CU_ASSERT(strlen(tiny) < sizeof tiny);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"a binding for every row, as the contract lists them", test_bindings},
        {"bindings name their row's request fields", test_binding_fields},
        {"every row", test_every_row},
        {"path parameters", test_params},
        {"unknown paths", test_unknown},
        {"methods and Allow", test_methods},
        {NULL, NULL},
    };
    return nimbus_test_run("rest_route", cases);
}
