//  test_lifecycle.c - the coordinator's job state machine
//  (coordinator/lifecycle.c) on a store file, with no loop and no
//  sockets: the exactly-once rule for results, retries, requeues of lost
//  workers and the bound on their losses, cancel, recovery after a restart, and
//  the invariants after every step.
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
    if (future == NULL)
        future = zj_scheduler_next_last_chance(tc->scheduler, kinds, count);
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

//  A coordinator's restart is not the job's: dispatched again, a job that
//  was running goes on with the same attempt, so a job never has more
//  attempts than it allows plus its losses.
START_TEST(test_recovered_running_job_goes_on_with_its_attempt)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    s_start(tc, peer);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc);

    tc = zj_testcoord_new();
    peer = zj_testcoord_hello(tc, "w1", 4, 0);
    zj_future_t *future = s_start(tc, peer);
    ck_assert_int_eq(future->job.id, id);
    ck_assert_int_eq(future->job.attempts, 1);
    //  The result of attempt 1 counts, once.
    ck_assert(s_result(tc, id, 1, ZJ_STATE_SUCCEEDED));
    ck_assert(!s_result(tc, id, 1, ZJ_STATE_SUCCEEDED));
    int32_t attempts = 0;
    ck_assert_int_eq(zj_testcoord_stored(tc, id, &attempts),
                     ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(attempts, 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A recovered job whose result came before it was dispatched again
//  starts a new attempt when it is retried.
START_TEST(test_recovered_job_with_a_result_starts_a_new_attempt)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 2);
    s_start(tc, peer);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc);

    tc = zj_testcoord_new();
    ck_assert(s_result(tc, id, 1, ZJ_STATE_FAILED)); //  Retry waits
    zj_future_t *future = zj_futures_find(tc->futures, id);
    ck_assert_ptr_nonnull(future);
    zj_scheduler_remove(tc->scheduler, future);
    future->job.not_before = 0;
    zj_scheduler_push(tc->scheduler, future, zj_now());
    peer = zj_testcoord_hello(tc, "w2", 4, 0);
    ck_assert_int_eq(s_start(tc, peer)->job.attempts, 2);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  The jobs of a lost worker come back spread over the loss spread, not
//  all at one instant.
START_TEST(test_lost_jobs_come_back_spread)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    tc->jobs.loss_spread_ms = 60000;
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 64, 0);
    zj_future_t *futures[32];
    for (int index = 0; index < 32; index++)
        zj_testcoord_submit(tc, "echo", 1);
    for (int index = 0; index < 32; index++)
        futures[index] = s_start(tc, peer);
    double before = zj_now();
    for (int index = 0; index < 32; index++)
        ck_assert(!zj_lifecycle_lose(&tc->jobs, futures[index], "lost"));
    double after = zj_now();
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    double low = 1e300, high = -1e300;
    for (int index = 0; index < 32; index++) {
        double wait = futures[index]->job.not_before - before;
        ck_assert(wait >= 0 && wait <= 60.0 + (after - before));
        low = wait < low ? wait : low;
        high = wait > high ? wait : high;
    }
    //  32 draws over a minute all within one second: odds below 1e-40.
    ck_assert_double_gt(high - low, 1.0);
    ck_assert_uint_eq(zj_scheduler_delayed(tc->scheduler), 32);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Each loss doubles the spread: a poison job kills workers less often,
//  and the jobs lost with it come back further apart.
START_TEST(test_the_spread_doubles_with_each_loss)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    tc->jobs.loss_spread_ms = 1000;
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 64, 0);
    zj_future_t *futures[32];
    for (int index = 0; index < 32; index++)
        zj_testcoord_submit(tc, "echo", 1);
    for (int round = 1; round <= 2; round++) {
        for (int index = 0; index < 32; index++)
            futures[index] = s_start(tc, peer);
        double before = zj_now();
        double high = 0;
        for (int index = 0; index < 32; index++) {
            ck_assert(!zj_lifecycle_lose(&tc->jobs, futures[index], "lost"));
            double wait = futures[index]->job.not_before - before;
            ck_assert(wait >= 0 && wait <= round + 0.5);
            high = wait > high ? wait : high;
            //  Ready again at once, for the next round.
            zj_scheduler_remove(tc->scheduler, futures[index]);
            futures[index]->job.not_before = 0;
            zj_scheduler_push(tc->scheduler, futures[index], zj_now());
        }
        //  32 draws over 2 s all under 1 s: odds of 2^-32.
        if (round == 2)
            ck_assert_double_gt(high, 1.0);
    }
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Says HELLO as worker name offering only kind (io), with slots.
static zj_peer_t *
s_hello_offering(zj_testcoord_t *tc, const char *name, const char *kind,
                 int32_t slots)
{
    zj_msg_t *hello = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *info = zj_msg_add_worker(hello);
    info->name = strdup(name);
    info->io_slots = slots;
    info->kinds = calloc(1, sizeof *info->kinds);
    info->kinds[0].name = strdup(kind);
    info->kinds[0].klass = ZJ_CLASS_IO;
    info->kind_count = 1;
    zj_testcoord_from_worker(tc, name, hello);
    zj_msg_destroy(&hello);
    zj_msg_t *welcome = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_WELCOME);
    ck_assert_ptr_nonnull(welcome);
    zj_msg_destroy(&welcome);
    zj_peer_t *peer = zj_peers_find_name(tc->peers, name);
    ck_assert_ptr_nonnull(peer);
    return peer;
}

