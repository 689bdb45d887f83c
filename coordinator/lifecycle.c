//  lifecycle.c - the coordinator's job state machine (see lifecycle.h).
#include <math.h>

#include "common/duration.h"
#include "common/heap.h"
#include "common/log.h"
#include "coordinator/lifecycle.h"
#include "coordinator/worker_ep.h"

#define ZJ_RETRY_BASE_MS 200     //  Backoff of the first retry
#define ZJ_RETRY_MAX_MS 60000    //  Longest backoff

static void
s_write(zj_coordinator_t *self, const zj_job_t *job)
{
    if (zj_store_update_job(self->store, job) != 0)
        zj_coordinator_store_failed(self, "update job");
}

static const char *
s_unknown_kind(zj_coordinator_t *self, const char *kind)
{
    if (zhashx_size(self->kinds) == 0 || zhashx_lookup(self->kinds, kind))
        return NULL;
    return "unknown job kind: no worker offers it";
}

int64_t
zj_lifecycle_submit(zj_coordinator_t *self, const zj_job_t *spec)
{
    double now = zj_now();
    zj_job_t job = {0};
    job.kind = strdup(spec->kind);
    job.args = strdup(spec->args ? spec->args : "null");
    job.priority = spec->priority;
    job.max_attempts = spec->max_attempts > 0 ? spec->max_attempts : 1;
    job.timeout_ms = spec->timeout_ms;
    job.backoff_ms = spec->backoff_ms;
    job.not_before = spec->delay_ms > 0 ? now + spec->delay_ms / 1000.0 : 0;
    job.created_at = now;
    job.state = ZJ_STATE_QUEUED;
    const char *unknown = s_unknown_kind(self, spec->kind);
    if (unknown) {
        job.state = ZJ_STATE_FAILED;
        job.error = zsys_sprintf("%s (kind '%s')", unknown, spec->kind);
        job.finished_at = now;
    }
    if (zj_store_insert_job(self->store, &job) != 0) {
        zj_coordinator_store_failed(self, "insert job");
        zj_job_clear(&job);
        return 0;
    }
    int64_t id = job.id;
    if (unknown) {
        zj_log_warning("job failed id=%" PRId64 " kind=%s error=\"%s\"", id,
                       spec->kind, job.error);
        zj_job_clear(&job);
        return id;
    }
    zj_future_t *future = zj_futures_add(self->futures, &job);
    zj_scheduler_push(self->scheduler, future, now);
    return id;
}

void
zj_lifecycle_recover(zj_coordinator_t *self, const zj_job_t *job)
{
    zj_job_t copy;
    zj_job_copy(&copy, job);
    copy.state = ZJ_STATE_QUEUED;
    zj_future_t *future = zj_futures_add(self->futures, &copy);
    //  A job that was running may still get the result of that attempt
    //  from its worker, and it counts. A queued job that had attempts was
    //  waiting for a retry: its last attempt already has its result.
    future->attempt_done = job->state != ZJ_STATE_RUNNING;
    zj_scheduler_push(self->scheduler, future, zj_now());
}

void
zj_lifecycle_dispatch(zj_coordinator_t *self, zj_future_t *future,
                      zj_peer_t *peer)
{
    zj_job_t *job = &future->job;
    assert(job->state == ZJ_STATE_QUEUED && future->slot == ZJ_HEAP_NONE);
    job->state = ZJ_STATE_RUNNING;
    job->attempts++;
    job->started_at = zj_now();
    job->finished_at = 0;
    free(job->worker);
    job->worker = strdup(peer->info.name);
    future->peer = peer;
    future->attempt_done = false;
    int rc = zj_idmap_insert(peer->running, job->id, future);
    assert(rc == 0);
    s_write(self, job);
}

static void
s_detach_from_peer(zj_future_t *future)
{
    if (future->peer) {
        void *running = zj_idmap_delete(future->peer->running, future->job.id);
        assert(running == future);
        future->peer = NULL;
    }
}

static void
s_finish(zj_coordinator_t *self, zj_future_t *future, zj_state_t state)
{
    zj_job_t *job = &future->job;
    job->state = state;
    if (job->finished_at == 0)
        job->finished_at = zj_now();
    s_detach_from_peer(future);
    zj_scheduler_remove(self->scheduler, future);
    s_write(self, job);
    zj_futures_resolve(self->futures, future);
}

