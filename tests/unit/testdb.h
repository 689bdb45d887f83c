//  testdb.h - a store file in a fresh temp dir per test, and a second,
//  raw SQLite connection that plays the operator's `sqlite3 zjob.db`, for
//  the store suites.
#ifndef ZJ_TESTDB_H
#define ZJ_TESTDB_H

#include <sqlite3.h>
#include <stdint.h>
#include <sys/resource.h>

#include "coordinator/store.h"

extern char zj_testdb_dir[64];   //  This test's temp dir
extern char zj_testdb_path[128]; //  zj_testdb_dir/zjob.db

//  Check fixture: makes the temp dir, then removes it with its files.
void zj_testdb_setup(void);
void zj_testdb_teardown(void);

//  Opens the store at zj_testdb_path (synchronous=NORMAL), or fails.
zj_store_t *zj_testdb_store(void);

//  A job of kind in state with borrowed strings, as SUBMIT makes them.
zj_job_t zj_testdb_job(const char *kind, zj_state_t state);

//  Sets this (forked) test process's RLIMIT_FSIZE: every write past bytes
//  of any file then fails (EFBIG, as a full disk fails with ENOSPC), and
//  SIGXFSZ is ignored. RLIM_INFINITY lifts it. Assert nothing while it is
//  set: Check reports through a file too.
void zj_testdb_limit_file_size(rlim_t bytes);

//  A raw connection to zj_testdb_path.
sqlite3 *zj_testdb_raw(void);

//  Runs sql on db, or fails.
void zj_testdb_exec(sqlite3 *db, const char *sql);

//  The first column of the first row of sql, as an integer, or as text
//  (caller frees).
int64_t zj_testdb_int(sqlite3 *db, const char *sql);
char *zj_testdb_text(sqlite3 *db, const char *sql);

#endif
