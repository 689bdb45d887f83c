//  test_progress.c - jobs' progress and logs: the worker's table of latest
//  reports (worker/progress.c), the coordinator taking them from the
//  worker that runs the attempt and storing them at a bounded rate per
//  job; what jobs write, gathered and cut by the worker
//  (worker/joblogs.c) and bounded by the store.
#include <check.h>

#include "common/duration.h"
#include "common/err.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"
#include "worker/joblogs.h"
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

//  Each attempt may write max_bytes: the rest is dropped and the log says
//  so once; a later attempt starts with a line naming it; NULs become '?'.
START_TEST(test_joblogs_cut_each_attempt_at_its_bound)
{
    zj_joblogs_t *logs = zj_joblogs_new(1024);
    ck_assert_ptr_null(zj_joblogs_take(logs));
    char line[100];
    memset(line, 'x', sizeof line);
    line[99] = '\n';
    for (int index = 0; index < 50; index++)
        zj_joblogs_write(logs, 3, 1, line, sizeof line);
    zj_joblogs_write(logs, 4, 1, "a\0b\n", 4);
    zj_msg_t *msg = zj_joblogs_take(logs);
    ck_assert_uint_eq(msg->job_count, 2);
    ck_assert_int_eq(msg->jobs[0].id, 3);
    ck_assert_ptr_nonnull(strstr(msg->jobs[0].log, "--max-log reached"));
    ck_assert_uint_lt(strlen(msg->jobs[0].log), 1024 + 200);
    ck_assert_str_eq(msg->jobs[1].log, "a?b\n");
    ck_assert_int_eq(zj_msg_check(msg, NULL), 0);
    zj_msg_destroy(&msg);
    //  The bound holds for the rest of the attempt: nothing more.
    zj_joblogs_write(logs, 3, 1, line, sizeof line);
    ck_assert_ptr_null(zj_joblogs_take(logs));
    zj_joblogs_write(logs, 3, 2, "again\n", 6);
    msg = zj_joblogs_take(logs);
    ck_assert_str_eq(msg->jobs[0].log, "--- attempt 2 ---\nagain\n");
    zj_msg_destroy(&msg);
    zj_joblogs_end(logs, 3);
    zj_joblogs_end(logs, 4);
    zj_joblogs_destroy(&logs);
    ck_assert_ptr_null(logs);
}
END_TEST

//  A big log goes in entries of at most 16 KiB, and messages of about
//  48 KiB: under the smallest --max-message a coordinator takes.
START_TEST(test_joblogs_split_big_logs)
{
    zj_joblogs_t *logs = zj_joblogs_new(1024 * 1024);
    char *text = malloc(200 * 1024);
    memset(text, 'y', 200 * 1024);
    zj_joblogs_write(logs, 5, 1, text, 200 * 1024);
    free(text);
    zj_joblogs_end(logs, 5);
    size_t total = 0, messages = 0;
    zj_msg_t *msg;
    while ((msg = zj_joblogs_take(logs))) {
        size_t bytes = 0;
        for (size_t index = 0; index < msg->job_count; index++) {
            ck_assert_uint_le(strlen(msg->jobs[index].log), 16 * 1024);
            bytes += strlen(msg->jobs[index].log);
        }
        ck_assert_uint_le(bytes, 64 * 1024);
        total += bytes;
        messages++;
        zj_msg_destroy(&msg);
    }
    ck_assert_uint_eq(total, 200 * 1024);
    ck_assert_uint_ge(messages, 4);
    ck_assert_uint_eq(zj_joblogs_pending(logs), 0);
    zj_joblogs_destroy(&logs);
}
END_TEST

//  The store keeps ZJ_MAX_LOG bytes of a job's log, then says it is full,
//  once.
START_TEST(test_store_log_is_bounded)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_RUNNING);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    char *chunk = malloc(1024 * 1024 + 1);
    memset(chunk, 'z', 1024 * 1024);
    chunk[1024 * 1024] = '\0';
    for (int index = 0; index < 6; index++)
        ck_assert_int_eq(zj_store_append_log(store, job.id, chunk), 0);
    free(chunk);
    ck_assert_int_eq(zj_store_append_log(store, job.id, "more\n"), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_state_t state = ZJ_STATE_NONE;
    char *log = NULL;
    ck_assert_int_eq(zj_store_get_log(store, job.id, &state, &log), 0);
    ck_assert_int_eq(state, ZJ_STATE_RUNNING);
    size_t size = strlen(log);
    ck_assert_uint_eq(size, 4 * 1024 * 1024 + strlen(ZJ_STORE_LOG_FULL));
    ck_assert_str_eq(log + size - strlen(ZJ_STORE_LOG_FULL), ZJ_STORE_LOG_FULL);
    free(log);
    ck_assert_int_eq(zj_store_get_log(store, 999, &state, &log), ZJ_ENOTFOUND);
    zj_store_destroy(&store);
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
    tcase_add_test(tcase, test_joblogs_cut_each_attempt_at_its_bound);
    tcase_add_test(tcase, test_joblogs_split_big_logs);
    tcase_add_test(tcase, test_store_log_is_bounded);
    suite_add_tcase(suite, tcase);
    return suite;
}
