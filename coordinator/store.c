//  store.c - the SQLite record of jobs and workers (schema v7, WAL):
//  turns, writes and reads; store_open.c opens and closes it. Every
//  statement is prepared once and reset after each use; every value is
//  bound. The first write of a loop turn runs BEGIN IMMEDIATE and
//  zj_store_commit runs COMMIT, so one turn is one transaction (group
//  commit). Every write is also kept in a journal until its turn commits:
//  when a turn cannot be written the store stops touching SQLite, goes on
//  journaling, and zj_store_retry writes the whole journal again in one
//  transaction.
#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "coordinator/store_internal.h"

//  Column positions of ZJ_JOB_COLUMNS.
enum {
    ZJ_COL_ID,
    ZJ_COL_KIND,
    ZJ_COL_ARGS,
    ZJ_COL_STATE,
    ZJ_COL_PRIORITY,
    ZJ_COL_ATTEMPTS,
    ZJ_COL_MAX_ATTEMPTS,
    ZJ_COL_TIMEOUT_MS,
    ZJ_COL_NOT_BEFORE,
    ZJ_COL_WORKER,
    ZJ_COL_CREATED_AT,
    ZJ_COL_STARTED_AT,
    ZJ_COL_FINISHED_AT,
    ZJ_COL_RESULT,
    ZJ_COL_ERROR,
    ZJ_COL_BACKOFF_MS,
    ZJ_COL_LOSSES,
    ZJ_COL_AFTER,
    ZJ_COL_PARENT,
    ZJ_COL_CALL,
    ZJ_COL_PROGRESS_DONE,
    ZJ_COL_PROGRESS_TOTAL,
    ZJ_COL_PROGRESS_TEXT,
    ZJ_COL_PROGRESS_AT,
    ZJ_COL_RETRY_OF
};

//  A turn that has not failed holds an open transaction, and a degraded
//  store opens none. Called only in asserts.
__attribute__((unused)) static bool
s_invariants_hold(zj_store_t *self)
{
    if (self->degraded && (self->in_turn || self->turn_failed))
        return false;
    if (self->in_turn && !self->turn_failed)
        return !sqlite3_get_autocommit(self->db);
    return true;
}

//  Keeps SQLite's message and code for zj_store_last_error and
//  s_row_refused, and returns ZJ_ESTORE.
static int
s_failed(zj_store_t *self)
{
    self->error_code = sqlite3_errcode(self->db) & 0xff;
    snprintf(self->error, sizeof(self->error), "%s", sqlite3_errmsg(self->db));
    return ZJ_ESTORE;
}

//  The last failure was about the row itself, not the store: writing it
//  again would fail again.
static bool
s_row_refused(const zj_store_t *self)
{
    return self->error_code == SQLITE_CONSTRAINT ||
           self->error_code == SQLITE_MISMATCH ||
           self->error_code == SQLITE_TOOBIG ||
           self->error_code == SQLITE_RANGE;
}

//  Opens the turn's transaction at its first write.
static int
s_begin_turn(zj_store_t *self)
{
    if (self->in_turn)
        return 0;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_BEGIN];
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE)
        return s_failed(self);
    self->in_turn = true;
    return 0;
}

//  Commits the open transaction, if any.
static int
s_end_turn(zj_store_t *self)
{
    if (!self->in_turn)
        return 0;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_COMMIT];
    int result = sqlite3_step(stmt) == SQLITE_DONE ? 0 : s_failed(self);
    sqlite3_reset(stmt);
    if (result == 0)
        self->in_turn = false;
    return result;
}

//  Undoes whatever the failed turn left open (SQLite may have done it).
static void
s_abandon_turn(zj_store_t *self)
{
    if (!sqlite3_get_autocommit(self->db)) {
        sqlite3_stmt *stmt = self->stmt[ZJ_STMT_ROLLBACK];
        sqlite3_step(stmt);
        sqlite3_reset(stmt);
    }
    self->in_turn = false;
    self->turn_failed = false;
}

//  Runs a write statement whose values are bound, then resets it.
static int
s_step_write(zj_store_t *self, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    int result = rc == SQLITE_DONE ? 0 : s_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

//  Binds text, NULL as NULL. The text must live until the step.
static void
s_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    if (text)
        sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(stmt, index);
}

//  Binds unix seconds, 0 as NULL.
static void
s_bind_time(sqlite3_stmt *stmt, int index, double seconds)
{
    if (seconds != 0)
        sqlite3_bind_double(stmt, index, seconds);
    else
        sqlite3_bind_null(stmt, index);
}

