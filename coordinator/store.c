//  store.c - the SQLite record of jobs and workers (schema v2, WAL).
//  The only file that includes <sqlite3.h>. Every statement is prepared
//  once in zj_store_new and reset after each use; every value is bound.
//  The first write of a loop turn runs BEGIN IMMEDIATE and zj_store_commit
//  runs COMMIT, so one turn is one transaction (group commit). Every write
//  is also kept in a journal until its turn commits: when a turn cannot be
//  written the store stops touching SQLite, goes on journaling, and
//  zj_store_retry writes the whole journal again in one transaction.
#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "coordinator/background.h"
#include "coordinator/journal.h"
#include "coordinator/store.h"
#include "proto/limits.h"

#define ZJ_STORE_SCHEMA 2       //  The newest schema this code knows
#define ZJ_STORE_OPEN_BUSY_MS 2000 //  Longest wait for a lock when opening
#define ZJ_STORE_BUSY_MS 250    //  ... and in a turn, which blocks the loop
#define ZJ_STORE_LIST_LIMIT 100 //  Rows zj_store_list_jobs gives for limit 0
#define ZJ_STORE_CHECKPOINT_PAGES 1000 //  WAL pages that wake the checkpointer
#define ZJ_STORE_CHECKPOINT_MS 1000    //  ... which runs at least this often

//  Schema steps: s_migrations[v] takes a database from version v to v + 1
//  and ends by setting user_version. Names and types are DESIGN.md's.
//  jobs_state serves the hot reads (recover, LIST by state, queue depth),
//  which all filter on one state and walk by id; jobs_running is partial,
//  so it costs nothing for jobs that are not running and answers "what
//  runs on worker w" for WORKERS.
static const char *s_migrations[ZJ_STORE_SCHEMA] = {
    "CREATE TABLE jobs ("
    " id INTEGER PRIMARY KEY, kind TEXT NOT NULL, args TEXT,"
    " state TEXT NOT NULL, priority INTEGER, attempts INTEGER,"
    " max_attempts INTEGER, timeout_ms INTEGER, not_before REAL,"
    " worker TEXT, created_at REAL, started_at REAL, finished_at REAL,"
    " result TEXT, error TEXT);"
    "CREATE TABLE workers ("
    " name TEXT PRIMARY KEY, host TEXT, pid INTEGER, io_slots INTEGER,"
    " cpu_slots INTEGER, kinds TEXT, connected_at REAL, last_seen REAL,"
    " state TEXT);"
    "CREATE INDEX jobs_state ON jobs (state);"
    "CREATE INDEX jobs_running ON jobs (worker) WHERE state = 'running';"
    "PRAGMA user_version = 1;",
    //  v2: each job's retry backoff, and one row per finished attempt so
    //  the error of every attempt is kept.
    "ALTER TABLE jobs ADD COLUMN backoff_ms INTEGER;"
    "CREATE TABLE attempts ("
    " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, worker TEXT,"
    " state TEXT NOT NULL, started_at REAL, finished_at REAL, error TEXT,"
    " PRIMARY KEY (job_id, attempt));"
    "PRAGMA user_version = 2;",
};

#define ZJ_JOB_COLUMNS                                                         \
    "id, kind, args, state, priority, attempts, max_attempts,"                 \
    " timeout_ms, not_before, worker, created_at, started_at,"                 \
    " finished_at, result, error, backoff_ms"

//  Every statement the store runs, prepared once. LIST_WORKERS spells
//  'running' as a literal so that the planner can use jobs_running.
#define ZJ_STMT_MAP(XX)                                                        \
    XX(BEGIN, "BEGIN IMMEDIATE")                                               \
    XX(COMMIT, "COMMIT")                                                       \
    XX(ROLLBACK, "ROLLBACK")                                                   \
    XX(INSERT_JOB, "INSERT INTO jobs (kind, args, state, priority,"            \
                   " attempts, max_attempts, timeout_ms, not_before,"          \
                   " worker, created_at, started_at, finished_at,"             \
                   " result, error, backoff_ms, id)"                           \
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"         \
                   " ?11, ?12, ?13, ?14, ?15, ?16)")                           \
    XX(NEXT_ID, "SELECT coalesce(max(id), 0) + 1 FROM jobs")                   \
    XX(INSERT_ATTEMPT, "INSERT OR REPLACE INTO attempts (job_id, attempt,"     \
                       " worker, state, started_at, finished_at, error)"       \
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                 \
    XX(UPDATE_JOB, "UPDATE jobs SET state = ?2, attempts = ?3,"                \
                   " not_before = ?4, worker = ?5, started_at = ?6,"           \
                   " finished_at = ?7, result = ?8, error = ?9"                \
                   " WHERE id = ?1")                                           \
    XX(GET_JOB, "SELECT " ZJ_JOB_COLUMNS " FROM jobs WHERE id = ?1")           \
    XX(LIST_JOBS, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                        \
                  " ORDER BY id DESC LIMIT ?1")                                \
    XX(LIST_JOBS_IN, "SELECT " ZJ_JOB_COLUMNS " FROM jobs"                     \
                     " WHERE state = ?2 ORDER BY id DESC LIMIT ?1")            \
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
    XX(LIST_WORKERS, "SELECT name, host, pid, io_slots, cpu_slots,"            \
                     " kinds, connected_at, last_seen, state,"                 \
                     " (SELECT count(*) FROM jobs"                             \
                     "  WHERE jobs.worker = workers.name"                      \
                     "  AND jobs.state = 'running')"                           \
                     " FROM workers ORDER BY name")

