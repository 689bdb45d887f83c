//  test_cpu_pool.c - the prefork CPU pool (worker/cpu_pool.c) on a real
//  libuv loop, with test handlers that spin, crash, abort and exit.
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "common/err.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"
#include "worker/cpu_pool.h"
#include "worker/job_ctx.h"
#include "worker/registry.h"

#define S_MAX_OUTCOMES 64 //  Outcomes one test records

//  --- Test handlers: they run in the pool's processes ------------------

static int
s_handler_pid(zjob_ctx_t *ctx, const char *args, char **result_p,
              char **error_p)
{
    (void) ctx, (void) args, (void) error_p;
    char text[64];
    snprintf(text, sizeof text, "{\"pid\": %d}", (int) getpid());
    *result_p = strdup(text);
    return 0;
}

static int
s_handler_echo(zjob_ctx_t *ctx, const char *args, char **result_p,
               char **error_p)
{
    (void) ctx, (void) error_p;
    *result_p = strdup(args);
    return 0;
}

static int
s_handler_spin(zjob_ctx_t *ctx, const char *args, char **result_p,
               char **error_p)
{
    (void) ctx, (void) args, (void) error_p, (void) result_p;
    volatile unsigned long spins = 0;
    while (true)
        spins++;
    return 0;
}

static int
s_handler_crash(zjob_ctx_t *ctx, const char *args, char **result_p,
                char **error_p)
{
    (void) ctx, (void) args, (void) error_p, (void) result_p;
    raise(SIGSEGV);
    return 0;
}

static int
s_handler_abort(zjob_ctx_t *ctx, const char *args, char **result_p,
                char **error_p)
{
    (void) ctx, (void) args, (void) error_p, (void) result_p;
    abort();
}

static int
s_handler_exit3(zjob_ctx_t *ctx, const char *args, char **result_p,
                char **error_p)
{
    (void) ctx, (void) args, (void) error_p, (void) result_p;
    _exit(3);
}

static int
s_handler_fail(zjob_ctx_t *ctx, const char *args, char **result_p,
               char **error_p)
{
    (void) args, (void) result_p;
    char text[64];
    snprintf(text, sizeof text, "failed job=%lld loop=%p coro=%p",
             (long long) ctx->job_id, (void *) ctx->loop, (void *) ctx->coro);
    *error_p = strdup(text);
    return 1;
}

static int
s_handler_silent(zjob_ctx_t *ctx, const char *args, char **result_p,
                 char **error_p)
{
    (void) ctx, (void) args, (void) result_p, (void) error_p;
    return 7;
}

//  --- Fixture ------------------------------------------------------------

typedef struct {
    int64_t job_id;    //  The job
    bool ok;           //  Succeeded
    char *text;        //  Result or error, copied
    int64_t pid;       //  Process that ran it
    double started_at; //  As reported
    double finished_at;
} s_outcome_t;

typedef struct {
    uv_loop_t loop;                       //  The test's loop
    zj_registry_t *registry;              //  The test handlers
    zj_cpu_pool_t *pool;                  //  Under test
    int count;                            //  Outcomes so far
    int target;                           //  s_run_until stops here
    s_outcome_t outcomes[S_MAX_OUTCOMES]; //  In arrival order
    int destroy_after;                    //  done destroys pool at this count
    int resubmit;                         //  done submits this many more
} s_test_t;

static s_test_t s_test;

static void
s_on_done(void *arg, const zj_cpu_outcome_t *outcome)
{
    s_test_t *test = arg;
    ck_assert_int_lt(test->count, S_MAX_OUTCOMES);
    s_outcome_t *copy = &test->outcomes[test->count++];
    copy->job_id = outcome->job_id;
    copy->ok = outcome->ok;
    copy->text = strdup(outcome->ok ? outcome->result : outcome->error);
    copy->pid = outcome->pid;
    copy->started_at = outcome->started_at;
    copy->finished_at = outcome->finished_at;
    if (test->resubmit > 0) {
        test->resubmit--;
        ck_assert_int_eq(zj_cpu_pool_submit(test->pool, 100 + test->count, 1,
                                            "pid", NULL, 0),
                         0);
    }
    if (test->destroy_after == test->count)
        zj_cpu_pool_destroy(&test->pool);
    if (test->count >= test->target)
        uv_stop(&test->loop);
}

static void
s_setup(void)
{
    memset(&s_test, 0, sizeof s_test);
    ck_assert_int_eq(uv_loop_init(&s_test.loop), 0);
    s_test.registry = zj_registry_new();
    struct {
        const char *kind;
        zjob_handler_fn *handler;
    } kinds[] = {{"pid", s_handler_pid},     {"echo", s_handler_echo},
                 {"spin", s_handler_spin},   {"crash", s_handler_crash},
                 {"abort", s_handler_abort}, {"exit3", s_handler_exit3},
                 {"fail", s_handler_fail},   {"silent", s_handler_silent}};
    for (size_t row = 0; row < sizeof kinds / sizeof kinds[0]; row++)
        ck_assert_int_eq(zjob_registry_add(s_test.registry, kinds[row].kind,
                                           ZJOB_CLASS_CPU, kinds[row].handler),
                         0);
}

