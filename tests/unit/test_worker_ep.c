//  test_worker_ep.c - the workers endpoint (coordinator/worker_ep.c) with
//  no sockets: HELLO, dispatch within credit, RESULTS and their ACK,
//  heartbeats and loss, BYE, reading what it would send from the outbox.
#include <check.h>

#include "common/duration.h"
#include "common/err.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

START_TEST(test_dispatch_stays_within_each_class_of_credit)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 3, 2);
    for (int index = 0; index < 10; index++) {
        zj_testcoord_submit(tc, "echo", 1);
        zj_testcoord_submit(tc, "sha256", 1);
    }
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 5);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_CPU), 0);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_RUNNING), 5);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A RESULTS sent again on the same connection (its ACK was late) gives
//  no slot back twice. Before the credit ledger, the second copy returned
//  its io_credit again and the worker got 5 jobs for 4 slots.
START_TEST(test_results_sent_twice_free_their_slots_once)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t first = zj_testcoord_submit(tc, "echo", 1);
    for (int index = 0; index < 7; index++)
        zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 4);
    zj_msg_t *results = zj_testcoord_results(1, first, 1, ZJ_STATE_SUCCEEDED);
    results->io_credit = 1;
    zj_testcoord_from_worker(tc, "w1", results);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_RUNNING), 4);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_results_are_acknowledged_by_number)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    zj_testcoord_dispatch(tc);
    zj_msg_t *results = zj_testcoord_results(42, id, 1, ZJ_STATE_SUCCEEDED);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    zj_msg_t *ack = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_ACK);
    ck_assert_ptr_nonnull(ack);
    ck_assert_uint_eq(ack->id_count, 1);
    ck_assert_int_eq(ack->ids[0], 42);
    zj_msg_destroy(&ack);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_SUCCEEDED);
    //  req 0 asks for no ACK.
    results = zj_testcoord_results(0, id, 1, ZJ_STATE_SUCCEEDED);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    ck_assert_uint_eq(zj_outbox_size(tc->outbox), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A worker that reconnects under its name replaces itself: what it ran
//  goes back to the queue, and its credit starts from its slots.
START_TEST(test_hello_again_requeues_and_resets_the_ledger)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 2, 0);
    zj_testcoord_submit(tc, "echo", 1);
    zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 2);
    zj_peer_t *again = zj_testcoord_hello(tc, "w1", 2, 0);
    ck_assert_uint_eq(zj_peers_size(tc->peers), 1);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 2);
    ck_assert_int_eq(zj_peer_credit(again, ZJ_CLASS_IO), 2);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_bye_and_silence_requeue_and_mark_the_worker)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 1, 0);
    zj_peer_t *quiet = zj_testcoord_hello(tc, "w2", 1, 0);
    zj_testcoord_submit(tc, "echo", 1);
    zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 2);
    zj_msg_t *bye = zj_msg_new(ZJ_MSG_BYE);
    zj_testcoord_from_worker(tc, "w1", bye);
    zj_msg_destroy(&bye);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 1);
    //  Three beats of silence lose w2.
    int64_t now = zj_peer_last_seen(quiet) + 3001;
    zj_worker_ep_tick(&tc->worker_ep, now);
    ck_assert_uint_eq(zj_peers_size(tc->peers), 0);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 2);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    char *state =
        zj_testdb_text(db, "SELECT group_concat(state) FROM "
                           "(SELECT state FROM workers ORDER BY name)");
    ck_assert_str_eq(state, "gone,lost");
    free(state);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Loses worker name by its silence, and says HELLO again as a new session.
static zj_peer_t *
s_lose_and_return(zj_testcoord_t *tc, zj_peer_t *peer, const char *name)
{
    zj_worker_ep_tick(&tc->worker_ep, zj_peer_last_seen(peer) + 3001);
    ck_assert_ptr_null(zj_peers_find_name(tc->peers, name));
    return zj_testcoord_hello(tc, name, 4, 0);
}

