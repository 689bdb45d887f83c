//  journal.h - the store's writes since its last commit, kept in memory.
//  Each write is copied, strings and all, into one reusable byte buffer,
//  so a turn whose commit fails can be written again later, whole, in a
//  new transaction. Clearing keeps the buffer: the hot path allocates
//  nothing once it has grown to a turn's size.
#ifndef ZJ_JOURNAL_H
#define ZJ_JOURNAL_H

#include <stddef.h>

#include "proto/msg.h"

typedef enum {
    ZJ_WRITE_INSERT_JOB,      //  job, with the id it was given
    ZJ_WRITE_UPDATE_JOB,      //  job's mutable fields, by id
    ZJ_WRITE_RECORD_ATTEMPT,  //  job as its attempt ended
    ZJ_WRITE_SAVE_WORKER,     //  worker row, whole
    ZJ_WRITE_WORKER_STATE,    //  worker's name, state and last_seen
    ZJ_WRITE_SAVE_TOKEN,      //  a SUBMIT's token, in a job: kind = token,
                              //  id = first id, attempts = count of ids,
                              //  result = digest, created_at, args = the
                              //  ids as a JSON array if not first_id..
    ZJ_WRITE_APPEND_LOG,      //  text added to a job's log: id, log
    ZJ_WRITE_DELETE_WORKER,   //  a worker's row, by name, unless connected
    ZJ_WRITE_DELETE_JOBS,     //  the rows of final jobs id..timeout_ms (a
                              //  range with no other job) and attempts
    ZJ_WRITE_DELETE_TOKENS,   //  tokens in (kind, result] made before
                              //  finished_at (a chunk of a sweep)
    ZJ_WRITE_SAVE_SCHEDULE,   //  a schedule's row, whole, in a job (as
                              //  SCHEDULE carries it: schedule, every_ms |
                              //  cron, kind, args, options, not_before =
                              //  next_at, started_at = last_at, id =
                              //  last_id, created_at)
    ZJ_WRITE_DELETE_SCHEDULE, // a schedule's row, by job.schedule
    ZJ_WRITE_SCHEDULE_RUN,    //  a job a schedule made: job.id, job.schedule,
                              //  job.not_before = the due time it ran for
    ZJ_WRITE_SAVE_LIMIT,      //  a kind's limits, in a job: kind,
                              //  attempts = concurrency (-1 none),
                              //  not_before = rate (0 none), started_at =
                              //  burst, created_at = updated_at
    ZJ_WRITE_DELETE_LIMIT,    //  a kind's limits, by kind
    ZJ_WRITE_SAVE_UNIQUE,     //  a unique key, in a job: unique = key,
                              //  id = its job, not_before = expires_at
    ZJ_WRITE_EXPIRE_UNIQUE    //  expired keys in a range, in a job: kind =
                              //  after this key, unique = up to this one
                              //  (NULL: to the end), finished_at = now
} zj_write_t;

//  One write as replay sees it. Strings point into the journal; kinds is
//  an array that lives for the callback only.
typedef struct {
    zj_write_t what;
    zj_job_t job;            //  The job writes
    zj_worker_info_t worker; //  The worker writes
} zj_write_entry_t;

typedef struct zj_journal zj_journal_t;

//  Creates an empty journal. Never returns NULL (aborts on OOM).
zj_journal_t *zj_journal_new(void);

//  Frees the journal; sets *self_p to NULL.
void zj_journal_destroy(zj_journal_t **self_p);

//  Appends a copy of entry (only the struct that entry->what uses).
void zj_journal_add(zj_journal_t *self, const zj_write_entry_t *entry);

//  Where the journal ends now, for zj_journal_truncate.
size_t zj_journal_mark(const zj_journal_t *self);

//  Forgets every write appended after mark.
void zj_journal_truncate(zj_journal_t *self, size_t mark);

//  Forgets every write.
void zj_journal_clear(zj_journal_t *self);

//  Number of writes held.
size_t zj_journal_count(const zj_journal_t *self);

typedef int(zj_journal_fn)(void *arg, const zj_write_entry_t *entry);

//  Calls fn for each write, oldest first; stops at the first non-zero
//  return and returns it.
int zj_journal_replay(const zj_journal_t *self, zj_journal_fn *fn, void *arg);

//  The same for the writes appended after mark (zj_journal_mark).
int zj_journal_replay_from(const zj_journal_t *self, size_t mark,
                           zj_journal_fn *fn, void *arg);

#endif
