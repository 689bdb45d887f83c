//  zjob.h - libzjob, the C client API of zjob: submit jobs, await their
//  futures, read the record, cancel. Used by the zjob CLI and by programs
//  that embed a client. One zjob_client_t talks to one coordinator over a
//  ZeroMQ DEALER socket; calls block the calling thread (bounded, see
//  zjob_client_set_timeouts). A client is not thread-safe: use it from one
//  thread at a time, and never call it from inside its own callbacks.
//  Library code never prints; every fallible call returns 0 or a negative
//  ZJOB_E* code and leaves a one-line reason in zjob_client_last_error.
#ifndef ZJOB_ZJOB_H
#define ZJOB_ZJOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h" //  ZJOB_E* codes

#ifdef __cplusplus
extern "C" {
#endif

#define ZJOB_DEFAULT_ENDPOINT "tcp://127.0.0.1:7700"
#define ZJOB_SEND_TIMEOUT_MS 3000   //  Default: how long a send may block
#define ZJOB_REPLY_TIMEOUT_MS 10000 //  Default: wait for an immediate reply
#define ZJOB_SUBMIT_BATCH 1000      //  Default: jobs per SUBMIT message

typedef struct zjob_client zjob_client_t; //  A connection to a coordinator
typedef struct zjob_future zjob_future_t; //  One submitted job's outcome

//  What to run: one job to submit. Plain data; every pointer is borrowed
//  for the call.
typedef struct {
    const char *kind;      //  Kind name, 1..64 bytes of [A-Za-z0-9_.:-]
    const char *args;      //  Args as JSON text; NULL = none ("null")
    int32_t priority;      //  Higher runs first; 0 = default
    int32_t retries;       //  Extra attempts after a failure; 0 = none
    int64_t timeout_ms;    //  Limit per attempt; 0 = none
    int64_t delay_ms;      //  Run no sooner than now + delay; 0 = at once
    int64_t backoff_ms;    //  Wait before the first retry, doubled after
                           //  each; 0 = the coordinator's default (200 ms)
    const int64_t *after;  //  Ids of jobs that must succeed first (if one
                           //  fails or is cancelled, so is this one)
    size_t after_count;    //  Ids in after: 0..1000
    const char *unique;    //  A key: while a job submitted with it is in
                           //  its window, submitting returns that job's
                           //  id and makes none; NULL = none. 1..256
                           //  bytes of UTF-8 without control characters
    int64_t unique_for_ms; //  The key's window, 1 ms..366 d; 0 = 24 h
} zjob_spec_t;

//  A job's record (status, list), outcome (await) or state (cancel).
//  Fields a reply does not carry are 0 or NULL. Every pointer is borrowed
//  and valid only during the callback that receives the record (or, for a
//  future, until the future is destroyed).
typedef struct {
    int64_t id;                //  Job id
    const char *kind;          //  Kind name, or NULL
    const char *args;          //  Args JSON text, or NULL
    const char *state;         //  "queued" | "running" | "succeeded" | "failed"
                               //  | "cancelled" (| "unknown"); never NULL
    int32_t priority;          //  Higher runs first
    int32_t attempts;          //  Attempts started so far
    int32_t max_attempts;      //  1 + retries
    int64_t timeout_ms;        //  Limit per attempt; 0 = none
    double not_before;         //  Unix seconds; 0 = at once
    const char *worker;        //  Worker that ran the last attempt, or NULL
    double created_at;         //  Unix seconds; 0 = unknown
    double started_at;         //  Unix seconds; 0 = not started
    double finished_at;        //  Unix seconds; 0 = not finished
    const char *result;        //  Result JSON text (succeeded), or NULL
    const char *error;         //  One-line error (failed, cancelled), or NULL
    const int64_t *after;      //  Ids of the jobs it runs after (status, list)
    size_t after_count;        //  Ids in after
    int64_t parent;            //  The job that submitted it from its handler,
                               //  or 0 (status, list)
    int64_t progress_done;     //  Its latest progress (zjob_progress): done
    int64_t progress_total;    //  ... of total (0 = unknown)
    const char *progress_text; //  ... doing this, or NULL
    double progress_at;        //  ... reported then; 0 = never
    const char *log;           //  Its log (zjob_client_log only), or NULL
    const char *held;          //  Queued, but held by a limit of its kind
                               //  (zjob_client_limit): why; else NULL
                               //  (status only)
    int64_t retry_of;          //  The job it retries (zjob retry), or 0
                               //  (status, list)
} zjob_job_t;

//  Await delivers job records holding what RESOLVED carries: id, state,
//  result or error, attempts, worker, started_at and finished_at.
typedef zjob_job_t zjob_result_t;

//  A kind a worker offers.
typedef struct {
    const char *name;  //  Kind name
    const char *klass; //  "io" or "cpu"
} zjob_kind_t;

//  A worker as the coordinator knows it. Pointers are borrowed for the
//  callback that receives it.
typedef struct {
    const char *name;         //  Unique worker name
    const char *host;         //  Host name
    int64_t pid;              //  Process id on that host
    const char *state;        //  "connected" | "lost" | "gone"
    int32_t running;          //  Jobs running on it now
    int32_t io_slots;         //  Coroutine slots
    int32_t cpu_slots;        //  CPU processes
    int32_t suspended;        //  Jobs awaiting sub-jobs without a slot
    int32_t max_suspended;    //  ... at most (--max-suspended)
    const zjob_kind_t *kinds; //  Kinds offered
    size_t kind_count;        //  Entries in kinds
    double connected_at;      //  Unix seconds
    double last_seen;         //  Unix seconds
} zjob_worker_t;

//  A kind's limits across all workers (zjob_client_limit). Pointers are
//  borrowed for the callback that receives it.
typedef struct {
    const char *kind;    //  Kind name
    int32_t concurrency; //  Most of its jobs running at once; 0 = paused
                         //  (none starts); -1 = no such limit
    double rate;         //  Most of its jobs started per second; 0 = no
                         //  such limit
    double burst;        //  Jobs its rate lets start at once: max(1,
                         //  rate / 10); 0 without a rate
    int32_t running;     //  Its jobs running now, on all workers
    double updated_at;   //  Unix seconds they were last set; 0 = none
} zjob_limit_t;

//  Callbacks. arg is the caller's pointer, passed through unchanged.
typedef void(zjob_result_fn)(void *arg, const zjob_result_t *result);
typedef void(zjob_job_fn)(void *arg, const zjob_job_t *job);
typedef void(zjob_worker_fn)(void *arg, const zjob_worker_t *worker);
typedef void(zjob_limit_fn)(void *arg, const zjob_limit_t *limit);
typedef void(zjob_tick_fn)(void *arg);

//  Creates a client for the coordinator's clients endpoint (NULL means
//  ZJOB_DEFAULT_ENDPOINT). Connecting is lazy: an unreachable coordinator
//  is reported by the first call, not here. Returns NULL and stores a
//  code in *err_p (may be NULL) on failure: ZJOB_EUSAGE for an endpoint
//  ZeroMQ cannot parse, ZJOB_ESYS if ZeroMQ fails.
zjob_client_t *zjob_client_new(const char *endpoint, int *err_p);

//  As zjob_client_new, with CURVE: key_file is our secret key
//  (NAME.key_secret, as `zjob keygen` writes it, mode 0600) and
//  coordinator_key_file the coordinator's public key (NAME.key). Fails
//  with ZJOB_EUSAGE for a missing or bad key file and ZJOB_EDENIED for a
//  secret key others may read. A coordinator that does not admit our key
//  refuses the handshake: calls then fail with ZJOB_EUNREACH.
zjob_client_t *zjob_client_new_curve(const char *endpoint, const char *key_file,
                                     const char *coordinator_key_file,
                                     int *err_p);

//  Closes the socket at once (linger 0; unsent requests are dropped) and
//  frees the client. Idempotent; sets *self_p to NULL. Futures made from
//  the client must be destroyed first.
void zjob_client_destroy(zjob_client_t **self_p);

//  Sets how long a send may block before the coordinator counts as
//  unreachable (send_ms, default ZJOB_SEND_TIMEOUT_MS) and how long to
//  wait for a reply that must come at once (reply_ms, default
//  ZJOB_REPLY_TIMEOUT_MS; it also bounds how long a lost connection may
//  take to come back during an await). Both > 0. Returns 0 or ZJOB_EUSAGE.
int zjob_client_set_timeouts(zjob_client_t *self, int64_t send_ms,
                             int64_t reply_ms);

//  Sets the most jobs one SUBMIT message carries (default
//  ZJOB_SUBMIT_BATCH; 1..10000). Returns 0 or ZJOB_EUSAGE.
int zjob_client_set_batch(zjob_client_t *self, size_t jobs);

//  Calls fn(arg) about every interval_ms while an await waits with no
//  news (to redraw a progress display, say); fn NULL turns it off.
void zjob_client_set_tick(zjob_client_t *self, int64_t interval_ms,
                          zjob_tick_fn *fn, void *arg);

//  The endpoint this client connects to (borrowed, lives with self).
const char *zjob_client_endpoint(const zjob_client_t *self);

//  A one-line reason for the last failed call: the coordinator's own
//  reason for an ERROR reply, else what went wrong locally; "" after a
//  success. Borrowed, valid until the next call on self.
const char *zjob_client_last_error(const zjob_client_t *self);

//  Submits count jobs and writes their ids, in order, into ids[count].
//  Jobs are checked locally first (kind name, args JSON and limits):
//  a bad one fails the call with ZJOB_EUSAGE, ZJOB_EJSON or ZJOB_ETOOBIG
//  before anything is sent. Jobs go in SUBMIT batches (see
//  zjob_client_set_batch), several in flight at once; each batch is
//  acknowledged after the coordinator commits it. Returns 0 when all are
//  committed. On failure returns the first error: batches acknowledged
//  before it keep their ids, the entries of the others are 0
//  (ZJOB_EUNREACH for a batch whose reply never came means its jobs may
//  or may not have been committed).
int zjob_client_submit(zjob_client_t *self, const zjob_spec_t *specs,
                       size_t count, int64_t *ids);

//  Awaits the futures ids[count] and calls fn once per distinct id as it
//  resolves: in the ids' order if in_order, else as they complete. Blocks
//  until every id resolved (returns 0), or timeout_ms passed (returns
//  ZJOB_ETIMEOUT; timeout_ms < 0 waits for ever), or an error. If the
//  connection drops, the await is re-sent for the ids still pending once
//  it comes back; if it stays down for the reply timeout the call returns
//  ZJOB_EUNREACH. Results already delivered stay delivered whatever the
//  return value. An unknown id makes the coordinator answer ERROR
//  (ZJOB_ENOTFOUND). ZJOB_ECANCELLED if a signal interrupted the wait.
int zjob_client_await(zjob_client_t *self, const int64_t *ids, size_t count,
                      bool in_order, int64_t timeout_ms, zjob_result_fn *fn,
                      void *arg);

//  Calls fn with the full record of each of ids[count], in the order the
//  coordinator sends them. Returns 0 or a negative code.
int zjob_client_status(zjob_client_t *self, const int64_t *ids, size_t count,
                       zjob_job_fn *fn, void *arg);

//  Calls fn with the records of the newest jobs, newest first: those in
//  state (NULL = any state), at most limit of them (0 = the coordinator's
//  default, 100). Returns 0 or a negative code.
int zjob_client_list(zjob_client_t *self, const char *state, int32_t limit,
                     zjob_job_fn *fn, void *arg);

//  What zjob_client_list_filtered lists; zero fields filter nothing.
typedef struct {
    const char *states; //  One state name, or several with commas
                        //  ("failed,cancelled"); NULL = any
    const char *kind;   //  Only jobs of this kind, or NULL
    const char *worker; //  Only jobs whose last attempt ran on it, or NULL
    int64_t since_ms;   //  Only jobs created within this long before now
    int64_t before;     //  Only ids below it (a page after one that ended
                        //  at id before); 0 = from the newest
    int32_t limit;      //  At most this many; 0 = the coordinator's 100
} zjob_list_filter_t;

//  Calls fn with the records of the newest jobs that pass filter, newest
//  first. Sets *next_before (may be NULL) to the before of the next page
//  when the coordinator found, or may have, more, else to 0. A filter on
//  kind, worker or since makes the coordinator scan its store in steps
//  (it serves others in between), so the call may take seconds on a big
//  store. Returns 0 or a negative code (ZJOB_EUSAGE for a bad filter).
int zjob_client_list_filtered(zjob_client_t *self,
                              const zjob_list_filter_t *filter, zjob_job_fn *fn,
                              void *arg, int64_t *next_before);

//  Calls fn with the records of the children job parent submitted from its
//  handler, in the order of its calls: those in state (NULL = any), at
//  most limit of them (0 = the coordinator's default, 100). Returns 0 or a
//  negative code.
int zjob_client_children(zjob_client_t *self, int64_t parent, const char *state,
                         int32_t limit, zjob_job_fn *fn, void *arg);

//  Calls fn once with job id's state and its whole log (job->log; NULL
//  when it wrote none): what its attempts wrote with zjob_log, an exec
//  job's output, a CPU handler's stdout and stderr. Returns 0 or a
//  negative code (ZJ_ENOTFOUND for an unknown id).
int zjob_client_log(zjob_client_t *self, int64_t id, zjob_job_fn *fn,
                    void *arg);

//  Calls fn for every worker the coordinator knows. Returns 0 or a
//  negative code.
int zjob_client_workers(zjob_client_t *self, zjob_worker_fn *fn, void *arg);

//  Asks the coordinator to send worker name no more jobs and to tell it
//  to drain: it finishes the jobs it runs (within its --grace) and stops,
//  as on SIGTERM. fn gets the worker as it was told (state "draining").
//  Returns 0, or ZJOB_ENOTFOUND if no connected worker has that name.
int zjob_client_drain(zjob_client_t *self, const char *name, zjob_worker_fn *fn,
                      void *arg);

//  Asks the coordinator to delete the final jobs (with their attempts,
//  logs and progress) that finished more than older_than_ms ago, only in
//  state (succeeded, failed or cancelled; NULL: any of them) and of kind
//  (NULL: any). Jobs that an unfinished job runs after, or whose parent
//  is unfinished, are kept, and so is the newest job. The coordinator
//  deletes a chunk per loop turn and answers in parts while it works, so
//  a big purge takes its time without a reply timeout. *deleted gets the
//  count. Returns 0 or a negative code.
int zjob_client_purge(zjob_client_t *self, int64_t older_than_ms,
                      const char *state, const char *kind, int64_t *deleted);
//  A schedule: the coordinator submits spec every every_ms, or at each
//  minute (UTC) its cron expression names. Plain data; every pointer is
//  borrowed (for the call, or the callback that receives it).
typedef struct {
    const char *name;  //  1..63 bytes of [A-Za-z0-9_.:-], unique
    int64_t every_ms;  //  Its period (>= 1000), or 0 with cron
    const char *cron;  //  "m h dom mon dow" (UTC), or NULL with every_ms
    zjob_spec_t spec;  //  kind, args, priority, retries, timeout_ms and
                       //  backoff_ms of each job (delay_ms and after are
                       //  not kept)
    double next_at;    //  Replies: the next run, unix seconds; 0 = never
    double last_at;    //  Replies: the last run; 0 = none yet
    int64_t last_id;   //  Replies: the job the last run made; 0 = none
    double created_at; //  Replies: unix seconds
} zjob_schedule_t;

typedef void(zjob_schedule_fn)(void *arg, const zjob_schedule_t *schedule);

//  Adds schedule (name, every_ms or cron, spec); its first run is one
//  period (or the cron's next minute) from now. A schedule of that name
//  is an error (ZJOB_ESTATE) unless replace, which keeps its last run.
//  fn (may be NULL) gets the schedule as kept. Returns 0, ZJOB_EUSAGE for
//  a bad name, period, cron or spec, or a code as zjob_client_submit.
int zjob_client_schedule_add(zjob_client_t *self,
                             const zjob_schedule_t *schedule, bool replace,
                             zjob_schedule_fn *fn, void *arg);

//  Removes schedule name (the jobs it made stay). fn (may be NULL) gets
//  it as it was. Returns 0, or ZJOB_ENOTFOUND if there is none.
int zjob_client_schedule_rm(zjob_client_t *self, const char *name,
                            zjob_schedule_fn *fn, void *arg);

//  Calls fn for every schedule, by name. Returns 0 or a negative code.
int zjob_client_schedules(zjob_client_t *self, zjob_schedule_fn *fn, void *arg);

//  As zjob_client_workers, once the coordinator has deleted from its
//  store the workers that are not connected (lost, gone, revoked): fn
//  sees those that remain. A worker forgotten that comes back joins as
//  a new one. Returns 0 or a negative code.
int zjob_client_forget_workers(zjob_client_t *self, zjob_worker_fn *fn,
                               void *arg);

#define ZJOB_MAX_CONCURRENCY 1000000 //  A kind's concurrency limit, at most
#define ZJOB_MAX_RATE 1000000.0      //  ... its rate limit, jobs/s, at most
#define ZJOB_MIN_RATE (1.0 / 86400)  //  ... and at least (one a day)

//  Sets kind's limits, across all workers, in the coordinator's store (so
//  they outlive a restart): with clear, first removes both; then a
//  concurrency >= 0 (0 pauses the kind: none of its jobs starts) replaces
//  its concurrency limit, and a rate > 0 (jobs per second) its rate limit;
//  -1 and 0 keep what it had. All at their defaults, it only reads them.
//  fn (or NULL) gets the kind's limits after. Returns 0, or ZJOB_EUSAGE
//  for a bad kind name, a concurrency over ZJOB_MAX_CONCURRENCY or a rate
//  outside ZJOB_MIN_RATE..ZJOB_MAX_RATE.
int zjob_client_limit(zjob_client_t *self, const char *kind,
                      int32_t concurrency, double rate, bool clear,
                      zjob_limit_fn *fn, void *arg);

//  Calls fn with the limits of every kind that has one, by kind name.
//  Returns 0 or a negative code.
int zjob_client_limits(zjob_client_t *self, zjob_limit_fn *fn, void *arg);

//  Asks the coordinator to cancel ids[count] and calls fn with each job's
//  id and state after the attempt ("cancelled", or the final state it had
//  already reached). Returns 0 or a negative code.
int zjob_client_cancel(zjob_client_t *self, const int64_t *ids, size_t count,
                       zjob_job_fn *fn, void *arg);

//  Asks the coordinator to retry ids[count], each a job that ended failed
//  or cancelled: each gets a new job, a copy of its kind, args and options
//  (priority, max_attempts, timeout, backoff) at the top level, whose
//  retry_of names it; the old job stays as it ended. Writes the new ids
//  into new_ids[count], in the order of ids. All or nothing per batch of
//  ZJ_MAX_BATCH ids: ZJOB_ENOTFOUND for an unknown id, ZJOB_ESTATE for a
//  job queued, running or succeeded, and then no job of the batch is made.
//  Returns 0 or a negative code.
int zjob_client_retry(zjob_client_t *self, const int64_t *ids, size_t count,
                      int64_t *new_ids);

//  Asks the coordinator for its statistics, answered from memory: each
//  kind's queue (queued, of which delayed and held, running, the oldest
//  queued job's id and age) and the jobs finished in the last 15 minutes
//  by kind and state, and per minute. Sets *stats_p to the report as
//  JSON text (docs/cli.md, "stats"), which the caller frees. Returns 0 or
//  a negative code (then *stats_p is NULL).
int zjob_client_stats(zjob_client_t *self, char **stats_p);

//  Returns a future for job id on client (borrowed: it must outlive the
//  future). Never NULL (aborts on out of memory).
zjob_future_t *zjob_future_new(zjob_client_t *client, int64_t id);

//  Submits one job and sets *future_p to its future (caller owns).
//  Returns 0, or a code as zjob_client_submit does (*future_p NULL).
int zjob_client_submit_future(zjob_client_t *self, const zjob_spec_t *spec,
                              zjob_future_t **future_p);

//  Frees the future and its result. Idempotent; sets *self_p to NULL.
void zjob_future_destroy(zjob_future_t **self_p);

//  The future's job id.
int64_t zjob_future_id(const zjob_future_t *self);

//  Waits up to timeout_ms (< 0: for ever) for the job to finish. Returns 0
//  and sets *result_p (may be NULL) to its outcome, owned by the future
//  and valid until it is destroyed; once resolved, later calls return at
//  once. Returns ZJOB_ETIMEOUT if still pending, or another code from
//  zjob_client_await.
int zjob_future_wait(zjob_future_t *self, int64_t timeout_ms,
                     const zjob_result_t **result_p);

//  Returns a static one-line description of a code (0 or ZJOB_E*).
const char *zjob_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
