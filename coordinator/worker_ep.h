//  worker_ep.h - the workers endpoint: HELLO, RESULTS and their ACK,
//  HEARTBEAT, BYE; heartbeats to workers and loss of silent ones; the
//  end of attempts past their deadline; and dispatch of queued jobs
//  within each worker's credit. Below the loop:
//  it acts through the job state machine and the peers table, and queues
//  every message it sends in the outbox.
#ifndef ZJ_WORKER_EP_H
#define ZJ_WORKER_EP_H

#include <czmq.h>

#include "coordinator/lifecycle.h"
#include "coordinator/outbox.h"
#include "proto/msg.h"
#include "proto/policy.h"

//  The endpoint's view of the coordinator, set up by its owner: all
//  borrowed except the heartbeat schedule.
typedef struct {
    zj_lifecycle_t *jobs;      //  The state machine and what it acts on
    zj_outbox_t *outbox;       //  Where replies wait for the commit
    const zj_limits_t *limits; //  What a worker may send us
    int heartbeat_ms;          //  Heartbeat period
    int liveness;              //  Missed periods before "lost"
    int64_t next_heartbeat_ms; //  When workers get the next beat
    int64_t seen_written_ms;   //  When workers.last_seen was last written
} zj_worker_ep_t;

//  Handles one decoded message from a worker's connection at identity,
//  admitted with the CURVE key (Z85, or NULL without CURVE). Borrows all
//  three. Only HELLO is taken from a connection that has not said HELLO;
//  a name held by another live worker is refused (ERROR EINUSE). A
//  RESULTS with a req gets an ACK of it, queued for after the commit.
void zj_worker_ep_handle(zj_worker_ep_t *self, zframe_t *identity,
                         const char *key, zj_msg_t *msg);

//  Tells workers to stop the attempts the state machine cancelled on its
//  own (zj_lifecycle_next_stop): one CANCEL per attempt.
void zj_worker_ep_tell_stops(zj_worker_ep_t *self);

//  Hands ready jobs to workers with free credit (one JOBS per worker).
void zj_worker_ep_dispatch(zj_worker_ep_t *self);

//  Heartbeats to workers, loss of silent ones, and the deadlines passed
//  (as zj_worker_ep_expire). Returns the next time (zj_mono_ms) it needs
//  to run for heartbeats; deadlines come sooner (zj_deadlines_next).
int64_t zj_worker_ep_tick(zj_worker_ep_t *self, int64_t now_ms);

//  Ends every attempt whose deadline passed at now_ms (its timeout plus
//  the grace, with no result): failed or retried by the state machine,
//  and its worker told to cancel it (one CANCEL per worker). O(1) when
//  none passed, O(log n) per attempt ended.
void zj_worker_ep_expire(zj_worker_ep_t *self, int64_t now_ms);

//  Drops the worker at identity, if it said HELLO: its key was revoked.
//  Its running jobs go back to the queue.
void zj_worker_ep_revoke(zj_worker_ep_t *self, zframe_t *identity);

//  Says BYE to every worker and forgets them (at shutdown). Their running
//  jobs stay "running" in the store: the next start recovers them.
void zj_worker_ep_close(zj_worker_ep_t *self);

#endif
