//  test_schedules.c - the "schedules" suite: coordinator/schedules.c
//  orders schedules by next run and skips missed periods;
//  coordinator/schedule_ep.c answers SCHEDULE and fires each due run
//  once, writing the job, its run and the next run in the same turn, and
//  makes one catch-up run after a restart past due times.
#define _GNU_SOURCE
#include <check.h>
#include <sys/resource.h>

#include "common/duration.h"
#include "common/err.h"
#include "coordinator/schedules.h"
#include "coordinator/store_schedules.h"
#include "proto/limits.h"
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

//  A schedule record with borrowed strings.
static zj_job_t
s_record(const char *name, int64_t every_ms, const char *cron, double next)
{
    return (zj_job_t){.schedule = (char *) name,
                      .kind = "echo",
                      .every_ms = every_ms,
                      .cron = (char *) cron,
                      .not_before = next};
}

//  The module, alone

START_TEST(test_put_refuses_bad_cron_and_a_full_set)
{
    zj_schedules_t *schedules = zj_schedules_new();
    char why[ZJ_WHY_SIZE] = "";
    zj_job_t record = s_record("a", 0, "61 * * * *", 100);
    ck_assert_ptr_null(zj_schedules_put(schedules, &record, why));
    ck_assert_ptr_nonnull(strstr(why, "minute field"));
    ck_assert_uint_eq(zj_schedules_size(schedules), 0);
    char name[32];
    for (int index = 0; index < ZJ_MAX_SCHEDULES; index++) {
        snprintf(name, sizeof name, "s%d", index);
        record = s_record(name, 1000, NULL, 1000 + index);
        ck_assert_ptr_nonnull(zj_schedules_put(schedules, &record, why));
    }
    record = s_record("one-more", 1000, NULL, 5);
    ck_assert_ptr_null(zj_schedules_put(schedules, &record, why));
    ck_assert_ptr_nonnull(strstr(why, "at most 10000 schedules"));
    //  Replacing one that exists is no new one.
    record = s_record("s7", 2000, NULL, 5);
    ck_assert_ptr_nonnull(zj_schedules_put(schedules, &record, why));
    ck_assert_int_eq(zj_schedules_find(schedules, "s7")->every_ms, 2000);
    ck_assert(zj_schedules_next_at(schedules) == 5);
    zj_schedules_destroy(&schedules);
    ck_assert_ptr_null(schedules);
}
END_TEST

START_TEST(test_next_run_skips_missed_periods)
{
    zj_job_t every = s_record("a", 10000, NULL, 0);
    //  On time: one period on.
    ck_assert(zj_schedules_next_run(&every, 100, 100) == 110);
    //  95 s late: the phase is kept, the missed runs are skipped.
    ck_assert(zj_schedules_next_run(&every, 100, 195) == 200);
    ck_assert(zj_schedules_next_run(&every, 100, 200) == 210);
    zj_job_t cron = s_record("b", 0, "*/15 * * * *", 0);
    ck_assert(zj_schedules_next_run(&cron, 0, 1796532000) == 1796532300);
    ck_assert(zj_schedules_next_run(&cron, 0, 1796532299.5) == 1796532300);
}
END_TEST

START_TEST(test_due_comes_in_order_of_next_run)
{
    zj_schedules_t *schedules = zj_schedules_new();
    zj_job_t late = s_record("late", 1000, NULL, 300);
    zj_job_t early = s_record("early", 1000, NULL, 100);
    zj_job_t never = s_record("never", 1000, NULL, 0);
    zj_schedules_put(schedules, &late, NULL);
    zj_schedules_put(schedules, &early, NULL);
    zj_schedules_put(schedules, &never, NULL);
    ck_assert_ptr_null(zj_schedules_due(schedules, 99));
    ck_assert_str_eq(zj_schedules_due(schedules, 100)->schedule, "early");
    const zj_job_t *fired = zj_schedules_fired(schedules, "early", 7, 100.5);
    ck_assert(fired->not_before == 101);
    ck_assert(fired->started_at == 100.5);
    ck_assert_int_eq(fired->id, 7);
    ck_assert_ptr_null(zj_schedules_due(schedules, 100.5));
    ck_assert(zj_schedules_remove(schedules, "early"));
    ck_assert(!zj_schedules_remove(schedules, "early"));
    ck_assert(zj_schedules_next_at(schedules) == 300);
    size_t count = 0;
    const zj_job_t **records = zj_schedules_list(schedules, &count);
    ck_assert_uint_eq(count, 2);
    ck_assert_str_eq(records[0]->schedule, "late");
    ck_assert_str_eq(records[1]->schedule, "never");
    free(records);
    zj_schedules_destroy(&schedules);
}
END_TEST