//  A job's after ids as the JSON array the store keeps, or NULL for none.
//  The caller frees it.
static char *
s_after_text(const zj_job_t *job)
{
    if (job->after_count == 0)
        return NULL;
    size_t size = 2 + (size_t) job->after_count * 21;
    char *text = malloc(size);
    assert(text);
    size_t used = 0;
    text[used++] = '[';
    for (uint32_t index = 0; index < job->after_count; index++)
        used += (size_t) snprintf(text + used, size - used, "%s%" PRId64,
                                  index ? "," : "", job->after[index]);
    assert(used + 2 <= size);
    text[used++] = ']';
    text[used] = '\0';
    return text;
}

//  Reads the after column's ids into self->after (digits between other
//  characters; at most ZJ_MAX_AFTER, each >= 1).
static uint32_t
s_after_ids(zj_store_t *self, const char *text)
{
    uint32_t count = 0;
    while (text && *text && count < ZJ_MAX_AFTER) {
        if (*text < '0' || *text > '9') {
            text++;
            continue;
        }
        char *end;
        long long id = strtoll(text, &end, 10);
        if (id >= 1)
            self->after[count++] = id;
        text = end;
    }
    return count;
}

static int
s_insert_job_row(zj_store_t *self, const zj_job_t *job)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_INSERT_JOB];
    s_bind_text(stmt, 1, job->kind);
    s_bind_text(stmt, 2, job->args);
    sqlite3_bind_text(stmt, 3, zj_state_name(job->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 4, job->priority);
    sqlite3_bind_int(stmt, 5, job->attempts);
    sqlite3_bind_int(stmt, 6, job->max_attempts);
    sqlite3_bind_int64(stmt, 7, job->timeout_ms);
    s_bind_time(stmt, 8, job->not_before);
    s_bind_text(stmt, 9, job->worker);
    s_bind_time(stmt, 10, job->created_at);
    s_bind_time(stmt, 11, job->started_at);
    s_bind_time(stmt, 12, job->finished_at);
    s_bind_text(stmt, 13, job->result);
    s_bind_text(stmt, 14, job->error);
    sqlite3_bind_int64(stmt, 15, job->backoff_ms);
    sqlite3_bind_int64(stmt, 16, job->id);
    sqlite3_bind_int(stmt, 17, job->losses);
    char *after = s_after_text(job);
    if (after)
        sqlite3_bind_text(stmt, 18, after, -1, free);
    else
        sqlite3_bind_null(stmt, 18);
    if (job->parent > 0) {
        sqlite3_bind_int64(stmt, 19, job->parent);
        sqlite3_bind_int(stmt, 20, job->call);
    }
    if (job->retry_of > 0)
        sqlite3_bind_int64(stmt, 21, job->retry_of);
    return s_step_write(self, stmt);
}

static int
s_attempt_row(zj_store_t *self, const zj_job_t *job)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_INSERT_ATTEMPT];
    sqlite3_bind_int64(stmt, 1, job->id);
    sqlite3_bind_int(stmt, 2, job->attempts);
    s_bind_text(stmt, 3, job->worker);
    sqlite3_bind_text(stmt, 4, zj_state_name(job->state), -1, SQLITE_STATIC);
    s_bind_time(stmt, 5, job->started_at);
    s_bind_time(stmt, 6, job->finished_at);
    s_bind_text(stmt, 7, job->error);
    return s_step_write(self, stmt);
}

//  No row with that id is not an error: an operator may have deleted it
//  from the shell, and that must not stop the coordinator.
static int
s_update_job_row(zj_store_t *self, const zj_job_t *job)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_UPDATE_JOB];
    sqlite3_bind_int64(stmt, 1, job->id);
    sqlite3_bind_text(stmt, 2, zj_state_name(job->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 3, job->attempts);
    s_bind_time(stmt, 4, job->not_before);
    s_bind_text(stmt, 5, job->worker);
    s_bind_time(stmt, 6, job->started_at);
    s_bind_time(stmt, 7, job->finished_at);
    s_bind_text(stmt, 8, job->result);
    s_bind_text(stmt, 9, job->error);
    if (job->progress_at > 0) {
        sqlite3_bind_int64(stmt, 11, job->progress_done);
        sqlite3_bind_int64(stmt, 12, job->progress_total);
        s_bind_text(stmt, 13, job->progress_text);
        s_bind_time(stmt, 14, job->progress_at);
    }
    sqlite3_bind_int(stmt, 10, job->losses);
    return s_step_write(self, stmt);
}

