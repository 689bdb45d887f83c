//  worker_ep.c - workers: HELLO, RESULTS and their ACK, HEARTBEAT, BYE,
//  loss and dispatch (see worker_ep.h).
#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "coordinator/parents.h"
#include "coordinator/worker_ep.h"
#include "proto/limits.h"

#define ZJ_JOBS_BYTES (4 * 1024 * 1024) //  Cut JOBS batches here
#define ZJ_DISPATCH_CHUNK 64            //  Jobs per worker per round
#define ZJ_SEEN_BEATS 2 //  Beats between writes of workers.last_seen

static void
s_send(zj_worker_ep_t *self, zframe_t *identity, zj_msg_t **msg_p)
{
    zj_outbox_send(self->outbox, ZJ_TO_WORKER, identity, msg_p);
}

static void
s_send_error(zj_worker_ep_t *self, zframe_t *identity, const char *reason)
{
    zj_outbox_error(self->outbox, ZJ_TO_WORKER, identity, 0, ZJ_ETYPE, reason);
}

//  Marks a worker's row; a refusal is a constraint broken, a bug.
static void
s_store_state(zj_worker_ep_t *self, const char *name, const char *state,
              double last_seen)
{
    zj_store_t *store = self->jobs->store;
    if (zj_store_set_worker_state(store, name, state, last_seen) != 0)
        zj_log_error("store refused a row during=\"worker state\" "
                     "error=\"%s\"",
                     zj_store_last_error(store));
}

//  The peer's kinds are offered (delta 1) or no longer (delta -1) by it.
static void
s_offer(zj_worker_ep_t *self, const zj_peer_t *peer, int delta)
{
    for (int klass = 0; klass < 2; klass++) {
        size_t count = 0;
        const char **kinds = zj_peer_kinds(peer, klass, &count);
        for (size_t index = 0; index < count; index++)
            zj_scheduler_offer(self->jobs->scheduler, kinds[index], delta);
    }
}

//  Sends the peer's running jobs back to the queue, marks it in the
//  store and forgets it. A worker "lost" lost its jobs, and each counts
//  a loss (a poison job fails at the bound); one "gone" (BYE: it stopped,
//  and handed back what its grace did not finish) or "revoked" did not.
static void
s_peer_remove(zj_worker_ep_t *self, zj_peer_t *peer, const char *state,
              const char *why)
{
    size_t requeued = zj_peer_running(peer);
    bool lost = streq(state, "lost");
    zj_future_t *future;
    while ((future = zj_peer_first_running(peer)))
        if (lost)
            zj_lifecycle_lose(self->jobs, future, why);
        else
            zj_lifecycle_requeue(self->jobs, future, why);
    const char *name = zj_peer_info(peer)->name;
    zj_log_warning("worker %s name=%s requeued=%zu", state, name, requeued);
    s_store_state(self, name, state, zj_now());
    s_offer(self, peer, -1);
    zj_peers_remove(self->jobs->peers, &peer);
}

static void
s_welcome(zj_worker_ep_t *self, zframe_t *identity)
{
    zj_msg_t *welcome = zj_msg_new(ZJ_MSG_WELCOME);
    welcome->heartbeat_ms = self->heartbeat_ms;
    welcome->max_message = (int32_t) self->limits->max_message;
    welcome->max_result = (int32_t) self->limits->max_result;
    s_send(self, identity, &welcome);
}

static bool
s_same_text(const char *one, const char *other)
{
    return streq(one ? one : "", other ? other : "");
}

//  True if the HELLO info (from a connection admitted with key) comes
//  from the process that holds the name already, on a new connection:
//  same host and pid and, with CURVE, the same key.
static bool
s_same_worker(const zj_peer_t *holder, const zj_worker_info_t *info,
              const char *key)
{
    const zj_worker_info_t *held = zj_peer_info(holder);
    return held->pid == info->pid && s_same_text(held->host, info->host) &&
           s_same_text(zj_peer_curve_key(holder), key);
}

