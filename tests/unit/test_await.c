//  test_await.c - the awaitables (worker/await.c) on a real libuv loop:
//  sleeps, fd waits and child processes, many at once, cancelled while
//  pending, and refused outside an I/O job. Each test runs its loop until
//  it has nothing left and then proves uv_loop_close finds no handle open.
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "common/err.h"
#include "tests/unit/suites.h"
#include "worker/coro.h"
#include "worker/handlers.h"
#include "worker/job_ctx.h"

typedef struct s_job s_job_t;
typedef void(s_run_fn)(s_job_t *job);

//  One job of a test: a coroutine running run(job) with its own ctx.
struct s_job {
    zj_coro_rt_t *rt;       //  The runtime it runs on
    zjob_ctx_t ctx;         //  What the awaitables see
    s_run_fn *run;          //  The test's body
    int rc;                 //  What the awaitable returned
    int rc_after;           //  What the next awaitable returned
    bool done;              //  run returned
    zjob_process_t process; //  Filled by zjob_spawn
    int fd;                 //  An fd the body uses
    int peer_fd;            //  The other end of fd, if a pair
    s_job_t *other;         //  Another job the body acts on
    int pids[2];            //  Processes the body heard of
    char *const *argv;      //  The command of a spawning job
    const char *input;      //  Its stdin
    size_t input_size;      //  Bytes in input
    size_t max_output;      //  Its output cut
    const char *args;       //  Handler args, for a handler's job
    char *result;           //  Handler result
    char *error;            //  Handler error
};

//  Counters the many-jobs tests share.
static int s_started;          //  Jobs that began their wait
static int s_finished;         //  Jobs whose wait ended
static int s_started_at_first; //  s_started when the first wait ended
static int s_loop_turns;       //  Loop iterations counted by s_count_turn

static void
s_body(void *arg)
{
    s_job_t *job = arg;
    job->ctx.coro = zj_coro_current(job->rt);
    job->run(job);
    job->done = true;
}

static void
s_job_init(s_job_t *job, zj_coro_rt_t *rt, uv_loop_t *loop, s_run_fn *run)
{
    memset(job, 0, sizeof *job);
    job->rt = rt;
    job->run = run;
    job->ctx.job_id = 42;
    job->ctx.kind = "test";
    job->ctx.loop = loop;
    job->rc = job->rc_after = 1; //  Neither 0 nor a ZJ_E* code
}

static void
s_job_start(s_job_t *job)
{
    ck_assert_ptr_nonnull(zj_coro_spawn(job->rt, s_body, job));
}

//  Runs the loop dry, then checks that nothing was left open.
static void
s_loop_finish(uv_loop_t *loop, zj_coro_rt_t **rt_p)
{
    ck_assert_int_eq(uv_run(loop, UV_RUN_DEFAULT), 0);
    ck_assert_int_eq(uv_loop_close(loop), 0);
    ck_assert_uint_eq(zj_coro_rt_alive(*rt_p), 0);
    zj_coro_rt_destroy(rt_p);
}

static void
s_wait_counted(void)
{
    if (s_finished++ == 0)
        s_started_at_first = s_started;
}

//  --- Outside an I/O job, and after a cancel

START_TEST(test_await_denied_without_loop)
{
    zjob_ctx_t ctx = {.job_id = 7, .kind = "sha256", .attempt = 3};
    ck_assert_int_eq(zjob_ctx_job_id(&ctx), 7);
    ck_assert_str_eq(zjob_ctx_kind(&ctx), "sha256");
    ck_assert_int_eq(zjob_ctx_attempt(&ctx), 3);
    ck_assert_int_eq(zjob_sleep(&ctx, 10), ZJ_EDENIED);
    ck_assert_int_eq(zjob_wait_fd(&ctx, 0, ZJOB_READABLE, 10), ZJ_EDENIED);
    char *argv[] = {"true", NULL};
    zjob_process_t process;
    memset(&process, 0xff, sizeof process);
    ck_assert_int_eq(zjob_spawn(&ctx, argv, NULL, 0, 0, &process), ZJ_EDENIED);
    ck_assert_ptr_null(process.out);
    ck_assert_ptr_null(process.err);
    //  A cancelled CPU job is still refused, not cancelled.
    ctx.cancelled = true;
    ck_assert_int_eq(zjob_sleep(&ctx, 10), ZJ_EDENIED);
}
END_TEST

