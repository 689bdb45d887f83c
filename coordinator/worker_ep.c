//  worker_ep.c - workers: HELLO, RESULTS and their ACK, HEARTBEAT, BYE,
//  credit, loss and dispatch (see worker_ep.h).
#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "coordinator/lifecycle.h"
#include "coordinator/worker_ep.h"
#include "proto/limits.h"

#define ZJ_JOBS_BYTES (4 * 1024 * 1024) //  Cut JOBS batches here
#define ZJ_DISPATCH_CHUNK 64            //  Jobs per worker per round

static void
s_peer_destroy(zj_peer_t **peer_p)
{
    zj_peer_t *peer = *peer_p;
    if (peer == NULL)
        return;
    assert(peer->tag == ZJ_PEER_TAG);
    assert(zj_idmap_size(peer->running) == 0);
    zj_idmap_destroy(&peer->running);
    zframe_destroy(&peer->identity);
    zj_worker_info_clear(&peer->info);
    free(peer->kinds[0]);
    free(peer->kinds[1]);
    free(peer->key);
    peer->tag = 0;
    free(peer);
    *peer_p = NULL;
}

static zj_peer_t *
s_peer_new(zframe_t *identity, zj_worker_info_t *info)
{
    zj_peer_t *peer = calloc(1, sizeof *peer);
    assert(peer);
    peer->tag = ZJ_PEER_TAG;
    peer->identity = zframe_dup(identity);
    peer->key = zframe_strhex(identity);
    peer->info = *info;
    memset(info, 0, sizeof *info);
    peer->running = zj_idmap_new();
    for (int klass = 0; klass < 2; klass++)
        peer->kinds[klass] =
            calloc(peer->info.kind_count + 1, sizeof(char *));
    for (size_t index = 0; index < peer->info.kind_count; index++) {
        const zj_kind_t *kind = &peer->info.kinds[index];
        int klass = kind->klass == ZJ_CLASS_CPU;
        peer->kinds[klass][peer->kind_count[klass]++] = kind->name;
    }
    peer->credit[ZJ_CLASS_IO] = peer->info.io_slots;
    peer->credit[ZJ_CLASS_CPU] = peer->info.cpu_slots;
    peer->last_seen_ms = zj_mono_ms();
    return peer;
}

//  Takes the peer out of the tables, sends its running jobs back to the
//  queue and marks it in the store; frees it.
static void
s_peer_remove(zj_coordinator_t *self, zj_peer_t *peer, const char *state,
              const char *why)
{
    size_t requeued = zj_idmap_size(peer->running);
    zj_future_t *future;
    while ((future = zj_idmap_first(peer->running)))
        zj_lifecycle_requeue(self, future, why);
    zj_log_warning("worker %s name=%s requeued=%zu", state, peer->info.name,
                   requeued);
    if (zj_store_set_worker_state(self->store, peer->info.name, state,
                                  zj_now()) != 0)
        zj_coordinator_store_failed(self, "worker state");
    if (zhashx_lookup(self->peers_by_name, peer->info.name) == peer)
        zhashx_delete(self->peers_by_name, peer->info.name);
    char *key = peer->key;
    zhashx_delete(self->peers, key);
    s_peer_destroy(&peer);
}

static void
s_learn_kinds(zj_coordinator_t *self, const zj_worker_info_t *info)
{
    for (size_t index = 0; index < info->kind_count; index++) {
        const zj_kind_t *kind = &info->kinds[index];
        uintptr_t klass = (uintptr_t) kind->klass + 1;
        zhashx_update(self->kinds, kind->name, (void *) klass);
    }
}

static void
s_on_hello(zj_coordinator_t *self, zframe_t *identity, zj_msg_t *msg)
{
    zj_worker_info_t *info = &msg->workers[0];
    char *key = zframe_strhex(identity);
    zj_peer_t *same_socket = zhashx_lookup(self->peers, key);
    free(key);
    if (same_socket)
        s_peer_remove(self, same_socket, "lost", "worker said HELLO again");
    zj_peer_t *same_name = zhashx_lookup(self->peers_by_name, info->name);
    if (same_name)
        s_peer_remove(self, same_name, "lost", "worker replaced by its name");
    s_learn_kinds(self, info);
    free(info->state);
    info->state = strdup("connected");
    info->connected_at = zj_now();
    info->last_seen = info->connected_at;
    if (zj_store_save_worker(self->store, info) != 0)
        zj_coordinator_store_failed(self, "save worker");
    zj_peer_t *peer = s_peer_new(identity, info);
    peer->hello_req = msg->req;
    zhashx_insert(self->peers, peer->key, peer);
    zhashx_insert(self->peers_by_name, peer->info.name, peer);
    zj_log_info("worker joined name=%s host=%s pid=%" PRId64
                " io_slots=%d cpu_slots=%d kinds=%zu",
                peer->info.name, peer->info.host ? peer->info.host : "",
                peer->info.pid, peer->info.io_slots, peer->info.cpu_slots,
                peer->info.kind_count);
    zj_msg_t *welcome = zj_msg_new(ZJ_MSG_WELCOME);
    welcome->heartbeat_ms = self->config.heartbeat_ms;
    welcome->max_message = (int32_t) self->config.limits.max_message;
    welcome->max_result = (int32_t) self->config.limits.max_result;
    zj_coordinator_send(self, self->workers, identity, &welcome);
}

