//  test_retention.c - the "retention" suite: the store's sweep reads and
//  deletes, the futures' pins, and purges through the clients endpoint
//  of a test coordinator (tests/unit/testcoord.c).
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "common/duration.h"
#include "common/err.h"
#include "coordinator/futures.h"
#include "coordinator/retention.h"
#include "coordinator/store.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

//  A job that ended an hour ago, with one attempt recorded.
static int64_t
s_old_job(zj_store_t *store, const char *kind, zj_state_t state)
{
    zj_job_t job = zj_testdb_job(kind, state);
    job.attempts = 1;
    job.created_at = zj_now() - 3600;
    job.started_at = job.created_at;
    job.finished_at = job.created_at + 1;
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    ck_assert_int_eq(zj_store_record_attempt(store, &job), 0);
    return job.id;
}

START_TEST(test_futures_pin_the_jobs_they_run_after)
{
    zj_futures_t *futures = zj_futures_new();
    int64_t after[] = {5, 7, 5};
    zj_job_t job = {.id = 9, .kind = strdup("echo"), .state = ZJ_STATE_QUEUED};
    job.after = malloc(sizeof after);
    memcpy(job.after, after, sizeof after);
    job.after_count = 3;
    zj_future_t *future = zj_futures_add(futures, &job);
    ck_assert(zj_futures_pinned(futures, 5));
    ck_assert(zj_futures_pinned(futures, 7));
    ck_assert(!zj_futures_pinned(futures, 9));
    zj_job_t other = {.id = 10, .kind = strdup("echo")};
    other.after = malloc(sizeof(int64_t));
    other.after[0] = 7;
    other.after_count = 1;
    zj_future_t *second = zj_futures_add(futures, &other);
    second->job.state = ZJ_STATE_SUCCEEDED;
    zj_futures_resolve(futures, second);
    ck_assert(zj_futures_pinned(futures, 7)); //  Job 9 still runs after 7
    zj_futures_forget(futures, future);
    ck_assert(!zj_futures_pinned(futures, 5));
    ck_assert(!zj_futures_pinned(futures, 7));
    zj_futures_reap(futures);
    zj_futures_destroy(&futures);
}
END_TEST

START_TEST(test_store_reads_chunks_in_id_order_and_deletes_attempts)
{
    zj_store_t *store = zj_testdb_store();
    for (int index = 0; index < 5; index++)
        s_old_job(store, index == 2 ? "fetch" : "echo", ZJ_STATE_SUCCEEDED);
    zj_store_row_t rows[4];
    size_t count = 0;
    ck_assert_int_eq(zj_store_rows_after(store, 0, rows, 2, &count), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(rows[0].id, 1);
    ck_assert_int_eq(rows[1].id, 2);
    ck_assert_int_eq(zj_store_rows_after(store, 2, rows, 4, &count), 0);
    ck_assert_uint_eq(count, 3); //  Fewer than asked: the end
    ck_assert_str_eq(rows[0].kind, "fetch");
    ck_assert_int_eq(rows[0].state, ZJ_STATE_SUCCEEDED);
    ck_assert(rows[0].finished_at > rows[0].created_at);
    ck_assert_int_eq(zj_store_delete_jobs(store, 3, 4), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    sqlite3 *raw = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM jobs"), 3);
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM attempts"
                                        " WHERE job_id IN (3, 4)"),
                     0);
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM attempts"), 3);
    sqlite3_close(raw);
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_store_expires_old_tokens_a_chunk_at_a_time)
{
    zj_store_t *store = zj_testdb_store();
    double now = zj_now();
    for (int index = 0; index < 7; index++) {
        char token[16];
        snprintf(token, sizeof token, "t%d", index);
        int64_t id = index + 1;
        ck_assert_int_eq(zj_store_save_token(store, token, &id, 1,
                                             "0123456789abcdef",
                                             index % 2 ? now : now - 100),
                         0);
    }
    char after[ZJ_MAX_TOKEN + 1] = "", last[ZJ_MAX_TOKEN + 1];
    bool end = false, expired = false;
    int chunks = 0, expiring = 0;
    while (!end) {
        ck_assert_int_eq(zj_store_expire_tokens(store, after, 3, now - 50, last,
                                                &end, &expired),
                         0);
        snprintf(after, sizeof after, "%s", last);
        ck_assert_int_lt(++chunks, 5);
        expiring += expired;
    }
    ck_assert_int_eq(chunks, 3);
    ck_assert_int_eq(expiring, 3); //  t0..t2, t3..t5 and t6 each have one
    ck_assert_int_eq(zj_store_commit(store), 0);
    sqlite3 *raw = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM submit_tokens"),
                     3);
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM submit_tokens"
                                        " WHERE token IN ('t1', 't3', 't5')"),
                     3);
    sqlite3_close(raw);
    zj_store_destroy(&store);
}
END_TEST

