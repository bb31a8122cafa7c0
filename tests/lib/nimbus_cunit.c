/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * See nimbus_cunit.h. Counting the registered tests lets a failed suite
 * set-up (whose tests CUnit then skips) fail the program instead of
 * passing with fewer tests run.
 */
#include "nimbus_cunit.h"

#include <CUnit/Basic.h>

int nimbus_test_run_suites(const nimbus_test_suite_t *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        return 2;
    }
    unsigned registered = 0;
    for (const nimbus_test_suite_t *s = suites; s->name != NULL; s++) {
        CU_pSuite suite = CU_add_suite(s->name, s->init, s->cleanup);
        if (suite == NULL) {
            CU_cleanup_registry();
            return 2;
        }
        for (const nimbus_test_case_t *c = s->cases; c->name != NULL; c++, registered++) {
            if (CU_add_test(suite, c->name, c->fn) == NULL) {
                CU_cleanup_registry();
                return 2;
            }
        }
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return failed == 0 && ran == registered && ran > 0 ? 0 : 1;
}

int nimbus_test_run(const char *suite, const nimbus_test_case_t *cases)
{
    const nimbus_test_suite_t suites[] = {{suite, NULL, NULL, cases}, {NULL, NULL, NULL, NULL}};
    return nimbus_test_run_suites(suites);
}