//  Jobs that shared a worker with a job that kills it are lost with it,
//  one loss each. One loss short of the bound, no two of them share a
//  worker: the poison job's last loss is then its own, and it fails,
//  while the jobs lost beside it run one by one and succeed. Before, all
//  four ran together a third time and all failed at the bound.
START_TEST(test_jobs_lost_beside_a_poison_job_run_one_by_one_and_live)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    int64_t poison = zj_testcoord_submit(tc, "echo", 1);
    for (int index = 0; index < 3; index++)
        zj_testcoord_submit(tc, "echo", 1);
    for (int loss = 1; loss < ZJ_MAX_LOSSES; loss++) {
        ck_assert_uint_eq(zj_testcoord_dispatch(tc), 4);
        peer = s_lose_and_return(tc, peer, "w1");
    }
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 4);
    //  The poison job (the oldest) first, by itself; it kills its worker.
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
    zj_future_t *running = zj_peer_first_running(peer);
    ck_assert_int_eq(running->job.id, poison);
    peer = s_lose_and_return(tc, peer, "w1");
    ck_assert_int_eq(zj_testcoord_stored(tc, poison, NULL), ZJ_STATE_FAILED);
    //  The others, one at a time.
    for (int index = 0; index < 3; index++) {
        ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
        ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
        running = zj_peer_first_running(peer);
        ck_assert(running->last_chance);
        ck_assert_int_eq(running->job.losses, ZJ_MAX_LOSSES - 1);
        int64_t id = running->job.id;
        zj_msg_t *results = zj_testcoord_results(1, id, running->job.attempts,
                                                 ZJ_STATE_SUCCEEDED);
        results->io_credit = 1;
        zj_testcoord_from_worker(tc, "w1", results);
        zj_msg_destroy(&results);
        ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_SUCCEEDED);
    }
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A worker runs one job at its last chance at a time, beside any other
//  jobs: a second one waits for another worker, or for the first to end.
START_TEST(test_a_worker_runs_one_job_at_its_last_chance)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    tc->jobs.max_losses = 2;
    zj_peer_t *w1 = zj_testcoord_hello(tc, "w1", 4, 0);
    zj_testcoord_submit(tc, "echo", 1);
    int64_t first = zj_testcoord_submit(tc, "echo", 1);
    int64_t second = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 3);
    zj_future_t *one = zj_futures_find(tc->futures, first);
    zj_future_t *two = zj_futures_find(tc->futures, second);
    ck_assert(!zj_lifecycle_lose(&tc->jobs, one, "lost"));
    ck_assert(!zj_lifecycle_lose(&tc->jobs, two, "lost"));
    ck_assert(one->last_chance && two->last_chance);
    ck_assert(!zj_peer_runs_last_chance(w1));
    int64_t other = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 2);
    ck_assert_ptr_eq(one->peer, w1);
    ck_assert_ptr_eq(zj_futures_find(tc->futures, other)->peer, w1);
    ck_assert_ptr_null(two->peer);
    ck_assert(zj_peer_runs_last_chance(w1));
    zj_peer_t *w2 = zj_testcoord_hello(tc, "w2", 4, 0);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    ck_assert_ptr_eq(two->peer, w2);
    //  Its end frees w1 for the next one.
    zj_msg_t *results =
        zj_testcoord_results(1, first, one->job.attempts, ZJ_STATE_SUCCEEDED);
    results->io_credit = 1;
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    ck_assert(!zj_peer_runs_last_chance(w1));
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_tick_beats_every_worker_once_a_period)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t now = zj_peer_last_seen(peer);
    int64_t next = zj_worker_ep_tick(&tc->worker_ep, now);
    ck_assert_int_eq(next, now + 1000);
    ck_assert_uint_eq(zj_outbox_size(tc->outbox), 1);
    ck_assert_int_eq(zj_worker_ep_tick(&tc->worker_ep, now + 10), next);
    ck_assert_uint_eq(zj_outbox_size(tc->outbox), 1);
    zj_msg_t *beat = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_HEARTBEAT);
    ck_assert_ptr_nonnull(beat);
    zj_msg_destroy(&beat);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A worker heard from has its workers.last_seen written at a heartbeat
