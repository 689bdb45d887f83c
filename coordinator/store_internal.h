//  store_internal.h - what store.c (reads, writes, turns),
//  store_open.c (opening, migrating, checkpointing, closing) and
//  store_limits.c (the limits table) share: the store's struct and its
//  prepared statements. Not for other files.
#ifndef ZJ_STORE_INTERNAL_H
#define ZJ_STORE_INTERNAL_H

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "coordinator/background.h"
#include "coordinator/journal.h"
#include "coordinator/store.h"
#include "proto/limits.h"

#define ZJ_STORE_SCHEMA 14         //  The newest schema this code knows
#define ZJ_STORE_OPEN_BUSY_MS 2000 //  Longest wait for a lock when opening
#define ZJ_STORE_BUSY_MS 250       //  ... and in a turn, which blocks the loop
#define ZJ_STORE_LIST_LIMIT 100    //  Rows zj_store_list_jobs gives for limit 0
#define ZJ_STORE_CHECKPOINT_MS 1000 //  ... which runs at least this often

#define ZJ_JOB_COLUMNS                                                         \
    "id, kind, args, state, priority, attempts, max_attempts,"                 \
    " timeout_ms, not_before, worker, created_at, started_at,"                 \
    " finished_at, result, error, backoff_ms, losses, after, parent, call,"    \
    " progress_done, progress_total, progress_text, progress_at, retry_of"

