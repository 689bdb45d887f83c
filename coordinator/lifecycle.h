//  lifecycle.h - the job state machine of the coordinator.
//  queued -> running -> succeeded | failed | cancelled, and running ->
//  queued for retries and lost workers. Each transition updates the
//  future, the scheduler, the worker's ledger (peers) and the store
//  (inside the turn) together, and a final state resolves the future.
//  It sends nothing: what a caller must tell a worker comes back as a
//  return value. Below the endpoints; above store, futures, scheduler and
//  peers, which it borrows.
#ifndef ZJ_LIFECYCLE_H
#define ZJ_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/futures.h"
#include "coordinator/peers.h"
#include "coordinator/scheduler.h"
#include "coordinator/store.h"

//  What the state machine acts on, all borrowed from its owner.
typedef struct {
    zj_store_t *store;         //  The record
    zj_futures_t *futures;     //  Unfinished jobs and awaits
    zj_scheduler_t *scheduler; //  Queued jobs
    zj_peers_t *peers;         //  Workers, their ledgers, the kinds
} zj_lifecycle_t;

//  Creates a job from a SUBMIT entry: inserted queued (or failed at once
//  with a reason when no worker ever offered its kind). Returns its id,
//  or 0 if the store refused the row (logged).
int64_t zj_lifecycle_submit(zj_lifecycle_t *self, const zj_job_t *spec);

//  Queues a recovered job (read from the store at start, in the state the
//  last run left it: queued or running). Copies job.
void zj_lifecycle_recover(zj_lifecycle_t *self, const zj_job_t *job);

//  queued -> running on peer as a job of klass: the next attempt starts
//  and spends one of the peer's credit (which must be free). The future
//  must be out of the scheduler (zj_scheduler_next took it).
void zj_lifecycle_dispatch(zj_lifecycle_t *self, zj_future_t *future,
                           zj_peer_t *peer, zj_class_t klass);

//  Applies one result from the worker named worker (exactly once: the
//  first result of the current attempt, from the worker that attempt was
//  given to, wins; others are dropped and logged). Returns true if it was
//  applied.
bool zj_lifecycle_result(zj_lifecycle_t *self, const zj_job_t *result,
                         const char *worker);

//  running -> queued, because its worker was lost or left.
void zj_lifecycle_requeue(zj_lifecycle_t *self, zj_future_t *future,
                          const char *why);

//  queued | running -> cancelled; a running attempt is recorded as
//  cancelled. Returns the peer that was running it,
//  which the caller must tell to stop (its slot stays taken until that
//  worker reports the job), or NULL if it was queued.
zj_peer_t *zj_lifecycle_cancel(zj_lifecycle_t *self, zj_future_t *future);

//  The state machine's invariants over every unfinished job: a queued job
//  is in the scheduler and on no worker, a running one on exactly one
//  worker and out of the scheduler; the scheduler holds nothing else; and
//  futures, scheduler and peers each hold their own. For asserts after a
//  turn (ZJ_CHECK_INVARIANTS builds) and tests: O(jobs). Call it between
//  operations, never during an iteration of futures or peers.
bool zj_lifecycle_invariants_hold(const zj_lifecycle_t *self);

#endif
