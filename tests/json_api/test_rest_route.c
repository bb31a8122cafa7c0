/*
 * Unit tests of REST routing (json_api/rest_route.c): every row of the
 * operation table is reachable by its own path and method, path parameters
 * are percent-decoded (and refused when they decode to NUL or overflow),
 * unknown paths match nothing, HEAD routes as GET, and Allow lists exactly
 * the methods a path serves.
 */
#include <string.h>

#include "nimbus_cunit.h"

#include "rest_route.h"

static void test_every_row(void)
{
    for (size_t i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *row = &nimbus_op_table[i];
        char path[128];
        size_t n = 0;
        /* Fill the template's parameter with a sample value. */
        for (const char *t = row->rest_path; *t && n + 8 < sizeof path; t++) {
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
        CU_ASSERT_PTR_EQUAL(nimbus__rest_match_method(&m, row->http_method), row);
        if (strchr(row->rest_path, '{')) {
            CU_ASSERT_STRING_EQUAL(m.param, "x1");
        } else {
            CU_ASSERT_PTR_NULL(m.param_name);
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
        {"every row", test_every_row},
        {"path parameters", test_params},
        {"unknown paths", test_unknown},
        {"methods and Allow", test_methods},
        {NULL, NULL},
    };
    return nimbus_test_run("rest_route", cases);
}