static void
s_return_credit(zj_peer_t *peer, const zj_msg_t *msg)
{
    peer->credit[ZJ_CLASS_IO] += msg->io_credit;
    peer->credit[ZJ_CLASS_CPU] += msg->cpu_credit;
    if (peer->credit[ZJ_CLASS_IO] > peer->info.io_slots)
        peer->credit[ZJ_CLASS_IO] = peer->info.io_slots;
    if (peer->credit[ZJ_CLASS_CPU] > peer->info.cpu_slots)
        peer->credit[ZJ_CLASS_CPU] = peer->info.cpu_slots;
}

//  Applies a RESULTS batch and acknowledges it. The ACK waits in the
//  outbox with the turn's other replies, so the worker forgets the batch
//  only once what it carried is committed.
static void
s_on_results(zj_coordinator_t *self, zframe_t *identity, zj_peer_t *peer,
             zj_msg_t *msg)
{
    const char *worker = peer ? peer->info.name : "unknown";
    for (size_t index = 0; index < msg->job_count; index++) {
        zj_job_t *result = &msg->jobs[index];
        if (zj_limits_cap_result(&self->config.limits, result))
            zj_log_warning("result refused id=%" PRId64 " worker=%s "
                           "reason=\"%s\"",
                           result->id, worker, result->error);
        zj_lifecycle_result(self, result, worker);
    }
    //  A batch numbered before the HELLO (sent again after it) freed
    //  slots the HELLO's fresh credit already counts.
    if (peer && (msg->req == 0 || msg->req > peer->hello_req))
        s_return_credit(peer, msg);
    if (msg->req > 0 && msg->req <= INT64_MAX) {
        zj_msg_t *ack = zj_msg_new(ZJ_MSG_ACK);
        zj_msg_add_id(ack, (int64_t) msg->req);
        zj_coordinator_send(self, self->workers, identity, &ack);
    }
}

void
zj_worker_ep_handle(zj_coordinator_t *self, zframe_t *identity,
                    zj_msg_t *msg)
{
    if (msg->type == ZJ_MSG_HELLO) {
        s_on_hello(self, identity, msg);
        return;
    }
    char *key = zframe_strhex(identity);
    zj_peer_t *peer = zhashx_lookup(self->peers, key);
    free(key);
    if (peer)
        peer->last_seen_ms = zj_mono_ms();
    switch (msg->type) {
    case ZJ_MSG_RESULTS:
        //  Results of a worker we do not know (we restarted, or lost it)
        //  still count: the exactly-once rule decides.
        s_on_results(self, identity, peer, msg);
        break;
    case ZJ_MSG_HEARTBEAT:
        if (peer && msg->draining && !peer->draining) {
            peer->draining = true;
            zj_log_info("worker draining name=%s running=%zu",
                        peer->info.name, zj_idmap_size(peer->running));
        }
        break;
    case ZJ_MSG_BYE:
        if (peer)
            s_peer_remove(self, peer, "gone", "worker left");
        return;
    case ZJ_MSG_ERROR:
        zj_log_warning("worker error name=%s code=%s reason=\"%s\"",
                       peer ? peer->info.name : "unknown",
                       zj_errname(msg->code), msg->reason);
        return;
    default:
        zj_log_warning("message refused type=%s from=worker",
                       zj_msg_type_name(msg->type));
        zj_coordinator_send_error(self, self->workers, identity, 0, ZJ_ETYPE,
                                  "message type not accepted from workers");
        return;
    }
    if (peer == NULL)
        zj_coordinator_send_error(self, self->workers, identity, 0, ZJ_ETYPE,
                                  "unknown worker: say HELLO first");
}

