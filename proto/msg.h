//  msg.h - the decoded, validated form of every zjob message.
//  One zj_msg_t carries any type; each type uses the fields listed in
//  ZJ_MSG_TYPE_MAP's comments and leaves the rest zero. All strings are
//  owned by the message, NUL-terminated and within proto/limits.h. The
//  wire form (msgpack keys) is in proto/PROTOCOL.md; proto/codec.c is the
//  only file that knows it.
#ifndef ZJ_MSG_H
#define ZJ_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Message types. "c" client, "C" coordinator, "w" worker.
//    SUBMIT     c->C  req, token, jobs[] (kind, args, priority,
//                     max_attempts, timeout_ms, delay_ms, backoff_ms,
//                     unique, unique_for_ms)
//    SUBMITTED  C->c  req, ids[]
//    AWAIT      c->C  req, ids[], in_order, timeout_ms (0 = none)
//    RESOLVED   C->c  req, jobs[] (id, state, result | error, attempts,
//                     worker, started_at, finished_at)
//    DONE       C->c  req, timed_out
//    STATUS     c->C  req, ids[];  C->c  req, jobs[] (full records), more
//    LIST       c->C  req, state (NULL, one, or several with commas),
//                     limit, kind, worker, since_ms, before;  C->c  req,
//                     jobs[], more, before (the last part: next page)
//    WORKERS    c->C  req;  C->c  req, workers[]
//    CANCEL     c->C  req, ids[];  C->c  req, jobs[] (id, state);
//               C->w  ids[] (running jobs to stop)
//    HELLO      w->C  req (the last RESULTS req before it, 0 if none),
//                     workers[0] (name, host, pid, io_slots, cpu_slots,
//                     kinds[])
//    WELCOME    C->w  heartbeat_ms, max_message, max_result
//    JOBS       C->w  jobs[] (id, attempts, kind, args, timeout_ms)
//    RESULTS    w->C  req (the batch's sequence number, see ACK),
//                     jobs[] (id, attempts, state succeeded|failed,
//                     result | error, no_retry, started_at,
//                     finished_at),
//                     io_credit, cpu_credit (slots freed)
//    HEARTBEAT  both  draining (w->C: the worker is shutting down and
//                     takes no more jobs), unacked, blocked_ms (w->C:
//                     figures for the status page); credit travels in
//                     RESULTS
//    BYE        both  (nothing)
//    ERROR      both  req (0 if none), code (ZJ_E*), reason
//    ACK        C->w  ids[] (the req of RESULTS batches committed)
//    SPAWN      w->C  req, jobs[] (children of one running parent: kind,
//                     args, options, parent, call)
//    SPAWNED    C->w  req, ids[]
//    AWAIT      w->C  req, parent, ids[], in_order, hold: a parent awaits
//                     (RESOLVED... then DONE, as for a client)
//    PROGRESS   w->C  jobs[] (id, attempts, progress_done, progress_total,
//                     progress_text): the latest of running jobs
//    LOG        w->C  jobs[] (id, attempts, log): what running jobs wrote
//    LOGS       c->C  req, ids[] (one job);  C->c  req, jobs[] (id, state,
//                     log)
//    DRAIN      c->C  req, workers[0].name;  C->c  req, workers[0] (the
//                     worker told);  C->w  nothing: finish, then stop
//    PURGE      c->C  req, older_than_ms, state (a final one, or NULL),
//                     kind (or NULL);  C->c  req, count (jobs deleted)
//    SCHEDULE   c->C  req, op "add" (jobs[0]: schedule, every_ms | cron,
//                     kind, args, options; replace), "rm" (jobs[0].schedule)
//                     or "list";  C->c  req, op, jobs[] (the schedules:
//                     schedule, every_ms | cron, kind, args, options,
//                     not_before = next run, started_at = last run, id =
//                     the job of the last run, created_at)
//    LIMIT      c->C  req, limits[0] (kind, concurrency and/or rate to
//                     set), clear;  C->c  req, limits[0] (the kind's now)
//    LIMITS     c->C  req;  C->c  req, limits[] (every kind with a limit)
//    RETRY      c->C  req, ids[] (failed or cancelled jobs);  C->c  req,
//                     ids[] (the new jobs, in the same order)
//    STATS      c->C  req;  C->c  req, stats (a JSON object, as text)
#define ZJ_MSG_TYPE_MAP(XX)                                                    \
    XX(SUBMIT)                                                                 \
    XX(SUBMITTED)                                                              \
    XX(AWAIT)                                                                  \
    XX(RESOLVED)                                                               \
    XX(DONE)                                                                   \
    XX(STATUS)                                                                 \
    XX(LIST)                                                                   \
    XX(WORKERS)                                                                \
    XX(CANCEL)                                                                 \
    XX(HELLO)                                                                  \
    XX(WELCOME)                                                                \
    XX(JOBS)                                                                   \
    XX(RESULTS)                                                                \
    XX(HEARTBEAT)                                                              \
    XX(BYE)                                                                    \
    XX(ERROR)                                                                  \
    XX(ACK)                                                                    \
    XX(SPAWN)                                                                  \
    XX(SPAWNED)                                                                \
    XX(PROGRESS)                                                               \
    XX(LOG)                                                                    \
    XX(LOGS)                                                                   \
    XX(DRAIN)                                                                  \
    XX(PURGE)                                                                  \
    XX(SCHEDULE)                                                               \
    XX(LIMIT)                                                                  \
    XX(LIMITS)                                                                 \
    XX(RETRY)                                                                  \
    XX(STATS)

