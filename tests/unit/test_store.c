//  test_store.c - the "store" suite: coordinator/store.c against real
//  files in a fresh temp dir per test. A second, raw SQLite connection
//  plays the operator's `sqlite3 zjob.db` reader to check what is visible
//  when, and to craft bad files.
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "coordinator/store.h"
#include "coordinator/store_internal.h" //  ZJ_STORE_SCHEMA
#include "proto/limits.h"
#include "tests/unit/suites.h"
#include "tests/unit/testdb.h"

//  Asserts the table's columns are exactly names with types, in order.
static void
s_assert_columns(sqlite3 *db, const char *table, const char *columns[][2],
                 size_t count)
{
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    size_t seen = 0;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        ck_assert_uint_lt(seen, count);
        ck_assert_str_eq((const char *) sqlite3_column_text(stmt, 1),
                         columns[seen][0]);
        ck_assert_str_eq((const char *) sqlite3_column_text(stmt, 2),
                         columns[seen][1]);
        seen++;
    }
    sqlite3_finalize(stmt);
    ck_assert_uint_eq(seen, count);
}

//  What list and recover callbacks saw.
typedef struct {
    int64_t ids[200];       //  Job ids in call order
    zj_state_t states[200]; //  Their states
    size_t count;           //  Calls so far
} s_seen_t;

static void
s_collect(void *arg, const zj_job_t *job)
{
    s_seen_t *seen = arg;
    ck_assert_uint_lt(seen->count, 200);
    ck_assert_ptr_nonnull(job->kind);
    seen->ids[seen->count] = job->id;
    seen->states[seen->count] = job->state;
    seen->count++;
}

START_TEST(test_schema_is_design_v10)
{
    zj_store_t *store = zj_testdb_store();
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "PRAGMA user_version"), ZJ_STORE_SCHEMA);
    char *mode = zj_testdb_text(db, "PRAGMA journal_mode");
    ck_assert_str_eq(mode, "wal");
    free(mode);
    const char *jobs[][2] = {{"id", "INTEGER"},
                             {"kind", "TEXT"},
                             {"args", "TEXT"},
                             {"state", "TEXT"},
                             {"priority", "INTEGER"},
                             {"attempts", "INTEGER"},
                             {"max_attempts", "INTEGER"},
                             {"timeout_ms", "INTEGER"},
                             {"not_before", "REAL"},
                             {"worker", "TEXT"},
                             {"created_at", "REAL"},
                             {"started_at", "REAL"},
                             {"finished_at", "REAL"},
                             {"result", "TEXT"},
                             {"error", "TEXT"},
                             {"backoff_ms", "INTEGER"},
                             {"losses", "INTEGER"},
                             {"after", "TEXT"},
                             {"parent", "INTEGER"},
                             {"call", "INTEGER"},
                             {"progress_done", "INTEGER"},
                             {"progress_total", "INTEGER"},
                             {"progress_text", "TEXT"},
                             {"progress_at", "REAL"},
                             {"log", "TEXT"},
                             {"retry_of", "INTEGER"}};
    s_assert_columns(db, "jobs", jobs, sizeof(jobs) / sizeof(jobs[0]));
    const char *attempts[][2] = {
        {"job_id", "INTEGER"}, {"attempt", "INTEGER"}, {"worker", "TEXT"},
        {"state", "TEXT"},     {"started_at", "REAL"}, {"finished_at", "REAL"},
        {"error", "TEXT"}};
    s_assert_columns(db, "attempts", attempts,
                     sizeof(attempts) / sizeof(attempts[0]));
    const char *workers[][2] = {
        {"name", "TEXT"},         {"host", "TEXT"},         {"pid", "INTEGER"},
        {"io_slots", "INTEGER"},  {"cpu_slots", "INTEGER"}, {"kinds", "TEXT"},
        {"connected_at", "REAL"}, {"last_seen", "REAL"},    {"state", "TEXT"}};
    s_assert_columns(db, "workers", workers,
                     sizeof(workers) / sizeof(workers[0]));
    const char *tokens[][2] = {{"token", "TEXT"},      {"first_id", "INTEGER"},
                               {"count", "INTEGER"},   {"digest", "TEXT"},
                               {"created_at", "REAL"}, {"ids", "TEXT"}};
    s_assert_columns(db, "submit_tokens", tokens,
                     sizeof(tokens) / sizeof(tokens[0]));
    const char *keys[][2] = {
        {"key", "TEXT"}, {"id", "INTEGER"}, {"expires_at", "REAL"}};
    s_assert_columns(db, "unique_keys", keys, sizeof(keys) / sizeof(keys[0]));
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM sqlite_master"
                                       " WHERE type = 'index' AND name ="
                                       " 'jobs_state'"),
                     1);
    sqlite3_close(db);
    zj_store_destroy(&store);
    ck_assert_ptr_null(store);
    zj_store_destroy(&store);

    //  Opening a v3 database again migrates nothing and keeps it v3.
    store = zj_testdb_store();
    zj_store_destroy(&store);
    db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "PRAGMA user_version"), ZJ_STORE_SCHEMA);
    sqlite3_close(db);
}
END_TEST

