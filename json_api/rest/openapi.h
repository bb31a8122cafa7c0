/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The OpenAPI 3.1 document of the REST API (GET /v1/openapi.json),
 * written from the binding table, the operation table and the field tables,
 * so the document lists exactly the routes the router serves and the
 * schemas the codecs read and write. Internal to json_api/rest.
 */
#ifndef NIMBUS_OPENAPI_H
#define NIMBUS_OPENAPI_H

#include <stddef.h>

/* The document as JSON text, its one server at base_url (an absolute URL
 * without a trailing slash, nimbus_http_base_url's): heap memory the
 * caller frees, its length in *len; NULL when memory ran out. */
char *nimbus_openapi_text(const char *base_url, size_t *len);

#endif
