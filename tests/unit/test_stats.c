//  test_stats.c - zjob stats (coordinator/stats.c): the per-minute ring
//  of finished jobs under an injected clock (a minute rolls over, the
//  window expires, kinds are forgotten), and the report of the queues as
//  the clients endpoint answers STATS.
#include <check.h>

#include "common/err.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

#define S_MINUTE 60.0

START_TEST(test_counts_expire_after_the_window)
{
    zj_stats_t *stats = zj_stats_new();
    double t0 = 60.0 * 30000000; //  The start of a minute
    zj_stats_finished(stats, "echo", ZJ_STATE_FAILED, t0 + 1);
    zj_stats_finished(stats, "echo", ZJ_STATE_FAILED, t0 + 59.9);
    zj_stats_finished(stats, "echo", ZJ_STATE_SUCCEEDED, t0 + 30);
    ck_assert_int_eq(zj_stats_count(stats, "echo", ZJ_STATE_FAILED, t0, 0), 2);
    //  The next minute: the counts move one minute back, and it is empty.
    double t1 = t0 + S_MINUTE;
    ck_assert_int_eq(zj_stats_count(stats, "echo", ZJ_STATE_FAILED, t1, 0), 0);
    ck_assert_int_eq(zj_stats_count(stats, "echo", ZJ_STATE_FAILED, t1, 1), 2);
    zj_stats_finished(stats, "echo", ZJ_STATE_FAILED, t1 + 5);
    ck_assert_int_eq(zj_stats_count(stats, "echo", ZJ_STATE_FAILED, t1, 0), 1);
    //  The last minute of the window still holds t0's; the one after not.
    double last = t0 + (ZJ_STATS_MINUTES - 1) * S_MINUTE;
    ck_assert_int_eq(zj_stats_count(stats, "echo", ZJ_STATE_FAILED, last,
                                    ZJ_STATS_MINUTES - 1),
                     2);
    ck_assert_uint_eq(zj_stats_kinds(stats, last), 1);
    double out = t0 + ZJ_STATS_MINUTES * S_MINUTE;
    ck_assert_int_eq(zj_stats_count(stats, "echo", ZJ_STATE_SUCCEEDED, out,
                                    ZJ_STATS_MINUTES - 1),
                     0);
    ck_assert_uint_eq(zj_stats_kinds(stats, out), 1); //  t1's is in
    ck_assert_uint_eq(zj_stats_kinds(stats, out + S_MINUTE), 0);
    ck_assert_int_eq(zj_stats_count(stats, NULL, ZJ_STATE_FAILED,
                                    out + S_MINUTE, ZJ_STATS_MINUTES - 1),
                     0);
    zj_stats_destroy(&stats);
    ck_assert_ptr_null(stats);
}
END_TEST

//  A slot used again ZJ_STATS_MINUTES later starts from zero.
START_TEST(test_a_slot_used_again_starts_from_zero)
{
    zj_stats_t *stats = zj_stats_new();
    double t0 = 60.0 * 30000000;
    for (int index = 0; index < 5; index++)
        zj_stats_finished(stats, "sha256", ZJ_STATE_CANCELLED, t0);
    double again = t0 + ZJ_STATS_MINUTES * S_MINUTE;
    zj_stats_finished(stats, "sha256", ZJ_STATE_CANCELLED, again);
    ck_assert_int_eq(
        zj_stats_count(stats, "sha256", ZJ_STATE_CANCELLED, again, 0), 1);
    ck_assert_int_eq(zj_stats_count(stats, NULL, ZJ_STATE_CANCELLED, again, 0),
                     1);
    ck_assert_int_eq(
        zj_stats_count(stats, "echo", ZJ_STATE_CANCELLED, again, 0), 0);
    zj_stats_destroy(&stats);
}
END_TEST

static json_t *
s_report(zj_testcoord_t *tc, zframe_t *client)
{
    zj_msg_t *ask = zj_msg_new(ZJ_MSG_STATS);
    ask->req = 4;
    zj_client_ep_handle(&tc->client_ep, client, ask);
    zj_msg_destroy(&ask);
    zj_msg_t *reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_STATS);
    ck_assert_ptr_nonnull(reply);
    ck_assert_uint_eq(reply->req, 4);
    ck_assert_ptr_nonnull(reply->stats);
    json_t *report = json_loads(reply->stats, 0, NULL);
    ck_assert_ptr_nonnull(report);
    zj_msg_destroy(&reply);
    return report;
}

static json_int_t
s_field(json_t *report, const char *kind, const char *field)
{
    json_t *entry = json_object_get(json_object_get(report, "kinds"), kind);
    ck_assert_msg(entry != NULL, "no kind %s", kind);
    json_t *value = json_object_get(entry, field);
    ck_assert_msg(json_is_integer(value), "no %s.%s", kind, field);
    return json_integer_value(value);
}

//  STATS through the clients endpoint: the queues from the futures and
//  what the state machine counted as jobs finished.
START_TEST(test_stats_report_queues_and_finished_jobs)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zframe_t *client = zframe_new("c", 1);
    json_t *report = s_report(tc, client);
    ck_assert_int_eq(json_object_size(json_object_get(report, "kinds")), 0);
    json_decref(report);

    zj_testcoord_hello(tc, "w1", 1, 0);
    int64_t first = zj_testcoord_submit(tc, "echo", 1);
    int64_t second = zj_testcoord_submit(tc, "echo", 1);
    int64_t third = zj_testcoord_submit(tc, "echo", 1);
    ck_assert_uint_eq(zj_testcoord_dispatch(tc), 1); //  first runs
    zj_msg_t *result = zj_testcoord_results(1, first, 1, ZJ_STATE_FAILED);
    zj_testcoord_from_worker(tc, "w1", result);
    zj_msg_destroy(&result);
    zj_msg_t *cancel = zj_msg_new(ZJ_MSG_CANCEL);
    cancel->req = 2;
    zj_msg_add_id(cancel, third);
    zj_client_ep_handle(&tc->client_ep, client, cancel);
    zj_msg_destroy(&cancel);
    zj_outbox_purge(tc->outbox);

    report = s_report(tc, client);
    ck_assert_int_eq(s_field(report, "echo", "queued"), 1);
    ck_assert_int_eq(s_field(report, "echo", "running"), 0);
    ck_assert_int_eq(s_field(report, "echo", "failed"), 1);
    ck_assert_int_eq(s_field(report, "echo", "cancelled"), 1);
    ck_assert_int_eq(s_field(report, "echo", "succeeded"), 0);
    json_t *oldest = json_object_get(
        json_object_get(json_object_get(report, "kinds"), "echo"),
        "oldest_queued");
    ck_assert_int_eq(json_integer_value(json_object_get(oldest, "id")), second);
    json_t *minutes = json_object_get(report, "finished_per_minute");
    ck_assert_uint_eq(json_array_size(minutes), ZJ_STATS_MINUTES);
    json_int_t total = 0;
    for (size_t index = 0; index < json_array_size(minutes); index++)
        total += json_integer_value(json_array_get(minutes, index));
    ck_assert_int_eq(total, 2);
    json_decref(report);
    zframe_destroy(&client);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_stats_suite(void)
{
    Suite *suite = suite_create("stats");
    TCase *tcase = tcase_create("stats");
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_add_test(tcase, test_counts_expire_after_the_window);
    tcase_add_test(tcase, test_a_slot_used_again_starts_from_zero);
    tcase_add_test(tcase, test_stats_report_queues_and_finished_jobs);
    suite_add_tcase(suite, tcase);
    return suite;
}
