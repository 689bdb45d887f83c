//  test_parents.c - jobs that await jobs, in the coordinator with no
//  sockets (coordinator/parents.c through the workers endpoint): SPAWN
//  keyed by parent and call, refusals, AWAIT that gives the slot back
//  until its DONE, and children cancelled with a parent that fails.
#include <check.h>

#include "common/err.h"
#include "coordinator/parents.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

#define ZJ_CALL_REQ (UINT64_C(1) << 62) //  A worker numbers its calls so

//  A running echo job on worker w1 (which has io_slots), its id.
static int64_t
s_running_parent(zj_testcoord_t *tc, int32_t max_attempts)
{
    int64_t id = zj_testcoord_submit(tc, "echo", max_attempts);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    return id;
}

//  Sends SPAWN {req} of one echo child of parent with call number call
//  from worker; returns the child's id, or the code of the ERROR that
//  answered it (< 0).
static int64_t
s_spawn(zj_testcoord_t *tc, const char *worker, int64_t parent, int32_t call)
{
    zj_msg_t *spawn = zj_msg_new(ZJ_MSG_SPAWN);
    spawn->req = ZJ_CALL_REQ + (uint64_t) call;
    zj_job_t *child = zj_msg_add_job(spawn);
    child->kind = strdup("echo");
    child->parent = parent;
    child->call = call;
    zj_testcoord_from_worker(tc, worker, spawn);
    zj_msg_destroy(&spawn);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_side_t side;
    zj_msg_t *reply = zj_outbox_take(tc->outbox, &side);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq(side, ZJ_TO_WORKER);
    ck_assert_uint_eq(reply->req, ZJ_CALL_REQ + (uint64_t) call);
    int64_t id = reply->type == ZJ_MSG_ERROR ? reply->code : reply->ids[0];
    ck_assert(reply->type == ZJ_MSG_ERROR || reply->type == ZJ_MSG_SPAWNED);
    zj_msg_destroy(&reply);
    return id;
}

//  Sends AWAIT {req} of id from worker for parent; returns 0, or the code
//  of an ERROR that answered it at once.
static int
s_await(zj_testcoord_t *tc, const char *worker, int64_t parent, int64_t id,
        bool hold)
{
    zj_msg_t *await = zj_msg_new(ZJ_MSG_AWAIT);
    await->req = ZJ_CALL_REQ + 100;
    await->parent = parent;
    await->hold = hold;
    await->in_order = true;
    zj_msg_add_id(await, id);
    zj_testcoord_from_worker(tc, worker, await);
    zj_msg_destroy(&await);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_msg_t *error = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_ERROR);
    int code = error ? error->code : 0;
    zj_msg_destroy(&error);
    return code;
}

//  What the loop does after the turn: awaits send, parents wake.
static size_t
s_flush(zj_testcoord_t *tc)
{
    zj_futures_flush(tc->futures, 0, tc->outbox);
    size_t woken = zj_parents_wake(&tc->jobs);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    return woken;
}

static void
s_result(zj_testcoord_t *tc, int64_t id, zj_state_t state)
{
    zj_msg_t *results = zj_testcoord_results(0, id, 1, state);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
}

//  A call made again (the parent runs again) gets the child it made the
//  first time; each call number makes one child, stored with its key.
START_TEST(test_spawn_makes_one_child_per_call)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t parent = s_running_parent(tc, 1);
    int64_t first = s_spawn(tc, "w1", parent, 1);
    ck_assert_int_gt(first, parent);
    ck_assert_int_eq(s_spawn(tc, "w1", parent, 1), first);
    int64_t second = s_spawn(tc, "w1", parent, 2);
    ck_assert_int_eq(second, first + 1);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs"), 3);
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT parent * 10 + call FROM jobs WHERE id = %lld",
             (long long) second);
    ck_assert_int_eq(zj_testdb_int(db, sql), parent * 10 + 2);
    sqlite3_close(db);
    //  After the commit the child is found in the store.
    ck_assert_int_eq(s_spawn(tc, "w1", parent, 2), second);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A SPAWN or AWAIT for a job that does not run on that worker changes
