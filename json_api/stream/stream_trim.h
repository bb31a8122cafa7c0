/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * When a worker gives the memory of closed sessions back to the system.
 * glibc keeps freed heap for reuse (a thread's arena shrinks only from its
 * top), so after thousands of sessions close the process would keep their
 * memory for good. malloc_trim(0) returns the free pages of every arena,
 * but it walks the free chunks holding each arena's lock, so it is run only
 * when it can return much, and never per connection: once the worker has
 * lost, since its peak, at least NIMBUS_STREAM_TRIM_MIN sessions and an
 * eighth of the peak, a timer trims when no session has closed for
 * NIMBUS_STREAM_TRIM_QUIET_MS (a burst of closes is over: trimming in its
 * middle would return little and, resetting the peak, miss the rest), or
 * NIMBUS_STREAM_TRIM_WAIT_MAX_MS after it became due if closes never
 * pause. Sessions that come and go at a steady count trigger nothing:
 * their memory is reused.
 *
 * A trim returns only whole free pages, and libevent would leave a small
 * live record between every two connections (see
 * nimbus__stream_worker_reserve_fds), so a worker makes those records in
 * blocks of NIMBUS_STREAM_FD_BLOCK descriptor numbers.
 */
#ifndef NIMBUS_STREAM_TRIM_H
#define NIMBUS_STREAM_TRIM_H

#include <stdbool.h>
#include <stddef.h>

/* Descriptor numbers whose libevent records a worker makes at a time
 * (stream_worker.c, nimbus__stream_worker_reserve_fds). */
#define NIMBUS_STREAM_FD_BLOCK 1024
#define NIMBUS_STREAM_TRIM_MIN 256          /* sessions closed since the peak */
#define NIMBUS_STREAM_TRIM_QUIET_MS 500     /* after the last close */
#define NIMBUS_STREAM_TRIM_WAIT_MAX_MS 5000 /* after the close that made it due */

/* Whether a trim is due on a worker that had `peak` sessions open at most
 * since its last trim and has `open` now. */
bool nimbus__stream_trim_due(size_t peak, size_t open);

/* Returns free heap memory to the system (malloc_trim on glibc; nothing
 * elsewhere). */
void nimbus__stream_trim(void);

#endif
