//  coro.c - stackful coroutines on boost.context's fcontext (see coro.h).
//  Each coroutine owns one mmap'd stack with a PROT_NONE guard page at its
//  low end; the zj_coro_t itself lives at the top of that stack, so a spawn
//  from the pool costs no malloc and no system call. Finished stacks go
//  back to a bounded LIFO pool. Under AddressSanitizer every switch is
//  announced with the fiber annotations; under valgrind stacks are
//  registered so that memcheck follows the switches.
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/log.h"
#include "worker/coro.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define ZJ_CORO_ASAN 1
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define ZJ_CORO_VALGRIND 1
#endif
#endif

//  boost.context's C entry points (boost/context/detail/fcontext.hpp
//  declares them extern "C"); the library is -lboost_context.
typedef void *zj_fcontext_t;
typedef struct {
    zj_fcontext_t fctx; //  The context that switched to us
    void *data;         //  The pointer it passed
} zj_transfer_t;
extern zj_transfer_t jump_fcontext(zj_fcontext_t const to, void *vp);
extern zj_fcontext_t make_fcontext(void *sp, size_t size,
                                   void (*fn)(zj_transfer_t));

#define ZJ_CORO_TAG 0x5a4a4343 //  "ZJCC": a live coroutine
#define ZJ_CORO_STACK_DEFAULT (256 * 1024)
#define ZJ_CORO_POOL_MAX 1024    //  Idle stacks kept for reuse
#define ZJ_CORO_THRESHOLD_MS 100 //  Default block threshold
#define ZJ_CORO_MAPS_SPARE 8192  //  Memory maps left to the rest of us

struct zj_coro {
    uint32_t tag;            //  ZJ_CORO_TAG while alive, 0 when pooled
    zj_coro_rt_t *rt;        //  Owning runtime
    zj_coro_fn *fn;          //  Body
    zj_coro_fn *then;        //  Runs off the stack after the body, or NULL
    void *arg;               //  Body's argument
    zj_fcontext_t context;   //  Where to continue it, while suspended
    zj_fcontext_t resumer;   //  Where a yield goes back to, while running
    zj_coro_t *outer;        //  The current coroutine before this resume
    bool running;            //  Between switch-in and switch-out
    bool done;               //  The body returned
    char *mapping;           //  Start of the mmap'd region (guard page)
    bool guarded;            //  The region starts with a guard page
    size_t mapping_size;     //  Bytes mapped, guard included
    char *stack;             //  Lowest usable byte (just above the guard)
    size_t stack_size;       //  Usable bytes, from stack to this struct
    zj_coro_t *next_idle;    //  Pool link while idle
    void *fake_stack;        //  ASan: our fake stack while suspended
    const void *resumer_low; //  ASan: the resumer's stack bottom
    size_t resumer_size;     //  ASan: the resumer's stack size
    unsigned valgrind_id;    //  valgrind's id for this stack
};

struct zj_coro_rt {
    size_t stack_size;           //  Usable bytes per stack, page-rounded
    size_t page_size;            //  System page size (the guard's size)
    size_t alive;                //  Spawned and not finished
    zj_coro_t *current;          //  Running coroutine, NULL on the loop
    zj_coro_t *idle;             //  Pool of finished stacks (LIFO)
    size_t idle_count;           //  Entries in idle
    size_t guarded;              //  Stacks mapped with a guard page
    size_t guard_budget;         //  Most of those vm.max_map_count allows
    bool unguarded_told;         //  The log said stacks go unguarded now
    int64_t threshold_ms;        //  Block threshold
    zj_coro_blocked_fn *blocked; //  Block callback, NULL = not measured
    zj_coro_switch_fn *switched; //  Switch callback, or NULL
    void *switch_context;        //  Its context
};

//  --- Switch annotations: no-ops unless built with ASan.

static void
s_start_switch(void **fake_save, const void *low, size_t size)
{
#ifdef ZJ_CORO_ASAN
    __sanitizer_start_switch_fiber(fake_save, low, size);
#else
    (void) fake_save, (void) low, (void) size;
#endif
}

static void
s_finish_switch(void *fake, const void **low_old, size_t *size_old)
{
#ifdef ZJ_CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, low_old, size_old);
#else
    (void) fake, (void) low_old, (void) size_old;
#endif
}