//  nothing: ESTATE.
START_TEST(test_calls_for_a_job_not_running_there_are_refused)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 1, 0);
    zj_testcoord_hello(tc, "w2", 1, 0);
    int64_t queued = zj_testcoord_submit(tc, "sha256", 1); //  No cpu slot
    ck_assert_int_eq(s_spawn(tc, "w1", queued, 1), ZJ_ESTATE);
    int64_t parent = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_future_t *future = zj_futures_find(tc->futures, parent);
    const char *holder = zj_peer_info(future->peer)->name;
    const char *other = strcmp(holder, "w1") == 0 ? "w2" : "w1";
    ck_assert_int_eq(s_spawn(tc, other, parent, 1), ZJ_ESTATE);
    ck_assert_int_eq(s_await(tc, other, parent, queued, false), ZJ_ESTATE);
    ck_assert_int_eq(s_await(tc, holder, parent, 999, false), ZJ_ENOTFOUND);
    ck_assert_uint_eq(zj_futures_size(tc->futures), 2);
    ck_assert(!future->suspended);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A parent that awaits holds no slot until its DONE is sent: its child
//  runs on the slot it held. Then it takes the slot back.
START_TEST(test_await_gives_the_slot_back_until_done)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t parent = s_running_parent(tc, 1);
    int64_t child = s_spawn(tc, "w1", parent, 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc),
                      0); //  Its one slot is the parent's
    ck_assert_int_eq(s_await(tc, "w1", parent, child, false), 0);
    ck_assert_int_eq(zj_peer_suspended(peer), 1);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1); //  The child
    ck_assert_uint_eq(s_flush(tc), 0);
    s_result(tc, child, ZJ_STATE_SUCCEEDED);
    ck_assert_uint_eq(s_flush(tc), 1);
    zj_msg_t *resolved = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_RESOLVED);
    ck_assert_ptr_nonnull(resolved);
    ck_assert_int_eq(resolved->jobs[0].id, child);
    zj_msg_destroy(&resolved);
    zj_msg_t *done = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_DONE);
    ck_assert_ptr_nonnull(done);
    zj_msg_destroy(&done);
    ck_assert_int_eq(zj_peer_suspended(peer), 0);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);
    s_result(tc, parent, ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A parent that resumes while its slot was given to another job takes
//  it back anyway: the worker is over its slots, and gets no job until it
//  is under them again.
START_TEST(test_a_parent_resumes_over_the_slots)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t parent = s_running_parent(tc, 1);
    int64_t child = s_spawn(tc, "w1", parent, 1);
    ck_assert_int_eq(s_await(tc, "w1", parent, child, false), 0);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1); //  The child
    s_result(tc, child, ZJ_STATE_SUCCEEDED);
    int64_t other = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc),
                      1); //  Before the flush wakes it
    ck_assert_uint_eq(s_flush(tc), 1);
    ck_assert_uint_eq(zj_peer_running(peer), 2);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);
    zj_testcoord_submit(tc, "echo", 1);
    s_result(tc, other, ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0); //  Still over
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
    s_result(tc, parent, ZJ_STATE_SUCCEEDED);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  With hold (the worker's --max-suspended reached) the parent keeps it.
START_TEST(test_await_with_hold_keeps_the_slot)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t parent = s_running_parent(tc, 1);
    int64_t child = s_spawn(tc, "w1", parent, 1);
    ck_assert_int_eq(s_await(tc, "w1", parent, child, true), 0);
    ck_assert_int_eq(zj_peer_suspended(peer), 0);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A job cannot await itself or a job it runs under: it would wait for
//  ever.
START_TEST(test_awaiting_itself_or_an_ancestor_is_refused)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t parent = s_running_parent(tc, 1);
    int64_t child = s_spawn(tc, "w1", parent, 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    ck_assert_int_eq(s_await(tc, "w1", parent, parent, false), ZJ_EUSAGE);
    ck_assert_int_eq(s_await(tc, "w1", child, parent, false), ZJ_EUSAGE);
    ck_assert_int_eq(s_await(tc, "w1", parent, child, false), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A parent that fails for good cancels its unfinished children and
//  theirs; the workers running them are told. One that succeeds, or is
//  retried, cancels none.
START_TEST(test_a_failed_parent_cancels_its_children_down_the_tree)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t parent = s_running_parent(tc, 2);
    int64_t running = s_spawn(tc, "w1", parent, 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    int64_t grandchild = s_spawn(tc, "w1", running, 1);
    int64_t done = s_spawn(tc, "w1", parent, 2);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 2);
    s_result(tc, done, ZJ_STATE_SUCCEEDED);
    //  Attempt 1 fails and is retried: the children stay.
    s_result(tc, parent, ZJ_STATE_FAILED);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_RUNNING), 2);
    ck_assert_ptr_null(zj_lifecycle_next_stop(&tc->jobs));
    //  Attempt 2 fails for good.
    zj_scheduler_wake(tc->scheduler, 1e12); //  Its backoff is over
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_msg_t *results = zj_testcoord_results(0, parent, 2, ZJ_STATE_FAILED);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    ck_assert_uint_eq(zj_futures_size(tc->futures), 0);
    zj_job_t job = {0};
    ck_assert_int_eq(zj_store_get_job(tc->store, running, &job), 0);
    ck_assert_int_eq(job.state, ZJ_STATE_CANCELLED);
    char want[64];
    snprintf(want, sizeof want, "its parent job %lld failed",
             (long long) parent);
    ck_assert_str_eq(job.error, want);
    zj_job_clear(&job);
    ck_assert_int_eq(zj_store_get_job(tc->store, grandchild, &job), 0);
    snprintf(want, sizeof want, "its parent job %lld was cancelled",
             (long long) running);
    ck_assert_str_eq(job.error, want);
    zj_job_clear(&job);
    ck_assert_int_eq(zj_testcoord_stored(tc, done, NULL), ZJ_STATE_SUCCEEDED);
    //  Both running children are stopped on their worker.
    zj_worker_ep_tell_stops(&tc->worker_ep);
    size_t stops = 0;
    zj_msg_t *cancel;
    while ((cancel = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_CANCEL))) {
        ck_assert(cancel->ids[0] == running || cancel->ids[0] == grandchild);
        stops++;
        zj_msg_destroy(&cancel);
    }
    ck_assert_uint_eq(stops, 2);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_a_succeeded_parent_leaves_its_children_running)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t parent = s_running_parent(tc, 1);
    s_spawn(tc, "w1", parent, 1);
    s_result(tc, parent, ZJ_STATE_SUCCEEDED);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 1);
    ck_assert_ptr_null(zj_lifecycle_next_stop(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_parents_suite(void)
{
    Suite *suite = suite_create("parents");
    TCase *tcase = tcase_create("parents");
    tcase_set_timeout(tcase, 30);
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_add_test(tcase, test_spawn_makes_one_child_per_call);
    tcase_add_test(tcase, test_calls_for_a_job_not_running_there_are_refused);
    tcase_add_test(tcase, test_await_gives_the_slot_back_until_done);
    tcase_add_test(tcase, test_a_parent_resumes_over_the_slots);
    tcase_add_test(tcase, test_await_with_hold_keeps_the_slot);
    tcase_add_test(tcase, test_awaiting_itself_or_an_ancestor_is_refused);
    tcase_add_test(tcase,
                   test_a_failed_parent_cancels_its_children_down_the_tree);
    tcase_add_test(tcase, test_a_succeeded_parent_leaves_its_children_running);
    suite_add_tcase(suite, tcase);
    return suite;
}
