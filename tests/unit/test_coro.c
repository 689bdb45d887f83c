//  test_coro.c - the coroutine runtime (worker/coro.c): switching order,
//  many coroutines alive at once, stack reuse from the pool, block
//  detection, switches reported (for the watchdog), the guard page and a
//  refused stack.
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif

#include "common/duration.h"
#include "tests/unit/suites.h"
#include "worker/coro.h"

//  What a test body sees: the runtime and a place to write to.
typedef struct {
    zj_coro_rt_t *rt;    //  The runtime under test
    int *trace;          //  Steps recorded in order, or NULL
    size_t *trace_count; //  Entries in trace
    int id;              //  This coroutine's id in the trace
    int yields;          //  How many times to yield
    char *stack_seen;    //  Address of a local in the body
    zj_coro_t *self;     //  zj_coro_current inside the body
    int64_t spin_ms;     //  Busy-wait this long after the first yield
} s_body_t;

static void
s_trace(s_body_t *body, int step)
{
    if (body->trace)
        body->trace[(*body->trace_count)++] = body->id * 10 + step;
}

//  Records a step, yields body->yields times recording each return.
static void
s_body_yielding(void *arg)
{
    s_body_t *body = arg;
    //  The frame, not a local: under ASan a local may live on a fake stack.
    body->stack_seen = __builtin_frame_address(0);
    body->self = zj_coro_current(body->rt);
    s_trace(body, 0);
    for (int step = 1; step <= body->yields; step++) {
        zj_coro_yield(body->self);
        s_trace(body, step);
    }
}

START_TEST(test_coro_yield_resume_order)
{
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    ck_assert_ptr_nonnull(rt);
    int trace[32];
    size_t count = 0;
    s_body_t bodies[3];
    zj_coro_t *coros[3];
    for (int id = 0; id < 3; id++) {
        bodies[id] = (s_body_t){.rt = rt,
                                .trace = trace,
                                .trace_count = &count,
                                .id = id + 1,
                                .yields = 2};
        coros[id] = zj_coro_spawn(rt, s_body_yielding, &bodies[id]);
        ck_assert_ptr_nonnull(coros[id]);
        ck_assert_ptr_eq(coros[id], bodies[id].self);
    }
    ck_assert_ptr_null(zj_coro_current(rt));
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 3);
    //  Resume in a different order than spawned: 3, 1, 2, then 2, 1, 3.
    int order[] = {2, 0, 1, 1, 0, 2};
    for (size_t index = 0; index < 6; index++)
        zj_coro_resume(coros[order[index]]);
    int expected[] = {10, 20, 30, 31, 11, 21, 22, 12, 32};
    ck_assert_uint_eq(count, 9);
    for (size_t index = 0; index < 9; index++)
        ck_assert_int_eq(trace[index], expected[index]);
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 0);
    zj_coro_rt_destroy(&rt);
    ck_assert_ptr_null(rt);
    zj_coro_rt_destroy(&rt);
}
END_TEST

//  What s_then saw, when spawn_then called it.
typedef struct {
    s_body_t *body;    //  The body it follows
    int calls;         //  Times called
    bool on_coroutine; //  zj_coro_current was not NULL
    size_t alive;      //  zj_coro_rt_alive at the call
    size_t body_steps; //  Steps the body had traced by then
} s_then_t;

static s_then_t s_then_seen;

static void
s_then(void *arg)
{
    s_body_t *body = arg;
    s_then_seen.body = body;
    s_then_seen.calls++;
    s_then_seen.on_coroutine = zj_coro_current(body->rt) != NULL;
    s_then_seen.alive = zj_coro_rt_alive(body->rt);
    s_then_seen.body_steps = *body->trace_count;
}

