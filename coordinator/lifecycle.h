//  lifecycle.h - the job state machine of the coordinator.
//  queued -> running -> succeeded | failed | cancelled, and running ->
//  queued for retries, workers that hand their jobs back and lost
//  workers; a job whose worker was lost max_losses times ends failed. Each
//  transition updates the future, the scheduler, the worker's ledger (peers)
//  and the store (inside the turn) together, and a final state resolves the
//  future. It sends nothing: what a caller must tell a worker comes back as a
//  return value. Below the endpoints; above store, futures, scheduler and
//  peers, which it borrows.
#ifndef ZJ_LIFECYCLE_H
#define ZJ_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include "coordinator/deadlines.h"
#include "coordinator/deps.h"
#include "coordinator/futures.h"
#include "coordinator/metrics.h"
#include "coordinator/peers.h"
#include "coordinator/scheduler.h"
#include "coordinator/stats.h"
#include "coordinator/store.h"
#include "coordinator/throttle.h"

typedef struct zj_idmap zj_idmap_t;

#define ZJ_MAX_LOSSES 3 //  Lost workers after which a job fails, by default

//  A running attempt cancelled by the state machine itself (a child of a
//  parent that failed): its worker must be told to stop it.
typedef struct {
    zframe_t *identity; //  The worker's routing id, owned
    int64_t id;         //  The job
} zj_stop_t;

//  What the state machine acts on, all borrowed from its owner.
typedef struct {
    zj_store_t *store;         //  The record
    zj_futures_t *futures;     //  Unfinished jobs and awaits
    zj_scheduler_t *scheduler; //  Queued jobs
    zj_peers_t *peers;         //  Workers, their ledgers, the kinds
    int max_losses;            //  Losses that fail a job; 0 = ZJ_MAX_LOSSES
    int64_t loss_spread_ms;    //  A lost job waits up to this, at random
    zj_deadlines_t *deadlines; //  When running attempts time out
    zj_deps_t *deps;           //  Which jobs wait for which (after)
    zj_deps_t *kids;           //  Which unfinished jobs a parent made
    zlistx_t *stops;           //  zj_stop_t *: attempts workers must end
    zj_idmap_t *progressed;    //  ids whose progress waits to be stored
    bool releasing;            //  Telling waiters that jobs finished
    zj_throttle_t *throttle;   //  Running jobs per kind, and limits; or
                               //  NULL (tests of other parts)
    zj_stats_t *stats;         //  Jobs finished per minute, or NULL
    zj_metrics_t *metrics;     //  Counters since start, or NULL
} zj_lifecycle_t;

//  Creates a job from a SUBMIT entry, inserted queued: a job of a kind no
//  connected worker offers waits until one does. A job with after is held
//  out of the queue until each of those jobs succeeded; if one failed or
//  was cancelled, it ends cancelled, naming that job. Returns its id, or
//  0 if the store refused the row (logged).
int64_t zj_lifecycle_submit(zj_lifecycle_t *self, const zj_job_t *spec);

//  Makes the child spec->call of the running job spec->parent (SPAWN), or
//  finds the one that call made in an earlier attempt of the parent: a
//  parent that runs again gets the same children back. Sets *id_p and
//  returns 0, or returns ZJ_ESTORE (logged).
int zj_lifecycle_spawn(zj_lifecycle_t *self, const zj_job_t *spec,
                       int64_t *id_p);

//  Takes the oldest attempt the state machine cancelled on its own, whose
//  worker must be told (CANCEL): the caller owns it and frees it with
//  zj_stop_destroy. NULL when none is left.
zj_stop_t *zj_lifecycle_next_stop(zj_lifecycle_t *self);
void zj_stop_destroy(zj_stop_t **stop_p);

//  Checks that every id in spec's after names a job: returns 0, or
//  ZJ_ENOTFOUND with the first unknown id in *unknown.
int zj_lifecycle_check_after(zj_lifecycle_t *self, const zj_job_t *spec,
                             int64_t *unknown);

//  Takes back a job zj_lifecycle_submit made in this turn whose SUBMIT is
//  refused after all (no client learned its id): it leaves the scheduler
//  and the futures. The store's row is the caller's (zj_store_undo).
void zj_lifecycle_unsubmit(zj_lifecycle_t *self, int64_t id);

//  Queues a recovered job (read from the store at start, in the state the
//  last run left it: queued or running). Copies job.
void zj_lifecycle_recover(zj_lifecycle_t *self, const zj_job_t *job);