//  Dispatches; returns the id of the one job the one JOBS carried, or 0
//  if none was sent.
static int64_t
s_dispatched(zj_testcoord_t *tc)
{
    zj_worker_ep_dispatch(&tc->worker_ep);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_msg_t *jobs = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_JOBS);
    if (jobs == NULL)
        return 0;
    ck_assert_uint_eq(jobs->job_count, 1);
    int64_t id = jobs->jobs[0].id;
    zj_msg_destroy(&jobs);
    ck_assert_ptr_null(zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_JOBS));
    return id;
}

//  A job of a kind no connected worker offers waits, queued, without
//  holding up other kinds, until a worker that offers it says HELLO; and
//  again when that worker leaves and comes back.
START_TEST(test_unoffered_kind_waits_for_its_worker)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t waiting = zj_testcoord_submit(tc, "plugin.x", 1);
    zj_future_t *future = zj_futures_find(tc->futures, waiting);
    ck_assert_ptr_nonnull(future);
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_testcoord_stored(tc, waiting, NULL), ZJ_STATE_QUEUED);
    int64_t echo = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_int_eq(s_dispatched(tc), echo);
    ck_assert_int_eq(s_dispatched(tc), 0);
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);

    s_hello_offering(tc, "w2", "plugin.x", 1);
    ck_assert_int_eq(s_dispatched(tc), waiting);
    ck_assert_int_eq(future->job.state, ZJ_STATE_RUNNING);
    ck_assert_str_eq(future->job.worker, "w2");

    //  Its worker goes while it runs: it waits again, for the next one.
    zj_msg_t *bye = zj_msg_new(ZJ_MSG_BYE);
    zj_testcoord_from_worker(tc, "w2", bye);
    zj_msg_destroy(&bye);
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    ck_assert_int_eq(s_dispatched(tc), 0);
    s_hello_offering(tc, "w3", "plugin.x", 1);
    ck_assert_int_eq(s_dispatched(tc), waiting);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  An int the store holds for job id, after the turn commits: sql has one
//  %lld for the id.
static int64_t
s_stored_int(zj_testcoord_t *tc, const char *sql, int64_t id)
{
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    char query[256];
    snprintf(query, sizeof query, sql, (long long) id);
    sqlite3 *db = zj_testdb_raw();
    int64_t value = zj_testdb_int(db, query);
    sqlite3_close(db);
    return value;
}

//  A job whose worker is lost again and again (it kills its worker) ends
//  failed at the bound, with the losses in the store and on its last
//  attempt's row; attempts stay within max_attempts + losses.
START_TEST(test_losses_fail_the_job_at_the_bound)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    for (int32_t loss = 1; loss < ZJ_MAX_LOSSES; loss++) {
        zj_future_t *future = s_start(tc, peer);
        ck_assert(!zj_lifecycle_lose(&tc->jobs, future,
                                     "worker lost: missed heartbeats"));
        ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
        ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
        ck_assert_int_eq(future->job.losses, loss);
        //  One loss short of the bound, it is at its last chance.
        ck_assert(future->last_chance == (loss + 1 == ZJ_MAX_LOSSES));
        ck_assert_int_eq(
            s_stored_int(tc, "SELECT losses FROM jobs WHERE id = %lld", id),
            loss);
    }
    zj_future_t *future = s_start(tc, peer);
    ck_assert(zj_lifecycle_lose(&tc->jobs, future, "worker lost"));
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_ptr_null(zj_futures_find(tc->futures, id));
    ck_assert_int_eq(zj_peer_running(peer), 0);
    int32_t attempts = 0;
    ck_assert_int_eq(zj_testcoord_stored(tc, id, &attempts), ZJ_STATE_FAILED);
    ck_assert_int_eq(attempts, ZJ_MAX_LOSSES);
    ck_assert_int_eq(
        s_stored_int(tc, "SELECT losses FROM jobs WHERE id = %lld", id),
        ZJ_MAX_LOSSES);
    ck_assert_int_eq(s_stored_int(tc,
                                  "SELECT count(*) FROM jobs WHERE id = %lld"
                                  " AND error = 'its worker was lost 3 times"
                                  " while running it'"
                                  " AND finished_at IS NOT NULL",
                                  id),
                     1);
    ck_assert_int_eq(s_stored_int(tc,
                                  "SELECT count(*) FROM attempts WHERE"
                                  " job_id = %lld AND attempt = 3 AND"
                                  " state = 'failed' AND error = 'its worker"
                                  " was lost 3 times while running it'",
                                  id),
                     1);
    ck_assert_int_le(attempts, 1 + ZJ_MAX_LOSSES);
    //  A late result of the last attempt finds the job final.
    ck_assert(!s_result(tc, id, 3, ZJ_STATE_SUCCEEDED));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  The bound is the coordinator's --max-losses.
