/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Tests of service/op_table.c and op_fields.c: a checklist over the
 * operation table rather than a restatement of it. The rows are the
 * contract's ten operations with their roles (contract "Access") and
 * kinds; every row's request and response field tables are well formed
 * (offsets inside the struct, a rule where the kind needs one, unique
 * names, a list field in every LIST response, paging fields of the right
 * kind); and nimbus_service_call really dispatches each row to its own
 * operation, which a key of each role proves: the role each call demands
 * is the row's.
 */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

static void test_rows(void)
{
    static const struct {
        const char *name;
        nimbus_role_t role;
        nimbus_op_kind_t kind;
    } rows[] = {
        {"ListStations", NIMBUS_ROLE_READ, NIMBUS_OP_KIND_LIST},
        {"GetStation", NIMBUS_ROLE_READ, NIMBUS_OP_KIND_SINGLE},
        {"CreateStation", NIMBUS_ROLE_WRITE, NIMBUS_OP_KIND_SINGLE},
        {"UpdateStation", NIMBUS_ROLE_WRITE, NIMBUS_OP_KIND_SINGLE},
        {"DeleteStation", NIMBUS_ROLE_ADMIN, NIMBUS_OP_KIND_SINGLE},
        {"RecordObservations", NIMBUS_ROLE_WRITE, NIMBUS_OP_KIND_SINGLE},
        {"GetObservations", NIMBUS_ROLE_READ, NIMBUS_OP_KIND_LIST},
        {"GetWeather", NIMBUS_ROLE_READ, NIMBUS_OP_KIND_SINGLE},
        {"GetCityWeather", NIMBUS_ROLE_READ, NIMBUS_OP_KIND_LIST},
        {"GetObservationFeed", NIMBUS_ROLE_READ, NIMBUS_OP_KIND_LIST},
    };
    size_t n = sizeof(rows) / sizeof(rows[0]);
    for (size_t i = 0; i < n; i++) {
        const nimbus_op_info_t *op = nimbus_op_find(rows[i].name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op);
        CU_ASSERT_EQUAL(op->role, rows[i].role);
        CU_ASSERT_EQUAL(op->kind, rows[i].kind);
    }
    /* No row the contract lacks, each row where its enum says. */
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        bool listed = false;
        for (size_t k = 0; k < n; k++) {
            listed = listed || strcmp(nimbus_op_table[i].name, rows[k].name) == 0;
        }
        if (!listed) {
            fprintf(stderr, "\nrow %s is not an operation of the contract\n",
                    nimbus_op_table[i].name);
        }
        CU_ASSERT_TRUE(listed);
        CU_ASSERT_EQUAL((int)nimbus_op_table[i].op, i);
        CU_ASSERT_PTR_EQUAL(nimbus_op_find(nimbus_op_table[i].name), &nimbus_op_table[i]);
    }
    CU_ASSERT_PTR_NULL(nimbus_op_find("liststations"));
    CU_ASSERT_PTR_NULL(nimbus_op_find(NULL));
}

/* One field table: offsets inside the struct, rules and item types where
 * the kind needs them, names unique. Reports the row and field it fails. */
static void check_type(const char *row, const nimbus_type_t *t)
{
    CU_ASSERT_PTR_NOT_NULL(t->name);
    CU_ASSERT_TRUE(t->count == 0 || t->fields != NULL);
    for (size_t i = 0; i < t->count; i++) {
        const nimbus_field_t *f = &t->fields[i];
        bool ok = f->name != NULL && f->offset < t->size;
        switch (f->kind) {
        case NIMBUS_FIELD_CHARS:
            ok = ok && f->size > 1 && f->offset + f->size <= t->size;
            break;
        case NIMBUS_FIELD_STRING:
            ok = ok && f->rule != NULL; /* every client string keeps a rule */
            break;
        case NIMBUS_FIELD_OBJECT:
            ok = ok && f->type != NULL && f->offset + f->type->size <= t->size;
            break;
        case NIMBUS_FIELD_ARRAY:
            ok = ok && f->type != NULL && f->item_name != NULL && f->aux != NIMBUS_FIELD_NO_AUX &&
                 f->aux + sizeof(size_t) <= t->size &&
                 (f->max_items == 0 || f->min_items <= f->max_items);
            break;
        case NIMBUS_FIELD_STRINGS:
            /* A client's strings, each keeping a rule, bounded in number. */
            ok = ok && f->rule != NULL && f->item_name != NULL && f->aux != NIMBUS_FIELD_NO_AUX &&
                 f->aux + sizeof(size_t) <= t->size && f->max_items > 0 &&
                 f->min_items <= f->max_items;
            break;
        case NIMBUS_FIELD_DOUBLE:
        case NIMBUS_FIELD_OPT_DOUBLE:
        case NIMBUS_FIELD_TIME:
        case NIMBUS_FIELD_INT64:
        case NIMBUS_FIELD_INT:
            ok = ok && (f->rule == NULL || f->rule->kind == NIMBUS_RULE_KIND_RANGE ||
                        f->rule->kind == NIMBUS_RULE_KIND_INTEGER);
            break;
        }
        if (f->aux != NIMBUS_FIELD_NO_AUX && f->kind != NIMBUS_FIELD_ARRAY &&
            f->kind != NIMBUS_FIELD_STRINGS) {
            ok = ok && f->aux + sizeof(bool) <= t->size;
        }
        for (size_t k = 0; k < i; k++) {
            ok = ok && strcmp(t->fields[k].name, f->name) != 0;
        }
        if (!ok) {
            fprintf(stderr, "\n%s: field %s.%s is malformed\n", row, t->name, f->name);
        }
        CU_ASSERT_TRUE(ok);
        if (f->type != NULL) {
            check_type(row, f->type);
        }
    }
}