//  A token row (see ZJ_WRITE_SAVE_TOKEN).
static int
s_token_row(zj_store_t *self, const zj_job_t *entry)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SAVE_TOKEN];
    s_bind_text(stmt, 1, entry->kind);
    sqlite3_bind_int64(stmt, 2, entry->id);
    sqlite3_bind_int(stmt, 3, entry->attempts);
    s_bind_text(stmt, 4, entry->result);
    sqlite3_bind_double(stmt, 5, entry->created_at);
    s_bind_text(stmt, 6, entry->args);
    return s_step_write(self, stmt);
}

//  Adds job->log to job->id's log, up to ZJ_MAX_LOG bytes; past it, the
//  log ends with ZJ_STORE_LOG_FULL once.
static int
s_log_row(zj_store_t *self, const zj_job_t *job)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_APPEND_LOG];
    sqlite3_bind_int64(stmt, 1, job->id);
    s_bind_text(stmt, 2, job->log);
    sqlite3_bind_int64(stmt, 3, ZJ_MAX_LOG);
    sqlite3_bind_text(stmt, 4, ZJ_STORE_LOG_FULL, -1, SQLITE_STATIC);
    return s_step_write(self, stmt);
}

static int s_worker_row(zj_store_t *self, const zj_worker_info_t *info);
static int s_delete_worker_row(zj_store_t *self, const zj_worker_info_t *info);
static int s_worker_state_row(zj_store_t *self, const zj_worker_info_t *info);

//  Runs one write's statement inside the open transaction.
static int
s_execute(zj_store_t *self, const zj_write_entry_t *entry)
{
    switch (entry->what) {
    case ZJ_WRITE_INSERT_JOB:
        return s_insert_job_row(self, &entry->job);
    case ZJ_WRITE_UPDATE_JOB:
        return s_update_job_row(self, &entry->job);
    case ZJ_WRITE_RECORD_ATTEMPT:
        return s_attempt_row(self, &entry->job);
    case ZJ_WRITE_SAVE_WORKER:
        return s_worker_row(self, &entry->worker);
    case ZJ_WRITE_WORKER_STATE:
        return s_worker_state_row(self, &entry->worker);
    case ZJ_WRITE_SAVE_TOKEN:
        return s_token_row(self, &entry->job);
    case ZJ_WRITE_APPEND_LOG:
        return s_log_row(self, &entry->job);
    case ZJ_WRITE_DELETE_WORKER:
        return s_delete_worker_row(self, &entry->worker);
    case ZJ_WRITE_DELETE_JOBS:
    case ZJ_WRITE_DELETE_TOKENS:
        return zj_store_sweep_execute(self, entry);
    case ZJ_WRITE_SAVE_SCHEDULE:
    case ZJ_WRITE_DELETE_SCHEDULE:
    case ZJ_WRITE_SCHEDULE_RUN:
        return zj_store_schedule_row(self, entry);
    case ZJ_WRITE_SAVE_LIMIT:
        return zj_store_limit_row(self, &entry->job);
    case ZJ_WRITE_DELETE_LIMIT:
        return zj_store_delete_limit_row(self, &entry->job);
    case ZJ_WRITE_SAVE_UNIQUE:
        return zj_store_unique_row(self, &entry->job);
    case ZJ_WRITE_EXPIRE_UNIQUE:
        return zj_store_expire_unique_row(self, &entry->job);
    }
    assert(!"unknown write");
    return ZJ_ESTORE;
}

//  Journals a write, then runs it unless the turn or the store already
//  failed. A row SQLite refuses is dropped (ZJ_ESTORE); any other failure
//  fails the turn, and zj_store_commit reports it.
static int
s_write(zj_store_t *self, const zj_write_entry_t *entry)
{
    assert(s_invariants_hold(self));
    size_t mark = zj_journal_mark(self->journal);
    zj_journal_add(self->journal, entry);
    if (self->degraded || self->turn_failed)
        return 0;
    int rc = s_begin_turn(self);
    if (rc == 0)
        rc = s_execute(self, entry);
    if (rc == 0)
        return 0;
    if (self->in_turn && s_row_refused(self)) {
        zj_journal_truncate(self->journal, mark);
        return ZJ_ESTORE;
    }
    self->turn_failed = true;
    return 0;
}

int
zj_store_write(zj_store_t *self, const zj_write_entry_t *entry)
{
    assert(self && entry);
    return s_write(self, entry);
}

int
zj_store_begin_read(zj_store_t *self)
{
    if (self->degraded || self->turn_failed)
        return 0;
    return s_begin_turn(self);
}

int
zj_store_failed(zj_store_t *self)
{
    assert(self);
    return s_failed(self);
}

int
zj_store_insert_job(zj_store_t *self, zj_job_t *job)
{
    assert(self);
    assert(job);
    job->id = self->next_id;
    int rc = s_write(self, &(zj_write_entry_t){ZJ_WRITE_INSERT_JOB, *job, {0}});
    if (rc == 0)
        self->next_id++;
    else
        job->id = 0;
    return rc;
}

