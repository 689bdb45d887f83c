//  test_lifecycle.c - the coordinator's job state machine
//  (coordinator/lifecycle.c) on a store file, with no loop and no
//  sockets: the exactly-once rule for results, retries, requeues of lost
//  workers, cancel, recovery after a restart, and the invariants after
//  every step.
#include <check.h>

#include "common/duration.h"
#include "common/heap.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

//  Starts the best queued echo job on peer, as dispatch does.
static zj_future_t *
s_start(zj_testcoord_t *tc, zj_peer_t *peer)
{
    size_t count = 0;
    const char **kinds = zj_peer_kinds(peer, ZJ_CLASS_IO, &count);
    zj_future_t *future = zj_scheduler_next(tc->scheduler, kinds, count);
    ck_assert_ptr_nonnull(future);
    zj_lifecycle_dispatch(&tc->jobs, future, peer, ZJ_CLASS_IO);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    return future;
}

static bool
s_result(zj_testcoord_t *tc, int64_t id, int32_t attempt, zj_state_t state)
{
    zj_job_t result = {.id = id,
                       .attempts = attempt,
                       .state = state,
                       .started_at = zj_now(),
                       .finished_at = zj_now()};
    if (state == ZJ_STATE_SUCCEEDED)
        result.result = "{\"n\": 1}";
    else
        result.error = "boom";
    bool applied = zj_lifecycle_result(&tc->jobs, &result, "w1");
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    return applied;
}

START_TEST(test_first_result_of_current_attempt_wins)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 2);
    zj_future_t *future = s_start(tc, peer);
    ck_assert_int_eq(future->job.id, id);
    ck_assert_int_eq(future->job.state, ZJ_STATE_RUNNING);
    ck_assert_int_eq(future->job.attempts, 1);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 3);

    ck_assert(!s_result(tc, id, 2, ZJ_STATE_SUCCEEDED)); //  Not started
    ck_assert(s_result(tc, id, 1, ZJ_STATE_FAILED));     //  Retry waits
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 4);
    ck_assert(!s_result(tc, id, 1, ZJ_STATE_SUCCEEDED)); //  Duplicate

    zj_scheduler_wake(tc->scheduler, zj_now() + 1);
    s_start(tc, peer);
    ck_assert_int_eq(future->job.attempts, 2);
    ck_assert(!s_result(tc, id, 1, ZJ_STATE_SUCCEEDED)); //  Stale
    ck_assert(s_result(tc, id, 2, ZJ_STATE_SUCCEEDED));
    ck_assert_ptr_null(zj_futures_find(tc->futures, id));
    ck_assert(!s_result(tc, id, 2, ZJ_STATE_FAILED)); //  Already final
    zj_futures_reap(tc->futures);

    int32_t attempts = 0;
    ck_assert_int_eq(zj_testcoord_stored(tc, id, &attempts),
                     ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(attempts, 2);
    zj_testcoord_destroy(&tc);
    ck_assert_ptr_null(tc);
}
END_TEST