//  Refuses the HELLO info if its name is held by another worker heard
//  within the liveness window: ERROR EINUSE names the holder and says in
//  timeout_ms how long the name stays held if the holder stays silent.
//  Returns true if it refused.
static bool
s_refuse_name(zj_worker_ep_t *self, zframe_t *identity, zj_peer_t *holder,
              const zj_worker_info_t *info, const char *key)
{
    int64_t window = (int64_t) self->heartbeat_ms * self->liveness;
    int64_t silent = zj_mono_ms() - zj_peer_last_seen(holder);
    if (silent > window || s_same_worker(holder, info, key))
        return false;
    const zj_worker_info_t *held = zj_peer_info(holder);
    time_t since = (time_t) held->connected_at;
    struct tm utc;
    char when[32] = "?";
    if (gmtime_r(&since, &utc))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    const char *host = held->host ? held->host : "";
    zj_msg_t *error = zj_msg_new(ZJ_MSG_ERROR);
    error->code = ZJ_EINUSE;
    error->timeout_ms = window - silent + 1;
    error->reason = zsys_sprintf(
        "name '%.200s' is held by a live worker (host %.200s, pid %" PRId64
        ", connected since %s, heard %" PRId64 " ms ago); it is free once "
        "that worker has been silent for %" PRId64 " ms",
        info->name, host, held->pid, when, silent, window);
    zj_log_warning(
        "hello refused name=%s host=%s pid=%" PRId64
        " held_by_host=%s held_by_pid=%" PRId64 " reason=\"name in use\"",
        info->name, info->host ? info->host : "", info->pid, host, held->pid);
    s_send(self, identity, &error);
    return true;
}

//  A HELLO: the connection at identity becomes the worker it names. A
//  name held by another live worker is refused; a holder silent for the
//  liveness window, or the same process on a new connection, gives it up
//  (its running jobs go back to the queue).
static void
s_on_hello(zj_worker_ep_t *self, zframe_t *identity, const char *key,
           zj_msg_t *msg)
{
    zj_peers_t *peers = self->jobs->peers;
    zj_worker_info_t *info = &msg->workers[0];
    zj_peer_t *same_socket = zj_peers_find(peers, identity);
    if (same_socket)
        s_peer_remove(self, same_socket, "lost", "worker said HELLO again");
    zj_peer_t *same_name = zj_peers_find_name(peers, info->name);
    if (same_name && s_refuse_name(self, identity, same_name, info, key))
        return;
    if (same_name)
        s_peer_remove(self, same_name, "lost", "worker replaced by its name");
    free(info->state);
    info->state = strdup("connected");
    info->connected_at = zj_now();
    info->last_seen = info->connected_at;
    if (zj_store_save_worker(self->jobs->store, info) != 0)
        zj_log_error("store refused a row during=\"save worker\" "
                     "error=\"%s\"",
                     zj_store_last_error(self->jobs->store));
    zj_peer_t *peer = zj_peers_add(peers, identity, info, zj_mono_ms());
    s_offer(self, peer, 1);
    zj_peer_set_curve_key(peer, key);
    const zj_worker_info_t *joined = zj_peer_info(peer);
    zj_log_info("worker joined name=%s host=%s pid=%" PRId64
                " io_slots=%d cpu_slots=%d kinds=%zu",
                joined->name, joined->host ? joined->host : "", joined->pid,
                joined->io_slots, joined->cpu_slots, joined->kind_count);
    s_welcome(self, identity);
}

//  Applies a RESULTS batch of the worker peer and acknowledges it. A
//  result counts only for the attempt that worker holds (the state machine
//  drops the others, see zj_lifecycle_result). Each job that came back
//  from the worker it ran on frees its slot there, once (see peers.h).
//  The ACK waits in the outbox with the turn's other replies, so the
//  worker forgets the batch only once what it carried is committed.
static void
s_on_results(zj_worker_ep_t *self, zframe_t *identity, zj_peer_t *peer,
             zj_msg_t *msg)
{
    const char *worker = zj_peer_info(peer)->name;
    for (size_t index = 0; index < msg->job_count; index++) {
        zj_job_t *result = &msg->jobs[index];
        if (zj_limits_cap_result(self->limits, result))
            zj_log_warning("result refused id=%" PRId64 " worker=%s "
                           "reason=\"%s\"",
                           result->id, worker, result->error);
        zj_lifecycle_result(self->jobs, result, worker);
        zj_peer_settle(peer, result->id);
    }
    if (msg->req > 0 && msg->req <= INT64_MAX) {
        zj_msg_t *ack = zj_msg_new(ZJ_MSG_ACK);
        zj_msg_add_id(ack, (int64_t) msg->req);
        s_send(self, identity, &ack);
    }
}