//  A guard page splits a stack's mapping in two, and the kernel allows
//  vm.max_map_count mappings per process (65530 by default): guard at
//  most half of what is left once the rest of the process has its share.
static size_t
s_guard_budget(void)
{
    long maps = 65530;
    FILE *file = fopen("/proc/sys/vm/max_map_count", "r");
    if (file) {
        if (fscanf(file, "%ld", &maps) != 1)
            maps = 65530;
        fclose(file);
    }
    return maps > ZJ_CORO_MAPS_SPARE ? (size_t) (maps - ZJ_CORO_MAPS_SPARE) / 2
                                     : 0;
}

zj_coro_rt_t *
zj_coro_rt_new(size_t stack_size)
{
    zj_coro_rt_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    long page = sysconf(_SC_PAGESIZE);
    self->page_size = page > 0 ? (size_t) page : 4096;
    if (stack_size == 0)
        stack_size = ZJ_CORO_STACK_DEFAULT;
    //  Room for the struct at the top and a few frames below it.
    if (stack_size < 4 * self->page_size)
        stack_size = 4 * self->page_size;
    size_t mask = self->page_size - 1;
    self->stack_size = (stack_size + mask) & ~mask;
    self->threshold_ms = ZJ_CORO_THRESHOLD_MS;
    self->guard_budget = s_guard_budget();
    return self;
}

static void
s_stack_unmap(zj_coro_rt_t *self, zj_coro_t *coro)
{
    if (coro->guarded)
        self->guarded--;
#ifdef ZJ_CORO_VALGRIND
    VALGRIND_STACK_DEREGISTER(coro->valgrind_id);
#endif
    munmap(coro->mapping, coro->mapping_size);
}

void
zj_coro_rt_destroy(zj_coro_rt_t **self_p)
{
    assert(self_p);
    zj_coro_rt_t *self = *self_p;
    if (self == NULL)
        return;
    //  A suspended coroutine's stack may hold handles a loop still uses.
    assert(self->alive == 0);
    assert(self->current == NULL);
    while (self->idle) {
        zj_coro_t *coro = self->idle;
        self->idle = coro->next_idle;
        s_stack_unmap(self, coro);
    }
    free(self);
    *self_p = NULL;
}

void
zj_coro_rt_set_blocked(zj_coro_rt_t *self, int64_t threshold_ms,
                       zj_coro_blocked_fn *blocked)
{
    assert(self);
    self->threshold_ms = threshold_ms < 0 ? 0 : threshold_ms;
    self->blocked = blocked;
}

void
zj_coro_rt_set_switch(zj_coro_rt_t *self, zj_coro_switch_fn *on_switch,
                      void *context)
{
    assert(self);
    self->switched = on_switch;
    self->switch_context = context;
}

size_t
zj_coro_rt_alive(const zj_coro_rt_t *self)
{
    assert(self);
    return self->alive;
}

//  Maps a fresh stack: [guard page][usable stack ... zj_coro_t], or past
//  the guard budget [usable stack ... zj_coro_t] alone (such mappings
//  merge with their neighbours, so they cost no map each). Returns NULL
//  with errno set when the kernel refuses (ENOMEM).
static zj_coro_t *
s_stack_map(zj_coro_rt_t *self)
{
    bool guarded = self->guarded < self->guard_budget;
    if (!guarded && !self->unguarded_told) {
        self->unguarded_told = true;
        zj_log_warning("coroutines over %zu: stacks mapped from now on have "
                       "no guard page (vm.max_map_count)",
                       self->guard_budget);
    }
    size_t guard = guarded ? self->page_size : 0;
    size_t size = guard + self->stack_size;
    char *mapping =
        mmap(NULL, size, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED)
        return NULL;
    if (guarded && mprotect(mapping, guard, PROT_NONE) != 0) {
        int saved = errno;
        munmap(mapping, size);
        errno = saved;
        return NULL;
    }
    //  The struct sits at the top, 64-byte aligned; the stack grows down
    //  from just below it.
    uintptr_t top = (uintptr_t) (mapping + size) - sizeof(zj_coro_t);
    zj_coro_t *coro = (zj_coro_t *) (top & ~(uintptr_t) 63);
    coro->mapping = mapping;
    coro->mapping_size = size;
    coro->guarded = guarded;
    self->guarded += guarded;
    coro->stack = mapping + guard;
    coro->stack_size = (size_t) ((char *) coro - coro->stack);
#ifdef ZJ_CORO_VALGRIND
    coro->valgrind_id =
        VALGRIND_STACK_REGISTER(coro->stack, coro->stack + coro->stack_size);
#endif
    return coro;
}

