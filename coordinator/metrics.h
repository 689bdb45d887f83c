//  metrics.h - the coordinator's counters and histograms since it
//  started, for /metrics (zjob-coordinator --http): jobs submitted and
//  finished by kind, how long finished jobs ran by kind, how long the
//  store's commits took. The state machine and the loop feed it; the
//  overview (overview.h) reads it. Cheap on the hot path: one lookup by
//  kind and a few additions per event. A leaf: it knows kind names and
//  numbers, nothing of jobs or the store. Not thread-safe: the loop's.
#ifndef ZJ_METRICS_H
#define ZJ_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

//  The upper bounds of a histogram's buckets, in seconds (the last,
//  +Inf, is implied).
#define ZJ_METRICS_DURATION_BOUNDS                                             \
    {                                                                          \
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,  \
            1800, 3600                                                         \
    }
#define ZJ_METRICS_DURATION_BUCKETS 16
#define ZJ_METRICS_COMMIT_BOUNDS                                               \
    {                                                                          \
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, \
            0.25, 0.5, 1, 2.5                                                  \
    }
#define ZJ_METRICS_COMMIT_BUCKETS 14

typedef struct zj_metrics zj_metrics_t;

//  Creates zeroed counters. Never returns NULL (aborts on OOM).
zj_metrics_t *zj_metrics_new(void);

//  Frees them; sets *self_p to NULL. NULL is fine.
void zj_metrics_destroy(zj_metrics_t **self_p);

//  One job of kind was submitted (or spawned, or fired by a schedule).
void zj_metrics_submitted(zj_metrics_t *self, const char *kind);

//  One job of kind reached final state; it ran for seconds (started to
//  finished), or never started (seconds < 0: not in the histogram).
void zj_metrics_finished(zj_metrics_t *self, const char *kind, zj_state_t state,
                         double seconds);

//  One commit of the store took seconds.
void zj_metrics_commit(zj_metrics_t *self, double seconds);

//  Everything, as a new JSON object the caller owns:
//    {"kinds": {KIND: {"submitted": n, "finished": {STATE: n, ...},
//                      "duration": HISTOGRAM}},
//     "commit": HISTOGRAM}
//  where HISTOGRAM is {"bounds": [...], "counts": [per bucket, the last
//  for +Inf; not cumulative], "sum": seconds, "count": n}.
json_t *zj_metrics_json(const zj_metrics_t *self);

#endif