static void
s_on_heartbeat(zj_peer_t *peer, const zj_msg_t *msg)
{
    zj_peer_set_health(peer, msg->unacked, msg->blocked_ms);
    if (msg->draining && zj_peer_mark_draining(peer))
        zj_log_info("worker draining name=%s running=%zu",
                    zj_peer_info(peer)->name, zj_peer_running(peer));
}

void
zj_worker_ep_handle(zj_worker_ep_t *self, zframe_t *identity, const char *key,
                    zj_msg_t *msg)
{
    assert(self && identity && msg);
    zj_peer_t *peer = zj_peers_find(self->jobs->peers, identity);
    switch (msg->type) {
    case ZJ_MSG_HELLO:
        s_on_hello(self, identity, key, msg);
        return;
    case ZJ_MSG_RESULTS:
    case ZJ_MSG_HEARTBEAT:
    case ZJ_MSG_BYE:
    case ZJ_MSG_SPAWN:
    case ZJ_MSG_AWAIT:
    case ZJ_MSG_PROGRESS:
    case ZJ_MSG_LOG:
        break;
    case ZJ_MSG_ERROR:
        zj_log_warning("worker error name=%s code=%s reason=\"%s\"",
                       peer ? zj_peer_info(peer)->name : "unknown",
                       zj_errname(msg->code), msg->reason);
        return;
    default:
        zj_log_warning("message refused type=%s from=worker",
                       zj_msg_type_name(msg->type));
        s_send_error(self, identity, "message type not accepted from workers");
        return;
    }
    //  Only a connection that said HELLO speaks for a worker: the rest
    //  (RESULTS too, whatever job they name) change nothing. A worker we
    //  lost or forgot says HELLO again and then sends its results again.
    if (peer == NULL) {
        zj_log_warning("message refused type=%s from=worker reason=\"no "
                       "HELLO on this connection\"",
                       zj_msg_type_name(msg->type));
        s_send_error(self, identity, "unknown worker: say HELLO first");
        return;
    }
    zj_peer_seen(peer, zj_mono_ms());
    if (msg->type == ZJ_MSG_RESULTS)
        s_on_results(self, identity, peer, msg);
    else if (msg->type == ZJ_MSG_SPAWN)
        zj_parents_spawn(self->jobs, self->outbox, identity, peer, msg);
    else if (msg->type == ZJ_MSG_AWAIT)
        zj_parents_await(self->jobs, self->outbox, identity, peer, msg);
    else if (msg->type == ZJ_MSG_PROGRESS)
        for (size_t index = 0; index < msg->job_count; index++)
            zj_lifecycle_progress(self->jobs, &msg->jobs[index], peer,
                                  zj_mono_ms());
    else if (msg->type == ZJ_MSG_LOG)
        for (size_t index = 0; index < msg->job_count; index++)
            zj_lifecycle_log(self->jobs, &msg->jobs[index], peer);
    else if (msg->type == ZJ_MSG_HEARTBEAT)
        s_on_heartbeat(peer, msg);
    else
        s_peer_remove(self, peer, "gone", "worker left");
}

void
zj_worker_ep_tell_stops(zj_worker_ep_t *self)
{
    assert(self);
    zj_stop_t *stop;
    while ((stop = zj_lifecycle_next_stop(self->jobs))) {
        zj_msg_t *cancel = zj_msg_new(ZJ_MSG_CANCEL);
        zj_msg_add_id(cancel, stop->id);
        s_send(self, stop->identity, &cancel);
        zj_stop_destroy(&stop);
    }
}

//  One worker's JOBS message while dispatch fills it.
typedef struct {
    zj_peer_t *peer; //  Whom it goes to
    zj_msg_t *msg;   //  Its JOBS, or NULL until the first job
    size_t bytes;    //  About what msg holds, to cut it in time
} zj_batch_t;

