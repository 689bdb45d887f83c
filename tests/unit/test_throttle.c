//  test_throttle.c - limits per kind (coordinator/throttle.c): the counts
//  of running jobs, the token bucket on an injected clock, a limit of 0
//  and clearing; the limits table of the store; and dispatch through the
//  workers endpoint honouring them across workers, with LIMIT, LIMITS
//  and STATUS's "held" through the clients endpoint.
#include <check.h>

#include "common/duration.h"
#include "common/err.h"
#include "coordinator/journal.h"
#include "coordinator/throttle.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

static zj_kind_limit_t
s_limit(const char *kind, int32_t concurrency, double rate)
{
    return (zj_kind_limit_t){
        .kind = (char *) kind, .concurrency = concurrency, .rate = rate};
}

//  --- the module

START_TEST(test_unknown_kind_is_free_and_clear_is_a_no_op)
{
    zj_throttle_t *throttle = zj_throttle_new();
    zj_kind_limit_t got;
    ck_assert(!zj_throttle_get(throttle, "fetch", &got));
    ck_assert_int_eq(got.concurrency, -1);
    ck_assert(got.rate == 0);
    ck_assert_int_eq(zj_throttle_holds(throttle, "fetch", 0), ZJ_HOLD_NONE);
    zj_throttle_clear(throttle, "fetch");
    ck_assert(!zj_throttle_is_limiting(throttle));
    ck_assert_int_eq(zj_throttle_next_token(throttle, 0), 0);
    char text[128];
    ck_assert(!zj_throttle_describe(throttle, "fetch", 0, text, sizeof text));
    ck_assert_str_eq(text, "");
    ck_assert(zj_throttle_invariants_hold(throttle));
    zj_throttle_destroy(&throttle);
    ck_assert_ptr_null(throttle);
}
END_TEST

START_TEST(test_limit_of_zero_holds_with_nothing_running)
{
    zj_throttle_t *throttle = zj_throttle_new();
    zj_kind_limit_t paused = s_limit("fetch", 0, 0);
    zj_throttle_set(throttle, &paused, 0);
    ck_assert(zj_throttle_is_limiting(throttle));
    ck_assert_int_eq(zj_throttle_holds(throttle, "fetch", 0),
                     ZJ_HOLD_CONCURRENCY);
    ck_assert_int_eq(zj_throttle_holds(throttle, "other", 0), ZJ_HOLD_NONE);
    char text[128];
    ck_assert(zj_throttle_describe(throttle, "fetch", 0, text, sizeof text));
    ck_assert_str_eq(text, "kind fetch is paused (concurrency 0)");
    zj_throttle_clear(throttle, "fetch");
    ck_assert_int_eq(zj_throttle_holds(throttle, "fetch", 0), ZJ_HOLD_NONE);
    ck_assert(!zj_throttle_is_limiting(throttle));
    ck_assert(zj_throttle_invariants_hold(throttle));
    zj_throttle_destroy(&throttle);
}
END_TEST

START_TEST(test_concurrency_counts_running_jobs)
{
    zj_throttle_t *throttle = zj_throttle_new();
    //  Running jobs count before any limit, so a limit holds at once.
    zj_throttle_started(throttle, "fetch", 0);
    zj_throttle_started(throttle, "fetch", 0);
    zj_throttle_started(throttle, "other", 0);
    ck_assert_int_eq(zj_throttle_running(throttle, "fetch"), 2);
    ck_assert_int_eq(zj_throttle_total(throttle), 3);
    zj_kind_limit_t two = s_limit("fetch", 2, 0);
    zj_throttle_set(throttle, &two, 0);
    ck_assert_int_eq(zj_throttle_holds(throttle, "fetch", 0),
                     ZJ_HOLD_CONCURRENCY);
    char text[128];
    ck_assert(zj_throttle_describe(throttle, "fetch", 0, text, sizeof text));
    ck_assert_str_eq(text, "kind fetch at its concurrency limit (2 running)");
    zj_throttle_ended(throttle, "fetch");
    ck_assert_int_eq(zj_throttle_holds(throttle, "fetch", 0), ZJ_HOLD_NONE);
    //  Cleared while one runs: the count stays, the limit goes.
    zj_throttle_clear(throttle, "fetch");
    ck_assert_int_eq(zj_throttle_running(throttle, "fetch"), 1);
    zj_kind_limit_t got;
    ck_assert(!zj_throttle_get(throttle, "fetch", &got));
    ck_assert_int_eq(got.running, 1);
    zj_throttle_ended(throttle, "fetch");
    zj_throttle_ended(throttle, "other");
    ck_assert_int_eq(zj_throttle_total(throttle), 0);
    ck_assert(zj_throttle_invariants_hold(throttle));
    zj_throttle_destroy(&throttle);
}
END_TEST