zj_store_mark_t
zj_store_mark(const zj_store_t *self)
{
    assert(self);
    return (zj_store_mark_t){zj_journal_mark(self->journal), self->next_id};
}

void
zj_store_undo(zj_store_t *self, zj_store_mark_t mark)
{
    assert(self && mark.next_id <= self->next_id);
    zj_store_undo_unique(self, mark.writes);
    zj_journal_truncate(self->journal, mark.writes);
    if (self->in_turn && !self->degraded && !self->turn_failed &&
        mark.next_id < self->next_id) {
        sqlite3_stmt *stmt = self->stmt[ZJ_STMT_UNDO_JOBS];
        sqlite3_bind_int64(stmt, 1, mark.next_id);
        sqlite3_bind_int64(stmt, 2, self->next_id);
        //  A failure fails the turn, which is then written again from the
        //  journal: without these rows.
        if (s_step_write(self, stmt) != 0)
            self->turn_failed = true;
    }
    self->next_id = mark.next_id;
}

int
zj_store_record_attempt(zj_store_t *self, const zj_job_t *job)
{
    assert(self);
    assert(job);
    return s_write(self,
                   &(zj_write_entry_t){ZJ_WRITE_RECORD_ATTEMPT, *job, {0}});
}

int
zj_store_update_job(zj_store_t *self, const zj_job_t *job)
{
    assert(self);
    assert(job);
    return s_write(self, &(zj_write_entry_t){ZJ_WRITE_UPDATE_JOB, *job, {0}});
}

//  Fills *job from the current row. The strings are borrowed from the
//  statement: valid until its next step or reset.
static void
s_job_from_row(zj_store_t *self, sqlite3_stmt *stmt, zj_job_t *job)
{
    *job = (zj_job_t){
        .id = sqlite3_column_int64(stmt, ZJ_COL_ID),
        .kind = (char *) sqlite3_column_text(stmt, ZJ_COL_KIND),
        .args = (char *) sqlite3_column_text(stmt, ZJ_COL_ARGS),
        .state = zj_state_from_name(
            (const char *) sqlite3_column_text(stmt, ZJ_COL_STATE)),
        .priority = sqlite3_column_int(stmt, ZJ_COL_PRIORITY),
        .attempts = sqlite3_column_int(stmt, ZJ_COL_ATTEMPTS),
        .max_attempts = sqlite3_column_int(stmt, ZJ_COL_MAX_ATTEMPTS),
        .timeout_ms = sqlite3_column_int64(stmt, ZJ_COL_TIMEOUT_MS),
        .not_before = sqlite3_column_double(stmt, ZJ_COL_NOT_BEFORE),
        .worker = (char *) sqlite3_column_text(stmt, ZJ_COL_WORKER),
        .created_at = sqlite3_column_double(stmt, ZJ_COL_CREATED_AT),
        .started_at = sqlite3_column_double(stmt, ZJ_COL_STARTED_AT),
        .finished_at = sqlite3_column_double(stmt, ZJ_COL_FINISHED_AT),
        .result = (char *) sqlite3_column_text(stmt, ZJ_COL_RESULT),
        .error = (char *) sqlite3_column_text(stmt, ZJ_COL_ERROR),
        .backoff_ms = sqlite3_column_int64(stmt, ZJ_COL_BACKOFF_MS),
        .losses = sqlite3_column_int(stmt, ZJ_COL_LOSSES),
        .parent = sqlite3_column_int64(stmt, ZJ_COL_PARENT),
        .call = sqlite3_column_int(stmt, ZJ_COL_CALL),
        .progress_done = sqlite3_column_int64(stmt, ZJ_COL_PROGRESS_DONE),
        .progress_total = sqlite3_column_int64(stmt, ZJ_COL_PROGRESS_TOTAL),
        .progress_text =
            (char *) sqlite3_column_text(stmt, ZJ_COL_PROGRESS_TEXT),
        .progress_at = sqlite3_column_double(stmt, ZJ_COL_PROGRESS_AT),
        .retry_of = sqlite3_column_int64(stmt, ZJ_COL_RETRY_OF),
    };
    const char *after = (const char *) sqlite3_column_text(stmt, ZJ_COL_AFTER);
    job->after_count = s_after_ids(self, after);
    job->after = job->after_count ? self->after : NULL;
}

