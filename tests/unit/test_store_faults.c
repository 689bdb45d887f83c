//  test_store_faults.c - the "store_faults" suite: a store whose file
//  stops taking writes. RLIMIT_FSIZE set in the test's own (forked)
//  process makes every write past the first byte of any file fail with
//  EFBIG, as a full disk fails with ENOSPC; nothing is asserted while it
//  is set, since Check reports through a file too.
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common/err.h"
#include "tests/unit/suites.h"
#include "tests/unit/testdb.h"

//  A store with one committed queued job, id 1.
static zj_store_t *
s_store_with_one_job(void)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(job.id, 1);
    return store;
}

//  What one turn of a busy coordinator writes: job 1 starts and fails an
//  attempt, job 2 is submitted, a worker says hello and is then lost.
static int
s_write_a_turn(zj_store_t *store)
{
    int rc = 0;
    zj_job_t first = zj_testdb_job("echo", ZJ_STATE_RUNNING);
    first.id = 1;
    first.attempts = 1;
    first.worker = "w1";
    first.error = "boom";
    rc |= zj_store_update_job(store, &first);
    rc |= zj_store_record_attempt(store, &first);
    zj_job_t second = zj_testdb_job("sleep", ZJ_STATE_QUEUED);
    rc |= zj_store_insert_job(store, &second);
    zj_kind_t kinds[] = {{"echo", ZJ_CLASS_IO}, {"sha256", ZJ_CLASS_CPU}};
    zj_worker_info_t worker = {.name = "w1",
                               .host = "h",
                               .pid = 42,
                               .kinds = kinds,
                               .kind_count = 2,
                               .state = "connected"};
    rc |= zj_store_save_worker(store, &worker);
    rc |= zj_store_set_worker_state(store, "w1", "lost", 1.7e9);
    return rc | (second.id == 2 ? 0 : 1);
}

START_TEST(test_full_file_degrades_then_retry_writes_it_all)
{
    zj_store_t *store = s_store_with_one_job();
    zj_testdb_limit_file_size(1);
    int wrote = s_write_a_turn(store); //  Kept in SQLite's cache so far
    int committed = zj_store_commit(store);
    bool writable = zj_store_is_writable(store);
    zj_job_t third = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    int journaled = zj_store_insert_job(store, &third);
    int first_retry = zj_store_retry(store);
    zj_testdb_limit_file_size(RLIM_INFINITY);

    ck_assert_int_eq(wrote, 0);
    ck_assert(!writable);
    ck_assert_int_eq(committed, ZJ_ESTORE);
    ck_assert_msg(strlen(zj_store_last_error(store)) > 0, "no error kept");
    ck_assert_int_eq(journaled, 0);
    ck_assert_int_eq(third.id, 3);
    ck_assert_int_eq(first_retry, ZJ_ESTORE);
    ck_assert_int_eq(zj_store_commit(store), ZJ_ESTORE); //  Still degraded
    ck_assert_uint_eq(zj_store_pending(store), 6);

    sqlite3 *reader = zj_testdb_raw(); //  The shell sees the last commit
    ck_assert_int_eq(zj_testdb_int(reader, "SELECT count(*) FROM jobs"), 1);

    ck_assert_int_eq(zj_store_retry(store), 0);
    ck_assert(zj_store_is_writable(store));
    ck_assert_uint_eq(zj_store_pending(store), 0);
    ck_assert_int_eq(zj_testdb_int(reader, "SELECT count(*) FROM jobs"), 3);
    char *state = zj_testdb_text(reader, "SELECT state FROM jobs WHERE id=1");
    ck_assert_str_eq(state, "running");
    free(state);
    ck_assert_int_eq(
        zj_testdb_int(reader, "SELECT count(*) FROM attempts WHERE job_id=1"),
        1);
    char *worker = zj_testdb_text(reader, "SELECT state || ' ' || kinds "
                                          "FROM workers WHERE name='w1'");
    ck_assert_str_eq(worker, "lost {\"echo\":\"io\",\"sha256\":\"cpu\"}");
    free(worker);
    sqlite3_close(reader);

    zj_job_t fourth = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &fourth), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(fourth.id, 4);
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_reads_work_while_degraded)
{
    zj_store_t *store = s_store_with_one_job();
    zj_testdb_limit_file_size(1);
    s_write_a_turn(store);
    int committed = zj_store_commit(store);
    zj_job_t got = {0};
    int read = zj_store_get_job(store, 1, &got);
    zj_testdb_limit_file_size(RLIM_INFINITY);

    ck_assert_int_eq(committed, ZJ_ESTORE);
    ck_assert_int_eq(read, 0);
    ck_assert_str_eq(zj_state_name(got.state), "queued"); //  Last commit
    zj_job_clear(&got);
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_unstored_writes_are_gone_after_reopen)
{
    zj_store_t *store = s_store_with_one_job();
    zj_testdb_limit_file_size(1);
    s_write_a_turn(store);
    int committed = zj_store_commit(store);
    zj_store_destroy(&store); //  A stop while degraded: none was acked
    zj_testdb_limit_file_size(RLIM_INFINITY);
    ck_assert_int_eq(committed, ZJ_ESTORE);

    store = zj_testdb_store();
    zj_job_t next = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &next), 0);
    ck_assert_int_eq(next.id, 2); //  Never acknowledged, so free again
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
}
END_TEST

Suite *
test_store_faults_suite(void)
{
    Suite *suite = suite_create("store_faults");
    TCase *tcase = tcase_create("store_faults");
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_full_file_degrades_then_retry_writes_it_all);
    tcase_add_test(tcase, test_reads_work_while_degraded);
    tcase_add_test(tcase, test_unstored_writes_are_gone_after_reopen);
    suite_add_tcase(suite, tcase);
    return suite;
}
