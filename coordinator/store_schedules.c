//  store_schedules.c - the schedules' rows (see store_schedules.h): the
//  writes go through the store's journal and turn (zj_store_write), and
//  zj_store_schedule_row runs them when the turn is written, first or
//  again after a failure.
#include <assert.h>

#include "common/err.h"
#include "coordinator/store_internal.h"
#include "coordinator/store_schedules.h"

static int
s_step_write(zj_store_t *self, sqlite3_stmt *stmt)
{
    int result = sqlite3_step(stmt) == SQLITE_DONE ? 0 : zj_store_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

static int
s_save_row(zj_store_t *self, const zj_job_t *schedule)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SAVE_SCHEDULE];
    zj_store_bind_text(stmt, 1, schedule->schedule);
    if (schedule->every_ms > 0)
        sqlite3_bind_int64(stmt, 2, schedule->every_ms);
    zj_store_bind_text(stmt, 3, schedule->cron);
    zj_store_bind_text(stmt, 4, schedule->kind);
    zj_store_bind_text(stmt, 5, schedule->args);
    sqlite3_bind_int(stmt, 6, schedule->priority);
    sqlite3_bind_int(stmt, 7, schedule->max_attempts);
    sqlite3_bind_int64(stmt, 8, schedule->timeout_ms);
    sqlite3_bind_int64(stmt, 9, schedule->backoff_ms);
    zj_store_bind_time(stmt, 10, schedule->not_before);
    zj_store_bind_time(stmt, 11, schedule->started_at);
    if (schedule->id > 0)
        sqlite3_bind_int64(stmt, 12, schedule->id);
    zj_store_bind_time(stmt, 13, schedule->created_at);
    return s_step_write(self, stmt);
}

static int
s_run_row(zj_store_t *self, const zj_job_t *run)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SCHEDULE_RUN];
    sqlite3_bind_int64(stmt, 1, run->id);
    zj_store_bind_text(stmt, 2, run->schedule);
    sqlite3_bind_double(stmt, 3, run->not_before);
    return s_step_write(self, stmt);
}

int
zj_store_schedule_row(zj_store_t *self, const zj_write_entry_t *entry)
{
    assert(self && entry);
    switch (entry->what) {
    case ZJ_WRITE_SAVE_SCHEDULE:
        return s_save_row(self, &entry->job);
    case ZJ_WRITE_DELETE_SCHEDULE: {
        sqlite3_stmt *stmt = self->stmt[ZJ_STMT_DELETE_SCHEDULE];
        zj_store_bind_text(stmt, 1, entry->job.schedule);
        return s_step_write(self, stmt);
    }
    case ZJ_WRITE_SCHEDULE_RUN:
        return s_run_row(self, &entry->job);
    default:
        assert(!"not a schedule write");
        return ZJ_ESTORE;
    }
}

int
zj_store_save_schedule(zj_store_t *self, const zj_job_t *schedule)
{
    assert(self && schedule && schedule->schedule && schedule->kind);
    return zj_store_write(
        self, &(zj_write_entry_t){ZJ_WRITE_SAVE_SCHEDULE, *schedule, {0}});
}

int
zj_store_delete_schedule(zj_store_t *self, const char *name)
{
    assert(self && name);
    zj_job_t entry = {.schedule = (char *) name};
    return zj_store_write(
        self, &(zj_write_entry_t){ZJ_WRITE_DELETE_SCHEDULE, entry, {0}});
}

int
zj_store_schedule_run(zj_store_t *self, const char *name, int64_t id,
                      double due_at)
{
    assert(self && name && id > 0);
    zj_job_t entry = {
        .schedule = (char *) name, .id = id, .not_before = due_at};
    return zj_store_write(
        self, &(zj_write_entry_t){ZJ_WRITE_SCHEDULE_RUN, entry, {0}});
}

int
zj_store_list_schedules(zj_store_t *self, zj_store_job_fn *fn, void *arg)
{
    assert(self && fn);
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_LIST_SCHEDULES];
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        zj_job_t schedule = {
            .schedule = (char *) sqlite3_column_text(stmt, 0),
            .every_ms = sqlite3_column_int64(stmt, 1),
            .cron = (char *) sqlite3_column_text(stmt, 2),
            .kind = (char *) sqlite3_column_text(stmt, 3),
            .args = (char *) sqlite3_column_text(stmt, 4),
            .priority = sqlite3_column_int(stmt, 5),
            .max_attempts = sqlite3_column_int(stmt, 6),
            .timeout_ms = sqlite3_column_int64(stmt, 7),
            .backoff_ms = sqlite3_column_int64(stmt, 8),
            .not_before = sqlite3_column_double(stmt, 9),
            .started_at = sqlite3_column_double(stmt, 10),
            .id = sqlite3_column_int64(stmt, 11),
            .created_at = sqlite3_column_double(stmt, 12),
        };
        fn(arg, &schedule);
    }
    int result = rc == SQLITE_DONE ? 0 : zj_store_failed(self);
    sqlite3_reset(stmt);
    return result;
}
