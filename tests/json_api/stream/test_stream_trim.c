/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of json_api/stream/stream_trim.c, when a worker gives closed
 * sessions' memory back: at NIMBUS_STREAM_TRIM_MIN sessions closed since
 * the peak and one short of it, at an eighth of a large peak and one short
 * of it, and never while the count stays at (or above) its peak.
 */
#include "nimbus_cunit.h"

#include "stream_trim.h"

static void test_minimum(void)
{
    size_t min = NIMBUS_STREAM_TRIM_MIN;
    CU_ASSERT_TRUE(nimbus__stream_trim_due(min, 0));
    CU_ASSERT_FALSE(nimbus__stream_trim_due(min - 1, 0));
    CU_ASSERT_TRUE(nimbus__stream_trim_due(1000, 1000 - min));
    CU_ASSERT_FALSE(nimbus__stream_trim_due(1000, 1000 - min + 1));
    /* Below 8 * min the minimum rules, not an eighth. */
    CU_ASSERT_TRUE(nimbus__stream_trim_due(8 * min, 8 * min - min));
    CU_ASSERT_FALSE(nimbus__stream_trim_due(8 * min, 8 * min - min + 1));
}

static void test_eighth_of_a_large_peak(void)
{
    CU_ASSERT_TRUE(nimbus__stream_trim_due(100000, 100000 - 12500));
    CU_ASSERT_FALSE(nimbus__stream_trim_due(100000, 100000 - 12499));
    CU_ASSERT_TRUE(nimbus__stream_trim_due(5000, 5000 - 625));
    CU_ASSERT_FALSE(nimbus__stream_trim_due(5000, 5000 - 624));
}

static void test_steady_count(void)
{
    CU_ASSERT_FALSE(nimbus__stream_trim_due(0, 0));
    CU_ASSERT_FALSE(nimbus__stream_trim_due(5000, 5000));
    CU_ASSERT_FALSE(nimbus__stream_trim_due(10, 5000)); /* never underflows */
}

int main(void)
{
    static const nimbus_test_case_t cases[] = {
        {"at the minimum and one short of it", test_minimum},
        {"at an eighth of a large peak and one short of it", test_eighth_of_a_large_peak},
        {"never while the count holds", test_steady_count},
        {NULL, NULL},
    };
    return nimbus_test_run("stream_trim", cases);
}