static void
s_teardown(void)
{
    zj_cpu_pool_destroy(&s_test.pool);
    ck_assert_ptr_null(s_test.pool);
    uv_run(&s_test.loop, UV_RUN_DEFAULT);
    //  Every handle of the pool is closed: the loop closes cleanly.
    ck_assert_int_eq(uv_loop_close(&s_test.loop), 0);
    zj_registry_destroy(&s_test.registry);
    for (int index = 0; index < s_test.count; index++)
        free(s_test.outcomes[index].text);
}

static zj_cpu_pool_t *
s_pool_new(int procs)
{
    s_test.pool = zj_cpu_pool_new(&s_test.loop, procs, s_test.registry,
                                  s_on_done, &s_test);
    ck_assert_ptr_nonnull(s_test.pool);
    return s_test.pool;
}

//  Runs the loop until count outcomes have arrived in all. UV_RUN_ONCE
//  would not do: it may block in poll after running a due timer.
static void
s_run_until(int count)
{
    s_test.target = count;
    if (s_test.count < count)
        uv_run(&s_test.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(s_test.count, count);
}

static const s_outcome_t *
s_outcome_of(int64_t job_id)
{
    for (int index = 0; index < s_test.count; index++)
        if (s_test.outcomes[index].job_id == job_id)
            return &s_test.outcomes[index];
    ck_abort_msg("no outcome for job %lld", (long long) job_id);
    return NULL;
}

//  The pid the "pid" handler reported, checked against the outcome's.
static int64_t
s_reported_pid(const s_outcome_t *outcome)
{
    ck_assert_msg(outcome->ok, "job %lld failed: %s",
                  (long long) outcome->job_id, outcome->text);
    long long pid = 0;
    ck_assert_int_eq(sscanf(outcome->text, "{\"pid\": %lld}", &pid), 1);
    ck_assert_int_eq(pid, outcome->pid);
    return pid;
}

static void
s_assert_reaped(int64_t pid)
{
    ck_assert_int_gt(pid, 0);
    errno = 0;
    ck_assert_int_eq(waitpid((pid_t) pid, NULL, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}

//  --- Tests ----------------------------------------------------------------

START_TEST(test_jobs_spread_over_every_process)
{
    zj_cpu_pool_t *pool = s_pool_new(2);
    ck_assert_int_eq(zj_cpu_pool_size(pool), 2);
    ck_assert_int_eq(zj_cpu_pool_idle(pool), 2);
    for (int64_t job_id = 1; job_id <= 20; job_id++)
        ck_assert_int_eq(zj_cpu_pool_submit(pool, job_id, 1, "pid", "{}", 0),
                         0);
    ck_assert_int_eq(zj_cpu_pool_idle(pool), 0);
    s_run_until(20);

    int64_t pids[2] = {0, 0};
    for (int64_t job_id = 1; job_id <= 20; job_id++) {
        const s_outcome_t *outcome = s_outcome_of(job_id);
        int64_t pid = s_reported_pid(outcome);
        ck_assert(outcome->started_at <= outcome->finished_at);
        if (pids[0] == 0 || pids[0] == pid)
            pids[0] = pid;
        else if (pids[1] == 0 || pids[1] == pid)
            pids[1] = pid;
        else
            ck_abort_msg("a third pid %lld", (long long) pid);
    }
    ck_assert_int_ne(pids[1], 0);
    ck_assert_int_eq(zj_cpu_pool_idle(pool), 2);
}
END_TEST

START_TEST(test_queue_runs_in_order)
{
    zj_cpu_pool_t *pool = s_pool_new(1);
    for (int64_t job_id = 1; job_id <= 10; job_id++)
        ck_assert_int_eq(zj_cpu_pool_submit(pool, job_id, 2, "pid", "{}", 0),
                         0);
    s_run_until(10);
    for (int index = 0; index < 10; index++)
        ck_assert_int_eq(s_test.outcomes[index].job_id, index + 1);
}
END_TEST

START_TEST(test_queued_jobs_go_before_jobs_submitted_in_done)
{
    zj_cpu_pool_t *pool = s_pool_new(1);
    s_test.resubmit = 1;
    for (int64_t job_id = 1; job_id <= 3; job_id++)
        ck_assert_int_eq(zj_cpu_pool_submit(pool, job_id, 1, "pid", "{}", 0),
                         0);
    s_run_until(4);
    ck_assert_int_eq(s_test.outcomes[0].job_id, 1);
    ck_assert_int_eq(s_test.outcomes[1].job_id, 2);
    ck_assert_int_eq(s_test.outcomes[2].job_id, 3);
    ck_assert_int_eq(s_test.outcomes[3].job_id, 101);
}
END_TEST

typedef struct {
    const char *kind;  //  A handler that ends its process
    const char *error; //  The job's error
} s_death_row_t;

static const s_death_row_t s_deaths[] = {
    {"crash", "process crashed: killed by signal SIGSEGV (Segmentation "
              "fault)"},
    {"abort", "process crashed: killed by signal SIGABRT (Aborted)"},
    {"exit3", "process exited with status 3"},
};

START_TEST(test_dead_process_fails_its_job_and_is_replaced)
{
    const s_death_row_t *row = &s_deaths[_i];
    zj_cpu_pool_t *pool = s_pool_new(1);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 1, 1, "pid", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 2, 1, row->kind, "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 3, 1, "pid", "{}", 0), 0);
    s_run_until(3);

    int64_t first = s_reported_pid(s_outcome_of(1));
    const s_outcome_t *dead = s_outcome_of(2);
    ck_assert(!dead->ok);
    ck_assert_str_eq(dead->text, row->error);
    ck_assert_int_eq(dead->pid, first);
    int64_t second = s_reported_pid(s_outcome_of(3));
    ck_assert_int_ne(second, first);
    s_assert_reaped(first);
    ck_assert_int_eq(zj_cpu_pool_size(pool), 1);
    ck_assert_int_eq(zj_cpu_pool_idle(pool), 1);
}
END_TEST

START_TEST(test_timeout_kills_and_replaces)
{
    zj_cpu_pool_t *pool = s_pool_new(1);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 1, 1, "spin", "{}", 200), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 2, 1, "pid", "{}", 60000), 0);
    s_run_until(2);
    const s_outcome_t *spun = s_outcome_of(1);
    ck_assert(!spun->ok);
    ck_assert_str_eq(spun->text, "timeout after 200 ms");
    ck_assert_int_ne(s_reported_pid(s_outcome_of(2)), spun->pid);
    s_assert_reaped(spun->pid);
}
END_TEST

