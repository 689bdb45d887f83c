//  lifecycle.c - the coordinator's job state machine (see lifecycle.h).
#include <math.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/heap.h"
#include "common/idmap.h"
#include "common/log.h"
#include "coordinator/lifecycle.h"

#define ZJ_RETRY_BASE_MS 200  //  Backoff of the first retry
#define ZJ_RETRY_MAX_MS 60000 //  Longest backoff
#define ZJ_MOST_AHEAD 65      //  Timeouts a CPU job may wait on a worker

//  A row the store refused is a constraint broken: a bug, not a store
//  fault (those degrade the store and are handled by the loop's commit).
static void
s_refused(zj_lifecycle_t *self, const char *what)
{
    zj_log_error("store refused a row during=\"%s\" error=\"%s\"", what,
                 zj_store_last_error(self->store));
}

static void
s_write(zj_lifecycle_t *self, const zj_job_t *job)
{
    if (zj_store_update_job(self->store, job) != 0)
        s_refused(self, "update job");
}

static void
s_record_attempt(zj_lifecycle_t *self, const zj_job_t *attempt)
{
    if (zj_store_record_attempt(self->store, attempt) != 0)
        s_refused(self, "record attempt");
}

//  The state job id is in: unfinished ones from their future, final ones
//  from the store (inside the turn). ZJ_STATE_NONE if there is no such job.
static zj_state_t
s_state_of(zj_lifecycle_t *self, int64_t id)
{
    zj_future_t *future = zj_futures_find(self->futures, id);
    if (future)
        return future->job.state;
    zj_state_t state = ZJ_STATE_NONE;
    if (zj_store_job_state(self->store, id, &state) != 0)
        return ZJ_STATE_NONE;
    return state;
}

int
zj_lifecycle_check_after(zj_lifecycle_t *self, const zj_job_t *spec,
                         int64_t *unknown)
{
    assert(self && spec && unknown);
    for (uint32_t index = 0; index < spec->after_count; index++)
        if (s_state_of(self, spec->after[index]) == ZJ_STATE_NONE) {
            *unknown = spec->after[index];
            return ZJ_ENOTFOUND;
        }
    return 0;
}

static bool
s_is_final(zj_state_t state)
{
    return state == ZJ_STATE_SUCCEEDED || state == ZJ_STATE_FAILED ||
           state == ZJ_STATE_CANCELLED;
}

static void s_release(zj_lifecycle_t *self);

//  Holds future until the jobs of its after finish: it waits for each
//  unfinished one, and each finished one is told at once, as if it had
//  just finished. Returns true if it is held.
static bool
s_hold(zj_lifecycle_t *self, zj_future_t *future)
{
    const zj_job_t *job = &future->job;
    for (uint32_t index = 0; index < job->after_count; index++) {
        int64_t id = job->after[index];
        bool seen = false;
        for (uint32_t before = 0; before < index && !seen; before++)
            seen = job->after[before] == id;
        zj_state_t state = s_state_of(self, id);
        if (seen || state == ZJ_STATE_NONE)
            continue;
        zj_deps_wait(self->deps, job->id, id);
        future->waiting++;
        if (s_is_final(state))
            zj_deps_finished(self->deps, id, state);
    }
    return future->waiting > 0;
}

//  A child is listed under its parent while both run: if the parent ends
//  failed or cancelled, the child is cancelled (s_release).
static void
s_adopt(zj_lifecycle_t *self, const zj_future_t *future)
{
    int64_t parent = future->job.parent;
    if (self->kids && parent > 0 && zj_futures_find(self->futures, parent))
        zj_deps_wait(self->kids, future->job.id, parent);
}

