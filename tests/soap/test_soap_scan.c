/*
 * soap/soap_scan.c: the pre-parse scan that refuses markup declarations and
 * excess nesting. Cases at the limit and one past it, and the places where
 * a '<' is data (comments, CDATA, processing instructions) or a '>' is
 * inside an attribute value; binary xsi:types in the Body and only there.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "soap_internal.h"

static nimbus_soap_scan_t scan(const char *text, int max_depth)
{
    return nimbus__soap_scan(text, strlen(text), max_depth, NULL);
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

#define ENV_OPEN                                                                                   \
    "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "                           \
    "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:n=\"urn:nimbus:weather:v1\">"

static void test_binary_type(void)
{
    nimbus_soap_scan_info_t info;
    const char *body = ENV_OPEN "<s:Body><n:CreateStation><n:station><n:id>x</n:id>"
                                "<n:name i:type=\"xsd:base64Binary\">WsO8cmljaA==</n:name>"
                                "</n:station></n:CreateStation></s:Body></s:Envelope>";
    CU_ASSERT_EQUAL(nimbus__soap_scan(body, strlen(body), 8, &info), NIMBUS_SOAP_SCAN_BINARY_TYPE);
    CU_ASSERT_EQUAL(info.element_len, 6);
    CU_ASSERT_EQUAL(memcmp(info.element, "n:name", 6), 0);
    CU_ASSERT_EQUAL(info.type_len, 16);
    CU_ASSERT_EQUAL(memcmp(info.type, "xsd:base64Binary", 16), 0);
    /* hexBinary, SOAP-ENC's base64, a self-closing element, a prefix
     * declared on the element itself, single quotes. */
    CU_ASSERT_EQUAL(
        scan(ENV_OPEN "<s:Body><n:A><n:b i:type='hexBinary'>00</n:b></n:A></s:Body>", 8),
        NIMBUS_SOAP_SCAN_BINARY_TYPE);
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body><n:A><n:b i:type=\"e:base64\"/></n:A></s:Body>", 8),
                    NIMBUS_SOAP_SCAN_BINARY_TYPE);
    CU_ASSERT_EQUAL(scan("<s:Envelope xmlns:s=\"x\"><s:Body><n:A><n:b "
                         "xmlns:q=\"http://www.w3.org/2001/XMLSchema-instance\" "
                         "q:type=\"xsd:base64Binary\">AA==</n:b></n:A></s:Body></s:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_BINARY_TYPE);
    /* Text types, a binary type in a header, an attribute that is not
     * xsi:type, and base64Binary as text content all pass. */
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body><n:A><n:b i:type=\"xsd:string\">x</n:b>"
                                  "<n:c i:type=\"xsd:float\">1.5</n:c></n:A></s:Body></s:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan(ENV_OPEN
                         "<s:Header><h:T xmlns:h=\"urn:h\" i:type=\"xsd:base64Binary\">AA=="
                         "</h:T></s:Header><s:Body><n:A/></s:Body></s:Envelope>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    CU_ASSERT_EQUAL(scan(ENV_OPEN "<s:Body><n:A><n:b type=\"xsd:base64Binary\" "
                                  "z:type=\"base64Binary\">base64Binary</n:b></n:A></s:Body>",
                         8),
                    NIMBUS_SOAP_SCAN_OK);
    /* A malformed attribute is gSOAP's to refuse. */
    CU_ASSERT_EQUAL(
        scan(ENV_OPEN "<s:Body><n:A><n:b i:type=base64Binary>x</n:b></n:A></s:Body>", 8),
        NIMBUS_SOAP_SCAN_OK);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("soap_scan", NULL, NULL);
    if (!s || !CU_add_test(s, "declarations", test_declarations) ||
        !CU_add_test(s, "depth", test_depth) || !CU_add_test(s, "binary_type", test_binary_type)) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed == 0 ? 0 : 1;
}