START_TEST(test_bucket_refills_on_the_injected_clock)
{
    zj_throttle_t *throttle = zj_throttle_new();
    ck_assert(zj_throttle_burst(5) == 1);
    ck_assert(zj_throttle_burst(1000) == 100);
    ck_assert(zj_throttle_burst(0.01) == 1);
    zj_kind_limit_t five = s_limit("fetch", -1, 5);
    zj_throttle_set(throttle, &five, 1000);
    //  Full at first: one start, then one per 200 ms.
    ck_assert_int_eq(zj_throttle_gate(throttle, "fetch", 1000), ZJ_HOLD_NONE);
    zj_throttle_started(throttle, "fetch", 1000);
    ck_assert_int_eq(zj_throttle_gate(throttle, "fetch", 1000), ZJ_HOLD_RATE);
    ck_assert_int_eq(zj_throttle_next_token(throttle, 1000), 1200);
    ck_assert_int_eq(zj_throttle_next_token(throttle, 1150), 1200);
    ck_assert_int_eq(zj_throttle_holds(throttle, "fetch", 1199), ZJ_HOLD_RATE);
    char text[128];
    ck_assert(zj_throttle_describe(throttle, "fetch", 1100, text, sizeof text));
    ck_assert_str_eq(text, "kind fetch at its rate limit (5/s)");
    //  Its token is due: wake at once, once.
    ck_assert_int_eq(zj_throttle_next_token(throttle, 1200), 1200);
    ck_assert_int_eq(zj_throttle_next_token(throttle, 1200), 0);
    ck_assert_int_eq(zj_throttle_gate(throttle, "fetch", 1200), ZJ_HOLD_NONE);
    zj_throttle_started(throttle, "fetch", 1200);
    //  A long wait fills the bucket to its burst, not more.
    ck_assert_int_eq(zj_throttle_gate(throttle, "fetch", 60000), ZJ_HOLD_NONE);
    zj_throttle_started(throttle, "fetch", 60000);
    ck_assert_int_eq(zj_throttle_gate(throttle, "fetch", 60000), ZJ_HOLD_RATE);
    ck_assert(zj_throttle_invariants_hold(throttle));
    //  Clearing forgets that dispatch waited for it.
    zj_throttle_clear(throttle, "fetch");
    ck_assert_int_eq(zj_throttle_next_token(throttle, 60000), 0);
    ck_assert(zj_throttle_invariants_hold(throttle));
    for (int count = 0; count < 3; count++)
        zj_throttle_ended(throttle, "fetch");
    zj_throttle_destroy(&throttle);
}
END_TEST

START_TEST(test_kinds_are_listed_by_name)
{
    zj_throttle_t *throttle = zj_throttle_new();
    zj_kind_limit_t limits[] = {s_limit("zeta", 1, 0), s_limit("alpha", -1, 2),
                                s_limit("mid", 0, 0)};
    for (size_t index = 0; index < 3; index++)
        zj_throttle_set(throttle, &limits[index], 0);
    zj_throttle_started(throttle, "unlimited", 0);
    zlistx_t *kinds = zj_throttle_kinds(throttle);
    ck_assert_uint_eq(zlistx_size(kinds), 3);
    ck_assert_str_eq(zlistx_first(kinds), "alpha");
    ck_assert_str_eq(zlistx_next(kinds), "mid");
    ck_assert_str_eq(zlistx_next(kinds), "zeta");
    zlistx_destroy(&kinds);
    zj_throttle_ended(throttle, "unlimited");
    ck_assert(zj_throttle_invariants_hold(throttle));
    zj_throttle_destroy(&throttle);
}
END_TEST

//  --- the store

static void
s_collect(void *arg, const zj_kind_limit_t *limit)
{
    char *text = arg;
    size_t used = strlen(text);
    snprintf(text + used, 256 - used, "%s:%d:%g:%g:%g;", limit->kind,
             limit->concurrency, limit->rate, limit->burst, limit->updated_at);
}