//  On the test coordinator

static zj_msg_t *
s_schedule_msg(const char *op, const char *name, int64_t every_ms,
               const char *cron)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SCHEDULE);
    msg->req = 4;
    msg->op = strdup(op);
    if (name) {
        zj_job_t *job = zj_msg_add_job(msg);
        job->schedule = strdup(name);
        job->kind = strcmp(op, "add") == 0 ? strdup("echo") : NULL;
        job->args = strcmp(op, "add") == 0 ? strdup("{\"n\": 1}") : NULL;
        job->every_ms = every_ms;
        job->cron = cron ? strdup(cron) : NULL;
        job->priority = 3;
        job->max_attempts = 2;
    }
    return msg;
}

//  Handles msg (frees it) and takes the reply of type, which must come.
static zj_msg_t *
s_ask(zj_testcoord_t *tc, zj_msg_t *msg, zj_msg_type_t type)
{
    ck_assert_int_eq(zj_msg_check(msg, NULL), 0);
    zj_client_ep_handle(&tc->client_ep, s_client, msg);
    zj_msg_destroy(&msg);
    zj_msg_t *reply = zj_testcoord_take(tc, ZJ_TO_CLIENT, type);
    ck_assert_ptr_nonnull(reply);
    ck_assert_uint_eq(reply->req, 4);
    return reply;
}

static void
s_add(zj_testcoord_t *tc, const char *name, int64_t every_ms)
{
    zj_msg_t *reply =
        s_ask(tc, s_schedule_msg("add", name, every_ms, NULL), ZJ_MSG_SCHEDULE);
    ck_assert_uint_eq(reply->job_count, 1);
    ck_assert_str_eq(reply->jobs[0].schedule, name);
    zj_msg_destroy(&reply);
}

static int64_t
s_stored(zj_testcoord_t *tc, const char *sql)
{
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    sqlite3 *db = zj_testdb_raw();
    int64_t value = zj_testdb_int(db, sql);
    sqlite3_close(db);
    return value;
}