static void
s_add_entry(zj_worker_ep_t *self, zj_batch_t *batch, const zj_job_t *job)
{
    if (batch->msg == NULL)
        batch->msg = zj_msg_new(ZJ_MSG_JOBS);
    zj_job_t *entry = zj_msg_add_job(batch->msg);
    entry->id = job->id;
    entry->attempts = job->attempts;
    entry->kind = strdup(job->kind);
    entry->args = job->args ? strdup(job->args) : NULL; //  NULL: none
    entry->timeout_ms = job->timeout_ms;
    batch->bytes += (job->args ? strlen(job->args) : 0) + 64;
    if (batch->msg->job_count == ZJ_MAX_BATCH || batch->bytes > ZJ_JOBS_BYTES) {
        s_send(self, zj_peer_identity(batch->peer), &batch->msg);
        batch->bytes = 0;
    }
}

//  Queues again the jobs s_fill set aside.
static void
s_put_back(zj_worker_ep_t *self, zlistx_t **aside_p)
{
    if (*aside_p == NULL)
        return;
    double now = zj_now();
    for (zj_future_t *future = zlistx_first(*aside_p); future;
         future = zlistx_next(*aside_p))
        zj_scheduler_push(self->jobs->scheduler, future, now);
    zlistx_destroy(aside_p);
}

//  The kinds of kinds[0..*count_p) with ready jobs that no limit holds
//  back now (zjob limit), into allowed, their count into *count_p; kinds
//  itself while no kind has a limit. O(kinds): a held kind costs dispatch
//  one look per job taken, never a look at its queued jobs.
static const char **
s_unheld(zj_worker_ep_t *self, const char **kinds, size_t *count_p,
         const char **allowed)
{
    zj_throttle_t *throttle = self->jobs->throttle;
    if (throttle == NULL || !zj_throttle_is_limiting(throttle))
        return kinds;
    assert(*count_p <= ZJ_MAX_KINDS);
    int64_t now_ms = zj_mono_ms();
    size_t kept = 0;
    for (size_t index = 0; index < *count_p; index++)
        if (zj_scheduler_ready_of(self->jobs->scheduler, kinds[index]) > 0 &&
            zj_throttle_gate(throttle, kinds[index], now_ms) == ZJ_HOLD_NONE)
            allowed[kept++] = kinds[index];
    *count_p = kept;
    return allowed;
}

//  A worker takes a job at its last chance only while it runs no other:
//  the job goes beside whatever else it runs. Returns how many it took
//  (0 or 1).
static size_t
s_fill_last_chance(zj_worker_ep_t *self, zj_batch_t *batch, zj_class_t klass,
                   const char **kinds, size_t count)
{
    zj_peer_t *peer = batch->peer;
    zj_scheduler_t *scheduler = self->jobs->scheduler;
    const char *allowed[ZJ_MAX_KINDS];
    if (!zj_peer_runs_last_chance(peer))
        kinds = s_unheld(self, kinds, &count, allowed);
    if (zj_peer_runs_last_chance(peer) ||
        !zj_scheduler_has_last_chance(scheduler, kinds, count))
        return 0;
    zj_future_t *future =
        zj_scheduler_next_last_chance(scheduler, kinds, count);
    if (zj_peer_holds_stopped(peer, future->job.id)) {
        zj_scheduler_push(scheduler, future, zj_now());
        return 0;
    }
    zj_lifecycle_dispatch(self->jobs, future, peer, klass);
    s_add_entry(self, batch, &future->job);
    return 1;
}

