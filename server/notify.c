/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The service manager notifications of notify.h, through libsystemd's
 * sd_notify (the protocol is a datagram to $NOTIFY_SOCKET; libsystemd is
 * the reference implementation, and a Debian package like every other
 * dependency). A notification that cannot be sent is logged, never fatal:
 * the server serves either way, and systemd says itself what it missed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "nimbus_log.h"
#include "notify.h"

static void send_state(const char *state)
{
    /* 0: keep NOTIFY_SOCKET in the environment for the later calls. */
    int rc = sd_notify(0, state);
    if (rc < 0) {
        nimbus_log(NIMBUS_LOG_WARN, "cannot notify the service manager: %s", strerror(-rc));
    }
}

void nimbus__notify_ready(const char *url, int workers)
{
    char state[512];
    snprintf(state, sizeof state, "READY=1\nSTATUS=listening on %s, %d worker%s", url, workers,
             workers == 1 ? "" : "s");
    send_state(state);
}

void nimbus__notify_reloading(void)
{
    /* systemd 253 and newer match RELOADING=1 to the reload by this
     * CLOCK_MONOTONIC timestamp; older ones ignore it. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char state[128];
    snprintf(state, sizeof state, "RELOADING=1\nSTATUS=reloading\nMONOTONIC_USEC=%llu",
             (unsigned long long)now.tv_sec * 1000000ULL +
                 (unsigned long long)now.tv_nsec / 1000ULL);
    send_state(state);
}

void nimbus__notify_stopping(void)
{
    send_state("STOPPING=1\nSTATUS=stopping");
}
