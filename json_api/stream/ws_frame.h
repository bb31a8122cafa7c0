/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RFC 6455 checks made on raw bytes, as pure functions so they can be
 * unit-tested without a socket: the frame-header pre-check ws_conn.c runs
 * before handing bytes to wslay (wslay's frame layer fails these cases
 * without a close status code; we answer them with 1002), and the UTF-8
 * check of text messages (1007), which is the core's nimbus_utf8_length.
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
 * byte (too short for its status code, 5.5.1), or a 64-bit length with the
 * most significant bit set (5.2).
 */
int64_t nimbus__ws_frame_size(const unsigned char *head, size_t avail);

/* true when the payload of a text message is valid UTF-8 (8.1). */
bool nimbus__ws_text_valid(const unsigned char *data, size_t len);

#endif
