/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The dashboard front-end's one entry point: GET / (the page) and GET
 * /static/NAME (its files), read-only. Everything else of
 * json_api/dashboard is private to it.
 */
#ifndef NIMBUS_DASHBOARD_H
#define NIMBUS_DASHBOARD_H

#include "nimbus_http.h"

void nimbus_dashboard_handle(nimbus_worker_t *w, struct evhttp_request *req);

#endif