typedef enum {
    ZJ_MSG_NONE = 0,
#define XX(name) ZJ_MSG_##name,
    ZJ_MSG_TYPE_MAP(XX)
#undef XX
        ZJ_MSG_COUNT
} zj_msg_type_t;

//  Job states, in the store's spelling.
#define ZJ_STATE_MAP(XX)                                                       \
    XX(QUEUED, "queued")                                                       \
    XX(RUNNING, "running")                                                     \
    XX(SUCCEEDED, "succeeded")                                                 \
    XX(FAILED, "failed")                                                       \
    XX(CANCELLED, "cancelled")

typedef enum {
    ZJ_STATE_NONE = 0,
#define XX(name, text) ZJ_STATE_##name,
    ZJ_STATE_MAP(XX)
#undef XX
} zj_state_t;

//  Job classes: where a worker runs a kind.
typedef enum { ZJ_CLASS_IO = 0, ZJ_CLASS_CPU = 1 } zj_class_t;

//  One job as it travels and as the store records it. Plain data.
typedef struct {
    int64_t id;           //  0 until the coordinator assigns it
    char *kind;           //  Kind name, 1..ZJ_MAX_KIND bytes of [A-Za-z0-9_.:-]
    char *args;           //  Args as JSON text (NULL: none)
    zj_state_t state;     //  Lifecycle state
    int32_t priority;     //  Higher runs first; default 0
    int32_t attempts;     //  Attempts started so far (JOBS: this attempt)
    int32_t max_attempts; //  1 + retries; 0 in SUBMIT means 1
    int32_t losses;       //  Store only: attempts whose worker was lost
    int64_t timeout_ms;   //  Per-attempt limit; 0 = none
    int64_t delay_ms;     //  SUBMIT only: run no sooner than now + delay
    int64_t backoff_ms;   //  Wait before the first retry, doubled after
                          //  each; 0 = the coordinator's default
    bool no_retry;        //  RESULTS: the error is final, do not retry
    double not_before;    //  Unix seconds; 0 = at once
    char *worker;         //  Worker name that ran the last attempt
    double created_at;    //  Unix seconds
    double started_at;    //  Unix seconds; 0 = not started
    double finished_at;   //  Unix seconds; 0 = not finished
    char *result;         //  Result JSON text, succeeded only
    char *error;          //  One-line error, failed/cancelled only
    int64_t *after;       //  Ids of the jobs it runs after, owned (SUBMIT,
                          //  records); NULL when after_count is 0
    uint32_t after_count; //  0..ZJ_MAX_AFTER
    int64_t parent;       //  The job that submitted it (SPAWN), 0 at the top
    int32_t call;         //  Its parent's call number, 1.. (0 at the top)
    int64_t progress_done;  //  PROGRESS, records: units done (handler's)
    int64_t progress_total; //  ... of this many; 0 = unknown
    char *progress_text;    //  ... and what it is doing, or NULL
    double progress_at;     //  Records: when the coordinator heard it
    char *log;              //  LOG: text its attempt adds to its log;
                            //  LOGS reply: the whole log, or NULL
    char *schedule;         //  SCHEDULE: the schedule's name (a kind name's
                            //  rules)
    char *cron;             //  SCHEDULE: its cron expression (UTC), or NULL
    int64_t every_ms;       //  SCHEDULE: its period (>= 1000), or 0
    char *held;             //  STATUS reply: why a queued job waits for
                            //  a limit of its kind, or NULL
    int64_t retry_of;       //  Records: the job it retries (zjob retry), 0
    char *unique;           //  SUBMIT: the job's unique key, or NULL
    int64_t unique_for_ms;  //  SUBMIT: the key's window; 0 = 24 h
} zj_job_t;