//  then runs once, after the body's last step, off the coroutine, with
//  its stack already released.
START_TEST(test_coro_then_runs_on_the_resumer_after_the_body)
{
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    int trace[8];
    size_t count = 0;
    s_body_t body = {
        .rt = rt, .trace = trace, .trace_count = &count, .id = 1, .yields = 1};
    s_then_seen = (s_then_t){0};
    zj_coro_t *coro = zj_coro_spawn_then(rt, s_body_yielding, s_then, &body);
    ck_assert_ptr_nonnull(coro);
    ck_assert_int_eq(s_then_seen.calls, 0);
    zj_coro_resume(coro);
    ck_assert_int_eq(s_then_seen.calls, 1);
    ck_assert_ptr_eq(s_then_seen.body, &body);
    ck_assert(!s_then_seen.on_coroutine);
    ck_assert_uint_eq(s_then_seen.alive, 0);
    ck_assert_uint_eq(s_then_seen.body_steps, 2);
    //  A body that never yields has then run inside spawn.
    body.yields = 0;
    ck_assert_ptr_nonnull(
        zj_coro_spawn_then(rt, s_body_yielding, s_then, &body));
    ck_assert_int_eq(s_then_seen.calls, 2);
    zj_coro_rt_destroy(&rt);
}
END_TEST

START_TEST(test_coro_ten_thousand_alive)
{
    enum { COUNT = 10000 };
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_body_t *bodies = calloc(COUNT, sizeof *bodies);
    ck_assert_ptr_nonnull(bodies);
    for (int index = 0; index < COUNT; index++) {
        bodies[index] = (s_body_t){.rt = rt, .yields = 1};
        ck_assert_ptr_nonnull(
            zj_coro_spawn(rt, s_body_yielding, &bodies[index]));
    }
    ck_assert_uint_eq(zj_coro_rt_alive(rt), COUNT);
    //  Every coroutine has a stack of its own.
    for (int index = 1; index < COUNT; index++)
        ck_assert_ptr_ne(bodies[index].stack_seen,
                         bodies[index - 1].stack_seen);
    for (int index = COUNT - 1; index >= 0; index--)
        zj_coro_resume(bodies[index].self);
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 0);
    free(bodies);
    zj_coro_rt_destroy(&rt);
}
END_TEST

//  More than vm.max_map_count allows with a guard page each (about
//  32,000): the stacks past the guard budget go without one.
START_TEST(test_coro_forty_thousand_alive_past_the_map_limit)
{
    enum { COUNT = 40000 };
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_body_t *bodies = calloc(COUNT, sizeof *bodies);
    ck_assert_ptr_nonnull(bodies);
    for (int index = 0; index < COUNT; index++) {
        bodies[index] = (s_body_t){.rt = rt, .yields = 1};
        ck_assert_msg(zj_coro_spawn(rt, s_body_yielding, &bodies[index]),
                      "spawn %d failed", index);
    }
    ck_assert_uint_eq(zj_coro_rt_alive(rt), COUNT);
    for (int index = 0; index < COUNT; index++)
        zj_coro_resume(bodies[index].self);
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 0);
    free(bodies);
    zj_coro_rt_destroy(&rt);
}
END_TEST

static size_t
s_mapping_count(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(maps);
    size_t lines = 0;
    char line[512];
    while (fgets(line, sizeof line, maps))
        lines++;
    fclose(maps);
    return lines;
}

//  Finds the mapping that holds addr; sets *below to the end of the one
//  before it and perms to the earlier mapping's permissions.
static bool
s_find_mapping(const void *addr, uintptr_t *start, uintptr_t *below_end,
               char *below_perms)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(maps);
    char line[512];
    uintptr_t prev_end = 0;
    char prev_perms[8] = "";
    bool found = false;
    while (!found && fgets(line, sizeof line, maps)) {
        unsigned long low, high;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &low, &high, perms) != 3)
            continue;
        if ((uintptr_t) addr >= low && (uintptr_t) addr < high) {
            *start = low;
            *below_end = prev_end;
            strcpy(below_perms, prev_perms);
            found = true;
        }
        prev_end = high;
        strcpy(prev_perms, perms);
    }
    fclose(maps);
    return found;
}