//  Every statement the store runs, prepared once.
#define ZJ_STMT_MAP(XX)                                                        \
    XX(BEGIN, "BEGIN IMMEDIATE")                                               \
    XX(COMMIT, "COMMIT")                                                       \
    XX(ROLLBACK, "ROLLBACK")                                                   \
    XX(INSERT_JOB, "INSERT INTO jobs (kind, args, state, priority,"            \
                   " attempts, max_attempts, timeout_ms, not_before,"          \
                   " worker, created_at, started_at, finished_at,"             \
                   " result, error, backoff_ms, id, losses, after, parent,"    \
                   " call, retry_of) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"  \
                   " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"    \
                   " ?20, ?21)")                                               \
    XX(NEXT_ID, "SELECT coalesce(max(id), 0) + 1 FROM jobs")                   \
    XX(INSERT_ATTEMPT, "INSERT OR REPLACE INTO attempts (job_id, attempt,"     \
                       " worker, state, started_at, finished_at, error)"       \
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                 \
    XX(UPDATE_JOB, "UPDATE jobs SET state = ?2, attempts = ?3,"                \
                   " not_before = ?4, worker = ?5, started_at = ?6,"           \
                   " finished_at = ?7, result = ?8, error = ?9,"               \
                   " losses = ?10, progress_done = ?11,"                       \
                   " progress_total = ?12, progress_text = ?13,"               \
                   " progress_at = ?14 WHERE id = ?1")                         \
    XX(GET_JOB, "SELECT " ZJ_JOB_COLUMNS " FROM jobs WHERE id = ?1")           \
    XX(GET_STATE, "SELECT state FROM jobs WHERE id = ?1")                      \
    XX(LIST_JOBS, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                        \
                  " ORDER BY id DESC LIMIT ?1")                                \
    XX(LIST_JOBS_IN, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                     \
                     " WHERE state = ?2 ORDER BY id DESC LIMIT ?1")            \
    XX(LIST_CHILDREN, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                    \
                      " WHERE parent = ?2 AND (?3 IS NULL OR state = ?3)"      \
                      " ORDER BY call LIMIT ?1")                               \
    XX(REQUEUE, "UPDATE jobs SET state = ?1 WHERE state = ?2")                 \
    XX(LIST_UNFINISHED, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                  \
                        " WHERE state IN (?1, ?2) ORDER BY id")                \
    XX(SAVE_WORKER, "INSERT OR REPLACE INTO workers (name, host, pid,"         \
                    " io_slots, cpu_slots, kinds, connected_at,"               \
                    " last_seen, state)"                                       \
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")            \
    XX(SET_WORKER, "UPDATE workers SET state = ?2, last_seen = ?3"             \
                   " WHERE name = ?1")                                         \
    XX(FORGET_WORKERS, "UPDATE workers SET state = ?1"                         \
                       " WHERE state IS NOT ?1")                               \
    XX(DELETE_WORKER, "DELETE FROM workers WHERE name = ?1"                    \
                      " AND state IS NOT 'connected'")                         \
    XX(LIST_WORKERS, "SELECT name, host, pid, io_slots, cpu_slots,"            \
                     " kinds, connected_at, last_seen, state"                  \
                     " FROM workers ORDER BY name")                            \
    XX(UNDO_JOBS, "DELETE FROM jobs WHERE id >= ?1 AND id < ?2")               \
    XX(FIND_TOKEN, "SELECT first_id, count, digest, ids FROM submit_tokens"    \
                   " WHERE token = ?1")                                        \
    XX(FIND_CHILD, "SELECT id FROM jobs WHERE parent = ?1 AND call = ?2")      \
    XX(APPEND_LOG,                                                             \
       "UPDATE jobs SET log = CASE"                                            \
       " WHEN log IS NULL THEN ?2"                                             \
       " WHEN length(CAST(log AS BLOB)) + length(CAST(?2 AS BLOB))"            \
       " <= ?3 THEN log || ?2"                                                 \
       " WHEN substr(log, -length(?4)) = ?4 THEN log"                          \
       " ELSE log || ?4 END WHERE id = ?1")                                    \
    XX(GET_LOG, "SELECT state, log FROM jobs WHERE id = ?1")                   \
    XX(SAVE_TOKEN, "INSERT OR REPLACE INTO submit_tokens (token, first_id,"    \
                   " count, digest, created_at, ids)"                          \
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)")                         \
    XX(SWEEP_JOBS, "SELECT id, kind, state, created_at, finished_at, parent"   \
                   " FROM jobs WHERE id > ?1 ORDER BY id LIMIT ?2")            \
    XX(DELETE_JOBS, "DELETE FROM jobs WHERE id BETWEEN ?1 AND ?2")             \
    XX(DELETE_ATTEMPTS, "DELETE FROM attempts WHERE job_id BETWEEN ?1 AND ?2") \
    XX(SWEEP_TOKENS, "SELECT token, created_at < ?3 FROM submit_tokens"        \
                     " WHERE token > ?1 ORDER BY token LIMIT ?2")              \
    XX(DELETE_TOKENS, "DELETE FROM submit_tokens WHERE token > ?1"             \
                      " AND token <= ?2 AND created_at < ?3")                  \
    XX(PAGE_COUNT, "PRAGMA page_count")                                        \
    XX(FREELIST_COUNT, "PRAGMA freelist_count")                                \
    XX(PAGE_SIZE, "PRAGMA page_size")                                          \
    XX(SAVE_SCHEDULE, "INSERT OR REPLACE INTO schedules (name, every_ms,"      \
                      " cron, kind, args, priority, max_attempts,"             \
                      " timeout_ms, backoff_ms, next_at, last_at, last_id,"    \
                      " created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"   \
                      " ?9, ?10, ?11, ?12, ?13)")                              \
    XX(DELETE_SCHEDULE, "DELETE FROM schedules WHERE name = ?1")               \
    XX(LIST_SCHEDULES, "SELECT name, every_ms, cron, kind, args, priority,"    \
                       " max_attempts, timeout_ms, backoff_ms, next_at,"       \
                       " last_at, last_id, created_at FROM schedules"          \
                       " ORDER BY name")                                       \
    XX(SCHEDULE_RUN, "INSERT INTO schedule_runs (job_id, name, due_at)"        \
                     " VALUES (?1, ?2, ?3)")                                   \
    XX(SAVE_LIMIT, "INSERT OR REPLACE INTO limits (kind, concurrency, rate,"   \
                   " burst, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)")          \
    XX(DELETE_LIMIT, "DELETE FROM limits WHERE kind = ?1")                     \
    XX(LIST_LIMITS, "SELECT kind, concurrency, rate, burst, updated_at"        \
                    " FROM limits ORDER BY kind")                              \
    XX(LIST_BEFORE, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                      \
                    " WHERE id < ?2 ORDER BY id DESC LIMIT ?1")                \
    XX(LIST_IN_BEFORE, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                   \
                       " WHERE state = ?3 AND id < ?2"                         \
                       " ORDER BY id DESC LIMIT ?1")                           \
    XX(FIND_UNIQUE, "SELECT id, expires_at FROM unique_keys WHERE key = ?1")   \
    XX(SAVE_UNIQUE, "INSERT OR REPLACE INTO unique_keys (key, id,"             \
                    " expires_at) VALUES (?1, ?2, ?3)")                        \
    XX(UNDO_UNIQUE, "DELETE FROM unique_keys WHERE key = ?1 AND id = ?2")      \
    XX(CHUNK_UNIQUE, "SELECT key FROM unique_keys WHERE key > ?1"              \
                     " ORDER BY key LIMIT 1 OFFSET ?2")                        \
    XX(EXPIRE_UNIQUE_TO, "DELETE FROM unique_keys WHERE key > ?1"              \
                         " AND key <= ?2 AND expires_at <= ?3")                \
    XX(EXPIRE_UNIQUE_REST, "DELETE FROM unique_keys WHERE key > ?1"            \
                           " AND expires_at <= ?3")

typedef enum {
#define XX(name, sql) ZJ_STMT_##name,
    ZJ_STMT_MAP(XX)
#undef XX
        ZJ_STMT_COUNT
} zj_stmt_t;

struct zj_store {
    sqlite3 *db;                       //  Open handle, WAL mode
    sqlite3_stmt *stmt[ZJ_STMT_COUNT]; //  Prepared once, by zj_stmt_t
    zj_journal_t *journal;             //  Writes since the last commit
    int64_t next_id;                   //  Id of the next job inserted
    bool in_turn;                      //  A transaction is open
    bool turn_failed;                  //  A write of this turn failed
    bool degraded;                     //  A commit failed: journal only
    bool gone;                         //  The file is gone: degraded for good
    int error_code;                    //  Last SQLite error (primary code)
    char error[ZJ_WHY_SIZE];           //  Last SQLite error message
    bool wal;                          //  A file in WAL mode (not :memory:)
    sqlite3 *checkpoint_db;            //  The checkpointer's own handle
    zj_background_t *checkpointer;     //  Copies the WAL into the file
    atomic_long checkpoints;           //  Checkpoints the thread has run
    int wal_pages;                     //  WAL pages after the last commit
    int wake_at;                       //  ... at which to wake the thread
    int help_at;                       //  ... past which the loop helps
    int64_t after[ZJ_MAX_AFTER];       //  A row's after ids, as read
};

//  What store.c lends the files that add writes and reads of their own
//  (store_sweep.c, store_schedules.c, store_limits.c): see the static
//  functions of the same name there.
int zj_store_write(zj_store_t *self, const zj_write_entry_t *entry);
int zj_store_failed(zj_store_t *self);
int zj_store_begin_turn(zj_store_t *self);
int zj_store_step_write(zj_store_t *self, sqlite3_stmt *stmt);
void zj_store_bind_text(sqlite3_stmt *stmt, int index, const char *text);
void zj_store_bind_time(sqlite3_stmt *stmt, int index, double seconds);

//  Runs one of store_sweep.c's writes (ZJ_WRITE_DELETE_JOBS,
//  ZJ_WRITE_DELETE_TOKENS) inside the open transaction.
int zj_store_sweep_execute(zj_store_t *self, const zj_write_entry_t *entry);

//  Runs one schedule write (ZJ_WRITE_SAVE_SCHEDULE, _DELETE_SCHEDULE,
//  _SCHEDULE_RUN) inside the open transaction (store_schedules.c).
int zj_store_schedule_row(zj_store_t *self, const zj_write_entry_t *entry);

//  The rows of ZJ_WRITE_SAVE_LIMIT and ZJ_WRITE_DELETE_LIMIT
//  (store_limits.c).
int zj_store_limit_row(zj_store_t *self, const zj_job_t *entry);
int zj_store_delete_limit_row(zj_store_t *self, const zj_job_t *entry);

//  Opens the turn's transaction for a read inside it, unless the turn
//  failed or the store is degraded. Returns 0 or ZJ_ESTORE.
int zj_store_begin_read(zj_store_t *self);

//  store_unique.c: the rows of its journaled writes (ZJ_WRITE_*_UNIQUE),
//  and the undo of the keys saved since a journal mark.
int zj_store_unique_row(zj_store_t *self, const zj_job_t *entry);
int zj_store_expire_unique_row(zj_store_t *self, const zj_job_t *entry);
void zj_store_undo_unique(zj_store_t *self, size_t mark);

#endif
