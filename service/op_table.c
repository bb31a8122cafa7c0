/*
 * The operation table as data (nimbus_op_table), built from the
 * NIMBUS_OPERATIONS X-macro so it cannot drift from the declarations, and the
 * role names. Role checks, REST routing, WebSocket dispatch and the OpenAPI
 * document all read this one table.
 */
#include <string.h>

#include "nimbus_operations.h"

#define NIMBUS_X_ROW(Name, snake, role, kind, method, path, status)                                \
    {NIMBUS_OP_##Name, #Name, NIMBUS_ROLE_##role, NIMBUS_OP_KIND_##kind, method, path, status},

const nimbus_op_info_t nimbus_op_table[NIMBUS_OP_COUNT] = {NIMBUS_OPERATIONS(NIMBUS_X_ROW)};

#undef NIMBUS_X_ROW

const nimbus_op_info_t *nimbus_op_find(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        if (strcmp(nimbus_op_table[i].name, name) == 0) {
            return &nimbus_op_table[i];
        }
    }
    return NULL;
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