//  Deletes are journaled: a turn whose commit failed deletes the same rows
//  when the store takes writes again.
START_TEST(test_deletes_are_made_again_after_a_store_failure)
{
    zj_store_t *store = zj_testdb_store();
    s_old_job(store, "echo", ZJ_STATE_SUCCEEDED);
    s_old_job(store, "echo", ZJ_STATE_SUCCEEDED);
    int64_t id = 1;
    ck_assert_int_eq(zj_store_save_token(store, "tok", &id, 1,
                                         "0123456789abcdef", zj_now() - 100),
                     0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_testdb_limit_file_size(1);
    int deleted = zj_store_delete_jobs(store, 1, 1);
    char last[ZJ_MAX_TOKEN + 1];
    bool end = false, some = false;
    int expired =
        zj_store_expire_tokens(store, "", 10, zj_now(), last, &end, &some);
    int committed = zj_store_commit(store);
    size_t count = 1;
    zj_store_row_t row;
    int read_degraded = zj_store_rows_after(store, 0, &row, 1, &count);
    zj_testdb_limit_file_size(RLIM_INFINITY);
    ck_assert_int_eq(deleted, 0);
    ck_assert_int_eq(expired, 0);
    ck_assert(end && some);
    ck_assert_int_eq(committed, ZJ_ESTORE);
    ck_assert_int_eq(read_degraded, ZJ_ESTORE); //  Sweeps wait meanwhile
    ck_assert_uint_eq(count, 0);
    sqlite3 *raw = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM jobs"), 2);
    ck_assert_int_eq(zj_store_retry(store), 0);
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM jobs"), 1);
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM attempts"), 1);
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM submit_tokens"),
                     0);
    sqlite3_close(raw);
    zj_store_destroy(&store);
}
END_TEST

//  Steps purges until the outbox holds PURGE replies up to the last part;
//  returns the jobs they counted.
static int64_t
s_purged(zj_testcoord_t *tc)
{
    int64_t count = 0;
    for (int step = 0; step < 100; step++) {
        zj_retention_step(tc->retention, zj_mono_ms(), tc->outbox);
        zj_msg_t *reply;
        while ((reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_PURGE))) {
            ck_assert_uint_eq(reply->req, 7);
            count += reply->count;
            bool last = !reply->more;
            zj_msg_destroy(&reply);
            if (last)
                return count;
        }
    }
    ck_abort_msg("no last PURGE part");
    return -1;
}

static void
s_purge(zj_testcoord_t *tc, const zj_sweep_filter_t *filter)
{
    zframe_t *identity = zframe_new("c1", 2);
    ck_assert_int_eq(zj_retention_purge(tc->retention, identity, 7, filter), 0);
    zframe_destroy(&identity);
}

