//  stats.h - what zjob stats reports, from memory: the jobs that reached a
//  final state in each of the last ZJ_STATS_MINUTES minutes, by kind and
//  state (a ring of per-minute counters per kind, fed by the state
//  machine), and the queues of the unfinished jobs (read from the futures
//  when asked). Never reads the store. A leaf module: it borrows the
//  futures and knows nothing above them. Not thread-safe: the loop's.
#ifndef ZJ_STATS_H
#define ZJ_STATS_H

#include <jansson.h>
#include <stdint.h>

#include "coordinator/futures.h"
#include "proto/msg.h"

#define ZJ_STATS_MINUTES 15 //  Minutes of finished jobs kept, this one too

typedef struct zj_stats zj_stats_t;

//  Creates empty counters. Never returns NULL (aborts on OOM).
zj_stats_t *zj_stats_new(void);

//  Frees the counters; sets *self_p to NULL. NULL is fine.
void zj_stats_destroy(zj_stats_t **self_p);

//  Counts one job of kind that reached final state at now (unix seconds:
//  the minute is floor(now / 60)). Copies kind.
void zj_stats_finished(zj_stats_t *self, const char *kind, zj_state_t state,
                       double now);

//  How many jobs of kind reached state in the minute minutes_ago before
//  now's (0 = now's minute, up to ZJ_STATS_MINUTES - 1); NULL kind = all.
int64_t zj_stats_count(zj_stats_t *self, const char *kind, zj_state_t state,
                       double now, int minutes_ago);

//  Kinds that still have counts in the window ending at now. Forgets the
//  others.
size_t zj_stats_kinds(zj_stats_t *self, double now);

//  The report zjob stats prints (docs/cli.md, "stats"), as a new JSON
//  object: each kind's queue from the futures (walked once: O(unfinished
//  jobs), in memory), each kind's finished jobs by state over the window,
//  and all jobs finished per minute, oldest minute first. The caller owns
//  it.
json_t *zj_stats_report(zj_stats_t *self, zj_futures_t *futures, double now);

#endif