START_TEST(test_add_an_existing_name_is_refused_unless_replace)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_add(tc, "nightly", 60000);
    zj_msg_t *error =
        s_ask(tc, s_schedule_msg("add", "nightly", 1000, NULL), ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ESTATE);
    ck_assert_ptr_nonnull(strstr(error->reason, "schedule 'nightly' exists"));
    zj_msg_destroy(&error);
    ck_assert_int_eq(zj_schedules_find(tc->schedules, "nightly")->every_ms,
                     60000);
    zj_msg_t *msg = s_schedule_msg("add", "nightly", 0, "0 3 * * *");
    msg->replace = true;
    zj_msg_t *reply = s_ask(tc, msg, ZJ_MSG_SCHEDULE);
    ck_assert_str_eq(reply->jobs[0].cron, "0 3 * * *");
    ck_assert_int_eq(reply->jobs[0].every_ms, 0);
    zj_msg_destroy(&reply);
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM schedules WHERE"
                                  " cron = '0 3 * * *' AND every_ms IS NULL"),
                     1);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_rm_of_an_unknown_name_is_not_found)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_msg_t *error =
        s_ask(tc, s_schedule_msg("rm", "ghost", 0, NULL), ZJ_MSG_ERROR);
    ck_assert_int_eq(error->code, ZJ_ENOTFOUND);
    ck_assert_str_eq(error->reason, "no schedule named 'ghost'");
    zj_msg_destroy(&error);
    s_add(tc, "real", 1000);
    zj_msg_t *reply =
        s_ask(tc, s_schedule_msg("rm", "real", 0, NULL), ZJ_MSG_SCHEDULE);
    ck_assert_str_eq(reply->jobs[0].schedule, "real");
    zj_msg_destroy(&reply);
    ck_assert_uint_eq(zj_schedules_size(tc->schedules), 0);
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM schedules"), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A change is refused while the store cannot be written. Nothing is
//  asserted while the file limit is set.
START_TEST(test_add_is_refused_while_the_store_is_degraded)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_add(tc, "first", 1000);
    zj_testdb_limit_file_size(1);
    int committed = zj_store_commit(tc->store);
    zj_msg_t *msg = s_schedule_msg("add", "second", 1000, NULL);
    zj_client_ep_handle(&tc->client_ep, s_client, msg);
    zj_msg_destroy(&msg);
    size_t fired = zj_schedule_ep_fire(&tc->schedule_ep, zj_now() + 10);
    zj_testdb_limit_file_size(RLIM_INFINITY);

    ck_assert_int_eq(committed, ZJ_ESTORE);
    ck_assert_uint_eq(fired, 0); //  Nothing fires while degraded
    zj_msg_t *error = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_ERROR);
    ck_assert_ptr_nonnull(error);
    ck_assert_int_eq(error->code, ZJ_ESTORE);
    zj_msg_destroy(&error);
    ck_assert_ptr_null(zj_schedules_find(tc->schedules, "second"));
    //  The journal writes the add of the failed turn again.
    ck_assert_int_eq(zj_store_retry(tc->store), 0);
    ck_assert_int_eq(
        s_stored(tc, "SELECT count(*) FROM schedules WHERE name = 'first'"), 1);
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, zj_now() + 10), 1);
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM schedule_runs"), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_list_gives_every_schedule_by_name)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_add(tc, "b", 1000);
    s_add(tc, "a", 2000);
    zj_msg_t *reply =
        s_ask(tc, s_schedule_msg("list", NULL, 0, NULL), ZJ_MSG_SCHEDULE);
    ck_assert_uint_eq(reply->job_count, 2);
    ck_assert_str_eq(reply->jobs[0].schedule, "a");
    ck_assert_str_eq(reply->jobs[1].schedule, "b");
    ck_assert_str_eq(reply->jobs[1].kind, "echo");
    ck_assert_int_eq(reply->jobs[1].priority, 3);
    ck_assert(reply->jobs[1].not_before > zj_now());
    zj_msg_destroy(&reply);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_a_due_schedule_fires_once_per_due_time)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_add(tc, "tick", 1000);
    double due = zj_schedules_find(tc->schedules, "tick")->not_before;
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, due - 0.5), 0);
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, due), 1);
    //  The same time again: the next run moved on in that fire.
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, due), 0);
    const zj_job_t *record = zj_schedules_find(tc->schedules, "tick");
    ck_assert(record->not_before == due + 1);
    int64_t id = record->id;
    ck_assert_int_gt(id, 0);
    zj_future_t *future = zj_futures_find(tc->futures, id);
    ck_assert_ptr_nonnull(future);
    ck_assert_str_eq(future->job.kind, "echo");
    ck_assert_int_eq(future->job.priority, 3);
    ck_assert_int_eq(future->job.max_attempts, 2);
    ck_assert(zj_lifecycle_invariants_hold(&tc->jobs));
    //  Job, run and next run are in the same transaction.
    ck_assert(zj_store_in_turn(tc->store));
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM jobs"), 1);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM schedule_runs WHERE name = 'tick'"
             " AND job_id = %lld AND abs(due_at - %.6f) < 1e-3",
             (long long) id, due);
    ck_assert_int_eq(s_stored(tc, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM schedules WHERE name = 'tick'"
             " AND last_id = %lld AND abs(next_at - %.6f) < 1e-3",
             (long long) id, due + 1);
    ck_assert_int_eq(s_stored(tc, sql), 1);
    //  Three periods late: one run, then the next after now.
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, due + 4.5), 1);
    ck_assert(zj_schedules_find(tc->schedules, "tick")->not_before == due + 5);
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM jobs"), 2);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A crash before the commit loses the fire whole: the restart fires
//  that due time again, once.
START_TEST(test_a_fire_not_committed_fires_again_after_a_restart)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_add(tc, "tick", 1000);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    double due = zj_schedules_find(tc->schedules, "tick")->not_before;
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, due), 1);
    zj_testcoord_destroy(&tc); //  Rolls the open turn back
    tc = zj_testcoord_new();
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM jobs"), 0);
    ck_assert(zj_schedules_find(tc->schedules, "tick")->not_before == due);
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, due), 1);
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM schedule_runs"), 1);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  Down over ten due times: one catch-up run at start, and only one.
START_TEST(test_a_restart_past_due_times_fires_one_catch_up)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_add(tc, "tick", 1000);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc);
    double now = zj_now();
    sqlite3 *db = zj_testdb_raw();
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE schedules SET next_at = %.3f",
             now - 10.25);
    zj_testdb_exec(db, sql);
    sqlite3_close(db);

    tc = zj_testcoord_new();
    ck_assert_ptr_nonnull(zj_schedules_due(tc->schedules, now));
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, now), 1);
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, now), 0);
    double next = zj_schedules_find(tc->schedules, "tick")->not_before;
    ck_assert(next > now && next <= now + 1);
    ck_assert_int_eq(s_stored(tc, "SELECT count(*) FROM schedule_runs"), 1);
    zj_testcoord_destroy(&tc);
    //  And again after this restart: nothing is due any more.
    tc = zj_testcoord_new();
    ck_assert_uint_eq(zj_schedule_ep_fire(&tc->schedule_ep, now), 0);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_a_bad_row_is_skipped_at_load)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_add(tc, "good", 1000);
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_testcoord_destroy(&tc);
    sqlite3 *db = zj_testdb_raw();
    zj_testdb_exec(db, "INSERT INTO schedules (name, cron, kind, next_at)"
                       " VALUES ('bad', '99 * * * *', 'echo', 1.0),"
                       " ('fast', NULL, 'echo', 1.0)");
    sqlite3_close(db);
    tc = zj_testcoord_new();
    ck_assert_uint_eq(zj_schedules_size(tc->schedules), 1);
    ck_assert_ptr_nonnull(zj_schedules_find(tc->schedules, "good"));
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_schedules_suite(void)
{
    Suite *suite = suite_create("schedules");
    TCase *tcase = tcase_create("module");
    tcase_add_test(tcase, test_put_refuses_bad_cron_and_a_full_set);
    tcase_add_test(tcase, test_next_run_skips_missed_periods);
    tcase_add_test(tcase, test_due_comes_in_order_of_next_run);
    suite_add_tcase(suite, tcase);
    tcase = tcase_create("coordinator");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_add_test(tcase, test_add_an_existing_name_is_refused_unless_replace);
    tcase_add_test(tcase, test_rm_of_an_unknown_name_is_not_found);
    tcase_add_test(tcase, test_add_is_refused_while_the_store_is_degraded);
    tcase_add_test(tcase, test_list_gives_every_schedule_by_name);
    tcase_add_test(tcase, test_a_due_schedule_fires_once_per_due_time);
    tcase_add_test(tcase,
                   test_a_fire_not_committed_fires_again_after_a_restart);
    tcase_add_test(tcase, test_a_restart_past_due_times_fires_one_catch_up);
    tcase_add_test(tcase, test_a_bad_row_is_skipped_at_load);
    suite_add_tcase(suite, tcase);
    return suite;
}
