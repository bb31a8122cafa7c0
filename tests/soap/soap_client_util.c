/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * See soap_client_util.h. The Fault check is the contract's "Errors" table
 * seen from a generated client: SOAP 1.1 faults arrive with HTTP 500 and
 * faultcode Client; SOAP 1.2 Sender faults with HTTP 400 and Code Sender;
 * both with <ServiceFault><code/><message/></ServiceFault> as the detail.
 */
#include "soap_client_util.h"

#include <CUnit/CUnit.h>
#include <string.h>

#include "nimbus_soap_namespaces.h"

char nimbus_test_url[512];
int nimbus_test_version = 1;

const test_key_t KEY_ADMIN = {"admin", "adm1n-secret"};
const test_key_t KEY_WRITER = {"writer", "wr1ter-secret"};
const test_key_t KEY_READER = {"reader", "re4der-secret"};
const test_key_t KEY_WRONG = {"admin", "not-the-secret"};

#define PASSWORD_TEXT                                                                              \
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#"          \
    "PasswordText"

static void add_username_token(struct soap *soap, test_key_t key)
{
    struct SOAP_ENV__Header *h = soap_new_SOAP_ENV__Header(soap, -1);
    struct _wsse__Security *sec = soap_new__wsse__Security(soap, -1);
    struct _wsse__UsernameToken *ut = soap_new__wsse__UsernameToken(soap, -1);
    struct _wsse__Password *pw = soap_new__wsse__Password(soap, -1);
    CU_ASSERT_FATAL(h && sec && ut && pw);
    pw->__item = (char *)key.secret;
    pw->Type = PASSWORD_TEXT;
    ut->Username = (char *)key.name;
    ut->Password = pw;
    sec->UsernameToken = ut;
    h->wsse__Security = sec;
    soap->header = h;
}

struct soap *test_client(test_auth_t how, test_key_t key)
{
    struct soap *soap = soap_new1(SOAP_C_UTFSTRING | SOAP_XML_STRICT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(soap);
    soap_set_namespaces(soap, nimbus_test_version == 2 ? nimbus_soap12_namespaces
                                                       : nimbus_soap11_namespaces);
    soap->connect_timeout = 10;
    soap->send_timeout = 30;
    soap->recv_timeout = 30;
    switch (how) {
    case AUTH_BASIC:
        soap->userid = key.name;
        soap->passwd = key.secret;
        break;
    case AUTH_BEARER:
        soap->bearer = key.secret;
        break;
    case AUTH_WSSE:
        add_username_token(soap, key);
        break;
    case AUTH_NONE:
        break;
    }
    return soap;
}

void test_client_free(struct soap *soap)
{
    if (!soap) {
        return;
    }
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
}

static void check(int ok, int line, const char *what)
{
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, what, __FILE__, "", CU_FALSE);
}

void test_expect_ok(struct soap *soap, int rc, int line)
{
    if (rc != SOAP_OK) {
        fprintf(stderr, "line %d: unexpected failure (SOAP %d, HTTP %d): %s\n", line, rc,
                soap->status, soap_fault_string(soap) ? soap_fault_string(soap) : "?");
    }
    check(rc == SOAP_OK, line, "call succeeds");
    check(soap->status == 200, line, "HTTP 200");
}

void test_expect_fault(struct soap *soap, int rc, const char *code, int line)
{
    /* gSOAP reports a Client/Sender Fault as SOAP_CLI_FAULT: every code
     * tested here is the client's side. */
    check(rc == SOAP_CLI_FAULT, line, "call answers with a Client/Sender Fault");
    if (rc != SOAP_CLI_FAULT) {
        fprintf(stderr, "line %d: expected %s, got SOAP error %d (HTTP %d)\n", line, code, rc,
                soap->status);
        return;
    }
    int v2 = nimbus_test_version == 2;
    check(soap->version == (v2 ? 2 : 1), line, "Fault in the request's SOAP version");
    const char *const *fc = soap_faultcode(soap);
    const char *expect_code = v2 ? "SOAP-ENV:Sender" : "SOAP-ENV:Client";
    check(fc && *fc && strcmp(*fc, expect_code) == 0, line,
          "faultcode Client (1.1) / Sender (1.2)");
    check(soap->status == (v2 ? 400 : 500), line, "HTTP 500 (1.1) / 400 for Sender (1.2)");
    const char *reason = soap_fault_string(soap);
    check(reason && *reason, line, "faultstring carries the message");
    struct SOAP_ENV__Detail *d = v2 ? soap->fault->SOAP_ENV__Detail : soap->fault->detail;
    struct _nimbus__ServiceFault *sf = d ? d->nimbus__ServiceFault : NULL;
    check(sf != NULL, line, "detail holds a ServiceFault");
    if (!sf) {
        return;
    }
    const char *got = soap_nimbus__ErrorCode2s(soap, sf->code);
    if (strcmp(got, code) != 0) {
        fprintf(stderr, "line %d: expected %s, got %s (%s)\n", line, code, got,
                sf->message ? sf->message : "");
    }
    check(strcmp(got, code) == 0, line, "ServiceFault code");
    check(sf->message && reason && strcmp(sf->message, reason) == 0, line,
          "ServiceFault message equals faultstring");
}

struct nimbus__Station *test_station(struct soap *soap, const char *id, const char *city,
                                     double latitude, const double *elevation)
{
    struct nimbus__Station *s = soap_new_nimbus__Station(soap, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    s->id = soap_strdup(soap, id);
    s->name = soap_strdup(soap, "Test station");
    s->city = soap_strdup(soap, city);
    s->country = soap_strdup(soap, "US");
    s->latitude = latitude;
    s->longitude = -73.9857;
    if (elevation) {
        s->elevation = soap_malloc(soap, sizeof *s->elevation);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s->elevation);
        *s->elevation = *elevation;
    }
    return s;
}

struct nimbus__Observation *test_observation(struct soap *soap, const char *station_id,
                                             const char *observed_at, double temperature)
{
    struct nimbus__Observation *o = soap_new_nimbus__Observation(soap, -1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    o->stationId = station_id ? soap_strdup(soap, station_id) : NULL;
    o->observedAt = soap_strdup(soap, observed_at);
    o->temperature = soap_malloc(soap, sizeof *o->temperature);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->temperature);
    *o->temperature = temperature;
    return o;
}

char *test_id(struct soap *soap, const char *suffix)
{
    char buf[64];
    snprintf(buf, sizeof buf, "s1%d-%s", nimbus_test_version, suffix);
    return soap_strdup(soap, buf);
}
