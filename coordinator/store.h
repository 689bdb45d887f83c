//  store.h - the SQLite record of jobs, attempts and workers (schema v4,
//  WAL).
//  Only this class talks to SQLite; every statement is prepared once.
//  Writes are group-committed: the first write of a loop turn opens a
//  transaction and zj_store_commit closes it. Every write is journaled in
//  memory until its turn commits. When a write or commit fails (disk full,
//  read-only file, I/O error, a lock held too long) the store degrades: it
//  rolls the turn back, keeps journaling writes without touching SQLite,
//  and zj_store_retry writes the whole journal in one transaction when
//  the file takes writes again. Not thread-safe: one owner, the
//  coordinator's loop.
//
//  The writes below return 0 when the write is kept (written, or
//  journaled for later), and ZJ_ESTORE only when SQLite refuses the row
//  itself (a constraint): that write is dropped and the turn goes on.
#ifndef ZJ_STORE_H
#define ZJ_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/limits.h"
#include "proto/msg.h"

typedef struct zj_store zj_store_t;

typedef enum { ZJ_SYNC_NORMAL, ZJ_SYNC_FULL } zj_sync_t;

//  Opens (creating and migrating) the database at path, in WAL mode with
//  the given synchronous level. Returns NULL and writes why on failure.
zj_store_t *zj_store_new(const char *path, zj_sync_t sync, char *why);

//  Rolls back an open turn, closes the database; sets *self_p to NULL.
void zj_store_destroy(zj_store_t **self_p);

//  Inserts a job (kind, args, state, priority, attempts, max_attempts,
//  losses, timeout_ms, backoff_ms, not_before, created_at, and
//  result/error/finished_at when it is already final) and sets job->id (ids are
//  given by the store, one more than the largest in the file at open). Borrows
//  job.
int zj_store_insert_job(zj_store_t *self, zj_job_t *job);

//  Records how one attempt of job ended: its attempt number, worker,
//  state, times and error, as a row of the attempts table (schema v2).
int zj_store_record_attempt(zj_store_t *self, const zj_job_t *job);

//  Writes a job's mutable fields (state, attempts, not_before, worker,
//  started_at, finished_at, result, error, losses) by id. Borrows job.
int zj_store_update_job(zj_store_t *self, const zj_job_t *job);

//  Reads job id into *job (which then owns its strings; free with
//  zj_job_clear). Returns 0 or ZJ_ENOTFOUND or ZJ_ESTORE.
int zj_store_get_job(zj_store_t *self, int64_t id, zj_job_t *job);

//  The state of job id into *state, reading nothing else of its row.
//  Returns 0, ZJ_ENOTFOUND or ZJ_ESTORE.
int zj_store_job_state(zj_store_t *self, int64_t id, zj_state_t *state);

typedef void(zj_store_job_fn)(void *arg, const zj_job_t *job);

//  Calls fn for the newest limit jobs (limit > 0) with ids below before,
//  in state (ZJ_STATE_NONE = any), newest first: by the primary key, or
//  the state index, so it reads limit rows at most. The job is borrowed
//  for the call. Returns 0 or ZJ_ESTORE.
int zj_store_list_before(zj_store_t *self, zj_state_t state, int64_t before,
                         int limit, zj_store_job_fn *fn, void *arg);

//  A row of zj_store_scan_jobs; returns false to stop the scan there.
typedef bool(zj_store_scan_fn)(void *arg, const zj_job_t *job);

//  Reads at most rows jobs with ids below before, newest first, and calls
//  fn with each (borrowed for the call) until it returns false. Sets
//  *last_id to the id of the last row read (0 if none). Returns 0 or
//  ZJ_ESTORE.
int zj_store_scan_jobs(zj_store_t *self, int64_t before, int rows,
                       zj_store_scan_fn *fn, void *arg, int64_t *last_id);

//  Calls fn for the newest limit jobs (limit 0 = 100) in state (NULL =
//  any), newest first. The job is borrowed for the call.
int zj_store_list_jobs(zj_store_t *self, const char *state, int limit,
                       zj_store_job_fn *fn, void *arg);

//  The same for the children of job parent (SPAWN), in the order of their
//  parent's calls, in state if not NULL.
int zj_store_list_children(zj_store_t *self, int64_t parent, const char *state,
                           int limit, zj_store_job_fn *fn, void *arg);

//  Recovery at start: calls fn for every queued or running job, oldest
//  first, with the state the store held, then turns every running job
//  back to queued (inside the current turn). Writes the number turned back
//  into *requeued. Returns 0 or ZJ_ESTORE.
int zj_store_recover(zj_store_t *self, zj_store_job_fn *fn, void *arg,
                     int64_t *requeued);

//  Inserts or replaces a worker row (state is info->state).
int zj_store_save_worker(zj_store_t *self, const zj_worker_info_t *info);

//  Sets a worker's state and last_seen.
int zj_store_set_worker_state(zj_store_t *self, const char *name,
                              const char *state, double last_seen);

//  Marks every worker not "gone" as "gone" (a fresh run knows none).
int zj_store_forget_workers(zj_store_t *self);

