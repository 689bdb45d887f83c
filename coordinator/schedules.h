//  schedules.h - the coordinator's schedules in memory (zjob schedule):
//  each one's record (a zj_job_t as SCHEDULE carries it, see
//  store_schedules.h) and parsed cron, by name, and ordered by the next
//  run in a min-heap, so that the loop finds what is due in O(1). At most
//  ZJ_MAX_SCHEDULES. A leaf: it knows no store and no clock; the caller
//  passes the time (unix seconds, UTC).
#ifndef ZJ_SCHEDULES_H
#define ZJ_SCHEDULES_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/msg.h"

typedef struct zj_schedules zj_schedules_t;

//  Creates an empty set. Never returns NULL (aborts on OOM).
zj_schedules_t *zj_schedules_new(void);

//  Frees the set and its records; sets *self_p to NULL.
void zj_schedules_destroy(zj_schedules_t **self_p);

//  The time of the run after the one due at due, the first strictly after
//  now: for every_ms, due plus whole periods (missed periods are skipped,
//  the phase kept); for cron, its first minute after now. 0 when the
//  cron expression never matches again. Pure.
double zj_schedules_next_run(const zj_job_t *record, double due, double now);

//  Adds a copy of record (its cron text must parse), or replaces the
//  record of that name. Returns the record kept, or NULL and a one-line
//  reason in why[ZJ_WHY_SIZE] when the set is full (ZJ_MAX_SCHEDULES)
//  or the cron text does not parse.
const zj_job_t *zj_schedules_put(zj_schedules_t *self, const zj_job_t *record,
                                 char *why);

//  The record of schedule name, or NULL.
const zj_job_t *zj_schedules_find(const zj_schedules_t *self, const char *name);

//  Removes schedule name; returns false if there is none.
bool zj_schedules_remove(zj_schedules_t *self, const char *name);

//  Number of schedules.
size_t zj_schedules_size(const zj_schedules_t *self);

//  The schedule whose next run is earliest, if it is due at now (next
//  run <= now), else NULL.
const zj_job_t *zj_schedules_due(const zj_schedules_t *self, double now);

//  The earliest next run of all (unix seconds), or 0 when none has one.
double zj_schedules_next_at(const zj_schedules_t *self);

//  Schedule name ran at now for its due run and made job id (0 if the
//  store refused the job): its last run becomes now and id, and its next
//  run zj_schedules_next_run(record, due, now). Returns the record.
const zj_job_t *zj_schedules_fired(zj_schedules_t *self, const char *name,
                                   int64_t id, double now);

//  Every record, ordered by name, as a malloc'd array of count borrowed
//  pointers (valid until the set changes); the caller frees the array.
const zj_job_t **zj_schedules_list(const zj_schedules_t *self, size_t *count);

#endif
