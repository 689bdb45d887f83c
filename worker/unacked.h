//  unacked.h - the RESULTS batches a worker sent and the coordinator has
//  not acknowledged yet, as encoded frames in the order of their sequence
//  numbers. results.c numbers each batch here, keeps it until an ACK names
//  it and marks it due again after a reconnect or a long silence; it sends
//  nothing itself: the loop takes the due frames and sends them. Not
//  thread-safe: one owner, the worker's loop.
#ifndef ZJ_UNACKED_H
#define ZJ_UNACKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZJ_UNACKED_BACKOFF 5 //  Doublings of a late batch's wait, at most

typedef struct zj_unacked zj_unacked_t;

//  Creates an empty set whose first sequence number will be 1.
zj_unacked_t *zj_unacked_new(void);

//  Frees every held frame; sets *self_p to NULL.
void zj_unacked_destroy(zj_unacked_t **self_p);

//  Returns a sequence number never returned before, greater than every
//  earlier one: the req of the next batch.
uint64_t zj_unacked_new_seq(zj_unacked_t *self);

//  The last number zj_unacked_new_seq returned; 0 before the first.
uint64_t zj_unacked_last_seq(const zj_unacked_t *self);

//  Holds the frame of batch seq (from zj_unacked_new_seq, greater than any
//  held) carrying results results, last sent at sent_ms, and with due
//  marks it to be sent (see zj_unacked_next_due). Takes ownership of
//  *data_p (malloc'd) and sets it to NULL.
void zj_unacked_add(zj_unacked_t *self, uint64_t seq, char **data_p,
                    size_t size, size_t results, int64_t sent_ms, bool due);

//  Forgets batch seq. Returns true if it was held.
bool zj_unacked_ack(zj_unacked_t *self, uint64_t seq);

//  Marks every batch due to be sent again (after a WELCOME), as sent at
//  now_ms: whether its send then succeeds or not, as a failed one waits
//  for the next round. Returns how many batches; adds their results to
//  *results_p (may be NULL).
size_t zj_unacked_resend_all(zj_unacked_t *self, int64_t now_ms,
                             size_t *results_p);

//  As zj_unacked_resend_all, for the batches unacknowledged for longer
//  than wait_ms since their last send. Each such re-send doubles the wait
//  of that batch, up to ZJ_UNACKED_BACKOFF times, so a coordinator that
//  holds its ACKs (its store cannot be written) is not flooded; a
//  zj_unacked_resend_all resets it.
size_t zj_unacked_resend_late(zj_unacked_t *self, int64_t wait_ms,
                              int64_t now_ms, size_t *results_p);

//  Takes the oldest batch marked due off the marks: sets *data_p and
//  *size_p to its frame (borrowed, valid until the batch is acknowledged
//  or the set destroyed) and returns true; returns false when none is due.
bool zj_unacked_next_due(zj_unacked_t *self, const char **data_p,
                         size_t *size_p);

//  Batches held.
size_t zj_unacked_size(const zj_unacked_t *self);

//  Results in the batches held.
size_t zj_unacked_results(const zj_unacked_t *self);

#endif