//  A v1 file's schema, as the first zjob wrote it.
#define S_SCHEMA_V1                                                            \
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,"           \
    " args TEXT, state TEXT NOT NULL, priority INTEGER, attempts INTEGER,"     \
    " max_attempts INTEGER, timeout_ms INTEGER, not_before REAL,"              \
    " worker TEXT, created_at REAL, started_at REAL, finished_at REAL,"        \
    " result TEXT, error TEXT);"                                               \
    "CREATE TABLE workers (name TEXT PRIMARY KEY, host TEXT, pid INTEGER,"     \
    " io_slots INTEGER, cpu_slots INTEGER, kinds TEXT, connected_at REAL,"     \
    " last_seen REAL, state TEXT);"                                            \
    "CREATE INDEX jobs_state ON jobs (state);"                                 \
    "CREATE INDEX jobs_running ON jobs (worker) WHERE state = 'running';"

START_TEST(test_v1_database_migrates_to_v8)
{
    //  A v1 file with one job in it.
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(
        sqlite3_exec(db,
                     S_SCHEMA_V1
                     "INSERT INTO jobs (kind, state, attempts, max_attempts)"
                     " VALUES ('echo', 'queued', 0, 1);"
                     "PRAGMA user_version = 1;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = {0};
    ck_assert_int_eq(zj_store_get_job(store, 1, &job), 0);
    ck_assert_str_eq(job.kind, "echo");
    ck_assert_int_eq(job.backoff_ms, 0);
    zj_job_clear(&job);
    zj_store_destroy(&store);
    db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "PRAGMA user_version"), ZJ_STORE_SCHEMA);
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM attempts"), 0);
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM sqlite_master"
                                       " WHERE name = 'jobs_running'"),
                     0);
    sqlite3_close(db);
}
END_TEST

//  A v5 file loses the tokens' age index, and keeps its tokens: v6
//  remembers them as long as the store, however old.
START_TEST(test_v5_tokens_are_kept_without_their_age_index)
{
    zj_store_t *store = zj_testdb_store();
    zj_store_destroy(&store);
    sqlite3 *db = zj_testdb_raw();
    zj_testdb_exec(db, "DROP TABLE unique_keys;"
                       "ALTER TABLE submit_tokens DROP COLUMN ids;"
                       "CREATE INDEX submit_tokens_age ON submit_tokens"
                       " (created_at);"
                       "INSERT INTO submit_tokens VALUES ('t-1', 7, 2,"
                       " '00000000000000ff', 1000.0);"
                       "DROP TABLE schedule_runs; DROP TABLE schedules;"
                       "DROP TABLE limits;"
                       "ALTER TABLE jobs DROP COLUMN retry_of;"
                       "ALTER TABLE jobs DROP COLUMN log;"
                       "ALTER TABLE jobs DROP COLUMN progress_at;"
                       "ALTER TABLE jobs DROP COLUMN progress_text;"
                       "ALTER TABLE jobs DROP COLUMN progress_total;"
                       "ALTER TABLE jobs DROP COLUMN progress_done;"
                       "DROP INDEX jobs_children;"
                       "ALTER TABLE jobs DROP COLUMN call;"
                       "ALTER TABLE jobs DROP COLUMN parent;"
                       "ALTER TABLE jobs DROP COLUMN after;"
                       "PRAGMA user_version = 5;");
    sqlite3_close(db);
    store = zj_testdb_store();
    int64_t *ids = NULL;
    size_t count = 0;
    char digest[ZJ_STORE_DIGEST_SIZE];
    ck_assert_int_eq(zj_store_find_token(store, "t-1", &ids, &count, digest),
                     0);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(ids[0], 7);
    ck_assert_int_eq(ids[1], 8);
    free(ids);
    ck_assert_str_eq(digest, "00000000000000ff");
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
    db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "PRAGMA user_version"), ZJ_STORE_SCHEMA);
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM sqlite_master"
                                       " WHERE tbl_name = 'submit_tokens'"
                                       " AND type = 'index'"),
                     0);
    sqlite3_close(db);
}
END_TEST

