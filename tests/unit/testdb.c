//  testdb.c - the store suites' temp dir and raw connection (see
//  testdb.h).
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "proto/limits.h"
#include "tests/unit/testdb.h"

char zj_testdb_dir[64];
char zj_testdb_path[128];

void
zj_testdb_setup(void)
{
    snprintf(zj_testdb_dir, sizeof(zj_testdb_dir), "/tmp/zj-store-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(zj_testdb_dir));
    snprintf(zj_testdb_path, sizeof(zj_testdb_path), "%s/zjob.db",
             zj_testdb_dir);
}

static int
s_remove_entry(const char *path, const struct stat *info, int flag,
               struct FTW *walk)
{
    (void) info, (void) flag, (void) walk;
    return remove(path);
}

void
zj_testdb_teardown(void)
{
    nftw(zj_testdb_dir, s_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

zj_store_t *
zj_testdb_store(void)
{
    char why[ZJ_WHY_SIZE] = "";
    zj_store_t *store = zj_store_new(zj_testdb_path, ZJ_SYNC_NORMAL, why);
    ck_assert_msg(store != NULL, "zj_store_new: %s", why);
    ck_assert_str_eq(why, "");
    return store;
}

//  A queued job of kind with borrowed strings, as SUBMIT makes them.
zj_job_t
zj_testdb_job(const char *kind, zj_state_t state)
{
    return (zj_job_t){.kind = (char *) kind,
                      .args = "{\"n\":1}",
                      .state = state,
                      .max_attempts = 1,
                      .created_at = 1700000000.5};
}

sqlite3 *
zj_testdb_raw(void)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(zj_testdb_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 2000);
    return db;
}

void
zj_testdb_exec(sqlite3 *db, const char *sql)
{
    char *message = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &message);
    ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, message);
}

//  The first column of the first row of sql, as an integer.
int64_t
zj_testdb_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
    int64_t value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
}

//  The first column of the first row of sql, as text (caller frees).
char *
zj_testdb_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(stmt), SQLITE_ROW);
    const char *text = (const char *) sqlite3_column_text(stmt, 0);
    char *copy = text ? strdup(text) : NULL;
    sqlite3_finalize(stmt);
    return copy;
}

void
zj_testdb_limit_file_size(rlim_t bytes)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit;
    getrlimit(RLIMIT_FSIZE, &limit);
    limit.rlim_cur = bytes < limit.rlim_max ? bytes : limit.rlim_max;
    setrlimit(RLIMIT_FSIZE, &limit);
}
