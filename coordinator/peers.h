//  peers.h - the workers the coordinator knows: each connected worker
//  (a peer) with its routing id, what it said in its HELLO, its credit
//  and the jobs it runs, indexed by routing id and by name; and every
//  kind a worker ever offered, with its class.
//
//  Credit is a ledger, not a counter: a peer's free slots of a class are
//  its slots less the jobs of that class it holds, and a job leaves the
//  ledger once, when its result arrives from that peer (or the peer goes).
//  A RESULTS that comes twice, or one made before a reconnect, can then
//  never free a slot twice. A leaf module: it changes memory only.
#ifndef ZJ_PEERS_H
#define ZJ_PEERS_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "coordinator/futures.h"
#include "proto/msg.h"

typedef struct zj_peers zj_peers_t;

//  Creates an empty table.
zj_peers_t *zj_peers_new(void);

//  Frees every peer; none may still hold a running future (detach them
//  first: zj_peer_detach). Sets *self_p to NULL.
void zj_peers_destroy(zj_peers_t **self_p);

//  Records the kinds info offers (a kind's class is the last one given).
void zj_peers_learn_kinds(zj_peers_t *self, const zj_worker_info_t *info);

//  True if some worker ever offered kind, or if no worker ever offered
//  any (a fresh coordinator cannot tell a kind unknown).
bool zj_peers_may_run(const zj_peers_t *self, const char *kind);

//  Adds a peer at identity (copied) from its HELLO, taking over info's
//  contents (*info is zeroed), and learns its kinds. No peer may have
//  that identity or name already. Its credit is its slots.
zj_peer_t *zj_peers_add(zj_peers_t *self, zframe_t *identity,
                        zj_worker_info_t *info, int64_t now_ms);

//  Removes the peer and frees it; it must run nothing (requeue or detach
//  its futures first). Sets *peer_p to NULL.
void zj_peers_remove(zj_peers_t *self, zj_peer_t **peer_p);

//  The peer at identity, or by name, or NULL.
zj_peer_t *zj_peers_find(zj_peers_t *self, zframe_t *identity);
zj_peer_t *zj_peers_find_name(zj_peers_t *self, const char *name);

//  Number of peers, and their iteration (order unspecified; removing
//  the peer just returned is allowed, nothing else).
size_t zj_peers_size(const zj_peers_t *self);
zj_peer_t *zj_peers_first(zj_peers_t *self);
zj_peer_t *zj_peers_next(zj_peers_t *self);

//  The CURVE key its connection was admitted with (Z85), or NULL without
//  CURVE; set_curve_key copies key (NULL clears it).
const char *zj_peer_curve_key(const zj_peer_t *peer);
void zj_peer_set_curve_key(zj_peer_t *peer, const char *key);

//  The peer's routing id and HELLO, borrowed while it lives.
zframe_t *zj_peer_identity(const zj_peer_t *peer);
const zj_worker_info_t *zj_peer_info(const zj_peer_t *peer);

//  The kinds of klass the peer offers: *count names, borrowed.
const char **zj_peer_kinds(const zj_peer_t *peer, zj_class_t klass,
                           size_t *count);

//  Free slots of klass: its slots less the jobs of klass it holds.
int32_t zj_peer_credit(const zj_peer_t *peer, zj_class_t klass);

//  Futures running on the peer (not counting stopped ones), and the first
//  of them (order unspecified), or NULL.
size_t zj_peer_running(const zj_peer_t *peer);
zj_future_t *zj_peer_first_running(zj_peer_t *peer);

//  zj_mono_ms() of the peer's last message, and its update.
int64_t zj_peer_last_seen(const zj_peer_t *peer);
void zj_peer_seen(zj_peer_t *peer, int64_t now_ms);

//  Draining: the worker is shutting down and gets no more jobs. Marking
//  returns false if it was marked already.
bool zj_peer_draining(const zj_peer_t *peer);
bool zj_peer_mark_draining(zj_peer_t *peer);

//  The figures of the peer's last HEARTBEAT: RESULTS batches it holds
//  unacknowledged, and ms its loop was blocked in all (PROTOCOL.md).
void zj_peer_set_health(zj_peer_t *peer, int64_t unacked, int64_t blocked_ms);
int64_t zj_peer_unacked(const zj_peer_t *peer);
int64_t zj_peer_blocked_ms(const zj_peer_t *peer);

//  True if the peer runs a job at its last chance (zj_future_t.last_chance):
//  it takes no second one until that one ends.
bool zj_peer_runs_last_chance(const zj_peer_t *peer);

//  future (not running anywhere) now runs on peer as a job of klass: it
//  spends one credit of klass, which must be free. Sets future->peer.
void zj_peer_attach(zj_peer_t *peer, zj_future_t *future, zj_class_t klass);

//  future no longer runs on its peer (its result came, or the job goes
//  back to the queue): its slot is free again. Clears future->peer.
void zj_peer_detach(zj_future_t *future);

//  future was cancelled while it runs on its peer: it is detached (as
//  above) but its slot stays taken until the worker reports that job
//  (zj_peer_settle). Clears future->peer.
void zj_peer_stop(zj_future_t *future);

//  future, an io job running on its peer, awaits other jobs (AWAIT with no
//  hold): it holds no slot until zj_peer_resume, so the peer can run the
//  jobs it awaits. Sets future->suspended.
void zj_peer_suspend(zj_future_t *future);

//  The await of future ended (its DONE is sent): it takes its slot back,
//  even when none is free; the peer then gets no job until it is under its
//  slots again. Clears future->suspended.
void zj_peer_resume(zj_future_t *future);

//  Jobs suspended on the peer now.
int32_t zj_peer_suspended(const zj_peer_t *peer);

//  A result for job id came from peer: if id was stopped there, its slot
//  is free again. Returns true if it freed one.
bool zj_peer_settle(zj_peer_t *peer, int64_t id);

//  True if job id runs on peer as a job of klass.
bool zj_peer_runs(const zj_peer_t *peer, int64_t id, zj_class_t klass);

//  True if job id was stopped on peer and the worker has not reported it
//  yet: it may still run there, so it must not be sent there again.
bool zj_peer_holds_stopped(const zj_peer_t *peer, int64_t id);

//  The table's invariants: indexes agree, each peer's jobs never exceed
//  its slots, and each running future points back at its peer. For
//  asserts and tests; O(peers + running jobs).
bool zj_peers_invariants_hold(const zj_peers_t *self);

#endif