//  tick, every few beats, not only when it connects or leaves.
START_TEST(test_tick_writes_last_seen_of_workers_heard)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *busy = zj_testcoord_hello(tc, "w1", 1, 0);
    zj_testcoord_hello(tc, "w2", 1, 0);
    int64_t now = zj_peer_last_seen(busy);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *db = zj_testdb_raw();
    int64_t connected =
        zj_testdb_int(db, "SELECT CAST(last_seen * 1000 AS INTEGER) "
                          "FROM workers "
                          "WHERE name = 'w1'");
    //  w1 speaks 2.5 s later; w2 stays quiet (within its liveness).
    zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
    zj_testcoord_from_worker(tc, "w1", beat);
    zj_msg_destroy(&beat);
    zj_peer_seen(busy, now + 2500);
    zj_worker_ep_tick(&tc->worker_ep, now + 2600);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    int64_t seen = zj_testdb_int(db, "SELECT CAST(last_seen * 1000 AS INTEGER) "
                                     "FROM workers "
                                     "WHERE name = 'w1'");
    ck_assert_msg(seen > connected + 2000 && seen < connected + 3000,
                  "last_seen %" PRId64 " ms, connected %" PRId64 " ms", seen,
                  connected);
    int64_t quiet =
        zj_testdb_int(db, "SELECT CAST(last_seen * 1000 AS INTEGER) "
                          "FROM workers "
                          "WHERE name = 'w2'");
    ck_assert_int_lt(quiet, connected + 1000);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_strangers_and_client_messages_get_errors)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
    zj_testcoord_from_worker(tc, "nobody", beat);
    zj_msg_destroy(&beat);
    zj_msg_t *error = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_ERROR);
    ck_assert_ptr_nonnull(error);
    ck_assert_int_eq(error->code, ZJ_ETYPE);
    ck_assert_str_eq(error->reason, "unknown worker: say HELLO first");
    zj_msg_destroy(&error);
    zj_msg_t *submit = zj_msg_new(ZJ_MSG_SUBMIT);
    zj_testcoord_from_worker(tc, "nobody", submit);
    zj_msg_destroy(&submit);
    error = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_ERROR);
    ck_assert_ptr_nonnull(error);
    ck_assert_int_eq(error->code, ZJ_ETYPE);
    zj_msg_destroy(&error);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A worker silent for more than a beat and a half gets no jobs: it may
//  be dead or frozen, and jobs sent now would wait for its loss. Heard
//  again, it gets them.
START_TEST(test_a_quiet_worker_gets_no_jobs)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *quiet = zj_testcoord_hello(tc, "w1", 4, 0);
    for (int index = 0; index < 4; index++)
        zj_testcoord_submit(tc, "echo", 1);
    int64_t beat = tc->worker_ep.heartbeat_ms;
    zj_peer_seen(quiet, zj_mono_ms() - beat * 3 / 2 - 50);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 4);
    zj_peer_seen(quiet, zj_mono_ms() - beat);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 4);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_a_draining_worker_gets_no_jobs)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 4, 0);
    zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
    beat->draining = true;
    zj_testcoord_from_worker(tc, "w1", beat);
    zj_msg_destroy(&beat);
    ck_assert(zj_peer_draining(peer));
    zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Submits an echo job with a timeout, through the state machine.
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

//  A time past any timeout plus grace these tests use; the worker is
//  heard from then, so it is not lost.
static int64_t
s_much_later(zj_peer_t *peer)
{
    int64_t later = zj_mono_ms() + 3600 * 1000;
    zj_peer_seen(peer, later);
    return later;
}

//  The CANCEL sent to the worker is for id alone.
static void
s_assert_told_to_cancel(zj_testcoord_t *tc, int64_t id)
{
    zj_msg_t *cancel = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_CANCEL);
    ck_assert_ptr_nonnull(cancel);
    ck_assert_uint_eq(cancel->id_count, 1);
    ck_assert_int_eq(cancel->ids[0], id);
    zj_msg_destroy(&cancel);
}

//  A worker that beats its heart but never answers held a job with a
//  timeout for ever: the coordinator now fails the attempt past its
//  timeout plus the grace, tells the worker to cancel it, keeps its slot
//  taken until the worker reports it, and drops that late report. A job
//  without a timeout has no such deadline.
START_TEST(test_a_job_past_its_deadline_fails_and_its_worker_is_told)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *peer = zj_testcoord_hello(tc, "w1", 2, 0);
    int64_t id = s_submit_timed(tc, 1000, 1);
    int64_t untimed = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 2);
    zj_worker_ep_tick(&tc->worker_ep, zj_mono_ms() + 999);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_RUNNING), 2);

    zj_worker_ep_tick(&tc->worker_ep, s_much_later(peer));
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_FAILED);
    ck_assert_int_eq(zj_testcoord_stored(tc, untimed, NULL), ZJ_STATE_RUNNING);
    s_assert_told_to_cancel(tc, id);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);
    sqlite3 *db = zj_testdb_raw();
    char *attempt = zj_testdb_text(db, "SELECT attempt || ':' || state || "
                                       "':' || worker || ':' || error FROM "
                                       "attempts");
    ck_assert_ptr_nonnull(attempt);
    ck_assert_msg(strstr(attempt, "1:failed:w1:timed out: no result from "
                                  "worker w1 ") == attempt,
                  "attempt row: %s", attempt);
    ck_assert_msg(strstr(attempt, "after its 1 s timeout"), "attempt row: %s",
                  attempt);
    free(attempt);

    zj_msg_t *late = zj_testcoord_results(7, id, 1, ZJ_STATE_SUCCEEDED);
    zj_testcoord_from_worker(tc, "w1", late);
    zj_msg_destroy(&late);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_FAILED);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 1);
    char *count = zj_testdb_text(db, "SELECT count(*) FROM attempts");
    ck_assert_str_eq(count, "1");
    free(count);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  With attempts left, the expired attempt is retried like a failed one,