//  A v2 file's attempts move into the v3 table, which has no rowid.
START_TEST(test_v2_attempts_survive_v3)
{
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(
        sqlite3_exec(db,
                     S_SCHEMA_V1
                     "ALTER TABLE jobs ADD COLUMN backoff_ms INTEGER;"
                     "CREATE TABLE attempts (job_id INTEGER NOT NULL,"
                     " attempt INTEGER NOT NULL, worker TEXT, state TEXT NOT"
                     " NULL, started_at REAL, finished_at REAL, error TEXT,"
                     " PRIMARY KEY (job_id, attempt));"
                     "INSERT INTO jobs (kind, state, attempts, max_attempts)"
                     " VALUES ('echo', 'queued', 1, 3);"
                     "INSERT INTO attempts VALUES (1, 1, 'w1', 'failed', 1.5,"
                     " 2.5, 'worker lost');"
                     "PRAGMA user_version = 2;",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    zj_store_t *store = zj_testdb_store();
    zj_store_destroy(&store);
    db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "PRAGMA user_version"), ZJ_STORE_SCHEMA);
    char *row = zj_testdb_text(db, "SELECT job_id || attempt || worker ||"
                                   " state || started_at || finished_at ||"
                                   " error FROM attempts");
    ck_assert_str_eq(row, "11w1failed1.52.5worker lost");
    free(row);
    char *sql = zj_testdb_text(
        db, "SELECT sql FROM sqlite_master WHERE name = 'attempts'");
    ck_assert_ptr_nonnull(strstr(sql, "WITHOUT ROWID"));
    free(sql);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_attempts_are_recorded)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = zj_testdb_job("sleep", ZJ_STATE_QUEUED);
    job.backoff_ms = 750;
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    for (int attempt = 1; attempt <= 2; attempt++) {
        job.attempts = attempt;
        job.state = ZJ_STATE_FAILED;
        job.error = attempt == 1 ? "first" : "second";
        ck_assert_int_eq(zj_store_record_attempt(store, &job), 0);
    }
    ck_assert_int_eq(zj_store_commit(store), 0);
    sqlite3 *db = zj_testdb_raw();
    char *errors = zj_testdb_text(db, "SELECT group_concat(error, ',') FROM"
                                      " (SELECT error FROM attempts ORDER BY"
                                      " attempt)");
    ck_assert_str_eq(errors, "first,second");
    free(errors);
    ck_assert_int_eq(zj_testdb_int(db, "SELECT backoff_ms FROM jobs"), 750);
    sqlite3_close(db);
    zj_store_destroy(&store);
}
END_TEST

//  A child is found by its parent and call number, in the turn that made
//  it and after; a top-level job's parent and call are NULL columns.
START_TEST(test_children_are_found_by_parent_and_call)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t parent = zj_testdb_job("map", ZJ_STATE_RUNNING);
    ck_assert_int_eq(zj_store_insert_job(store, &parent), 0);
    zj_job_t child = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    child.parent = parent.id;
    child.call = 2;
    ck_assert_int_eq(zj_store_insert_job(store, &child), 0);
    int64_t id = 0;
    ck_assert_int_eq(zj_store_find_child(store, parent.id, 2, &id), 0);
    ck_assert_int_eq(id, child.id);
    ck_assert_int_eq(zj_store_find_child(store, parent.id, 1, &id),
                     ZJ_ENOTFOUND);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(zj_store_find_child(store, parent.id, 2, &id), 0);
    ck_assert_int_eq(id, child.id);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_job_t got = {0};
    ck_assert_int_eq(zj_store_get_job(store, child.id, &got), 0);
    ck_assert_int_eq(got.parent, parent.id);
    ck_assert_int_eq(got.call, 2);
    zj_job_clear(&got);
    //  The same call of the same parent cannot make a second child.
    zj_job_t twin = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    twin.parent = parent.id;
    twin.call = 2;
    ck_assert_int_ne(zj_store_insert_job(store, &twin), 0);
    zj_store_destroy(&store);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs WHERE"
                                       " parent IS NULL AND call IS NULL"),
                     1);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_insert_commit_get)
{
    zj_store_t *store = zj_testdb_store();
    ck_assert(!zj_store_in_turn(store));
    zj_job_t job = zj_testdb_job("sha256", ZJ_STATE_QUEUED);
    job.priority = 5;
    job.max_attempts = 3;
    job.timeout_ms = 1500;
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    ck_assert_int_gt(job.id, 0);
    ck_assert(zj_store_in_turn(store));

    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs"), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert(!zj_store_in_turn(store));
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs"), 1);
    //  Zero times and NULL strings are NULL columns; state is its name.
    ck_assert_int_eq(zj_testdb_int(db,
                                   "SELECT not_before IS NULL AND started_at"
                                   " IS NULL AND finished_at IS NULL AND"
                                   " worker IS NULL AND result IS NULL AND"
                                   " error IS NULL AND state = 'queued'"
                                   " FROM jobs"),
                     1);
    sqlite3_close(db);

    zj_job_t got = {0};
    ck_assert_int_eq(zj_store_get_job(store, job.id, &got), 0);
    ck_assert_int_eq(got.id, job.id);
    ck_assert_str_eq(got.kind, "sha256");
    ck_assert_str_eq(got.args, "{\"n\":1}");
    ck_assert_int_eq(got.state, ZJ_STATE_QUEUED);
    ck_assert_int_eq(got.priority, 5);
    ck_assert_int_eq(got.max_attempts, 3);
    ck_assert_int_eq(got.timeout_ms, 1500);
    ck_assert_double_eq(got.created_at, 1700000000.5);
    ck_assert_double_eq(got.not_before, 0);
    ck_assert_double_eq(got.started_at, 0);
    ck_assert_ptr_null(got.worker);
    ck_assert_ptr_null(got.result);
    zj_job_clear(&got);

    ck_assert_int_eq(zj_store_get_job(store, job.id + 1, &got), ZJ_ENOTFOUND);
    ck_assert_int_eq(zj_store_commit(store), 0); //  No turn: nothing to do
    zj_store_destroy(&store);
    ck_assert_ptr_null(store);
}
END_TEST

