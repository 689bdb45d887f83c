//  store_view.c - read-only views of the store, each on its own
//  connection (see .h).
#include <assert.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/why.h"
#include "coordinator/store_view.h"

//  How long a view waits for a lock (a checkpoint restarting the WAL),
//  and how much work it may do: SQLite calls the progress handler every
//  S_STEPS_PER_CALL steps, and a view stops after S_CALLS_MAX calls
//  (about 50 ms of reading).
#define S_BUSY_MS 1000
#define S_STEPS_PER_CALL 1000
#define S_CALLS_MAX 5000

typedef struct {
    sqlite3 *db;
    int calls; //  Progress handler calls so far
    char *why; //  The caller's reason buffer
} s_view_t;

static int
s_progress(void *arg)
{
    s_view_t *view = arg;
    return ++view->calls > S_CALLS_MAX;
}

static int
s_open(s_view_t *view, const char *path, char *why)
{
    *view = (s_view_t){.why = why};
    int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &view->db, flags, NULL) != SQLITE_OK) {
        zj_why_set(why, "cannot read the store %s: %s", path,
                   view->db ? sqlite3_errmsg(view->db) : "out of memory");
        sqlite3_close(view->db);
        view->db = NULL;
        return ZJ_ESTORE;
    }
    sqlite3_busy_timeout(view->db, S_BUSY_MS);
    sqlite3_progress_handler(view->db, S_STEPS_PER_CALL, s_progress, view);
    return 0;
}

static void
s_close(s_view_t *view)
{
    sqlite3_close(view->db);
    view->db = NULL;
}

//  The error of the statement that failed.
static int
s_failed(s_view_t *view)
{
    if (view->calls > S_CALLS_MAX)
        return zj_why_fail(ZJ_ETOOBIG, view->why,
                           "the store has too much to read for this view: "
                           "narrow it with a state or a kind");
    return zj_why_fail(ZJ_ESTORE, view->why, "cannot read the store: %s",
                       sqlite3_errmsg(view->db));
}

static sqlite3_stmt *
s_prepare(s_view_t *view, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(view->db, sql, -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    return stmt;
}

//  Text as a JSON string; bytes that are not UTF-8 become '?'.
static json_t *
s_text(const unsigned char *text, int size)
{
    json_t *value = json_stringn((const char *) text, (size_t) size);
    if (value)
        return value;
    char *copy = malloc((size_t) size + 1);
    assert(copy);
    for (int index = 0; index < size; index++)
        copy[index] =
            text[index] < 0x80 && text[index] ? (char) text[index] : '?';
    value = json_stringn(copy, (size_t) size);
    free(copy);
    return value;
}

//  Columns that hold JSON texts, shown as JSON values.
static bool
s_is_json_column(const char *name)
{
    return strcmp(name, "args") == 0 || strcmp(name, "result") == 0 ||
           strcmp(name, "after") == 0;
}

static json_t *
s_column(sqlite3_stmt *stmt, int column)
{
    switch (sqlite3_column_type(stmt, column)) {
    case SQLITE_INTEGER:
        return json_integer(sqlite3_column_int64(stmt, column));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(stmt, column));
    case SQLITE_NULL:
        return json_null();
    default:
        break;
    }
    const unsigned char *text = sqlite3_column_text(stmt, column);
    int size = sqlite3_column_bytes(stmt, column);
    if (s_is_json_column(sqlite3_column_name(stmt, column))) {
        json_t *parsed = json_loadb((const char *) text, (size_t) size,
                                    JSON_DECODE_ANY, NULL);
        if (parsed)
            return parsed;
    }
    return s_text(text, size);
}

//  The current row as an object of its columns.
static json_t *
s_row(sqlite3_stmt *stmt)
{
    json_t *row = json_object();
    int columns = sqlite3_column_count(stmt);
    for (int column = 0; column < columns; column++)
        json_object_set_new(row, sqlite3_column_name(stmt, column),
                            s_column(stmt, column));
    return row;
}