int64_t
zj_lifecycle_submit(zj_lifecycle_t *self, const zj_job_t *spec)
{
    assert(self && spec && spec->kind);
    double now = zj_now();
    zj_job_t job = {0};
    job.kind = strdup(spec->kind);
    job.args = spec->args ? strdup(spec->args) : NULL; //  NULL: none
    job.priority = spec->priority;
    job.max_attempts = spec->max_attempts > 0 ? spec->max_attempts : 1;
    job.timeout_ms = spec->timeout_ms;
    job.backoff_ms = spec->backoff_ms;
    job.not_before = spec->delay_ms > 0 ? now + spec->delay_ms / 1000.0 : 0;
    job.created_at = now;
    if (spec->after_count > 0) {
        job.after = malloc(spec->after_count * sizeof(int64_t));
        assert(job.after);
        memcpy(job.after, spec->after, spec->after_count * sizeof(int64_t));
        job.after_count = spec->after_count;
    }
    job.parent = spec->parent;
    job.call = spec->call;
    job.retry_of = spec->retry_of;
    //  A kind no connected worker offers waits, queued, for one that does.
    job.state = ZJ_STATE_QUEUED;
    if (zj_store_insert_job(self->store, &job) != 0) {
        s_refused(self, "insert job");
        zj_job_clear(&job);
        return 0;
    }
    int64_t id = job.id;
    if (self->metrics)
        zj_metrics_submitted(self->metrics, job.kind);
    zj_future_t *future = zj_futures_add(self->futures, &job);
    s_adopt(self, future);
    if (!s_hold(self, future))
        zj_scheduler_push(self->scheduler, future, now);
    s_release(self);
    return id;
}

int
zj_lifecycle_spawn(zj_lifecycle_t *self, const zj_job_t *spec, int64_t *id_p)
{
    assert(self && spec && spec->kind && id_p);
    assert(spec->parent > 0 && spec->call > 0);
    int64_t id = 0;
    int rc = zj_store_find_child(self->store, spec->parent, spec->call, &id);
    if (rc == ZJ_ENOTFOUND) {
        id = zj_lifecycle_submit(self, spec);
        rc = id > 0 ? 0 : ZJ_ESTORE;
    } else if (rc == 0) {
        //  The parent runs again and makes its call again: the child is
        //  the one its first run made, whatever it asks for this time.
        zj_future_t *child = zj_futures_find(self->futures, id);
        if (child && strcmp(child->job.kind, spec->kind) != 0)
            zj_log_warning(
                "child differs parent=%" PRId64 " call=%d id=%" PRId64
                " kind=%s asked=%s reason=\"the handler is not "
                "deterministic: its first child stands\"",
                spec->parent, spec->call, id, child->job.kind, spec->kind);
    }
    *id_p = rc == 0 ? id : 0;
    return rc;
}

void
zj_lifecycle_unsubmit(zj_lifecycle_t *self, int64_t id)
{
    assert(self);
    zj_future_t *future = zj_futures_find(self->futures, id);
    if (future == NULL)
        return; //  Cancelled in this turn by its after: only rows left
    assert(future->job.state == ZJ_STATE_QUEUED);
    //  Its id will be handed out again: it must wait for nothing.
    for (uint32_t index = 0; future->waiting && index < future->job.after_count;
         index++)
        zj_deps_forget(self->deps, id, future->job.after[index]);
    if (self->kids && future->job.parent > 0)
        zj_deps_forget(self->kids, id, future->job.parent);
    zj_scheduler_remove(self->scheduler, future);
    zj_futures_forget(self->futures, future);
}

static int
s_loss_bound(const zj_lifecycle_t *self)
{
    return self->max_losses > 0 ? self->max_losses : ZJ_MAX_LOSSES;
}

//  A job lost before, that one more loss would fail, is at its last
//  chance: it never shares a worker with another such job.
static bool
s_last_chance(const zj_lifecycle_t *self, const zj_job_t *job)
{
    return job->losses >= 1 && job->losses + 1 >= s_loss_bound(self);
}

