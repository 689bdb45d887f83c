//  progress.h - the latest progress of each running job (zjob_progress),
//  kept until the worker sends it in one PROGRESS message at most every
//  ZJ_PROGRESS_SEND_MS. Only the latest report of a job is kept: progress
//  is what a job is at now, not a log, and a lost one is made good by
//  the next. It sends nothing: worker.c takes the message
//  (zj_progress_take). Not thread-safe: the worker's loop owns it.
#ifndef ZJ_PROGRESS_H
#define ZJ_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/msg.h"

#define ZJ_PROGRESS_SEND_MS 200 //  One PROGRESS at most this often

typedef struct zj_progress zj_progress_t;

//  Something waits to be sent: the loop should take it in delay_ms.
typedef void(zj_progress_due_fn)(void *arg, int64_t delay_ms);

//  Creates an empty table.
zj_progress_t *zj_progress_new(zj_progress_due_fn *due, void *arg);

//  Frees it; sets *self_p to NULL.
void zj_progress_destroy(zj_progress_t **self_p);

//  Job id, in attempt, has done of total (0: unknown), doing text (may be
//  NULL; cut to ZJ_MAX_PROGRESS_TEXT bytes at a character boundary).
//  Replaces what the job reported before and was not sent yet. done and
//  total below 0 count as 0.
void zj_progress_note(zj_progress_t *self, int64_t id, int32_t attempt,
                      int64_t done, int64_t total, const char *text);

//  A PROGRESS with every report not sent yet (NULL if none), taken out of
//  the table at now_ms: the next is due ZJ_PROGRESS_SEND_MS later.
zj_msg_t *zj_progress_take(zj_progress_t *self, int64_t now_ms);

//  True if job id has a report waiting.
bool zj_progress_has(const zj_progress_t *self, int64_t id);

//  Reports waiting to be sent.
size_t zj_progress_pending(const zj_progress_t *self);

#endif