//  One kind's limits (LIMIT, LIMITS). Plain data.
typedef struct {
    char *kind;          //  Kind name
    int32_t concurrency; //  Most of its jobs running at once, 0 = none
                         //  start; -1 = no such limit (absent on the wire)
    double rate;         //  Jobs started per second; 0 = no such limit
    double burst;        //  Replies: tokens its bucket holds at most
    int32_t running;     //  Replies: its jobs running now
    double updated_at;   //  Replies: unix seconds of the last change
} zj_kind_limit_t;

//  A kind a worker offers, with its class.
typedef struct {
    char *name;       //  Kind name
    zj_class_t klass; //  io or cpu
} zj_kind_t;

//  A worker as it introduces itself (HELLO) and as WORKERS lists it.
typedef struct {
    char *name;            //  Unique worker name
    char *host;            //  Host name
    int64_t pid;           //  Process id on that host
    int32_t io_slots;      //  Coroutine slots
    int32_t cpu_slots;     //  CPU processes
    int32_t max_suspended; //  Parents that may await at once, slot-free
    int32_t suspended;     //  WORKERS only: parents awaiting now
    zj_kind_t *kinds;      //  Kinds offered
    size_t kind_count;     //  Entries in kinds
    char *state;           //  WORKERS only: "connected" | "lost" | "gone"
    int32_t running;       //  WORKERS only: jobs running on it now
    double connected_at;   //  WORKERS only: unix seconds
    double last_seen;      //  WORKERS only: unix seconds
} zj_worker_info_t;

typedef struct {
    uint32_t tag;              //  ZJ_MSG_TAG while alive
    zj_msg_type_t type;        //  What this message is
    uint64_t req;              //  Client request id, echoed in replies;
                               //  RESULTS, HELLO: from the worker's
                               //  RESULTS sequence
    zj_job_t *jobs;            //  Jobs, results or records
    size_t job_count;          //  Entries in jobs
    int64_t *ids;              //  Job ids; ACK: RESULTS sequence numbers
    size_t id_count;           //  Entries in ids
    bool in_order;             //  AWAIT: resolve in the ids' order
    bool draining;             //  HEARTBEAT w->C: send me no more jobs
    bool timed_out;            //  DONE: the AWAIT's timeout expired
    bool more;                 //  STATUS, LIST reply: another part follows
    int64_t timeout_ms;        //  AWAIT: 0 = wait for ever
    char *state;               //  LIST: state filter, NULL = all
    int32_t limit;             //  LIST: most rows wanted, 0 = default
    zj_worker_info_t *workers; //  HELLO (one), WORKERS reply (many)
    size_t worker_count;       //  Entries in workers
    int32_t heartbeat_ms;      //  WELCOME: the heartbeat period
    int32_t max_message;       //  WELCOME: most bytes in a frame to send
    int32_t max_result;        //  WELCOME: most bytes of result JSON
    int32_t io_credit;         //  RESULTS: io slots freed
    int32_t cpu_credit;        //  RESULTS: cpu slots freed
    int32_t code;              //  ERROR: a ZJ_E* code
    char *reason;              //  ERROR: one-line reason
    char *token;               //  SUBMIT: the request's token, or NULL
    int64_t parent;            //  AWAIT w->C: the running job that awaits
    bool hold;                 //  AWAIT w->C: the parent keeps its slot
    bool forget;               //  WORKERS c->C: first delete the workers
                               //  not connected from the store
    int64_t older_than_ms;     //  PURGE: jobs finished longer ago go
    char *kind;                //  PURGE, LIST: only jobs of this kind, or
                               //  NULL
    int64_t count;             //  PURGE reply: jobs deleted
    char *op;                  //  SCHEDULE: "add", "rm" or "list"
    bool replace;              //  SCHEDULE add: a schedule of that name is
                               //  replaced, not an error
    zj_kind_limit_t *limits;   //  LIMIT (one), LIMITS reply (many)
    size_t limit_count;        //  Entries in limits
    bool clear;                //  LIMIT c->C: remove the kind's limits
    char *stats;               //  STATS reply: a JSON object, as text
    char *worker;              //  LIST: only jobs its last attempt ran on
    int64_t since_ms;          //  LIST: only jobs created this recently
    int64_t before;            //  LIST: only ids below it; its last reply
                               //  part: the next page's before, or 0
    int64_t unacked;           //  HEARTBEAT w->C: RESULTS batches not ACKed
    int64_t blocked_ms;        //  HEARTBEAT w->C: ms its loop was blocked
                               //  past --block-threshold, since it started
} zj_msg_t;

