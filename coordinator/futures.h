//  futures.h - the coordinator's futures: one per unfinished job, and the
//  awaits (AWAIT requests) parked on them.
//
//  A future holds its job's record while the job is unfinished. When the
//  job reaches a final state the future is resolved: every await parked on
//  it receives a copy of the record, and the future is freed at the end of
//  the turn (zj_futures_reap). Awaits collect what they may send (in the
//  ids' order, or as completed) and zj_futures_flush turns that into
//  RESOLVED and DONE messages. Nothing here polls or touches a socket.
//
//  Memory: an await keeps copies of final records only up to
//  ZJ_AWAIT_COPY_BYTES; past that, and whenever its client has no room in
//  the outbox (zj_outbox_room), a settled id is a reference, read again
//  through the loader (zj_futures_set_loader) when its turn to be sent
//  comes. An await whose client has no room pauses, and goes on at a
//  later flush once the client has read.
#ifndef ZJ_FUTURES_H
#define ZJ_FUTURES_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "coordinator/outbox.h"
#include "proto/msg.h"

typedef struct zj_peer zj_peer_t;
typedef struct zj_await zj_await_t;
typedef struct zj_futures zj_futures_t;

//  Bytes of final records one await keeps copies of; more are references.
#define ZJ_AWAIT_COPY_BYTES (1024 * 1024)

//  Reads the final record of job id into *job (the caller clears it).
//  Returns 0, or non-zero when it cannot now (tried again later).
typedef int(zj_final_fn)(void *arg, int64_t id, zj_job_t *job);

typedef struct zj_future_s {
    uint32_t tag;        //  ZJ_FUTURE_TAG while alive
    zj_job_t job;        //  The job's record, owned
    size_t slot;         //  Position in a scheduler heap, or ZJ_HEAP_NONE
    zj_peer_t *peer;     //  Worker running it, NULL unless running
    zlistx_t *waiters;   //  zj_waiter_t *, NULL until someone awaits it
    bool resolved;       //  Final: waiting to be reaped
    bool attempt_done;   //  The current attempt's result is recorded
    bool resume;         //  Next dispatch goes on with the current attempt
    bool last_chance;    //  One loss short of --max-losses: see lifecycle.h
    bool suspended;      //  Awaits jobs on its peer, holding no slot (peers.h)
    bool progress_dirty; //  Progress newer than the store's
    int64_t progress_stored_ms; //  zj_mono_ms() it was last written
    uint32_t waiting; //  Jobs of its after not finished: held while > 0
    //  While ready: its kind's ready jobs in the order they became ready
    //  (scheduler.c), and since when (unix seconds).
    struct zj_future_s *ready_prev, *ready_next;
    double ready_since;
} zj_future_t;

#define ZJ_FUTURE_TAG 0x7a6a6675u

//  Creates an empty table.
zj_futures_t *zj_futures_new(void);

//  Frees every future and await; sets *self_p to NULL.
void zj_futures_destroy(zj_futures_t **self_p);

//  Sets how a settled id that holds no copy of its record is read again.
//  Without a loader every record is copied (tests).
void zj_futures_set_loader(zj_futures_t *self, zj_final_fn *loader, void *arg);

//  Adds a future for job, taking over its strings (*job is zeroed). Its
//  job.kind becomes the table's one copy of that name: never free it.
zj_future_t *zj_futures_add(zj_futures_t *self, zj_job_t *job);

//  Frees a future nobody knows of yet (its job was taken back before its
//  id was sent): unresolved, unawaited, out of the scheduler, on no worker.
void zj_futures_forget(zj_futures_t *self, zj_future_t *future);

//  The unresolved future of job id, or NULL.
zj_future_t *zj_futures_find(zj_futures_t *self, int64_t id);

//  True while an unresolved future runs after job id (id is in its
//  after): retention keeps such a job's row.
bool zj_futures_pinned(const zj_futures_t *self, int64_t id);

//  Number of unresolved futures.
size_t zj_futures_size(const zj_futures_t *self);

