//  runner.c - I/O jobs as coroutines, CPU jobs in the pool (see .h).
//  A held job lives from zj_runner_start until the reaper (a uv_check
//  handle, after each loop turn) frees it; nothing is freed while a
//  coroutine or callback may still touch it.
#include <czmq.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/idmap.h"
#include "common/json.h"
#include "common/log.h"
#include "common/why.h"
#include "proto/limits.h"
#include "worker/coro.h"
#include "worker/cpu_pool.h"
#include "worker/http.h"
#include "worker/job_ctx.h"
#include "worker/runner.h"
#include "worker/stdout.h"

#define ZJ_HELD_TAG 0x7a6a686cu

typedef struct {
    uint32_t tag;                //  ZJ_HELD_TAG while alive
    zj_runner_t *runner;         //  Owner
    zj_job_t job;                //  id, attempts, kind, args, timeout_ms
    zj_class_t klass;            //  Where it runs
    const zj_handler_t *handler; //  What runs it
    zjob_ctx_t ctx;              //  What the handler sees (I/O jobs)
    uv_timer_t timer;            //  Timeout of an I/O job
    bool started;                //  Its coroutine or pool job began
    bool timed_out;              //  The timeout fired
    bool cancel_asked;           //  The coordinator cancelled it
    bool finished;               //  Reported; waiting for the reaper
    bool no_retry;               //  Its error is final: do not retry
    double started_at;           //  Unix seconds
    int rc;                      //  I/O job: what its handler returned
    char *result;                //  ... its result, owned
    char *error;                 //  ... its error, owned
    double finished_at;          //  ... when it returned
} zj_held_t;

struct zj_runner {
    zj_runner_config_t config; //  As given
    zj_runner_done_fn *done;   //  Outcome callback
    void *arg;                 //  Its argument
    zj_coro_rt_t *coro_rt;     //  Coroutines of I/O jobs
    zj_cpu_pool_t *pool;       //  Processes of CPU jobs
    zj_http_t *http;           //  curl multi on the loop
    zj_idmap_t *held;          //  id -> zj_held_t *, unfinished jobs
    zlistx_t *io_waiting;      //  zj_held_t * waiting for an I/O slot
    zlistx_t *finished;        //  zj_held_t * to free after the turn
    int io_running;            //  Coroutines alive
    uv_check_t reaper;         //  Frees finished jobs, starts waiting ones
    int64_t blocked_ms;        //  Past the block threshold, in all
};

static void s_reap(uv_check_t *handle);
static void s_cpu_progress(void *arg, int64_t job_id, int64_t done,
                           int64_t total, const char *text);
static void s_cpu_log(void *arg, int64_t job_id, const char *text, size_t size);
static void s_on_cpu_done(void *arg, const zj_cpu_outcome_t *outcome);

static void
s_on_blocked(void *arg, int64_t held_ms)
{
    zj_held_t *held = arg;
    held->runner->blocked_ms += held_ms;
    zj_log_warning("loop blocked job=%" PRId64 " kind=%s held_ms=%" PRId64,
                   held->job.id, held->job.kind, held_ms);
}

//  The coroutine runtime hands the loop to a job, or takes it back: the
//  watchdog must know which job to name if it never comes back, and what
//  is printed meanwhile is that job's.
static void
s_on_switch(void *context, void *arg)
{
    zj_runner_t *self = context;
    zj_held_t *held = arg;
    zj_stdout_job(held ? held->job.id : 0, held ? held->job.attempts : 0);
    if (self->config.watchdog == NULL)
        return;
    if (held)
        zj_watchdog_enter(self->config.watchdog, held->job.id, held->job.kind);
    else
        zj_watchdog_leave(self->config.watchdog);
}