START_TEST(test_exhausted_or_final_errors_end_failed)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t once = zj_testcoord_submit(tc, "echo", 1);
    int64_t final = zj_testcoord_submit(tc, "echo", 5);
    s_start(tc, peer);
    s_start(tc, peer);
    ck_assert(s_result(tc, once, 1, ZJ_STATE_FAILED));
    zj_job_t no_retry = {.id = final,
                         .attempts = 1,
                         .state = ZJ_STATE_FAILED,
                         .error = "bad args: x",
                         .no_retry = true};
    ck_assert(zj_lifecycle_result(&tc->jobs, &no_retry, "w1"));
    ck_assert_uint_eq(zj_futures_size(tc->futures), 0);
    int32_t attempts = 0;
    ck_assert_int_eq(zj_testcoord_stored(tc, once, &attempts), ZJ_STATE_FAILED);
    ck_assert_int_eq(zj_testcoord_stored(tc, final, &attempts),
                     ZJ_STATE_FAILED);
    ck_assert_int_eq(attempts, 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_result_after_requeue_still_counts)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    zj_future_t *future = s_start(tc, peer);
    zj_lifecycle_requeue(&tc->jobs, future, "worker lost: missed heartbeats");
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    ck_assert_ptr_null(future->job.result);
    ck_assert_int_eq(zj_peer_running(peer), 0);
    //  The lost worker's result for that attempt arrives before the job
    //  runs again: it counts, once.
    ck_assert(s_result(tc, id, 1, ZJ_STATE_SUCCEEDED));
    ck_assert_ptr_null(zj_futures_find(tc->futures, id));
    ck_assert_uint_eq(zj_scheduler_ready(tc->scheduler), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_requeue_records_a_failed_attempt_and_queues_the_job)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 3);
    zj_future_t *future = s_start(tc, peer);
    zj_lifecycle_requeue(&tc->jobs, future, "worker left");
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    ck_assert_double_eq(future->job.finished_at, 0);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_QUEUED);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM attempts "
                                       "WHERE state = 'failed' AND "
                                       "error = 'worker left'"),
                     1);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_cancel_says_which_worker_to_stop)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t running = zj_testcoord_submit(tc, "echo", 1);
    int64_t queued = zj_testcoord_submit(tc, "echo", 1);
    s_start(tc, peer);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);

    zj_future_t *future = zj_futures_find(tc->futures, queued);
    ck_assert_ptr_null(zj_lifecycle_cancel(&tc->jobs, future));
    future = zj_futures_find(tc->futures, running);
    ck_assert_ptr_eq(zj_lifecycle_cancel(&tc->jobs, future), peer);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    //  The worker still runs it until it says so: its slot stays taken.
    ck_assert_int_eq(zj_peer_running(peer), 0);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);
    ck_assert(zj_peer_settle(peer, running));
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 1);
    ck_assert(!zj_peer_settle(peer, running));
    ck_assert_int_eq(zj_testcoord_stored(tc, running, NULL),
                     ZJ_STATE_CANCELLED);
    ck_assert_int_eq(zj_testcoord_stored(tc, queued, NULL), ZJ_STATE_CANCELLED);
    //  The attempt that was running ended cancelled, as store.md says;
    //  the queued job had no attempt.
    sqlite3 *db = zj_testdb_raw();
    char *attempts = zj_testdb_text(db, "SELECT group_concat(job_id || ':' "
                                        "|| attempt || ':' || state || ':' "
                                        "|| error) FROM attempts");
    ck_assert_ptr_nonnull(attempts);
    char expected[64];
    snprintf(expected, sizeof expected, "%lld:1:cancelled:cancelled",
             (long long) running);
    ck_assert_str_eq(attempts, expected);
    free(attempts);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_recovery_keeps_running_attempts_open)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t running = zj_testcoord_submit(tc, "echo", 3);
    int64_t retrying = zj_testcoord_submit(tc, "echo", 3);
    s_start(tc, peer);
    s_start(tc, peer);
    ck_assert(s_result(tc, retrying, 1, ZJ_STATE_FAILED));
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc); //  As a crash would: no result for 1

    tc = zj_testcoord_new();
    ck_assert_uint_eq(zj_futures_size(tc->futures), 2);
    int32_t attempts = 0;
    ck_assert_int_eq(zj_testcoord_stored(tc, running, &attempts),
                     ZJ_STATE_QUEUED);
    //  The job that was running takes its attempt's result; the one that
    //  waited for a retry had its result for attempt 1 already.
    ck_assert(s_result(tc, running, 1, ZJ_STATE_SUCCEEDED));
    ck_assert(!s_result(tc, retrying, 1, ZJ_STATE_SUCCEEDED));
    ck_assert_uint_eq(zj_futures_size(tc->futures), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_unknown_kind_fails_at_submit)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    //  No worker ever offered a kind: nothing can be called unknown.
    int64_t early = zj_testcoord_submit(tc, "nosuch", 1);
    ck_assert_ptr_nonnull(zj_futures_find(tc->futures, early));
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t late = zj_testcoord_submit(tc, "nosuch", 1);
    ck_assert_ptr_null(zj_futures_find(tc->futures, late));
    ck_assert_int_eq(zj_testcoord_stored(tc, late, NULL), ZJ_STATE_FAILED);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  The checker sees a broken table: it is able to fail.
START_TEST(test_invariants_catch_a_job_in_two_places)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    zj_testcoord_submit(tc, "echo", 1);
    zj_future_t *future = s_start(tc, peer);
    future->job.state = ZJ_STATE_QUEUED; //  Running, yet "queued"
    ck_assert(!zj_lifecycle_invariants_hold(&tc->jobs));
    future->job.state = ZJ_STATE_RUNNING;
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    future->slot = 0; //  Running, yet in a heap
    ck_assert(!zj_lifecycle_invariants_hold(&tc->jobs));
    future->slot = ZJ_HEAP_NONE;
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Submits an echo job with a timeout of timeout_ms.
static int64_t
s_submit_timed(zj_testcoord_t *tc, int64_t timeout_ms, int32_t max_attempts)
{
    zj_job_t spec = {.kind = "echo",
                     .args = "{}",
                     .max_attempts = max_attempts,
                     .timeout_ms = timeout_ms,
                     .backoff_ms = 1};
    int64_t id = zj_lifecycle_submit(&tc->jobs, &spec);
    ck_assert_int_gt(id, 0);
    return id;
}

