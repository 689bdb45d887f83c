//  store_open.c - opening the store (see store.h): the file in WAL mode,
//  the schema migrated forward, every statement prepared once, and the
//  thread that checkpoints the WAL; and closing it all again.
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/why.h"
#include "coordinator/store_internal.h"

//  Schema steps: s_migrations[v] takes a database from version v to v + 1
//  and ends by setting user_version. Names and types: docs/store.md.
//  jobs_state serves the hot reads (recover, LIST by state, queue depth),
//  which all filter on one state and walk by id.
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
    //  v3: no jobs_running. WORKERS counts a worker's running jobs in
    //  memory; the index cost every dispatch and every result one more
    //  b-tree write (6% of the throughput workload). And attempts WITHOUT
    //  ROWID: its primary key is its one b-tree, where a rowid table kept
    //  a second one for the key (half the cost of recording an attempt).
    "DROP INDEX IF EXISTS jobs_running;"
    "CREATE TABLE attempts_v3 ("
    " job_id INTEGER NOT NULL, attempt INTEGER NOT NULL, worker TEXT,"
    " state TEXT NOT NULL, started_at REAL, finished_at REAL, error TEXT,"
    " PRIMARY KEY (job_id, attempt)) WITHOUT ROWID;"
    "INSERT INTO attempts_v3 SELECT job_id, attempt, worker, state,"
    " started_at, finished_at, error FROM attempts;"
    "DROP TABLE attempts;"
    "ALTER TABLE attempts_v3 RENAME TO attempts;"
    "PRAGMA user_version = 3;",
    //  v4: how many times a worker was lost while running the job, which
    //  fails it at the coordinator's --max-losses (a poison job).
    "ALTER TABLE jobs ADD COLUMN losses INTEGER DEFAULT 0;"
    "PRAGMA user_version = 4;",
    //  v5: the tokens of recent SUBMITs, so that one sent again (its
    //  reply was lost) gets the same ids instead of new jobs.
    "CREATE TABLE submit_tokens ("
    " token TEXT PRIMARY KEY, first_id INTEGER NOT NULL,"
    " count INTEGER NOT NULL, digest TEXT NOT NULL,"
    " created_at REAL NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX submit_tokens_age ON submit_tokens (created_at);"
    "PRAGMA user_version = 5;",
    //  v6: tokens are kept as long as the store (no pruning by age): a
    //  second b-tree per SUBMIT cost one-job submits a page write each.
    "DROP INDEX IF EXISTS submit_tokens_age;"
    "PRAGMA user_version = 6;",
    //  v7: the jobs a job runs after (--after), a JSON array of ids.
    "ALTER TABLE jobs ADD COLUMN after TEXT;"
    "PRAGMA user_version = 7;",
    //  v8: sub-jobs. A child names its parent and the parent's call that
    //  made it, so a parent that runs again gets the same children back.
    "ALTER TABLE jobs ADD COLUMN parent INTEGER;"
    "ALTER TABLE jobs ADD COLUMN call INTEGER;"
    "CREATE UNIQUE INDEX jobs_children ON jobs (parent, call)"
    " WHERE parent IS NOT NULL;"
    "PRAGMA user_version = 8;",
    //  v9: the latest progress a running job reported (zjob_progress).
    "ALTER TABLE jobs ADD COLUMN progress_done INTEGER;"
    "ALTER TABLE jobs ADD COLUMN progress_total INTEGER;"
    "ALTER TABLE jobs ADD COLUMN progress_text TEXT;"
    "ALTER TABLE jobs ADD COLUMN progress_at REAL;"
    "PRAGMA user_version = 9;",
    //  v10: what a job's attempts wrote (zjob_log, exec's output, a CPU
    //  handler's stdout and stderr).
    "ALTER TABLE jobs ADD COLUMN log TEXT;"
    "PRAGMA user_version = 10;",
    //  v11: schedules (zjob schedule), each with its next and last run,
    //  and one row per job a schedule made, with the due time it ran
    //  for. A fire writes both rows and the job in one turn.
    "CREATE TABLE schedules ("
    " name TEXT PRIMARY KEY, every_ms INTEGER, cron TEXT,"
    " kind TEXT NOT NULL, args TEXT, priority INTEGER,"
    " max_attempts INTEGER, timeout_ms INTEGER, backoff_ms INTEGER,"
    " next_at REAL, last_at REAL, last_id INTEGER,"
    " created_at REAL) WITHOUT ROWID;"
    "CREATE TABLE schedule_runs ("
    " job_id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " due_at REAL NOT NULL);"
    "PRAGMA user_version = 11;",
    //  v12: limits per kind (zjob limit); NULL = no such limit.
    "CREATE TABLE limits ("
    " kind TEXT PRIMARY KEY, concurrency INTEGER, rate REAL, burst REAL,"
    " updated_at REAL NOT NULL) WITHOUT ROWID;"
    "PRAGMA user_version = 12;",
    //  v13: the job a job retries (zjob retry), which stays as it ended.
    "ALTER TABLE jobs ADD COLUMN retry_of INTEGER;"
    "PRAGMA user_version = 13;",
    //  v14: unique jobs (submit --unique): each key with the job it made
    //  and the end of its window; a SUBMIT token's ids when they do not
    //  follow each other (some were older jobs with the same keys).
    "CREATE TABLE unique_keys ("
    " key TEXT PRIMARY KEY, id INTEGER NOT NULL,"
    " expires_at REAL NOT NULL) WITHOUT ROWID;"
    "ALTER TABLE submit_tokens ADD COLUMN ids TEXT;"
    "PRAGMA user_version = 14;",
};