START_TEST(test_coro_stack_reused)
{
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    s_body_t body = {.rt = rt, .yields = 1};
    zj_coro_resume(zj_coro_spawn(rt, s_body_yielding, &body));
    char *first_stack = body.stack_seen;
    size_t maps_before = s_mapping_count();
    size_t reused = 0;
    for (int round = 0; round < 100000; round++) {
        body.stack_seen = NULL;
        zj_coro_t *coro = zj_coro_spawn(rt, s_body_yielding, &body);
        ck_assert_ptr_nonnull(coro);
        zj_coro_resume(coro);
        reused += body.stack_seen == first_stack;
    }
    //  The pool is LIFO: every run got the very same stack back.
    ck_assert_uint_eq(reused, 100000);
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 0);
    //  No stack leaked: a leak would add two mappings per round. (Slack
    //  for the sanitizers' own allocator mappings.)
    ck_assert_uint_le(s_mapping_count(), maps_before + 16);
    //  The finished stack stays mapped in the pool (a fresh mmap at the
    //  same address would look the same from inside) until destroy.
    uintptr_t start = 0, below_end = 0;
    char below_perms[8] = "";
    ck_assert(s_find_mapping(first_stack, &start, &below_end, below_perms));
    ck_assert_str_eq(below_perms, "---p");
    zj_coro_rt_destroy(&rt);
    ck_assert(!s_find_mapping(first_stack, &start, &below_end, below_perms));
}
END_TEST

//  --- Block detection

typedef struct {
    void *arg;       //  Last arg reported
    int64_t held_ms; //  Last duration reported
    int calls;       //  Reports so far
} s_blocked_t;

static s_blocked_t s_blocked;

static void
s_on_blocked(void *arg, int64_t held_ms)
{
    s_blocked.arg = arg;
    s_blocked.held_ms = held_ms;
    s_blocked.calls++;
}

//  Yields once, then holds the thread for spin_ms without yielding.
static void
s_body_spinning(void *arg)
{
    s_body_t *body = arg;
    body->self = zj_coro_current(body->rt);
    zj_coro_yield(body->self);
    int64_t until = zj_mono_us() + body->spin_ms * 1000;
    while (zj_mono_us() < until)
        ;
}

START_TEST(test_coro_blocked_reported)
{
    s_blocked = (s_blocked_t){0};
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    zj_coro_rt_set_blocked(rt, 20, s_on_blocked);
    s_body_t quick = {.rt = rt, .yields = 3};
    zj_coro_t *coro = zj_coro_spawn(rt, s_body_yielding, &quick);
    for (int step = 0; step < 3; step++)
        zj_coro_resume(coro);
    ck_assert_int_eq(s_blocked.calls, 0);

    s_body_t slow = {.rt = rt, .spin_ms = 60};
    coro = zj_coro_spawn(rt, s_body_spinning, &slow);
    ck_assert_int_eq(s_blocked.calls, 0); //  The first run yields at once
    zj_coro_resume(coro);
    ck_assert_int_eq(s_blocked.calls, 1);
    ck_assert_ptr_eq(s_blocked.arg, &slow);
    ck_assert_int_ge(s_blocked.held_ms, 20);
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 0);
    zj_coro_rt_destroy(&rt);
}
END_TEST

//  --- Switches, as the watchdog sees them

//  Each switch callback's arg in order (NULL: the loop's own stack).
typedef struct {
    void *args[16]; //  What each call said
    size_t count;   //  Calls so far
} s_switches_t;

static void
s_on_switch(void *context, void *arg)
{
    s_switches_t *switches = context;
    ck_assert_uint_lt(switches->count, 16);
    switches->args[switches->count++] = arg;
}

START_TEST(test_coro_switches_reported)
{
    s_switches_t switches = {0};
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    zj_coro_rt_set_switch(rt, s_on_switch, &switches);
    s_body_t body = {.rt = rt, .yields = 1};
    zj_coro_t *coro = zj_coro_spawn(rt, s_body_yielding, &body);
    ck_assert_uint_eq(switches.count, 2); //  Its first run, and back
    zj_coro_resume(coro);                 //  To its end
    ck_assert_uint_eq(switches.count, 4);
    void *expected[] = {&body, NULL, &body, NULL};
    for (size_t index = 0; index < 4; index++)
        ck_assert_ptr_eq(switches.args[index], expected[index]);
    zj_coro_rt_set_switch(rt, NULL, NULL);
    coro = zj_coro_spawn(rt, s_body_yielding, &body);
    zj_coro_resume(coro);
    ck_assert_uint_eq(switches.count, 4);
    zj_coro_rt_destroy(&rt);
}
END_TEST

