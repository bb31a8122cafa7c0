/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Helpers for the gSOAP-client test (test_soap_client.c): a client context
 * per call, authenticated one of four ways, for SOAP 1.1 or 1.2, and one
 * check of the contract's Fault shape (faultcode side, HTTP status,
 * ServiceFault detail code). Calls go through the stubs soapcpp2 generated
 * from wsdl/nimbus.wsdl at build time.
 */
#ifndef NIMBUS_SOAP_CLIENT_UTIL_H
#define NIMBUS_SOAP_CLIENT_UTIL_H

#include "soapH.h"

extern char nimbus_test_url[512]; /* "http://127.0.0.1:PORT/soap" */
extern int nimbus_test_version;   /* 1 or 2: which binding the calls use */

typedef enum test_auth { AUTH_NONE, AUTH_BASIC, AUTH_BEARER, AUTH_WSSE } test_auth_t;
typedef struct test_key {
    const char *name;
    const char *secret;
} test_key_t;

/* The keys the server is started with (see tests/soap/CMakeLists.txt). */
extern const test_key_t KEY_ADMIN, KEY_WRITER, KEY_READER, KEY_WRONG;

/* A client for one call; free with test_client_free. Never NULL (fatal
 * assertion otherwise). */
struct soap *test_client(test_auth_t how, test_key_t key);
void test_client_free(struct soap *soap);

/* Asserts that rc/soap carry a Fault with ServiceFault code `code` (e.g.
 * "NOT_FOUND"), a Client/Sender faultcode and the HTTP status the contract
 * gives for the version in use. */
void test_expect_fault(struct soap *soap, int rc, const char *code, int line);
#define EXPECT_FAULT(soap, rc, code) test_expect_fault((soap), (rc), (code), __LINE__)

/* Asserts a successful call (HTTP 200). */
void test_expect_ok(struct soap *soap, int rc, int line);
#define EXPECT_OK(soap, rc) test_expect_ok((soap), (rc), __LINE__)

/* Calls operation Op over the binding of nimbus_test_version. */
#define CALL(Op, soap, req, res)                                                                   \
    (nimbus_test_version == 2                                                                      \
         ? soap_call___nimbus__##Op##_((soap), nimbus_test_url, NULL, (req), (res))                \
         : soap_call___nimbus__##Op((soap), nimbus_test_url, NULL, (req), (res)))

/* A station in soap's memory; elevation NULL means absent. */
struct nimbus__Station *test_station(struct soap *soap, const char *id, const char *city,
                                     double latitude, const double *elevation);
/* An observation in soap's memory with a temperature; station_id may be
 * NULL (omitted). */
struct nimbus__Observation *test_observation(struct soap *soap, const char *station_id,
                                             const char *observed_at, double temperature);
/* "s11-<suffix>" or "s12-<suffix>" in soap's memory: ids differ per version
 * because both versions share one server. */
char *test_id(struct soap *soap, const char *suffix);

#endif