//  Adds up to limit jobs of klass to the batch. Returns how many. A job
//  the peer still holds from an attempt that was stopped (it timed out
//  there) is set aside for another worker.
static size_t
s_fill(zj_worker_ep_t *self, zj_batch_t *batch, zj_class_t klass, size_t limit)
{
    zj_peer_t *peer = batch->peer;
    size_t offered = 0;
    const char **kinds = zj_peer_kinds(peer, klass, &offered);
    size_t taken = 0;
    if (!zj_peer_draining(peer) && zj_peer_credit(peer, klass) > 0)
        taken = s_fill_last_chance(self, batch, klass, kinds, offered);
    zlistx_t *aside = NULL;
    const char *allowed[ZJ_MAX_KINDS];
    while (!zj_peer_draining(peer) && taken < limit &&
           zj_peer_credit(peer, klass) > 0) {
        size_t count = offered;
        const char **unheld = s_unheld(self, kinds, &count, allowed);
        zj_future_t *future =
            zj_scheduler_next(self->jobs->scheduler, unheld, count);
        if (future == NULL)
            break;
        if (zj_peer_holds_stopped(peer, future->job.id)) {
            if (aside == NULL)
                aside = zlistx_new();
            zlistx_add_end(aside, future);
            continue;
        }
        zj_lifecycle_dispatch(self->jobs, future, peer, klass);
        taken++;
        s_add_entry(self, batch, &future->job);
    }
    s_put_back(self, &aside);
    return taken;
}

void
zj_worker_ep_dispatch(zj_worker_ep_t *self)
{
    assert(self);
    zj_peers_t *peers = self->jobs->peers;
    zj_scheduler_t *scheduler = self->jobs->scheduler;
    size_t peer_count = zj_peers_size(peers);
    //  Jobs of kinds no connected worker offers wait and cost nothing here.
    if (zj_scheduler_runnable(scheduler) == 0 || peer_count == 0)
        return;
    zj_batch_t *batches = calloc(peer_count, sizeof *batches);
    assert(batches);
    //  A worker silent for longer than a beat and a half may be dead or
    //  frozen: jobs sent to it now would only wait for its loss (and count
    //  one more loss each). Live ones beat every period.
    int64_t now_ms = zj_mono_ms();
    int64_t quiet_ms = (int64_t) self->heartbeat_ms * 3 / 2;
    size_t index = 0;
    for (zj_peer_t *peer = zj_peers_first(peers); peer;
         peer = zj_peers_next(peers))
        if (now_ms - zj_peer_last_seen(peer) <= quiet_ms)
            batches[index++].peer = peer;
    peer_count = index;
    //  Rounds of small chunks spread a burst over every worker.
    bool progress = true;
    while (progress && zj_scheduler_runnable(scheduler) > 0) {
        progress = false;
        for (index = 0; index < peer_count; index++)
            for (int klass = 0; klass < 2; klass++)
                if (s_fill(self, &batches[index], klass, ZJ_DISPATCH_CHUNK) > 0)
                    progress = true;
    }
    for (index = 0; index < peer_count; index++)
        if (batches[index].msg)
            s_send(self, zj_peer_identity(batches[index].peer),
                   &batches[index].msg);
    free(batches);
}

//  Forgets every worker silent for longer than liveness beats.
static void
s_lose_silent(zj_worker_ep_t *self, int64_t now_ms)
{
    zj_peers_t *peers = self->jobs->peers;
    int64_t silence = (int64_t) self->heartbeat_ms * self->liveness;
    zlistx_t *lost = zlistx_new();
    for (zj_peer_t *peer = zj_peers_first(peers); peer;
         peer = zj_peers_next(peers))
        if (now_ms - zj_peer_last_seen(peer) > silence)
            zlistx_add_end(lost, peer);
    for (zj_peer_t *peer = zlistx_first(lost); peer; peer = zlistx_next(lost))
        s_peer_remove(self, peer, "lost", "worker lost: missed heartbeats");
    zlistx_destroy(&lost);
}

//  Every few beats, writes workers.last_seen of the workers heard since
//  the last write: one UPDATE each, in the turn's transaction.
static void
s_write_seen(zj_worker_ep_t *self, int64_t now_ms)
{
    zj_store_t *store = self->jobs->store;
    if (now_ms - self->seen_written_ms < ZJ_SEEN_BEATS * self->heartbeat_ms ||
        !zj_store_is_writable(store))
        return;
    //  Mono times of peers become unix times by one pair of clock reads.
    double unix_now = zj_now();
    int64_t mono_now = zj_mono_ms();
    zj_peers_t *peers = self->jobs->peers;
    for (zj_peer_t *peer = zj_peers_first(peers); peer;
         peer = zj_peers_next(peers)) {
        int64_t seen_ms = zj_peer_last_seen(peer);
        if (seen_ms > self->seen_written_ms)
            s_store_state(self, zj_peer_info(peer)->name, "connected",
                          unix_now - (double) (mono_now - seen_ms) / 1000.0);
    }
    self->seen_written_ms = now_ms;
}