//  Deletes worker name's row, unless it is connected (zjob workers
//  --forget). Returns 0, or ZJ_ESTORE.
int zj_store_delete_worker(zj_store_t *self, const char *name);

typedef void(zj_store_worker_fn)(void *arg, const zj_worker_info_t *info);

//  Calls fn for every worker row; kinds are parsed back from the stored
//  JSON object {"kind": "io"|"cpu", ...}. running is left 0: the
//  coordinator knows what its connected workers run.
int zj_store_list_workers(zj_store_t *self, zj_store_worker_fn *fn, void *arg);

//  Remembers (as long as the store lasts: PROTOCOL.md, "Retrying a
//  SUBMIT") that the SUBMIT with token made, or answered with, the count
//  ids (1..ZJ_MAX_BATCH), from the batch whose zj_store_batch_digest is
//  digest. Ids that follow each other are kept as (first id, count); others
//  (a batch with unique jobs made before) as their list too. Borrows all.
int zj_store_save_token(zj_store_t *self, const char *token, const int64_t *ids,
                        size_t count, const char *digest, double now);

//  Finds a saved token: sets *ids_p to a malloc'd array of its ids (the
//  caller frees it), writes their count and the digest
//  (digest[ZJ_STORE_DIGEST_SIZE]) and returns 0, or returns ZJ_ENOTFOUND
//  or ZJ_ESTORE. It reads inside the turn's transaction, which a SUBMIT
//  opens anyway, so that it takes no lock of its own.
#define ZJ_STORE_DIGEST_SIZE 17 //  16 hex digits and a NUL
int zj_store_find_token(zj_store_t *self, const char *token, int64_t **ids_p,
                        size_t *count, char *digest);

//  What retention (retention.h) reads of a job to decide whether it goes.
typedef struct {
    int64_t id;
    int64_t parent; //  0 at the top
    zj_state_t state;
    double created_at;
    double finished_at; //  0: not finished
    char kind[ZJ_MAX_KIND + 1];
} zj_store_row_t;

//  Reads up to max jobs with ids above after_id, in id order, into rows;
//  *count is how many (fewer than max: the last job was read). Inside
//  the turn. Returns 0, or ZJ_ESTORE (also while the store cannot be
//  written: a sweep waits for it).
int zj_store_rows_after(zj_store_t *self, int64_t after_id,
                        zj_store_row_t *rows, size_t max, size_t *count);

//  Deletes the rows of jobs first..last and of their attempts (their logs
//  and progress are columns of their rows): a run of final jobs, read by
//  zj_store_rows_after with no other job between them. Journaled, as one
//  write. Returns 0 or ZJ_ESTORE.
int zj_store_delete_jobs(zj_store_t *self, int64_t first, int64_t last);

//  Deletes the SUBMIT tokens made before cutoff among the next max tokens
//  after after in key order (a token sweep needs no index by age), and
//  writes the last token looked at into last[ZJ_MAX_TOKEN + 1]; *end is
//  true when no token follows it ("" starts again), *expired when some
//  were deleted. Journaled. Returns 0 or ZJ_ESTORE.
int zj_store_expire_tokens(zj_store_t *self, const char *after, size_t max,
                           double cutoff, char *last, bool *end, bool *expired);

//  The store file's size in bytes, and the bytes of its free pages (which
//  new rows reuse before the file grows). Returns 0 or ZJ_ESTORE.
int zj_store_size(zj_store_t *self, int64_t *bytes, int64_t *free_bytes);
//  Saves kind's limits (limit->concurrency -1 and rate 0: none, stored
//  NULL; burst and updated_at as given), replacing what it had, inside
//  the turn and journaled. Borrows limit. Returns 0 or ZJ_ESTORE.
int zj_store_save_limit(zj_store_t *self, const zj_kind_limit_t *limit);

//  Deletes kind's limits, inside the turn and journaled. Returns 0 or
//  ZJ_ESTORE.
int zj_store_delete_limit(zj_store_t *self, const char *kind);

typedef void(zj_store_limit_fn)(void *arg, const zj_kind_limit_t *limit);

//  Calls fn for every kind's limits, by kind (limit and its kind live for
//  the call). Returns 0 or ZJ_ESTORE.
int zj_store_list_limits(zj_store_t *self, zj_store_limit_fn *fn, void *arg);
//  Unique jobs (PROTOCOL.md, "Unique jobs"; table unique_keys, one row per
//  key, kept for its window whatever becomes of its job's row).

//  Finds the job that unique key key made, if its window is still open at
//  now: sets *id_p and returns 0; returns ZJ_ENOTFOUND when there is none
//  or its window has passed (the key is free again), or ZJ_ESTORE. Reads
//  inside the turn's transaction, like zj_store_find_token.
int zj_store_find_unique(zj_store_t *self, const char *key, double now,
                         int64_t *id_p);

//  Remembers that key made job id, until expires_at (unix seconds),
//  replacing an expired row of that key. A journaled write; undone by
//  zj_store_undo with the job inserts of a refused SUBMIT.
int zj_store_save_unique(zj_store_t *self, const char *key, int64_t id,
                         double expires_at);

