//  test_store_lock.c - the "store_lock" suite: one store, one
//  coordinator. Two opens of one file in one process are two flock
//  holders, so a second lock is refused here as in another process.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/why.h"
#include "coordinator/store_lock.h"
#include "tests/unit/suites.h"
#include "tests/unit/testdb.h"

#define ZJ_TEST_ENDPOINTS "clients=tcp://127.0.0.1:1 workers=tcp://127.0.0.1:2"

static zj_store_lock_t *
s_take(void)
{
    zj_store_lock_t *lock = NULL;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_store_lock_take(zj_testdb_path, ZJ_TEST_ENDPOINTS, &lock, why);
    ck_assert_msg(rc == 0, "take: %s", why);
    ck_assert_ptr_nonnull(lock);
    return lock;
}

//  The lock file's text (caller frees).
static char *
s_lock_file(void)
{
    char path[160];
    snprintf(path, sizeof path, "%s.lock", zj_testdb_path);
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    char *text = calloc(1, 2048);
    ck_assert_ptr_nonnull(text);
    size_t size = fread(text, 1, 2047, file);
    (void) size;
    fclose(file);
    return text;
}

START_TEST(test_lock_taken_names_its_holder)
{
    zj_store_lock_t *lock = s_take();
    char *text = s_lock_file();
    char pid[32];
    snprintf(pid, sizeof pid, "pid=%ld ", (long) getpid());
    ck_assert_msg(strncmp(text, pid, strlen(pid)) == 0, "record: %s", text);
    ck_assert_ptr_nonnull(strstr(text, "since="));
    ck_assert_ptr_nonnull(strstr(text, ZJ_TEST_ENDPOINTS "\n"));
    free(text);
    zj_store_lock_destroy(&lock);
    ck_assert_ptr_null(lock);
}
END_TEST

START_TEST(test_second_lock_refused_naming_the_holder)
{
    zj_store_lock_t *lock = s_take();
    zj_store_lock_t *second = NULL;
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(
        zj_store_lock_take(zj_testdb_path, "clients=other", &second, why),
        ZJ_EDENIED);
    ck_assert_ptr_null(second);
    char pid[32];
    snprintf(pid, sizeof pid, "pid=%ld ", (long) getpid());
    ck_assert_msg(strstr(why, "held by another coordinator") != NULL, "%s",
                  why);
    ck_assert_msg(strstr(why, pid) != NULL, "holder not named: %s", why);
    ck_assert_msg(strstr(why, ZJ_TEST_ENDPOINTS) != NULL, "%s", why);
    char *text = s_lock_file(); //  The refused one wrote nothing
    ck_assert_ptr_null(strstr(text, "clients=other"));
    free(text);
    zj_store_lock_destroy(&lock);
}
END_TEST

START_TEST(test_lock_released_on_destroy)
{
    zj_store_lock_t *lock = s_take();
    zj_store_lock_destroy(&lock);
    lock = s_take(); //  The file stays, the lock does not
    zj_store_lock_destroy(&lock);
}
END_TEST

START_TEST(test_next_id_outlives_the_holder)
{
    zj_store_lock_t *lock = s_take();
    ck_assert_int_eq(zj_store_lock_next_id(lock), 0);
    ck_assert_int_eq(zj_store_lock_set_next_id(lock, 42), 0);
    ck_assert_int_eq(zj_store_lock_set_next_id(lock, 7), 0); //  Only grows
    zj_store_lock_destroy(&lock);
    lock = s_take();
    ck_assert_int_eq(zj_store_lock_next_id(lock), 42);
    char *text = s_lock_file();
    ck_assert_ptr_nonnull(strstr(text, "\nnext_id=42 "));
    free(text);
    zj_store_lock_destroy(&lock);
}
END_TEST

//  A store file and its WAL to watch.
static void
s_make_store_files(void)
{
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", zj_testdb_path);
    FILE *file = fopen(zj_testdb_path, "w");
    ck_assert_ptr_nonnull(file);
    fclose(file);
    file = fopen(wal, "w");
    ck_assert_ptr_nonnull(file);
    fclose(file);
}

START_TEST(test_check_sees_the_store_deleted)
{
    s_make_store_files();
    zj_store_lock_t *lock = s_take();
    zj_store_lock_watch(lock);
    char why[ZJ_WHY_SIZE] = "x";
    ck_assert_int_eq(zj_store_lock_check(lock, why), 0);
    ck_assert_str_eq(why, "");
    ck_assert_int_eq(unlink(zj_testdb_path), 0);
    ck_assert_int_eq(zj_store_lock_check(lock, why), ZJ_ESTORE);
    ck_assert_msg(strstr(why, "was deleted") != NULL, "%s", why);
    zj_store_lock_destroy(&lock);
}
END_TEST