//  --- Guard page

//  Checks there is a PROT_NONE page right under this stack, then, if
//  body->yields says so, writes into it.
static void
s_body_guard(void *arg)
{
    s_body_t *body = arg;
    uintptr_t start = 0, below_end = 0;
    char below_perms[8] = "";
    ck_assert(s_find_mapping(__builtin_frame_address(0), &start, &below_end,
                             below_perms));
    ck_assert_uint_eq(below_end, start);
    ck_assert_str_eq(below_perms, "---p");
    if (body->yields) {
        //  Let the fault kill us, whatever ASan would make of it.
        signal(SIGSEGV, SIG_DFL);
        volatile char *guard = (volatile char *) start - 1;
        *guard = 1;
    }
}

START_TEST(test_coro_guard_page_mapped)
{
    zj_coro_rt_t *rt = zj_coro_rt_new(64 * 1024);
    s_body_t body = {.rt = rt, .yields = 0};
    ck_assert_ptr_nonnull(zj_coro_spawn(rt, s_body_guard, &body));
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 0);
    zj_coro_rt_destroy(&rt);
}
END_TEST

START_TEST(test_coro_guard_page_faults)
{
    zj_coro_rt_t *rt = zj_coro_rt_new(64 * 1024);
    s_body_t body = {.rt = rt, .yields = 1};
    zj_coro_spawn(rt, s_body_guard, &body);
    ck_abort_msg("the write into the guard page did not fault");
}
END_TEST

//  --- A stack the kernel refuses

static void
s_body_flag(void *arg)
{
    *(bool *) arg = true;
}

START_TEST(test_coro_spawn_fails_without_memory)
{
#ifdef RUNNING_ON_VALGRIND
    //  valgrind cannot live under a tight RLIMIT_AS itself.
    if (RUNNING_ON_VALGRIND)
        return;
#endif
    zj_coro_rt_t *rt = zj_coro_rt_new(0);
    struct rlimit saved;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &saved), 0);
    //  Limit the address space to what is mapped now: a new stack cannot
    //  be had, so spawn must fail without running the body.
    FILE *statm = fopen("/proc/self/statm", "r");
    ck_assert_ptr_nonnull(statm);
    unsigned long pages = 0;
    ck_assert_int_eq(fscanf(statm, "%lu", &pages), 1);
    fclose(statm);
    struct rlimit tight = saved;
    tight.rlim_cur = (rlim_t) pages * 4096 + 64 * 1024;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &tight), 0);
    bool ran = false;
    zj_coro_t *coro = zj_coro_spawn(rt, s_body_flag, &ran);
    int error = errno;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &saved), 0);
    ck_assert_ptr_null(coro);
    ck_assert_int_eq(error, ENOMEM);
    ck_assert(!ran);
    ck_assert_uint_eq(zj_coro_rt_alive(rt), 0);

    ck_assert_ptr_nonnull(zj_coro_spawn(rt, s_body_flag, &ran));
    ck_assert(ran);
    zj_coro_rt_destroy(&rt);
}
END_TEST

Suite *
test_coro_suite(void)
{
    Suite *suite = suite_create("coro");
    TCase *tcase = tcase_create("coro");
    tcase_set_timeout(tcase, 60);
    tcase_add_test(tcase, test_coro_yield_resume_order);
    tcase_add_test(tcase, test_coro_switches_reported);
    tcase_add_test(tcase, test_coro_then_runs_on_the_resumer_after_the_body);
    tcase_add_test(tcase, test_coro_ten_thousand_alive);
    tcase_add_test(tcase, test_coro_forty_thousand_alive_past_the_map_limit);
    tcase_add_test(tcase, test_coro_stack_reused);
    tcase_add_test(tcase, test_coro_blocked_reported);
    tcase_add_test(tcase, test_coro_guard_page_mapped);
    tcase_add_test_raise_signal(tcase, test_coro_guard_page_faults, SIGSEGV);
    tcase_add_test(tcase, test_coro_spawn_fails_without_memory);
    suite_add_tcase(suite, tcase);
    return suite;
}