typedef enum {
#define XX(name, sql) ZJ_STMT_##name,
    ZJ_STMT_MAP(XX)
#undef XX
        ZJ_STMT_COUNT
} zj_stmt_t;

static const char *s_statement_sql[ZJ_STMT_COUNT] = {
#define XX(name, sql) sql,
    ZJ_STMT_MAP(XX)
#undef XX
};

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
    ZJ_COL_BACKOFF_MS
};

struct zj_store {
    sqlite3 *db;                       //  Open handle, WAL mode
    sqlite3_stmt *stmt[ZJ_STMT_COUNT]; //  Prepared once, by zj_stmt_t
    zj_journal_t *journal;             //  Writes since the last commit
    int64_t next_id;                   //  Id of the next job inserted
    bool in_turn;                      //  A transaction is open
    bool turn_failed;                  //  A write of this turn failed
    bool degraded;                     //  A commit failed: journal only
    int error_code;                    //  Last SQLite error (primary code)
    char error[ZJ_WHY_SIZE];           //  Last SQLite error message
    bool wal;                          //  A file in WAL mode (not :memory:)
    sqlite3 *checkpoint_db;            //  The checkpointer's own handle
    zj_background_t *checkpointer;     //  Copies the WAL into the file
};

static int s_set_wal(zj_store_t *self, const char *path, char *why);
static int s_exec(zj_store_t *self, const char *sql, char *why);
static int s_migrate(zj_store_t *self, char *why);
static int s_prepare_all(zj_store_t *self, char *why);
static int s_read_next_id(zj_store_t *self, char *why);
static int s_start_checkpointer(zj_store_t *self, const char *path,
                                char *why);

//  Opens the file, sets the pragmas, migrates and prepares. Each step
//  writes its own reason into why.
zj_store_t *
zj_store_new(const char *path, zj_sync_t sync, char *why)
{
    assert(path);
    assert(why);
    why[0] = '\0';
    zj_store_t *self = calloc(1, sizeof(*self));
    if (self == NULL) {
        snprintf(why, ZJ_WHY_SIZE, "out of memory");
        return NULL;
    }
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &self->db, flags, NULL) != SQLITE_OK) {
        int sys_errno = self->db ? sqlite3_system_errno(self->db) : 0;
        snprintf(why, ZJ_WHY_SIZE, "cannot open %s: %s%s%s%s", path,
                 self->db ? sqlite3_errmsg(self->db) : "out of memory",
                 sys_errno ? " (" : "", sys_errno ? strerror(sys_errno) : "",
                 sys_errno ? ")" : "");
        goto failed;
    }
    sqlite3_extended_result_codes(self->db, 1);
    sqlite3_busy_timeout(self->db, ZJ_STORE_OPEN_BUSY_MS);

    if (s_set_wal(self, path, why))
        goto failed;
    if (sqlite3_db_readonly(self->db, "main") == 1) {
        snprintf(why, ZJ_WHY_SIZE, "%s is read-only", path);
        goto failed;
    }
    const char *sync_sql = sync == ZJ_SYNC_FULL ? "PRAGMA synchronous = FULL"
                                                : "PRAGMA synchronous = NORMAL";
    if (s_exec(self, sync_sql, why) || s_migrate(self, why) ||
        s_prepare_all(self, why) || s_read_next_id(self, why) ||
        s_start_checkpointer(self, path, why))
        goto failed;
    sqlite3_busy_timeout(self->db, ZJ_STORE_BUSY_MS);
    self->journal = zj_journal_new();
    return self;

failed:
    zj_store_destroy(&self);
    return NULL;
}