//  Steps stmt (bound already) to its end, or to limit rows, into a new
//  array at *rows_p; sets *more_p (may be NULL) when rows were left.
//  Finalizes stmt.
static int
s_rows(s_view_t *view, sqlite3_stmt *stmt, int limit, json_t **rows_p,
       bool *more_p)
{
    json_t *rows = json_array();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (limit >= 0 && (int) json_array_size(rows) == limit)
            break;
        json_array_append_new(rows, s_row(stmt));
    }
    if (more_p)
        *more_p = rc == SQLITE_ROW;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        json_decref(rows);
        rc = s_failed(view);
        sqlite3_finalize(stmt);
        return rc;
    }
    sqlite3_finalize(stmt);
    *rows_p = rows;
    return 0;
}

//  Prepares sql, binds int64 parameters (count of them), and reads its
//  rows as s_rows does.
static int
s_query(s_view_t *view, const char *sql, const int64_t *params, int count,
        int limit, json_t **rows_p, bool *more_p)
{
    sqlite3_stmt *stmt = s_prepare(view, sql);
    if (stmt == NULL)
        return s_failed(view);
    for (int index = 0; index < count; index++)
        sqlite3_bind_int64(stmt, index + 1, params[index]);
    return s_rows(view, stmt, limit, rows_p, more_p);
}

//  A view on its own connection: opens, runs body, closes.
typedef int(s_body_fn)(s_view_t *view, const void *arg, json_t **out);

static int
s_run(const char *path, s_body_fn *body, const void *arg, json_t **out,
      char *why)
{
    assert(path && out && why);
    *out = NULL;
    s_view_t view;
    int rc = s_open(&view, path, why);
    if (rc == 0)
        rc = body(&view, arg, out);
    s_close(&view);
    assert((rc == 0) == (*out != NULL));
    return rc;
}

//  The jobs a job ran after, each with its kind and state.
static int
s_after(s_view_t *view, const json_t *job, json_t **after_p)
{
    json_t *after = json_array();
    const json_t *ids = json_object_get(job, "after");
    size_t index;
    json_t *id;
    json_array_foreach(ids, index, id) {
        if (index == ZJ_VIEW_AFTER_MAX || !json_is_integer(id))
            break;
        int64_t param = json_integer_value(id);
        json_t *rows = NULL;
        int rc = s_query(view, "SELECT id, kind, state FROM jobs WHERE id = ?",
                         &param, 1, 1, &rows, NULL);
        if (rc) {
            json_decref(after);
            return rc;
        }
        json_t *row = json_array_get(rows, 0);
        json_array_append_new(after, row ? json_incref(row)
                                         : json_pack("{s:I, s:n, s:s}", "id",
                                                     (json_int_t) param, "kind",
                                                     "state", "deleted"));
        json_decref(rows);
    }
    *after_p = after;
    return 0;
}

static int
s_job_body(s_view_t *view, const void *arg, json_t **out)
{
    int64_t id = *(const int64_t *) arg;
    json_t *jobs = NULL, *attempts = NULL, *children = NULL, *after = NULL;
    int rc = s_query(view, "SELECT * FROM jobs WHERE id = ?", &id, 1, 1, &jobs,
                     NULL);
    json_t *job = rc == 0 ? json_array_get(jobs, 0) : NULL;
    if (rc == 0 && job == NULL)
        rc =
            zj_why_fail(ZJ_ENOTFOUND, view->why, "no job %lld", (long long) id);
    if (rc == 0)
        rc = s_query(view,
                     "SELECT attempt, worker, state, started_at, finished_at,"
                     " error FROM attempts WHERE job_id = ? ORDER BY attempt",
                     &id, 1, -1, &attempts, NULL);
    if (rc == 0)
        rc = s_query(view,
                     "SELECT id, kind, state FROM jobs WHERE parent = ?"
                     " ORDER BY call",
                     &id, 1, ZJ_VIEW_CHILDREN_MAX, &children, NULL);
    if (rc == 0)
        rc = s_after(view, job, &after);
    if (rc == 0)
        *out = json_pack("{s:O, s:o, s:o, s:o}", "job", job, "attempts",
                         attempts, "children", children, "after", after);
    else {
        json_decref(attempts);
        json_decref(children);
    }
    json_decref(jobs);
    return rc;
}

int
zj_store_view_job(const char *path, int64_t id, json_t **out, char *why)
{
    return s_run(path, s_job_body, &id, out, why);
}