START_TEST(test_purge_filters_and_keeps_the_newest_job)
{
    zj_store_t *store = zj_testdb_store();
    s_old_job(store, "echo", ZJ_STATE_SUCCEEDED);
    s_old_job(store, "echo", ZJ_STATE_FAILED);
    s_old_job(store, "fetch", ZJ_STATE_SUCCEEDED);
    s_old_job(store, "echo", ZJ_STATE_CANCELLED);
    s_old_job(store, "echo", ZJ_STATE_SUCCEEDED); //  The newest
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
    zj_testcoord_t *tc = zj_testcoord_new();
    s_purge(tc, &(zj_sweep_filter_t){.age_ms = 7200000});
    ck_assert_int_eq(s_purged(tc), 0); //  Nothing two hours old
    s_purge(tc, &(zj_sweep_filter_t){.age_ms = 60000,
                                     .state = ZJ_STATE_SUCCEEDED,
                                     .kind = "echo"});
    ck_assert_int_eq(s_purged(tc), 1); //  Job 1; job 5 is the newest
    s_purge(tc, &(zj_sweep_filter_t){.age_ms = 0});
    ck_assert_int_eq(s_purged(tc), 3);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *raw = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT group_concat(id) FROM jobs"),
                     5);
    sqlite3_close(raw);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_purge_keeps_jobs_unfinished_jobs_need)
{
    zj_store_t *store = zj_testdb_store();
    int64_t before = s_old_job(store, "echo", ZJ_STATE_SUCCEEDED);
    int64_t parent = 0;
    {
        zj_job_t job = zj_testdb_job("map", ZJ_STATE_RUNNING);
        job.attempts = 1;
        job.created_at = zj_now() - 3600;
        ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
        parent = job.id;
    }
    zj_job_t child = zj_testdb_job("echo", ZJ_STATE_SUCCEEDED);
    child.parent = parent;
    child.call = 1;
    child.created_at = zj_now() - 3600;
    child.finished_at = child.created_at + 1;
    ck_assert_int_eq(zj_store_insert_job(store, &child), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
    zj_testcoord_t *tc = zj_testcoord_new(); //  The parent is queued again
    int64_t waits[] = {before};
    zj_job_t spec = {.kind = "echo", .after = waits, .after_count = 1};
    zj_testcoord_submit(tc, "echo", 1); //  Something newer than them all
    int64_t after = zj_lifecycle_submit(&tc->jobs, &spec);
    ck_assert_int_gt(after, 0);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    s_purge(tc, &(zj_sweep_filter_t){.age_ms = 0});
    ck_assert_int_eq(s_purged(tc), 0);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *raw = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(raw, "SELECT count(*) FROM jobs"), 5);
    sqlite3_close(raw);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_purges_waiting_are_bounded)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zframe_t *identity = zframe_new("c1", 2);
    zj_sweep_filter_t filter = {.age_ms = 0};
    for (int index = 0; index < ZJ_MAX_PURGES; index++)
        ck_assert_int_eq(
            zj_retention_purge(tc->retention, identity, 7, &filter), 0);
    ck_assert_int_eq(zj_retention_purge(tc->retention, identity, 7, &filter),
                     ZJ_ETOOBIG);
    ck_assert_int_eq(zj_retention_next(tc->retention), 1);
    zframe_destroy(&identity);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_retention_suite(void)
{
    Suite *suite = suite_create("retention");
    TCase *tcase = tcase_create("core");
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_add_test(tcase, test_futures_pin_the_jobs_they_run_after);
    tcase_add_test(tcase,
                   test_store_reads_chunks_in_id_order_and_deletes_attempts);
    tcase_add_test(tcase, test_store_expires_old_tokens_a_chunk_at_a_time);
    tcase_add_test(tcase, test_deletes_are_made_again_after_a_store_failure);
    tcase_add_test(tcase, test_purge_filters_and_keeps_the_newest_job);
    tcase_add_test(tcase, test_purge_keeps_jobs_unfinished_jobs_need);
    tcase_add_test(tcase, test_purges_waiting_are_bounded);
    suite_add_tcase(suite, tcase);
    return suite;
}