void
zj_lifecycle_recover(zj_lifecycle_t *self, const zj_job_t *job)
{
    assert(self && job);
    zj_job_t copy;
    zj_job_copy(&copy, job);
    copy.state = ZJ_STATE_QUEUED;
    zj_future_t *future = zj_futures_add(self->futures, &copy);
    //  A job that was running may still get the result of that attempt
    //  from its worker, and it counts; dispatched again, it goes on with
    //  that attempt (the coordinator's restart is not the job's). A
    //  queued job that had attempts was waiting for a retry: its last
    //  attempt already has its result.
    future->attempt_done = job->state != ZJ_STATE_RUNNING;
    future->resume = job->state == ZJ_STATE_RUNNING;
    assert(!future->resume || job->attempts > 0);
    future->last_chance = s_last_chance(self, job);
    s_adopt(self, future);
    //  Jobs of its after that finished are told by
    //  zj_lifecycle_recovered, once every job is back.
    if (!s_hold(self, future))
        zj_scheduler_push(self->scheduler, future, zj_now());
}

void
zj_lifecycle_recovered(zj_lifecycle_t *self)
{
    assert(self);
    s_release(self);
}

//  How long the attempt of job may take on peer before the grace. An I/O
//  job starts at once (the worker has a coroutine for each slot). A CPU
//  job waits in the worker's pool behind the CPU jobs it holds already
//  (--cpu-prefetch): with p processes and `ahead` jobs before it, for at
//  most ceil(ahead / p) of their runs, and for at most 1 + the most
//  prefetch (64) of them. Each run takes up to a timeout if its job's is
//  no longer than this one's. Saturates: a timeout may be any int64.
static int64_t
s_allowance_ms(const zj_peer_t *peer, const zj_job_t *job, zj_class_t klass)
{
    int64_t ahead = 0;
    if (klass == ZJ_CLASS_CPU)
        ahead = zj_peer_info(peer)->cpu_slots - zj_peer_credit(peer, klass);
    if (ahead > ZJ_MOST_AHEAD)
        ahead = ZJ_MOST_AHEAD;
    if (job->timeout_ms > INT64_MAX / (1 + ahead))
        return INT64_MAX;
    return job->timeout_ms * (1 + ahead);
}

void
zj_lifecycle_dispatch(zj_lifecycle_t *self, zj_future_t *future,
                      zj_peer_t *peer, zj_class_t klass)
{
    assert(self && future && peer);
    zj_job_t *job = &future->job;
    assert(job->state == ZJ_STATE_QUEUED && future->slot == ZJ_HEAP_NONE);
    job->state = ZJ_STATE_RUNNING;
    if (!future->resume)
        job->attempts++;
    future->resume = false;
    job->started_at = zj_now();
    job->finished_at = 0;
    free(job->worker);
    job->worker = strdup(zj_peer_info(peer)->name);
    //  Progress is the attempt's: a new one starts from none.
    free(job->progress_text);
    job->progress_text = NULL;
    job->progress_done = job->progress_total = 0;
    job->progress_at = 0;
    future->attempt_done = false;
    if (job->timeout_ms > 0)
        zj_deadlines_start(self->deadlines, job->id,
                           s_allowance_ms(peer, job, klass), zj_mono_ms());
    zj_peer_attach(peer, future, klass);
    if (self->throttle)
        zj_throttle_started(self->throttle, job->kind, zj_mono_ms());
    s_write(self, job);
}

bool
zj_lifecycle_progress(zj_lifecycle_t *self, const zj_job_t *update,
                      const zj_peer_t *peer, int64_t now_ms)
{
    assert(self && update && peer);
    zj_future_t *future = zj_futures_find(self->futures, update->id);
    if (future == NULL || future->peer != peer || future->attempt_done ||
        future->job.attempts != update->attempts)
        return false;
    zj_job_t *job = &future->job;
    job->progress_done = update->progress_done;
    job->progress_total = update->progress_total;
    free(job->progress_text);
    job->progress_text =
        update->progress_text ? strdup(update->progress_text) : NULL;
    job->progress_at = zj_now();
    if (now_ms - future->progress_stored_ms >= ZJ_PROGRESS_STORE_MS) {
        future->progress_stored_ms = now_ms;
        s_write(self, job);
    } else if (!future->progress_dirty && self->progressed) {
        future->progress_dirty = true;
        zj_idmap_insert(self->progressed, job->id, (void *) (intptr_t) job->id);
    }
    return true;
}

