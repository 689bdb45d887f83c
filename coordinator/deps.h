//  deps.h - which jobs wait for which (SUBMIT's after, zjob submit
//  --after): for each job still awaited, the ids of the jobs that run
//  after it, and the jobs that finished and whose waiters are still to be
//  told, in the order they finished. A leaf: the state machine
//  (lifecycle.c) decides what a finish means for each waiter.
#ifndef ZJ_DEPS_H
#define ZJ_DEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

typedef struct zj_deps zj_deps_t;

//  Creates an empty table.
zj_deps_t *zj_deps_new(void);

//  Frees the table; sets *self_p to NULL. Idempotent.
void zj_deps_destroy(zj_deps_t **self_p);

//  Job waiter runs after job id (both > 0).
void zj_deps_wait(zj_deps_t *self, int64_t waiter, int64_t id);

//  Job waiter no longer waits for job id (it was taken back); no-op if it
//  did not.
void zj_deps_forget(zj_deps_t *self, int64_t waiter, int64_t id);

//  Job id finished in state (final): queues it for zj_deps_next, if any
//  job waits for it (else nothing is left to do).
void zj_deps_finished(zj_deps_t *self, int64_t id, zj_state_t state);

//  Takes the oldest finished job not told yet: writes its id and state,
//  and returns the ids of the jobs that waited for it (count into
//  *count; the caller frees the array, NULL when none) and forgets them.
//  Returns false when no finished job is left to tell.
bool zj_deps_next(zj_deps_t *self, int64_t *id, zj_state_t *state,
                  int64_t **waiters, size_t *count);

//  Jobs with waiters, and finished jobs not told yet.
size_t zj_deps_awaited(const zj_deps_t *self);
size_t zj_deps_pending(const zj_deps_t *self);

#endif