//  but never on the worker that still holds it: it waits for another.
START_TEST(test_a_job_retried_after_its_deadline_runs_elsewhere)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *mute = zj_testcoord_hello(tc, "mute", 4, 0);
    int64_t id = s_submit_timed(tc, 50, 2);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_worker_ep_tick(&tc->worker_ep, s_much_later(mute));
    s_assert_told_to_cancel(tc, id);
    int32_t attempts = 0;
    ck_assert_int_eq(zj_testcoord_stored(tc, id, &attempts), ZJ_STATE_QUEUED);
    ck_assert_int_eq(attempts, 1);
    zj_scheduler_wake(tc->scheduler, zj_now() + 60);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);

    zj_peer_t *honest = zj_testcoord_hello(tc, "honest", 1, 0);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_future_t *future = zj_futures_find(tc->futures, id);
    ck_assert_ptr_eq(future->peer, honest);
    zj_msg_t *results = zj_testcoord_results(1, id, 2, ZJ_STATE_SUCCEEDED);
    zj_testcoord_from_worker(tc, "honest", results);
    zj_msg_destroy(&results);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, &attempts),
                     ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(attempts, 2);
    //  The mute worker's slot comes back when it finally reports.
    ck_assert_int_eq(zj_peer_credit(mute, ZJ_CLASS_IO), 3);
    results = zj_testcoord_results(1, id, 1, ZJ_STATE_FAILED);
    zj_testcoord_from_worker(tc, "mute", results);
    zj_msg_destroy(&results);
    ck_assert_int_eq(zj_peer_credit(mute, ZJ_CLASS_IO), 4);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_SUCCEEDED);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  --- identity: who holds a name, and whose results count

//  Says HELLO from the connection at identity as worker name of process
//  pid on host "h"; returns the reply's type (an ERROR is left in *error
//  if error is not NULL, else dropped).
static zj_msg_type_t
s_hello_from(zj_testcoord_t *tc, const char *identity, const char *name,
             int64_t pid, zj_msg_t **error)
{
    zj_msg_t *hello = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *info = zj_msg_add_worker(hello);
    info->name = strdup(name);
    info->host = strdup("h");
    info->pid = pid;
    info->io_slots = 1;
    info->kinds = calloc(2, sizeof *info->kinds);
    info->kinds[0].name = strdup("echo");
    info->kinds[0].klass = ZJ_CLASS_IO;
    info->kind_count = 1;
    zj_testcoord_from_worker(tc, identity, hello);
    zj_msg_destroy(&hello);
    zj_side_t side = ZJ_TO_CLIENT;
    zj_msg_t *reply = zj_outbox_take(tc->outbox, &side);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq(side, ZJ_TO_WORKER);
    zj_msg_type_t type = reply->type;
    if (error && type == ZJ_MSG_ERROR)
        *error = reply;
    else
        zj_msg_destroy(&reply);
    return type;
}

//  Two workers started with one name used to evict each other at every
//  HELLO: the second is refused while the first is heard, and the
//  refusal names the holder and says how long the name stays held.
START_TEST(test_a_name_held_by_a_live_worker_is_refused)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    ck_assert_int_eq(s_hello_from(tc, "first", "w1", 100, NULL),
                     ZJ_MSG_WELCOME);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_msg_t *error = NULL;
    ck_assert_int_eq(s_hello_from(tc, "second", "w1", 200, &error),
                     ZJ_MSG_ERROR);
    ck_assert_str_eq(zj_errname(error->code), "EINUSE");
    ck_assert_ptr_nonnull(strstr(error->reason, "'w1'"));
    ck_assert_ptr_nonnull(strstr(error->reason, "pid 100"));
    ck_assert_int_gt(error->timeout_ms, 0);
    ck_assert_int_le(error->timeout_ms, 3000);
    zj_msg_destroy(&error);
    //  The first keeps its name, its job and its connection.
    zframe_t *first = zframe_new("first", 5);
    zj_peer_t *holder = zj_peers_find_name(tc->peers, "w1");
    ck_assert_ptr_eq(zj_peers_find(tc->peers, first), holder);
    zframe_destroy(&first);
    ck_assert_uint_eq(zj_peers_size(tc->peers), 1);
    ck_assert_uint_eq(zj_peer_running(holder), 1);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_RUNNING);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A worker killed and started again finds its old connection still in
