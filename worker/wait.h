//  wait.h - what every awaitable of include/zjob/handler.h shares: a wait
//  owns libuv handles, and is over when the last of them is closed; the
//  close callback resumes the job's coroutine, so libuv never holds a
//  pointer into a stack that moved on. An abandon function, registered
//  while the job is suspended, lets a cancel or timeout end the wait.
#ifndef ZJ_WAIT_H
#define ZJ_WAIT_H

#include <stdbool.h>
#include <uv.h>

#include "worker/job_ctx.h"

//  The first member of each wait's own struct, and what each of its
//  handles' data points to.
typedef struct {
    zjob_ctx_t *ctx; //  The waiting job
    int open;        //  Handles of this wait not yet closed
    int status;      //  The outcome, 0 or a ZJ_E* code, once settled
    bool settled;    //  The outcome is known; later events change nothing
} zj_wait_t;

//  Returns 0 if ctx may wait now, else the code the awaitable returns
//  (ZJ_EDENIED outside an io job's coroutine, ZJ_ECANCELLED).
int zj_wait_allowed(const zjob_ctx_t *ctx);

//  Counts a handle just initialised; its close callback will find wait.
void zj_wait_opened(zj_wait_t *wait, uv_handle_t *handle);

//  Closes handle (once); the last close resumes the job.
void zj_wait_close(uv_handle_t *handle);

//  Fixes the outcome (the first call wins); from then on the job has no
//  wait to abandon.
void zj_wait_settle(zj_wait_t *wait, int status);

//  Suspends the job until every handle of wait is closed, with abandon
//  registered meanwhile. Returns the outcome.
int zj_wait_suspend(zj_wait_t *wait, void (*abandon)(zjob_ctx_t *ctx));

#endif
