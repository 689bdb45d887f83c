//  coordinator.h - the coordinator: one event loop that owns every future.
//  It binds a ROUTER for clients and one for workers, persists jobs to the
//  store with group commit, hands jobs to workers within their credit and
//  resolves futures when results come back. main.c builds one from flags.
//  The top of the coordinator's calls: the loop calls the endpoints
//  (client_ep.c, worker_ep.c), which call the job state machine
//  (lifecycle.c), which calls the leaf modules; nothing calls back up.
#ifndef ZJ_COORDINATOR_H
#define ZJ_COORDINATOR_H

#include <czmq.h>
#include <stdbool.h>

#include "coordinator/store.h"
#include "coordinator/store_lock.h"
#include "proto/policy.h"

#define ZJ_CLIENTS_ENDPOINT "tcp://127.0.0.1:7700"
#define ZJ_WORKERS_ENDPOINT "tcp://127.0.0.1:7701"
#define ZJ_HEARTBEAT_MS 1000       //  Heartbeat period, both ways
#define ZJ_LIVENESS 3              //  Silent periods before a peer is lost
#define ZJ_TURN_BUDGET 512         //  Messages read per socket per loop turn
#define ZJ_STORE_GONE_LOG_MS 10000 //  How often "store gone" is logged again

typedef struct {
    const char *clients_endpoint; //  Where clients connect
    const char *workers_endpoint; //  Where workers connect
    const char *db_path;          //  SQLite file
    zj_sync_t sync;               //  synchronous=NORMAL or FULL
    int heartbeat_ms;             //  Heartbeat period
    int liveness;                 //  Missed periods before "lost"
    int max_losses;               //  Lost workers that fail a job
    int64_t timeout_grace_ms;     //  Past a job's timeout; < 0: liveness
                                  //  heartbeat periods
    const char *key_path;         //  Our secret key file: CURVE on, or NULL
    const char *worker_keys;      //  Folder of the workers' public keys
    const char *client_keys;      //  Folder of the clients' public keys
    zj_limits_t limits;           //  What a peer may send us
    int64_t keep_ms;              //  Finished jobs older than this are
                                  //  deleted (retention.h); 0 = never
    zj_store_lock_t *store_lock;  //  The store's lock, held by main.c (not
                                  //  owned), or NULL: no files watched
    const char *http_addr;        //  The status page's address, or NULL
    const char *http_token;       //  The token it asks for, or NULL
} zj_coordinator_config_t;

typedef struct zj_coordinator zj_coordinator_t;

//  Sets config to the defaults.
void zj_coordinator_config_defaults(zj_coordinator_config_t *config);

//  Opens the store, recovers unfinished jobs and binds both endpoints.
//  Returns NULL and logs why on failure.
zj_coordinator_t *zj_coordinator_new(const zj_coordinator_config_t *config);

//  Closes sockets and store, frees everything; sets *self_p to NULL.
void zj_coordinator_destroy(zj_coordinator_t **self_p);

//  Runs the loop until SIGINT/SIGTERM (zsys_interrupted). Returns 0, or
//  ZJ_ESTORE if it stopped with writes the store never took.
int zj_coordinator_run(zj_coordinator_t *self);

#endif