zj_runner_t *
zj_runner_new(const zj_runner_config_t *config, zj_runner_done_fn *done,
              void *arg)
{
    zj_runner_t *self = calloc(1, sizeof *self);
    assert(self);
    self->config = *config;
    self->done = done;
    self->arg = arg;
    self->held = zj_idmap_new();
    self->io_waiting = zlistx_new();
    self->finished = zlistx_new();
    //  A check handle's init on a live loop, and its start with a
    //  callback, cannot fail by libuv's contract.
    int rc = uv_check_init(config->loop, &self->reaper);
    assert(rc == 0);
    self->reaper.data = self;
    rc = uv_check_start(&self->reaper, s_reap);
    assert(rc == 0);
    (void) rc;
    self->coro_rt = zj_coro_rt_new(0);
    self->http = zj_http_new(config->loop);
    self->pool = zj_cpu_pool_new(config->loop, config->cpu_procs,
                                 config->registry, s_on_cpu_done, self);
    if (self->coro_rt == NULL || self->http == NULL || self->pool == NULL) {
        zj_log_error("cannot start runner coro=%s http=%s pool=%s",
                     self->coro_rt ? "ok" : "failed",
                     self->http ? "ok" : "failed",
                     self->pool ? "ok" : "failed");
        zj_runner_destroy(&self);
        return NULL;
    }
    zj_coro_rt_set_blocked(self->coro_rt, config->block_ms, s_on_blocked);
    zj_cpu_pool_set_progress(self->pool, s_cpu_progress, s_cpu_log, self);
    zj_coro_rt_set_switch(self->coro_rt, s_on_switch, self);
    return self;
}

static void
s_free_held(zj_held_t *held)
{
    assert(held->tag == ZJ_HELD_TAG);
    zj_job_clear(&held->job);
    held->tag = 0;
    free(held);
}

static void
s_on_timer_closed(uv_handle_t *handle)
{
    s_free_held(handle->data);
}

//  Frees held, after closing its timer if it has one.
static void
s_release(zj_held_t *held)
{
    if (held->klass == ZJ_CLASS_IO && held->started)
        uv_close((uv_handle_t *) &held->timer, s_on_timer_closed);
    else
        s_free_held(held);
}

void
zj_runner_destroy(zj_runner_t **self_p)
{
    assert(self_p);
    zj_runner_t *self = *self_p;
    if (self == NULL)
        return;
    //  Cancelling resumes a job, which may finish and leave self->held:
    //  collect first, then cancel.
    zlistx_t *running = zlistx_new();
    for (zj_held_t *held = zj_idmap_first(self->held); held;
         held = zj_idmap_next(self->held))
        if (held->klass == ZJ_CLASS_IO && held->started && !held->finished)
            zlistx_add_end(running, held);
    for (zj_held_t *held = zlistx_first(running); held;
         held = zlistx_next(running))
        zj_job_ctx_cancel(&held->ctx);
    zlistx_destroy(&running);
    //  Cancelled awaits resume their coroutines from the loop, once their
    //  handles are closed and children reaped.
    while (self->coro_rt && zj_coro_rt_alive(self->coro_rt) > 0)
        uv_run(self->config.loop, UV_RUN_ONCE);
    zj_cpu_pool_destroy(&self->pool);
    zj_http_destroy(&self->http);
    zj_held_t *held;
    while ((held = zj_idmap_first(self->held))) {
        zj_idmap_delete(self->held, held->job.id);
        if (!held->finished)
            s_release(held);
    }
    while ((held = zlistx_detach(self->finished, NULL)))
        s_release(held);
    zj_idmap_destroy(&self->held);
    zlistx_destroy(&self->io_waiting);
    zlistx_destroy(&self->finished);
    zj_coro_rt_destroy(&self->coro_rt);
    uv_close((uv_handle_t *) &self->reaper, NULL);
    free(self);
    *self_p = NULL;
}