//  A running job with a timeout has a deadline, due its timeout plus the
//  grace after dispatch; every way out of running drops it (a result, a
//  retry, a cancel, a lost worker, the deadline itself), or the heap
//  would expire a job that no longer runs there.
START_TEST(test_every_way_out_of_running_drops_the_deadline)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 8, 0);
    int64_t ids[5];
    for (int index = 0; index < 5; index++)
        ids[index] = s_submit_timed(tc, 1000, 2);
    zj_testcoord_submit(tc, "echo", 1);
    int64_t before = zj_mono_ms();
    for (int index = 0; index < 6; index++)
        s_start(tc, peer);
    int64_t after = zj_mono_ms();
    ck_assert_uint_eq(zj_deadlines_size(tc->deadlines), 5);
    int64_t due = zj_deadlines_due(tc->deadlines, ids[0]);
    ck_assert(due >= before + 2000 && due <= after + 2000);

    ck_assert(s_result(tc, ids[0], 1, ZJ_STATE_SUCCEEDED));
    ck_assert(s_result(tc, ids[1], 1, ZJ_STATE_FAILED)); //  A retry
    zj_lifecycle_cancel(&tc->jobs, zj_futures_find(tc->futures, ids[2]));
    zj_lifecycle_requeue(&tc->jobs, zj_futures_find(tc->futures, ids[3]),
                         "worker lost");
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_uint_eq(zj_deadlines_size(tc->deadlines), 1);
    zj_future_t *future = zj_futures_find(tc->futures, ids[4]);
    int64_t now = zj_deadlines_due(tc->deadlines, ids[4]);
    ck_assert_ptr_eq(zj_lifecycle_expire(&tc->jobs, future, now), peer);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_uint_eq(zj_deadlines_size(tc->deadlines), 0);
    ck_assert(zj_peer_holds_stopped(peer, ids[4]));
    //  Dropped behind the state machine's back, a deadline is missed.
    future = s_start(tc, peer);
    ck_assert(zj_deadlines_drop(tc->deadlines, future->job.id));
    ck_assert(!zj_lifecycle_invariants_hold(&tc->jobs));
    zj_deadlines_start(tc->deadlines, future->job.id, 1000, zj_mono_ms());
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A CPU job may wait in its worker's pool (--cpu-prefetch) behind the
//  CPU jobs the worker holds: each adds one timeout to its deadline, so
//  an honest worker's queued job is not timed out before it could run.
START_TEST(test_a_cpu_job_is_allowed_its_turn_on_the_worker)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 0, 3);
    zj_job_t spec = {.kind = "sha256", .args = "{}", .timeout_ms = 1000};
    size_t count = 0;
    const char **kinds = zj_peer_kinds(peer, ZJ_CLASS_CPU, &count);
    int64_t ids[3], started[3];
    for (int index = 0; index < 3; index++) {
        ids[index] = zj_lifecycle_submit(&tc->jobs, &spec);
        zj_future_t *future = zj_scheduler_next(tc->scheduler, kinds, count);
        ck_assert_int_eq(future->job.id, ids[index]);
        zj_lifecycle_dispatch(&tc->jobs, future, peer, ZJ_CLASS_CPU);
        started[index] = zj_deadlines_started(tc->deadlines, ids[index]);
    }
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    for (int index = 0; index < 3; index++)
        ck_assert_int_eq(zj_deadlines_due(tc->deadlines, ids[index]) -
                             started[index],
                         (1 + index) * 1000 + 1000);
    zj_future_t *last = zj_futures_find(tc->futures, ids[2]);
    zj_lifecycle_expire(&tc->jobs, last,
                        zj_deadlines_due(tc->deadlines, ids[2]));
    ck_assert_str_eq(last->job.error, "timed out: no result from worker w1 "
                                      "3 s after its 1 s timeout");
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A restart queues a running job again with no deadline; its next
//  dispatch starts a new attempt with a whole new deadline.
START_TEST(test_recovered_jobs_get_a_deadline_at_their_next_dispatch)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = s_submit_timed(tc, 1000, 1);
    s_start(tc, peer);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc); //  As a crash would

    tc = zj_testcoord_new();
    ck_assert_uint_eq(zj_deadlines_size(tc->deadlines), 0);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t before = zj_mono_ms();
    zj_future_t *future = s_start(tc, peer);
    ck_assert_int_eq(future->job.id, id);
    ck_assert_int_eq(future->job.attempts, 2);
    ck_assert_int_ge(zj_deadlines_due(tc->deadlines, id), before + 2000);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_lifecycle_suite(void)
{
    Suite *suite = suite_create("lifecycle");
    TCase *tcase = tcase_create("results");
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_first_result_of_current_attempt_wins);
    tcase_add_test(tcase, test_exhausted_or_final_errors_end_failed);
    tcase_add_test(tcase, test_result_after_requeue_still_counts);
    tcase_add_test(tcase,
                   test_requeue_records_a_failed_attempt_and_queues_the_job);
    tcase_add_test(tcase, test_cancel_says_which_worker_to_stop);
    tcase_add_test(tcase, test_recovery_keeps_running_attempts_open);
    tcase_add_test(tcase, test_unknown_kind_fails_at_submit);
    tcase_add_test(tcase, test_invariants_catch_a_job_in_two_places);
    tcase_add_test(tcase, test_every_way_out_of_running_drops_the_deadline);
    tcase_add_test(tcase,
                   test_recovered_jobs_get_a_deadline_at_their_next_dispatch);
    tcase_add_test(tcase, test_a_cpu_job_is_allowed_its_turn_on_the_worker);
    suite_add_tcase(suite, tcase);
    return suite;
}