bool
zj_lifecycle_log(zj_lifecycle_t *self, const zj_job_t *update,
                 const zj_peer_t *peer)
{
    assert(self && update && peer);
    zj_future_t *future = zj_futures_find(self->futures, update->id);
    if (future == NULL || future->peer != peer || future->attempt_done ||
        future->job.attempts != update->attempts || update->log == NULL)
        return false;
    if (zj_store_append_log(self->store, update->id, update->log) != 0) {
        s_refused(self, "append log");
        return false;
    }
    return true;
}

void
zj_lifecycle_store_progress(zj_lifecycle_t *self, int64_t now_ms)
{
    assert(self);
    size_t count = self->progressed ? zj_idmap_size(self->progressed) : 0;
    if (count == 0)
        return;
    //  Each entry is its own id (a future may be gone by now); collected
    //  first, as the map changes below.
    int64_t *ids = malloc(count * sizeof *ids);
    assert(ids);
    size_t index = 0;
    for (void *item = zj_idmap_first(self->progressed); item;
         item = zj_idmap_next(self->progressed))
        ids[index++] = (int64_t) (intptr_t) item;
    for (index = 0; index < count; index++) {
        zj_future_t *future = zj_futures_find(self->futures, ids[index]);
        if (future && future->progress_dirty &&
            now_ms - future->progress_stored_ms < ZJ_PROGRESS_STORE_MS)
            continue; //  Its turn comes at a later tick
        zj_idmap_delete(self->progressed, ids[index]);
        if (future == NULL || !future->progress_dirty)
            continue; //  Finished: its final write stored it
        future->progress_dirty = false;
        future->progress_stored_ms = now_ms;
        s_write(self, &future->job);
    }
    free(ids);
}

//  future's attempt no longer runs on its peer: its slot is free, and
//  the await of a parent goes with the attempt.
static void
s_unseat(zj_lifecycle_t *self, zj_future_t *future)
{
    if (future->peer) {
        zj_futures_release_parent(self->futures, future->job.id);
        if (self->throttle)
            zj_throttle_ended(self->throttle, future->job.kind);
    }
    zj_peer_detach(future);
}

//  The same for an attempt the worker must be told to stop: its slot
//  stays taken until the worker reports it (peers.h).
static void
s_stop(zj_lifecycle_t *self, zj_future_t *future)
{
    zj_futures_release_parent(self->futures, future->job.id);
    if (future->peer && self->throttle)
        zj_throttle_ended(self->throttle, future->job.kind);
    zj_peer_stop(future);
}

static void
s_finish(zj_lifecycle_t *self, zj_future_t *future, zj_state_t state)
{
    zj_job_t *job = &future->job;
    job->state = state;
    if (job->finished_at == 0)
        job->finished_at = zj_now();
    zj_deadlines_drop(self->deadlines, job->id);
    s_unseat(self, future);
    zj_scheduler_remove(self->scheduler, future);
    s_write(self, job);
    zj_futures_resolve(self->futures, future);
    if (self->stats)
        zj_stats_finished(self->stats, job->kind, state, zj_now());
    if (self->metrics)
        zj_metrics_finished(
            self->metrics, job->kind, state,
            job->started_at > 0 ? job->finished_at - job->started_at : -1);
    zj_deps_finished(self->deps, job->id, state);
    if (self->kids)
        zj_deps_finished(self->kids, job->id, state);
    s_release(self);
}

