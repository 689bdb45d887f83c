//  deadlines.h - when the coordinator gives up on a running attempt: the
//  job's timeout plus a grace after it dispatched the attempt, on its own
//  monotonic clock (so no clock of another host counts). One min-heap
//  by due time over the running jobs that have a timeout, indexed by job
//  id: adding, dropping and taking the first are O(log n); jobs without
//  a timeout are never in it. A leaf module: it changes memory only; the
//  job state machine keeps it in step with the running jobs.
#ifndef ZJ_DEADLINES_H
#define ZJ_DEADLINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zj_deadlines zj_deadlines_t;

//  Creates an empty set whose deadlines fall grace_ms (>= 0) after each
//  timeout.
zj_deadlines_t *zj_deadlines_new(int64_t grace_ms);

//  Frees the set; sets *self_p to NULL.
void zj_deadlines_destroy(zj_deadlines_t **self_p);

//  The grace after each timeout, in ms.
int64_t zj_deadlines_grace(const zj_deadlines_t *self);

//  Job id (> 0, not in the set) was dispatched at now_ms and may take
//  allowed_ms (> 0: its timeout, or more if it may wait its turn on the
//  worker): it is due at now_ms + allowed_ms + the grace, or at
//  INT64_MAX if that is later.
void zj_deadlines_start(zj_deadlines_t *self, int64_t id, int64_t allowed_ms,
                        int64_t now_ms);

//  Job id left running: forgets its deadline. Returns false if it had
//  none (a job without a timeout, or one not running).
bool zj_deadlines_drop(zj_deadlines_t *self, int64_t id);

//  The id of the job whose deadline passed first, if it is at or before
//  now_ms, else 0. It stays in the set until dropped.
int64_t zj_deadlines_expired(const zj_deadlines_t *self, int64_t now_ms);

//  The earliest due time (zj_mono_ms), or 0 if the set is empty.
int64_t zj_deadlines_next(const zj_deadlines_t *self);

//  The due time of job id, or 0 if it has none.
int64_t zj_deadlines_due(const zj_deadlines_t *self, int64_t id);

//  When job id's deadline started (its dispatch), or 0 if it has none.
int64_t zj_deadlines_started(const zj_deadlines_t *self, int64_t id);

//  Number of deadlines held.
size_t zj_deadlines_size(const zj_deadlines_t *self);

//  The set's invariants: the index and the heap hold the same entries,
//  each knows its heap position, and heap order holds. For asserts and
//  tests: O(n).
bool zj_deadlines_invariants_hold(const zj_deadlines_t *self);

#endif