//  A SUBMIT's ids as the JSON array its token row keeps, or NULL when they
//  are first_id, first_id + 1, ... (the row's first_id and count say it).
//  The caller frees it.
static char *
s_token_ids(const int64_t *ids, size_t count)
{
    bool follow = true;
    for (size_t index = 1; follow && index < count; index++)
        follow = ids[index] == ids[index - 1] + 1;
    if (follow)
        return NULL;
    zj_job_t list = {.after = (int64_t *) ids, .after_count = (uint32_t) count};
    return s_after_text(&list);
}

int
zj_store_save_token(zj_store_t *self, const char *token, const int64_t *ids,
                    size_t count, const char *digest, double now)
{
    assert(self && token && ids && digest);
    assert(count >= 1 && count <= ZJ_MAX_BATCH);
    zj_job_t entry = {.kind = (char *) token,
                      .id = ids[0],
                      .attempts = (int32_t) count,
                      .result = (char *) digest,
                      .created_at = now,
                      .args = s_token_ids(ids, count)};
    int rc =
        s_write(self, &(zj_write_entry_t){ZJ_WRITE_SAVE_TOKEN, entry, {0}});
    free(entry.args);
    return rc;
}

//  A token row's ids into a new array of count: first_id.. or, when the
//  row keeps them, its JSON array (which must hold count ids). NULL when
//  they are not count job ids (a row damaged by hand).
static int64_t *
s_read_token_ids(int64_t first_id, size_t count, const char *text)
{
    int64_t *ids = malloc((count ? count : 1) * sizeof *ids);
    assert(ids);
    size_t found = 0;
    while (text && *text && found < count) {
        if (*text < '0' || *text > '9') {
            text++;
            continue;
        }
        char *end;
        ids[found++] = strtoll(text, &end, 10);
        text = end;
    }
    if (text == NULL)
        for (; found < count; found++)
            ids[found] = first_id + (int64_t) found;
    bool valid = found == count;
    for (size_t index = 0; valid && index < count; index++)
        valid = ids[index] >= 1;
    if (!valid) {
        free(ids);
        return NULL;
    }
    return ids;
}

int
zj_store_find_token(zj_store_t *self, const char *token, int64_t **ids_p,
                    size_t *count, char *digest)
{
    assert(self && token && ids_p && count && digest);
    *ids_p = NULL;
    if (zj_store_begin_read(self) != 0)
        return ZJ_ESTORE;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_FIND_TOKEN];
    s_bind_text(stmt, 1, token);
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW) {
        int64_t first_id = sqlite3_column_int64(stmt, 0);
        int64_t stored = sqlite3_column_int64(stmt, 1);
        *count = stored > 0 && stored <= ZJ_MAX_BATCH ? (size_t) stored : 0;
        const char *text = (const char *) sqlite3_column_text(stmt, 2);
        snprintf(digest, ZJ_STORE_DIGEST_SIZE, "%s", text ? text : "");
        *ids_p = s_read_token_ids(first_id, *count,
                                  (const char *) sqlite3_column_text(stmt, 3));
        if (*ids_p == NULL) {
            snprintf(self->error, sizeof self->error,
                     "token '%s': its row's ids are damaged", token);
            result = ZJ_ESTORE;
        }
    } else
        result = rc == SQLITE_DONE ? ZJ_ENOTFOUND : s_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_append_log(zj_store_t *self, int64_t id, const char *text)
{
    assert(self && id > 0 && text);
    zj_job_t entry = {.id = id, .log = (char *) text};
    return s_write(self, &(zj_write_entry_t){ZJ_WRITE_APPEND_LOG, entry, {0}});
}

int
zj_store_get_log(zj_store_t *self, int64_t id, zj_state_t *state, char **log_p)
{
    assert(self && state && log_p);
    *log_p = NULL;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_GET_LOG];
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW) {
        *state =
            zj_state_from_name((const char *) sqlite3_column_text(stmt, 0));
        const char *log = (const char *) sqlite3_column_text(stmt, 1);
        *log_p = log ? strdup(log) : NULL;
    } else
        result = rc == SQLITE_DONE ? ZJ_ENOTFOUND : s_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_find_child(zj_store_t *self, int64_t parent, int32_t call,
                    int64_t *id_p)
{
    assert(self && parent > 0 && call > 0 && id_p);
    if (!self->degraded && !self->turn_failed && s_begin_turn(self) != 0)
        return ZJ_ESTORE;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_FIND_CHILD];
    sqlite3_bind_int64(stmt, 1, parent);
    sqlite3_bind_int(stmt, 2, call);
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW)
        *id_p = sqlite3_column_int64(stmt, 0);
    else
        result = rc == SQLITE_DONE ? ZJ_ENOTFOUND : s_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

static uint64_t
s_fnv(uint64_t hash, const void *data, size_t size)
{
    const unsigned char *bytes = data;
    for (size_t index = 0; index < size; index++)
        hash = (hash ^ bytes[index]) * 0x100000001b3ULL;
    return hash;
}