//  Tells waiter (held for the job id, which finished in state) about it:
//  one wait less after a success, and it is queued when none is left;
//  after a failure or a cancel it ends cancelled, naming that job.
static void
s_tell(zj_lifecycle_t *self, int64_t waiter, int64_t id, zj_state_t state)
{
    zj_future_t *future = zj_futures_find(self->futures, waiter);
    if (future == NULL || future->waiting == 0)
        return; //  Cancelled meanwhile
    assert(future->job.state == ZJ_STATE_QUEUED);
    assert(future->slot == ZJ_HEAP_NONE && future->peer == NULL);
    if (state == ZJ_STATE_SUCCEEDED) {
        if (--future->waiting == 0)
            zj_scheduler_push(self->scheduler, future, zj_now());
        return;
    }
    future->waiting = 0;
    zj_job_t *job = &future->job;
    free(job->error);
    job->error =
        zsys_sprintf("job %" PRId64 ", which it runs after, %s", id,
                     state == ZJ_STATE_FAILED ? "failed" : "was cancelled");
    zj_log_info("job cancelled id=%" PRId64 " reason=\"%s\"", job->id,
                job->error);
    s_finish(self, future, ZJ_STATE_CANCELLED);
}

static void s_cancel_child(zj_lifecycle_t *self, int64_t child, int64_t id,
                           zj_state_t state);

//  Tells the waiters of every job that finished, and cancels the
//  unfinished children of every parent that ended failed or cancelled. A
//  cancel this causes finishes more jobs, told in the same loop, not by
//  recursion: a chain or a tree of any depth ends in constant stack.
static void
s_release(zj_lifecycle_t *self)
{
    if (self->releasing)
        return;
    self->releasing = true;
    int64_t id;
    zj_state_t state;
    int64_t *waiters;
    size_t count;
    for (;;) {
        if (zj_deps_next(self->deps, &id, &state, &waiters, &count)) {
            for (size_t index = 0; index < count; index++)
                s_tell(self, waiters[index], id, state);
        } else if (self->kids &&
                   zj_deps_next(self->kids, &id, &state, &waiters, &count)) {
            for (size_t index = 0; state != ZJ_STATE_SUCCEEDED && index < count;
                 index++)
                s_cancel_child(self, waiters[index], id, state);
        } else
            break;
        free(waiters);
    }
    self->releasing = false;
}

//  The wait before the retry that follows attempt number attempts: the
//  job's base (or the default), doubled per attempt, capped, jittered.
static int64_t
s_backoff_ms(const zj_job_t *job)
{
    double base =
        job->backoff_ms > 0 ? (double) job->backoff_ms : ZJ_RETRY_BASE_MS;
    double backoff = base * pow(2.0, job->attempts - 1);
    if (backoff > ZJ_RETRY_MAX_MS)
        backoff = ZJ_RETRY_MAX_MS;
    //  Jitter of up to a quarter spreads retries of a failed batch.
    return (int64_t) (backoff * (0.75 + 0.25 * (double) rand() / RAND_MAX));
}

