//  coordinator.h - the coordinator: one event loop that owns every future.
//  It binds a ROUTER for clients and one for workers, persists jobs to the
//  store with group commit, hands jobs to workers within their credit and
//  resolves futures when results come back. main.c builds one from flags;
//  client_ep.c, worker_ep.c and lifecycle.c act on its state.
#ifndef ZJ_COORDINATOR_H
#define ZJ_COORDINATOR_H

#include <czmq.h>
#include <stdbool.h>

#include "common/keys.h"
#include "coordinator/futures.h"
#include "coordinator/scheduler.h"
#include "coordinator/store.h"
#include "proto/msg.h"
#include "proto/policy.h"

#define ZJ_CLIENTS_ENDPOINT "tcp://127.0.0.1:7700"
#define ZJ_WORKERS_ENDPOINT "tcp://127.0.0.1:7701"
#define ZJ_HEARTBEAT_MS 1000 //  Heartbeat period, both ways
#define ZJ_LIVENESS 3        //  Silent periods before a peer is lost
#define ZJ_TURN_BUDGET 512   //  Messages read per socket per loop turn

typedef struct {
    const char *clients_endpoint; //  Where clients connect
    const char *workers_endpoint; //  Where workers connect
    const char *db_path;          //  SQLite file
    zj_sync_t sync;               //  synchronous=NORMAL or FULL
    int heartbeat_ms;             //  Heartbeat period
    int liveness;                 //  Missed periods before "lost"
    const char *key_path;         //  Our secret key file: CURVE on, or NULL
    const char *worker_keys;      //  Folder of the workers' public keys
    const char *client_keys;      //  Folder of the clients' public keys
    zj_limits_t limits;           //  What a peer may send us
} zj_coordinator_config_t;

typedef struct zj_coordinator {
    zj_coordinator_config_t config; //  As given (strings borrowed)
    zsock_t *clients;               //  ROUTER for clients
    zsock_t *workers;               //  ROUTER for workers
    zactor_t *authenticator;        //  Checks CURVE keys (ZAP), or NULL
    zj_keyring_t *worker_ring;      //  Keys admitted now, for revocation:
    zj_keyring_t *client_ring;      //  read again at each tick
    zj_store_t *store;              //  The record
    zj_futures_t *futures;          //  Unfinished jobs and awaits
    zj_scheduler_t *scheduler;      //  Queued jobs
    zhashx_t *peers;                //  routing id (hex) -> zj_peer_t *
    zhashx_t *peers_by_name;        //  worker name -> zj_peer_t *, index
    zhashx_t *kinds;                //  kind -> class + 1, ever offered
    zlistx_t *outbox;               //  Replies waiting for the commit
    zlistx_t *held;                 //  Replies waiting for the store
    int64_t next_heartbeat_ms;      //  When workers get the next beat
    int64_t degraded_since_ms;      //  zj_mono_ms() the store failed, or 0
} zj_coordinator_t;

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

//  Queues msg for identity on socket, sent after this turn's commit.
//  Takes *msg_p; copies identity.
void zj_coordinator_send(zj_coordinator_t *self, zsock_t *socket,
                         zframe_t *identity, zj_msg_t **msg_p);

//  Queues an ERROR reply. req 0 if unknown.
void zj_coordinator_send_error(zj_coordinator_t *self, zsock_t *socket,
                               zframe_t *identity, uint64_t req, int code,
                               const char *reason);

//  Logs a row the store refused (a constraint: a bug, not a store fault;
//  store faults are handled by the commit phase).
void zj_coordinator_store_failed(zj_coordinator_t *self, const char *what);

#endif
