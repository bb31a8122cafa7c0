/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 6455 on raw bytes, as pure functions so they can be unit-tested
 * without a socket: the frame-header pre-check ws_conn.c runs before handing
 * bytes to wslay (wslay's frame layer fails these cases without a close
 * status code; we answer them with 1002), whether a fragmented message is
 * open after a frame (ws_conn.c keeps no wslay context between messages,
 * so it must know when one is still needed), the header of the frames the
 * server writes itself, and the UTF-8 check of text messages (1007), which
 * is the core's nimbus_utf8_length.
 */
#ifndef NIMBUS_WS_FRAME_H
#define NIMBUS_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest frame header: 2 bytes, 8 of extended length, 4 of mask key. */
#define NIMBUS_WS_FRAME_HEADER_MAX 14

/*
 * Looks at the first `avail` bytes of a frame (at most
 * NIMBUS_WS_FRAME_HEADER_MAX are read). Returns the whole frame's size
 * (header, mask key and payload), 0 when the header is not complete yet, or
 * -1 for a protocol violation: a control frame that is fragmented or has
 * more than 125 bytes of payload (5.5), a close frame whose body is one
 * byte (too short for its status code, 5.5.1), a 64-bit length with the
 * most significant bit set, or a length in a longer form than it needs
 * (the 16-bit form below 126, the 64-bit form below 65536; 5.2).
 */
int64_t nimbus__ws_frame_size(const unsigned char *head, size_t avail);

/*
 * Whether a fragmented data message is open after a frame whose first
 * header byte is b0, given whether one was open before it (5.4): a text or
 * binary frame without FIN opens one, a continuation frame with FIN ends
 * it, control frames (which may come between fragments) change nothing.
 * Frames that break these rules are refused by wslay (1002); the answer
 * for them only has to be safe, and it is: the connection is closing.
 */
bool nimbus__ws_fragment_open(unsigned char b0, bool was_open);

/* Opcodes of the frames the server writes itself (5.2). */
#define NIMBUS_WS_OP_TEXT 0x1u
#define NIMBUS_WS_OP_PING 0x9u

/* Longest header of a server frame: 2 bytes and 8 of extended length; a
 * server never masks (5.1). */
#define NIMBUS_WS_SERVER_HEADER_MAX 10

/*
 * Writes into out the header of an unfragmented, unmasked frame (FIN set,
 * no reserved bits) with this opcode and payload length, using the shortest
 * length form as 5.2 requires. Returns the header's length (2, 4 or 10).
 */
size_t nimbus__ws_frame_header(unsigned char out[NIMBUS_WS_SERVER_HEADER_MAX], unsigned opcode,
                               uint64_t payload_len);

/* true when the payload of a text message is valid UTF-8 (8.1). */
bool nimbus__ws_text_valid(const unsigned char *data, size_t len);

#endif