static void
s_retry(zj_lifecycle_t *self, zj_future_t *future)
{
    zj_job_t *job = &future->job;
    zj_deadlines_drop(self->deadlines, job->id);
    s_unseat(self, future);
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

//  Why a result from worker does not count, or NULL if it does.
static const char *
s_why_dropped(const zj_future_t *future, const zj_job_t *result,
              const char *worker)
{
    //  A job queued again because its worker was lost may still get the
    //  result of that attempt: it counts, unless the attempt has one.
    if (future == NULL)
        return "job already final";
    if (future->job.attempts != result->attempts)
        return "stale attempt";
    //  Names are unique among connected workers: only the one that holds
    //  the attempt (or holds its name again after it was lost) ends it.
    if (future->job.worker == NULL || !streq(future->job.worker, worker))
        return "attempt held by another worker";
    if (future->attempt_done)
        return "attempt already has its result";
    return NULL;
}

bool
zj_lifecycle_result(zj_lifecycle_t *self, const zj_job_t *result,
                    const char *worker)
{
    assert(self && result && worker);
    zj_future_t *future = zj_futures_find(self->futures, result->id);
    const char *dropped = s_why_dropped(future, result, worker);
    if (dropped) {
        zj_log_info("result dropped id=%" PRId64 " attempt=%d worker=%s "
                    "reason=%s",
                    result->id, result->attempts, worker, dropped);
        return false;
    }
    zj_job_t *job = &future->job;
    future->attempt_done = true;
    future->resume = false;
    zj_scheduler_remove(self->scheduler, future);
    if (result->started_at > 0)
        job->started_at = result->started_at;
    job->finished_at = result->finished_at > 0 ? result->finished_at : 0;
    s_take_string(&job->worker, worker);
    s_take_string(&job->result, result->result);
    s_take_string(&job->error, result->error);
    job->state = result->state;
    s_record_attempt(self, job);
    //  A lost attempt uses up no retry (zj_lifecycle_lose bounds those).
    if (result->state == ZJ_STATE_FAILED && !result->no_retry &&
        job->attempts - job->losses < job->max_attempts) {
        s_retry(self, future);
        return true;
    }
    s_finish(self, future, result->state);
    return true;
}

//  running -> queued, to run again no sooner than delay_s from now.
static void
s_requeue(zj_lifecycle_t *self, zj_future_t *future, const char *why,
          double delay_s)
{
    assert(self && future);
    zj_job_t *job = &future->job;
    assert(job->state == ZJ_STATE_RUNNING);
    zj_deadlines_drop(self->deadlines, job->id);
    s_unseat(self, future);
    s_take_string(&job->error, why);
    //  The attempts table records this attempt as failed; the job itself
    //  goes back to the queue.
    zj_job_t attempt = *job;
    attempt.state = ZJ_STATE_FAILED;
    attempt.finished_at = zj_now();
    s_record_attempt(self, &attempt);
    job->state = ZJ_STATE_QUEUED;
    double now = zj_now();
    job->not_before = delay_s > 0 ? now + delay_s : 0;
    job->finished_at = 0;
    s_write(self, job);
    zj_scheduler_push(self->scheduler, future, now);
}

void
zj_lifecycle_requeue(zj_lifecycle_t *self, zj_future_t *future, const char *why)
{
    s_requeue(self, future, why, 0);
}

//  A random wait in [0, spread_ms], as seconds.
static double
s_spread(int64_t spread_ms)
{
    return spread_ms > 0 ? (double) spread_ms * rand() / RAND_MAX / 1000.0 : 0;
}

bool
zj_lifecycle_lose(zj_lifecycle_t *self, zj_future_t *future, const char *why)
{
    assert(self && future && why);
    zj_job_t *job = &future->job;
    assert(job->state == ZJ_STATE_RUNNING);
    job->losses++;
    if (job->losses < s_loss_bound(self)) {
        //  Off its worker, whose count of last chances it leaves as it
        //  came, before it changes.
        s_unseat(self, future);
        future->last_chance = s_last_chance(self, job);
        //  The jobs of a lost worker go back at random points over one
        //  lease, doubled with each loss, not together: a poison job
        //  among them then takes few of the others down with it on its
        //  next workers, and it kills workers less often.
        int doublings = job->losses - 1 < 6 ? job->losses - 1 : 6;
        s_requeue(self, future, why,
                  s_spread(self->loss_spread_ms << doublings));
        return false;
    }
    //  A poison job: it takes down whichever worker runs it.
    char *error = zsys_sprintf("its worker was lost %d times while running it",
                               job->losses);
    s_take_string(&job->error, error);
    free(error);
    free(job->result);
    job->result = NULL;
    job->finished_at = zj_now();
    zj_job_t attempt = *job;
    attempt.state = ZJ_STATE_FAILED;
    s_record_attempt(self, &attempt);
    zj_log_warning("job failed id=%" PRId64 " kind=%s attempts=%d losses=%d "
                   "error=\"%s\" last=\"%s\"",
                   job->id, job->kind, job->attempts, job->losses, job->error,
                   why);
    s_finish(self, future, ZJ_STATE_FAILED);
    return true;
}

//  queued | running -> cancelled, with why as its error. Returns the peer
//  that was running it, or NULL.
static zj_peer_t *
s_cancel(zj_lifecycle_t *self, zj_future_t *future, const char *why)
{
    zj_job_t *job = &future->job;
    zj_peer_t *peer = future->peer;
    if (peer)
        s_stop(self, future);
    s_take_string(&job->error, why);
    free(job->result);
    job->result = NULL;
    if (peer) {
        //  The running attempt ends here, cancelled: the worker's own
        //  report of it comes for a final job and is dropped.
        zj_job_t attempt = *job;
        attempt.state = ZJ_STATE_CANCELLED;
        attempt.finished_at = zj_now();
        s_record_attempt(self, &attempt);
    }
    s_finish(self, future, ZJ_STATE_CANCELLED);
    return peer;
}

zj_peer_t *
zj_lifecycle_cancel(zj_lifecycle_t *self, zj_future_t *future)
{
    assert(self && future && !future->resolved);
    return s_cancel(self, future, "cancelled");
}

zj_stop_t *
zj_lifecycle_next_stop(zj_lifecycle_t *self)
{
    assert(self);
    return zlistx_detach(self->stops, NULL);
}

void
zj_stop_destroy(zj_stop_t **stop_p)
{
    assert(stop_p);
    if (*stop_p == NULL)
        return;
    zframe_destroy(&(*stop_p)->identity);
    free(*stop_p);
    *stop_p = NULL;
}

//  The parent id ended in state (not succeeded): its child, if it has not
//  finished, is cancelled, and its worker will be told.
static void
s_cancel_child(zj_lifecycle_t *self, int64_t child, int64_t id,
               zj_state_t state)
{
    zj_future_t *future = zj_futures_find(self->futures, child);
    if (future == NULL)
        return; //  Finished before its parent
    char *why =
        zsys_sprintf("its parent job %" PRId64 " %s", id,
                     state == ZJ_STATE_FAILED ? "failed" : "was cancelled");
    zj_peer_t *peer = s_cancel(self, future, why);
    zj_log_info("job cancelled id=%" PRId64 " reason=\"%s\"", child, why);
    free(why);
    if (peer) {
        zj_stop_t *stop = calloc(1, sizeof *stop);
        assert(stop);
        stop->identity = zframe_dup(zj_peer_identity(peer));
        stop->id = child;
        zlistx_add_end(self->stops, stop);
    }
}

zj_peer_t *
zj_lifecycle_expire(zj_lifecycle_t *self, zj_future_t *future, int64_t now_ms)
{
    assert(self && future);
    zj_job_t *job = &future->job;
    assert(job->state == ZJ_STATE_RUNNING && future->peer);
    int64_t due = zj_deadlines_due(self->deadlines, job->id);
    assert(due > 0 && due <= now_ms);
    //  What the coordinator waited past the timeout: the grace, and for a
    //  CPU job the turns it may have waited on the worker.
    int64_t past =
        due - zj_deadlines_started(self->deadlines, job->id) - job->timeout_ms;
    zj_peer_t *peer = future->peer;
    s_stop(self, future);
    free(job->error);
    job->error = zsys_sprintf("timed out: no result from worker %s %g s "
                              "after its %g s timeout",
                              zj_peer_info(peer)->name, past / 1000.0,
                              job->timeout_ms / 1000.0);
    free(job->result);
    job->result = NULL;
    future->attempt_done = true;
    job->state = ZJ_STATE_FAILED;
    job->finished_at = zj_now();
    s_record_attempt(self, job);
    bool retry = job->attempts < job->max_attempts;
    zj_log_warning("job timed out id=%" PRId64 " attempt=%d worker=%s "
                   "timeout_ms=%" PRId64 " waited_past_ms=%" PRId64 " retry=%s",
                   job->id, job->attempts, zj_peer_info(peer)->name,
                   job->timeout_ms, past, retry ? "yes" : "no");
    if (retry)
        s_retry(self, future);
    else
        s_finish(self, future, ZJ_STATE_FAILED);
    return peer;
}

//  One unfinished job is where its state says, and nowhere else: a
//  running one has a deadline exactly when it has a timeout.
static bool
s_job_holds(const zj_future_t *future, const zj_deadlines_t *deadlines)
{
    const zj_job_t *job = &future->job;
    bool deadline = zj_deadlines_due(deadlines, job->id) != 0;
    switch (job->state) {
    case ZJ_STATE_QUEUED:
        //  Held for its after out of the scheduler, or in it.
        return future->peer == NULL &&
               (future->slot == ZJ_HEAP_NONE) == (future->waiting > 0) &&
               !deadline;
    case ZJ_STATE_RUNNING:
        return future->peer != NULL && future->slot == ZJ_HEAP_NONE &&
               deadline == (job->timeout_ms > 0);
    default:
        return false;
    }
}

//  The throttle counts, per kind, the jobs that run: O(jobs + kinds).
static bool
s_throttle_holds(const zj_lifecycle_t *self)
{
    if (self->throttle == NULL)
        return true;
    if (!zj_throttle_invariants_hold(self->throttle))
        return false;
    zhashx_t *counts = zhashx_new();
    bool holds = true;
    for (zj_future_t *future = zj_futures_first(self->futures); future;
         future = zj_futures_next(self->futures)) {
        if (future->job.state != ZJ_STATE_RUNNING)
            continue;
        size_t count = (size_t) zhashx_lookup(counts, future->job.kind) + 1;
        zhashx_update(counts, future->job.kind, (void *) count);
    }
    for (void *count = zhashx_first(counts); holds && count;
         count = zhashx_next(counts))
        holds = (size_t) count == (size_t) zj_throttle_running(
                                      self->throttle, zhashx_cursor(counts));
    //  A kind counted as running that runs nothing.
    size_t total = 0;
    for (void *count = zhashx_first(counts); count; count = zhashx_next(counts))
        total += (size_t) count;
    zhashx_destroy(&counts);
    return holds && total == (size_t) zj_throttle_total(self->throttle);
}

bool
zj_lifecycle_invariants_hold(const zj_lifecycle_t *self)
{
    if (self == NULL || !zj_futures_invariants_hold(self->futures) ||
        !zj_scheduler_invariants_hold(self->scheduler) ||
        !zj_peers_invariants_hold(self->peers) ||
        !zj_deadlines_invariants_hold(self->deadlines))
        return false;
    size_t queued = 0, running = 0, timed = 0, held = 0;
    for (zj_future_t *future = zj_futures_first(self->futures); future;
         future = zj_futures_next(self->futures)) {
        if (!s_job_holds(future, self->deadlines))
            return false;
        queued += future->job.state == ZJ_STATE_QUEUED;
        held += future->waiting > 0;
        running += future->job.state == ZJ_STATE_RUNNING;
        timed +=
            future->job.state == ZJ_STATE_RUNNING && future->job.timeout_ms > 0;
    }
    if (zj_deadlines_size(self->deadlines) != timed)
        return false;
    size_t on_peers = 0;
    for (zj_peer_t *peer = zj_peers_first(self->peers); peer;
         peer = zj_peers_next(self->peers))
        on_peers += zj_peer_running(peer);
    size_t scheduled = zj_scheduler_ready(self->scheduler) +
                       zj_scheduler_delayed(self->scheduler);
    return queued == scheduled + held && running == on_peers &&
           zj_deps_pending(self->deps) == 0 && s_throttle_holds(self);
}
