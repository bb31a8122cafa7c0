/*
 * Tests of service/op_table.c: the table holds the contract's nine
 * operations in order with their roles (contract "Access") and REST
 * routes (contract "Operations"), and role names parse both ways.
 */
#include <string.h>

#include "test_util.h"

static void test_rows(void)
{
    static const struct {
        const char *name;
        nimbus_role_t role;
        const char *method;
        const char *path;
        int status;
    } rows[] = {
        {"ListStations", NIMBUS_ROLE_READ, "GET", "/v1/stations", 200},
        {"GetStation", NIMBUS_ROLE_READ, "GET", "/v1/stations/{id}", 200},
        {"CreateStation", NIMBUS_ROLE_WRITE, "POST", "/v1/stations", 201},
        {"UpdateStation", NIMBUS_ROLE_WRITE, "PUT", "/v1/stations/{id}", 200},
        {"DeleteStation", NIMBUS_ROLE_ADMIN, "DELETE", "/v1/stations/{id}", 204},
        {"RecordObservations", NIMBUS_ROLE_WRITE, "POST", "/v1/stations/{id}/observations", 200},
        {"GetObservations", NIMBUS_ROLE_READ, "GET", "/v1/stations/{id}/observations", 200},
        {"GetWeather", NIMBUS_ROLE_READ, "GET", "/v1/stations/{id}/weather", 200},
        {"GetCityWeather", NIMBUS_ROLE_READ, "GET", "/v1/cities/{city}/weather", 200},
    };
    CU_ASSERT_EQUAL_FATAL(NIMBUS_OP_COUNT, sizeof(rows) / sizeof(rows[0]));
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = nimbus_op_find(rows[i].name);
        CU_ASSERT_PTR_EQUAL(op, &nimbus_op_table[i]);
        CU_ASSERT_EQUAL(nimbus_op_table[i].op, i);
        CU_ASSERT_STRING_EQUAL(nimbus_op_table[i].name, rows[i].name);
        CU_ASSERT_EQUAL(nimbus_op_table[i].role, rows[i].role);
        CU_ASSERT_STRING_EQUAL(nimbus_op_table[i].http_method, rows[i].method);
        CU_ASSERT_STRING_EQUAL(nimbus_op_table[i].rest_path, rows[i].path);
        CU_ASSERT_EQUAL(nimbus_op_table[i].success_status, rows[i].status);
    }
    CU_ASSERT_EQUAL(nimbus_op_find("ListStations")->kind, NIMBUS_OP_KIND_LIST);
    CU_ASSERT_EQUAL(nimbus_op_find("GetObservations")->kind, NIMBUS_OP_KIND_LIST);
    CU_ASSERT_EQUAL(nimbus_op_find("GetCityWeather")->kind, NIMBUS_OP_KIND_LIST);
    CU_ASSERT_EQUAL(nimbus_op_find("GetWeather")->kind, NIMBUS_OP_KIND_SINGLE);
    CU_ASSERT_PTR_NULL(nimbus_op_find("liststations"));
    CU_ASSERT_PTR_NULL(nimbus_op_find(NULL));
}

static void test_roles(void)
{
    nimbus_role_t r = NIMBUS_ROLE_NONE;
    CU_ASSERT_TRUE(nimbus_role_from_name("read", &r));
    CU_ASSERT_EQUAL(r, NIMBUS_ROLE_READ);
    CU_ASSERT_TRUE(nimbus_role_from_name("write", &r));
    CU_ASSERT_EQUAL(r, NIMBUS_ROLE_WRITE);
    CU_ASSERT_TRUE(nimbus_role_from_name("admin", &r));
    CU_ASSERT_EQUAL(r, NIMBUS_ROLE_ADMIN);
    CU_ASSERT_FALSE(nimbus_role_from_name("Admin", &r));
    CU_ASSERT_FALSE(nimbus_role_from_name("none", &r));
    CU_ASSERT_FALSE(nimbus_role_from_name(NULL, &r));
    CU_ASSERT_STRING_EQUAL(nimbus_role_name(NIMBUS_ROLE_WRITE), "write");
    /* Roles nest: the enum order is the inclusion order. */
    CU_ASSERT_TRUE(NIMBUS_ROLE_READ < NIMBUS_ROLE_WRITE && NIMBUS_ROLE_WRITE < NIMBUS_ROLE_ADMIN);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"nine rows as the contract lists them", test_rows},
        {"role names", test_roles},
        {NULL, NULL},
    };
    return nimbus_test_run("op_table", cases);
}
