//  test_futures.c - futures and the awaits parked on them
//  (coordinator/futures.c): order, as-completed, settle, timeouts, and
//  the awaits of a revoked client released.
#include <check.h>

#include "common/err.h"
#include "coordinator/futures.h"
#include "coordinator/outbox.h"
#include "tests/unit/suites.h"

typedef struct {
    zj_msg_t *sent[16]; //  Messages "sent", in order
    size_t count;
} s_outbox_t;

//  Flushes the futures through a real outbox and keeps what it queued,
//  all for clients.
static void
s_flush(zj_futures_t *futures, int64_t now_ms, s_outbox_t *captured)
{
    zj_outbox_t *outbox = zj_outbox_new();
    zj_futures_flush(futures, now_ms, outbox);
    zj_side_t side = ZJ_TO_WORKER;
    zj_msg_t *msg;
    while ((msg = zj_outbox_take(outbox, &side))) {
        ck_assert_int_eq(side, ZJ_TO_CLIENT);
        ck_assert_uint_lt(captured->count, 16);
        captured->sent[captured->count++] = msg;
    }
    zj_outbox_destroy(&outbox);
    ck_assert_ptr_null(outbox);
}

static void
s_outbox_clear(s_outbox_t *outbox)
{
    for (size_t index = 0; index < outbox->count; index++)
        zj_msg_destroy(&outbox->sent[index]);
    outbox->count = 0;
}

static zj_future_t *
s_add(zj_futures_t *futures, int64_t id)
{
    zj_job_t job = {0};
    job.id = id;
    job.kind = strdup("echo");
    job.state = ZJ_STATE_QUEUED;
    return zj_futures_add(futures, &job);
}

static void
s_succeed(zj_futures_t *futures, zj_future_t *future, const char *result)
{
    future->job.state = ZJ_STATE_SUCCEEDED;
    future->job.result = strdup(result);
    zj_futures_resolve(futures, future);
}

START_TEST(test_futures_in_order_waits_for_the_first)
{
    zj_futures_t *futures = zj_futures_new();
    zframe_t *identity = zframe_new("client", 6);
    zj_future_t *first = s_add(futures, 1);
    zj_future_t *second = s_add(futures, 2);
    int64_t ids[] = {1, 2};
    zj_await_t *await = zj_futures_await(futures, identity, 7, ids, 2, true, 0);
    zj_await_park(await, first, 0);
    zj_await_park(await, second, 1);
    s_outbox_t outbox = {0};

    s_succeed(futures, second, "\"two\"");
    s_flush(futures, 0, &outbox);
    ck_assert_uint_eq(outbox.count, 0); //  1 is not resolved yet
    zj_futures_reap(futures);

    s_succeed(futures, first, "\"one\"");
    s_flush(futures, 0, &outbox);
    ck_assert_uint_eq(outbox.count, 2);
    ck_assert_int_eq(outbox.sent[0]->type, ZJ_MSG_RESOLVED);
    ck_assert_uint_eq(outbox.sent[0]->req, 7);
    ck_assert_uint_eq(outbox.sent[0]->job_count, 2);
    ck_assert_int_eq(outbox.sent[0]->jobs[0].id, 1);
    ck_assert_str_eq(outbox.sent[0]->jobs[1].result, "\"two\"");
    ck_assert_int_eq(outbox.sent[1]->type, ZJ_MSG_DONE);
    ck_assert(!outbox.sent[1]->timed_out);
    ck_assert_uint_eq(zj_futures_awaits(futures), 0);
    s_outbox_clear(&outbox);
    zframe_destroy(&identity);
    zj_futures_destroy(&futures);
    ck_assert_ptr_null(futures);
}
END_TEST

START_TEST(test_futures_as_completed_sends_at_once)
{
    zj_futures_t *futures = zj_futures_new();
    zframe_t *identity = zframe_new("client", 6);
    zj_future_t *first = s_add(futures, 1);
    zj_future_t *second = s_add(futures, 2);
    int64_t ids[] = {1, 2};
    zj_await_t *await =
        zj_futures_await(futures, identity, 8, ids, 2, false, 0);
    zj_await_park(await, first, 0);
    zj_await_park(await, second, 1);
    s_outbox_t outbox = {0};
    s_succeed(futures, second, "2");
    s_flush(futures, 0, &outbox);
    ck_assert_uint_eq(outbox.count, 1);
    ck_assert_int_eq(outbox.sent[0]->jobs[0].id, 2);
    s_succeed(futures, first, "1");
    s_flush(futures, 0, &outbox);
    ck_assert_uint_eq(outbox.count, 3);
    ck_assert_int_eq(outbox.sent[2]->type, ZJ_MSG_DONE);
    s_outbox_clear(&outbox);
    zframe_destroy(&identity);
    zj_futures_destroy(&futures);
}
END_TEST

