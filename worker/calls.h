//  calls.h - the requests running jobs make of the coordinator (SPAWN,
//  AWAIT): each is numbered from ZJ_CALL_REQ_BASE, apart from RESULTS
//  batch numbers, so that an ERROR's req names one or the other; it is
//  held until its job ends it, and sent again after each WELCOME (SPAWN
//  is keyed by parent and call number, so a repeat makes no second
//  child). It sends nothing: worker.c takes the due messages
//  (zj_calls_next_due) and hands back each reply with a req of ours
//  (zj_calls_reply). Also counts the parents suspended in an await,
//  bounded by --max-suspended. Not thread-safe: the worker's loop owns it.
#ifndef ZJ_CALLS_H
#define ZJ_CALLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

#define ZJ_CALL_REQ_BASE (UINT64_C(1) << 62) //  First req of a call

typedef struct zj_calls zj_calls_t;

//  A reply to a call: SPAWNED, RESOLVED, DONE or ERROR, borrowed for the
//  call. reply NULL: the call is about to be sent again (after a
//  WELCOME): bring its message (zj_calls_msg) up to date.
typedef void(zj_call_fn)(void *arg, const zj_msg_t *reply);

//  Something became due: the loop should send it soon.
typedef void(zj_calls_due_fn)(void *arg);

//  Creates an empty table; max_suspended bounds zj_calls_suspend.
zj_calls_t *zj_calls_new(int max_suspended, zj_calls_due_fn *due, void *arg);

//  Frees it and every call; sets *self_p to NULL.
void zj_calls_destroy(zj_calls_t **self_p);

//  Takes *msg_p (sets it NULL), numbers it, holds it and marks it due.
//  fn(arg, reply) gets each reply to it until zj_calls_end. Returns its req.
uint64_t zj_calls_start(zj_calls_t *self, zj_msg_t **msg_p, zj_call_fn *fn,
                        void *arg);

//  The message of call req, held until it ends, or NULL.
zj_msg_t *zj_calls_msg(zj_calls_t *self, uint64_t req);

//  Forgets call req: later replies to it are dropped.
void zj_calls_end(zj_calls_t *self, uint64_t req);

//  Hands reply to its call. Returns true if its req is in our range (a
//  reply to a call that ended is dropped), false for any other message.
bool zj_calls_reply(zj_calls_t *self, const zj_msg_t *reply);

//  After a WELCOME: every call is due again, oldest first.
void zj_calls_resend_all(zj_calls_t *self);

//  Encodes the oldest due message into *data_p (malloc'd, the caller
//  frees it) and *size_p, and returns true; false when none is due. A
//  message that cannot be encoded is logged and skipped.
bool zj_calls_next_due(zj_calls_t *self, char **data_p, size_t *size_p);

//  Calls not yet ended.
size_t zj_calls_size(const zj_calls_t *self);

//  A parent starts to await without its slot: returns true and counts
//  it if fewer than max_suspended are, else false (it keeps its slot).
bool zj_calls_suspend(zj_calls_t *self);

//  A parent counted by zj_calls_suspend resumed.
void zj_calls_resume(zj_calls_t *self);

//  Parents suspended now, and the bound.
int zj_calls_suspended(const zj_calls_t *self);
int zj_calls_max_suspended(const zj_calls_t *self);

#endif