static void
s_batch_free(void **item_p)
{
    zj_batch_t *batch = *item_p;
    if (batch) {
        zj_msg_destroy(&batch->msg);
        free(batch);
        *item_p = NULL;
    }
}

//  Adds id to the CANCEL for peer, one message per peer (keyed by name)
//  and at most ZJ_MAX_BATCH ids each.
static void
s_add_cancel(zj_worker_ep_t *self, zhashx_t *cancels, zj_peer_t *peer,
             int64_t id)
{
    const char *name = zj_peer_info(peer)->name;
    zj_batch_t *batch = zhashx_lookup(cancels, name);
    if (batch == NULL) {
        batch = calloc(1, sizeof *batch);
        assert(batch);
        batch->peer = peer;
        zhashx_insert(cancels, name, batch);
    }
    if (batch->msg == NULL)
        batch->msg = zj_msg_new(ZJ_MSG_CANCEL);
    zj_msg_add_id(batch->msg, id);
    if (batch->msg->id_count == ZJ_MAX_BATCH)
        s_send(self, zj_peer_identity(peer), &batch->msg);
}

void
zj_worker_ep_expire(zj_worker_ep_t *self, int64_t now_ms)
{
    assert(self);
    zj_lifecycle_t *jobs = self->jobs;
    if (zj_deadlines_expired(jobs->deadlines, now_ms) == 0)
        return;
    zhashx_t *cancels = zhashx_new();
    assert(cancels);
    zhashx_set_destructor(cancels, s_batch_free);
    int64_t id;
    while ((id = zj_deadlines_expired(jobs->deadlines, now_ms))) {
        zj_future_t *future = zj_futures_find(jobs->futures, id);
        assert(future);
        zj_peer_t *peer = zj_lifecycle_expire(jobs, future, now_ms);
        s_add_cancel(self, cancels, peer, id);
    }
    for (zj_batch_t *batch = zhashx_first(cancels); batch;
         batch = zhashx_next(cancels))
        if (batch->msg)
            s_send(self, zj_peer_identity(batch->peer), &batch->msg);
    zhashx_destroy(&cancels);
}

int64_t
zj_worker_ep_tick(zj_worker_ep_t *self, int64_t now_ms)
{
    assert(self);
    s_lose_silent(self, now_ms);
    zj_worker_ep_expire(self, now_ms);
    zj_lifecycle_store_progress(self->jobs, now_ms);
    if (now_ms >= self->next_heartbeat_ms) {
        s_write_seen(self, now_ms);
        zj_peers_t *peers = self->jobs->peers;
        for (zj_peer_t *peer = zj_peers_first(peers); peer;
             peer = zj_peers_next(peers)) {
            zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
            s_send(self, zj_peer_identity(peer), &beat);
        }
        self->next_heartbeat_ms = now_ms + self->heartbeat_ms;
    }
    return self->next_heartbeat_ms;
}

void
zj_worker_ep_revoke(zj_worker_ep_t *self, zframe_t *identity)
{
    assert(self && identity);
    zj_peer_t *peer = zj_peers_find(self->jobs->peers, identity);
    if (peer)
        s_peer_remove(self, peer, "revoked", "worker's key was revoked");
}

void
zj_worker_ep_close(zj_worker_ep_t *self)
{
    assert(self);
    zj_peers_t *peers = self->jobs->peers;
    zj_peer_t *peer;
    while ((peer = zj_peers_first(peers))) {
        zj_msg_t *bye = zj_msg_new(ZJ_MSG_BYE);
        s_send(self, zj_peer_identity(peer), &bye);
        //  Its running jobs stay "running" in the store: the next start
        //  recovers them. Only the memory goes.
        zj_future_t *future;
        while ((future = zj_peer_first_running(peer))) {
            if (self->jobs->throttle)
                zj_throttle_ended(self->jobs->throttle, future->job.kind);
            zj_peer_detach(future);
        }
        s_offer(self, peer, -1);
        zj_peers_remove(peers, &peer);
    }
}
