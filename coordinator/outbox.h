//  outbox.h - the coordinator's replies that wait for the turn's commit.
//  Handlers queue every message they send here, addressed to a side
//  (clients or workers) and a routing id; the loop sends them after the
//  commit. While the store is degraded, replies that tell of a write are
//  held until it takes writes again, then go first. Only the loop touches
//  sockets: it passes them to zj_outbox_flush.
//
//  Memory per client: a client's messages are encoded when queued and
//  counted against its budget (ZJ_CLIENT_BUDGET) until ZeroMQ takes them.
//  The clients socket says "full" (EAGAIN) once it holds its send HWM for
//  a client: what that client is sent next waits in its backlog, in
//  order, and is tried again at each flush. Producers of streams (the
//  awaits) ask zj_outbox_room before each message and pause at zero. A
//  client the socket calls unreachable (EHOSTUNREACH) is gone: what is
//  queued for it is dropped and its identity is handed to the loop
//  (zj_outbox_next_gone), which releases its awaits. A blocked client
//  that keeps sending requests loses the replies that would take its
//  backlog past 4 budgets (logged); its streams are never dropped.
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

//  Bytes queued for one client past which its streams pause.
#define ZJ_CLIENT_BUDGET (8 * 1024 * 1024)

//  Creates an empty outbox.
zj_outbox_t *zj_outbox_new(void);

//  Frees every message still queued or held; sets *self_p to NULL.
void zj_outbox_destroy(zj_outbox_t **self_p);

//  Queues msg for identity on side. Takes *msg_p (sets it NULL); copies
//  identity. A client's message is encoded now and counts against its
//  budget; one that cannot be encoded is logged and dropped.
void zj_outbox_send(zj_outbox_t *self, zj_side_t side, zframe_t *identity,
                    zj_msg_t **msg_p);

//  Queues an ERROR {req, code, reason}. req is 0 if unknown.
void zj_outbox_error(zj_outbox_t *self, zj_side_t side, zframe_t *identity,
                     uint64_t req, int code, const char *reason);

//  Sends what is queued, in order, on clients or workers. When degraded,
//  the replies that tell of a write (SUBMITTED, RESOLVED, DONE, JOBS, ACK,
//  PURGE, a client's CANCEL) are held instead; when not, what was held goes
//  first. Backlogs of blocked clients are tried first; clients go without
//  waiting (ZMQ_DONTWAIT on a ROUTER_MANDATORY socket). A message that
//  cannot be encoded or sent is logged and dropped.
void zj_outbox_flush(zj_outbox_t *self, zsock_t *clients, zsock_t *workers,
                     bool degraded);

//  Bytes identity may still be queued before its budget is spent (0 when
//  spent): a stream makes its next message only while this is above 0.
size_t zj_outbox_room(const zj_outbox_t *self, zframe_t *identity);

//  Clients whose backlog waits for ZeroMQ to take it: while above 0, the
//  loop flushes again after a short pause (ZJ_CLIENT_RETRY_MS).
size_t zj_outbox_blocked(const zj_outbox_t *self);

//  Bytes queued, held or in a backlog for all clients.
size_t zj_outbox_client_bytes(const zj_outbox_t *self);

//  Takes the identity of a client found gone at a flush: the caller owns
//  it. NULL when there is none.
zframe_t *zj_outbox_next_gone(zj_outbox_t *self);

//  Sets the budget per client (ZJ_CLIENT_BUDGET), for tests.
void zj_outbox_set_budget(zj_outbox_t *self, size_t budget);

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
