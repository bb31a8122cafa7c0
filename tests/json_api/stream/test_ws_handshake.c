/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of json_api/ws_handshake.c: the RFC 6455 accept value (the
 * RFC's own example, section 1.3), key validation, header token lists and
 * the status each bad upgrade gets.
 */
#include <string.h>

#include "nimbus_cunit.h"

#include "ws_handshake.h"

static void test_accept_rfc_example(void)
{
    char out[NIMBUS_WS_ACCEPT_SIZE];
    CU_ASSERT_EQUAL(nimbus__ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* Unused trailing bits set: still 16 bytes, taken as before. */
    CU_ASSERT_EQUAL(nimbus__ws_accept_key("dGhlIHNhbXBsZSBub25jZR==", out), 0);
    CU_ASSERT_STRING_EQUAL(out, "Zgw8jYXtqX5qJr7MJ1Q/MqzeSRI=");
}

static void test_accept_bad_keys(void)
{
    char out[NIMBUS_WS_ACCEPT_SIZE];
    const char *bad[] = {"",
                         "abc",
                         "dGhlIHNhbXBsZSBub25jZQ=",
                         "dGhlIHNhbXBsZSBub25jZQ===",
                         "dGhlIHNhbXBsZSBub25j!Q==",
                         "dGhlIHNhbXBsZSBub25jZQAA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(nimbus__ws_accept_key(bad[i], out), -1);
        CU_ASSERT_STRING_EQUAL(out, "");
    }
    CU_ASSERT_EQUAL(nimbus__ws_accept_key(NULL, out), -1);
}

static void test_upgrade_check(void)
{
    nimbus_error_t err;
    nimbus_ws_upgrade_headers_t ok = {true, "websocket", "Upgrade",
                                      "dGhlIHNhbXBsZSBub25jZQ==", "13"};
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&ok, &err), 0);

    nimbus_ws_upgrade_headers_t h = ok;
    h.is_get = false;
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&h, &err), 405);
    CU_ASSERT_EQUAL(err.code, NIMBUS_INVALID_ARGUMENT);

    h = ok;
    h.upgrade = NULL;
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&h, &err), 426);
    h = ok;
    h.connection = "keep-alive";
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&h, &err), 426);
    h = ok;
    h.version = "8";
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&h, &err), 426);
    h = ok;
    h.version = NULL;
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&h, &err), 426);
    h = ok;
    h.key = "short";
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&h, &err), 400);
    CU_ASSERT(strstr(err.message, "Sec-WebSocket-Key") != NULL);
    h = ok;
    h.key = NULL;
    CU_ASSERT_EQUAL(nimbus__ws_upgrade_check(&h, &err), 400);
}

static void test_origin(void)
{
    CU_ASSERT_TRUE(nimbus__ws_origin_allowed(NULL, "127.0.0.1:8080", ""));
    CU_ASSERT_TRUE(nimbus__ws_origin_allowed("http://127.0.0.1:8080", "127.0.0.1:8080", ""));
    CU_ASSERT_TRUE(nimbus__ws_origin_allowed("https://Nimbus.example", "nimbus.example", ""));
    CU_ASSERT_FALSE(nimbus__ws_origin_allowed("http://evil.example", "127.0.0.1:8080", ""));
    CU_ASSERT_FALSE(nimbus__ws_origin_allowed("http://127.0.0.1:9999", "127.0.0.1:8080", ""));
    CU_ASSERT_FALSE(nimbus__ws_origin_allowed("null", "127.0.0.1:8080", ""));
    CU_ASSERT_FALSE(nimbus__ws_origin_allowed("http://127.0.0.1:8080", NULL, ""));
    CU_ASSERT_TRUE(nimbus__ws_origin_allowed("http://app.example", "api.example",
                                             "http://x.example, http://app.example"));
    CU_ASSERT_TRUE(nimbus__ws_origin_allowed("http://evil.example", "api.example", "*"));
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"accept value of RFC 6455 1.3", test_accept_rfc_example},
        {"bad keys are refused", test_accept_bad_keys},
        {"upgrade checks and their statuses", test_upgrade_check},
        {"Origin: same host, listed, or none", test_origin},
        {NULL, NULL},
    };
    return nimbus_test_run("ws_handshake", cases);
}
