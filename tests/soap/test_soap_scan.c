/*
 * soap/soap_scan.c: the pre-parse scan that refuses markup declarations and
 * excess nesting. Cases at the limit and one past it, and the places where
 * a '<' is data (comments, CDATA, processing instructions) or a '>' is
 * inside an attribute value.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "soap_internal.h"

static nimbus_soap_scan_t scan(const char *text, int max_depth)
{
    return nimbus__soap_scan(text, strlen(text), max_depth);
}

static void test_declarations(void)
{
    CU_ASSERT_EQUAL(scan("<?xml version=\"1.0\"?><!DOCTYPE a><a/>", 8),
                    NIMBUS_SOAP_SCAN_DECLARATION);
    CU_ASSERT_EQUAL(scan("<a><!ENTITY x \"y\"></a>", 8), NIMBUS_SOAP_SCAN_DECLARATION);
    CU_ASSERT_EQUAL(scan("<!-- c --><!DOCTYPE a><a/>", 8), NIMBUS_SOAP_SCAN_DECLARATION);
    /* Data, not declarations. */
    CU_ASSERT_EQUAL(scan("<!-- <!DOCTYPE a> --><a/>", 8), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("<a><![CDATA[<!ENTITY x> <b><c>]]></a>", 1), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("<?pi <!DOCTYPE a> <b> ?><a/>", 1), NIMBUS_SOAP_SCAN_OK);
}

static void test_depth(void)
{
    CU_ASSERT_EQUAL(scan("<a><b><c/></b></a>", 3), NIMBUS_SOAP_SCAN_OK); /* at the limit */
    CU_ASSERT_EQUAL(scan("<a><b><c></c></b></a>", 2), NIMBUS_SOAP_SCAN_TOO_DEEP);
    CU_ASSERT_EQUAL(scan("<a><b/><b/><b/></a>", 2), NIMBUS_SOAP_SCAN_OK); /* siblings */
    CU_ASSERT_EQUAL(scan("<a><b></b><b></b></a>", 2), NIMBUS_SOAP_SCAN_OK);
    /* A '>' or "/>" inside a quoted attribute value ends nothing. */
    CU_ASSERT_EQUAL(scan("<a x=\"/>\"><b y='>'><c></c></b></a>", 2), NIMBUS_SOAP_SCAN_TOO_DEEP);
    CU_ASSERT_EQUAL(scan("<a x=\"/>\"><b y='>'/></a>", 2), NIMBUS_SOAP_SCAN_OK);
    /* Unterminated markup is gSOAP's to refuse, not ours. */
    CU_ASSERT_EQUAL(scan("<a><b", 1), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("<a><!-- never closed <b><c><d>", 1), NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan("", 1), NIMBUS_SOAP_SCAN_OK);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("soap_scan", NULL, NULL);
    if (!s || !CU_add_test(s, "declarations", test_declarations) ||
        !CU_add_test(s, "depth", test_depth)) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
