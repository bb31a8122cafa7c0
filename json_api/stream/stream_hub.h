/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The per-worker fan-out queue between the core's event hub and a worker's
 * WebSocket sessions. The core calls listeners on the WRITER's thread under
 * its write lock, so the listener only copies observations into this
 * mutex-protected queue and wakes the worker's loop; the worker takes the
 * whole queue at once and fans out on its own thread.
 *
 * Bounded memory: the queue holds at most `capacity` observations. When it
 * is full, or while the worker has no subscriber (nobody to copy for), an
 * observation is not copied but counted as lost: `lost_through` records the
 * greatest seq dropped, and every observation published after a loss in the
 * same window is dropped too, so a window taken by the worker is always a
 * gap-free prefix followed by a lost tail. The worker then catches its
 * subscribers up from storage for the lost seqs (they are committed before
 * they are published), so a loss costs a read, never an observation.
 */
#ifndef NIMBUS_STREAM_HUB_H
#define NIMBUS_STREAM_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nimbus_types.h"

#define NIMBUS_STREAM_HUB_CAPACITY 8192

typedef struct nimbus_stream_hub nimbus_stream_hub_t;

/* Called (outside the queue's lock) when the queue goes from empty to
 * non-empty, on the publishing thread: it must be thread-safe, e.g.
 * event_active on an event of the worker's base. */
typedef void (*nimbus_stream_hub_wake_fn)(void *arg);

/* A new queue; free with nimbus__stream_hub_free (NULL-safe). NULL when out
 * of memory. The queue starts inactive (copies nothing). */
nimbus_stream_hub_t *nimbus__stream_hub_new(size_t capacity, nimbus_stream_hub_wake_fn wake,
                                            void *wake_arg);
void nimbus__stream_hub_free(nimbus_stream_hub_t *hub);

/* A nimbus_hub_listener_fn: arg is the hub. Any thread. */
void nimbus__stream_hub_publish(void *hub, const nimbus_observation_t *obs, size_t count);

/* Whether observations are copied (true while the worker has subscribers).
 * Thread-safe; takes the queue's lock, so a publish that runs after this
 * returns sees the new value. */
void nimbus__stream_hub_set_active(nimbus_stream_hub_t *hub, bool active);

/*
 * Takes everything queued since the last take. *items is set to an array of
 * *count observations in increasing seq, owned by the hub and valid until
 * the next take or free; *lost_through to the greatest seq dropped in the
 * window (0 when none), which is greater than every item's seq. Worker
 * thread only. Returns true when anything (item or loss) was taken.
 */
bool nimbus__stream_hub_take(nimbus_stream_hub_t *hub, const nimbus_observation_t **items,
                             size_t *count, int64_t *lost_through);

/* Whether a take would now return observations and no loss. Worker
 * thread (any thread would do: it takes the queue's lock). */
bool nimbus__stream_hub_waiting(nimbus_stream_hub_t *hub);

#endif