START_TEST(test_cancel_queued_and_running)
{
    zj_cpu_pool_t *pool = s_pool_new(1);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 1, 1, "spin", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 2, 1, "pid", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 3, 1, "pid", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_cancel(pool, 2), 0);
    ck_assert_int_eq(s_test.count, 0); //  Reported on the loop, not inside
    ck_assert_int_eq(zj_cpu_pool_cancel(pool, 2), ZJ_ENOTFOUND);
    ck_assert_int_eq(zj_cpu_pool_cancel(pool, 99), ZJ_ENOTFOUND);
    s_run_until(1);
    ck_assert_int_eq(s_test.outcomes[0].job_id, 2);
    ck_assert_str_eq(s_test.outcomes[0].text, "cancelled");

    ck_assert_int_eq(zj_cpu_pool_cancel(pool, 1), 0);
    ck_assert_int_eq(s_test.count, 1);
    s_run_until(3);
    const s_outcome_t *spun = s_outcome_of(1);
    ck_assert(!spun->ok);
    ck_assert_str_eq(spun->text, "cancelled");
    ck_assert_int_ne(s_reported_pid(s_outcome_of(3)), spun->pid);
    s_assert_reaped(spun->pid);
    ck_assert_int_eq(zj_cpu_pool_cancel(pool, 3), ZJ_ENOTFOUND);
}
END_TEST

START_TEST(test_large_args_round_trip)
{
    zj_cpu_pool_t *pool = s_pool_new(2);
    char *args = malloc(ZJ_MAX_ARGS + 2);
    ck_assert_ptr_nonnull(args);
    args[0] = '"';
    for (size_t index = 1; index < ZJ_MAX_ARGS - 1; index++)
        args[index] = (char) ('a' + index % 26);
    args[ZJ_MAX_ARGS - 1] = '"';
    args[ZJ_MAX_ARGS] = '\0';
    for (int64_t job_id = 1; job_id <= 4; job_id++)
        ck_assert_int_eq(zj_cpu_pool_submit(pool, job_id, 1, "echo", args, 0),
                         0);
    s_run_until(4);
    for (int64_t job_id = 1; job_id <= 4; job_id++) {
        const s_outcome_t *outcome = s_outcome_of(job_id);
        ck_assert(outcome->ok);
        ck_assert_uint_eq(strlen(outcome->text), ZJ_MAX_ARGS);
        ck_assert(memcmp(outcome->text, args, ZJ_MAX_ARGS) == 0);
    }
    args[ZJ_MAX_ARGS] = '"';
    args[ZJ_MAX_ARGS + 1] = '\0';
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 5, 1, "echo", args, 0),
                     ZJ_ETOOBIG);
    free(args);
}
END_TEST

