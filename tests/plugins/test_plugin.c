//  test_plugin.c - job kinds for the end-to-end tests, loaded with
//  zjob-worker --plugin: pid (cpu) names the process that ran it, block
//  (io) holds the loop without yielding, crash (cpu) dies of SIGSEGV,
//  flaky (io) fails the first time it sees a path and succeeds after;
//  poison jobs: segv (io) kills the worker itself with SIGSEGV, spin (io)
//  never yields and never returns; sub-jobs: child (io) submits an echo
//  child and awaits it, orphan (io) submits one and never awaits it,
//  self (io) awaits itself, cpuparent (cpu) tries to submit one;
//  progress and logs: steps (cpu) reports and prints each of its steps,
//  chatty (io) logs lines of 100 bytes up to its bytes, printer (io)
//  prints to stdout around a sleep; attempts: attempt (io) and
//  cpuattempt (cpu) fail until their attempt number reaches "until".
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "include/zjob/handler.h"

static int
s_pid(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) ctx;
    (void) args;
    (void) error_p;
    char text[64];
    snprintf(text, sizeof text, "{\"pid\": %d}", (int) getpid());
    *result_p = strdup(text);
    return 0;
}

static int
s_block(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) ctx;
    (void) args;
    (void) error_p;
    //  Spins 300 ms without yielding: the worker must report it.
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do
        clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000 +
               (now.tv_nsec - start.tv_nsec) / 1000000 <
           300);
    *result_p = strdup("{\"blocked_ms\": 300}");
    return 0;
}

//  Dies by SIGSEGV: as "crash" (CPU) its pool process goes, as "segv"
//  (I/O, on the worker's own loop) the worker process goes with it.
static int
s_crash(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) ctx;
    (void) args;
    (void) result_p;
    (void) error_p;
    raise(SIGSEGV);
    return 1;
}

//  Never yields, never returns: the worker's loop is frozen for good.
static int
s_spin(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) ctx;
    (void) args;
    (void) result_p;
    (void) error_p;
    volatile unsigned long turns = 0;
    for (;;)
        turns++;
    return 1;
}

//  {"path": P}: fails (retryably) and creates P if P does not exist yet.
static int
s_flaky(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) ctx;
    char path[512] = "";
    if (sscanf(args, "{\"path\": \"%511[^\"]\"}", path) != 1) {
        *error_p = strdup("bad args: flaky takes {\"path\": P}");
        return ZJOB_FAILED_FINAL;
    }
    if (access(path, F_OK) != 0) {
        FILE *file = fopen(path, "w");
        if (file)
            fclose(file);
        *error_p = strdup("flaky: first attempt fails");
        return ZJOB_FAILED;
    }
    *result_p = strdup("{\"flaky\": \"recovered\"}");
    return 0;
}

//  Fails with why the last sub-job call failed.
static int
s_call_failed(zjob_ctx_t *ctx, char **error_p)
{
    char text[512];
    snprintf(text, sizeof text, "sub-job call failed: %s", zjob_ctx_error(ctx));
    *error_p = strdup(text);
    return ZJOB_FAILED_FINAL;
}

//  Submits echo with args as a child and awaits it: {"child": id,
//  "state": S, "result": R}.
static int
s_child(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    zjob_child_t child = {.kind = "echo", .args = args};
    int64_t id = 0;
    zjob_outcome_t outcome = {0};
    if (zjob_submit(ctx, &child, &id) != 0 ||
        zjob_await(ctx, id, &outcome) != 0)
        return s_call_failed(ctx, error_p);
    size_t size = 128 + (outcome.result ? strlen(outcome.result) : 4);
    *result_p = malloc(size);
    snprintf(*result_p, size,
             "{\"child\": %lld, \"state\": \"%s\", "
             "\"result\": %s}",
             (long long) id, outcome.state,
             outcome.result ? outcome.result : "null");
    zjob_outcome_clear(&outcome);
    return 0;
}

//  Submits a sleep child of 0.2 s and returns at once: never awaited.
static int
s_orphan(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) args;
    zjob_child_t child = {.kind = "sleep", .args = "{\"seconds\": 0.2}"};
    int64_t id = 0;
    if (zjob_submit(ctx, &child, &id) != 0)
        return s_call_failed(ctx, error_p);
    char text[64];
    snprintf(text, sizeof text, "{\"child\": %lld}", (long long) id);
    *result_p = strdup(text);
    return 0;
}

//  Awaits its own id: refused, it would wait for ever.
static int
s_self(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) args;
    (void) result_p;
    zjob_outcome_t outcome = {0};
    if (zjob_await(ctx, zjob_ctx_job_id(ctx), &outcome) != 0)
        return s_call_failed(ctx, error_p);
    zjob_outcome_clear(&outcome);
    *error_p = strdup("awaited itself");
    return ZJOB_FAILED_FINAL;
}