START_TEST(test_destroy_rolls_back_open_turn)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    zj_store_destroy(&store);
    ck_assert_ptr_null(store);

    store = zj_testdb_store();
    zj_job_t got = {0};
    ck_assert_int_eq(zj_store_get_job(store, job.id, &got), ZJ_ENOTFOUND);
    zj_store_destroy(&store);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs"), 0);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_update_running_then_final)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = zj_testdb_job("sha256", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);

    job.state = ZJ_STATE_RUNNING;
    job.attempts = 1;
    job.worker = "w1";
    job.started_at = 1700000001.25;
    ck_assert_int_eq(zj_store_update_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_job_t got = {0};
    ck_assert_int_eq(zj_store_get_job(store, job.id, &got), 0);
    ck_assert_int_eq(got.state, ZJ_STATE_RUNNING);
    ck_assert_int_eq(got.attempts, 1);
    ck_assert_str_eq(got.worker, "w1");
    ck_assert_double_eq(got.started_at, 1700000001.25);
    ck_assert_double_eq(got.finished_at, 0);
    zj_job_clear(&got);

    job.state = ZJ_STATE_SUCCEEDED;
    job.finished_at = 1700000002.75;
    job.result = "{\"hex\":\"ab\"}";
    ck_assert_int_eq(zj_store_update_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(zj_store_get_job(store, job.id, &got), 0);
    ck_assert_int_eq(got.state, ZJ_STATE_SUCCEEDED);
    ck_assert_str_eq(got.result, "{\"hex\":\"ab\"}");
    ck_assert_ptr_null(got.error);
    ck_assert_double_eq(got.finished_at, 1700000002.75);
    ck_assert_str_eq(got.kind, "sha256"); //  Not a mutable field: kept
    zj_job_clear(&got);

    //  An id with no row (deleted from the shell) changes nothing.
    job.id += 1000;
    ck_assert_int_eq(zj_store_update_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT count(*) FROM jobs"), 1);
    sqlite3_close(db);
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_list_by_state_with_limit)
{
    zj_store_t *store = zj_testdb_store();
    int64_t queued[5];
    for (int index = 0; index < 8; index++) {
        zj_job_t job = zj_testdb_job("echo", index < 5 ? ZJ_STATE_QUEUED
                                                       : ZJ_STATE_SUCCEEDED);
        ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
        if (index < 5)
            queued[index] = job.id;
    }
    //  Reads work inside the turn too: they see its writes.
    s_seen_t seen = {0};
    ck_assert_int_eq(zj_store_list_jobs(store, "queued", 2, s_collect, &seen),
                     0);
    ck_assert_uint_eq(seen.count, 2);
    ck_assert_int_eq(seen.ids[0], queued[4]); //  Newest first
    ck_assert_int_eq(seen.ids[1], queued[3]);
    ck_assert_int_eq(seen.states[0], ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_commit(store), 0);

    seen = (s_seen_t){0};
    ck_assert_int_eq(
        zj_store_list_jobs(store, "succeeded", 10, s_collect, &seen), 0);
    ck_assert_uint_eq(seen.count, 3);
    ck_assert_int_eq(seen.states[2], ZJ_STATE_SUCCEEDED);
    seen = (s_seen_t){0};
    ck_assert_int_eq(zj_store_list_jobs(store, "failed", 10, s_collect, &seen),
                     0);
    ck_assert_uint_eq(seen.count, 0);

    for (int index = 0; index < 120; index++) {
        zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
        ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    }
    ck_assert_int_eq(zj_store_commit(store), 0);
    seen = (s_seen_t){0};
    ck_assert_int_eq(zj_store_list_jobs(store, NULL, 0, s_collect, &seen), 0);
    ck_assert_uint_eq(seen.count, 100); //  limit 0 means 100
    ck_assert_int_gt(seen.ids[0], seen.ids[99]);
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_recover_requeues_running_in_id_order)
{
    zj_store_t *store = zj_testdb_store();
    zj_state_t states[] = {ZJ_STATE_QUEUED,    ZJ_STATE_RUNNING,
                           ZJ_STATE_SUCCEEDED, ZJ_STATE_RUNNING,
                           ZJ_STATE_QUEUED,    ZJ_STATE_FAILED};
    int64_t ids[6];
    for (int index = 0; index < 6; index++) {
        zj_job_t job = zj_testdb_job("echo", states[index]);
        ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
        ids[index] = job.id;
    }
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);

    store = zj_testdb_store();
    s_seen_t seen = {0};
    int64_t requeued = -1;
    ck_assert_int_eq(zj_store_recover(store, s_collect, &seen, &requeued), 0);
    ck_assert_int_eq(requeued, 2);
    ck_assert(zj_store_in_turn(store));
    ck_assert_uint_eq(seen.count, 4);
    int64_t expected[] = {ids[0], ids[1], ids[3], ids[4]};
    //  Each as the dead run left it: the callback can tell them apart.
    zj_state_t as_left[] = {ZJ_STATE_QUEUED, ZJ_STATE_RUNNING, ZJ_STATE_RUNNING,
                            ZJ_STATE_QUEUED};
    for (int index = 0; index < 4; index++) {
        ck_assert_int_eq(seen.ids[index], expected[index]);
        ck_assert_int_eq(seen.states[index], as_left[index]);
    }
    ck_assert_int_eq(zj_store_commit(store), 0);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(
        zj_testdb_int(db, "SELECT count(*) FROM jobs WHERE state = 'running'"),
        0);
    ck_assert_int_eq(
        zj_testdb_int(db, "SELECT count(*) FROM jobs WHERE state = 'queued'"),
        4);
    sqlite3_close(db);

    //  A second recovery finds nothing running.
    seen = (s_seen_t){0};
    ck_assert_int_eq(zj_store_recover(store, s_collect, &seen, &requeued), 0);
    ck_assert_int_eq(requeued, 0);
    ck_assert_uint_eq(seen.count, 4);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
}
END_TEST

//  What recovery saw of one job's losses.
static void
s_collect_losses(void *arg, const zj_job_t *job)
{
    *(int32_t *) arg = job->losses;
}

START_TEST(test_losses_round_trip)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    sqlite3 *db = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(db, "SELECT losses FROM jobs"), 0);

    job.state = ZJ_STATE_RUNNING;
    job.attempts = 3;
    job.losses = 2;
    ck_assert_int_eq(zj_store_update_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(zj_testdb_int(db, "SELECT losses FROM jobs"), 2);
    sqlite3_close(db);
    zj_job_t got = {0};
    ck_assert_int_eq(zj_store_get_job(store, job.id, &got), 0);
    ck_assert_int_eq(got.losses, 2);
    zj_job_clear(&got);
    zj_store_destroy(&store);

    //  A restarted coordinator recovers the count with the job.
    store = zj_testdb_store();
    int32_t losses = -1;
    int64_t requeued = 0;
    ck_assert_int_eq(
        zj_store_recover(store, s_collect_losses, &losses, &requeued), 0);
    ck_assert_int_eq(requeued, 1);
    ck_assert_int_eq(losses, 2);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_store_destroy(&store);
}
END_TEST