START_TEST(test_futures_settled_and_repeated_ids)
{
    zj_futures_t *futures = zj_futures_new();
    zframe_t *identity = zframe_new("client", 6);
    zj_future_t *open = s_add(futures, 5);
    int64_t ids[] = {4, 5, 5};
    zj_await_t *await = zj_futures_await(futures, identity, 9, ids, 3, true, 0);
    zj_job_t finished = {
        .id = 4, .state = ZJ_STATE_FAILED, .error = (char *) "boom"};
    zj_await_settle(await, 0, &finished);
    zj_await_park(await, open, 1);
    zj_await_park(await, open, 2);
    s_outbox_t outbox = {0};
    s_flush(futures, 0, &outbox);
    ck_assert_uint_eq(outbox.count, 1);
    ck_assert_str_eq(outbox.sent[0]->jobs[0].error, "boom");
    s_succeed(futures, open, "5");
    ck_assert_uint_eq(zj_futures_size(futures), 0);
    s_flush(futures, 0, &outbox);
    ck_assert_uint_eq(outbox.count, 3);
    ck_assert_uint_eq(outbox.sent[1]->job_count, 2);
    ck_assert_int_eq(outbox.sent[2]->type, ZJ_MSG_DONE);
    s_outbox_clear(&outbox);
    zframe_destroy(&identity);
    zj_futures_destroy(&futures);
}
END_TEST

START_TEST(test_futures_await_times_out_and_unparks)
{
    zj_futures_t *futures = zj_futures_new();
    zframe_t *identity = zframe_new("client", 6);
    zj_future_t *never = s_add(futures, 3);
    int64_t ids[] = {3};
    zj_await_t *await =
        zj_futures_await(futures, identity, 10, ids, 1, true, 1000);
    zj_await_park(await, never, 0);
    ck_assert_int_eq(zj_futures_next_deadline(futures), 1000);
    s_outbox_t outbox = {0};
    s_flush(futures, 999, &outbox);
    ck_assert_uint_eq(outbox.count, 0);
    s_flush(futures, 1000, &outbox);
    ck_assert_uint_eq(outbox.count, 1);
    ck_assert_int_eq(outbox.sent[0]->type, ZJ_MSG_DONE);
    ck_assert(outbox.sent[0]->timed_out);
    ck_assert_uint_eq(zj_futures_awaits(futures), 0);
    ck_assert_uint_eq(zlistx_size(never->waiters), 0);
    //  The future resolves later with nobody waiting.
    s_succeed(futures, never, "3");
    s_flush(futures, 2000, &outbox);
    ck_assert_uint_eq(outbox.count, 1);
    s_outbox_clear(&outbox);
    zframe_destroy(&identity);
    zj_futures_destroy(&futures);
}
END_TEST

START_TEST(test_futures_destroy_with_parked_awaits)
{
    zj_futures_t *futures = zj_futures_new();
    zframe_t *identity = zframe_new("client", 6);
    zj_future_t *open = s_add(futures, 1);
    int64_t ids[] = {1};
    zj_await_t *await = zj_futures_await(futures, identity, 1, ids, 1, true, 0);
    zj_await_park(await, open, 0);
    ck_assert_ptr_eq(zj_futures_find(futures, 1), open);
    ck_assert_ptr_null(zj_futures_find(futures, 2));
    zframe_destroy(&identity);
    zj_futures_destroy(&futures);
    ck_assert_ptr_null(futures);
}
END_TEST

//  The fake store of the paused tests: every job's result is 600 KB, so
//  a RESOLVED carries one (batches are cut at 1 MiB).
static int s_loads; //  Calls of s_load_big

static char *
s_big_result(void)
{
    char *result = malloc(600 * 1024 + 3);
    ck_assert_ptr_nonnull(result);
    result[0] = '"';
    memset(result + 1, 'x', 600 * 1024);
    strcpy(result + 1 + 600 * 1024, "\"");
    return result;
}

static int
s_load_big(void *arg, int64_t id, zj_job_t *job)
{
    (void) arg;
    s_loads++;
    job->id = id;
    job->state = ZJ_STATE_SUCCEEDED;
    job->result = s_big_result();
    return 0;
}

