//  lifecycle.h - the job state machine of the coordinator.
//  queued -> running -> succeeded | failed | cancelled, and running ->
//  queued for retries and lost workers. Each transition updates the
//  future, the scheduler and the store (inside the turn) together, and a
//  final state resolves the future.
#ifndef ZJ_LIFECYCLE_H
#define ZJ_LIFECYCLE_H

#include "coordinator/coordinator.h"

typedef struct zj_peer zj_peer_t;

//  Creates a job from a SUBMIT entry: inserted queued (or failed at once
//  with a reason when no worker offers its kind). Returns its id, or 0 if
//  the store failed.
int64_t zj_lifecycle_submit(zj_coordinator_t *self, const zj_job_t *spec);

//  Queues a recovered job (read from the store at start, in the state the
//  last run left it: queued or running). Copies job.
void zj_lifecycle_recover(zj_coordinator_t *self, const zj_job_t *job);

//  queued -> running on peer: the next attempt starts.
void zj_lifecycle_dispatch(zj_coordinator_t *self, zj_future_t *future,
                           zj_peer_t *peer);

//  Applies one result from a worker (exactly once: the first result of the
//  current attempt wins; others are dropped and logged). Returns true if
//  it was applied.
bool zj_lifecycle_result(zj_coordinator_t *self, const zj_job_t *result,
                         const char *worker);

//  running -> queued, because its worker was lost or left.
void zj_lifecycle_requeue(zj_coordinator_t *self, zj_future_t *future,
                          const char *why);

//  -> cancelled. Returns the state the job is in afterwards.
zj_state_t zj_lifecycle_cancel(zj_coordinator_t *self, zj_future_t *future);

#endif
