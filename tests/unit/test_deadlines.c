//  test_deadlines.c - the deadlines of running attempts
//  (coordinator/deadlines.c): due times, the first expired, drops from
//  anywhere in the heap, and the invariants after every step.
#include <check.h>

#include "coordinator/deadlines.h"
#include "tests/unit/suites.h"

START_TEST(test_deadlines_fall_a_grace_after_the_timeout)
{
    zj_deadlines_t *deadlines = zj_deadlines_new(1500);
    ck_assert_int_eq(zj_deadlines_grace(deadlines), 1500);
    ck_assert_int_eq(zj_deadlines_next(deadlines), 0);
    ck_assert_int_eq(zj_deadlines_expired(deadlines, INT64_MAX), 0);
    zj_deadlines_start(deadlines, 7, 1000, 10000);
    ck_assert_int_eq(zj_deadlines_due(deadlines, 7), 12500);
    ck_assert_int_eq(zj_deadlines_due(deadlines, 8), 0);
    ck_assert_int_eq(zj_deadlines_next(deadlines), 12500);
    ck_assert_int_eq(zj_deadlines_expired(deadlines, 12499), 0);
    ck_assert_int_eq(zj_deadlines_expired(deadlines, 12500), 7);
    //  Expired stays held until dropped, once.
    ck_assert_int_eq(zj_deadlines_expired(deadlines, 12500), 7);
    ck_assert(zj_deadlines_drop(deadlines, 7));
    ck_assert(!zj_deadlines_drop(deadlines, 7));
    ck_assert_uint_eq(zj_deadlines_size(deadlines), 0);
    zj_deadlines_destroy(&deadlines);
    ck_assert_ptr_null(deadlines);
}
END_TEST

//  Many deadlines, dropped from anywhere: the rest still expire earliest
//  first (the lower id first among equals).
START_TEST(test_deadlines_expire_in_order_after_drops)
{
    zj_deadlines_t *deadlines = zj_deadlines_new(0);
    for (int64_t id = 1; id <= 1000; id++)
        zj_deadlines_start(deadlines, id, 1 + (id * 7919) % 300, 0);
    ck_assert(zj_deadlines_invariants_hold(deadlines));
    for (int64_t id = 3; id <= 1000; id += 3)
        ck_assert(zj_deadlines_drop(deadlines, id));
    ck_assert(zj_deadlines_invariants_hold(deadlines));
    ck_assert_uint_eq(zj_deadlines_size(deadlines), 667);
    int64_t last_due = 0, last_id = 0, id;
    size_t expired = 0;
    while ((id = zj_deadlines_expired(deadlines, 300))) {
        int64_t due = zj_deadlines_due(deadlines, id);
        ck_assert(id % 3 != 0);
        ck_assert(due > last_due || (due == last_due && id > last_id));
        last_due = due;
        last_id = id;
        ck_assert(zj_deadlines_drop(deadlines, id));
        expired++;
    }
    ck_assert_uint_eq(expired, 667);
    ck_assert(zj_deadlines_invariants_hold(deadlines));
    //  Destroy frees what is still held.
    zj_deadlines_start(deadlines, 5, 10, 0);
    zj_deadlines_destroy(&deadlines);
    ck_assert_ptr_null(deadlines);
}
END_TEST

//  A timeout comes from the network: the due time saturates.
START_TEST(test_deadlines_saturate_for_huge_timeouts)
{
    zj_deadlines_t *deadlines = zj_deadlines_new(3000);
    zj_deadlines_start(deadlines, 1, INT64_MAX, 5000);
    zj_deadlines_start(deadlines, 2, INT64_MAX - 8000, 5000);
    zj_deadlines_start(deadlines, 3, INT64_MAX - 8001, 5000);
    ck_assert_int_eq(zj_deadlines_due(deadlines, 1), INT64_MAX);
    ck_assert_int_eq(zj_deadlines_due(deadlines, 2), INT64_MAX);
    ck_assert_int_eq(zj_deadlines_due(deadlines, 3), INT64_MAX - 1);
    ck_assert_int_eq(zj_deadlines_started(deadlines, 3), 5000);
    ck_assert_int_eq(zj_deadlines_expired(deadlines, INT64_MAX - 2), 0);
    ck_assert(zj_deadlines_invariants_hold(deadlines));
    zj_deadlines_destroy(&deadlines);
}
END_TEST

Suite *
test_deadlines_suite(void)
{
    Suite *suite = suite_create("deadlines");
    TCase *tcase = tcase_create("deadlines");
    tcase_add_test(tcase, test_deadlines_fall_a_grace_after_the_timeout);
    tcase_add_test(tcase, test_deadlines_expire_in_order_after_drops);
    tcase_add_test(tcase, test_deadlines_saturate_for_huge_timeouts);
    suite_add_tcase(suite, tcase);
    return suite;
}
