//  test_scheduler.c - which queued job runs next (coordinator/scheduler.c).
#include <check.h>

#include "common/heap.h"
#include "coordinator/scheduler.h"
#include "tests/unit/suites.h"

static zj_future_t s_futures[8];

static zj_future_t *
s_future(int index, const char *kind, int priority, double not_before)
{
    zj_future_t *future = &s_futures[index];
    memset(future, 0, sizeof *future);
    future->tag = ZJ_FUTURE_TAG;
    future->job.id = index + 1;
    future->job.kind = (char *) kind;
    future->job.priority = priority;
    future->job.not_before = not_before;
    future->job.state = ZJ_STATE_QUEUED;
    future->slot = ZJ_HEAP_NONE;
    return future;
}

START_TEST(test_scheduler_priority_then_age)
{
    zj_scheduler_t *scheduler = zj_scheduler_new();
    zj_scheduler_push(scheduler, s_future(0, "echo", 0, 0), 100);
    zj_scheduler_push(scheduler, s_future(1, "echo", 5, 0), 100);
    zj_scheduler_push(scheduler, s_future(2, "echo", 0, 0), 100);
    zj_scheduler_push(scheduler, s_future(3, "sleep", 9, 0), 100);
    const char *echo[] = {"echo"};
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[1]);
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[0]);
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[2]);
    ck_assert_ptr_null(zj_scheduler_next(scheduler, echo, 1));
    ck_assert_uint_eq(zj_scheduler_ready(scheduler), 1);
    const char *both[] = {"echo", "sleep"};
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, both, 2), &s_futures[3]);
    zj_scheduler_destroy(&scheduler);
    ck_assert_ptr_null(scheduler);
}
END_TEST

//  Jobs at their last chance wait apart: zj_scheduler_next never gives
//  them, zj_scheduler_next_last_chance gives only them; they count as
//  ready and runnable, are woken into their own heap, and can be removed.
START_TEST(test_scheduler_keeps_last_chances_apart)
{
    zj_scheduler_t *scheduler = zj_scheduler_new();
    zj_scheduler_offer(scheduler, "echo", 1);
    zj_future_t *last = s_future(0, "echo", 9, 0);
    last->last_chance = true;
    zj_scheduler_push(scheduler, last, 100);
    zj_future_t *later = s_future(1, "echo", 0, 150);
    later->last_chance = true;
    zj_scheduler_push(scheduler, later, 100);
    zj_scheduler_push(scheduler, s_future(2, "echo", 0, 0), 100);
    const char *echo[] = {"echo"}, *none[] = {"sleep"};
    ck_assert(zj_scheduler_has_last_chance(scheduler, echo, 1));
    ck_assert(!zj_scheduler_has_last_chance(scheduler, none, 1));
    ck_assert_uint_eq(zj_scheduler_ready(scheduler), 2);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 2);
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[2]);
    ck_assert_ptr_null(zj_scheduler_next(scheduler, echo, 1));
    ck_assert_uint_eq(zj_scheduler_wake(scheduler, 200), 1);
    ck_assert(zj_scheduler_invariants_hold(scheduler));
    zj_scheduler_remove(scheduler, later);
    ck_assert_ptr_eq(zj_scheduler_next_last_chance(scheduler, echo, 1), last);
    ck_assert_ptr_null(zj_scheduler_next_last_chance(scheduler, echo, 1));
    ck_assert(!zj_scheduler_has_last_chance(scheduler, echo, 1));
    ck_assert_uint_eq(zj_scheduler_ready(scheduler), 0);
    ck_assert(zj_scheduler_invariants_hold(scheduler));
    zj_scheduler_destroy(&scheduler);
}
END_TEST

START_TEST(test_scheduler_only_offered_kinds)
{
    zj_scheduler_t *scheduler = zj_scheduler_new();
    zj_scheduler_push(scheduler, s_future(0, "sha256", 0, 0), 100);
    const char *io[] = {"echo", "sleep"};
    ck_assert_ptr_null(zj_scheduler_next(scheduler, io, 2));
    ck_assert_ptr_null(zj_scheduler_next(scheduler, io, 0));
    ck_assert_uint_eq(zj_scheduler_ready_of(scheduler, "sha256"), 1);
    zj_scheduler_destroy(&scheduler);
}
END_TEST

//  Runnable counts the ready jobs of kinds some connected worker offers,
//  in O(1) whatever waits for a kind nobody offers.
START_TEST(test_scheduler_runnable_counts_offered_kinds)
{
    zj_scheduler_t *scheduler = zj_scheduler_new();
    zj_scheduler_push(scheduler, s_future(0, "sha256", 0, 0), 100);
    zj_scheduler_push(scheduler, s_future(1, "echo", 0, 0), 100);
    zj_scheduler_push(scheduler, s_future(2, "echo", 0, 200), 100);
    ck_assert_uint_eq(zj_scheduler_ready(scheduler), 2);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 0);
    ck_assert(!zj_scheduler_is_offered(scheduler, "echo"));
    zj_scheduler_offer(scheduler, "echo", 1);
    zj_scheduler_offer(scheduler, "echo", 1);     //  A second worker
    zj_scheduler_offer(scheduler, "plugin.x", 1); //  Nothing queued yet
    ck_assert(zj_scheduler_is_offered(scheduler, "echo"));
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 1);
    ck_assert_uint_eq(zj_scheduler_wake(scheduler, 300), 1);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 2);
    zj_scheduler_offer(scheduler, "sha256", 1);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 3);
    const char *echo[] = {"echo"};
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[1]);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 2);
    zj_scheduler_remove(scheduler, &s_futures[0]);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 1);
    zj_scheduler_offer(scheduler, "echo", -1);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 1);
    zj_scheduler_offer(scheduler, "echo", -1); //  The last one goes
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 0);
    ck_assert_uint_eq(zj_scheduler_ready(scheduler), 1);
    zj_scheduler_push(scheduler, s_future(3, "plugin.x", 0, 0), 100);
    ck_assert_uint_eq(zj_scheduler_runnable(scheduler), 1);
    ck_assert(zj_scheduler_invariants_hold(scheduler));
    zj_scheduler_destroy(&scheduler);
}
END_TEST