#define ZJ_MSG_TAG 0x7a6a6d73u

//  Creates an empty message of type. Never returns NULL (aborts on OOM).
zj_msg_t *zj_msg_new(zj_msg_type_t type);

//  Frees the message and everything it owns; sets *self_p to NULL.
void zj_msg_destroy(zj_msg_t **self_p);

//  Returns true if self looks like a live message.
bool zj_msg_is(const void *self);

//  Grows jobs by one zeroed entry and returns it (owned by self).
zj_job_t *zj_msg_add_job(zj_msg_t *self);

//  Appends id to ids.
void zj_msg_add_id(zj_msg_t *self, int64_t id);

//  Grows workers by one zeroed entry and returns it (owned by self).
zj_worker_info_t *zj_msg_add_worker(zj_msg_t *self);

//  Appends a zeroed kind limit (concurrency -1: none) and returns it.
zj_kind_limit_t *zj_msg_add_limit(zj_msg_t *self);

//  Type name for logs ("SUBMIT"), or "UNKNOWN".
const char *zj_msg_type_name(zj_msg_type_t type);

//  Type from its wire name, or ZJ_MSG_NONE.
zj_msg_type_t zj_msg_type_from_name(const char *name);

//  State name ("queued"), or "unknown".
const char *zj_state_name(zj_state_t state);

//  State from its name, or ZJ_STATE_NONE.
zj_state_t zj_state_from_name(const char *name);

//  The states of a comma-separated list of names ("failed,cancelled") as
//  a set of bits (1u << state), or 0 if one is unknown or empty.
unsigned zj_states_from_names(const char *names);

//  True for succeeded, failed and cancelled.
bool zj_state_is_final(zj_state_t state);

//  Class name ("io", "cpu") and back; returns -1 for an unknown name.
const char *zj_class_name(zj_class_t klass);
int zj_class_from_name(const char *name);

//  True if name is a valid kind name (1..ZJ_MAX_KIND of [A-Za-z0-9_.:-]).
bool zj_kind_name_is_valid(const char *name);

//  True if key is a valid unique key (1..ZJ_MAX_UNIQUE bytes of UTF-8
//  without control characters).
bool zj_unique_key_is_valid(const char *key);

//  Frees the strings a job owns and zeroes it (the struct itself is not
//  freed). Copies a job deeply into *dest (dest's old content is not freed).
void zj_job_clear(zj_job_t *job);
void zj_job_copy(zj_job_t *dest, const zj_job_t *src);

//  Frees what a worker info owns and zeroes it.
void zj_worker_info_clear(zj_worker_info_t *info);

//  Checks msg against the rules of its type (proto/PROTOCOL.md): the fields
//  the type requires, the limits of proto/limits.h, kind names and classes,
//  known states, non-negative counts, finite times, positive ids, and args
//  and result as valid JSON within ZJ_MAX_DEPTH. zj_msg_encode applies it
//  before packing and zj_msg_decode after copying, so a peer never sends
//  what the other side must refuse. Returns 0, or ZJ_EPROTO, ZJ_ETOOBIG or
//  ZJ_EJSON with a one-line reason in why[ZJ_WHY_SIZE] (may be NULL; left
//  as is on success). Borrows msg; pure, so safe from any thread.
int zj_msg_check(const zj_msg_t *msg, char *why);

#endif
