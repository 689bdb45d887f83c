//  test_retry.c - zjob retry through the clients endpoint on the test
//  coordinator: a refused request makes no job, and a retry is a new job
//  that copies the old one's kind, args and options and names it, while
//  the old one stays as it ended.
#include <check.h>

#include "common/err.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

static zframe_t *s_client; //  The client's routing id

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

//  Sends RETRY of ids[count]; returns the reply of type (caller frees).
static zj_msg_t *
s_retry(zj_testcoord_t *tc, const int64_t *ids, size_t count,
        zj_msg_type_t type)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_RETRY);
    msg->req = 21;
    for (size_t index = 0; index < count; index++)
        zj_msg_add_id(msg, ids[index]);
    zj_client_ep_handle(&tc->client_ep, s_client, msg);
    zj_msg_destroy(&msg);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_msg_t *reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, type);
    ck_assert_ptr_nonnull(reply);
    ck_assert_uint_eq(reply->req, 21);
    return reply;
}

//  A job of kind echo that ran on w1 and failed; returns its id.
static int64_t
s_failed_job(zj_testcoord_t *tc)
{
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1);
    zj_msg_t *result = zj_testcoord_results(1, id, 1, ZJ_STATE_FAILED);
    zj_testcoord_from_worker(tc, "w1", result);
    zj_msg_destroy(&result);
    ck_assert_int_eq(zj_testcoord_stored(tc, id, NULL), ZJ_STATE_FAILED);
    zj_outbox_purge(tc->outbox);
    return id;
}

START_TEST(test_a_refused_retry_makes_no_job)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t failed = s_failed_job(tc);
    int64_t queued = zj_testcoord_submit(tc, "echo", 1);
    size_t unfinished = zj_futures_size(tc->futures);

    int64_t unknown[] = {failed, 999};
    zj_msg_t *error = s_retry(tc, unknown, 2, ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ENOTFOUND);
    ck_assert_str_eq(error->reason, "no such job 999");
    zj_msg_destroy(&error);

    int64_t unfinished_ids[] = {failed, queued};
    error = s_retry(tc, unfinished_ids, 2, ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ESTATE);
    ck_assert_ptr_nonnull(strstr(error->reason, "is queued"));
    zj_msg_destroy(&error);
    ck_assert_uint_eq(zj_futures_size(tc->futures), unfinished);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_a_retry_is_a_new_job_naming_the_old)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t failed = s_failed_job(tc);
    int64_t both[] = {failed, failed};
    zj_msg_t *reply = s_retry(tc, both, 2, ZJ_MSG_RETRY);
    ck_assert_uint_eq(reply->id_count, 2);
    ck_assert_int_gt(reply->ids[0], failed);
    ck_assert_int_eq(reply->ids[1], reply->ids[0] + 1);
    zj_future_t *future = zj_futures_find(tc->futures, reply->ids[0]);
    ck_assert_ptr_nonnull(future);
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    ck_assert_int_eq(future->job.retry_of, failed);
    ck_assert_str_eq(future->job.kind, "echo");
    ck_assert_str_eq(future->job.args, "{\"n\": 1}");
    ck_assert_int_eq(future->job.backoff_ms, 1);
    ck_assert_int_eq(future->job.parent, 0);
    ck_assert_int_eq(zj_testcoord_stored(tc, reply->ids[1], NULL),
                     ZJ_STATE_QUEUED);
    zj_job_t row = {0};
    ck_assert_int_eq(zj_store_get_job(tc->store, reply->ids[1], &row), 0);
    ck_assert_int_eq(row.retry_of, failed);
    zj_job_clear(&row);
    ck_assert_int_eq(zj_testcoord_stored(tc, failed, NULL), ZJ_STATE_FAILED);
    zj_msg_destroy(&reply);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_retry_suite(void)
{
    Suite *suite = suite_create("retry");
    TCase *tcase = tcase_create("retry");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_add_test(tcase, test_a_refused_retry_makes_no_job);
    tcase_add_test(tcase, test_a_retry_is_a_new_job_naming_the_old);
    suite_add_tcase(suite, tcase);
    return suite;
}