static void
s_run_all_three(s_job_t *job)
{
    job->rc = zjob_sleep(&job->ctx, 60000);
    char *argv[] = {"sleep", "60", NULL};
    int spawned = zjob_spawn(&job->ctx, argv, NULL, 0, 0, &job->process);
    int waited = zjob_wait_fd(&job->ctx, 0, ZJOB_READABLE, -1);
    job->rc_after = spawned == waited ? spawned : 1;
}

START_TEST(test_await_cancelled_before_wait)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t job;
    s_job_init(&job, rt, &loop, s_run_all_three);
    zj_job_ctx_cancel(&job.ctx); //  Nothing pending: only marks it
    ck_assert(job.ctx.cancelled);
    s_job_start(&job);
    //  No await suspended: the body ran to its end inside spawn.
    ck_assert(job.done);
    ck_assert_int_eq(job.rc, ZJ_ECANCELLED);
    ck_assert_int_eq(job.rc_after, ZJ_ECANCELLED);
    ck_assert_ptr_null(job.process.out);
    s_loop_finish(&loop, &rt);
}
END_TEST

//  --- zjob_sleep

static void
s_run_sleep_counted(s_job_t *job)
{
    s_started++;
    job->rc = zjob_sleep(&job->ctx, 50);
    s_wait_counted();
}

static void
s_count_turn(uv_prepare_t *prepare)
{
    (void) prepare;
    s_loop_turns++;
}

START_TEST(test_await_thousand_sleeps_overlap)
{
    enum { COUNT = 1000 };
    s_started = s_finished = s_started_at_first = s_loop_turns = 0;
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t *jobs = calloc(COUNT, sizeof *jobs);
    ck_assert_ptr_nonnull(jobs);
    uv_prepare_t turns;
    uv_prepare_init(&loop, &turns);
    uv_prepare_start(&turns, s_count_turn);
    uv_unref((uv_handle_t *) &turns); //  Counts, keeps nothing alive
    for (int index = 0; index < COUNT; index++) {
        s_job_init(&jobs[index], rt, &loop, s_run_sleep_counted);
        s_job_start(&jobs[index]);
    }
    ck_assert_uint_eq(zj_coro_rt_alive(rt), COUNT);
    ck_assert_int_eq(s_finished, 0);
    ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    uv_close((uv_handle_t *) &turns, NULL);
    s_loop_finish(&loop, &rt);
    ck_assert_int_eq(s_finished, COUNT);
    //  All slept at once: every sleep had begun when the first ended, and
    //  a handful of loop turns served them all, not one turn or more each.
    ck_assert_int_eq(s_started_at_first, COUNT);
    ck_assert_int_lt(s_loop_turns, COUNT / 10);
    for (int index = 0; index < COUNT; index++) {
        ck_assert(jobs[index].done);
        ck_assert_int_eq(jobs[index].rc, 0);
    }
    free(jobs);
}
END_TEST

static void
s_run_sleep_twice(s_job_t *job)
{
    job->rc = zjob_sleep(&job->ctx, 60000);
    job->rc_after = zjob_sleep(&job->ctx, 0);
}

static void
s_cancel_other(uv_timer_t *timer)
{
    s_job_t *job = timer->data;
    ck_assert(!job->done);
    zj_job_ctx_cancel(&job->ctx);
    //  The sleep's timer must close first: the job resumes later.
    ck_assert(!job->done);
    ck_assert_ptr_null(job->ctx.abandon);
    uv_close((uv_handle_t *) timer, NULL);
}

