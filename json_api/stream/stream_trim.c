/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * When and how a worker gives freed memory back (see stream_trim.h); the
 * timer that runs it lives in stream_worker.c.
 */
#include "stream_trim.h"

/* Any libc header defines __GLIBC__ on glibc; the compiler's own stddef.h
 * and stdbool.h, which are all stream_trim.h includes, do not. */
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

bool nimbus__stream_trim_due(size_t peak, size_t open)
{
    size_t closed = peak > open ? peak - open : 0;
    size_t need = peak / 8 > NIMBUS_STREAM_TRIM_MIN ? peak / 8 : NIMBUS_STREAM_TRIM_MIN;
    return closed >= need;
}

void nimbus__stream_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}