//  --- Checkpoints off the loop. A checkpoint copies the WAL into the
//  file and syncs both: milliseconds that the loop, which commits every
//  turn, would otherwise spend in the commit that crosses the threshold.
//  SQLite's own automatic checkpoint is off; a thread with a connection
//  of its own runs PASSIVE checkpoints, which never block the loop's
//  writes, when the loop's commits have grown the WAL past
//  ZJ_STORE_CHECKPOINT_PAGES, and once a second.

static void
s_checkpoint(void *arg)
{
    zj_store_t *self = arg;
    sqlite3_wal_checkpoint_v2(self->checkpoint_db, NULL,
                              SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

//  SQLite's WAL hook: called on the loop after each commit.
static int
s_on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void) db, (void) name;
    zj_store_t *self = arg;
    if (pages >= ZJ_STORE_CHECKPOINT_PAGES)
        zj_background_wake(self->checkpointer);
    return SQLITE_OK;
}

static int
s_start_checkpointer(zj_store_t *self, const char *path, char *why)
{
    if (!self->wal)
        return 0;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &self->checkpoint_db, flags, NULL) !=
        SQLITE_OK) {
        snprintf(why, ZJ_WHY_SIZE, "cannot open %s for checkpoints: %s",
                 path, sqlite3_errmsg(self->checkpoint_db));
        return ZJ_ESTORE;
    }
    sqlite3_busy_timeout(self->checkpoint_db, ZJ_STORE_OPEN_BUSY_MS);
    //  A connection learns that the file is in WAL mode on its first read.
    if (sqlite3_exec(self->checkpoint_db, "SELECT count(*) FROM sqlite_master",
                     NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(why, ZJ_WHY_SIZE, "cannot read %s for checkpoints: %s",
                 path, sqlite3_errmsg(self->checkpoint_db));
        return ZJ_ESTORE;
    }
    self->checkpointer =
        zj_background_new(s_checkpoint, self, ZJ_STORE_CHECKPOINT_MS);
    if (self->checkpointer == NULL) {
        snprintf(why, ZJ_WHY_SIZE, "cannot start the checkpoint thread");
        return ZJ_ESTORE;
    }
    sqlite3_wal_hook(self->db, s_on_wal_commit, self);
    return 0;
}

//  Runs sql (no values, no rows wanted) and on failure writes
//  "<sql>: <error>" into why.
static int
s_exec(zj_store_t *self, const char *sql, char *why)
{
    char *message = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &message) == SQLITE_OK)
        return 0;
    snprintf(why, ZJ_WHY_SIZE, "%.40s: %s", sql,
             message ? message : sqlite3_errmsg(self->db));
    sqlite3_free(message);
    return ZJ_ESTORE;
}

//  Turns on WAL, so readers in other processes never block the loop's
//  writes. It is the first statement to read the file, so a file that is
//  not a database fails here. An in-memory database has no WAL.
static int
s_set_wal(zj_store_t *self, const char *path, char *why)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(self->db, "PRAGMA journal_mode = WAL", -1,
                                &stmt, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(stmt);
    int result = 0;
    if (rc != SQLITE_ROW) {
        snprintf(why, ZJ_WHY_SIZE, "cannot use %s: %s", path,
                 sqlite3_errmsg(self->db));
        result = ZJ_ESTORE;
    } else {
        const char *mode = (const char *) sqlite3_column_text(stmt, 0);
        self->wal = mode && strcmp(mode, "wal") == 0;
        if (mode == NULL || (strcmp(mode, "wal") && strcmp(mode, "memory"))) {
            snprintf(why, ZJ_WHY_SIZE, "cannot use WAL on %s (mode %s)", path,
                     mode ? mode : "unknown");
            result = ZJ_ESTORE;
        }
    }
    sqlite3_finalize(stmt);
    return result;
}

//  Reads PRAGMA user_version into *version.
static int
s_user_version(zj_store_t *self, int *version, char *why)
{
    sqlite3_stmt *stmt = NULL;
    int rc =
        sqlite3_prepare_v2(self->db, "PRAGMA user_version", -1, &stmt, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        *version = sqlite3_column_int(stmt, 0);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_OK)
        snprintf(why, ZJ_WHY_SIZE, "cannot read user_version: %s",
                 sqlite3_errmsg(self->db));
    sqlite3_finalize(stmt);
    return rc == SQLITE_OK ? 0 : ZJ_ESTORE;
}

