//  store_schedules.h - the store's schedules (schema v11): each one's
//  definition with its next and last run, and one row per job a schedule
//  made. Writes are journaled and go into the turn like every store
//  write, so a fire (the job, its run row and the schedule's new next
//  run) commits whole or not at all. A schedule is a zj_job_t as
//  SCHEDULE carries it: schedule (its name), every_ms or cron, kind,
//  args, priority, max_attempts, timeout_ms, backoff_ms, not_before (the
//  next run), started_at (the last run), id (the last run's job) and
//  created_at.
#ifndef ZJ_STORE_SCHEDULES_H
#define ZJ_STORE_SCHEDULES_H

#include "coordinator/store.h"

//  Inserts or replaces the row of schedule->schedule. Borrows schedule.
//  Returns 0 or ZJ_ESTORE.
int zj_store_save_schedule(zj_store_t *self, const zj_job_t *schedule);

//  Deletes the row of schedule name (its runs stay). Returns 0 or
//  ZJ_ESTORE.
int zj_store_delete_schedule(zj_store_t *self, const char *name);

//  Records that schedule name made job id for the run due at due_at
//  (unix seconds). Returns 0 or ZJ_ESTORE.
int zj_store_schedule_run(zj_store_t *self, const char *name, int64_t id,
                          double due_at);

//  Calls fn for every schedule row, by name; the record is borrowed for
//  the call. Returns 0 or ZJ_ESTORE.
int zj_store_list_schedules(zj_store_t *self, zj_store_job_fn *fn, void *arg);

#endif
