//  test_lifecycle.c - the coordinator's job state machine
//  (coordinator/lifecycle.c) on a real coordinator with a store file and
//  inproc sockets: the exactly-once rule for results, retries, requeues
//  of lost workers and recovery after a restart.
#define _XOPEN_SOURCE 700 //  nftw
#include <check.h>
#include <czmq.h>
#include <ftw.h>

#include "common/duration.h"
#include "coordinator/lifecycle.h"
#include "coordinator/worker_ep.h"
#include "tests/unit/suites.h"

static char s_dir[64];   //  This test's temp dir
static char s_path[128]; //  s_dir/zjob.db
static int s_serial;     //  Makes inproc endpoints unique

static void
s_setup(void)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/zj-lifecycle-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    snprintf(s_path, sizeof s_path, "%s/zjob.db", s_dir);
}

static int
s_remove_entry(const char *path, const struct stat *info, int flag,
               struct FTW *ftw)
{
    (void) info;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static void
s_teardown(void)
{
    nftw(s_dir, s_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static zj_coordinator_t *
s_coordinator(void)
{
    static char clients[64], workers[64];
    snprintf(clients, sizeof clients, "inproc://lifecycle-c-%d", ++s_serial);
    snprintf(workers, sizeof workers, "inproc://lifecycle-w-%d", s_serial);
    zj_coordinator_config_t config;
    zj_coordinator_config_defaults(&config);
    config.clients_endpoint = clients;
    config.workers_endpoint = workers;
    config.db_path = s_path;
    zj_coordinator_t *self = zj_coordinator_new(&config);
    ck_assert_ptr_nonnull(self);
    return self;
}

//  Says HELLO as worker name (offering echo, io) through the real handler.
static void
s_hello(zj_coordinator_t *self, const char *name)
{
    zj_msg_t *hello = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *info = zj_msg_add_worker(hello);
    info->name = strdup(name);
    info->io_slots = 4;
    info->kinds = calloc(1, sizeof *info->kinds);
    info->kinds[0].name = strdup("echo");
    info->kind_count = 1;
    zframe_t *identity = zframe_new(name, strlen(name));
    zj_worker_ep_handle(self, identity, hello);
    zframe_destroy(&identity);
    zj_msg_destroy(&hello);
}

static int64_t
s_submit(zj_coordinator_t *self, int32_t max_attempts)
{
    zj_job_t spec = {.kind = "echo", .args = "{\"n\": 1}",
                     .max_attempts = max_attempts, .backoff_ms = 1};
    int64_t id = zj_lifecycle_submit(self, &spec);
    ck_assert_int_gt(id, 0);
    return id;
}

static bool
s_result(zj_coordinator_t *self, int64_t id, int32_t attempt,
         zj_state_t state)
{
    zj_job_t result = {.id = id, .attempts = attempt, .state = state,
                       .started_at = zj_now(), .finished_at = zj_now()};
    if (state == ZJ_STATE_SUCCEEDED)
        result.result = "{\"n\": 1}";
    else
        result.error = "boom";
    return zj_lifecycle_result(self, &result, "w1");
}

static zj_state_t
s_stored_state(zj_coordinator_t *self, int64_t id, int32_t *attempts)
{
    zj_job_t job = {0};
    ck_assert_int_eq(zj_store_get_job(self->store, id, &job), 0);
    zj_state_t state = job.state;
    *attempts = job.attempts;
    zj_job_clear(&job);
    return state;
}

START_TEST(test_first_result_of_current_attempt_wins)
{
    zj_coordinator_t *self = s_coordinator();
    s_hello(self, "w1");
    int64_t id = s_submit(self, 2);
    zj_worker_ep_dispatch(self);
    zj_future_t *future = zj_futures_find(self->futures, id);
    ck_assert_int_eq(future->job.state, ZJ_STATE_RUNNING);
    ck_assert_int_eq(future->job.attempts, 1);

    ck_assert(!s_result(self, id, 2, ZJ_STATE_SUCCEEDED)); //  Not started
    ck_assert(s_result(self, id, 1, ZJ_STATE_FAILED));     //  Retry waits
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    ck_assert(!s_result(self, id, 1, ZJ_STATE_SUCCEEDED)); //  Duplicate

    zj_scheduler_wake(self->scheduler, zj_now() + 1);
    zj_worker_ep_dispatch(self);
    ck_assert_int_eq(future->job.attempts, 2);
    ck_assert(!s_result(self, id, 1, ZJ_STATE_SUCCEEDED)); //  Stale
    ck_assert(s_result(self, id, 2, ZJ_STATE_SUCCEEDED));
    ck_assert_ptr_null(zj_futures_find(self->futures, id));
    ck_assert(!s_result(self, id, 2, ZJ_STATE_FAILED)); //  Already final
    zj_futures_reap(self->futures);

    ck_assert_int_eq(zj_store_commit(self->store), 0);
    int32_t attempts = 0;
    ck_assert_int_eq(s_stored_state(self, id, &attempts), ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(attempts, 2);
    zj_coordinator_destroy(&self);
    ck_assert_ptr_null(self);
}
END_TEST

START_TEST(test_exhausted_or_final_errors_end_failed)
{
    zj_coordinator_t *self = s_coordinator();
    s_hello(self, "w1");
    int64_t once = s_submit(self, 1);
    int64_t final = s_submit(self, 5);
    zj_worker_ep_dispatch(self);
    ck_assert(s_result(self, once, 1, ZJ_STATE_FAILED));
    zj_job_t no_retry = {.id = final, .attempts = 1,
                         .state = ZJ_STATE_FAILED, .error = "bad args: x",
                         .no_retry = true};
    ck_assert(zj_lifecycle_result(self, &no_retry, "w1"));
    ck_assert_uint_eq(zj_futures_size(self->futures), 0);
    int32_t attempts = 0;
    ck_assert_int_eq(s_stored_state(self, once, &attempts), ZJ_STATE_FAILED);
    ck_assert_int_eq(s_stored_state(self, final, &attempts), ZJ_STATE_FAILED);
    ck_assert_int_eq(attempts, 1);
    zj_futures_reap(self->futures);
    zj_coordinator_destroy(&self);
}
END_TEST

START_TEST(test_result_after_requeue_still_counts)
{
    zj_coordinator_t *self = s_coordinator();
    s_hello(self, "w1");
    int64_t id = s_submit(self, 1);
    zj_worker_ep_dispatch(self);
    zj_future_t *future = zj_futures_find(self->futures, id);
    zj_lifecycle_requeue(self, future, "worker lost: missed heartbeats");
    ck_assert_int_eq(future->job.state, ZJ_STATE_QUEUED);
    //  The lost worker's result for that attempt arrives before the job
    //  runs again: it counts, once.
    ck_assert(s_result(self, id, 1, ZJ_STATE_SUCCEEDED));
    ck_assert_ptr_null(zj_futures_find(self->futures, id));
    ck_assert_uint_eq(zj_scheduler_ready(self->scheduler), 0);
    zj_futures_reap(self->futures);
    zj_coordinator_destroy(&self);
}
END_TEST

START_TEST(test_recovery_keeps_running_attempts_open)
{
    zj_coordinator_t *self = s_coordinator();
    s_hello(self, "w1");
    int64_t running = s_submit(self, 3);
    int64_t retrying = s_submit(self, 3);
    zj_worker_ep_dispatch(self);
    ck_assert(s_result(self, retrying, 1, ZJ_STATE_FAILED));
    ck_assert_int_eq(zj_store_commit(self->store), 0);
    zj_coordinator_destroy(&self); //  As a crash would: no result for 1

    self = s_coordinator();
    ck_assert_uint_eq(zj_futures_size(self->futures), 2);
    int32_t attempts = 0;
    ck_assert_int_eq(s_stored_state(self, running, &attempts),
                     ZJ_STATE_QUEUED);
    //  The job that was running takes its attempt's result; the one that
    //  waited for a retry had its result for attempt 1 already.
    ck_assert(s_result(self, running, 1, ZJ_STATE_SUCCEEDED));
    ck_assert(!s_result(self, retrying, 1, ZJ_STATE_SUCCEEDED));
    ck_assert_uint_eq(zj_futures_size(self->futures), 1);
    zj_futures_reap(self->futures);
    zj_coordinator_destroy(&self);
}
END_TEST

Suite *
test_lifecycle_suite(void)
{
    Suite *suite = suite_create("lifecycle");
    TCase *tcase = tcase_create("results");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_first_result_of_current_attempt_wins);
    tcase_add_test(tcase, test_exhausted_or_final_errors_end_failed);
    tcase_add_test(tcase, test_result_after_requeue_still_counts);
    tcase_add_test(tcase, test_recovery_keeps_running_attempts_open);
    suite_add_tcase(suite, tcase);
    return suite;
}