//  What list_workers saw, copied out of the borrowed infos.
typedef struct {
    char names[4][16];  //  Worker names in call order
    char states[4][16]; //  Their states
    char kinds[4][64];  //  "name:class,..." of each
    int32_t running[4]; //  Their running counts
    int64_t pid[4];     //  Their pids
    size_t count;       //  Calls so far
} s_workers_t;

static void
s_collect_worker(void *arg, const zj_worker_info_t *info)
{
    s_workers_t *seen = arg;
    ck_assert_uint_lt(seen->count, 4);
    size_t at = seen->count++;
    snprintf(seen->names[at], 16, "%s", info->name);
    snprintf(seen->states[at], 16, "%s", info->state ? info->state : "");
    for (size_t index = 0; index < info->kind_count; index++) {
        size_t used = strlen(seen->kinds[at]);
        snprintf(seen->kinds[at] + used, 64 - used, "%s%s:%s", index ? "," : "",
                 info->kinds[index].name,
                 zj_class_name(info->kinds[index].klass));
    }
    seen->running[at] = info->running;
    seen->pid[at] = info->pid;
}

START_TEST(test_workers_round_trip)
{
    zj_store_t *store = zj_testdb_store();
    zj_kind_t kinds[] = {{"echo", ZJ_CLASS_IO}, {"sha256", ZJ_CLASS_CPU}};
    zj_worker_info_t w2 = {.name = "w2",
                           .host = "b",
                           .pid = 22,
                           .io_slots = 100,
                           .cpu_slots = 2,
                           .kinds = kinds,
                           .kind_count = 2,
                           .state = "connected",
                           .connected_at = 1700000000,
                           .last_seen = 1700000001};
    zj_worker_info_t w1 = w2;
    w1.name = "w1";
    w1.pid = 11;
    w1.kind_count = 1;
    ck_assert_int_eq(zj_store_save_worker(store, &w2), 0);
    ck_assert_int_eq(zj_store_save_worker(store, &w1), 0);
    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_RUNNING);
    job.worker = "w2";
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);

    sqlite3 *db = zj_testdb_raw();
    char *text =
        zj_testdb_text(db, "SELECT kinds FROM workers WHERE name='w2'");
    ck_assert_str_eq(text, "{\"echo\":\"io\",\"sha256\":\"cpu\"}");
    free(text);
    sqlite3_close(db);

    s_workers_t seen = {0};
    ck_assert_int_eq(zj_store_list_workers(store, s_collect_worker, &seen), 0);
    ck_assert_uint_eq(seen.count, 2);
    ck_assert_str_eq(seen.names[0], "w1"); //  By name
    ck_assert_str_eq(seen.kinds[0], "echo:io");
    ck_assert_int_eq(seen.pid[0], 11);
    ck_assert_int_eq(seen.running[0], 0);
    ck_assert_str_eq(seen.names[1], "w2");
    ck_assert_str_eq(seen.kinds[1], "echo:io,sha256:cpu");
    //  The coordinator counts what its workers run; the store does not.
    ck_assert_int_eq(seen.running[1], 0);
    ck_assert_str_eq(seen.states[1], "connected");

    ck_assert_int_eq(zj_store_set_worker_state(store, "w1", "lost", 17e8), 0);
    ck_assert_int_eq(zj_store_set_worker_state(store, "w9", "lost", 17e8), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    seen = (s_workers_t){0};
    ck_assert_int_eq(zj_store_list_workers(store, s_collect_worker, &seen), 0);
    ck_assert_uint_eq(seen.count, 2); //  No row made for w9
    ck_assert_str_eq(seen.states[0], "lost");
    ck_assert_str_eq(seen.states[1], "connected");
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_forget_workers)
{
    zj_store_t *store = zj_testdb_store();
    zj_worker_info_t info = {.name = "w1", .state = "connected"};
    ck_assert_int_eq(zj_store_save_worker(store, &info), 0);
    info.name = "w2";
    info.state = "lost";
    ck_assert_int_eq(zj_store_save_worker(store, &info), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    ck_assert_int_eq(zj_store_forget_workers(store), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);

    s_workers_t seen = {0};
    ck_assert_int_eq(zj_store_list_workers(store, s_collect_worker, &seen), 0);
    ck_assert_uint_eq(seen.count, 2);
    ck_assert_str_eq(seen.states[0], "gone");
    ck_assert_str_eq(seen.states[1], "gone");
    ck_assert_str_eq(seen.kinds[0], ""); //  {} stored, none parsed back
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_garbage_file_fails_with_why)
{
    FILE *file = fopen(zj_testdb_path, "w");
    ck_assert_ptr_nonnull(file);
    for (int index = 0; index < 512; index++)
        fputs("this is not a database ", file);
    fclose(file);
    char why[ZJ_WHY_SIZE] = "";
    zj_store_t *store = zj_store_new(zj_testdb_path, ZJ_SYNC_NORMAL, why);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(why, "not a database") != NULL, "why: %s", why);
}
END_TEST