//  For retention: deletes the expired rows among the next limit keys after
//  after_key (NULL or "" = from the first key), walking the table's
//  primary key, so that no index by age is needed. Writes into
//  next_key[ZJ_MAX_UNIQUE + 1] where the next call starts ("" once this
//  call reached the last key: start again from the first; it may be
//  after_key's own buffer), and the rows
//  deleted into *deleted. A journaled write inside the turn, like the
//  others. Returns 0, or ZJ_ESTORE (nothing done) while the store cannot
//  be written.
int zj_store_expire_unique(zj_store_t *self, const char *after_key, int limit,
                           double now, char *next_key, int *deleted);

#define ZJ_STORE_LOG_FULL "\n[zjob: the log is full; later lines dropped]\n"

//  Adds text to job id's log (LOG), inside the turn. The log holds at
//  most ZJ_MAX_LOG bytes: what does not fit is dropped, and the log ends
//  with ZJ_STORE_LOG_FULL. Returns 0 or ZJ_ESTORE.
int zj_store_append_log(zj_store_t *self, int64_t id, const char *text);

//  Reads job id's state and log (*log_p malloc'd, NULL when it has none).
//  Returns 0, ZJ_ENOTFOUND or ZJ_ESTORE.
int zj_store_get_log(zj_store_t *self, int64_t id, zj_state_t *state,
                     char **log_p);

//  The child its parent made with call number call (SPAWN): sets *id_p
//  and returns 0, or returns ZJ_ENOTFOUND, or ZJ_ESTORE. Inside the turn.
int zj_store_find_child(zj_store_t *self, int64_t parent, int32_t call,
                        int64_t *id_p);

//  The digest of a SUBMIT's jobs (each one's kind, args, priority,
//  max_attempts, timeout_ms, delay_ms and backoff_ms, and its unique key
//  and window when it has one): 16 hex digits of
//  64-bit FNV-1a, into digest[ZJ_STORE_DIGEST_SIZE].
void zj_store_batch_digest(const zj_job_t *jobs, size_t count, char *digest);

//  True between the turn's first write and its commit.
bool zj_store_in_turn(const zj_store_t *self);

//  False once a write of this turn failed, and while degraded: what is
//  written now cannot be acknowledged this turn.
bool zj_store_is_writable(const zj_store_t *self);

//  Writes journaled and not yet committed.
size_t zj_store_pending(const zj_store_t *self);

#define ZJ_STORE_CHECKPOINT_PAGES                                              \
    1000                        //  WAL growth that wakes the checkpointer
#define ZJ_STORE_WAL_BOUND 8000 //  WAL pages past which the loop helps

//  Between turns, after their replies: keeps the WAL from growing without
//  end under commits that never pause, by checkpointing what the
//  checkpoint thread left behind once the WAL passes a bound (see
//  store_open.c). Usually returns at once.
void zj_store_bound_wal(zj_store_t *self);

//  Checkpoints the store's thread has run so far.
long zj_store_checkpoints(const zj_store_t *self);

//  Commits the turn's transaction, if one is open, and forgets the
//  journal. If a write of the turn or the commit failed, rolls the turn
//  back, degrades and returns ZJ_ESTORE; while degraded it returns
//  ZJ_ESTORE at once. Nothing journaled is forgotten.
int zj_store_commit(zj_store_t *self);

//  While degraded, writes the whole journal again in one transaction.
//  Returns 0 if it committed (the store is no longer degraded) or was not
//  degraded, else ZJ_ESTORE (still degraded; zj_store_last_error says
//  why).
int zj_store_retry(zj_store_t *self);

//  Where the store's writes stand, to undo those made after it.
typedef struct {
    size_t writes;   //  Journal mark
    int64_t next_id; //  The id the next job would have got
} zj_store_mark_t;

//  Marks where the writes stand now.
zj_store_mark_t zj_store_mark(const zj_store_t *self);

//  Undoes the job inserts and unique keys (zj_store_save_unique) made
//  since mark, within this turn (the rows of a SUBMIT refused half-way: no
//  client learned their ids): they leave the open transaction and the
//  journal, and their ids are handed out again. Only inserts, unique keys
//  and writes to those new jobs may have been made since mark. A key
//  saved over an expired row leaves no row: an expired key and none are
//  the same.
void zj_store_undo(zj_store_t *self, zj_store_mark_t mark);

//  The id the next job inserted will get.
int64_t zj_store_next_id(const zj_store_t *self);

//  Makes the next job's id at least next_id, so that ids handed out
//  before from this path (a store deleted and made new) are not handed
//  out again.
void zj_store_skip_ids(zj_store_t *self, int64_t next_id);

//  The store's file is gone (deleted, replaced): rolls the turn back and
//  degrades for good. Writes are journaled and never written again (a
//  retry fails), so nothing more is acknowledged; reason becomes the last
//  error.
void zj_store_set_gone(zj_store_t *self, const char *reason);

//  The last SQLite error message, for logs.
const char *zj_store_last_error(const zj_store_t *self);

#endif
