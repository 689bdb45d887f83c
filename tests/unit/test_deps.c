//  test_deps.c - jobs that run after others (SUBMIT's after): the table of
//  who waits for whom (coordinator/deps.c), and the state machine that
//  holds a job until each job of its after succeeded, cancels it when one
//  failed or was cancelled, and keeps doing so across a restart.
#include <check.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/heap.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

START_TEST(test_deps_tell_waiters_in_the_order_jobs_finished)
{
    zj_deps_t *deps = zj_deps_new();
    zj_deps_wait(deps, 3, 1);
    zj_deps_wait(deps, 4, 1);
    zj_deps_wait(deps, 4, 2);
    ck_assert_uint_eq(zj_deps_awaited(deps), 2);
    zj_deps_finished(deps, 2, ZJ_STATE_FAILED);
    zj_deps_finished(deps, 1, ZJ_STATE_SUCCEEDED);
    //  Nobody waits for 9: nothing is left to tell of it.
    zj_deps_finished(deps, 9, ZJ_STATE_SUCCEEDED);
    ck_assert_uint_eq(zj_deps_pending(deps), 2);
    int64_t id, *waiters;
    zj_state_t state;
    size_t count;
    ck_assert(zj_deps_next(deps, &id, &state, &waiters, &count));
    ck_assert_int_eq(id, 2);
    ck_assert_int_eq(state, ZJ_STATE_FAILED);
    ck_assert_uint_eq(count, 1);
    ck_assert_int_eq(waiters[0], 4);
    free(waiters);
    ck_assert(zj_deps_next(deps, &id, &state, &waiters, &count));
    ck_assert_int_eq(id, 1);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(waiters[0], 3);
    ck_assert_int_eq(waiters[1], 4);
    free(waiters);
    ck_assert(!zj_deps_next(deps, &id, &state, &waiters, &count));
    ck_assert_uint_eq(zj_deps_awaited(deps), 0);
    //  Waiters still held at the end are freed with the table.
    zj_deps_wait(deps, 6, 5);
    zj_deps_destroy(&deps);
    ck_assert_ptr_null(deps);
}
END_TEST

//  Submits an echo job that runs after ids[0..count).
static int64_t
s_submit_after(zj_testcoord_t *tc, const int64_t *ids, uint32_t count)
{
    zj_job_t spec = {.kind = "echo",
                     .max_attempts = 1,
                     .after = (int64_t *) ids,
                     .after_count = count};
    int64_t id = zj_lifecycle_submit(&tc->jobs, &spec);
    ck_assert_int_gt(id, 0);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    return id;
}

//  Runs job id on w1 (said HELLO) and ends it in state. w1 beats first:
//  building a long chain may take longer than a beat and a half under a
//  sanitizer, and a worker quiet for that long gets no jobs.
static void
s_run(zj_testcoord_t *tc, int64_t id, zj_state_t state)
{
    zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
    zj_testcoord_from_worker(tc, "w1", beat);
    zj_msg_destroy(&beat);
    zj_worker_ep_dispatch(&tc->worker_ep);
    zj_future_t *future = zj_futures_find(tc->futures, id);
    ck_assert_ptr_nonnull(future);
    ck_assert_int_eq(future->job.state, ZJ_STATE_RUNNING);
    zj_job_t result = {.id = id,
                       .attempts = future->job.attempts,
                       .state = state,
                       .no_retry = true,
                       .started_at = zj_now(),
                       .finished_at = zj_now()};
    if (state == ZJ_STATE_SUCCEEDED)
        result.result = "{\"n\": 1}";
    else
        result.error = "boom";
    ck_assert(zj_lifecycle_result(&tc->jobs, &result, "w1"));
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
}

//  A held job: queued, out of the scheduler.
static bool
s_held(zj_testcoord_t *tc, int64_t id)
{
    zj_future_t *future = zj_futures_find(tc->futures, id);
    return future && future->job.state == ZJ_STATE_QUEUED &&
           future->waiting > 0 && future->slot == ZJ_HEAP_NONE;
}