START_TEST(test_newer_schema_fails_with_why)
{
    sqlite3 *db = zj_testdb_raw();
    zj_testdb_exec(db, "CREATE TABLE jobs (id INTEGER PRIMARY KEY);"
                       "PRAGMA user_version = 99");
    sqlite3_close(db);
    char why[ZJ_WHY_SIZE] = "";
    zj_store_t *store = zj_store_new(zj_testdb_path, ZJ_SYNC_FULL, why);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(why, "99") && strstr(why, "newer"), "why: %s", why);
    db = zj_testdb_raw(); //  Refused, not touched
    ck_assert_int_eq(zj_testdb_int(db, "PRAGMA user_version"), 99);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_negative_schema_fails_as_invalid)
{
    sqlite3 *db = zj_testdb_raw();
    zj_testdb_exec(db, "CREATE TABLE jobs (id INTEGER PRIMARY KEY);"
                       "PRAGMA user_version = -5");
    sqlite3_close(db);
    char why[ZJ_WHY_SIZE] = "";
    zj_store_t *store = zj_store_new(zj_testdb_path, ZJ_SYNC_FULL, why);
    ck_assert_ptr_null(store);
    ck_assert_msg(strstr(why, "-5") && strstr(why, "invalid") &&
                      !strstr(why, "newer"),
                  "why: %s", why);
    db = zj_testdb_raw(); //  Refused, not touched
    ck_assert_int_eq(zj_testdb_int(db, "PRAGMA user_version"), -5);
    sqlite3_close(db);
}
END_TEST