START_TEST(test_unknown_kind_and_handler_errors)
{
    zj_cpu_pool_t *pool = s_pool_new(1);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 1, 1, "nope", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 2, 1, "fail", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 3, 1, "silent", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 4, 1, "echo", NULL, 0), 0);
    s_run_until(4);
    ck_assert(!s_outcome_of(1)->ok);
    ck_assert_str_eq(s_outcome_of(1)->text, "unknown job kind 'nope'");
    ck_assert(!s_outcome_of(2)->ok);
    ck_assert_str_eq(s_outcome_of(2)->text,
                     "failed job=2 loop=(nil) coro=(nil)");
    ck_assert(!s_outcome_of(3)->ok);
    ck_assert_str_eq(s_outcome_of(3)->text, "handler failed (returned 7)");
    ck_assert(s_outcome_of(4)->ok);
    ck_assert_str_eq(s_outcome_of(4)->text, "null");
    //  The process survived all of them.
    ck_assert_int_eq(s_outcome_of(1)->pid, s_outcome_of(4)->pid);

    char kind[ZJ_MAX_KIND + 2];
    memset(kind, 'k', sizeof kind - 1);
    kind[sizeof kind - 1] = '\0';
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 5, 1, kind, "{}", 0), ZJ_EKIND);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 5, 1, "", "{}", 0), ZJ_EKIND);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 5, 1, NULL, "{}", 0), ZJ_EKIND);
}
END_TEST

START_TEST(test_destroy_kills_and_reaps_every_process)
{
    zj_cpu_pool_t *pool = s_pool_new(2);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 1, 1, "pid", "{}", 0), 0);
    ck_assert_int_eq(zj_cpu_pool_submit(pool, 2, 1, "pid", "{}", 0), 0);
    s_run_until(2);
    int64_t pids[2] = {s_reported_pid(s_outcome_of(1)),
                       s_reported_pid(s_outcome_of(2))};
    ck_assert_int_ne(pids[0], pids[1]);
    //  Two running for ever, one queued: none gets a callback.
    for (int64_t job_id = 3; job_id <= 5; job_id++)
        ck_assert_int_eq(zj_cpu_pool_submit(pool, job_id, 1, "spin", "{}", 0),
                         0);
    zj_cpu_pool_destroy(&s_test.pool);
    ck_assert_ptr_null(s_test.pool);
    uv_run(&s_test.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(s_test.count, 2);
    s_assert_reaped(pids[0]);
    s_assert_reaped(pids[1]);
}
END_TEST

START_TEST(test_done_may_destroy_the_pool)
{
    zj_cpu_pool_t *pool = s_pool_new(2);
    s_test.destroy_after = 1;
    for (int64_t job_id = 1; job_id <= 6; job_id++)
        ck_assert_int_eq(zj_cpu_pool_submit(pool, job_id, 1, "pid", "{}", 0),
                         0);
    s_run_until(1);
    ck_assert_ptr_null(s_test.pool);
    uv_run(&s_test.loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(s_test.count, 1);
    s_assert_reaped(s_test.outcomes[0].pid);
}
END_TEST

START_TEST(test_process_count)
{
    zj_cpu_pool_t *pool = s_pool_new(0);
    ck_assert_int_eq(zj_cpu_pool_size(pool), sysconf(_SC_NPROCESSORS_ONLN));
    ck_assert_int_eq(zj_cpu_pool_idle(pool), zj_cpu_pool_size(pool));
    ck_assert_ptr_null(
        zj_cpu_pool_new(&s_test.loop, -1, s_test.registry, s_on_done, &s_test));
}
END_TEST

Suite *
test_cpu_pool_suite(void)
{
    Suite *suite = suite_create("cpu_pool");
    TCase *tcase = tcase_create("run");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_jobs_spread_over_every_process);
    tcase_add_test(tcase, test_queue_runs_in_order);
    tcase_add_test(tcase, test_queued_jobs_go_before_jobs_submitted_in_done);
    tcase_add_test(tcase, test_large_args_round_trip);
    tcase_add_test(tcase, test_unknown_kind_and_handler_errors);
    tcase_add_test(tcase, test_process_count);
    suite_add_tcase(suite, tcase);

    tcase = tcase_create("failures");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_set_timeout(tcase, 30);
    tcase_add_loop_test(tcase, test_dead_process_fails_its_job_and_is_replaced,
                        0, (int) (sizeof s_deaths / sizeof s_deaths[0]));
    tcase_add_test(tcase, test_timeout_kills_and_replaces);
    tcase_add_test(tcase, test_cancel_queued_and_running);
    tcase_add_test(tcase, test_destroy_kills_and_reaps_every_process);
    tcase_add_test(tcase, test_done_may_destroy_the_pool);
    suite_add_tcase(suite, tcase);
    return suite;
}
