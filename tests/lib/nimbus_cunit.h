/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The one CUnit runner every C test program uses: suites as tables of
 * named test functions, verbose output, and an exit status that is 0 only
 * when every registered test ran (no suite set-up failed) and passed.
 */
#ifndef NIMBUS_CUNIT_H
#define NIMBUS_CUNIT_H

#include <CUnit/CUnit.h>

typedef struct nimbus_test_case {
    const char *name;
    void (*fn)(void);
} nimbus_test_case_t;

typedef struct nimbus_test_suite {
    const char *name;
    CU_InitializeFunc init;          /* may be NULL */
    CU_CleanupFunc cleanup;          /* may be NULL */
    const nimbus_test_case_t *cases; /* ends with {NULL, NULL} */
} nimbus_test_suite_t;

/* Runs the suites (the array ends with a suite whose name is NULL) and
 * returns the process exit status: 0 when every test ran and passed, 1 when
 * one failed or did not run, 2 when CUnit could not be set up. */
int nimbus_test_run_suites(const nimbus_test_suite_t *suites);

/* One suite without set-up or clean-up. */
int nimbus_test_run(const char *suite, const nimbus_test_case_t *cases);

#endif
