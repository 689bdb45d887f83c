//  joblogs.h - what running jobs write to their logs (zjob_log, exec's
//  output, a CPU handler's stdout and stderr), gathered over a loop turn
//  and sent in one LOG message before that turn's RESULTS. Each attempt
//  may write --max-log bytes; past that its text is dropped and its log
//  says so once. It sends nothing: worker.c takes the message
//  (zj_joblogs_take). Not thread-safe: the worker's loop owns it.
#ifndef ZJ_JOBLOGS_H
#define ZJ_JOBLOGS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

#define ZJ_MAX_LOG_DEFAULT (1024 * 1024) //  --max-log: bytes per attempt

typedef struct zj_joblogs zj_joblogs_t;

//  Creates an empty table; each attempt may write max_bytes (> 0).
zj_joblogs_t *zj_joblogs_new(size_t max_bytes);

//  Frees it; sets *self_p to NULL.
void zj_joblogs_destroy(zj_joblogs_t **self_p);

//  Attempt attempt of job id wrote size bytes of text (not necessarily
//  NUL-terminated). The first text of an attempt after the first starts
//  with a line naming it. Past max_bytes, the rest is dropped.
void zj_joblogs_write(zj_joblogs_t *self, int64_t id, int32_t attempt,
                      const char *text, size_t size);

//  Job id ended: once what it wrote is taken, it is forgotten.
void zj_joblogs_end(zj_joblogs_t *self, int64_t id);

//  A LOG with what every job wrote since the last take (NULL if nothing).
zj_msg_t *zj_joblogs_take(zj_joblogs_t *self);

//  Jobs with text not taken yet.
size_t zj_joblogs_pending(const zj_joblogs_t *self);

#endif