//  Reports the outcome once and hands the job to the reaper. A failed
//  job may keep a result too (exec's output, http's response).
static void
s_finish(zj_held_t *held, zj_state_t state, const char *result,
         const char *error, double started_at, double finished_at)
{
    zj_runner_t *self = held->runner;
    assert(!held->finished);
    held->finished = true;
    zj_job_t outcome = {0};
    outcome.id = held->job.id;
    outcome.attempts = held->job.attempts;
    outcome.state = state;
    outcome.no_retry = held->no_retry && state == ZJ_STATE_FAILED;
    outcome.result = (char *) result;
    char line[ZJ_MAX_TEXT];
    if (state != ZJ_STATE_SUCCEEDED) {
        snprintf(line, sizeof line, "%s", error ? error : "failed");
        outcome.error = line;
    }
    outcome.started_at = started_at;
    outcome.finished_at = finished_at;
    zj_idmap_delete(self->held, held->job.id);
    zlistx_add_end(self->finished, held);
    self->done(self->arg, &outcome, held->klass);
}

//  Checks a handler's result against the protocol. Returns NULL if fine,
//  else why it is refused.
static const char *
s_refuse_result(const char *result, char *why)
{
    if (result == NULL)
        return "handler returned no result";
    size_t size = strlen(result);
    if (size > ZJ_MAX_RESULT) {
        zj_why_set(why, "result of %zu bytes > limit %d", size, ZJ_MAX_RESULT);
        return why;
    }
    if (zj_json_check(result, size, ZJ_MAX_DEPTH, why) != 0)
        return why;
    return NULL;
}

//  On the job's coroutine: the handler, and nothing after it. What
//  follows runs in s_io_epilogue, on the loop's stack: checking a result
//  and reporting it take more stack than a sleeping job's one page, and
//  that page would then stay touched in the pool (4 KiB per job more at
//  the peak of 10,000 sleeps ending at once).
static void
s_io_body(void *arg)
{
    zj_held_t *held = arg;
    held->ctx.coro = zj_coro_current(held->runner->coro_rt);
    held->rc = held->handler->handler(&held->ctx, held->job.args, &held->result,
                                      &held->error);
    held->finished_at = zj_now();
}

static void
s_io_epilogue(void *arg)
{
    zj_held_t *held = arg;
    held->ctx.coro = NULL;
    uv_timer_stop(&held->timer);
    int rc = held->rc;
    double finished_at = held->finished_at;
    char why[ZJ_WHY_SIZE] = "";
    const char *refused = rc == 0 ? s_refuse_result(held->result, why) : NULL;
    if (held->timed_out) {
        zj_why_set(why, "timeout after %" PRId64 " ms", held->job.timeout_ms);
        s_finish(held, ZJ_STATE_FAILED, NULL, why, held->started_at,
                 finished_at);
    } else if (held->ctx.cancelled)
        s_finish(held, ZJ_STATE_CANCELLED, NULL, "cancelled", held->started_at,
                 finished_at);
    else if (rc == 0 && refused == NULL)
        s_finish(held, ZJ_STATE_SUCCEEDED, held->result, NULL, held->started_at,
                 finished_at);
    else {
        held->no_retry = refused != NULL || rc == ZJOB_FAILED_FINAL;
        //  What a failing handler returned beside its error is kept if
        //  it is a result the protocol takes.
        const char *kept = rc != 0 && held->result &&
                                   s_refuse_result(held->result, why) == NULL
                               ? held->result
                               : NULL;
        s_finish(held, ZJ_STATE_FAILED, kept,
                 refused       ? refused
                 : held->error ? held->error
                               : "handler failed",
                 held->started_at, finished_at);
    }
    free(held->result);
    free(held->error);
    held->result = held->error = NULL;
    zj_job_ctx_end_children(&held->ctx);
    held->runner->io_running--;
}

static void
s_on_timeout(uv_timer_t *timer)
{
    zj_held_t *held = timer->data;
    if (held->finished)
        return;
    held->timed_out = true;
    zj_job_ctx_cancel(&held->ctx);
}