static char *
s_error_of(zj_testcoord_t *tc, int64_t id)
{
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_job_t job = {0};
    ck_assert_int_eq(zj_store_get_job(tc->store, id, &job), 0);
    char *error = job.error ? strdup(job.error) : NULL;
    zj_job_clear(&job);
    return error;
}

//  A diamond: d after b and c, which are after a. Each waits until every
//  job of its after succeeded, and no sooner.
START_TEST(test_a_job_is_held_until_each_job_of_its_after_succeeded)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 8, 0);
    int64_t a = zj_testcoord_submit(tc, "echo", 1);
    int64_t b = s_submit_after(tc, &a, 1);
    int64_t c = s_submit_after(tc, &a, 1);
    int64_t bc[] = {b, c, b};
    int64_t d = s_submit_after(tc, bc, 3);
    ck_assert(s_held(tc, b) && s_held(tc, c) && s_held(tc, d));
    s_run(tc, a, ZJ_STATE_SUCCEEDED);
    ck_assert(!s_held(tc, b) && !s_held(tc, c) && s_held(tc, d));
    s_run(tc, b, ZJ_STATE_SUCCEEDED);
    ck_assert(s_held(tc, d));
    s_run(tc, c, ZJ_STATE_SUCCEEDED);
    ck_assert(!s_held(tc, d));
    s_run(tc, d, ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(zj_testcoord_stored(tc, d, NULL), ZJ_STATE_SUCCEEDED);
    //  The store keeps each job's after.
    sqlite3 *db = zj_testdb_raw();
    char *after =
        zj_testdb_text(db, "SELECT after FROM jobs ORDER BY id DESC LIMIT 1");
    char expected[64];
    snprintf(expected, sizeof expected, "[%lld,%lld,%lld]", (long long) b,
             (long long) c, (long long) b);
    ck_assert_str_eq(after, expected);
    free(after);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A failure cancels the chain behind it, each job naming the one before;
//  a long chain is cancelled without recursion.
START_TEST(test_a_failure_cancels_the_jobs_after_it)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 8, 0);
    int64_t first = zj_testcoord_submit(tc, "echo", 1);
    int64_t previous = first;
    for (int index = 0; index < 5000; index++)
        previous = s_submit_after(tc, &previous, 1);
    s_run(tc, first, ZJ_STATE_FAILED);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 0);
    ck_assert_int_eq(zj_testcoord_stored(tc, first + 1, NULL),
                     ZJ_STATE_CANCELLED);
    ck_assert_int_eq(zj_testcoord_stored(tc, previous, NULL),
                     ZJ_STATE_CANCELLED);
    char *error = s_error_of(tc, first + 1);
    char expected[128];
    snprintf(expected, sizeof expected, "job %lld, which it runs after, failed",
             (long long) first);
    ck_assert_str_eq(error, expected);
    free(error);
    error = s_error_of(tc, previous);
    snprintf(expected, sizeof expected,
             "job %lld, which it runs after, was cancelled",
             (long long) previous - 1);
    ck_assert_str_eq(error, expected);
    free(error);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Jobs of the after that finished already: a success counts at once, a
