//  retention.h - deleting finished jobs so that the store stays small:
//  the coordinator's --keep (a sweep that starts again once it reaches
//  jobs too young to go) and zjob purge (one sweep with filters of its
//  own, answered when it ends). Each step reads one chunk of jobs in id
//  order, so no step stalls the loop, and deletes the final ones old
//  enough; the pages they free are reused by new rows, so the file stops
//  growing. Kept whatever their age: a job an unfinished job runs after
//  (its after), a child of an unfinished parent (which may run again and
//  ask for its result), and the newest job (ids are never handed out
//  twice). Old SUBMIT tokens go the same way. A leaf: the loop steps it,
//  the clients endpoint queues purges.
#ifndef ZJ_RETENTION_H
#define ZJ_RETENTION_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "coordinator/futures.h"
#include "coordinator/outbox.h"
#include "coordinator/store.h"

#define ZJ_RETENTION_CHUNK 1000        //  Jobs (or tokens) one step reads
#define ZJ_RETENTION_REST_MS 1000      //  Between sweeps that reached the end
#define ZJ_RETENTION_SLOW_MS 20        //  Between steps that deleted nothing
#define ZJ_RETENTION_LOG_MS 60000      //  How often deletes are logged
#define ZJ_RETENTION_PART_MS 1000      //  How often a purge tells its client
#define ZJ_RETENTION_KEEP_MS 604800000 //  --keep's default: 7 days
#define ZJ_MAX_PURGES 64               //  Purges waiting at once

typedef struct zj_retention zj_retention_t;

//  A sweep's filters: final jobs that finished more than age_ms ago, in
//  state (ZJ_STATE_NONE: any final state), of kind (NULL: any).
typedef struct {
    int64_t age_ms;
    zj_state_t state;
    const char *kind;
} zj_sweep_filter_t;

//  Creates the sweeps over store for futures' jobs; keep_ms 0 keeps jobs
//  for ever (only purges delete). db_path, if not NULL, is where the
//  free disk space is watched. All borrowed.
zj_retention_t *zj_retention_new(zj_store_t *store, zj_futures_t *futures,
                                 int64_t keep_ms, const char *db_path);

//  Frees the sweeps (waiting purges get no reply); sets *self_p to NULL.
void zj_retention_destroy(zj_retention_t **self_p);

//  Queues a purge for the client at identity (copied): its PURGE reply,
//  {req, count, more}, goes into the outbox in parts, one each
//  ZJ_RETENTION_PART_MS while it goes on (count: jobs deleted since the
//  last part) and the last when it ends. Returns 0, or
//  ZJ_ETOOBIG when ZJ_MAX_PURGES already wait.
int zj_retention_purge(zj_retention_t *self, zframe_t *identity, uint64_t req,
                       const zj_sweep_filter_t *filter);

//  When the next step is due, a zj_mono_ms() time (1: at once), or 0 if
//  none is (nothing to do, or the store cannot be written now).
int64_t zj_retention_next(const zj_retention_t *self);

//  One step, at most one chunk: of the first purge, else of the --keep
//  sweep if it is due. Nothing while the store cannot be written. Ended
//  purges' replies go into outbox.
void zj_retention_step(zj_retention_t *self, int64_t now_ms,
                       zj_outbox_t *outbox);

//  Jobs and token chunks deleted since the start.
int64_t zj_retention_deleted(const zj_retention_t *self);

#endif