static int
s_failures_body(s_view_t *view, const void *arg, json_t **out)
{
    int64_t limit = *(const int *) arg;
    return s_query(view,
                   "SELECT id, kind, error, attempts, worker, finished_at"
                   " FROM jobs WHERE state = 'failed' ORDER BY id DESC"
                   " LIMIT ?",
                   &limit, 1, -1, out, NULL);
}

int
zj_store_view_failures(const char *path, int limit, json_t **out, char *why)
{
    if (limit < 1 || limit > ZJ_VIEW_FAILURES_MAX)
        return zj_why_fail(ZJ_EUSAGE, why, "limit must be 1..%d",
                           ZJ_VIEW_FAILURES_MAX);
    return s_run(path, s_failures_body, &limit, out, why);
}

//  The page's SQL: the filters asked, so that SQLite can use the state
//  index (an "IS NULL OR" filter would hide it).
static void
s_jobs_sql(const zj_view_query_t *query, char *sql, size_t size)
{
    snprintf(sql, size,
             "SELECT id, kind, state, priority, attempts, worker, parent,"
             " created_at, started_at, finished_at, error FROM jobs"
             " WHERE id < ?1%s%s ORDER BY id DESC LIMIT ?2",
             query->state ? " AND state = ?3" : "",
             query->kind ? " AND kind = ?4" : "");
}

static int
s_jobs_body(s_view_t *view, const void *arg, json_t **out)
{
    const zj_view_query_t *query = arg;
    char sql[512];
    s_jobs_sql(query, sql, sizeof sql);
    sqlite3_stmt *stmt = s_prepare(view, sql);
    if (stmt == NULL)
        return s_failed(view);
    sqlite3_bind_int64(stmt, 1, query->before > 0 ? query->before : INT64_MAX);
    sqlite3_bind_int(stmt, 2, query->limit + 1);
    if (query->state)
        sqlite3_bind_text(stmt, 3, query->state, -1, SQLITE_STATIC);
    if (query->kind)
        sqlite3_bind_text(stmt, 4, query->kind, -1, SQLITE_STATIC);
    json_t *rows = NULL;
    bool more = false;
    int rc = s_rows(view, stmt, query->limit, &rows, &more);
    if (rc == 0)
        *out = json_pack("{s:o, s:b}", "jobs", rows, "more", more);
    return rc;
}

static bool
s_is_state(const char *name)
{
    const char *states[] = {"queued", "running", "succeeded", "failed",
                            "cancelled"};
    for (size_t index = 0; index < sizeof states / sizeof *states; index++)
        if (strcmp(name, states[index]) == 0)
            return true;
    return false;
}

int
zj_store_view_jobs(const char *path, const zj_view_query_t *query, json_t **out,
                   char *why)
{
    assert(query);
    if (query->limit < 1 || query->limit > ZJ_VIEW_JOBS_MAX)
        return zj_why_fail(ZJ_EUSAGE, why, "limit must be 1..%d",
                           ZJ_VIEW_JOBS_MAX);
    if (query->state && !s_is_state(query->state))
        return zj_why_fail(ZJ_EUSAGE, why,
                           "state must be queued, running, succeeded, failed "
                           "or cancelled");
    if (query->before < 0)
        return zj_why_fail(ZJ_EUSAGE, why, "before must be a job id");
    return s_run(path, s_jobs_body, query, out, why);
}

//  Every row of a small table: arg is the SQL.
static int
s_table_body(s_view_t *view, const void *arg, json_t **out)
{
    return s_query(view, arg, NULL, 0, -1, out, NULL);
}

int
zj_store_view_schedules(const char *path, json_t **out, char *why)
{
    return s_run(path, s_table_body,
                 "SELECT name, kind, args, every_ms, cron, priority, next_at,"
                 " last_at, last_id, created_at FROM schedules ORDER BY name",
                 out, why);
}

int
zj_store_view_limits(const char *path, json_t **out, char *why)
{
    return s_run(path, s_table_body,
                 "SELECT kind, concurrency, rate, updated_at FROM limits"
                 " ORDER BY kind",
                 out, why);
}