static const char *s_statement_sql[ZJ_STMT_COUNT] = {
#define XX(name, sql) sql,
    ZJ_STMT_MAP(XX)
#undef XX
};

static int s_set_wal(zj_store_t *self, const char *path, char *why);
static int s_exec(zj_store_t *self, const char *sql, char *why);
static int s_migrate(zj_store_t *self, char *why);
static int s_prepare_all(zj_store_t *self, char *why);
static int s_read_next_id(zj_store_t *self, char *why);
static int s_start_checkpointer(zj_store_t *self, const char *path, char *why);

static pthread_once_t s_configured = PTHREAD_ONCE_INIT;

//  SQLite counts every allocation under a global mutex for
//  sqlite3_memory_used, which nothing here reads: 8% of the coordinator's
//  instructions per job. The setting only takes before SQLite starts; in a
//  process that started it already, SQLite refuses it and counts on.
static void
s_configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

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
        zj_why_set(why, "out of memory");
        return NULL;
    }
    pthread_once(&s_configured, s_configure_sqlite);
    int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &self->db, flags, NULL) != SQLITE_OK) {
        int sys_errno = self->db ? sqlite3_system_errno(self->db) : 0;
        zj_why_set(why, "cannot open %s: %s%s%s%s", path,
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
        zj_why_set(why, "%s is read-only", path);
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
//  writes, each time the loop's commits have added
//  ZJ_STORE_CHECKPOINT_PAGES to the WAL, and once a second.
//
//  The WAL starts over only at a commit that finds it all copied, so a
//  checkpoint must end between two commits. Under commits that never
//  pause, the thread's checkpoints each leave the last few commits behind
//  and the WAL keeps growing. Waking the thread on every commit past the
//  threshold, as this code once did, made it catch up in the end, at the
//  price of two fsyncs per commit. Instead, once the WAL passes
//  ZJ_STORE_WAL_BOUND the thread is left to finish and
//  zj_store_bound_wal lets the loop copy the remainder itself.

static void
s_checkpoint(void *arg)
{
    zj_store_t *self = arg;
    sqlite3_wal_checkpoint_v2(self->checkpoint_db, NULL,
                              SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    atomic_fetch_add(&self->checkpoints, 1);
}

//  SQLite's WAL hook: called on the loop after each commit with the
//  pages in the WAL, which start over from a handful after a restart.
static int
s_on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void) db, (void) name;
    zj_store_t *self = arg;
    if (pages < self->wal_pages) {
        self->wake_at = ZJ_STORE_CHECKPOINT_PAGES;
        self->help_at = ZJ_STORE_WAL_BOUND;
    }
    self->wal_pages = pages;
    //  Past help_at the thread is left to finish: woken again it would
    //  hold the checkpoint lock against the loop's help for good.
    if (pages >= self->wake_at && pages < self->help_at) {
        self->wake_at = pages + ZJ_STORE_CHECKPOINT_PAGES;
        zj_background_wake(self->checkpointer);
    }
    return SQLITE_OK;
}

void
zj_store_bound_wal(zj_store_t *self)
{
    assert(self);
    if (self->checkpointer == NULL || self->in_turn ||
        self->wal_pages < self->help_at)
        return;
    int rc = sqlite3_wal_checkpoint_v2(self->db, NULL,
                                       SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    //  SQLITE_BUSY: the thread is at it, and this failed at once; try
    //  again next turn. Otherwise the next commit starts the WAL over (and
    //  the hook resets help_at), unless a reader still needs old pages:
    //  then try again ZJ_STORE_CHECKPOINT_PAGES later, not every turn.
    if (rc != SQLITE_BUSY)
        self->help_at = self->wal_pages + ZJ_STORE_CHECKPOINT_PAGES;
}

long
zj_store_checkpoints(const zj_store_t *self)
{
    assert(self);
    return atomic_load(&self->checkpoints);
}

static int
s_start_checkpointer(zj_store_t *self, const char *path, char *why)
{
    if (!self->wal)
        return 0;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &self->checkpoint_db, flags, NULL) != SQLITE_OK)
        return zj_why_fail(ZJ_ESTORE, why, "cannot open %s for checkpoints: %s",
                           path, sqlite3_errmsg(self->checkpoint_db));
    sqlite3_busy_timeout(self->checkpoint_db, ZJ_STORE_OPEN_BUSY_MS);
    //  A connection learns that the file is in WAL mode on its first read.
    if (sqlite3_exec(self->checkpoint_db, "SELECT count(*) FROM sqlite_master",
                     NULL, NULL, NULL) != SQLITE_OK)
        return zj_why_fail(ZJ_ESTORE, why, "cannot read %s for checkpoints: %s",
                           path, sqlite3_errmsg(self->checkpoint_db));
    self->checkpointer =
        zj_background_new(s_checkpoint, self, ZJ_STORE_CHECKPOINT_MS);
    if (self->checkpointer == NULL)
        return zj_why_fail(ZJ_ESTORE, why,
                           "cannot start the checkpoint thread");
    self->wake_at = ZJ_STORE_CHECKPOINT_PAGES;
    self->help_at = ZJ_STORE_WAL_BOUND;
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
    zj_why_set(why, "%.40s: %s", sql,
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
        result = zj_why_fail(ZJ_ESTORE, why, "cannot use %s: %s", path,
                             sqlite3_errmsg(self->db));
    } else {
        const char *mode = (const char *) sqlite3_column_text(stmt, 0);
        self->wal = mode && strcmp(mode, "wal") == 0;
        if (mode == NULL || (strcmp(mode, "wal") && strcmp(mode, "memory")))
            result =
                zj_why_fail(ZJ_ESTORE, why, "cannot use WAL on %s (mode %s)",
                            path, mode ? mode : "unknown");
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
        zj_why_set(why, "cannot read user_version: %s",
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
    if (version < 0) {
        zj_why_set(why,
                   "database schema version %d is invalid (zjob writes 0..%d); "
                   "this file was not written by zjob, or was damaged",
                   version, ZJ_STORE_SCHEMA);
        goto failed;
    }
    if (version > ZJ_STORE_SCHEMA) {
        zj_why_set(why,
                   "database schema version %d is newer than this zjob "
                   "knows (%d); use a newer zjob-coordinator",
                   version, ZJ_STORE_SCHEMA);
        goto failed;
    }
    for (; version < ZJ_STORE_SCHEMA; version++) {
        char *message = NULL;
        if (sqlite3_exec(self->db, s_migrations[version], NULL, NULL,
                         &message) != SQLITE_OK) {
            zj_why_set(why, "cannot migrate schema to v%d: %s", version + 1,
                       message ? message : sqlite3_errmsg(self->db));
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
        if (rc != SQLITE_OK)
            return zj_why_fail(ZJ_ESTORE, why, "cannot prepare \"%.40s\": %s",
                               s_statement_sql[index],
                               sqlite3_errmsg(self->db));
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
        zj_why_set(why, "cannot read job ids: %s", sqlite3_errmsg(self->db));
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 0 : ZJ_ESTORE;
}

int64_t
zj_store_next_id(const zj_store_t *self)
{
    assert(self);
    return self->next_id;
}

void
zj_store_skip_ids(zj_store_t *self, int64_t next_id)
{
    assert(self);
    if (next_id > self->next_id)
        self->next_id = next_id;
}

void
zj_store_set_gone(zj_store_t *self, const char *reason)
{
    assert(self);
    assert(reason);
    if (self->db && !sqlite3_get_autocommit(self->db))
        sqlite3_exec(self->db, "ROLLBACK", NULL, NULL, NULL);
    self->in_turn = false;
    self->turn_failed = false;
    self->degraded = true;
    self->gone = true;
    snprintf(self->error, sizeof self->error, "%s", reason);
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
