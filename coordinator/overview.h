//  overview.h - the coordinator's state at a glance, as one JSON text:
//  what the status page's /api/overview serves and /metrics is made of
//  (http_ep.h). Read from memory only, never the store: the jobs by
//  state, each kind's queue (ready jobs, the one ready longest, running,
//  finished over the last minutes, limits), the connected workers, the
//  counters and histograms since start (metrics.h). The loop makes one
//  when the HTTP side asks; O(kinds x minutes + workers), whatever the
//  number of jobs. Reads the leaf modules, changes nothing.
#ifndef ZJ_OVERVIEW_H
#define ZJ_OVERVIEW_H

#include "coordinator/futures.h"
#include "coordinator/metrics.h"
#include "coordinator/peers.h"
#include "coordinator/scheduler.h"
#include "coordinator/stats.h"
#include "coordinator/throttle.h"

//  What it reads, all borrowed.
typedef struct {
    zj_futures_t *futures;
    zj_scheduler_t *scheduler;
    zj_peers_t *peers;
    zj_throttle_t *throttle;
    zj_stats_t *stats;
    zj_metrics_t *metrics;
    const char *db_path; //  The store's file, for its size
    double started_at;   //  Unix seconds the coordinator started
} zj_overview_src_t;

//  The overview at now (unix seconds) and now_ms (zj_mono_ms), as a new
//  string the caller frees (docs/page.md, "/api/overview", lists its
//  fields).
char *zj_overview_text(const zj_overview_src_t *src, double now,
                       int64_t now_ms);

#endif