//  After every job was recovered: releases the recovered jobs whose after
//  finished in the last run.
void zj_lifecycle_recovered(zj_lifecycle_t *self);

#define ZJ_PROGRESS_STORE_MS 1000 //  A job's progress stored this often

//  The running attempt of update->id on peer reports its progress
//  (PROGRESS): the job's record holds it at once; the store gets it at
//  most every ZJ_PROGRESS_STORE_MS per job (zj_lifecycle_store_progress
//  writes what waited). A report for another attempt, or from another
//  worker, is dropped. Returns true if it was taken.
bool zj_lifecycle_progress(zj_lifecycle_t *self, const zj_job_t *update,
                           const zj_peer_t *peer, int64_t now_ms);

//  The running attempt of update->id on peer wrote update->log (LOG): it
//  is added to the job's log in the store. A LOG for another attempt, or
//  from another worker, is dropped. Returns true if it was taken.
bool zj_lifecycle_log(zj_lifecycle_t *self, const zj_job_t *update,
                      const zj_peer_t *peer);

//  Stores the progress that waited for its job's ZJ_PROGRESS_STORE_MS.
void zj_lifecycle_store_progress(zj_lifecycle_t *self, int64_t now_ms);

//  queued -> running on peer as a job of klass: the next attempt starts
//  and spends one of the peer's credit (which must be free). The future
//  must be out of the scheduler (zj_scheduler_next took it). A job with a
//  timeout gets a deadline: its timeout plus the grace from now.
void zj_lifecycle_dispatch(zj_lifecycle_t *self, zj_future_t *future,
                           zj_peer_t *peer, zj_class_t klass);

//  Applies one result from the worker named worker (exactly once: the
//  first result of the current attempt, from the worker that attempt was
//  given to, wins; others are dropped and logged). A failed attempt is
//  retried while attempts - losses < max_attempts: a lost attempt does
//  not use up a retry. Returns true if it was applied.
bool zj_lifecycle_result(zj_lifecycle_t *self, const zj_job_t *result,
                         const char *worker);

//  running -> queued, because its worker handed it back (BYE after a
//  graceful stop, a revoked key): the attempt is recorded as failed with
//  why, and it is no loss.
void zj_lifecycle_requeue(zj_lifecycle_t *self, zj_future_t *future,
                          const char *why);

//  running -> queued because its worker was lost (went silent, or came
//  back as a new session) while running it: one more loss, recorded on the
//  job. At max_losses losses the job ends failed instead, with "its worker
//  was lost N times while running it" on the job and on that attempt's
//  row. Returns true if the job ended so. A job one loss short of that
//  bound is at its last chance (zj_future_t.last_chance): a worker runs
//  at most one such job at a time, so that the loss of a worker never
//  fails two jobs at once, and a poison job's last loss fails no job
//  lost beside it before.
bool zj_lifecycle_lose(zj_lifecycle_t *self, zj_future_t *future,
                       const char *why);

//  queued | running -> cancelled; a running attempt is recorded as
//  cancelled. A job that ends failed or cancelled cancels the children it
//  made that have not finished (and theirs), each with a reason naming
//  it; their workers are told through zj_lifecycle_next_stop. Returns the
//  peer that was running it,
//  which the caller must tell to stop (its slot stays taken until that
//  worker reports the job), or NULL if it was queued.
zj_peer_t *zj_lifecycle_cancel(zj_lifecycle_t *self, zj_future_t *future);

//  running -> failed, or queued for a retry if attempts remain (as for a
//  failed result): the attempt's deadline passed at now_ms with no
//  result. The attempt is recorded as failed, "timed out", and counts as
//  the attempt's result, so a later one is dropped. Returns the peer that
//  was running it, which the caller must tell to stop; its slot stays
//  taken until that worker reports the job, and until then the job is
//  never dispatched to that peer again (zj_peer_holds_stopped).
zj_peer_t *zj_lifecycle_expire(zj_lifecycle_t *self, zj_future_t *future,
                               int64_t now_ms);

//  The state machine's invariants over every unfinished job: a queued job
//  is in the scheduler and on no worker, a running one on exactly one
//  worker and out of the scheduler, with a deadline exactly when it has a
//  timeout; the scheduler and the deadlines hold nothing else; and
//  futures, scheduler and peers each hold their own; the throttle counts
//  as many running jobs of each kind as run. For asserts after a
//  turn (ZJ_CHECK_INVARIANTS builds) and tests: O(jobs). Call it between
//  operations, never during an iteration of futures or peers.
bool zj_lifecycle_invariants_hold(const zj_lifecycle_t *self);

#endif
