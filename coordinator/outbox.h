//  outbox.h - the coordinator's replies that wait for the turn's commit.
//  Handlers queue every message they send here, addressed to a side
//  (clients or workers) and a routing id; the loop sends them after the
//  commit. While the store is degraded, replies that tell of a write are
//  held until it takes writes again, then go first. Only the loop touches
//  sockets: it passes them to zj_outbox_flush.
#ifndef ZJ_OUTBOX_H
#define ZJ_OUTBOX_H

#include <czmq.h>
#include <stdbool.h>

#include "proto/msg.h"

typedef enum {
    ZJ_TO_CLIENT, //  Through the clients ROUTER
    ZJ_TO_WORKER  //  Through the workers ROUTER
} zj_side_t;

typedef struct zj_outbox zj_outbox_t;

//  Creates an empty outbox.
zj_outbox_t *zj_outbox_new(void);

//  Frees every message still queued or held; sets *self_p to NULL.
void zj_outbox_destroy(zj_outbox_t **self_p);

//  Queues msg for identity on side. Takes *msg_p (sets it NULL); copies
//  identity.
void zj_outbox_send(zj_outbox_t *self, zj_side_t side, zframe_t *identity,
                    zj_msg_t **msg_p);

//  Queues an ERROR {req, code, reason}. req is 0 if unknown.
void zj_outbox_error(zj_outbox_t *self, zj_side_t side, zframe_t *identity,
                     uint64_t req, int code, const char *reason);

//  Sends what is queued, in order, on clients or workers. When degraded,
//  the replies that tell of a write (SUBMITTED, RESOLVED, DONE, JOBS, ACK,
//  a client's CANCEL) are held instead; when not, what was held goes
//  first. A message that cannot be encoded or sent is logged and dropped.
void zj_outbox_flush(zj_outbox_t *self, zsock_t *clients, zsock_t *workers,
                     bool degraded);

//  Messages queued, and held.
size_t zj_outbox_size(const zj_outbox_t *self);
size_t zj_outbox_held(const zj_outbox_t *self);

//  Takes the first queued message (not a held one) out of the outbox,
//  for tests: returns it (the caller owns it) with its side in *side_p,
//  or NULL if none is queued.
zj_msg_t *zj_outbox_take(zj_outbox_t *self, zj_side_t *side_p);

//  Drops every queued message (not the held ones), for tests.
void zj_outbox_purge(zj_outbox_t *self);

#endif
