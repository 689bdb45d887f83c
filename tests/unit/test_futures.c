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
    tcase_add_test(tcase, test_futures_destroy_with_parked_awaits);
    tcase_add_test(tcase, test_futures_release_if_cuts_off_one_client);
    suite_add_tcase(suite, tcase);
    return suite;
}