//  Strings count with their NUL, so "ab" + "c" differs from "a" + "bc";
//  an absent one counts as one byte 0xff, unlike "".
static uint64_t
s_fnv_text(uint64_t hash, const char *text)
{
    static const unsigned char absent = 0xff;
    return text ? s_fnv(hash, text, strlen(text) + 1) : s_fnv(hash, &absent, 1);
}

void
zj_store_batch_digest(const zj_job_t *jobs, size_t count, char *digest)
{
    assert(jobs || count == 0);
    assert(digest);
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (size_t index = 0; index < count; index++) {
        const zj_job_t *job = &jobs[index];
        int64_t numbers[] = {job->priority, job->max_attempts, job->timeout_ms,
                             job->delay_ms, job->backoff_ms};
        hash = s_fnv_text(hash, job->kind);
        hash = s_fnv_text(hash, job->args);
        hash = s_fnv(hash, numbers, sizeof numbers);
        if (job->unique) { //  Only then: older digests stay the same
            hash = s_fnv_text(hash, job->unique);
            hash = s_fnv(hash, &job->unique_for_ms, sizeof job->unique_for_ms);
        }
    }
    snprintf(digest, ZJ_STORE_DIGEST_SIZE, "%016" PRIx64, hash);
}

int
zj_store_get_job(zj_store_t *self, int64_t id, zj_job_t *job)
{
    assert(self);
    assert(job);
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_GET_JOB];
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW) {
        zj_job_t row;
        s_job_from_row(self, stmt, &row);
        zj_job_copy(job, &row);
    } else
        result = rc == SQLITE_DONE ? ZJ_ENOTFOUND : s_failed(self);
    sqlite3_reset(stmt);
    return result;
}

int
zj_store_job_state(zj_store_t *self, int64_t id, zj_state_t *state)
{
    assert(self && state);
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_GET_STATE];
    sqlite3_bind_int64(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    int result = 0;
    if (rc == SQLITE_ROW) {
        const char *name = (const char *) sqlite3_column_text(stmt, 0);
        *state = name ? zj_state_from_name(name) : ZJ_STATE_NONE;
    } else
        result = rc == SQLITE_DONE ? ZJ_ENOTFOUND : s_failed(self);
    sqlite3_reset(stmt);
    return result;
}

//  Steps a read statement whose values are bound, calls fn with each row
//  as a borrowed job, then resets it.
static int
s_each_job(zj_store_t *self, sqlite3_stmt *stmt, zj_store_job_fn *fn, void *arg)
{
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        zj_job_t job;
        s_job_from_row(self, stmt, &job);
        fn(arg, &job);
    }
    int result = rc == SQLITE_DONE ? 0 : s_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_list_jobs(zj_store_t *self, const char *state, int limit,
                   zj_store_job_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    sqlite3_stmt *stmt =
        self->stmt[state ? ZJ_STMT_LIST_JOBS_IN : ZJ_STMT_LIST_JOBS];
    sqlite3_bind_int(stmt, 1, limit > 0 ? limit : ZJ_STORE_LIST_LIMIT);
    if (state)
        sqlite3_bind_text(stmt, 2, state, -1, SQLITE_STATIC);
    return s_each_job(self, stmt, fn, arg);
}

int
zj_store_list_before(zj_store_t *self, zj_state_t state, int64_t before,
                     int limit, zj_store_job_fn *fn, void *arg)
{
    assert(self && before > 0 && limit > 0 && fn);
    bool any = state == ZJ_STATE_NONE;
    sqlite3_stmt *stmt =
        self->stmt[any ? ZJ_STMT_LIST_BEFORE : ZJ_STMT_LIST_IN_BEFORE];
    sqlite3_bind_int(stmt, 1, limit);
    sqlite3_bind_int64(stmt, 2, before);
    if (!any)
        sqlite3_bind_text(stmt, 3, zj_state_name(state), -1, SQLITE_STATIC);
    return s_each_job(self, stmt, fn, arg);
}

int
zj_store_scan_jobs(zj_store_t *self, int64_t before, int rows,
                   zj_store_scan_fn *fn, void *arg, int64_t *last_id)
{
    assert(self && before > 0 && rows > 0 && fn && last_id);
    *last_id = 0;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_LIST_BEFORE];
    sqlite3_bind_int(stmt, 1, rows);
    sqlite3_bind_int64(stmt, 2, before);
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        zj_job_t job;
        s_job_from_row(self, stmt, &job);
        *last_id = job.id;
        if (!fn(arg, &job)) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int result = rc == SQLITE_DONE ? 0 : s_failed(self);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    return result;
}

