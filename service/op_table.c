/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Looking rows of the operation table up (its data is in op_fields.c), the
 * one dispatch from a row to its nimbus_service_<snake> and its response's
 * cleanup, the asynchronous call (which also says which rows write: a
 * switch that names every row), and the role names. Role checks, the JSON
 * call, REST, WebSocket dispatch and the OpenAPI document all read this one
 * table.
 *
 * A row whose nimbus_service_<snake> nobody wrote fails to link here,
 * naming it.
 */
#include <string.h>

#include "service_internal.h"

const nimbus_op_info_t *nimbus_op_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    /* Most callers pass the table's own pointer (the metrics of every
     * answer): a pointer match first spares a strcmp per operation. */
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        if (nimbus_op_table[i].name == name) {
            return &nimbus_op_table[i];
        }
    }
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        if (strcmp(nimbus_op_table[i].name, name) == 0) {
            return &nimbus_op_table[i];
        }
    }
    return NULL;
}

int nimbus_service_call(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                        const nimbus_request_t *request, nimbus_response_t *response,
                        nimbus_error_t *err)
{
    switch (op) {
#define NIMBUS_X_CALL(Name, snake, role, kind)                                                     \
    case NIMBUS_OP_##Name:                                                                         \
        return nimbus_service_##snake(svc, caller, &request->snake, &response->snake, err);
        NIMBUS_OPERATIONS(NIMBUS_X_CALL)
#undef NIMBUS_X_CALL
    }
    return nimbus_error_set(err, NIMBUS_INTERNAL, "no operation %d", (int)op);
}

/* The job of a write operation (its checks passed), or NULL for a read:
 * the one place that says which operations write. */
static int write_job(nimbus_service_t *svc, const nimbus_credentials_t *caller, nimbus_op_t op,
                     const nimbus_request_t *req, nimbus__job_t **job, nimbus_error_t *err)
{
    *job = NULL;
    switch (op) {
    case NIMBUS_OP_CreateStation:
        return nimbus__create_station_job(svc, caller, &req->create_station, job, err);
    case NIMBUS_OP_UpdateStation:
        return nimbus__update_station_job(svc, caller, &req->update_station, job, err);
    case NIMBUS_OP_DeleteStation:
        return nimbus__delete_station_job(svc, caller, &req->delete_station, job, err);
    case NIMBUS_OP_RecordObservations:
        return nimbus__record_observations_job(svc, caller, &req->record_observations, job, err);
    case NIMBUS_OP_ListStations:
    case NIMBUS_OP_GetStation:
    case NIMBUS_OP_GetObservations:
    case NIMBUS_OP_GetWeather:
    case NIMBUS_OP_GetCityWeather:
    case NIMBUS_OP_GetObservationFeed:
        break;
    }
    return 0;
}

void nimbus_service_call_async(nimbus_service_t *svc, const nimbus_credentials_t *caller,
                               nimbus_op_t op, const nimbus_request_t *request,
                               nimbus_response_t *response, nimbus_call_done_fn done, void *arg)
{
    nimbus_error_t err;
    nimbus_error_clear(&err);
    nimbus__job_t *job = NULL;
    int rc = write_job(svc, caller, op, request, &job, &err);
    if (rc == 0 && job == NULL) {
        rc = nimbus_service_call(svc, caller, op, request, response, &err); /* a read */
    } else if (rc == 0 && svc->wake == NULL) {
        rc = nimbus__job_run(svc, job, response, &err);
    } else if (rc == 0) {
        nimbus__job_submit(svc, job, response, done, arg);
        return;
    }
    done(arg, rc, &err);
}

void nimbus_response_cleanup(nimbus_op_t op, nimbus_response_t *res)
{
    switch (op) {
#define NIMBUS_X_CLEANUP(Name, snake, role, kind)                                                  \
    case NIMBUS_OP_##Name:                                                                         \
        nimbus_##snake##_response_cleanup(&res->snake);                                            \
        return;
        NIMBUS_OPERATIONS(NIMBUS_X_CLEANUP)
#undef NIMBUS_X_CLEANUP
    }
}

const char *nimbus_role_name(nimbus_role_t role)
{
    switch (role) {
    case NIMBUS_ROLE_READ:
        return "read";
    case NIMBUS_ROLE_WRITE:
        return "write";
    case NIMBUS_ROLE_ADMIN:
        return "admin";
    case NIMBUS_ROLE_NONE:
        break;
    }
    return "none";
}

bool nimbus_role_from_name(const char *name, nimbus_role_t *role)
{
    static const nimbus_role_t roles[] = {NIMBUS_ROLE_READ, NIMBUS_ROLE_WRITE, NIMBUS_ROLE_ADMIN};
    if (name == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
        if (strcmp(nimbus_role_name(roles[i]), name) == 0) {
            if (role != NULL) {
                *role = roles[i];
            }
            return true;
        }
    }
    return false;
}