//  The wait before the retry that follows attempt number attempts: the
//  job's base (or the default), doubled per attempt, capped, jittered.
static int64_t
s_backoff_ms(const zj_job_t *job)
{
    double base = job->backoff_ms > 0 ? (double) job->backoff_ms
                                      : ZJ_RETRY_BASE_MS;
    double backoff = base * pow(2.0, job->attempts - 1);
    if (backoff > ZJ_RETRY_MAX_MS)
        backoff = ZJ_RETRY_MAX_MS;
    //  Jitter of up to a quarter spreads retries of a failed batch.
    return (int64_t) (backoff * (0.75 + 0.25 * (double) rand() / RAND_MAX));
}

static void
s_retry(zj_coordinator_t *self, zj_future_t *future)
{
    zj_job_t *job = &future->job;
    s_detach_from_peer(future);
    job->state = ZJ_STATE_QUEUED;
    double now = zj_now();
    job->not_before = now + s_backoff_ms(job) / 1000.0;
    s_write(self, job);
    zj_scheduler_push(self->scheduler, future, now);
    zj_log_info("job retry id=%" PRId64 " attempt=%d of=%d error=\"%s\"",
                job->id, job->attempts, job->max_attempts,
                job->error ? job->error : "");
}

static void
s_take_string(char **dest, const char *src)
{
    free(*dest);
    *dest = src ? strdup(src) : NULL;
}

bool
zj_lifecycle_result(zj_coordinator_t *self, const zj_job_t *result,
                    const char *worker)
{
    zj_future_t *future = zj_futures_find(self->futures, result->id);
    //  A job queued again because its worker was lost may still get the
    //  result of that attempt: it counts, unless the attempt has one.
    if (future == NULL || future->job.attempts != result->attempts ||
        future->attempt_done) {
        zj_log_info("result dropped id=%" PRId64 " attempt=%d worker=%s "
                    "reason=%s",
                    result->id, result->attempts, worker,
                    future == NULL ? "job already final"
                    : future->job.attempts != result->attempts
                        ? "stale attempt"
                        : "attempt already has its result");
        return false;
    }
    zj_job_t *job = &future->job;
    future->attempt_done = true;
    zj_scheduler_remove(self->scheduler, future);
    if (result->started_at > 0)
        job->started_at = result->started_at;
    job->finished_at = result->finished_at > 0 ? result->finished_at : 0;
    s_take_string(&job->worker, worker);
    s_take_string(&job->result, result->result);
    s_take_string(&job->error, result->error);
    job->state = result->state;
    if (zj_store_record_attempt(self->store, job) != 0)
        zj_coordinator_store_failed(self, "record attempt");
    if (result->state == ZJ_STATE_FAILED && !result->no_retry &&
        job->attempts < job->max_attempts) {
        s_retry(self, future);
        return true;
    }
    s_finish(self, future, result->state);
    return true;
}

void
zj_lifecycle_requeue(zj_coordinator_t *self, zj_future_t *future,
                     const char *why)
{
    zj_job_t *job = &future->job;
    assert(job->state == ZJ_STATE_RUNNING);
    s_detach_from_peer(future);
    s_take_string(&job->error, why);
    job->state = ZJ_STATE_FAILED; //  As the attempts table sees it
    job->finished_at = zj_now();
    if (zj_store_record_attempt(self->store, job) != 0)
        zj_coordinator_store_failed(self, "record attempt");
    job->state = ZJ_STATE_QUEUED;
    job->not_before = 0;
    job->finished_at = 0;
    s_write(self, job);
    zj_scheduler_push(self->scheduler, future, zj_now());
}

zj_state_t
zj_lifecycle_cancel(zj_coordinator_t *self, zj_future_t *future)
{
    zj_job_t *job = &future->job;
    if (job->state == ZJ_STATE_RUNNING)
        zj_worker_ep_stop_job(self, future);
    s_take_string(&job->error, "cancelled");
    free(job->result);
    job->result = NULL;
    s_finish(self, future, ZJ_STATE_CANCELLED);
    return ZJ_STATE_CANCELLED;
}
