//  wait.c - the wait every awaitable shares (see wait.h).
#include <assert.h>

#include "common/err.h"
#include "worker/coro.h"
#include "worker/wait.h"

int
zj_wait_allowed(const zjob_ctx_t *ctx)
{
    assert(ctx);
    if (ctx->loop == NULL || ctx->coro == NULL)
        return ZJ_EDENIED;
    if (ctx->cancelled)
        return ZJ_ECANCELLED;
    return 0;
}

void
zj_wait_opened(zj_wait_t *wait, uv_handle_t *handle)
{
    handle->data = wait;
    wait->open++;
}

static void
s_wait_closed(uv_handle_t *handle)
{
    zj_wait_t *wait = handle->data;
    assert(wait->open > 0);
    if (--wait->open == 0)
        zj_coro_resume(wait->ctx->coro);
}

void
zj_wait_close(uv_handle_t *handle)
{
    if (!uv_is_closing(handle))
        uv_close(handle, s_wait_closed);
}

//  Fixes the outcome (the first call wins); from then on the job has no
//  wait to abandon.
void
zj_wait_settle(zj_wait_t *wait, int status)
{
    if (wait->settled)
        return;
    wait->settled = true;
    wait->status = status;
    if (wait->ctx->abandon_arg == wait) {
        wait->ctx->abandon = NULL;
        wait->ctx->abandon_arg = NULL;
    }
}

//  Suspends the job until every handle of wait is closed, with abandon
//  registered meanwhile. Returns the outcome.
int
zj_wait_suspend(zj_wait_t *wait, void (*abandon)(zjob_ctx_t *ctx))
{
    zjob_ctx_t *ctx = wait->ctx;
    if (!wait->settled) {
        ctx->abandon = abandon;
        ctx->abandon_arg = wait;
    }
    while (wait->open > 0)
        zj_coro_yield(ctx->coro);
    if (ctx->abandon_arg == wait) {
        ctx->abandon = NULL;
        ctx->abandon_arg = NULL;
    }
    return wait->status;
}