//  A client with no room pauses its await, which keeps references only;
//  as the client reads, the await goes on, reading the records again,
//  and sends each id once, in order, then DONE.
START_TEST(test_futures_await_pauses_without_room_and_goes_on)
{
    zj_futures_t *futures = zj_futures_new();
    zj_futures_set_loader(futures, s_load_big, NULL);
    zj_outbox_t *outbox = zj_outbox_new();
    zj_outbox_set_budget(outbox, 1); //  One frame at a time
    zframe_t *identity = zframe_new("client", 6);
    int64_t ids[] = {1, 2, 3};
    zj_await_t *await = zj_futures_await(futures, identity, 4, ids, 3, true, 0);
    zj_job_t record = {.id = 0, .state = ZJ_STATE_SUCCEEDED};
    record.result = s_big_result();
    for (size_t index = 0; index < 3; index++) {
        record.id = ids[index];
        zj_await_settle(await, index, &record); //  Only one kept: 1 MiB
    }
    free(record.result);
    s_loads = 0;
    int64_t expected = 1;
    for (int round = 0; round < 3; round++) {
        zj_futures_flush(futures, 0, outbox);
        ck_assert_uint_eq(zj_futures_paused(futures), round < 2 ? 1 : 0);
        ck_assert_uint_eq(zj_outbox_room(outbox, identity), 0);
        ck_assert(zj_futures_invariants_hold(futures));
        zj_side_t side;
        zj_msg_t *msg = zj_outbox_take(outbox, &side); //  The client reads
        ck_assert_int_eq(msg->type, ZJ_MSG_RESOLVED);
        ck_assert_uint_eq(msg->job_count, 1);
        ck_assert_int_eq(msg->jobs[0].id, expected++);
        ck_assert_uint_eq(strlen(msg->jobs[0].result), 600 * 1024 + 2);
        zj_msg_destroy(&msg);
        if (round < 2) //  Else DONE is queued
            ck_assert_uint_eq(zj_outbox_room(outbox, identity), 1);
    }
    ck_assert_int_ge(s_loads, 2); //  The paused await kept no copy
    zj_side_t side;
    zj_msg_t *done = zj_outbox_take(outbox, &side);
    ck_assert_int_eq(done->type, ZJ_MSG_DONE);
    zj_msg_destroy(&done);
    ck_assert_uint_eq(zj_futures_awaits(futures), 0);
    zframe_destroy(&identity);
    zj_outbox_destroy(&outbox);
    zj_futures_destroy(&futures);
}
END_TEST

//  A paused await past its deadline sends what it holds once its client
//  reads, then DONE timed_out; the jobs not final are unparked at once.
START_TEST(test_futures_paused_await_times_out_after_what_it_holds)
{
    zj_futures_t *futures = zj_futures_new();
    zj_futures_set_loader(futures, s_load_big, NULL);
    zj_outbox_t *outbox = zj_outbox_new();
    zj_outbox_set_budget(outbox, 1);
    zframe_t *identity = zframe_new("client", 6);
    zj_future_t *open = s_add(futures, 3);
    int64_t ids[] = {1, 2, 3};
    zj_await_t *await =
        zj_futures_await(futures, identity, 5, ids, 3, false, 1000);
    zj_await_settle(await, 0, NULL);
    zj_await_settle(await, 1, NULL);
    zj_await_park(await, open, 2);
    zj_futures_flush(futures, 0, outbox);
    ck_assert_uint_eq(zj_futures_paused(futures), 1);
    zj_futures_flush(futures, 1000, outbox); //  Expired, still no room
    ck_assert_uint_eq(zlistx_size(open->waiters), 0);
    ck_assert_int_eq(zj_futures_next_deadline(futures), 0);
    ck_assert(zj_futures_invariants_hold(futures));
    zj_side_t side;
    zj_msg_t *msg = zj_outbox_take(outbox, &side);
    ck_assert_int_eq(msg->jobs[0].id, 1);
    zj_msg_destroy(&msg);
    zj_futures_flush(futures, 1001, outbox);
    msg = zj_outbox_take(outbox, &side);
    ck_assert_int_eq(msg->jobs[0].id, 2);
    zj_msg_destroy(&msg);
    msg = zj_outbox_take(outbox, &side);
    ck_assert_int_eq(msg->type, ZJ_MSG_DONE);
    ck_assert(msg->timed_out);
    zj_msg_destroy(&msg);
    ck_assert_uint_eq(zj_futures_awaits(futures), 0);
    ck_assert_uint_eq(zj_futures_paused(futures), 0);
    zframe_destroy(&identity);
    zj_outbox_destroy(&outbox);
    zj_futures_destroy(&futures);
}
END_TEST