START_TEST(test_scheduler_delays_until_due)
{
    zj_scheduler_t *scheduler = zj_scheduler_new();
    zj_scheduler_push(scheduler, s_future(0, "echo", 0, 150), 100);
    zj_scheduler_push(scheduler, s_future(1, "echo", 0, 120), 100);
    const char *echo[] = {"echo"};
    ck_assert_ptr_null(zj_scheduler_next(scheduler, echo, 1));
    ck_assert_uint_eq(zj_scheduler_delayed(scheduler), 2);
    ck_assert(zj_scheduler_next_wake(scheduler) == 120);
    ck_assert_uint_eq(zj_scheduler_wake(scheduler, 130), 1);
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[1]);
    ck_assert_uint_eq(zj_scheduler_wake(scheduler, 200), 1);
    ck_assert(zj_scheduler_next_wake(scheduler) == 0);
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[0]);
    zj_scheduler_destroy(&scheduler);
}
END_TEST

START_TEST(test_scheduler_remove_ready_and_delayed)
{
    zj_scheduler_t *scheduler = zj_scheduler_new();
    zj_scheduler_push(scheduler, s_future(0, "echo", 0, 0), 100);
    zj_scheduler_push(scheduler, s_future(1, "echo", 0, 500), 100);
    zj_scheduler_push(scheduler, s_future(2, "echo", 0, 0), 100);
    zj_scheduler_remove(scheduler, &s_futures[0]);
    zj_scheduler_remove(scheduler, &s_futures[1]);
    zj_scheduler_remove(scheduler, &s_futures[1]); //  No longer queued
    ck_assert_uint_eq(s_futures[0].slot, ZJ_HEAP_NONE);
    ck_assert_uint_eq(zj_scheduler_ready(scheduler), 1);
    ck_assert_uint_eq(zj_scheduler_delayed(scheduler), 0);
    const char *echo[] = {"echo"};
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[2]);
    zj_scheduler_destroy(&scheduler);
}
END_TEST

//  The job ready longest leads its kind, whatever the priorities: taken
//  by dispatch, removed, or woken late, the order follows.
START_TEST(test_scheduler_oldest_ready_by_kind)
{
    zj_scheduler_t *scheduler = zj_scheduler_new();
    ck_assert_ptr_null(zj_scheduler_oldest(scheduler, "echo"));
    zj_scheduler_push(scheduler, s_future(0, "echo", 0, 0), 100);
    zj_scheduler_push(scheduler, s_future(1, "echo", 9, 0), 101);
    zj_scheduler_push(scheduler, s_future(2, "echo", 0, 150), 102);
    zj_scheduler_push(scheduler, s_future(3, "sleep", 0, 0), 103);
    ck_assert_ptr_eq(zj_scheduler_oldest(scheduler, "echo"), &s_futures[0]);
    ck_assert_double_eq(s_futures[0].ready_since, 100);
    ck_assert_ptr_eq(zj_scheduler_oldest(scheduler, "sleep"), &s_futures[3]);
    //  Priority 9 runs first; the oldest stays.
    const char *echo[] = {"echo"};
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[1]);
    ck_assert_ptr_eq(zj_scheduler_oldest(scheduler, "echo"), &s_futures[0]);
    zj_scheduler_remove(scheduler, &s_futures[0]);
    ck_assert_ptr_null(zj_scheduler_oldest(scheduler, "echo"));
    //  The delayed one is ready from its wake, not from its push.
    zj_scheduler_wake(scheduler, 160);
    ck_assert_ptr_eq(zj_scheduler_oldest(scheduler, "echo"), &s_futures[2]);
    ck_assert_double_eq(s_futures[2].ready_since, 160);
    //  Pushed again after a run, it is ready last.
    s_futures[1].job.state = ZJ_STATE_QUEUED;
    zj_scheduler_push(scheduler, &s_futures[1], 170);
    ck_assert_ptr_eq(zj_scheduler_oldest(scheduler, "echo"), &s_futures[2]);
    ck_assert_ptr_eq(zj_scheduler_next(scheduler, echo, 1), &s_futures[1]);
    ck_assert_ptr_eq(zj_scheduler_oldest(scheduler, "echo"), &s_futures[2]);
    ck_assert(zj_scheduler_invariants_hold(scheduler));
    zj_scheduler_destroy(&scheduler);
}
END_TEST

Suite *
test_scheduler_suite(void)
{
    Suite *suite = suite_create("scheduler");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_scheduler_priority_then_age);
    tcase_add_test(tcase, test_scheduler_only_offered_kinds);
    tcase_add_test(tcase, test_scheduler_runnable_counts_offered_kinds);
    tcase_add_test(tcase, test_scheduler_delays_until_due);
    tcase_add_test(tcase, test_scheduler_remove_ready_and_delayed);
    tcase_add_test(tcase, test_scheduler_keeps_last_chances_apart);
    tcase_add_test(tcase, test_scheduler_oldest_ready_by_kind);
    suite_add_tcase(suite, tcase);
    return suite;
}