START_TEST(test_reader_does_not_block_commit)
{
    zj_store_t *store = zj_testdb_store();
    sqlite3 *reader = zj_testdb_raw();
    zj_testdb_exec(reader, "BEGIN; SELECT count(*) FROM jobs");

    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
    ck_assert_int_eq(zj_store_commit(store), 0);
    //  The reader keeps its snapshot until it ends its transaction.
    ck_assert_int_eq(zj_testdb_int(reader, "SELECT count(*) FROM jobs"), 0);
    zj_testdb_exec(reader, "COMMIT");
    ck_assert_int_eq(zj_testdb_int(reader, "SELECT count(*) FROM jobs"), 1);
    sqlite3_close(reader);
    zj_store_destroy(&store);
}
END_TEST

static int64_t
s_file_size(const char *path)
{
    struct stat info;
    return stat(path, &info) == 0 ? (int64_t) info.st_size : -1;
}

//  Commits turns of per_turn queued jobs with 3,000-byte args, each turn
//  followed by the WAL's bound as the coordinator's loop does.
static void
s_commit_big_jobs(zj_store_t *store, int turns, int per_turn)
{
    static char args[3001];
    memset(args, '7', sizeof args - 1);
    for (int turn = 0; turn < turns; turn++) {
        for (int index = 0; index < per_turn; index++) {
            zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
            job.args = args;
            ck_assert_int_eq(zj_store_insert_job(store, &job), 0);
        }
        ck_assert_int_eq(zj_store_commit(store), 0);
        zj_store_bound_wal(store);
    }
}

//  SQLite's automatic checkpoint is off: the store's own thread copies
//  the WAL into the file once the loop's commits have grown it.
START_TEST(test_wal_is_checkpointed_by_the_thread)
{
    zj_store_t *store = zj_testdb_store();
    int64_t before = s_file_size(zj_testdb_path);
    s_commit_big_jobs(store, 20, 100);
    //  6 MB went into the WAL; the file holds them once checkpointed.
    int64_t deadline = zj_mono_ms() + 5000;
    while (s_file_size(zj_testdb_path) < 4000000 && zj_mono_ms() < deadline)
        usleep(10000);
    ck_assert_int_ge(s_file_size(zj_testdb_path), 4000000);
    ck_assert_int_lt(before, 1000000);
    zj_store_destroy(&store);
}
END_TEST

//  Commits that never pause, as under steady load: the thread is woken
//  once per ZJ_STORE_CHECKPOINT_PAGES of WAL, not on every commit past
//  them, and the loop's help keeps the WAL file bounded although no
//  checkpoint of the thread ever ends between two commits.
START_TEST(test_wal_stays_bounded_under_commits_that_never_pause)
{
    zj_store_t *store = zj_testdb_store();
    s_commit_big_jobs(store, 12000, 1);
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", zj_testdb_path);
    //  About 50,000 pages go through the WAL, which keeps them all
    //  without the bound. With it, the WAL passes the bound only by what
    //  commits while the thread's last checkpoint runs: up to 6,700 pages
    //  seen with the two cores busy.
    int64_t frame = 4096 + 24;
    ck_assert_int_le(s_file_size(wal), 20000 * frame);
    ck_assert_int_lt(zj_store_checkpoints(store), 200);
    zj_store_destroy(&store);
    sqlite3 *reader = zj_testdb_raw();
    ck_assert_int_eq(zj_testdb_int(reader, "SELECT count(*) FROM jobs"), 12000);
    sqlite3_close(reader);
}
END_TEST