//  {"steps": N, "ms": M}: N steps of M ms each, in a pool process, each
//  reported (and a burst of 10,000 reports at once first, of which the
//  worker sends a few).
static int
s_steps(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    int steps = 0, ms = 0;
    if (sscanf(args, "{\"steps\": %d, \"ms\": %d}", &steps, &ms) != 2 ||
        steps < 1 || ms < 0) {
        *error_p = strdup("bad args: steps takes {\"steps\": N, \"ms\": M}");
        return ZJOB_FAILED_FINAL;
    }
    for (int burst = 0; burst < 10000; burst++)
        zjob_progress(ctx, 0, steps, "starting");
    for (int step = 1; step <= steps; step++) {
        usleep((useconds_t) ms * 1000);
        char text[32];
        snprintf(text, sizeof text, "step %d", step);
        zjob_progress(ctx, step, steps, text);
        printf("printed %d of %d\n", step, steps);
        fprintf(stderr, "warned %d\n", step);
    }
    char text[32];
    snprintf(text, sizeof text, "{\"steps\": %d}", steps);
    *result_p = strdup(text);
    return 0;
}

//  {"bytes": N}: zjob_log lines of 100 bytes (a number and dots) until
//  N bytes.
static int
s_chatty(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    long bytes = 0;
    if (sscanf(args, "{\"bytes\": %ld}", &bytes) != 1 || bytes < 0) {
        *error_p = strdup("bad args: chatty takes {\"bytes\": N}");
        return ZJOB_FAILED_FINAL;
    }
    for (long line = 0; line * 100 < bytes; line++)
        zjob_log(
            ctx, "%08ld%s", line,
            ".............................................................."
            ".............................");
    *result_p = strdup("{\"chatty\": true}");
    return 0;
}

//  Prints a line, sleeps 100 ms (other jobs print meanwhile), prints
//  another: each goes to this job's log.
static int
s_printer(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) args;
    (void) error_p;
    printf("before %lld\n", (long long) zjob_ctx_job_id(ctx));
    zjob_sleep(ctx, 100);
    fputs("after ", stdout);
    printf("%lld\n", (long long) zjob_ctx_job_id(ctx));
    *result_p = strdup("{\"printed\": true}");
    return 0;
}

//  {"until": N}: fails (retryably) while zjob_ctx_attempt is below N,
//  naming the attempt; then {"attempt": A}.
static int
s_attempt(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    int until = 0;
    if (sscanf(args, "{\"until\": %d}", &until) != 1) {
        *error_p = strdup("bad args: attempt takes {\"until\": N}");
        return ZJOB_FAILED_FINAL;
    }
    char text[64];
    int32_t attempt = zjob_ctx_attempt(ctx);
    if (attempt < until) {
        snprintf(text, sizeof text, "attempt %d is too early", (int) attempt);
        *error_p = strdup(text);
        return ZJOB_FAILED;
    }
    snprintf(text, sizeof text, "{\"attempt\": %d}", (int) attempt);
    *result_p = strdup(text);
    return 0;
}

int
zjob_plugin_init(zjob_registry_t *registry)
{
    if (zjob_registry_add(registry, "pid", ZJOB_CLASS_CPU, s_pid) ||
        zjob_registry_add(registry, "block", ZJOB_CLASS_IO, s_block) ||
        zjob_registry_add(registry, "crash", ZJOB_CLASS_CPU, s_crash) ||
        zjob_registry_add(registry, "flaky", ZJOB_CLASS_IO, s_flaky) ||
        zjob_registry_add(registry, "segv", ZJOB_CLASS_IO, s_crash) ||
        zjob_registry_add(registry, "spin", ZJOB_CLASS_IO, s_spin) ||
        zjob_registry_add(registry, "child", ZJOB_CLASS_IO, s_child) ||
        zjob_registry_add(registry, "orphan", ZJOB_CLASS_IO, s_orphan) ||
        zjob_registry_add(registry, "self", ZJOB_CLASS_IO, s_self) ||
        zjob_registry_add(registry, "cpuparent", ZJOB_CLASS_CPU, s_orphan) ||
        zjob_registry_add(registry, "steps", ZJOB_CLASS_CPU, s_steps) ||
        zjob_registry_add(registry, "chatty", ZJOB_CLASS_IO, s_chatty) ||
        zjob_registry_add(registry, "printer", ZJOB_CLASS_IO, s_printer) ||
        zjob_registry_add(registry, "attempt", ZJOB_CLASS_IO, s_attempt) ||
        zjob_registry_add(registry, "cpuattempt", ZJOB_CLASS_CPU, s_attempt))
        return 1;
    return 0;
}