//  zjob_progress from an I/O job: into the worker's table.
static void
s_io_progress(zjob_ctx_t *ctx, int64_t done, int64_t total, const char *text)
{
    zj_progress_note(ctx->progress_arg, ctx->job_id, ctx->attempt, done, total,
                     text);
}

//  zjob_log from an I/O job: into the worker's logs.
static void
s_io_log(zjob_ctx_t *ctx, const char *text, size_t size)
{
    zj_joblogs_write(ctx->log_arg, ctx->job_id, ctx->attempt, text, size);
}

//  What a CPU job wrote, through its pool process.
static void
s_cpu_log(void *arg, int64_t job_id, const char *text, size_t size)
{
    zj_runner_t *self = arg;
    zj_held_t *held = zj_idmap_lookup(self->held, job_id);
    if (held && !held->finished && self->config.logs)
        zj_joblogs_write(self->config.logs, job_id, held->job.attempts, text,
                         size);
}

//  zjob_progress from a CPU job, through its pool process.
static void
s_cpu_progress(void *arg, int64_t job_id, int64_t done, int64_t total,
               const char *text)
{
    zj_runner_t *self = arg;
    zj_held_t *held = zj_idmap_lookup(self->held, job_id);
    if (held && !held->finished && self->config.progress)
        zj_progress_note(self->config.progress, job_id, held->job.attempts,
                         done, total, text);
}

//  True if an I/O slot is free: coroutines alive, less the parents that
//  await without their slot, are under io_slots.
static bool
s_io_free(const zj_runner_t *self)
{
    int suspended =
        self->config.calls ? zj_calls_suspended(self->config.calls) : 0;
    return self->io_running - suspended < self->config.io_slots;
}

static void
s_start_io(zj_runner_t *self, zj_held_t *held)
{
    held->started = true;
    held->started_at = zj_now();
    held->ctx.job_id = held->job.id;
    held->ctx.attempt = held->job.attempts;
    held->ctx.kind = held->job.kind;
    held->ctx.loop = self->config.loop;
    held->ctx.http = self->http;
    held->ctx.calls = self->config.calls;
    if (self->config.progress) {
        held->ctx.on_progress = s_io_progress;
        held->ctx.progress_arg = self->config.progress;
    }
    if (self->config.logs) {
        held->ctx.on_log = s_io_log;
        held->ctx.log_arg = self->config.logs;
    }
    //  A timer's init on a live loop, and its start with a callback,
    //  cannot fail by libuv's contract.
    int rc = uv_timer_init(self->config.loop, &held->timer);
    assert(rc == 0);
    held->timer.data = held;
    if (held->job.timeout_ms > 0)
        rc = uv_timer_start(&held->timer, s_on_timeout,
                            (uint64_t) held->job.timeout_ms, 0);
    assert(rc == 0);
    (void) rc;
    self->io_running++;
    //  The coroutine may run to its end inside spawn.
    if (zj_coro_spawn_then(self->coro_rt, s_io_body, s_io_epilogue, held) ==
        NULL) {
        self->io_running--;
        uv_timer_stop(&held->timer);
        s_finish(held, ZJ_STATE_FAILED, NULL,
                 "no coroutine stack available (memory or "
                 "vm.max_map_count exhausted)",
                 held->started_at, zj_now());
    }
}

static void
s_on_cpu_done(void *arg, const zj_cpu_outcome_t *outcome)
{
    zj_runner_t *self = arg;
    zj_held_t *held = zj_idmap_lookup(self->held, outcome->job_id);
    if (held == NULL || held->finished)
        return;
    char why[ZJ_WHY_SIZE] = "";
    const char *refused =
        outcome->ok ? s_refuse_result(outcome->result, why) : NULL;
    held->no_retry = outcome->no_retry || refused != NULL;
    zj_state_t state = outcome->ok && refused == NULL ? ZJ_STATE_SUCCEEDED
                       : held->cancel_asked           ? ZJ_STATE_CANCELLED
                                                      : ZJ_STATE_FAILED;
    s_finish(held, state, state == ZJ_STATE_SUCCEEDED ? outcome->result : NULL,
             refused ? refused : outcome->error, outcome->started_at,
             outcome->finished_at);
}

