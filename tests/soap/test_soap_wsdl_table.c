/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The operation table (NIMBUS_OPERATIONS in service/nimbus_operations.h)
 * against the WSDL, so SOAP cannot drift from REST and WebSocket: every row
 * has its request and response elements, a portType operation and an
 * operation in both bindings, and the WSDL has no operation the table lacks.
 * The generated gSOAP structs for every row are also required at compile
 * time (the sizeof below fails to build if soapcpp2 did not produce one).
 * The ErrorCode enumeration of ServiceFault is checked against
 * NIMBUS_ERROR_CODES the same way. Reads the WSDL text embedded in the
 * server (nimbus_wsdl_text), i.e. the one it serves.
 */
#include "nimbus_cunit.h"
#include <stdio.h>
#include <string.h>

#include "nimbus_operations.h"
#include "nimbus_soap_namespaces.h"
#include "soapH.h"

extern const char nimbus_wsdl_text[];

static size_t count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

#define NIMBUS_X_GENERATED(Name, snake, role, kind)                                                \
    (void)sizeof(struct _nimbus__##Name);                                                          \
    (void)sizeof(struct _nimbus__##Name##Response);

static void test_every_row_is_in_the_wsdl(void)
{
    NIMBUS_OPERATIONS(NIMBUS_X_GENERATED)
    for (size_t i = 0; i < NIMBUS_OP_COUNT; i++) {
        const char *name = nimbus_op_table[i].name;
        char needle[128];
        snprintf(needle, sizeof needle, "<xsd:element name=\"%s\">", name);
        CU_ASSERT_EQUAL(count(nimbus_wsdl_text, needle), 1);
        snprintf(needle, sizeof needle, "<xsd:element name=\"%sResponse\">", name);
        CU_ASSERT_EQUAL(count(nimbus_wsdl_text, needle), 1);
        /* portType + SOAP 1.1 binding + SOAP 1.2 binding */
        snprintf(needle, sizeof needle, "<wsdl:operation name=\"%s\">", name);
        CU_ASSERT_EQUAL(count(nimbus_wsdl_text, needle), 3);
        snprintf(needle, sizeof needle, "soapAction=\"urn:nimbus:weather:v1/%s\"", name);
        CU_ASSERT_EQUAL(count(nimbus_wsdl_text, needle), 2);
    }
}

static void test_no_operation_beyond_the_table(void)
{
    CU_ASSERT_EQUAL(count(nimbus_wsdl_text, "<wsdl:operation name="), 3 * NIMBUS_OP_COUNT);
    CU_ASSERT_EQUAL(count(nimbus_wsdl_text, "<wsdl:fault name=\"ServiceFault\""),
                    3 * NIMBUS_OP_COUNT);
}

/* The WSDL's ErrorCode enumeration is the contract's list of codes. */
static void test_error_codes_match(void)
{
    struct soap *soap = soap_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(soap);
    soap_set_namespaces(soap, nimbus_soap11_namespaces);
    for (int c = NIMBUS_OK + 1; c < NIMBUS_CODE_COUNT; c++) {
        const char *name = nimbus_code_name((nimbus_code_t)c);
        enum nimbus__ErrorCode e;
        CU_ASSERT_EQUAL(soap_s2nimbus__ErrorCode(soap, name, &e), SOAP_OK);
        CU_ASSERT_STRING_EQUAL(soap_nimbus__ErrorCode2s(soap, e), name);
    }
    CU_ASSERT_EQUAL(count(nimbus_wsdl_text, "<xsd:enumeration value="), NIMBUS_CODE_COUNT - 1);
    soap_free(soap);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"every row is in the WSDL", test_every_row_is_in_the_wsdl},
        {"no operation beyond the table", test_no_operation_beyond_the_table},
        {"error codes match", test_error_codes_match},
        {NULL, NULL},
    };
    return nimbus_test_run("operation table vs WSDL", cases);
}