//  the table: once that one has been silent for the liveness window, the
//  name is free and the new one takes it (its jobs go back to the queue).
START_TEST(test_a_silent_holder_gives_its_name_up)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    ck_assert_int_eq(s_hello_from(tc, "old", "w1", 100, NULL), ZJ_MSG_WELCOME);
    zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_peer_t *old = zj_peers_find_name(tc->peers, "w1");
    zj_peer_seen(old, zj_peer_last_seen(old) - 3001);
    ck_assert_int_eq(s_hello_from(tc, "new", "w1", 200, NULL), ZJ_MSG_WELCOME);
    zframe_t *fresh = zframe_new("new", 3);
    ck_assert_ptr_eq(zj_peers_find(tc->peers, fresh),
                     zj_peers_find_name(tc->peers, "w1"));
    zframe_destroy(&fresh);
    ck_assert_uint_eq(zj_peers_size(tc->peers), 1);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 1);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  The same process on a new connection (it reconnected) is the same
//  worker: it takes its name back at once.
START_TEST(test_the_same_process_takes_its_name_back_at_once)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    ck_assert_int_eq(s_hello_from(tc, "link1", "w1", 100, NULL),
                     ZJ_MSG_WELCOME);
    ck_assert_int_eq(s_hello_from(tc, "link2", "w1", 100, NULL),
                     ZJ_MSG_WELCOME);
    ck_assert_uint_eq(zj_peers_size(tc->peers), 1);
    zframe_t *link2 = zframe_new("link2", 5);
    ck_assert_ptr_nonnull(zj_peers_find(tc->peers, link2));
    zframe_destroy(&link2);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Any peer on the workers endpoint could set a running job's result
//  without a HELLO (it was stored with worker "unknown"). Now it gets an
//  ERROR, no ACK, and the job is untouched.
START_TEST(test_results_before_hello_are_refused)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_msg_t *results = zj_testcoord_results(7, id, 1, ZJ_STATE_SUCCEEDED);
    zj_testcoord_from_worker(tc, "stranger", results);
    zj_msg_destroy(&results);
    zj_side_t side = ZJ_TO_CLIENT;
    zj_msg_t *reply = zj_outbox_take(tc->outbox, &side);
    ck_assert_ptr_nonnull(reply);
    ck_assert_int_eq(reply->type, ZJ_MSG_ERROR);
    ck_assert_int_eq(reply->code, ZJ_ETYPE);
    zj_msg_destroy(&reply);
    ck_assert_uint_eq(zj_outbox_size(tc->outbox), 0); //  No ACK
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_RUNNING);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_RUNNING), 1);
    //  BYE from a stranger is refused too, and changes nothing.
    zj_msg_t *bye = zj_msg_new(ZJ_MSG_BYE);
    zj_testcoord_from_worker(tc, "stranger", bye);
    zj_msg_destroy(&bye);
    reply = zj_testcoord_take(tc, ZJ_TO_WORKER, ZJ_MSG_ERROR);
    ck_assert_ptr_nonnull(reply);
    zj_msg_destroy(&reply);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A worker that said HELLO under its own name cannot end another
//  worker's attempt: running elsewhere, or queued again after its worker
//  was lost. The lost worker itself, back under its name, still can.
START_TEST(test_results_from_a_non_holder_are_dropped)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *w1 = zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_testcoord_hello(tc, "w2", 1, 0);
    zj_msg_t *results = zj_testcoord_results(1, id, 1, ZJ_STATE_SUCCEEDED);
    zj_testcoord_from_worker(tc, "w2", results);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_RUNNING);
    //  w1 is lost: its job waits in the queue for a worker.
    zj_peer_seen(w1, zj_mono_ms() - 10000);
    zj_worker_ep_tick(&tc->worker_ep, zj_mono_ms());
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 1);
    zj_testcoord_from_worker(tc, "w2", results);
    ck_assert_uint_eq(zj_testcoord_count(tc, ZJ_STATE_QUEUED), 1);
    //  w1 comes back and reports the attempt it held: it counts.
    zj_testcoord_hello(tc, "w1", 1, 0);
    zj_testcoord_from_worker(tc, "w1", results);
    zj_msg_destroy(&results);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_SUCCEEDED);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Says HELLO as worker w1 of process 100 on host h from the connection
