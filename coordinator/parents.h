//  parents.h - what a running job asks of the coordinator through its
//  worker: SPAWN makes its children (or finds those an earlier attempt
//  made), AWAIT streams their results back as RESOLVED then DONE. A
//  parent that awaits without hold gives its io slot back until its DONE
//  is sent (zj_parents_wake), so the children it waits for can run on the
//  slots it held. Part of the workers endpoint: worker_ep.c hands it
//  these messages from workers that said HELLO; it acts through the state
//  machine and queues its replies in the outbox.
#ifndef ZJ_PARENTS_H
#define ZJ_PARENTS_H

#include <czmq.h>

#include "coordinator/lifecycle.h"
#include "coordinator/outbox.h"
#include "proto/msg.h"

//  Handles a SPAWN from peer at identity: SPAWNED with the children's ids,
//  in the order of msg's jobs, sent after the commit; or ERROR with req
//  (the parent does not run on peer, the store cannot be written, an
//  after names no job), and then no child is made.
void zj_parents_spawn(zj_lifecycle_t *jobs, zj_outbox_t *outbox,
                      zframe_t *identity, zj_peer_t *peer, const zj_msg_t *msg);

//  Handles an AWAIT from peer at identity for its running io job
//  msg->parent: the await is set up (zj_futures_await_parent) and, unless
//  msg->hold, the parent gives its slot back. ERROR with req instead if
//  the parent does not run there as an io job, an id names no job, or
//  names the parent or one of its ancestors (it would wait for ever).
void zj_parents_await(zj_lifecycle_t *jobs, zj_outbox_t *outbox,
                      zframe_t *identity, zj_peer_t *peer, const zj_msg_t *msg);

//  After zj_futures_flush: each parent whose await ended takes its slot
//  back (zj_peer_resume). Returns how many did.
size_t zj_parents_wake(zj_lifecycle_t *jobs);

#endif