START_TEST(test_max_losses_sets_the_bound)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    tc->jobs.max_losses = 1;
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 5);
    ck_assert(zj_lifecycle_lose(&tc->jobs, s_start(tc, peer), "worker lost"));
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_FAILED);
    ck_assert_int_eq(s_stored_int(tc,
                                  "SELECT count(*) FROM jobs WHERE id = %lld"
                                  " AND error = 'its worker was lost 1 times"
                                  " while running it'",
                                  id),
                     1);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A lost attempt does not use up a retry: a job of two attempts that is
//  lost once still gets two results, and attempts = max_attempts + losses.
START_TEST(test_lost_attempt_does_not_use_up_a_retry)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 2);
    zj_future_t *future = s_start(tc, peer);
    ck_assert(!zj_lifecycle_lose(&tc->jobs, future, "worker lost"));
    s_start(tc, peer);
    ck_assert(s_result(tc, id, 2, ZJ_STATE_FAILED));
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED); //  A retry waits
    zj_scheduler_wake(tc->scheduler, zj_now() + 60);
    s_start(tc, peer);
    ck_assert(s_result(tc, id, 3, ZJ_STATE_FAILED));
    int32_t attempts = 0;
    ck_assert_int_eq(zj_testcoord_stored(tc, id, &attempts), ZJ_STATE_FAILED);
    ck_assert_int_eq(attempts, 2 + 1);
    ck_assert_int_eq(
        s_stored_int(tc, "SELECT losses FROM jobs WHERE id = %lld", id), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Through the workers endpoint: a worker that says BYE (a graceful stop
//  past its grace) hands its jobs back, which is no loss; one that goes
//  silent loses them, which is.
START_TEST(test_bye_hands_back_silence_loses)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    s_start(tc, peer);
    zj_msg_t *bye = zj_msg_new(ZJ_MSG_BYE);
    zj_testcoord_from_worker(tc, "w1", bye);
    zj_msg_destroy(&bye);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_QUEUED);
    ck_assert_int_eq(
        s_stored_int(tc, "SELECT losses FROM jobs WHERE id = %lld", id), 0);

    peer = zj_testcoord_hello(tc, "w2", 4, 0);
    s_start(tc, peer);
    zj_worker_ep_tick(&tc->worker_ep, zj_mono_ms() + 60000);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_QUEUED);
    ck_assert_int_eq(
        s_stored_int(tc, "SELECT losses FROM jobs WHERE id = %lld", id), 1);
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
//  dispatch goes on with the same attempt, under a whole new deadline.
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
    ck_assert_int_eq(future->job.attempts, 1);
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
    tcase_add_test(tcase, test_recovered_running_job_goes_on_with_its_attempt);
    tcase_add_test(tcase,
                   test_recovered_job_with_a_result_starts_a_new_attempt);
    tcase_add_test(tcase, test_lost_jobs_come_back_spread);
    tcase_add_test(tcase, test_the_spread_doubles_with_each_loss);
    tcase_add_test(tcase, test_unoffered_kind_waits_for_its_worker);
    tcase_add_test(tcase, test_invariants_catch_a_job_in_two_places);
    tcase_add_test(tcase, test_losses_fail_the_job_at_the_bound);
    tcase_add_test(tcase, test_max_losses_sets_the_bound);
    tcase_add_test(tcase, test_lost_attempt_does_not_use_up_a_retry);
    tcase_add_test(tcase, test_bye_hands_back_silence_loses);
    tcase_add_test(tcase, test_every_way_out_of_running_drops_the_deadline);
    tcase_add_test(tcase,
                   test_recovered_jobs_get_a_deadline_at_their_next_dispatch);
    tcase_add_test(tcase, test_a_cpu_job_is_allowed_its_turn_on_the_worker);
    suite_add_tcase(suite, tcase);
    return suite;
}
