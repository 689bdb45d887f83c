//  cpu_pool.h - a prefork pool of processes for CPU jobs.
//  Each process is forked once and fed jobs over a socketpair; the parent
//  watches the socketpairs on the worker's libuv loop, so a busy pool never
//  blocks the loop. A process that dies fails its job with the signal's
//  name and is replaced. Not thread-safe: one owner, the loop.
#ifndef ZJ_CPU_POOL_H
#define ZJ_CPU_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "worker/registry.h"

typedef struct zj_cpu_pool zj_cpu_pool_t;

//  One finished CPU job, as the pool reports it. Strings are borrowed for
//  the duration of the callback.
typedef struct {
    int64_t job_id;     //  The job
    int32_t attempt;    //  Its attempt
    bool ok;            //  Succeeded
    bool no_retry;      //  Failed with an error retrying cannot fix
    const char *result; //  Result JSON when ok
    const char *error;  //  Error line when not ok
    double started_at;  //  Unix seconds, in the pool process
    double finished_at; //  Unix seconds
    int64_t pid;        //  Process that ran it
} zj_cpu_outcome_t;

typedef void(zj_cpu_done_fn)(void *arg, const zj_cpu_outcome_t *outcome);

//  Forks procs processes (0 = one per core) that run handlers from
//  registry (inherited through fork: load plugins first). done is called
//  on the loop for every job submitted. Returns NULL on failure.
zj_cpu_pool_t *zj_cpu_pool_new(uv_loop_t *loop, int procs,
                               const zj_registry_t *registry,
                               zj_cpu_done_fn *done, void *arg);

//  A running job reported its progress (zjob_progress in a pool process);
//  text is borrowed for the call.
typedef void(zj_cpu_progress_fn)(void *arg, int64_t job_id, int64_t done,
                                 int64_t total, const char *text);

//  A running job wrote to its log (stdout and stderr in a pool process):
//  size bytes of text, borrowed for the call.
typedef void(zj_cpu_log_fn)(void *arg, int64_t job_id, const char *text,
                            size_t size);

//  Sets where the jobs' progress and logs go (NULL: nowhere); arg is
//  passed to both.
void zj_cpu_pool_set_progress(zj_cpu_pool_t *self, zj_cpu_progress_fn *fn,
                              zj_cpu_log_fn *log, void *arg);

//  Kills and reaps every process; jobs in flight get no callback. Closes
//  its libuv handles (run the loop once after to finish closing).
void zj_cpu_pool_destroy(zj_cpu_pool_t **self_p);

//  Number of processes.
int zj_cpu_pool_size(const zj_cpu_pool_t *self);

//  Processes idle now.
int zj_cpu_pool_idle(const zj_cpu_pool_t *self);

//  Runs a job: on an idle process at once, else queued in order until one
//  is free. Copies what it needs. Returns 0 or a negative ZJ_E* code.
int zj_cpu_pool_submit(zj_cpu_pool_t *self, int64_t job_id, int32_t attempt,
                       const char *kind, const char *args, int64_t timeout_ms);

//  Stops a job: dropped if queued, its process killed (and replaced) if
//  running. done is called with error "cancelled". Returns 0 or
//  ZJ_ENOTFOUND.
int zj_cpu_pool_cancel(zj_cpu_pool_t *self, int64_t job_id);

#endif
