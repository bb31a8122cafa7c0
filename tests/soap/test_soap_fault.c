/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * soap/soap_fault.c: the one rendering of nimbus_error_t as a SOAP Fault.
 * Each code's side (Client/Sender or Server/Receiver) per SOAP version, the
 * ServiceFault detail, and gSOAP's own failures becoming INVALID_ARGUMENT.
 * The HTTP statuses are checked end to end by soap_client (Client/Sender);
 * the Server/Receiver side cannot be provoked from outside, so it is
 * checked here.
 */
#include "nimbus_cunit.h"
#include <string.h>

#include "nimbus_soap_namespaces.h"
#include "soap_internal.h"

static struct soap *soap;

static struct _nimbus__ServiceFault *service_fault(void)
{
    struct SOAP_ENV__Detail *d =
        soap->version == 2 ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
    return d ? d->nimbus__ServiceFault : NULL;
}

static void render(short version, nimbus_code_t code, const char *expect_faultcode)
{
    soap_end(soap);
    soap->fault = NULL;
    soap->version = version;
    nimbus_error_t err;
    nimbus_error_set(&err, code, "something about %s", nimbus_code_name(code));
    CU_ASSERT_EQUAL(nimbus__soap_fault(soap, &err), SOAP_FAULT);
    CU_ASSERT_STRING_EQUAL(*soap_faultcode(soap), expect_faultcode);
    CU_ASSERT_STRING_EQUAL(soap_fault_string(soap), err.message);
    struct _nimbus__ServiceFault *sf = service_fault();
    CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
    CU_ASSERT_STRING_EQUAL(soap_nimbus__ErrorCode2s(soap, sf->code), nimbus_code_name(code));
    CU_ASSERT_STRING_EQUAL(sf->message, err.message);
}

static void test_sides(void)
{
    for (int c = NIMBUS_OK + 1; c < NIMBUS_CODE_COUNT; c++) {
        bool server = nimbus_code_is_server_fault((nimbus_code_t)c);
        render(1, (nimbus_code_t)c, server ? "SOAP-ENV:Server" : "SOAP-ENV:Client");
        render(2, (nimbus_code_t)c, server ? "SOAP-ENV:Receiver" : "SOAP-ENV:Sender");
    }
}

static void test_gsoap_errors(void)
{
    int causes[] = {SOAP_TAG_MISMATCH, SOAP_SYNTAX_ERROR, SOAP_NO_METHOD, SOAP_EOF, SOAP_TYPE};
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++) {
        soap_end(soap);
        soap->fault = NULL;
        soap->version = 2;
        soap->error = causes[i];
        nimbus__soap_fault_from_gsoap(soap);
        CU_ASSERT_EQUAL(soap->error, SOAP_FAULT);
        CU_ASSERT_STRING_EQUAL(*soap_faultcode(soap), "SOAP-ENV:Sender");
        struct _nimbus__ServiceFault *sf = service_fault();
        CU_ASSERT_PTR_NOT_NULL_FATAL(sf);
        CU_ASSERT_STRING_EQUAL(soap_nimbus__ErrorCode2s(soap, sf->code), "INVALID_ARGUMENT");
        CU_ASSERT_PTR_NOT_NULL(strstr(sf->message, "malformed SOAP request: "));
    }
}

int main(void)
{
    soap = soap_new();
    if (!soap) {
        return 1;
    }
    soap_set_namespaces(soap, nimbus_soap11_namespaces);
    static const nimbus_test_case_t cases[] = {
        {"each code's side per version", test_sides},
        {"gSOAP's own errors", test_gsoap_errors},
        {NULL, NULL},
    };
    int status = nimbus_test_run("soap_fault", cases);
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
    return status;
}
