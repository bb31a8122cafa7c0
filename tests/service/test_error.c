/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/error.c: the code table (names, REST statuses, SOAP
 * fault side, contract "Errors") and message formatting with truncation.
 */
#include <string.h>

#include "test_util.h"

static void test_names_round_trip(void)
{
    for (int c = NIMBUS_OK + 1; c < NIMBUS_CODE_COUNT; c++) {
        nimbus_code_t back = NIMBUS_OK;
        CU_ASSERT_TRUE(nimbus_code_from_name(nimbus_code_name((nimbus_code_t)c), &back));
        CU_ASSERT_EQUAL(back, c);
    }
    CU_ASSERT_FALSE(nimbus_code_from_name("invalid_argument", NULL));
    CU_ASSERT_FALSE(nimbus_code_from_name("OK", NULL));
    CU_ASSERT_FALSE(nimbus_code_from_name(NULL, NULL));
    CU_ASSERT_STRING_EQUAL(nimbus_code_name((nimbus_code_t)99), "INTERNAL");
}

/* Contract "Errors": the status and fault side of every code. */
static void test_contract_table(void)
{
    static const struct {
        nimbus_code_t code;
        const char *name;
        int status;
        bool server;
    } rows[] = {
        {NIMBUS_INVALID_ARGUMENT, "INVALID_ARGUMENT", 400, false},
        {NIMBUS_UNAUTHENTICATED, "UNAUTHENTICATED", 401, false},
        {NIMBUS_PERMISSION_DENIED, "PERMISSION_DENIED", 403, false},
        {NIMBUS_NOT_FOUND, "NOT_FOUND", 404, false},
        {NIMBUS_ALREADY_EXISTS, "ALREADY_EXISTS", 409, false},
        {NIMBUS_PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE", 413, false},
        {NIMBUS_RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", 429, false},
        {NIMBUS_UNAVAILABLE, "UNAVAILABLE", 503, true},
        {NIMBUS_INTERNAL, "INTERNAL", 500, true},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        CU_ASSERT_STRING_EQUAL(nimbus_code_name(rows[i].code), rows[i].name);
        CU_ASSERT_EQUAL(nimbus_code_http_status(rows[i].code), rows[i].status);
        CU_ASSERT_EQUAL(nimbus_code_is_server_fault(rows[i].code), rows[i].server);
    }
    CU_ASSERT_EQUAL(nimbus_code_http_status(NIMBUS_OK), 200);
    CU_ASSERT_EQUAL(nimbus_code_http_status((nimbus_code_t)-3), 500);
}

static void test_set_and_clear(void)
{
    nimbus_error_t err;
    CU_ASSERT_EQUAL(nimbus_error_set(&err, NIMBUS_NOT_FOUND, "station %s", "x"), -1);
    CU_ASSERT_EQUAL(err.code, NIMBUS_NOT_FOUND);
    CU_ASSERT_STRING_EQUAL(err.message, "station x");
    nimbus_error_clear(&err);
    CU_ASSERT_EQUAL(err.code, NIMBUS_OK);
    CU_ASSERT_STRING_EQUAL(err.message, "");
    CU_ASSERT_EQUAL(nimbus_error_set(NULL, NIMBUS_INTERNAL, "ignored"), -1);
    nimbus_error_clear(NULL);

    char big[1000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    nimbus_error_set(&err, NIMBUS_INTERNAL, "%s", big);
    CU_ASSERT_EQUAL(strlen(err.message), NIMBUS_ERROR_MESSAGE_MAX - 1);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"code names round-trip", test_names_round_trip},
        {"contract status and fault table", test_contract_table},
        {"set, clear, truncation", test_set_and_clear},
        {NULL, NULL},
    };
    return nimbus_test_run("error", cases);
}
