//  worker_ep.h - the workers endpoint: workers that said HELLO (peers),
//  their credit, heartbeats and loss, and dispatch of queued jobs within
//  each worker's credit.
#ifndef ZJ_WORKER_EP_H
#define ZJ_WORKER_EP_H

#include "common/idmap.h"
#include "coordinator/coordinator.h"

struct zj_peer {
    uint32_t tag;            //  ZJ_PEER_TAG while alive
    zframe_t *identity;      //  ROUTER routing id, owned
    char *key;               //  Routing id in hex, the peers table key
    zj_worker_info_t info;   //  As the worker introduced itself, owned
    const char **kinds[2];   //  Kind names per class (io, cpu), borrowed
    size_t kind_count[2];    //  Entries in kinds
    int32_t credit[2];       //  Free slots per class, as we account them
    zj_idmap_t *running;     //  id -> zj_future_t * running there
    int64_t last_seen_ms;    //  zj_mono_ms() of its last message
    uint64_t hello_req;      //  Its HELLO's req: RESULTS numbered up to
                             //  it predate the credit reset, return none
    bool draining;           //  Shutting down: gets no more jobs
};

#define ZJ_PEER_TAG 0x7a6a7072u

//  Handles one decoded message from a worker. Borrows identity and msg.
//  A RESULTS with a req gets an ACK of it, queued for after the commit.
void zj_worker_ep_handle(zj_coordinator_t *self, zframe_t *identity,
                         zj_msg_t *msg);

//  Hands ready jobs to workers with free credit (one JOBS per worker).
void zj_worker_ep_dispatch(zj_coordinator_t *self);

//  Heartbeats to workers and loss of silent ones. Returns the next time
//  (zj_mono_ms) it needs to run.
int64_t zj_worker_ep_tick(zj_coordinator_t *self, int64_t now_ms);

//  Tells the worker running future to stop it.
void zj_worker_ep_stop_job(zj_coordinator_t *self, zj_future_t *future);

//  Drops the worker at identity, if it said HELLO: its key was revoked.
//  Its running jobs go back to the queue.
void zj_worker_ep_revoke(zj_coordinator_t *self, zframe_t *identity);

//  Frees every peer (at shutdown, after a BYE to each).
void zj_worker_ep_close(zj_coordinator_t *self);

#endif