START_TEST(test_store_keeps_limits)
{
    zj_store_t *store = zj_testdb_store();
    zj_kind_limit_t fetch = {
        .kind = "fetch", .concurrency = 0, .rate = 0, .updated_at = 1700000000};
    zj_kind_limit_t mail = {.kind = "mail",
                            .concurrency = -1,
                            .rate = 0.5,
                            .burst = 1,
                            .updated_at = 1700000001};
    ck_assert_int_eq(zj_store_save_limit(store, &fetch), 0);
    ck_assert_int_eq(zj_store_save_limit(store, &mail), 0);
    ck_assert_int_eq(zj_store_delete_limit(store, "nothing"), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(
        zj_testdb_int(db, "SELECT count(*) FROM limits WHERE kind = 'mail'"
                          " AND concurrency IS NULL AND rate = 0.5"),
        1);
    ck_assert_int_eq(
        zj_testdb_int(db, "SELECT count(*) FROM limits WHERE kind = 'fetch'"
                          " AND concurrency = 0 AND rate IS NULL"),
        1);
    sqlite3_close(db);
    store = zj_testdb_store();
    char text[256] = "";
    ck_assert_int_eq(zj_store_list_limits(store, s_collect, text), 0);
    ck_assert_str_eq(text, "fetch:0:0:0:1.7e+09;mail:-1:0.5:1:1.7e+09;");
    ck_assert_int_eq(zj_store_delete_limit(store, "fetch"), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    text[0] = '\0';
    ck_assert_int_eq(zj_store_list_limits(store, s_collect, text), 0);
    ck_assert_str_eq(text, "mail:-1:0.5:1:1.7e+09;");
    zj_store_destroy(&store);
}
END_TEST

static int
s_limit_written(void *arg, const zj_write_entry_t *entry)
{
    char *text = arg;
    size_t used = strlen(text);
    snprintf(text + used, 128 - used, "%d %s %d %g;", (int) entry->what,
             entry->job.kind, entry->job.attempts, entry->job.not_before);
    ck_assert_ptr_null(entry->job.held);
    return 0;
}

//  A turn written again after a store failure sets and deletes the same.
START_TEST(test_limit_writes_are_journaled)
{
    zj_journal_t *journal = zj_journal_new();
    zj_write_entry_t save = {.what = ZJ_WRITE_SAVE_LIMIT};
    save.job.kind = "fetch";
    save.job.attempts = 3;
    save.job.not_before = 2.5;
    zj_journal_add(journal, &save);
    zj_write_entry_t drop = {.what = ZJ_WRITE_DELETE_LIMIT};
    drop.job.kind = "mail";
    drop.job.attempts = -1;
    zj_journal_add(journal, &drop);
    char text[128] = "";
    ck_assert_int_eq(zj_journal_replay(journal, s_limit_written, text), 0);
    char want[128];
    snprintf(want, sizeof want, "%d fetch 3 2.5;%d mail -1 0;",
             ZJ_WRITE_SAVE_LIMIT, ZJ_WRITE_DELETE_LIMIT);
    ck_assert_str_eq(text, want);
    zj_journal_destroy(&journal);
}
END_TEST

//  --- dispatch and requests, on the test coordinator

static zframe_t *s_client;

static void
s_setup(void)
{
    zj_testdb_setup();
    s_client = zframe_new("client", 6);
}

static void
s_teardown(void)
{
    zframe_destroy(&s_client);
    zj_testdb_teardown();
}

//  Sends LIMIT {kind, concurrency, rate, clear} through the clients
//  endpoint; returns the reply of type (LIMIT or ERROR).
static zj_msg_t *
s_ask_limit(zj_testcoord_t *tc, zj_kind_limit_t limit, bool clear)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_LIMIT);
    msg->req = 7;
    msg->clear = clear;
    zj_kind_limit_t *entry = zj_msg_add_limit(msg);
    *entry = limit;
    entry->kind = strdup(limit.kind);
    zj_client_ep_handle(&tc->client_ep, s_client, msg);
    zj_msg_destroy(&msg);
    zj_msg_t *reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_LIMIT);
    ck_assert_ptr_nonnull(reply);
    ck_assert_uint_eq(reply->limit_count, 1);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    return reply;
}

//  Jobs of kind running on peer.
static size_t
s_running_of(zj_testcoord_t *tc, const char *kind)
{
    size_t count = 0;
    for (zj_future_t *future = zj_futures_first(tc->futures); future;
         future = zj_futures_next(tc->futures))
        count += future->job.state == ZJ_STATE_RUNNING &&
                 strcmp(future->job.kind, kind) == 0;
    return count;
}