START_TEST(test_await_sleep_cancelled)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t job;
    s_job_init(&job, rt, &loop, s_run_sleep_twice);
    s_job_start(&job);
    ck_assert(!job.done);
    ck_assert_ptr_nonnull(job.ctx.abandon);
    uv_timer_t canceller;
    uv_timer_init(&loop, &canceller);
    canceller.data = &job;
    uv_timer_start(&canceller, s_cancel_other, 10, 0);
    s_loop_finish(&loop, &rt);
    ck_assert(job.done);
    ck_assert_int_eq(job.rc, ZJ_ECANCELLED);
    ck_assert_int_eq(job.rc_after, ZJ_ECANCELLED);
    ck_assert_ptr_null(job.ctx.abandon);
}
END_TEST

//  --- zjob_wait_fd

static void
s_run_wait_readable(s_job_t *job)
{
    job->rc = zjob_wait_fd(&job->ctx, job->fd, ZJOB_READABLE, -1);
    char byte = 0;
    if (job->rc == 0 && read(job->fd, &byte, 1) == 1)
        job->rc_after = byte;
}

static void
s_write_byte(uv_timer_t *timer)
{
    s_job_t *job = timer->data;
    ck_assert(!job->done); //  Still waiting: nothing was readable
    ck_assert_int_eq(write(job->peer_fd, "x", 1), 1);
    uv_close((uv_handle_t *) timer, NULL);
}

static void
s_run_wait_cases(s_job_t *job)
{
    //  Writable at once; nothing to read within 20 ms; bad arguments.
    job->rc = zjob_wait_fd(&job->ctx, job->fd, ZJOB_WRITABLE, 1000);
    int timed_out = zjob_wait_fd(&job->ctx, job->fd, ZJOB_READABLE, 20);
    int no_events = zjob_wait_fd(&job->ctx, job->fd, 0, 20);
    int bad_events = zjob_wait_fd(&job->ctx, job->fd, 4, 20);
    int bad_fd = zjob_wait_fd(&job->ctx, -1, ZJOB_READABLE, 20);
    job->rc_after = timed_out == ZJ_ETIMEOUT && no_events == ZJ_EUSAGE &&
                    bad_events == ZJ_EUSAGE && bad_fd == ZJ_EUSAGE;
}