//  Adds up to limit jobs of klass to peer's JOBS message. Returns how many.
static size_t
s_fill(zj_coordinator_t *self, zj_peer_t *peer, int klass, size_t limit,
       zj_msg_t **msg_p, size_t *bytes)
{
    size_t taken = 0;
    while (!peer->draining && taken < limit && peer->credit[klass] > 0) {
        zj_future_t *future = zj_scheduler_next(
            self->scheduler, peer->kinds[klass], peer->kind_count[klass]);
        if (future == NULL)
            break;
        zj_lifecycle_dispatch(self, future, peer);
        future->klass = klass;
        peer->credit[klass]--;
        taken++;
        if (*msg_p == NULL)
            *msg_p = zj_msg_new(ZJ_MSG_JOBS);
        zj_job_t *entry = zj_msg_add_job(*msg_p);
        entry->id = future->job.id;
        entry->attempts = future->job.attempts;
        entry->kind = strdup(future->job.kind);
        entry->args = strdup(future->job.args);
        entry->timeout_ms = future->job.timeout_ms;
        *bytes += strlen(entry->args) + 64;
        if ((*msg_p)->job_count == ZJ_MAX_BATCH || *bytes > ZJ_JOBS_BYTES) {
            zj_coordinator_send(self, self->workers, peer->identity, msg_p);
            *bytes = 0;
        }
    }
    return taken;
}

void
zj_worker_ep_dispatch(zj_coordinator_t *self)
{
    size_t peer_count = zhashx_size(self->peers);
    if (zj_scheduler_ready(self->scheduler) == 0 || peer_count == 0)
        return;
    zj_peer_t **peers = calloc(peer_count, sizeof *peers);
    zj_msg_t **batches = calloc(peer_count, sizeof *batches);
    size_t *bytes = calloc(peer_count, sizeof *bytes);
    assert(peers && batches && bytes);
    size_t index = 0;
    for (zj_peer_t *peer = zhashx_first(self->peers); peer;
         peer = zhashx_next(self->peers))
        peers[index++] = peer;
    //  Rounds of small chunks spread a burst over every worker.
    bool progress = true;
    while (progress && zj_scheduler_ready(self->scheduler) > 0) {
        progress = false;
        for (index = 0; index < peer_count; index++)
            for (int klass = 0; klass < 2; klass++)
                if (s_fill(self, peers[index], klass, ZJ_DISPATCH_CHUNK,
                           &batches[index], &bytes[index]) > 0)
                    progress = true;
    }
    for (index = 0; index < peer_count; index++)
        if (batches[index])
            zj_coordinator_send(self, self->workers, peers[index]->identity,
                                &batches[index]);
    free(peers);
    free(batches);
    free(bytes);
}

int64_t
zj_worker_ep_tick(zj_coordinator_t *self, int64_t now_ms)
{
    int64_t silence = (int64_t) self->config.heartbeat_ms *
                      self->config.liveness;
    zlistx_t *lost = zlistx_new();
    for (zj_peer_t *peer = zhashx_first(self->peers); peer;
         peer = zhashx_next(self->peers))
        if (now_ms - peer->last_seen_ms > silence)
            zlistx_add_end(lost, peer);
    for (zj_peer_t *peer = zlistx_first(lost); peer;
         peer = zlistx_next(lost))
        s_peer_remove(self, peer, "lost", "worker lost: missed heartbeats");
    zlistx_destroy(&lost);
    if (now_ms >= self->next_heartbeat_ms) {
        for (zj_peer_t *peer = zhashx_first(self->peers); peer;
             peer = zhashx_next(self->peers)) {
            zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
            zj_coordinator_send(self, self->workers, peer->identity, &beat);
        }
        self->next_heartbeat_ms = now_ms + self->config.heartbeat_ms;
    }
    return self->next_heartbeat_ms;
}

void
zj_worker_ep_revoke(zj_coordinator_t *self, zframe_t *identity)
{
    char *key = zframe_strhex(identity);
    zj_peer_t *peer = zhashx_lookup(self->peers, key);
    free(key);
    if (peer)
        s_peer_remove(self, peer, "revoked", "worker's key was revoked");
}

void
zj_worker_ep_stop_job(zj_coordinator_t *self, zj_future_t *future)
{
    zj_peer_t *peer = future->peer;
    if (peer == NULL)
        return;
    zj_msg_t *cancel = zj_msg_new(ZJ_MSG_CANCEL);
    zj_msg_add_id(cancel, future->job.id);
    zj_coordinator_send(self, self->workers, peer->identity, &cancel);
}

void
zj_worker_ep_close(zj_coordinator_t *self)
{
    zj_peer_t *peer;
    while ((peer = zhashx_first(self->peers))) {
        zj_msg_t *bye = zj_msg_new(ZJ_MSG_BYE);
        zj_coordinator_send(self, self->workers, peer->identity, &bye);
        //  Its running jobs stay "running" in the store: the next start
        //  recovers them. Only the memory goes.
        zj_future_t *future;
        while ((future = zj_idmap_first(peer->running))) {
            zj_idmap_delete(peer->running, future->job.id);
            future->peer = NULL;
        }
        zhashx_delete(self->peers_by_name, peer->info.name);
        zhashx_delete(self->peers, peer->key);
        s_peer_destroy(&peer);
    }
}
