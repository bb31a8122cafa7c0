/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fan-out queue (see stream_hub.h for the guarantees). Two arrays of
 * `capacity` observations are allocated up front and swapped at each take,
 * so publishing never allocates under the core's write lock and taking
 * copies nothing.
 */
#include "stream_hub.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct nimbus_stream_hub {
    pthread_mutex_t lock;
    size_t capacity;
    nimbus_observation_t *queue; /* filled by publishers */
    size_t count;
    int64_t lost_through;
    bool active;
    nimbus_observation_t *taken; /* handed to the worker by the last take */
    nimbus_stream_hub_wake_fn wake;
    void *wake_arg;
};

nimbus_stream_hub_t *nimbus__stream_hub_new(size_t capacity, nimbus_stream_hub_wake_fn wake,
                                            void *wake_arg)
{
    if (capacity == 0) {
        return NULL;
    }
    nimbus_stream_hub_t *hub = calloc(1, sizeof *hub);
    if (!hub) {
        return NULL;
    }
    hub->queue = calloc(capacity, sizeof *hub->queue);
    hub->taken = calloc(capacity, sizeof *hub->taken);
    if (!hub->queue || !hub->taken || pthread_mutex_init(&hub->lock, NULL) != 0) {
        free(hub->queue);
        free(hub->taken);
        free(hub);
        return NULL;
    }
    hub->capacity = capacity;
    hub->wake = wake;
    hub->wake_arg = wake_arg;
    return hub;
}

void nimbus__stream_hub_free(nimbus_stream_hub_t *hub)
{
    if (!hub) {
        return;
    }
    pthread_mutex_destroy(&hub->lock);
    free(hub->queue);
    free(hub->taken);
    free(hub);
}

void nimbus__stream_hub_publish(void *arg, const nimbus_observation_t *obs, size_t count)
{
    nimbus_stream_hub_t *hub = arg;
    if (count == 0) {
        return;
    }
    pthread_mutex_lock(&hub->lock);
    bool was_empty = hub->count == 0 && hub->lost_through == 0;
    for (size_t i = 0; i < count; i++) {
        /* After a loss everything else in the window is lost too, so the
         * window stays "prefix, then lost tail". */
        if (hub->active && hub->lost_through == 0 && hub->count < hub->capacity) {
            hub->queue[hub->count++] = obs[i];
        } else if (obs[i].seq > hub->lost_through) {
            hub->lost_through = obs[i].seq;
        }
    }
    pthread_mutex_unlock(&hub->lock);
    if (was_empty && hub->wake) {
        hub->wake(hub->wake_arg);
    }
}

void nimbus__stream_hub_set_active(nimbus_stream_hub_t *hub, bool active)
{
    pthread_mutex_lock(&hub->lock);
    hub->active = active;
    pthread_mutex_unlock(&hub->lock);
}

bool nimbus__stream_hub_waiting(nimbus_stream_hub_t *hub)
{
    pthread_mutex_lock(&hub->lock);
    bool waiting = hub->count > 0 && hub->lost_through == 0;
    pthread_mutex_unlock(&hub->lock);
    return waiting;
}

bool nimbus__stream_hub_take(nimbus_stream_hub_t *hub, const nimbus_observation_t **items,
                             size_t *count, int64_t *lost_through)
{
    pthread_mutex_lock(&hub->lock);
    nimbus_observation_t *full = hub->queue;
    hub->queue = hub->taken;
    hub->taken = full;
    *items = full;
    *count = hub->count;
    *lost_through = hub->lost_through;
    hub->count = 0;
    hub->lost_through = 0;
    pthread_mutex_unlock(&hub->lock);
    return *count > 0 || *lost_through > 0;
}
