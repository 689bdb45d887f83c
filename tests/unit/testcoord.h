//  testcoord.h - the coordinator's state without its loop or sockets:
//  a store file (testdb's), futures, scheduler, peers and an outbox, with
//  the job state machine and both endpoints wired to them as the loop
//  wires them. For the lifecycle, worker_ep and client_ep suites, which
//  read what the endpoints would send from the outbox.
#ifndef ZJ_TESTCOORD_H
#define ZJ_TESTCOORD_H

#include "coordinator/client_ep.h"
#include "coordinator/worker_ep.h"

typedef struct {
    zj_store_t *store;            //  At zj_testdb_path
    zj_futures_t *futures;        //  Unfinished jobs and awaits
    zj_scheduler_t *scheduler;    //  Queued jobs
    zj_peers_t *peers;            //  Workers
    zj_deadlines_t *deadlines;    //  Running attempts' deadlines (1 s grace)
    zj_deps_t *deps;              //  Which jobs wait for which
    zj_deps_t *kids;              //  Which jobs parents made
    zlistx_t *stops;              //  Attempts cancelled by a parent's end
    zj_idmap_t *progressed;       //  Jobs whose progress waits to be stored
    zj_outbox_t *outbox;          //  What would be sent
    zj_retention_t *retention;    //  Purges only (no --keep)
    zj_limits_t limits;           //  The defaults
    zj_lifecycle_t jobs;          //  The state machine over the above
    zj_worker_ep_t worker_ep;     //  The workers endpoint
    zj_client_ep_t client_ep;     //  The clients endpoint
    zj_schedules_t *schedules;    //  zjob schedule's, loaded from the store
    zj_schedule_ep_t schedule_ep; //  Their requests and fires
    zj_throttle_t *throttle;      //  Limits per kind (none at first)
    zj_stats_t *stats;            //  Jobs finished per minute
    zj_listing_t *listing;        //  LISTs that scan, between turns
} zj_testcoord_t;

//  Opens the store at zj_testdb_path and recovers its unfinished jobs and
//  its schedules, as a starting coordinator does; fails the test if it cannot.
zj_testcoord_t *zj_testcoord_new(void);

//  Forgets the workers as a stopping coordinator does (running jobs stay
//  running in the store), frees everything; sets *self_p to NULL.
void zj_testcoord_destroy(zj_testcoord_t **self_p);

//  Says HELLO as worker name, through the endpoint: it offers echo (io)
//  and sha256 (cpu) with these slots. Drops the WELCOME. Returns the peer.
zj_peer_t *zj_testcoord_hello(zj_testcoord_t *self, const char *name,
                              int32_t io_slots, int32_t cpu_slots);

//  Submits a job of kind through the state machine; returns its id.
int64_t zj_testcoord_submit(zj_testcoord_t *self, const char *kind,
                            int32_t max_attempts);

//  Sends msg from worker name's identity to the workers endpoint.
void zj_testcoord_from_worker(zj_testcoord_t *self, const char *name,
                              zj_msg_t *msg);

//  A RESULTS {req} of one job, for zj_testcoord_from_worker.
zj_msg_t *zj_testcoord_results(uint64_t req, int64_t id, int32_t attempt,
                               zj_state_t state);

//  Takes queued messages out of the outbox until one of type for side;
//  returns it (the caller owns it) or NULL. Those before it are dropped.
zj_msg_t *zj_testcoord_take(zj_testcoord_t *self, zj_side_t side,
                            zj_msg_type_t type);

//  Dispatches through the workers endpoint, checks the state machine's
//  invariants, drops the JOBS messages and returns how many jobs they
//  carried.
size_t zj_testcoord_dispatch(zj_testcoord_t *self);

//  Jobs in state among the unfinished ones.
size_t zj_testcoord_count(zj_testcoord_t *self, zj_state_t state);

//  The state and attempts of job id as the store holds them, committing
//  the turn first.
zj_state_t zj_testcoord_stored(zj_testcoord_t *self, int64_t id,
                               int32_t *attempts);

#endif
