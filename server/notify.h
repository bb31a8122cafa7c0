/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the server tells its service manager (systemd's Type=notify, see
 * packaging/nimbus.service.in): ready once every worker listens, reloading
 * and ready again around a SIGHUP, stopping at SIGINT/SIGTERM. Kept behind
 * these calls so server.c says when, never how. Outside systemd
 * (NOTIFY_SOCKET unset) every call does nothing, so they are unconditional.
 * Main thread only.
 */
#ifndef NIMBUS_NOTIFY_H
#define NIMBUS_NOTIFY_H

/* READY=1, with a STATUS= line that `systemctl status` shows: the URL the
 * server answers on and its worker count. Sent again after a reload. */
void nimbus__notify_ready(const char *url, int workers);
/* RELOADING=1 with the monotonic time systemd (253+) asks for; a
 * nimbus__notify_ready must follow once the reload is done. */
void nimbus__notify_reloading(void);
/* STOPPING=1: the stop has begun; systemd waits for the exit. */
void nimbus__notify_stopping(void);

#endif
