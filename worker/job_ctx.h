//  job_ctx.h - what a running job's handler can reach (zjob_ctx_t).
//  The worker creates one per job; the awaitables (await.c, http.c) use
//  its loop and coroutine, and register how to abandon a pending wait so
//  that a cancelled or timed-out job's child process or transfer is closed.
#ifndef ZJ_JOB_CTX_H
#define ZJ_JOB_CTX_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "include/zjob/handler.h"

typedef struct zj_coro zj_coro_t;
typedef struct zj_http zj_http_t;
typedef struct zj_calls zj_calls_t;
typedef struct zj_idmap zj_idmap_t;

//  A child the job submitted, for the "never awaited" warning.
typedef struct {
    int64_t id;   //  The child
    char *kind;   //  Its kind, owned
    bool awaited; //  The job awaited it (gather, await, as-completed)
} zj_child_note_t;

struct zjob_ctx {
    int64_t job_id;   //  The job
    int32_t attempt;  //  Its attempt number
    const char *kind; //  Its kind (borrowed from the job)
    uv_loop_t *loop;  //  The worker's loop; NULL in a CPU process
    zj_coro_t *coro;  //  The job's coroutine; NULL in a CPU process
    zj_http_t *http;  //  The worker's curl multi driver; may be NULL
    bool cancelled;   //  Set once; every later await fails at once
    //  Set by an awaitable while it is suspended: abandons the wait (closes
    //  its handles, kills its child); the coroutine resumes once that is
    //  done and the awaitable returns ZJ_ECANCELLED. NULL when idle.
    void (*abandon)(zjob_ctx_t *ctx);
    void *abandon_arg;  //  The awaitable's own state, for abandon
    zj_calls_t *calls;  //  Requests to the coordinator; NULL: no sub-jobs
    int32_t calls_made; //  Children asked for so far (SPAWN call numbers)
    char why[256];      //  Why the last sub-job call failed, or ""
    zj_child_note_t *children; //  What it submitted, in order, owned
    size_t child_count;        //  Entries in children
    size_t child_size;         //  Room in children
    zj_idmap_t *child_index;   //  child id -> its entry + 1, owned
    //  Where zjob_progress goes: set by the runner (I/O jobs) or the pool
    //  process (CPU jobs); NULL: nowhere.
    void (*on_progress)(zjob_ctx_t *ctx, int64_t done, int64_t total,
                        const char *text);
    void *progress_arg; //  Its state
    //  Where zjob_log goes: set by the runner for I/O jobs; NULL in a pool
    //  process, whose stdout is the job's log.
    void (*on_log)(zjob_ctx_t *ctx, const char *text, size_t size);
    void *log_arg; //  Its state
};

//  Marks ctx cancelled and abandons its pending wait, if any. Safe to call
//  from a loop callback. The coroutine resumes later, from the loop, once
//  the wait's handles are closed (and its child reaped); the awaitable then
//  returns ZJ_ECANCELLED.
void zj_job_ctx_cancel(zjob_ctx_t *ctx);

//  The job ended: logs "never awaited" for each child it submitted and
//  never awaited (the first ZJ_NEVER_AWAITED_LINES, then a count), and
//  frees what ctx holds of its children. Implemented in subjobs.c.
#define ZJ_NEVER_AWAITED_LINES 10
void zj_job_ctx_end_children(zjob_ctx_t *ctx);

#endif
