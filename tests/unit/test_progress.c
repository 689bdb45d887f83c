//  test_progress.c - jobs' progress: the worker's table of latest reports
//  (worker/progress.c), and the coordinator taking them from the worker
//  that runs the attempt and storing them at a bounded rate per job.
#include <check.h>

#include "common/duration.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"
#include "worker/progress.h"

typedef struct {
    int calls;
    int64_t delay_ms;
} s_due_t;

static void
s_on_due(void *arg, int64_t delay_ms)
{
    s_due_t *due = arg;
    due->calls++;
    due->delay_ms = delay_ms;
}

//  Only a job's latest report is kept; the loop is told once per batch;
//  one message carries them all.
START_TEST(test_progress_keeps_the_latest_report_of_each_job)
{
    s_due_t due = {0};
    zj_progress_t *table = zj_progress_new(s_on_due, &due);
    ck_assert_ptr_null(zj_progress_take(table, 0));
    for (int step = 1; step <= 1000; step++)
        zj_progress_note(table, 7, 2, step, 1000, "working");
    zj_progress_note(table, 9, 1, -5, -1, NULL);
    ck_assert_int_eq(due.calls, 1);
    ck_assert(zj_progress_has(table, 7));
    ck_assert_uint_eq(zj_progress_pending(table), 2);
    zj_msg_t *msg = zj_progress_take(table, zj_mono_ms());
    ck_assert_ptr_nonnull(msg);
    ck_assert_uint_eq(msg->job_count, 2);
    for (size_t index = 0; index < 2; index++) {
        zj_job_t *job = &msg->jobs[index];
        if (job->id == 7) {
            ck_assert_int_eq(job->attempts, 2);
            ck_assert_int_eq(job->progress_done, 1000);
            ck_assert_str_eq(job->progress_text, "working");
        } else {
            ck_assert_int_eq(job->progress_done, 0);
            ck_assert_int_eq(job->progress_total, 0);
            ck_assert_ptr_null(job->progress_text);
        }
    }
    ck_assert_int_eq(zj_msg_check(msg, NULL), 0);
    zj_msg_destroy(&msg);
    ck_assert(!zj_progress_has(table, 7));
    //  The next report, right after a send, is due a period later.
    zj_progress_note(table, 7, 2, 1, 2, NULL);
    ck_assert_int_eq(due.calls, 2);
    ck_assert_int_gt(due.delay_ms, ZJ_PROGRESS_SEND_MS / 2);
    zj_progress_destroy(&table);
    ck_assert_ptr_null(table);
}
END_TEST

//  Text past the limit is cut, never inside a UTF-8 character.
START_TEST(test_progress_text_is_cut_at_a_character)
{
    zj_progress_t *table = zj_progress_new(NULL, NULL);
    char text[ZJ_MAX_PROGRESS_TEXT + 10];
    memset(text, 'a', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    //  "é" (2 bytes) across the limit.
    text[ZJ_MAX_PROGRESS_TEXT - 1] = (char) 0xc3;
    text[ZJ_MAX_PROGRESS_TEXT] = (char) 0xa9;
    zj_progress_note(table, 1, 1, 0, 0, text);
    zj_msg_t *msg = zj_progress_take(table, 0);
    ck_assert_uint_eq(strlen(msg->jobs[0].progress_text),
                      ZJ_MAX_PROGRESS_TEXT - 1);
    ck_assert_int_eq(zj_msg_check(msg, NULL), 0);
    zj_msg_destroy(&msg);
    zj_progress_destroy(&table);
}
END_TEST

//  The running attempt's worker reports; the record has it at once, the
//  store at most once per ZJ_PROGRESS_STORE_MS; other reports are dropped.
START_TEST(test_coordinator_stores_progress_at_a_bounded_rate)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_peer_t *w1 = zj_testcoord_hello(tc, "w1", 1, 0);
    zj_peer_t *w2 = zj_testcoord_hello(tc, "w2", 1, 0);
    int64_t id = zj_testcoord_submit(tc, "echo", 1);
    zj_worker_ep_dispatch(&tc->worker_ep);
    zj_future_t *future = zj_futures_find(tc->futures, id);
    zj_peer_t *runner = future->peer, *other = runner == w1 ? w2 : w1;
    zj_job_t report = {.id = id, .attempts = 1, .progress_total = 10};
    report.progress_done = 1;
    ck_assert(!zj_lifecycle_progress(&tc->jobs, &report, other, 1000));
    report.attempts = 2;
    ck_assert(!zj_lifecycle_progress(&tc->jobs, &report, runner, 1000));
    report.attempts = 1;
    ck_assert(zj_lifecycle_progress(&tc->jobs, &report, runner, 1000));
    report.progress_done = 2;
    ck_assert(zj_lifecycle_progress(&tc->jobs, &report, runner, 1500));
    ck_assert_int_eq(future->job.progress_done, 2);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *db = zj_testdb_raw();
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT progress_done FROM jobs WHERE id = %lld",
             (long long) id);
    ck_assert_int_eq(zj_testdb_int(db, sql), 1);
    zj_lifecycle_store_progress(&tc->jobs, 1900); //  Too soon
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(zj_testdb_int(db, sql), 1);
    zj_lifecycle_store_progress(&tc->jobs, 2000);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    ck_assert_int_eq(zj_testdb_int(db, sql), 2);
    sqlite3_close(db);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_progress_suite(void)
{
    Suite *suite = suite_create("progress");
    TCase *tcase = tcase_create("progress");
    tcase_set_timeout(tcase, 30);
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_add_test(tcase, test_progress_keeps_the_latest_report_of_each_job);
    tcase_add_test(tcase, test_progress_text_is_cut_at_a_character);
    tcase_add_test(tcase, test_coordinator_stores_progress_at_a_bounded_rate);
    suite_add_tcase(suite, tcase);
    return suite;
}