//  Marks the future resolved (its job must be final) and hands a copy of
//  the record to every await parked on it. Freed by zj_futures_reap.
void zj_futures_resolve(zj_futures_t *self, zj_future_t *future);

//  Frees the futures resolved since the last reap.
void zj_futures_reap(zj_futures_t *self);

//  The final record of job id if its future was resolved and is not
//  reaped yet, else NULL. Borrowed until the reap.
const zj_job_t *zj_futures_final(zj_futures_t *self, int64_t id);

//  Iterates the unresolved futures (order unspecified).
zj_future_t *zj_futures_first(zj_futures_t *self);
zj_future_t *zj_futures_next(zj_futures_t *self);

//  Starts an await for a client: identity is copied; ids has count
//  entries; deadline_ms is a zj_mono_ms() time, 0 = none.
zj_await_t *zj_futures_await(zj_futures_t *self, zframe_t *identity,
                             uint64_t req, const int64_t *ids, size_t count,
                             bool in_order, int64_t deadline_ms);

//  The same for a worker's running job parent (an io job that awaits its
//  children): no deadline, and the worker's own pace (no room is asked).
//  A parent has one await at a time: an earlier one is released. When
//  its DONE is queued, parent is handed out by zj_futures_next_woken.
zj_await_t *zj_futures_await_parent(zj_futures_t *self, zframe_t *identity,
                                    uint64_t req, const int64_t *ids,
                                    size_t count, bool in_order,
                                    int64_t parent);

//  Frees parent's await, if it has one (its attempt ended). Returns true
//  if it had one.
bool zj_futures_release_parent(zj_futures_t *self, int64_t parent);

//  Takes a parent whose await ended at a flush: true with *parent_p set,
//  or false when none is left.
bool zj_futures_next_woken(zj_futures_t *self, int64_t *parent_p);

//  Parks await's index-th id on future.
void zj_await_park(zj_await_t *await, zj_future_t *future, size_t index);

//  Resolves await's index-th id at once with a final record (a job that
//  finished before the await came). Copies job while the await's copies
//  are under ZJ_AWAIT_COPY_BYTES; job NULL (or over that) settles it as a
//  reference, read through the loader when sent.
void zj_await_settle(zj_await_t *await, size_t index, const zj_job_t *job);

//  Queues in outbox, for their clients, what every await can send now
//  (RESOLVED batches, each at most ZJ_RESOLVED_BYTES or one record), then
//  DONE for the complete ones, which are freed. An await whose client has
//  no room (or whose next record cannot be read) pauses and keeps only
//  references; it goes on at a later flush. Awaits past their deadline at
//  now_ms stop waiting for jobs, send what they hold, then DONE with
//  timed_out.
void zj_futures_flush(zj_futures_t *self, int64_t now_ms, zj_outbox_t *outbox);

//  Frees every await of the client identity (it is gone). Returns how
//  many. O(awaits). Parents' awaits are released by zj_futures_release_parent.
size_t zj_futures_release(zj_futures_t *self, zframe_t *identity);

//  Awaits paused because their client had no room.
size_t zj_futures_paused(const zj_futures_t *self);

//  Releases every await whose client doomed(arg, identity) says to drop
//  (its key was revoked): each gets an ERROR {req, code, reason} instead
//  of anything more, and is freed. Returns the number released.
typedef bool(zj_futures_doomed_fn)(void *arg, zframe_t *identity);
size_t zj_futures_release_if(zj_futures_t *self, zj_futures_doomed_fn *doomed,
                             void *arg, zj_outbox_t *outbox, int code,
                             const char *reason);

//  The earliest await deadline, or 0 if none.
int64_t zj_futures_next_deadline(const zj_futures_t *self);

//  Number of awaits not yet done.
size_t zj_futures_awaits(const zj_futures_t *self);

//  The table's invariants: the by-id map holds each future under its own
//  id; a future is resolved exactly when its job is final and it waits in
//  the resolved list; every parked await slot sits on the unresolved
//  future of its id. For asserts and tests: O(futures + awaited ids).
//  Never during an iteration of the futures.
bool zj_futures_invariants_hold(const zj_futures_t *self);

#endif
