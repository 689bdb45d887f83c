//  store_limits.c - the limits table: one row per kind with a limit
//  (zjob limit). Writes are journaled like every other (ZJ_WRITE_SAVE_LIMIT,
//  ZJ_WRITE_DELETE_LIMIT), so a turn written again after a store failure
//  does the same. See store.h.
#include <assert.h>

#include "common/err.h"
#include "coordinator/store_internal.h"

int
zj_store_save_limit(zj_store_t *self, const zj_kind_limit_t *limit)
{
    assert(self && limit && limit->kind);
    zj_write_entry_t entry = {.what = ZJ_WRITE_SAVE_LIMIT};
    entry.job.kind = limit->kind;
    entry.job.attempts = limit->concurrency;
    entry.job.not_before = limit->rate;
    entry.job.started_at = limit->burst;
    entry.job.created_at = limit->updated_at;
    return zj_store_write(self, &entry);
}

int
zj_store_delete_limit(zj_store_t *self, const char *kind)
{
    assert(self && kind);
    zj_write_entry_t entry = {.what = ZJ_WRITE_DELETE_LIMIT};
    entry.job.kind = (char *) kind;
    return zj_store_write(self, &entry);
}

int
zj_store_limit_row(zj_store_t *self, const zj_job_t *entry)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SAVE_LIMIT];
    sqlite3_bind_text(stmt, 1, entry->kind, -1, SQLITE_STATIC);
    if (entry->attempts >= 0)
        sqlite3_bind_int(stmt, 2, entry->attempts);
    else
        sqlite3_bind_null(stmt, 2);
    if (entry->not_before > 0) {
        sqlite3_bind_double(stmt, 3, entry->not_before);
        sqlite3_bind_double(stmt, 4, entry->started_at);
    } else {
        sqlite3_bind_null(stmt, 3);
        sqlite3_bind_null(stmt, 4);
    }
    sqlite3_bind_double(stmt, 5, entry->created_at);
    return zj_store_step_write(self, stmt);
}

int
zj_store_delete_limit_row(zj_store_t *self, const zj_job_t *entry)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_DELETE_LIMIT];
    sqlite3_bind_text(stmt, 1, entry->kind, -1, SQLITE_STATIC);
    return zj_store_step_write(self, stmt);
}

int
zj_store_list_limits(zj_store_t *self, zj_store_limit_fn *fn, void *arg)
{
    assert(self && fn);
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_LIST_LIMITS];
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        bool concurrency = sqlite3_column_type(stmt, 1) != SQLITE_NULL;
        zj_kind_limit_t limit = {
            .kind = (char *) sqlite3_column_text(stmt, 0),
            .concurrency = concurrency ? sqlite3_column_int(stmt, 1) : -1,
            .rate = sqlite3_column_double(stmt, 2),
            .burst = sqlite3_column_double(stmt, 3),
            .updated_at = sqlite3_column_double(stmt, 4),
        };
        fn(arg, &limit);
    }
    int result = rc == SQLITE_DONE ? 0 : zj_store_failed(self);
    sqlite3_reset(stmt);
    return result;
}