START_TEST(test_check_sees_the_store_replaced)
{
    s_make_store_files();
    zj_store_lock_t *lock = s_take();
    zj_store_lock_watch(lock);
    char other[160], wal[160], why[ZJ_WHY_SIZE] = "";
    snprintf(other, sizeof other, "%s/other.db", zj_testdb_dir);
    snprintf(wal, sizeof wal, "%s-wal", zj_testdb_path);
    FILE *file = fopen(other, "w");
    ck_assert_ptr_nonnull(file);
    fclose(file);
    ck_assert_int_eq(rename(other, wal), 0);
    ck_assert_int_eq(zj_store_lock_check(lock, why), ZJ_ESTORE);
    ck_assert_msg(strstr(why, "-wal was replaced") != NULL, "%s", why);
    zj_store_lock_destroy(&lock);
}
END_TEST

START_TEST(test_check_locks_a_deleted_lock_file_again)
{
    s_make_store_files();
    zj_store_lock_t *lock = s_take();
    zj_store_lock_watch(lock);
    char path[160], why[ZJ_WHY_SIZE] = "";
    snprintf(path, sizeof path, "%s.lock", zj_testdb_path);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(zj_store_lock_check(lock, why), 0);
    ck_assert_msg(strstr(why, "locked it again") != NULL, "%s", why);
    zj_store_lock_t *second = NULL;
    ck_assert_int_eq(zj_store_lock_take(zj_testdb_path, "x", &second, why),
                     ZJ_EDENIED);
    zj_store_lock_destroy(&lock);
}
END_TEST

START_TEST(test_check_sees_another_holder_of_a_new_lock_file)
{
    s_make_store_files();
    zj_store_lock_t *lock = s_take();
    zj_store_lock_watch(lock);
    char path[160], why[ZJ_WHY_SIZE] = "";
    snprintf(path, sizeof path, "%s.lock", zj_testdb_path);
    ck_assert_int_eq(unlink(path), 0);
    zj_store_lock_t *second = NULL; //  Another coordinator got in
    ck_assert_int_eq(
        zj_store_lock_take(zj_testdb_path, "clients=second", &second, why), 0);
    ck_assert_int_eq(zj_store_lock_check(lock, why), ZJ_ESTORE);
    ck_assert_msg(strstr(why, "clients=second") != NULL, "%s", why);
    zj_store_lock_destroy(&second);
    zj_store_lock_destroy(&lock);
}
END_TEST

//  What zj_coordinator's watch does when the check fails: the store takes
//  no write again, however often it is retried.
START_TEST(test_store_gone_never_writes_again)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0); //  In the turn
    zj_store_set_gone(store, "zjob.db was deleted");
    ck_assert(!zj_store_is_writable(store));
    ck_assert_int_eq(zj_store_commit(store), ZJ_ESTORE);
    ck_assert_int_eq(zj_store_retry(store), ZJ_ESTORE);
    ck_assert_str_eq(zj_store_last_error(store), "zjob.db was deleted");
    ck_assert_uint_eq(zj_store_pending(store), 1);
    sqlite3 *reader = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(reader, "SELECT count(*) FROM jobs"), 0);
    sqlite3_close(reader);
    zj_store_skip_ids(store, 100);
    zj_store_skip_ids(store, 50); //  Ids only grow
    ck_assert_int_eq(zj_store_next_id(store), 100);
    zj_store_destroy(&store);
}
END_TEST

Suite *
test_store_lock_suite(void)
{
    Suite *suite = suite_create("store_lock");
    TCase *tc = tcase_create("lock");
    tcase_add_checked_fixture(tc, zj_testdb_setup, zj_testdb_teardown);
    tcase_add_test(tc, test_lock_taken_names_its_holder);
    tcase_add_test(tc, test_second_lock_refused_naming_the_holder);
    tcase_add_test(tc, test_lock_released_on_destroy);
    tcase_add_test(tc, test_next_id_outlives_the_holder);
    tcase_add_test(tc, test_check_sees_the_store_deleted);
    tcase_add_test(tc, test_check_sees_the_store_replaced);
    tcase_add_test(tc, test_check_locks_a_deleted_lock_file_again);
    tcase_add_test(tc, test_check_sees_another_holder_of_a_new_lock_file);
    tcase_add_test(tc, test_store_gone_never_writes_again);
    suite_add_tcase(suite, tc);
    return suite;
}
