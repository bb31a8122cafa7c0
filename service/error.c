/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The error model's functions: filling a nimbus_error_t and the tables that
 * map each code to its contract spelling, REST status and SOAP fault side.
 * Nothing here allocates, so an error can be reported even when memory has
 * run out.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nimbus_error.h"

typedef struct code_info {
    const char *name;
    int status;
    bool server;
} code_info_t;

static const code_info_t code_table[NIMBUS_CODE_COUNT] = {[NIMBUS_OK] = {"OK", 200, false},
#define NIMBUS_X_INFO(n, s, srv) [NIMBUS_##n] = {#n, s, srv},
                                                          NIMBUS_ERROR_CODES(NIMBUS_X_INFO)
#undef NIMBUS_X_INFO
};

void nimbus_error_clear(nimbus_error_t *err)
{
    if (err == NULL) {
        return;
    }
    err->code = NIMBUS_OK;
    err->message[0] = '\0';
    err->retry_after_s = 0;
}

int nimbus_error_set(nimbus_error_t *err, nimbus_code_t code, const char *fmt, ...)
{
    if (err == NULL) {
        return -1;
    }
    err->code = code;
    err->retry_after_s = 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        err->message[0] = '\0';
    }
    return -1;
}

const char *nimbus_code_name(nimbus_code_t code)
{
    if ((int)code <= (int)NIMBUS_OK || code >= NIMBUS_CODE_COUNT) {
        return code == NIMBUS_OK ? code_table[NIMBUS_OK].name : "INTERNAL";
    }
    return code_table[code].name;
}

bool nimbus_code_from_name(const char *name, nimbus_code_t *code)
{
    if (name == NULL) {
        return false;
    }
    for (int c = NIMBUS_OK + 1; c < NIMBUS_CODE_COUNT; c++) {
        if (strcmp(code_table[c].name, name) == 0) {
            if (code != NULL) {
                *code = (nimbus_code_t)c;
            }
            return true;
        }
    }
    return false;
}

int nimbus_code_http_status(nimbus_code_t code)
{
    if ((int)code < (int)NIMBUS_OK || code >= NIMBUS_CODE_COUNT) {
        return 500;
    }
    return code_table[code].status;
}

bool nimbus_code_is_server_fault(nimbus_code_t code)
{
    if ((int)code <= (int)NIMBUS_OK || code >= NIMBUS_CODE_COUNT) {
        return true;
    }
    return code_table[code].server;
}