//  cancel cancels the new job in the same turn.
START_TEST(test_after_finished_jobs_is_decided_at_once)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 8, 0);
    int64_t done = zj_testcoord_submit(tc, "echo", 1);
    s_run(tc, done, ZJ_STATE_SUCCEEDED);
    int64_t gone = zj_testcoord_submit(tc, "echo", 1);
    zj_lifecycle_cancel(&tc->jobs, zj_futures_find(tc->futures, gone));
    int64_t runs = s_submit_after(tc, &done, 1);
    ck_assert(!s_held(tc, runs));
    ck_assert_int_eq(zj_futures_find(tc->futures, runs)->job.state,
                     ZJ_STATE_QUEUED);
    int64_t both[] = {done, gone};
    int64_t never = s_submit_after(tc, both, 2);
    ck_assert_ptr_null(zj_futures_find(tc->futures, never));
    ck_assert_int_eq(zj_testcoord_stored(tc, never, NULL), ZJ_STATE_CANCELLED);
    int64_t unknown = 0;
    zj_job_t spec = {
        .kind = "echo", .after = (int64_t[]){done, 999}, .after_count = 2};
    ck_assert_int_eq(zj_lifecycle_check_after(&tc->jobs, &spec, &unknown),
                     ZJ_ENOTFOUND);
    ck_assert_int_eq(unknown, 999);
    spec.after_count = 1;
    ck_assert_int_eq(zj_lifecycle_check_after(&tc->jobs, &spec, &unknown), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Cancelling a held job cancels the jobs after it; the job it waited for
//  finishing later changes nothing.
START_TEST(test_cancelling_a_held_job_cancels_the_jobs_after_it)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 8, 0);
    int64_t a = zj_testcoord_submit(tc, "echo", 1);
    int64_t b = s_submit_after(tc, &a, 1);
    int64_t c = s_submit_after(tc, &b, 1);
    zj_lifecycle_cancel(&tc->jobs, zj_futures_find(tc->futures, b));
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_int_eq(zj_testcoord_stored(tc, c, NULL), ZJ_STATE_CANCELLED);
    s_run(tc, a, ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(zj_testcoord_stored(tc, b, NULL), ZJ_STATE_CANCELLED);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A held job taken back with its refused SUBMIT waits for nothing more:
//  its id is handed out again, and the job that gets it must not be told
//  about the other's after.
START_TEST(test_a_job_taken_back_waits_for_nothing)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 8, 0);
    int64_t a = zj_testcoord_submit(tc, "echo", 1);
    int64_t b = zj_testcoord_submit(tc, "echo", 1);
    zj_store_mark_t mark = zj_store_mark(tc->store);
    int64_t ab[] = {a, b, a};
    int64_t taken = s_submit_after(tc, ab, 3);
    ck_assert_uint_eq(zj_deps_awaited(tc->deps), 2);
    zj_lifecycle_unsubmit(&tc->jobs, taken);
    zj_store_undo(tc->store, mark);
    ck_assert_uint_eq(zj_deps_awaited(tc->deps), 0);
    int64_t again = s_submit_after(tc, &b, 1);
    ck_assert_int_eq(again, taken);
    s_run(tc, a, ZJ_STATE_SUCCEEDED);
    ck_assert(s_held(tc, again));
    s_run(tc, b, ZJ_STATE_SUCCEEDED);
    ck_assert(!s_held(tc, again));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A restart keeps a job held for the jobs of its after still unfinished,
//  and counts those that succeeded before it.
START_TEST(test_a_held_job_stays_held_across_a_restart)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 8, 0);
    int64_t a = zj_testcoord_submit(tc, "echo", 1);
    int64_t b = zj_testcoord_submit(tc, "echo", 1);
    int64_t ab[] = {a, b};
    int64_t c = s_submit_after(tc, ab, 2);
    s_run(tc, a, ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc);
    tc = zj_testcoord_new();
    ck_assert(s_held(tc, c));
    ck_assert_uint_eq(zj_futures_find(tc->futures, c)->waiting, 1);
    zj_testcoord_hello(tc, "w1", 8, 0);
    s_run(tc, b, ZJ_STATE_SUCCEEDED);
    ck_assert(!s_held(tc, c));
    s_run(tc, c, ZJ_STATE_SUCCEEDED);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_deps_suite(void)
{
    Suite *suite = suite_create("deps");
    TCase *tcase = tcase_create("after");
    tcase_set_timeout(tcase, 30);
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_add_test(tcase, test_deps_tell_waiters_in_the_order_jobs_finished);
    tcase_add_test(tcase,
                   test_a_job_is_held_until_each_job_of_its_after_succeeded);
    tcase_add_test(tcase, test_a_failure_cancels_the_jobs_after_it);
    tcase_add_test(tcase, test_after_finished_jobs_is_decided_at_once);
    tcase_add_test(tcase, test_cancelling_a_held_job_cancels_the_jobs_after_it);
    tcase_add_test(tcase, test_a_held_job_stays_held_across_a_restart);
    tcase_add_test(tcase, test_a_job_taken_back_waits_for_nothing);
    suite_add_tcase(suite, tcase);
    return suite;
}