static void test_field_tables(void)
{
    for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
        const nimbus_op_info_t *op = &nimbus_op_table[i];
        CU_ASSERT_PTR_NOT_NULL_FATAL(op->request);
        CU_ASSERT_PTR_NOT_NULL_FATAL(op->response);
        check_type(op->name, op->request);
        check_type(op->name, op->response);
        /* SOAP names the request element Op, the response OpResponse. */
        CU_ASSERT_STRING_EQUAL(op->request->name, op->name);
        char response[64];
        snprintf(response, sizeof response, "%sResponse", op->name);
        CU_ASSERT_STRING_EQUAL(op->response->name, response);
        /* A LIST answer has one list to stream; paging, where offered, is a
         * cursor string and an integer limit, and the answer says where the
         * next page starts. */
        size_t lists = 0;
        for (size_t k = 0; k < op->response->count; k++) {
            lists += op->response->fields[k].kind == NIMBUS_FIELD_ARRAY;
        }
        CU_ASSERT_EQUAL(lists, op->kind == NIMBUS_OP_KIND_LIST ? 1u : 0u);
        const nimbus_field_t *cursor = nimbus_type_field(op->request, "cursor");
        const nimbus_field_t *limit = nimbus_type_field(op->request, "limit");
        if (cursor != NULL) {
            CU_ASSERT_EQUAL(cursor->kind, NIMBUS_FIELD_STRING);
            CU_ASSERT_PTR_NOT_NULL(nimbus_type_field(op->response, "nextCursor"));
        }
        if (limit != NULL) {
            CU_ASSERT_EQUAL(limit->kind, NIMBUS_FIELD_INT64);
            CU_ASSERT_PTR_EQUAL(limit->rule, NIMBUS_RULE(PageLimit));
        }
    }
}

/* Every row reaches its own operation: with a key of role `role`, a call
 * of each row is refused for its role exactly when the row needs more. */
static void test_dispatch(void)
{
    static const char *const specs[] = {"r:read-secret:read", "w:write-secret:write",
                                        "a:admin-secret:admin"};
    static const char *const secrets[] = {"read-secret", "write-secret", "admin-secret"};
    static const nimbus_role_t roles[] = {NIMBUS_ROLE_READ, NIMBUS_ROLE_WRITE, NIMBUS_ROLE_ADMIN};
    nimbus_core_t *core;
    nimbus_service_t *svc;
    nimbus_test_open(&core, &svc);
    nimbus_error_t err;
    for (size_t k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL_FATAL(nimbus_core_add_key(core, specs[k], &err), 0);
    }
    for (size_t k = 0; k < 3; k++) {
        nimbus_credentials_t caller = {NIMBUS_CRED_SECRET, NULL, secrets[k]};
        for (int i = 0; i < NIMBUS_OP_COUNT; i++) {
            const nimbus_op_info_t *op = &nimbus_op_table[i];
            nimbus_request_t req;
            nimbus_response_t res;
            memset(&req, 0, sizeof req);
            memset(&res, 0, sizeof res);
            nimbus_error_clear(&err);
            nimbus_service_call(svc, &caller, op->op, &req, &res, &err);
            nimbus_response_cleanup(op->op, &res);
            bool denied = err.code == NIMBUS_PERMISSION_DENIED;
            CU_ASSERT_EQUAL(denied, roles[k] < op->role);
            if (denied) {
                char needs[32];
                snprintf(needs, sizeof needs, "needs %s", nimbus_role_name(op->role));
                CU_ASSERT_PTR_NOT_NULL(strstr(err.message, needs));
            }
        }
    }
    nimbus_test_close(core, svc);
}

static void test_roles(void)
{
    nimbus_role_t r = NIMBUS_ROLE_NONE;
    CU_ASSERT_TRUE(nimbus_role_from_name("read", &r));
    CU_ASSERT_EQUAL(r, NIMBUS_ROLE_READ);
    CU_ASSERT_TRUE(nimbus_role_from_name("write", &r));
    CU_ASSERT_EQUAL(r, NIMBUS_ROLE_WRITE);
    CU_ASSERT_TRUE(nimbus_role_from_name("admin", &r));
    CU_ASSERT_EQUAL(r, NIMBUS_ROLE_ADMIN);
    CU_ASSERT_FALSE(nimbus_role_from_name("Admin", &r));
    CU_ASSERT_FALSE(nimbus_role_from_name("none", &r));
    CU_ASSERT_FALSE(nimbus_role_from_name(NULL, &r));
    CU_ASSERT_STRING_EQUAL(nimbus_role_name(NIMBUS_ROLE_WRITE), "write");
    /* Roles nest: the enum order is the inclusion order. */
    CU_ASSERT_TRUE(NIMBUS_ROLE_READ < NIMBUS_ROLE_WRITE && NIMBUS_ROLE_WRITE < NIMBUS_ROLE_ADMIN);
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"ten rows as the contract lists them", test_rows},
        {"every row's field tables are well formed", test_field_tables},
        {"every row dispatches to its own operation", test_dispatch},
        {"role names", test_roles},
        {NULL, NULL},
    };
    return nimbus_test_run("op_table", cases);
}
