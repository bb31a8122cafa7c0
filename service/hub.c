/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The event hub: listeners that hear about every observation stored (new or
 * corrected). The listener list is guarded by the core's hub lock, the
 * same lock under which the writer moves the head seq and publishes each
 * committed group, which gives the hub its guarantees for free: listeners are called in seq order;
 * registering reads the head seq atomically with joining the list, so a listener misses nothing
 * after that seq and sees nothing up to it; and once nimbus_core_unlisten has taken the lock, no
 * publication is running, so the listener is never called again.
 */
#include <limits.h>
#include <stdlib.h>

#include "service_internal.h"

static bool id_in_use(const nimbus_core_t *core, int id)
{
    for (size_t i = 0; i < core->listener_count; i++) {
        if (core->listeners[i].id == id) {
            return true;
        }
    }
    return false;
}

/* The next id > 0 that no registered listener holds. Ids wrap from INT_MAX
 * back to 1 without a signed overflow, and after a wrap an id still held by
 * a long-lived listener is skipped: unlistening the newcomer must never
 * remove the old one. There are at most NIMBUS__LISTENER_MAX listeners, so
 * a free id is always found. Caller holds the hub lock. */
static int next_free_id(nimbus_core_t *core)
{
    for (;;) {
        int id = core->next_listener_id;
        core->next_listener_id = id == INT_MAX ? 1 : id + 1;
        if (!id_in_use(core, id)) {
            return id;
        }
    }
}

int nimbus_core_listen(nimbus_core_t *core, nimbus_hub_listener_fn fn, void *arg, int64_t *head_seq,
                       nimbus_error_t *err)
{
    if (fn == NULL) {
        return nimbus_error_set(err, NIMBUS_INTERNAL, "listener function is required");
    }
    pthread_mutex_lock(&core->hub_lock);
    nimbus__listener_t *grown = NULL;
    if (core->listener_count < NIMBUS__LISTENER_MAX) {
        grown = nimbus_grow(core->listeners, &core->listener_cap, core->listener_count + 1,
                            sizeof(*grown), 16);
    }
    if (grown == NULL) {
        pthread_mutex_unlock(&core->hub_lock);
        return nimbus_error_set(err, NIMBUS_RESOURCE_EXHAUSTED, "too many stream listeners");
    }
    core->listeners = grown;
    int id = next_free_id(core);
    core->listeners[core->listener_count++] = (nimbus__listener_t){id, fn, arg};
    if (head_seq != NULL) {
        *head_seq = atomic_load(&core->head_seq);
    }
    pthread_mutex_unlock(&core->hub_lock);
    return id;
}

void nimbus_core_unlisten(nimbus_core_t *core, int id)
{
    pthread_mutex_lock(&core->hub_lock);
    for (size_t i = 0; i < core->listener_count; i++) {
        if (core->listeners[i].id == id) {
            core->listeners[i] = core->listeners[--core->listener_count];
            break;
        }
    }
    pthread_mutex_unlock(&core->hub_lock);
}

void nimbus__hub_publish(nimbus_core_t *core, const nimbus_observation_t *obs, size_t count)
{
    for (size_t i = 0; i < core->listener_count; i++) {
        core->listeners[i].fn(core->listeners[i].arg, obs, count);
    }
}
