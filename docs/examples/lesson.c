//  lesson.c - the handlers of docs/async.md, a plugin for zjob-worker:
//      cc -shared -fPIC -I. -o lesson.so docs/examples/lesson.c
//      zjob-worker --plugin ./lesson.so
//  countdown awaits sleeps; fanout submits children and gathers them;
//  first takes the first of its children to finish; forget submits a
//  child it never awaits; blocking holds the loop. All are I/O kinds: they
//  run as coroutines on the worker's loop.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "include/zjob/handler.h"

#define LESSON_MAX_CHILDREN 1000

//  Reads the integer after "key": in args (a flat JSON object), or fallback.
static long
s_arg(const char *args, const char *key, long fallback)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(args, pattern);
    return at ? strtol(at + strlen(pattern), NULL, 10) : fallback;
}

static int
s_fail(zjob_ctx_t *ctx, char **error_p)
{
    *error_p = strdup(zjob_ctx_error(ctx));
    return ZJOB_FAILED;
}

//  {"from": N}: counts down, awaiting 100 ms between numbers. While it
//  sleeps the worker runs other jobs: await yields to the loop.
static int
s_countdown(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    long from = s_arg(args, "from", 3);
    for (long left = from; left > 0; left--)
        if (zjob_sleep(ctx, 100) != 0) {
            *error_p = strdup("cancelled");
            return ZJOB_FAILED;
        }
    char text[64];
    snprintf(text, sizeof text, "{\"counted\": %ld}", from);
    *result_p = strdup(text);
    return 0;
}

//  {"n": N}: N children sleep 1 s each, all at once; gathers them. Done
//  in about 1 s, not N: the children are tasks that run concurrently.
static int
s_fanout(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    long n = s_arg(args, "n", 10);
    if (n < 1 || n > LESSON_MAX_CHILDREN) {
        *error_p = strdup("bad args: fanout takes {\"n\": 1..1000}");
        return ZJOB_FAILED_FINAL;
    }
    //  On the heap: a coroutine's stack is 256 KiB.
    zjob_child_t *children = calloc((size_t) n, sizeof *children);
    int64_t *ids = calloc((size_t) n, sizeof *ids);
    zjob_outcome_t *outcomes = calloc((size_t) n, sizeof *outcomes);
    for (long index = 0; index < n; index++)
        children[index] =
            (zjob_child_t){.kind = "sleep", .args = "{\"seconds\": 1}"};
    int rc = zjob_submit_many(ctx, children, (size_t) n, ids);
    if (rc == 0)
        rc = zjob_gather(ctx, ids, (size_t) n, outcomes);
    long succeeded = 0;
    for (long index = 0; rc == 0 && index < n; index++) {
        succeeded += outcomes[index].succeeded;
        zjob_outcome_clear(&outcomes[index]);
    }
    free(children);
    free(ids);
    free(outcomes);
    if (rc != 0)
        return s_fail(ctx, error_p);
    char text[64];
    snprintf(text, sizeof text, "{\"children\": %ld, \"succeeded\": %ld}", n,
             succeeded);
    *result_p = strdup(text);
    return 0;
}

//  Keeps the first outcome as_completed hands over, and stops the wait.
static int
s_keep_first(void *arg, const zjob_outcome_t *outcome)
{
    char **first_p = arg;
    *first_p = strdup(outcome->result ? outcome->result : "null");
    return 1;
}

//  Three children sleep 0.9, 0.3 and 0.6 s; the first to finish wins:
//  {"first": {"slept": 0.3}}.
static int
s_first(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) args;
    zjob_child_t children[3] = {
        {.kind = "sleep", .args = "{\"seconds\": 0.9}"},
        {.kind = "sleep", .args = "{\"seconds\": 0.3}"},
        {.kind = "sleep", .args = "{\"seconds\": 0.6}"},
    };
    int64_t ids[3];
    char *first = NULL;
    if (zjob_submit_many(ctx, children, 3, ids) != 0 ||
        zjob_as_completed(ctx, ids, 3, s_keep_first, &first) < 0)
        return s_fail(ctx, error_p);
    size_t size = strlen(first) + 16;
    *result_p = malloc(size);
    snprintf(*result_p, size, "{\"first\": %s}", first);
    free(first);
    return 0;
}

//  Submits a child and returns without awaiting it: the child still
//  runs, and the worker logs "never awaited".
static int
s_forget(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) args;
    zjob_child_t child = {.kind = "echo", .args = "{\"forgotten\": true}"};
    int64_t id = 0;
    if (zjob_submit(ctx, &child, &id) != 0)
        return s_fail(ctx, error_p);
    char text[64];
    snprintf(text, sizeof text, "{\"child\": %lld}", (long long) id);
    *result_p = strdup(text);
    return 0;
}

//  Calls usleep instead of awaiting: the whole loop stops for 0.5 s,
//  and the worker warns "loop blocked".
static int
s_blocking(zjob_ctx_t *ctx, const char *args, char **result_p, char **error_p)
{
    (void) ctx;
    (void) args;
    (void) error_p;
    usleep(500 * 1000);
    *result_p = strdup("{\"blocked_ms\": 500}");
    return 0;
}

int
zjob_plugin_init(zjob_registry_t *registry)
{
    return zjob_registry_add(registry, "countdown", ZJOB_CLASS_IO,
                             s_countdown) ||
           zjob_registry_add(registry, "fanout", ZJOB_CLASS_IO, s_fanout) ||
           zjob_registry_add(registry, "first", ZJOB_CLASS_IO, s_first) ||
           zjob_registry_add(registry, "forget", ZJOB_CLASS_IO, s_forget) ||
           zjob_registry_add(registry, "blocking", ZJOB_CLASS_IO, s_blocking);
}
