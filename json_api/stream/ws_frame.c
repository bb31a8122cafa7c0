/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Frame-header pre-check, fragment tracking, server frame headers and text
 * validation (see ws_frame.h). The header of an incoming frame is read from
 * a copy of the input's first bytes; nothing is consumed, so wslay still
 * parses every frame itself.
 */
#include "ws_frame.h"

#include "nimbus_types.h"

int64_t nimbus__ws_frame_size(const unsigned char *h, size_t avail)
{
    if (avail < 2) {
        return 0;
    }
    unsigned opcode = h[0] & 0x0fu, len7 = h[1] & 0x7fu;
    bool fin = (h[0] & 0x80u) != 0, masked = (h[1] & 0x80u) != 0;
    if ((opcode & 0x8u) && (!fin || len7 > 125)) {
        return -1;
    }
    /* A close body, when there is one, starts with a 2-byte code (5.5.1). */
    if (opcode == 0x8u && len7 == 1) {
        return -1;
    }
    size_t head = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (masked ? 4 : 0);
    if (avail < head) {
        return 0;
    }
    uint64_t len = len7;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        /* "the minimal number of bytes MUST be used" (5.2): wslay refuses a
         * longer form than needed, but closes without a status code. */
        if (len < 126) {
            return -1;
        }
    }
    if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++) {
            len = len << 8 | h[i];
        }
        /* The top bit must be 0 (5.2); the next one would overflow int64
         * once the header is added, and no message can be that long. */
        if (len >> 62 || len <= 0xffffu) {
            return -1;
        }
    }
    return (int64_t)(head + len);
}

bool nimbus__ws_fragment_open(unsigned char b0, bool was_open)
{
    unsigned opcode = b0 & 0x0fu;
    bool fin = (b0 & 0x80u) != 0;
    if (opcode == 0x1u || opcode == 0x2u) {
        return !fin;
    }
    if (opcode == 0x0u) {
        return was_open && !fin;
    }
    return was_open;
}

size_t nimbus__ws_frame_header(unsigned char out[NIMBUS_WS_SERVER_HEADER_MAX], unsigned opcode,
                               uint64_t payload_len)
{
    out[0] = (unsigned char)(0x80u | (opcode & 0x0fu));
    if (payload_len < 126) {
        out[1] = (unsigned char)payload_len;
        return 2;
    }
    if (payload_len <= 0xffff) {
        out[1] = 126;
        out[2] = (unsigned char)(payload_len >> 8);
        out[3] = (unsigned char)payload_len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++) {
        out[2 + i] = (unsigned char)(payload_len >> (56 - 8 * i));
    }
    return 10;
}

bool nimbus__ws_text_valid(const unsigned char *data, size_t len)
{
    return nimbus_utf8_length((const char *)data, len) >= 0;
}
