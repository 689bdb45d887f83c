//  coro.h - stackful coroutines for I/O jobs, switched with boost.context.
//  Each coroutine runs on its own mmap'd stack with a guard page (as many
//  as vm.max_map_count allows, about 28,000 by default; stacks past that
//  have none, and the log says so once); stacks are pooled and reused. One
//  runtime per worker loop; not thread-safe. The runtime measures how long each
//  resume holds the thread and reports a resume longer than the block threshold
//  through a callback.
#ifndef ZJ_CORO_H
#define ZJ_CORO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zj_coro zj_coro_t;
typedef struct zj_coro_rt zj_coro_rt_t;

//  The body of a coroutine. When it returns the coroutine is finished and
//  its stack goes back to the pool.
typedef void(zj_coro_fn)(void *arg);

//  Called after a resume (or the first run) that held the thread longer
//  than the threshold; arg is the coroutine's arg, held_ms how long.
typedef void(zj_coro_blocked_fn)(void *arg, int64_t held_ms);

//  Called as the thread changes hands: with the arg of a coroutine being
//  resumed, and when it gives the thread back, with the arg of the
//  coroutine that resumed it, or NULL for the loop's own stack.
typedef void(zj_coro_switch_fn)(void *context, void *arg);

//  Creates a runtime. stack_size 0 = 256 KiB usable (plus a guard page).
//  Returns NULL on failure.
zj_coro_rt_t *zj_coro_rt_new(size_t stack_size);

//  Frees the runtime and its pooled stacks. All coroutines must be done.
void zj_coro_rt_destroy(zj_coro_rt_t **self_p);

//  Sets the block threshold (default 100 ms) and callback.
void zj_coro_rt_set_blocked(zj_coro_rt_t *self, int64_t threshold_ms,
                            zj_coro_blocked_fn *blocked);

//  Sets the switch callback (NULL: none) and its context.
void zj_coro_rt_set_switch(zj_coro_rt_t *self, zj_coro_switch_fn *on_switch,
                           void *context);

//  Number of coroutines alive (started, not finished).
size_t zj_coro_rt_alive(const zj_coro_rt_t *self);

//  Creates a coroutine running fn(arg) and runs it at once until its first
//  yield or its end. Returns NULL (and runs nothing) if no stack could be
//  had (mmap or vm.max_map_count exhausted). If the body already finished,
//  the pointer returned is stale: use it only to test for NULL.
zj_coro_t *zj_coro_spawn(zj_coro_rt_t *self, zj_coro_fn *fn, void *arg);

//  The same, and once fn has returned and its stack is back in the pool,
//  runs then(arg) on the stack of whoever resumed it last. Work that
//  follows the body there leaves the coroutine's stack no deeper than
//  the body took it: a pooled stack keeps every page it touched.
zj_coro_t *zj_coro_spawn_then(zj_coro_rt_t *self, zj_coro_fn *fn,
                              zj_coro_fn *then, void *arg);

//  The coroutine running now, or NULL on the loop's own stack.
zj_coro_t *zj_coro_current(zj_coro_rt_t *self);

//  Suspends the running coroutine and returns to whoever resumed it.
//  Must be called from inside a coroutine.
void zj_coro_yield(zj_coro_t *coro);

//  Resumes a suspended coroutine until it yields again or finishes.
//  Must be called from the loop's own stack, never from a coroutine.
//  After it finishes, coro is freed: do not use it again.
void zj_coro_resume(zj_coro_t *coro);

#endif