//  Returns a stack to the pool, or unmaps it when the pool is full.
static void
s_release(zj_coro_rt_t *self, zj_coro_t *coro)
{
    assert(self->alive > 0);
    self->alive--;
    coro->tag = 0;
    if (self->idle_count >= ZJ_CORO_POOL_MAX) {
        s_stack_unmap(self, coro);
        return;
    }
    coro->next_idle = self->idle;
    self->idle = coro;
    self->idle_count++;
}

//  First frame on a new stack: runs the body, then leaves for good.
static void
s_entry(zj_transfer_t transfer)
{
    zj_coro_t *self = transfer.data;
    self->resumer = transfer.fctx;
    s_finish_switch(NULL, &self->resumer_low, &self->resumer_size);
    self->fn(self->arg);
    self->done = true;
    //  NULL: this fiber's fake stack can go, we never come back.
    s_start_switch(NULL, self->resumer_low, self->resumer_size);
    jump_fcontext(self->resumer, self);
    abort(); //  A finished coroutine is never resumed
}

zj_coro_t *
zj_coro_spawn(zj_coro_rt_t *self, zj_coro_fn *fn, void *arg)
{
    return zj_coro_spawn_then(self, fn, NULL, arg);
}

zj_coro_t *
zj_coro_spawn_then(zj_coro_rt_t *self, zj_coro_fn *fn, zj_coro_fn *then,
                   void *arg)
{
    assert(self);
    assert(fn);
    zj_coro_t *coro = self->idle;
    if (coro) {
        self->idle = coro->next_idle;
        self->idle_count--;
#ifdef ZJ_CORO_ASAN
        //  The last body's never-returning first frame left its redzones.
        ASAN_UNPOISON_MEMORY_REGION(coro->stack, coro->stack_size);
#endif
    } else {
        coro = s_stack_map(self);
        if (coro == NULL)
            return NULL;
    }
    coro->tag = ZJ_CORO_TAG;
    coro->rt = self;
    coro->fn = fn;
    coro->then = then;
    coro->arg = arg;
    coro->running = false;
    coro->done = false;
    coro->outer = NULL;
    coro->next_idle = NULL;
    coro->fake_stack = NULL;
    coro->context = make_fcontext((char *) coro, coro->stack_size, s_entry);
    self->alive++;
    zj_coro_resume(coro);
    return coro;
}

zj_coro_t *
zj_coro_current(zj_coro_rt_t *self)
{
    assert(self);
    return self->current;
}

void
zj_coro_yield(zj_coro_t *self)
{
    assert(self && self->tag == ZJ_CORO_TAG);
    assert(self->running && self->rt->current == self);
    s_start_switch(&self->fake_stack, self->resumer_low, self->resumer_size);
    zj_transfer_t transfer = jump_fcontext(self->resumer, NULL);
    self->resumer = transfer.fctx;
    s_finish_switch(self->fake_stack, &self->resumer_low, &self->resumer_size);
}

//  Reports a switch-in that held the thread past the threshold.
static void
s_check_blocked(zj_coro_rt_t *self, void *arg, int64_t started_us)
{
    int64_t held_us = zj_mono_us() - started_us;
    if (held_us > self->threshold_ms * 1000)
        self->blocked(arg, held_us / 1000);
}

void
zj_coro_resume(zj_coro_t *self)
{
    assert(self && self->tag == ZJ_CORO_TAG);
    assert(!self->running && !self->done);
    zj_coro_rt_t *rt = self->rt;
    self->outer = rt->current;
    rt->current = self;
    self->running = true;
    int64_t started_us = rt->blocked ? zj_mono_us() : 0;
    if (rt->switched)
        rt->switched(rt->switch_context, self->arg);

    void *fake_stack = NULL;
    s_start_switch(&fake_stack, self->stack, self->stack_size);
    zj_transfer_t transfer = jump_fcontext(self->context, self);
    s_finish_switch(fake_stack, NULL, NULL);

    self->context = transfer.fctx;
    self->running = false;
    rt->current = self->outer;
    if (rt->switched)
        rt->switched(rt->switch_context, rt->current ? rt->current->arg : NULL);
    if (rt->blocked)
        s_check_blocked(rt, self->arg, started_us);
    //  We are back on our own stack: now the finished one may be reused,
    //  and the struct on it may be gone once released.
    if (self->done) {
        zj_coro_fn *then = self->then;
        void *arg = self->arg;
        s_release(rt, self);
        if (then)
            then(arg);
    }
}