START_TEST(test_other_writer_degrades_until_it_lets_go)
{
    zj_store_t *store = zj_testdb_store();
    sqlite3 *writer = zj_testdb_raw();
    zj_testdb_exec(writer, "BEGIN IMMEDIATE");

    zj_job_t job = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &job), 0); //  Journaled
    ck_assert_int_eq(job.id, 1);
    ck_assert(!zj_store_is_writable(store));
    ck_assert_int_eq(zj_store_commit(store), ZJ_ESTORE);
    ck_assert_msg(strstr(zj_store_last_error(store), "locked"), "error: %s",
                  zj_store_last_error(store));
    ck_assert(!zj_store_in_turn(store));
    ck_assert_int_eq(zj_store_retry(store), ZJ_ESTORE); //  Still held
    zj_testdb_exec(writer, "ROLLBACK");
    sqlite3_close(writer);

    ck_assert_int_eq(zj_store_retry(store), 0);
    ck_assert(zj_store_is_writable(store));
    ck_assert_uint_eq(zj_store_pending(store), 0);
    zj_job_t got = {0};
    ck_assert_int_eq(zj_store_get_job(store, 1, &got), 0);
    ck_assert_str_eq(got.kind, "echo");
    zj_job_clear(&got);
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_bad_row_keeps_the_turn)
{
    zj_store_t *store = zj_testdb_store();
    zj_job_t good = zj_testdb_job("echo", ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &good), 0);
    zj_job_t bad = zj_testdb_job(NULL, ZJ_STATE_QUEUED);
    ck_assert_int_eq(zj_store_insert_job(store, &bad), ZJ_ESTORE);
    ck_assert_msg(strstr(zj_store_last_error(store), "NOT NULL"), "error: %s",
                  zj_store_last_error(store));
    ck_assert_int_eq(bad.id, 0);
    ck_assert(zj_store_in_turn(store));
    ck_assert(zj_store_is_writable(store)); //  A bad row is no store fault
    ck_assert_uint_eq(zj_store_pending(store), 1);
    ck_assert_int_eq(zj_store_commit(store), 0);
    zj_job_t got = {0};
    ck_assert_int_eq(zj_store_get_job(store, good.id, &got), 0);
    zj_job_clear(&got);
    zj_store_destroy(&store);
}
END_TEST

START_TEST(test_unwritable_path_fails_cleanly)
{
    char path[192];
    char why[ZJ_WHY_SIZE] = "";
    snprintf(path, sizeof(path), "%s/missing/zjob.db", zj_testdb_dir);
    ck_assert_ptr_null(zj_store_new(path, ZJ_SYNC_NORMAL, why));
    ck_assert_msg(strstr(why, "cannot open"), "why: %s", why);

    //  A regular file where a directory should be stops root as well.
    FILE *file = fopen(zj_testdb_path, "w");
    ck_assert_ptr_nonnull(file);
    fclose(file);
    snprintf(path, sizeof(path), "%s/zjob.db", zj_testdb_path);
    why[0] = '\0';
    ck_assert_ptr_null(zj_store_new(path, ZJ_SYNC_NORMAL, why));
    ck_assert_str_ne(why, "");

    if (geteuid() != 0) { //  Root writes anywhere: mode bits cannot stop it
        snprintf(path, sizeof(path), "%s/locked", zj_testdb_dir);
        ck_assert_int_eq(mkdir(path, 0500), 0);
        strcat(path, "/zjob.db");
        why[0] = '\0';
        ck_assert_ptr_null(zj_store_new(path, ZJ_SYNC_NORMAL, why));
        ck_assert_str_ne(why, "");
    }
}
END_TEST

Suite *
test_store_suite(void)
{
    Suite *suite = suite_create("store");
    TCase *tcase = tcase_create("store");
    tcase_add_checked_fixture(tcase, zj_testdb_setup, zj_testdb_teardown);
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_schema_is_design_v10);
    tcase_add_test(tcase, test_v1_database_migrates_to_v8);
    tcase_add_test(tcase, test_v5_tokens_are_kept_without_their_age_index);
    tcase_add_test(tcase, test_v2_attempts_survive_v3);
    tcase_add_test(tcase, test_attempts_are_recorded);
    tcase_add_test(tcase, test_insert_commit_get);
    tcase_add_test(tcase, test_children_are_found_by_parent_and_call);
    tcase_add_test(tcase, test_destroy_rolls_back_open_turn);
    tcase_add_test(tcase, test_update_running_then_final);
    tcase_add_test(tcase, test_list_by_state_with_limit);
    tcase_add_test(tcase, test_recover_requeues_running_in_id_order);
    tcase_add_test(tcase, test_losses_round_trip);
    tcase_add_test(tcase, test_workers_round_trip);
    tcase_add_test(tcase, test_forget_workers);
    tcase_add_test(tcase, test_garbage_file_fails_with_why);
    tcase_add_test(tcase, test_newer_schema_fails_with_why);
    tcase_add_test(tcase, test_negative_schema_fails_as_invalid);
    tcase_add_test(tcase, test_reader_does_not_block_commit);
    tcase_add_test(tcase, test_other_writer_degrades_until_it_lets_go);
    tcase_add_test(tcase, test_wal_is_checkpointed_by_the_thread);
    tcase_add_test(tcase,
                   test_wal_stays_bounded_under_commits_that_never_pause);
    tcase_add_test(tcase, test_bad_row_keeps_the_turn);
    tcase_add_test(tcase, test_unwritable_path_fails_cleanly);
    suite_add_tcase(suite, tcase);
    return suite;
}
