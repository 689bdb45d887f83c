//  store_sweep.c - the store's part of retention (retention.h): reading
//  jobs in id order a chunk at a time, deleting final jobs with their
//  attempts, deleting old SUBMIT tokens a key range at a time, and the
//  file's size. Deletes are journaled writes like the others, so a turn
//  written again after a store failure deletes the same rows.
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "coordinator/store_internal.h"

//  Opens the turn's transaction (unless the store cannot be written), so
//  that reads take no lock of their own.
static int
s_enter(zj_store_t *self)
{
    if (!zj_store_is_writable(self))
        return ZJ_ESTORE;
    return zj_store_begin_turn(self);
}

static void
s_copy_text(char *dest, size_t size, const unsigned char *text)
{
    snprintf(dest, size, "%s", text ? (const char *) text : "");
}

int
zj_store_rows_after(zj_store_t *self, int64_t after_id, zj_store_row_t *rows,
                    size_t max, size_t *count)
{
    assert(self && rows && count && max > 0);
    *count = 0;
    if (s_enter(self))
        return ZJ_ESTORE;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SWEEP_JOBS];
    sqlite3_bind_int64(stmt, 1, after_id);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) max);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && *count < max) {
        zj_store_row_t *row = &rows[(*count)++];
        row->id = sqlite3_column_int64(stmt, 0);
        s_copy_text(row->kind, sizeof row->kind, sqlite3_column_text(stmt, 1));
        const unsigned char *state = sqlite3_column_text(stmt, 2);
        row->state =
            state ? zj_state_from_name((const char *) state) : ZJ_STATE_NONE;
        row->created_at = sqlite3_column_double(stmt, 3);
        row->finished_at = sqlite3_column_double(stmt, 4);
        row->parent = sqlite3_column_int64(stmt, 5);
    }
    int result =
        rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : zj_store_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_delete_jobs(zj_store_t *self, int64_t first, int64_t last)
{
    assert(self && first > 0 && last >= first);
    zj_job_t entry = {.id = first, .timeout_ms = last};
    return zj_store_write(
        self, &(zj_write_entry_t){ZJ_WRITE_DELETE_JOBS, entry, {0}});
}

//  Finds the last token of the chunk after after (at most max), into
//  last; *old_seen is whether one of them was made before cutoff.
static int
s_token_chunk(zj_store_t *self, const char *after, size_t max, double cutoff,
              char *last, bool *old_seen, size_t *seen)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SWEEP_TOKENS];
    zj_store_bind_text(stmt, 1, after);
    sqlite3_bind_int64(stmt, 2, (sqlite3_int64) max);
    sqlite3_bind_double(stmt, 3, cutoff);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        s_copy_text(last, ZJ_MAX_TOKEN + 1, sqlite3_column_text(stmt, 0));
        *old_seen |= sqlite3_column_int(stmt, 1) != 0;
        (*seen)++;
    }
    int result = rc == SQLITE_DONE ? 0 : zj_store_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_expire_tokens(zj_store_t *self, const char *after, size_t max,
                       double cutoff, char *last, bool *end, bool *expired)
{
    assert(self && after && last && end && expired && max > 0);
    *end = false;
    *expired = false;
    if (s_enter(self))
        return ZJ_ESTORE;
    bool old_seen = false;
    size_t seen = 0;
    snprintf(last, ZJ_MAX_TOKEN + 1, "%s", after);
    int rc = s_token_chunk(self, after, max, cutoff, last, &old_seen, &seen);
    if (rc)
        return rc;
    *end = seen < max;
    *expired = old_seen;
    if (!old_seen)
        return 0;
    zj_job_t entry = {
        .kind = (char *) after, .result = last, .finished_at = cutoff};
    return zj_store_write(
        self, &(zj_write_entry_t){ZJ_WRITE_DELETE_TOKENS, entry, {0}});
}

//  The single integer a PRAGMA statement returns.
static int64_t
s_pragma(zj_store_t *self, zj_stmt_t which)
{
    sqlite3_stmt *stmt = self->stmt[which];
    int64_t value =
        sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_reset(stmt);
    return value;
}

int
zj_store_size(zj_store_t *self, int64_t *bytes, int64_t *free_bytes)
{
    assert(self && bytes && free_bytes);
    int64_t page = s_pragma(self, ZJ_STMT_PAGE_SIZE);
    int64_t pages = s_pragma(self, ZJ_STMT_PAGE_COUNT);
    int64_t free_pages = s_pragma(self, ZJ_STMT_FREELIST_COUNT);
    if (page < 0 || pages < 0 || free_pages < 0)
        return zj_store_failed(self);
    *bytes = page * pages;
    *free_bytes = page * free_pages;
    return 0;
}

//  The rows of jobs first..last and their attempts'.
static int
s_delete_job_rows(zj_store_t *self, int64_t first, int64_t last)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_DELETE_ATTEMPTS];
    sqlite3_bind_int64(stmt, 1, first);
    sqlite3_bind_int64(stmt, 2, last);
    int rc = zj_store_step_write(self, stmt);
    if (rc)
        return rc;
    stmt = self->stmt[ZJ_STMT_DELETE_JOBS];
    sqlite3_bind_int64(stmt, 1, first);
    sqlite3_bind_int64(stmt, 2, last);
    return zj_store_step_write(self, stmt);
}

static int
s_delete_token_rows(zj_store_t *self, const zj_job_t *entry)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_DELETE_TOKENS];
    zj_store_bind_text(stmt, 1, entry->kind ? entry->kind : "");
    zj_store_bind_text(stmt, 2, entry->result ? entry->result : "");
    sqlite3_bind_double(stmt, 3, entry->finished_at);
    return zj_store_step_write(self, stmt);
}

int
zj_store_sweep_execute(zj_store_t *self, const zj_write_entry_t *entry)
{
    if (entry->what == ZJ_WRITE_DELETE_JOBS)
        return s_delete_job_rows(self, entry->job.id, entry->job.timeout_ms);
    assert(entry->what == ZJ_WRITE_DELETE_TOKENS);
    return s_delete_token_rows(self, &entry->job);
}
