//  test_watchdog.c - worker/watchdog.c: a job that holds the loop past
//  the limit ends the process with ZJ_WATCHDOG_EXIT and a line naming it;
//  a loop that keeps getting itself back is left alone. The watchdog
//  ends its process, so each case runs in a child of its own.
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/suites.h"
#include "worker/watchdog.h"

typedef void(s_case_fn)(void);

//  Runs fn in a child whose stderr goes into line (up to size - 1 bytes);
//  returns the child's wait status.
static int
s_in_child(s_case_fn *fn, char *line, size_t size)
{
    int pipes[2];
    ck_assert_int_eq(pipe(pipes), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(pipes[1], STDERR_FILENO);
        close(pipes[0]);
        fn();
        _exit(0);
    }
    close(pipes[1]);
    size_t got = 0;
    ssize_t rc;
    while (got < size - 1 &&
           (rc = read(pipes[0], line + got, size - 1 - got)) > 0)
        got += (size_t) rc;
    line[got] = '\0';
    close(pipes[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

static void
s_spin_ms(int ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000 +
               (now.tv_nsec - start.tv_nsec) / 1000000 <
           ms);
}

//  A job that never gives the loop back.
static void
s_stuck(void)
{
    zj_watchdog_t *watchdog = zj_watchdog_new(100);
    zj_watchdog_enter(watchdog, 41, "echo");
    zj_watchdog_leave(watchdog);
    zj_watchdog_enter(watchdog, 42, "spin");
    s_spin_ms(5000);
}

//  Jobs that take and give back the loop, each well within the limit,
//  for three times the limit in all.
static void
s_busy(void)
{
    zj_watchdog_t *watchdog = zj_watchdog_new(200);
    for (int turn = 0; turn < 600; turn++) {
        zj_watchdog_enter(watchdog, turn, "echo");
        s_spin_ms(1);
        zj_watchdog_leave(watchdog);
    }
    zj_watchdog_enter(watchdog, 1, "sleep");
    zj_watchdog_enter(watchdog, 2, "sleep"); //  Another entry: starts over
    s_spin_ms(60);
    zj_watchdog_leave(watchdog);
    s_spin_ms(400); //  The loop is idle: nothing holds it
    zj_watchdog_destroy(&watchdog);
    ck_assert_ptr_null(watchdog);
    zj_watchdog_destroy(&watchdog);
}

START_TEST(test_stuck_job_ends_the_process_naming_it)
{
    char line[512];
    int status = s_in_child(s_stuck, line, sizeof line);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), ZJ_WATCHDOG_EXIT);
    ck_assert_msg(strstr(line, "watchdog: loop stuck") &&
                      strstr(line, " job=42 kind=spin;"),
                  "line: %s", line);
}
END_TEST

START_TEST(test_loop_that_gets_itself_back_is_left_alone)
{
    char line[512];
    int status = s_in_child(s_busy, line, sizeof line);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    ck_assert_str_eq(line, "");
}
END_TEST

Suite *
test_watchdog_suite(void)
{
    Suite *suite = suite_create("watchdog");
    TCase *tcase = tcase_create("watchdog");
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_stuck_job_ends_the_process_naming_it);
    tcase_add_test(tcase, test_loop_that_gets_itself_back_is_left_alone);
    suite_add_tcase(suite, tcase);
    return suite;
}