//  at identity admitted with key; returns the reply's type.
static zj_msg_type_t
s_hello_keyed(zj_testcoord_t *tc, const char *identity, const char *key)
{
    zj_msg_t *hello = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *info = zj_msg_add_worker(hello);
    info->name = strdup("w1");
    info->host = strdup("h");
    info->pid = 100;
    info->io_slots = 1;
    zframe_t *frame = zframe_new(identity, strlen(identity));
    zj_worker_ep_handle(&tc->worker_ep, frame, key, hello);
    zframe_destroy(&frame);
    zj_msg_destroy(&hello);
    zj_side_t side = ZJ_TO_CLIENT;
    zj_msg_t *reply = zj_outbox_take(tc->outbox, &side);
    ck_assert_ptr_nonnull(reply);
    zj_msg_type_t type = reply->type;
    zj_msg_destroy(&reply);
    return type;
}

//  With CURVE a live name goes back only to its key, whatever host and
//  pid the HELLO claims; once its holder is silent, any admitted key.
START_TEST(test_with_curve_a_live_name_goes_back_only_to_its_key)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    ck_assert_int_eq(s_hello_keyed(tc, "a", "KEY-A"), ZJ_MSG_WELCOME);
    ck_assert_int_eq(s_hello_keyed(tc, "b", "KEY-B"), ZJ_MSG_ERROR);
    ck_assert_int_eq(s_hello_keyed(tc, "c", NULL), ZJ_MSG_ERROR);
    ck_assert_int_eq(s_hello_keyed(tc, "d", "KEY-A"), ZJ_MSG_WELCOME);
    zj_peer_t *holder = zj_peers_find_name(tc->peers, "w1");
    ck_assert_str_eq(zj_peer_curve_key(holder), "KEY-A");
    zj_peer_seen(holder, zj_peer_last_seen(holder) - 3001);
    ck_assert_int_eq(s_hello_keyed(tc, "e", "KEY-B"), ZJ_MSG_WELCOME);
    holder = zj_peers_find_name(tc->peers, "w1");
    ck_assert_str_eq(zj_peer_curve_key(holder), "KEY-B");
    ck_assert_uint_eq(zj_peers_size(tc->peers), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_worker_ep_suite(void)
{
    Suite *suite = suite_create("worker_ep");
    TCase *tcase = tcase_create("workers");
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_dispatch_stays_within_each_class_of_credit);
    tcase_add_test(tcase, test_results_sent_twice_free_their_slots_once);
    tcase_add_test(tcase, test_results_are_acknowledged_by_number);
    tcase_add_test(tcase, test_hello_again_requeues_and_resets_the_ledger);
    tcase_add_test(tcase, test_bye_and_silence_requeue_and_mark_the_worker);
    tcase_add_test(tcase,
                   test_jobs_lost_beside_a_poison_job_run_one_by_one_and_live);
    tcase_add_test(tcase, test_a_worker_runs_one_job_at_its_last_chance);
    tcase_add_test(tcase, test_tick_beats_every_worker_once_a_period);
    tcase_add_test(tcase, test_tick_writes_last_seen_of_workers_heard);
    tcase_add_test(tcase, test_strangers_and_client_messages_get_errors);
    tcase_add_test(tcase, test_a_draining_worker_gets_no_jobs);
    tcase_add_test(tcase, test_a_quiet_worker_gets_no_jobs);
    tcase_add_test(tcase,
                   test_a_job_past_its_deadline_fails_and_its_worker_is_told);
    tcase_add_test(tcase, test_a_job_retried_after_its_deadline_runs_elsewhere);
    tcase_add_test(tcase, test_a_name_held_by_a_live_worker_is_refused);
    tcase_add_test(tcase, test_a_silent_holder_gives_its_name_up);
    tcase_add_test(tcase, test_the_same_process_takes_its_name_back_at_once);
    tcase_add_test(tcase, test_results_before_hello_are_refused);
    tcase_add_test(tcase, test_results_from_a_non_holder_are_dropped);
    tcase_add_test(tcase,
                   test_with_curve_a_live_name_goes_back_only_to_its_key);
    suite_add_tcase(suite, tcase);
    return suite;
}