int
zj_store_list_children(zj_store_t *self, int64_t parent, const char *state,
                       int limit, zj_store_job_fn *fn, void *arg)
{
    assert(self && parent > 0 && fn);
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_LIST_CHILDREN];
    sqlite3_bind_int(stmt, 1, limit > 0 ? limit : ZJ_STORE_LIST_LIMIT);
    sqlite3_bind_int64(stmt, 2, parent);
    if (state)
        sqlite3_bind_text(stmt, 3, state, -1, SQLITE_STATIC);
    return s_each_job(self, stmt, fn, arg);
}

int
zj_store_recover(zj_store_t *self, zj_store_job_fn *fn, void *arg,
                 int64_t *requeued)
{
    assert(self);
    assert(fn);
    assert(requeued);
    *requeued = 0;
    int rc = s_begin_turn(self);
    if (rc)
        return rc;
    const char *queued = zj_state_name(ZJ_STATE_QUEUED);
    const char *running = zj_state_name(ZJ_STATE_RUNNING);
    //  The callback sees each job as the dead run left it, so it can tell
    //  the jobs that were running from those that were waiting.
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_LIST_UNFINISHED];
    sqlite3_bind_text(stmt, 1, queued, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, running, -1, SQLITE_STATIC);
    if ((rc = s_each_job(self, stmt, fn, arg)))
        return rc;
    stmt = self->stmt[ZJ_STMT_REQUEUE];
    sqlite3_bind_text(stmt, 1, queued, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, running, -1, SQLITE_STATIC);
    if ((rc = s_step_write(self, stmt)))
        return rc;
    *requeued = sqlite3_changes(self->db);
    return 0;
}

//  Returns the worker's kinds as the JSON object text {"echo":"io",...}
//  (caller frees), or NULL when out of memory.
static char *
s_kinds_to_json(const zj_worker_info_t *info)
{
    json_t *object = json_object();
    if (object == NULL)
        return NULL;
    for (size_t index = 0; index < info->kind_count; index++) {
        const zj_kind_t *kind = &info->kinds[index];
        if (kind->name == NULL)
            continue;
        json_object_set_new(object, kind->name,
                            json_string(zj_class_name(kind->klass)));
    }
    char *text = json_dumps(object, JSON_COMPACT);
    json_decref(object);
    return text;
}

static int
s_worker_row(zj_store_t *self, const zj_worker_info_t *info)
{
    char *kinds = s_kinds_to_json(info);
    if (kinds == NULL) {
        snprintf(self->error, sizeof(self->error), "out of memory");
        self->error_code = SQLITE_NOMEM;
        return ZJ_ENOMEM;
    }
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SAVE_WORKER];
    s_bind_text(stmt, 1, info->name);
    s_bind_text(stmt, 2, info->host);
    sqlite3_bind_int64(stmt, 3, info->pid);
    sqlite3_bind_int(stmt, 4, info->io_slots);
    sqlite3_bind_int(stmt, 5, info->cpu_slots);
    s_bind_text(stmt, 6, kinds);
    s_bind_time(stmt, 7, info->connected_at);
    s_bind_time(stmt, 8, info->last_seen);
    s_bind_text(stmt, 9, info->state);
    int rc = s_step_write(self, stmt);
    free(kinds);
    return rc;
}

//  No such worker: nothing to do.
static int
s_worker_state_row(zj_store_t *self, const zj_worker_info_t *info)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_SET_WORKER];
    sqlite3_bind_text(stmt, 1, info->name, -1, SQLITE_STATIC);
    s_bind_text(stmt, 2, info->state);
    s_bind_time(stmt, 3, info->last_seen);
    return s_step_write(self, stmt);
}

int
zj_store_save_worker(zj_store_t *self, const zj_worker_info_t *info)
{
    assert(self);
    assert(info);
    return s_write(self, &(zj_write_entry_t){ZJ_WRITE_SAVE_WORKER, {0}, *info});
}

int
zj_store_set_worker_state(zj_store_t *self, const char *name, const char *state,
                          double last_seen)
{
    assert(self);
    assert(name);
    zj_worker_info_t info = {
        .name = (char *) name, .state = (char *) state, .last_seen = last_seen};
    return s_write(self, &(zj_write_entry_t){ZJ_WRITE_WORKER_STATE, {0}, info});
}

int
zj_store_delete_worker(zj_store_t *self, const char *name)
{
    assert(self && name);
    zj_worker_info_t info = {.name = (char *) name};
    return s_write(self,
                   &(zj_write_entry_t){ZJ_WRITE_DELETE_WORKER, {0}, info});
}