//  A client gone: its awaits are freed and unparked, others stay.
START_TEST(test_futures_release_frees_a_clients_awaits)
{
    zj_futures_t *futures = zj_futures_new();
    zframe_t *gone = zframe_new("gone", 4);
    zframe_t *other = zframe_new("other", 5);
    zj_future_t *open = s_add(futures, 1);
    int64_t ids[] = {1};
    for (int count = 0; count < 2; count++)
        zj_await_park(zj_futures_await(futures, gone, 1, ids, 1, true, 0), open,
                      0);
    zj_await_park(zj_futures_await(futures, other, 2, ids, 1, true, 0), open,
                  0);
    ck_assert_uint_eq(zj_futures_release(futures, gone), 2);
    ck_assert_uint_eq(zj_futures_awaits(futures), 1);
    ck_assert_uint_eq(zlistx_size(open->waiters), 1);
    ck_assert(zj_futures_invariants_hold(futures));
    ck_assert_uint_eq(zj_futures_release(futures, gone), 0);
    zframe_destroy(&gone);
    zframe_destroy(&other);
    zj_futures_destroy(&futures);
}
END_TEST

static bool
s_doomed(void *arg, zframe_t *identity)
{
    return zframe_eq(identity, arg);
}

//  A client whose key was revoked: its awaits end with the ERROR given,
//  unparked, and the result goes only to the others.
START_TEST(test_futures_release_if_cuts_off_one_client)
{
    zj_futures_t *futures = zj_futures_new();
    zframe_t *revoked = zframe_new("revoked", 7);
    zframe_t *kept = zframe_new("kept", 4);
    zj_future_t *open = s_add(futures, 1);
    int64_t ids[] = {1};
    zj_await_park(zj_futures_await(futures, revoked, 7, ids, 1, true, 0), open,
                  0);
    zj_await_park(zj_futures_await(futures, kept, 8, ids, 1, true, 0), open, 0);
    zj_outbox_t *outbox = zj_outbox_new();
    ck_assert_uint_eq(zj_futures_release_if(futures, s_doomed, revoked, outbox,
                                            ZJ_EDENIED, "no longer admitted"),
                      1);
    zj_side_t side;
    zj_msg_t *error = zj_outbox_take(outbox, &side);
    ck_assert_int_eq(error->type, ZJ_MSG_ERROR);
    ck_assert_uint_eq(error->req, 7);
    ck_assert_int_eq(error->code, ZJ_EDENIED);
    zj_msg_destroy(&error);
    ck_assert_uint_eq(zj_futures_awaits(futures), 1);
    ck_assert_uint_eq(zlistx_size(open->waiters), 1);
    s_succeed(futures, open, "1");
    s_outbox_t sent = {0};
    s_flush(futures, 0, &sent);
    ck_assert_uint_eq(sent.count, 2); //  RESOLVED and DONE, for req 8
    ck_assert_uint_eq(sent.sent[0]->req, 8);
    ck_assert_uint_eq(sent.sent[1]->req, 8);
    s_outbox_clear(&sent);
    zj_outbox_destroy(&outbox);
    zframe_destroy(&revoked);
    zframe_destroy(&kept);
    zj_futures_destroy(&futures);
}
END_TEST

Suite *
test_futures_suite(void)
{
    Suite *suite = suite_create("futures");
    TCase *tcase = tcase_create("core");
    tcase_add_test(tcase, test_futures_in_order_waits_for_the_first);
    tcase_add_test(tcase, test_futures_as_completed_sends_at_once);
    tcase_add_test(tcase, test_futures_settled_and_repeated_ids);
    tcase_add_test(tcase, test_futures_await_times_out_and_unparks);
    tcase_add_test(tcase, test_futures_await_pauses_without_room_and_goes_on);
    tcase_add_test(tcase,
                   test_futures_paused_await_times_out_after_what_it_holds);
    tcase_add_test(tcase, test_futures_release_frees_a_clients_awaits);
    tcase_add_test(tcase, test_futures_destroy_with_parked_awaits);
    tcase_add_test(tcase, test_futures_release_if_cuts_off_one_client);
    suite_add_tcase(suite, tcase);
    return suite;
}
