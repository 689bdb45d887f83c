//  results.h - the worker's RESULTS pipeline: job outcomes batched over a
//  loop turn, each batch numbered (its req) and held until the
//  coordinator's ACK names it, and marked due again after a WELCOME or a
//  long silence (worker/unacked.c holds them). It sends nothing: worker.c
//  takes the due frames with zj_results_next_due and sends them on its
//  socket. Not thread-safe: one owner, the worker's loop.
#ifndef ZJ_RESULTS_H
#define ZJ_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

#define ZJ_RESULTS_BATCH 1000              //  Results per RESULTS message
#define ZJ_RESULTS_BYTES (4 * 1024 * 1024) //  Cut RESULTS batches here

typedef struct zj_results zj_results_t;

//  Creates an empty pipeline with the protocol's ceilings as limits; its
//  first batch will be numbered 1.
zj_results_t *zj_results_new(void);

//  Frees every batch, sent or not; sets *self_p to NULL.
void zj_results_destroy(zj_results_t **self_p);

//  Takes the limits a WELCOME gave: max_message bounds the bytes of a
//  batch, max_result those of each result; 0 keeps the current value.
void zj_results_set_limits(zj_results_t *self, int32_t max_message,
                           int32_t max_result);

//  Adds a copy of outcome, a job of class klass, to the batch being
//  filled, its result capped by the limits (a capped job fails, and is
//  logged). A batch holds one outcome, or at most half of what the
//  coordinator takes in a message, and ZJ_RESULTS_BATCH outcomes.
void zj_results_add(zj_results_t *self, const zj_job_t *outcome,
                    zj_class_t klass);

//  Closes the batch being filled, then numbers every closed batch, encodes
//  it and holds it as sent at now_ms. With send, the new batches are due
//  (zj_results_next_due); without (no WELCOME yet), they wait for the
//  zj_results_resend_all of the next WELCOME. A batch that cannot be
//  encoded is logged and dropped.
void zj_results_seal(zj_results_t *self, bool send, int64_t now_ms);

//  Marks every held batch due again, oldest first, as sent at now_ms
//  (after a WELCOME, or before a BYE that had none), and logs how many.
void zj_results_resend_all(zj_results_t *self, int64_t now_ms);

//  As zj_results_resend_all, for the batches unacknowledged for longer
//  than wait_ms, with the backoff of zj_unacked_resend_late.
void zj_results_resend_late(zj_results_t *self, int64_t wait_ms,
                            int64_t now_ms);

//  Takes the oldest due frame off the marks: sets *data_p and *size_p to
//  its bytes (borrowed, valid until the next call on self) and returns
//  true; returns false when nothing is due. The caller sends it; a send
//  that fails waits for the next resend.
bool zj_results_next_due(zj_results_t *self, const char **data_p,
                         size_t *size_p);

//  The coordinator acknowledged batch seq: forgets it. Returns true if it
//  was held.
bool zj_results_ack(zj_results_t *self, uint64_t seq);

//  The coordinator answered request seq with ERROR code. If code says it
//  could not read the frame (sent again, the same bytes would be refused
//  again) and seq is a batch held, drops that batch, logs it and returns
//  true; otherwise returns false.
bool zj_results_refused(zj_results_t *self, int code, uint64_t seq);

//  The number of the last batch numbered; 0 before the first. A HELLO
//  carries it, so the coordinator takes no credit from it or any earlier.
uint64_t zj_results_last_seq(const zj_results_t *self);

//  Batches held until their ACK.
size_t zj_results_unacked(const zj_results_t *self);

#endif