static zj_held_t *
s_hold(zj_runner_t *self, const zj_job_t *job, const zj_handler_t *handler)
{
    zj_held_t *held = calloc(1, sizeof *held);
    assert(held);
    held->tag = ZJ_HELD_TAG;
    held->runner = self;
    held->job.id = job->id;
    held->job.attempts = job->attempts;
    held->job.kind = strdup(job->kind);
    held->job.args = strdup(job->args ? job->args : "null");
    held->job.timeout_ms = job->timeout_ms;
    held->handler = handler;
    held->klass = handler && handler->klass == ZJOB_CLASS_CPU ? ZJ_CLASS_CPU
                                                              : ZJ_CLASS_IO;
    return held;
}

void
zj_runner_start(zj_runner_t *self, const zj_job_t *job)
{
    assert(self && job);
    zj_held_t *known = zj_idmap_lookup(self->held, job->id);
    if (known) {
        //  The coordinator lost track of us and sent it again: it still
        //  runs here, now as the attempt the coordinator expects.
        zj_log_info("job adopted id=%" PRId64 " attempt=%d was=%d", job->id,
                    job->attempts, known->job.attempts);
        known->job.attempts = job->attempts;
        return;
    }
    const zj_handler_t *handler =
        zj_registry_find(self->config.registry, job->kind);
    zj_held_t *held = s_hold(self, job, handler);
    zj_idmap_insert(self->held, held->job.id, held);
    if (handler == NULL) {
        char why[ZJ_WHY_SIZE];
        zj_why_set(why, "unknown job kind '%s' on this worker", job->kind);
        held->no_retry = true;
        s_finish(held, ZJ_STATE_FAILED, NULL, why, zj_now(), zj_now());
        return;
    }
    if (held->klass == ZJ_CLASS_CPU) {
        held->started = true;
        int rc = zj_cpu_pool_submit(self->pool, job->id, job->attempts,
                                    job->kind, held->job.args, job->timeout_ms);
        if (rc != 0)
            s_finish(held, ZJ_STATE_FAILED, NULL, zj_strerror(rc), zj_now(),
                     zj_now());
        return;
    }
    if (s_io_free(self))
        s_start_io(self, held);
    else
        zlistx_add_end(self->io_waiting, held);
}

int
zj_runner_cancel(zj_runner_t *self, int64_t id)
{
    assert(self);
    zj_held_t *held = zj_idmap_lookup(self->held, id);
    if (held == NULL || held->finished)
        return ZJ_ENOTFOUND;
    held->cancel_asked = true;
    if (held->klass == ZJ_CLASS_CPU)
        return zj_cpu_pool_cancel(self->pool, id) == 0 ? 0 : ZJ_ENOTFOUND;
    if (held->started) {
        zj_job_ctx_cancel(&held->ctx);
        return 0;
    }
    void *handle = zlistx_find(self->io_waiting, held);
    if (handle)
        zlistx_detach(self->io_waiting, handle);
    double now = zj_now();
    s_finish(held, ZJ_STATE_CANCELLED, NULL, "cancelled", now, now);
    return 0;
}

size_t
zj_runner_size(const zj_runner_t *self)
{
    assert(self);
    return zj_idmap_size(self->held);
}

//  After each loop turn: free what finished, start what waits for a slot.
static void
s_reap(uv_check_t *handle)
{
    zj_runner_t *self = handle->data;
    zj_held_t *held;
    while ((held = zlistx_detach(self->finished, NULL)))
        s_release(held);
    while (s_io_free(self) && (held = zlistx_detach(self->io_waiting, NULL)))
        s_start_io(self, held);
}

int64_t
zj_runner_blocked_ms(const zj_runner_t *self)
{
    assert(self);
    return self->blocked_ms;
}