static int
s_delete_worker_row(zj_store_t *self, const zj_worker_info_t *info)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_DELETE_WORKER];
    s_bind_text(stmt, 1, info->name);
    return s_step_write(self, stmt);
}

int
zj_store_forget_workers(zj_store_t *self)
{
    assert(self);
    int rc = s_begin_turn(self);
    if (rc)
        return rc;
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_FORGET_WORKERS];
    sqlite3_bind_text(stmt, 1, "gone", -1, SQLITE_STATIC);
    return s_step_write(self, stmt);
}

//  Parses the kinds column into info->kinds (an array the caller frees;
//  its names are borrowed from *root, which the caller decrefs). Text
//  that is not a JSON object, and entries whose class is unknown, are
//  skipped: the column may have been edited by hand.
static void
s_kinds_from_json(const char *text, zj_worker_info_t *info, json_t **root)
{
    *root = text ? json_loads(text, 0, NULL) : NULL;
    if (!json_is_object(*root) || json_object_size(*root) == 0)
        return;
    info->kinds = calloc(json_object_size(*root), sizeof(zj_kind_t));
    if (info->kinds == NULL)
        return;
    const char *name;
    json_t *value;
    json_object_foreach(*root, name, value) {
        int klass = zj_class_from_name(json_string_value(value));
        if (klass < 0)
            continue;
        info->kinds[info->kind_count++] =
            (zj_kind_t){.name = (char *) name, .klass = (zj_class_t) klass};
    }
}

int
zj_store_list_workers(zj_store_t *self, zj_store_worker_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_LIST_WORKERS];
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        zj_worker_info_t info = {
            .name = (char *) sqlite3_column_text(stmt, 0),
            .host = (char *) sqlite3_column_text(stmt, 1),
            .pid = sqlite3_column_int64(stmt, 2),
            .io_slots = sqlite3_column_int(stmt, 3),
            .cpu_slots = sqlite3_column_int(stmt, 4),
            .connected_at = sqlite3_column_double(stmt, 6),
            .last_seen = sqlite3_column_double(stmt, 7),
            .state = (char *) sqlite3_column_text(stmt, 8),
        };
        json_t *root = NULL;
        s_kinds_from_json((const char *) sqlite3_column_text(stmt, 5), &info,
                          &root);
        fn(arg, &info);
        free(info.kinds);
        json_decref(root);
    }
    int result = rc == SQLITE_DONE ? 0 : s_failed(self);
    sqlite3_reset(stmt);
    return result;
}

bool
zj_store_in_turn(const zj_store_t *self)
{
    assert(self);
    return self->in_turn;
}

bool
zj_store_is_writable(const zj_store_t *self)
{
    assert(self);
    return !self->degraded && !self->turn_failed;
}

size_t
zj_store_pending(const zj_store_t *self)
{
    assert(self);
    return zj_journal_count(self->journal);
}

int
zj_store_commit(zj_store_t *self)
{
    assert(self);
    if (self->degraded)
        return ZJ_ESTORE;
    if (!self->turn_failed && s_end_turn(self) == 0) {
        zj_journal_clear(self->journal);
        return 0;
    }
    s_abandon_turn(self);
    self->degraded = true;
    assert(s_invariants_hold(self));
    return ZJ_ESTORE;
}

//  A row refused now was refused when it was first written too, and
//  dropped then; one journaled while the store was down is dropped here.
static int
s_replay_one(void *arg, const zj_write_entry_t *entry)
{
    zj_store_t *self = arg;
    int rc = s_execute(self, entry);
    return rc && s_row_refused(self) ? 0 : rc;
}

int
zj_store_retry(zj_store_t *self)
{
    assert(self);
    if (!self->degraded)
        return 0;
    if (self->gone)
        return ZJ_ESTORE;
    int rc = s_begin_turn(self);
    if (rc == 0)
        rc = zj_journal_replay(self->journal, s_replay_one, self);
    if (rc == 0)
        rc = s_end_turn(self);
    if (rc) {
        s_abandon_turn(self);
        return ZJ_ESTORE;
    }
    self->degraded = false;
    zj_journal_clear(self->journal);
    assert(s_invariants_hold(self));
    return 0;
}

const char *
zj_store_last_error(const zj_store_t *self)
{
    assert(self);
    return self->error;
}

int
zj_store_begin_turn(zj_store_t *self)
{
    return s_begin_turn(self);
}

int
zj_store_step_write(zj_store_t *self, sqlite3_stmt *stmt)
{
    return s_step_write(self, stmt);
}

void
zj_store_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
    s_bind_text(stmt, index, text);
}

void
zj_store_bind_time(sqlite3_stmt *stmt, int index, double seconds)
{
    s_bind_time(stmt, index, seconds);
}