START_TEST(test_await_wait_fd_socketpair)
{
    int pair[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t reader, cases;
    s_job_init(&reader, rt, &loop, s_run_wait_readable);
    reader.fd = pair[0];
    reader.peer_fd = pair[1];
    s_job_start(&reader);
    s_job_init(&cases, rt, &loop, s_run_wait_cases);
    cases.fd = pair[1];
    s_job_start(&cases);
    uv_timer_t timer;
    uv_timer_init(&loop, &timer);
    timer.data = &reader;
    uv_timer_start(&timer, s_write_byte, 10, 0);
    s_loop_finish(&loop, &rt);
    ck_assert_int_eq(reader.rc, 0);
    ck_assert_int_eq(reader.rc_after, 'x');
    ck_assert_int_eq(cases.rc, 0);
    ck_assert_int_eq(cases.rc_after, 1);
    close(pair[0]);
    close(pair[1]);
}
END_TEST

static void
s_run_wait_forever(s_job_t *job)
{
    job->rc = zjob_wait_fd(&job->ctx, job->fd, ZJOB_READABLE, 60000);
}

START_TEST(test_await_wait_fd_cancelled)
{
    int pair[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t job;
    s_job_init(&job, rt, &loop, s_run_wait_forever);
    job.fd = pair[0];
    s_job_start(&job);
    uv_timer_t canceller;
    uv_timer_init(&loop, &canceller);
    canceller.data = &job;
    uv_timer_start(&canceller, s_cancel_other, 10, 0);
    s_loop_finish(&loop, &rt);
    ck_assert_int_eq(job.rc, ZJ_ECANCELLED);
    close(pair[0]);
    close(pair[1]);
}
END_TEST

//  A regular file cannot be polled: the wait fails instead of hanging.
static void
s_run_wait_file(s_job_t *job)
{
    job->rc = zjob_wait_fd(&job->ctx, job->fd, ZJOB_READABLE, -1);
}

START_TEST(test_await_wait_fd_refused)
{
    char path[] = "/tmp/zj-await-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t job;
    s_job_init(&job, rt, &loop, s_run_wait_file);
    job.fd = fd;
    s_job_start(&job);
    ck_assert(job.done);
    ck_assert_int_eq(job.rc, ZJ_ESYS);
    s_loop_finish(&loop, &rt);
    close(fd);
}
END_TEST

//  --- zjob_spawn

static void
s_run_spawn(s_job_t *job)
{
    s_started++;
    job->rc = zjob_spawn(&job->ctx, job->argv, job->input, job->input_size,
                         job->max_output, &job->process);
    s_wait_counted();
}

static void
s_process_clear(zjob_process_t *process)
{
    free(process->out);
    free(process->err);
    memset(process, 0, sizeof *process);
}

START_TEST(test_await_spawn_shell_and_cat)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    char *shell[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    char *cat[] = {"cat", NULL}; //  Found through PATH
    char *killed[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
    s_job_t jobs[3];
    char *const *argvs[] = {shell, cat, killed};
    for (int index = 0; index < 3; index++) {
        s_job_init(&jobs[index], rt, &loop, s_run_spawn);
        jobs[index].argv = argvs[index];
    }
    jobs[1].input = "hello\nworld";
    jobs[1].input_size = strlen(jobs[1].input);
    for (int index = 0; index < 3; index++)
        s_job_start(&jobs[index]);
    s_loop_finish(&loop, &rt);

    ck_assert_int_eq(jobs[0].rc, 0);
    ck_assert_int_eq(jobs[0].process.exit_status, 3);
    ck_assert_int_eq(jobs[0].process.term_signal, 0);
    ck_assert_str_eq(jobs[0].process.out, "out\n");
    ck_assert_uint_eq(jobs[0].process.out_size, 4);
    ck_assert_str_eq(jobs[0].process.err, "err\n");
    ck_assert_int_eq(jobs[1].rc, 0);
    ck_assert_int_eq(jobs[1].process.exit_status, 0);
    ck_assert_str_eq(jobs[1].process.out, "hello\nworld");
    ck_assert_str_eq(jobs[1].process.err, "");
    ck_assert_int_eq(jobs[2].rc, 0);
    ck_assert_int_eq(jobs[2].process.exit_status, -1);
    ck_assert_int_eq(jobs[2].process.term_signal, SIGKILL);
    for (int index = 0; index < 3; index++)
        s_process_clear(&jobs[index].process);
}
END_TEST

//  --- the exec handler: how its command ended decides the job's state

static void
s_run_exec(s_job_t *job)
{
    job->rc = zj_handler_exec(&job->ctx, job->args, &job->result, &job->error);
}

typedef struct {
    const char *args; //  exec's args
    int rc;           //  What the handler returns
    const char *says; //  In its error, or NULL when it succeeds
    const char *kept; //  In its result
} s_exec_row_t;

static const s_exec_row_t s_exec_rows[] = {
    {"{\"argv\": [\"true\"]}", 0, NULL, "\"exit\":0"},
    {"{\"argv\": [\"false\"]}", ZJOB_FAILED, "exit status 1", "\"exit\":1"},
    {"{\"argv\": [\"sh\", \"-c\", \"echo oops >&2; exit 3\"]}", ZJOB_FAILED,
     "exit status 3: oops", "\"stderr\":\"oops\\n\""},
    {"{\"argv\": [\"sh\", \"-c\", \"kill -9 $$\"]}", ZJOB_FAILED,
     "killed by signal 9 (SIGKILL)", "\"signal\":9"},
    {"{\"argv\": [\"false\"], \"check\": false}", 0, NULL, "\"exit\":1"},
    {"{\"argv\": [\"sh\", \"-c\", \"kill -9 $$\"], \"check\": false}", 0, NULL,
     "\"signal\":9"},
    {"{\"argv\": [\"true\"], \"check\": \"no\"}", ZJOB_FAILED_FINAL,
     "bad args: 'check'", NULL},
};

START_TEST(test_exec_fails_on_exit_status_or_signal)
{
    enum { ROWS = sizeof s_exec_rows / sizeof s_exec_rows[0] };
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t jobs[ROWS];
    for (int index = 0; index < ROWS; index++) {
        s_job_init(&jobs[index], rt, &loop, s_run_exec);
        jobs[index].args = s_exec_rows[index].args;
        s_job_start(&jobs[index]);
    }
    s_loop_finish(&loop, &rt);
    for (int index = 0; index < ROWS; index++) {
        const s_exec_row_t *row = &s_exec_rows[index];
        s_job_t *job = &jobs[index];
        ck_assert_msg(job->rc == row->rc, "%s: rc %d, error %s", row->args,
                      job->rc, job->error);
        if (row->says)
            ck_assert_msg(job->error && strstr(job->error, row->says),
                          "%s: error %s", row->args, job->error);
        else
            ck_assert_ptr_null(job->error);
        if (row->kept)
            ck_assert_msg(job->result && strstr(job->result, row->kept),
                          "%s: result %s", row->args, job->result);
        free(job->result);
        free(job->error);
    }
}
END_TEST

START_TEST(test_await_spawn_large_output)
{
    enum { SIZE = 300 * 1024 };
    char *input = malloc(SIZE);
    ck_assert_ptr_nonnull(input);
    for (size_t index = 0; index < SIZE; index++)
        input[index] = (char) ('a' + index % 26);
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    char *cat[] = {"cat", NULL};
    char *both[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero >&2; cat", NULL};
    s_job_t whole, cut;
    s_job_init(&whole, rt, &loop, s_run_spawn);
    whole.argv = cat;
    whole.input = input;
    whole.input_size = SIZE;
    s_job_init(&cut, rt, &loop, s_run_spawn);
    cut.argv = both;
    cut.input = input;
    cut.input_size = SIZE;
    cut.max_output = 1000;
    //  A child that reads none of it: the write fails, the job does not.
    char *deaf[] = {"true", NULL};
    s_job_t ignored;
    s_job_init(&ignored, rt, &loop, s_run_spawn);
    ignored.argv = deaf;
    ignored.input = input;
    ignored.input_size = SIZE;
    s_job_start(&whole);
    s_job_start(&cut);
    s_job_start(&ignored);
    s_loop_finish(&loop, &rt);
    ck_assert_int_eq(ignored.rc, 0);
    ck_assert_int_eq(ignored.process.exit_status, 0);
    s_process_clear(&ignored.process);

    //  Fed and read at the same time, past any pipe buffer.
    ck_assert_int_eq(whole.rc, 0);
    ck_assert_int_eq(whole.process.exit_status, 0);
    ck_assert_uint_eq(whole.process.out_size, SIZE);
    ck_assert_int_eq(memcmp(whole.process.out, input, SIZE), 0);
    ck_assert_int_eq(whole.process.out[SIZE], '\0');
    //  Cut at max_output, but read to the end: the child was not blocked.
    ck_assert_int_eq(cut.rc, 0);
    ck_assert_int_eq(cut.process.exit_status, 0);
    ck_assert_uint_eq(cut.process.out_size, 1000);
    ck_assert_int_eq(memcmp(cut.process.out, input, 1000), 0);
    ck_assert_uint_eq(cut.process.err_size, 1000);
    s_process_clear(&whole.process);
    s_process_clear(&cut.process);
    free(input);
}
END_TEST

START_TEST(test_await_hundred_children)
{
    enum { COUNT = 100 };
    s_started = s_finished = s_started_at_first = 0;
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t *jobs = calloc(COUNT, sizeof *jobs);
    char(*numbers)[16] = calloc(COUNT, sizeof *numbers);
    char *(*argvs)[5] = calloc(COUNT, sizeof *argvs);
    ck_assert(jobs && numbers && argvs);
    for (int index = 0; index < COUNT; index++) {
        snprintf(numbers[index], sizeof numbers[index], "%d", index);
        argvs[index][0] = "/bin/sh";
        argvs[index][1] = "-c";
        argvs[index][2] = "read line; echo \"$0 $line\"";
        argvs[index][3] = numbers[index];
        argvs[index][4] = NULL;
        s_job_init(&jobs[index], rt, &loop, s_run_spawn);
        jobs[index].argv = argvs[index];
        jobs[index].input = "go\n";
        jobs[index].input_size = 3;
        s_job_start(&jobs[index]);
    }
    ck_assert_uint_eq(zj_coro_rt_alive(rt), COUNT);
    s_loop_finish(&loop, &rt);
    ck_assert_int_eq(s_finished, COUNT);
    ck_assert_int_eq(s_started_at_first, COUNT); //  All ran at once
    for (int index = 0; index < COUNT; index++) {
        char expected[32];
        snprintf(expected, sizeof expected, "%d go\n", index);
        ck_assert_int_eq(jobs[index].rc, 0);
        ck_assert_int_eq(jobs[index].process.exit_status, 0);
        ck_assert_str_eq(jobs[index].process.out, expected);
        s_process_clear(&jobs[index].process);
    }
    free(argvs);
    free(numbers);
    free(jobs);
}
END_TEST

static void
s_run_bad_spawns(s_job_t *job)
{
    char *empty[] = {NULL};
    char *argv[] = {"true", NULL};
    zjob_ctx_t *ctx = &job->ctx;
    int no_argv = zjob_spawn(ctx, NULL, NULL, 0, 0, &job->process);
    int no_program = zjob_spawn(ctx, empty, NULL, 0, 0, &job->process);
    int no_input = zjob_spawn(ctx, argv, NULL, 5, 0, &job->process);
    job->rc = no_argv == no_program && no_argv == no_input ? no_argv : 1;
    job->rc_after = zjob_spawn(ctx, argv, NULL, 0, 0, NULL);
}

START_TEST(test_await_spawn_cannot_run)
{
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    char *missing[] = {"zjob-no-such-program", NULL};
    char *not_executable[] = {"/etc/passwd", NULL};
    s_job_t jobs[3];
    s_job_init(&jobs[0], rt, &loop, s_run_spawn);
    jobs[0].argv = missing;
    s_job_init(&jobs[1], rt, &loop, s_run_spawn);
    jobs[1].argv = not_executable;
    s_job_init(&jobs[2], rt, &loop, s_run_bad_spawns);
    for (int index = 0; index < 3; index++)
        s_job_start(&jobs[index]);
    s_loop_finish(&loop, &rt);
    //  As a shell reports it: 127 not found, 126 not executable.
    ck_assert_int_eq(jobs[0].rc, 0);
    ck_assert_int_eq(jobs[0].process.exit_status, 127);
    ck_assert_str_eq(jobs[0].process.out, "");
    ck_assert_ptr_nonnull(strstr(jobs[0].process.err, "zjob-no-such-program"));
    ck_assert_int_eq(jobs[1].rc, 0);
    ck_assert_int_eq(jobs[1].process.exit_status, 126);
    ck_assert_ptr_nonnull(strstr(jobs[1].process.err, "/etc/passwd"));
    for (int index = 0; index < 2; index++)
        s_process_clear(&jobs[index].process);

    //  Bad arguments are refused before anything starts.
    ck_assert(jobs[2].done);
    ck_assert_int_eq(jobs[2].rc, ZJ_EUSAGE);
    ck_assert_int_eq(jobs[2].rc_after, ZJ_EUSAGE);
}
END_TEST

//  --- Cancelling a child

//  Reads "PID GRANDCHILD_PID" from the child's report pipe, then cancels
//  the spawning job.
static void
s_run_cancel_when_reported(s_job_t *job)
{
    char line[64] = "";
    size_t used = 0;
    while (strchr(line, '\n') == NULL && used < sizeof line - 1) {
        job->rc = zjob_wait_fd(&job->ctx, job->fd, ZJOB_READABLE, 20000);
        if (job->rc != 0)
            return;
        ssize_t got = read(job->fd, line + used, sizeof line - 1 - used);
        if (got <= 0)
            return;
        used += (size_t) got;
    }
    int pid = 0, grandchild = 0;
    if (sscanf(line, "%d %d", &pid, &grandchild) != 2)
        return;
    job->pids[0] = pid;
    job->pids[1] = grandchild;
    ck_assert(!job->other->done);
    zj_job_ctx_cancel(&job->other->ctx);
}

//  True once pid is gone or a zombie (which init may not reap here).
static bool
s_is_dead(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *stat = fopen(path, "r");
    if (stat == NULL)
        return true;
    char state = '?';
    int matched = fscanf(stat, "%*d (%*[^)]) %c", &state);
    fclose(stat);
    return matched == 1 && (state == 'Z' || state == 'X');
}

START_TEST(test_await_spawn_cancelled)
{
    int report[2];
    ck_assert_int_eq(pipe(report), 0); //  Inherited by the child
    char script[160];
    snprintf(script, sizeof script, "sleep 60 & echo $$ $! > /dev/fd/%d; wait",
             report[1]);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    uv_loop_t loop;
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_job_t child, canceller;
    s_job_init(&child, rt, &loop, s_run_spawn);
    child.argv = argv;
    s_job_init(&canceller, rt, &loop, s_run_cancel_when_reported);
    canceller.fd = report[0];
    canceller.other = &child;
    s_job_start(&child);
    close(report[1]);
    s_job_start(&canceller);
    s_loop_finish(&loop, &rt);

    ck_assert_int_eq(canceller.rc, 0);
    int pid = canceller.pids[0];
    int grandchild = canceller.pids[1];
    ck_assert_int_gt(pid, 0);
    ck_assert_int_gt(grandchild, 0);
    ck_assert_int_eq(child.rc, ZJ_ECANCELLED);
    ck_assert_ptr_null(child.process.out);
    //  The child was killed and reaped by the loop: no zombie is left.
    ck_assert_int_eq(kill(pid, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
    ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), -1);
    //  Its process group went with it. The grandchild is not ours to
    //  reap, so wait (bounded by the test's timeout) until it is dead.
    while (!s_is_dead(grandchild))
        usleep(1000);
    close(report[0]);
}
END_TEST

Suite *
test_await_suite(void)
{
    Suite *suite = suite_create("await");
    TCase *tcase = tcase_create("await");
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_await_denied_without_loop);
    tcase_add_test(tcase, test_await_cancelled_before_wait);
    tcase_add_test(tcase, test_await_thousand_sleeps_overlap);
    tcase_add_test(tcase, test_await_sleep_cancelled);
    tcase_add_test(tcase, test_await_wait_fd_socketpair);
    tcase_add_test(tcase, test_await_wait_fd_cancelled);
    tcase_add_test(tcase, test_await_wait_fd_refused);
    tcase_add_test(tcase, test_await_spawn_shell_and_cat);
    tcase_add_test(tcase, test_await_spawn_large_output);
    tcase_add_test(tcase, test_await_hundred_children);
    tcase_add_test(tcase, test_await_spawn_cannot_run);
    tcase_add_test(tcase, test_await_spawn_cancelled);
    tcase_add_test(tcase, test_exec_fails_on_exit_status_or_signal);
    suite_add_tcase(suite, tcase);
    return suite;
}
