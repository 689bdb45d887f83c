//  runner.h - runs the jobs a worker receives: I/O kinds as coroutines on
//  the worker's loop, CPU kinds in the process pool; enforces each job's
//  timeout, cancels on request, and reports every outcome once.
#ifndef ZJ_RUNNER_H
#define ZJ_RUNNER_H

#include <stdbool.h>
#include <uv.h>

#include "proto/msg.h"
#include "worker/calls.h"
#include "worker/joblogs.h"
#include "worker/progress.h"
#include "worker/registry.h"
#include "worker/watchdog.h"

typedef struct zj_runner zj_runner_t;

typedef struct {
    uv_loop_t *loop;               //  The worker's loop
    const zj_registry_t *registry; //  Kinds and handlers (borrowed)
    int io_slots;                  //  Coroutines at once
    int cpu_procs;                 //  Pool processes (0 = one per core)
    int64_t block_ms;              //  Report a coroutine holding longer
    zj_watchdog_t *watchdog;       //  Told which job holds the loop, or NULL
    zj_calls_t *calls;             //  Sub-job calls of I/O jobs, or NULL:
                                   //  its suspended parents hold no slot
    zj_progress_t *progress;       //  Where jobs' progress goes, or NULL
    zj_joblogs_t *logs;            //  Where jobs' logs go, or NULL
} zj_runner_config_t;

//  Reports one finished job: outcome holds id, attempts, state
//  (succeeded, failed or cancelled), result or error, started_at and
//  finished_at; klass says which credit it frees. Borrowed for the call.
typedef void(zj_runner_done_fn)(void *arg, const zj_job_t *outcome,
                                zj_class_t klass);

//  Creates the runner and forks the CPU pool. Returns NULL on failure.
zj_runner_t *zj_runner_new(const zj_runner_config_t *config,
                           zj_runner_done_fn *done, void *arg);

//  Cancels what runs, stops the pool and frees; sets *self_p to NULL.
//  Run the loop afterwards until it has no active handle.
void zj_runner_destroy(zj_runner_t **self_p);

//  Starts job (copied): now if a slot of its class is free, else queued.
void zj_runner_start(zj_runner_t *self, const zj_job_t *job);

//  Cancels a job that runs or waits here. Returns 0 or ZJ_ENOTFOUND.
int zj_runner_cancel(zj_runner_t *self, int64_t id);

//  Jobs running or waiting here.
size_t zj_runner_size(const zj_runner_t *self);

//  Milliseconds handlers held the loop past the block threshold, in all
//  the warnings said so (`loop blocked ... held_ms`).
int64_t zj_runner_blocked_ms(const zj_runner_t *self);

#endif
