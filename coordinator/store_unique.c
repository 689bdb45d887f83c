//  store_unique.c - the keys of unique jobs (table unique_keys, schema
//  v11): each key with the job it made and the end of its window. A key
//  whose window has passed counts as absent; the next job with it replaces
//  its row. Rows outlive their jobs' rows (retention), and leave only by
//  zj_store_expire_unique, a chunk of the primary key at a time.
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "coordinator/store_internal.h"

int
zj_store_find_unique(zj_store_t *self, const char *key, double now,
                     int64_t *id_p)
{
    assert(self && key && id_p);
    if (zj_store_begin_read(self) != 0)
        return ZJ_ESTORE;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_FIND_UNIQUE];
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    int result = ZJ_ENOTFOUND;
    if (rc == SQLITE_ROW && sqlite3_column_double(stmt, 1) > now) {
        *id_p = sqlite3_column_int64(stmt, 0);
        result = 0;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        result = zj_store_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_save_unique(zj_store_t *self, const char *key, int64_t id,
                     double expires_at)
{
    assert(self && key && *key && id > 0);
    zj_job_t entry = {
        .unique = (char *) key, .id = id, .not_before = expires_at};
    return zj_store_write(
        self, &(zj_write_entry_t){ZJ_WRITE_SAVE_UNIQUE, entry, {0}});
}

int
zj_store_unique_row(zj_store_t *self, const zj_job_t *entry)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SAVE_UNIQUE];
    sqlite3_bind_text(stmt, 1, entry->unique, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, entry->id);
    sqlite3_bind_double(stmt, 3, entry->not_before);
    return zj_store_step_write(self, stmt);
}

//  Deletes the row a ZJ_WRITE_SAVE_UNIQUE made (zj_store_undo).
static int
s_undo_one(void *arg, const zj_write_entry_t *entry)
{
    zj_store_t *self = arg;
    if (entry->what != ZJ_WRITE_SAVE_UNIQUE)
        return 0;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_UNDO_UNIQUE];
    sqlite3_bind_text(stmt, 1, entry->job.unique, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, entry->job.id);
    return zj_store_step_write(self, stmt);
}

void
zj_store_undo_unique(zj_store_t *self, size_t mark)
{
    if (!self->in_turn || self->degraded || self->turn_failed)
        return; //  Nothing in SQLite: the journal alone is truncated
    //  A failure fails the turn, which is then written again from the
    //  journal: without these rows.
    if (zj_journal_replay_from(self->journal, mark, s_undo_one, self) != 0)
        self->turn_failed = true;
}

int
zj_store_expire_unique_row(zj_store_t *self, const zj_job_t *entry)
{
    sqlite3_stmt *stmt = self->stmt[entry->unique ? ZJ_STMT_EXPIRE_UNIQUE_TO
                                                  : ZJ_STMT_EXPIRE_UNIQUE_REST];
    sqlite3_bind_text(stmt, 1, entry->kind ? entry->kind : "", -1,
                      SQLITE_STATIC);
    if (entry->unique)
        sqlite3_bind_text(stmt, 2, entry->unique, -1, SQLITE_STATIC);
    sqlite3_bind_double(stmt, 3, entry->finished_at);
    return zj_store_step_write(self, stmt);
}

//  The limit-th key after after_key into last[ZJ_MAX_UNIQUE + 1], or ""
//  when fewer keys follow. Returns 0 or ZJ_ESTORE.
static int
s_chunk_end(zj_store_t *self, const char *after_key, int limit, char *last)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_CHUNK_UNIQUE];
    sqlite3_bind_text(stmt, 1, after_key, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, limit - 1);
    int rc = sqlite3_step(stmt);
    int result = 0;
    last[0] = '\0';
    if (rc == SQLITE_ROW) {
        const char *key = (const char *) sqlite3_column_text(stmt, 0);
        snprintf(last, ZJ_MAX_UNIQUE + 1, "%s", key ? key : "");
    } else if (rc != SQLITE_DONE)
        result = zj_store_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_expire_unique(zj_store_t *self, const char *after_key, int limit,
                       double now, char *next_key, int *deleted)
{
    assert(self && limit >= 1 && next_key && deleted);
    assert(after_key == NULL || strlen(after_key) <= ZJ_MAX_UNIQUE);
    *deleted = 0;
    char from[ZJ_MAX_UNIQUE + 1]; //  after_key may be next_key
    snprintf(from, sizeof from, "%s", after_key ? after_key : "");
    if (!zj_store_is_writable(self) || zj_store_begin_read(self) != 0)
        return ZJ_ESTORE;
    char last[ZJ_MAX_UNIQUE + 1];
    if (s_chunk_end(self, from, limit, last) != 0)
        return ZJ_ESTORE;
    zj_job_t entry = {
        .kind = from, .unique = *last ? last : NULL, .finished_at = now};
    int before = sqlite3_total_changes(self->db);
    int rc = zj_store_write(
        self, &(zj_write_entry_t){ZJ_WRITE_EXPIRE_UNIQUE, entry, {0}});
    if (rc != 0)
        return rc;
    *deleted = sqlite3_total_changes(self->db) - before;
    memcpy(next_key, last, strlen(last) + 1);
    return 0;
}
