/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of json_api/ws_frame.c: the frame-header pre-check (sizes of
 * 7-bit, 16-bit and 64-bit lengths, incomplete headers, RFC 6455 5.2 and
 * 5.5 violations) and the UTF-8 check of text messages (RFC 3629 cases:
 * overlong forms, surrogates, code points past U+10FFFF, truncation).
 */
#include <string.h>

#include "nimbus_cunit.h"

#include "ws_frame.h"

static void test_sizes(void)
{
    const unsigned char small[] = {0x81, 0x85, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(small, sizeof small), 2 + 4 + 5);
    const unsigned char unmasked[] = {0x81, 0x05};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(unmasked, 2), 2 + 5);
    const unsigned char mid[] = {0x01, 0xfe, 0x01, 0x00, 9, 9, 9, 9};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(mid, sizeof mid), 4 + 4 + 256);
    const unsigned char big[] = {0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 9, 9, 9, 9};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(big, sizeof big), 10 + 4 + 65536);
    /* Incomplete headers: wait for more. */
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(small, 0), 0);
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(small, 1), 0);
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(small, 5), 0);
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(mid, 3), 0);
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(big, 13), 0);
    /* A control frame of exactly 125 bytes is fine. */
    const unsigned char ping125[] = {0x89, 0xfd, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(ping125, sizeof ping125), 2 + 4 + 125);
}

static void test_violations(void)
{
    const unsigned char frag_ping[] = {0x09, 0x81, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(frag_ping, sizeof frag_ping), -1);
    const unsigned char long_close[] = {0x88, 0xfe, 0x00, 0x7e};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(long_close, 2), -1); /* known from 2 bytes */
    const unsigned char ping126[] = {0x89, 0xfe, 0x00, 0x7e, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(ping126, sizeof ping126), -1);
    const unsigned char close1[] = {0x88, 0x81, 1, 2, 3, 4, 0x03};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(close1, sizeof close1), -1);
    const unsigned char close0[] = {0x88, 0x80, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(close0, sizeof close0), 2 + 4);
    const unsigned char msb[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(msb, sizeof msb), -1);
}

static void test_utf8(void)
{
    const char *good[] = {"",
                          "plain",
                          "caf\xc3\xa9",
                          "\xe2\x82\xac",
                          "\xf0\x9f\x8c\xa7",
                          "\xf4\x8f\xbf\xbf",
                          "\xed\x9f\xbf"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CU_ASSERT_TRUE(nimbus__ws_text_valid((const unsigned char *)good[i], strlen(good[i])));
    }
    const char *bad[] = {"\xff",         "\xc0\xaf",         "\xe0\x80\xaf",
                         "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                         "\x80",         "abc\xc3",          "\xf8\x88\x80\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_FALSE(nimbus__ws_text_valid((const unsigned char *)bad[i], strlen(bad[i])));
    }
    /* Split inside a character: each half alone is invalid, the whole valid. */
    const unsigned char euro[] = {0xe2, 0x82, 0xac};
    CU_ASSERT_FALSE(nimbus__ws_text_valid(euro, 2));
    CU_ASSERT_TRUE(nimbus__ws_text_valid(euro, 3));
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"frame sizes and incomplete headers", test_sizes},
        {"RFC 6455 5.2/5.5 violations", test_violations},
        {"UTF-8 of text messages", test_utf8},
        {NULL, NULL},
    };
    return nimbus_test_run("ws_frame", cases);
}