//  Brings the schema to ZJ_STORE_SCHEMA in one transaction, so two
//  coordinators opening a fresh file cannot both create it. Refuses a
//  database from a newer zjob rather than guess at its meaning.
static int
s_migrate(zj_store_t *self, char *why)
{
    int version = 0;
    if (s_exec(self, "BEGIN IMMEDIATE", why))
        return ZJ_ESTORE;
    if (s_user_version(self, &version, why))
        goto failed;
    if (version > ZJ_STORE_SCHEMA || version < 0) {
        snprintf(why, ZJ_WHY_SIZE,
                 "database schema version %d is newer than this zjob "
                 "knows (%d); use a newer zjob-coordinator",
                 version, ZJ_STORE_SCHEMA);
        goto failed;
    }
    for (; version < ZJ_STORE_SCHEMA; version++) {
        char *message = NULL;
        if (sqlite3_exec(self->db, s_migrations[version], NULL, NULL,
                         &message) != SQLITE_OK) {
            snprintf(why, ZJ_WHY_SIZE, "cannot migrate schema to v%d: %s",
                     version + 1, message ? message : sqlite3_errmsg(self->db));
            sqlite3_free(message);
            goto failed;
        }
    }
    if (s_exec(self, "COMMIT", why))
        goto failed;
    return 0;

failed:
    sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    return ZJ_ESTORE;
}

static int
s_prepare_all(zj_store_t *self, char *why)
{
    for (int index = 0; index < ZJ_STMT_COUNT; index++) {
        int rc = sqlite3_prepare_v3(self->db, s_statement_sql[index], -1,
                                    SQLITE_PREPARE_PERSISTENT,
                                    &self->stmt[index], NULL);
        if (rc != SQLITE_OK) {
            snprintf(why, ZJ_WHY_SIZE, "cannot prepare \"%.40s\": %s",
                     s_statement_sql[index], sqlite3_errmsg(self->db));
            return ZJ_ESTORE;
        }
    }
    return 0;
}

//  Job ids are given here, not by SQLite, so that a job keeps its id when
//  its turn is written again after a failed commit.
static int
s_read_next_id(zj_store_t *self, char *why)
{
    sqlite3_stmt *stmt = self->stmt[ZJ_STMT_NEXT_ID];
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        self->next_id = sqlite3_column_int64(stmt, 0);
    else
        snprintf(why, ZJ_WHY_SIZE, "cannot read job ids: %s",
                 sqlite3_errmsg(self->db));
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 0 : ZJ_ESTORE;
}

void
zj_store_destroy(zj_store_t **self_p)
{
    assert(self_p);
    zj_store_t *self = *self_p;
    if (self == NULL)
        return;
    zj_background_destroy(&self->checkpointer);
    sqlite3_close(self->checkpoint_db);
    if (self->db && !sqlite3_get_autocommit(self->db))
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    for (int index = 0; index < ZJ_STMT_COUNT; index++)
        sqlite3_finalize(self->stmt[index]);
    sqlite3_close(self->db);
    zj_journal_destroy(&self->journal);
    free(self);
    *self_p = NULL;
}

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
           self->error_code == SQLITE_TOOBIG || self->error_code == SQLITE_RANGE;
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
    return s_step_write(self, stmt);
}

static int s_worker_row(zj_store_t *self, const zj_worker_info_t *info);
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
zj_store_insert_job(zj_store_t *self, zj_job_t *job)
{
    assert(self);
    assert(job);
    job->id = self->next_id;
    int rc = s_write(self, &(zj_write_entry_t){ZJ_WRITE_INSERT_JOB, *job,
                                                {0}});
    if (rc == 0)
        self->next_id++;
    else
        job->id = 0;
    return rc;
}

int
zj_store_record_attempt(zj_store_t *self, const zj_job_t *job)
{
    assert(self);
    assert(job);
    return s_write(self, &(zj_write_entry_t){ZJ_WRITE_RECORD_ATTEMPT, *job,
                                             {0}});
}

int
zj_store_update_job(zj_store_t *self, const zj_job_t *job)
{
    assert(self);
    assert(job);
    return s_write(self, &(zj_write_entry_t){ZJ_WRITE_UPDATE_JOB, *job,
                                             {0}});
}


//  Fills *job from the current row. The strings are borrowed from the
//  statement: valid until its next step or reset.
static void
s_job_from_row(sqlite3_stmt *stmt, zj_job_t *job)
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
    };
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
        s_job_from_row(stmt, &row);
        zj_job_copy(job, &row);
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
        s_job_from_row(stmt, &job);
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
    return s_write(self, &(zj_write_entry_t){ZJ_WRITE_SAVE_WORKER, {0},
                                             *info});
}

int
zj_store_set_worker_state(zj_store_t *self, const char *name, const char *state,
                          double last_seen)
{
    assert(self);
    assert(name);
    zj_worker_info_t info = {.name = (char *) name, .state = (char *) state,
                             .last_seen = last_seen};
    return s_write(self,
                   &(zj_write_entry_t){ZJ_WRITE_WORKER_STATE, {0}, info});
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
    json_object_foreach(*root, name, value)
    {
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
            .running = sqlite3_column_int(stmt, 9),
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