START_TEST(test_kind_at_zero_gets_nothing_while_others_run)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 4, 2);
    zj_msg_t *reply = s_ask_limit(tc, s_limit("echo", 0, 0), false);
    ck_assert_int_eq(reply->limits[0].concurrency, 0);
    ck_assert_str_eq(reply->limits[0].kind, "echo");
    ck_assert(reply->limits[0].updated_at > 0);
    zj_msg_destroy(&reply);
    int64_t held = zj_testcoord_submit(tc, "echo", 1);
    zj_testcoord_submit(tc, "echo", 1);
    zj_testcoord_submit(tc, "sha256", 1);
    zj_testcoord_submit(tc, "sha256", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 2);
    ck_assert_uint_eq(s_running_of(tc, "sha256"), 2);
    ck_assert_uint_eq(s_running_of(tc, "echo"), 0);
    //  STATUS says why the echo waits.
    zj_msg_t *status = zj_msg_new(ZJ_MSG_STATUS);
    status->req = 8;
    zj_msg_add_id(status, held);
    zj_client_ep_handle(&tc->client_ep, s_client, status);
    zj_msg_destroy(&status);
    reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_STATUS);
    ck_assert_ptr_nonnull(reply);
    ck_assert_str_eq(reply->jobs[0].held,
                     "kind echo is paused (concurrency 0)");
    zj_msg_destroy(&reply);
    //  Cleared, the echo jobs go.
    reply = s_ask_limit(tc, s_limit("echo", -1, 0), true);
    ck_assert_int_eq(reply->limits[0].concurrency, -1);
    zj_msg_destroy(&reply);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 2);
    ck_assert_uint_eq(s_running_of(tc, "echo"), 2);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM limits"), 0);
    sqlite3_close(db);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_dispatch_honours_concurrency_across_two_workers)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 2, 0);
    zj_testcoord_hello(tc, "w2", 2, 0);
    zj_msg_t *reply = s_ask_limit(tc, s_limit("echo", 3, 0), false);
    zj_msg_destroy(&reply);
    int64_t ids[6];
    for (size_t index = 0; index < 6; index++)
        ids[index] = zj_testcoord_submit(tc, "echo", 1);
    //  Four slots, three allowed: both workers run some.
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 3);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 0);
    ck_assert_int_eq(zj_throttle_running(tc->throttle, "echo"), 3);
    size_t w1 = 0;
    for (zj_future_t *future = zj_futures_first(tc->futures); future;
         future = zj_futures_next(tc->futures))
        w1 += future->job.state == ZJ_STATE_RUNNING &&
              strcmp(future->job.worker, "w1") == 0;
    ck_assert(w1 >= 1 && w1 <= 2);
    //  One result frees one place, whichever worker it was on.
    zj_future_t *first = zj_futures_find(tc->futures, ids[0]);
    ck_assert_int_eq(first->job.state, ZJ_STATE_RUNNING);
    zj_msg_t *results = zj_testcoord_results(1, ids[0], 1, ZJ_STATE_SUCCEEDED);
    results->io_credit = 1;
    zj_testcoord_from_worker(tc, first->job.worker, results);
    zj_msg_destroy(&results);
    ck_assert_int_eq(zj_throttle_running(tc->throttle, "echo"), 2);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    //  Raised, the rest go at once; LIMITS lists the kind.
    reply = s_ask_limit(tc, s_limit("echo", 10, 0), false);
    ck_assert_int_eq(reply->limits[0].running, 3);
    zj_msg_destroy(&reply);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_msg_t *list = zj_msg_new(ZJ_MSG_LIMITS);
    list->req = 9;
    zj_client_ep_handle(&tc->client_ep, s_client, list);
    zj_msg_destroy(&list);
    reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_LIMITS);
    ck_assert_ptr_nonnull(reply);
    ck_assert_uint_eq(reply->limit_count, 1);
    ck_assert_int_eq(reply->limits[0].concurrency, 10);
    ck_assert_int_eq(reply->limits[0].running, 4);
    zj_msg_destroy(&reply);
    //  A count that disagrees with the jobs running breaks the invariants.
    zj_throttle_started(tc->throttle, "echo", 0);
    ck_assert(!zj_lifecycle_invariants_hold(&tc->jobs));
    zj_throttle_ended(tc->throttle, "echo");
    zj_throttle_ended(tc->throttle, "echo");
    ck_assert(!zj_lifecycle_invariants_hold(&tc->jobs));
    zj_throttle_started(tc->throttle, "sha256", 0);
    ck_assert(!zj_lifecycle_invariants_hold(&tc->jobs));
    zj_throttle_ended(tc->throttle, "sha256");
    zj_throttle_started(tc->throttle, "echo", 0);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_throttle_suite(void)
{
    Suite *suite = suite_create("throttle");
    TCase *tcase = tcase_create("throttle");
    tcase_add_test(tcase, test_unknown_kind_is_free_and_clear_is_a_no_op);
    tcase_add_test(tcase, test_limit_of_zero_holds_with_nothing_running);
    tcase_add_test(tcase, test_concurrency_counts_running_jobs);
    tcase_add_test(tcase, test_bucket_refills_on_the_injected_clock);
    tcase_add_test(tcase, test_kinds_are_listed_by_name);
    suite_add_tcase(suite, tcase);
    tcase = tcase_create("store");
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_add_test(tcase, test_store_keeps_limits);
    tcase_add_test(tcase, test_limit_writes_are_journaled);
    suite_add_tcase(suite, tcase);
    tcase = tcase_create("dispatch");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_add_test(tcase, test_kind_at_zero_gets_nothing_while_others_run);
    tcase_add_test(tcase, test_dispatch_honours_concurrency_across_two_workers);
    suite_add_tcase(suite, tcase);
    return suite;
}
