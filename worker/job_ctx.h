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
    void *abandon_arg; //  The awaitable's own state, for abandon
};

//  Marks ctx cancelled and abandons its pending wait, if any. Safe to call
//  from a loop callback. The coroutine resumes later, from the loop, once
//  the wait's handles are closed (and its child reaped); the awaitable then
//  returns ZJ_ECANCELLED.
void zj_job_ctx_cancel(zjob_ctx_t *ctx);

#endif
