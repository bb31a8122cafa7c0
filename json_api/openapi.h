/*
 * The OpenAPI 3.1 document of the REST API (GET /v1/openapi.json),
 * generated from the operation table plus per-operation schema pieces, so
 * the document lists exactly the routes the router serves.
 */
#ifndef NIMBUS_OPENAPI_H
#define NIMBUS_OPENAPI_H

#include <event2/buffer.h>
#include <jansson.h>

/* The document as a new jansson value (caller json_decref's it), or NULL
 * when memory ran out. */
json_t *nimbus_openapi_document(void);

/* Appends the document's JSON text to out. Returns 0, or -1 when memory ran
 * out. */
int nimbus_openapi_encode(struct evbuffer *out);

#endif
