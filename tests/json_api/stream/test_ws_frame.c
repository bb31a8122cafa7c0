/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of json_api/ws_frame.c: the frame-header pre-check (sizes of
 * 7-bit, 16-bit and 64-bit lengths, incomplete headers, RFC 6455 5.2 and
 * 5.5 violations), fragment tracking (5.4), the headers of the frames the
 * server writes itself (each length form at its limit and one past it,
 * read back by the pre-check), and the UTF-8 check of text messages (RFC
 * 3629 cases: overlong forms, surrogates, code points past U+10FFFF,
 * truncation).
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
    /* Lengths in a longer form than needed (5.2: the minimal number of
     * bytes MUST be used), at the boundary and one short of it. */
    const unsigned char l16_5[] = {0x81, 0xfe, 0, 5, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(l16_5, sizeof l16_5), -1);
    const unsigned char l16_125[] = {0x81, 0xfe, 0, 125, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(l16_125, sizeof l16_125), -1);
    const unsigned char l16_126[] = {0x81, 0xfe, 0, 126, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(l16_126, sizeof l16_126), 2 + 2 + 4 + 126);
    const unsigned char l64_5[] = {0x81, 0xff, 0, 0, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(l64_5, sizeof l64_5), -1);
    const unsigned char l64_65535[] = {0x81, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(l64_65535, sizeof l64_65535), -1);
    const unsigned char l64_65536[] = {0x81, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4};
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(l64_65536, sizeof l64_65536), 2 + 8 + 4 + 65536);
}

static void test_fragments(void)
{
    /* text without FIN opens, continuations keep it open, FIN ends it */
    CU_ASSERT_TRUE(nimbus__ws_fragment_open(0x01, false));
    CU_ASSERT_TRUE(nimbus__ws_fragment_open(0x02, false));
    CU_ASSERT_TRUE(nimbus__ws_fragment_open(0x00, true));
    CU_ASSERT_FALSE(nimbus__ws_fragment_open(0x80, true));
    /* whole messages open nothing */
    CU_ASSERT_FALSE(nimbus__ws_fragment_open(0x81, false));
    CU_ASSERT_FALSE(nimbus__ws_fragment_open(0x82, false));
    /* control frames between fragments change nothing */
    for (unsigned op = 0x88; op <= 0x8a; op++) {
        CU_ASSERT_TRUE(nimbus__ws_fragment_open((unsigned char)op, true));
        CU_ASSERT_FALSE(nimbus__ws_fragment_open((unsigned char)op, false));
    }
    /* a continuation with nothing open (wslay answers 1002) opens nothing */
    CU_ASSERT_FALSE(nimbus__ws_fragment_open(0x00, false));
    CU_ASSERT_FALSE(nimbus__ws_fragment_open(0x80, false));
}

/* The header for len, checked byte by byte against expect and read back by
 * the pre-check (a server frame is unmasked: header + payload). */
static void check_header(uint64_t len, const unsigned char *expect, size_t expect_len)
{
    unsigned char h[NIMBUS_WS_SERVER_HEADER_MAX];
    size_t n = nimbus__ws_frame_header(h, NIMBUS_WS_OP_TEXT, len);
    CU_ASSERT_EQUAL(n, expect_len);
    CU_ASSERT_EQUAL(memcmp(h, expect, expect_len), 0);
    CU_ASSERT_EQUAL(nimbus__ws_frame_size(h, n), (int64_t)(n + len));
}

static void test_server_headers(void)
{
    const unsigned char empty[] = {0x81, 0};
    check_header(0, empty, sizeof empty);
    const unsigned char l125[] = {0x81, 125};
    check_header(125, l125, sizeof l125);
    const unsigned char l126[] = {0x81, 126, 0, 126};
    check_header(126, l126, sizeof l126);
    const unsigned char l65535[] = {0x81, 126, 0xff, 0xff};
    check_header(65535, l65535, sizeof l65535);
    const unsigned char l65536[] = {0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0};
    check_header(65536, l65536, sizeof l65536);
    const unsigned char l4g[] = {0x81, 127, 0, 0, 0, 1, 0, 0, 0, 1};
    check_header(((uint64_t)1 << 32) + 1, l4g, sizeof l4g);
    unsigned char h[NIMBUS_WS_SERVER_HEADER_MAX];
    CU_ASSERT_EQUAL(nimbus__ws_frame_header(h, NIMBUS_WS_OP_PING, 6), 2);
    CU_ASSERT_EQUAL(h[0], 0x89);
    CU_ASSERT_EQUAL(h[1], 6);
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
        {"fragmented messages open and closed (5.4)", test_fragments},
        {"headers of server frames at each length limit", test_server_headers},
        {"UTF-8 of text messages", test_utf8},
        {NULL, NULL},
    };
    return nimbus_test_run("ws_frame", cases);
}
