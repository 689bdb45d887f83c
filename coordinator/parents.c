//  parents.c - SPAWN and AWAIT from running jobs (see parents.h).
#include "common/err.h"
#include "common/log.h"
#include "coordinator/parents.h"
#include "proto/limits.h"

static void
s_error(zj_outbox_t *outbox, zframe_t *identity, uint64_t req, int code,
        const char *reason)
{
    zj_outbox_error(outbox, ZJ_TO_WORKER, identity, req, code, reason);
}

//  The running job parent on peer, or NULL after an ERROR to identity:
//  a request for a job that no longer runs there (it was cancelled, or
//  given to another worker) changes nothing.
static zj_future_t *
s_parent(zj_lifecycle_t *jobs, zj_outbox_t *outbox, zframe_t *identity,
         zj_peer_t *peer, uint64_t req, int64_t parent)
{
    zj_future_t *future = zj_futures_find(jobs->futures, parent);
    if (future && future->peer == peer)
        return future;
    char reason[ZJ_MAX_TEXT];
    snprintf(reason, sizeof reason,
             "job %" PRId64 " does not run on this worker now; nothing done",
             parent);
    zj_log_info("parent refused id=%" PRId64 " worker=%s", parent,
                zj_peer_info(peer)->name);
    s_error(outbox, identity, req, ZJ_ESTATE, reason);
    return NULL;
}

//  True (after an ERROR) if a child runs after a job that does not exist.
static bool
s_refuse_after(zj_lifecycle_t *jobs, zj_outbox_t *outbox, zframe_t *identity,
               const zj_msg_t *msg)
{
    for (size_t index = 0; index < msg->job_count; index++) {
        int64_t unknown = 0;
        if (zj_lifecycle_check_after(jobs, &msg->jobs[index], &unknown) == 0)
            continue;
        char reason[ZJ_MAX_TEXT];
        snprintf(reason, sizeof reason,
                 "child %zu runs after job %" PRId64
                 ", which does not exist; no child was made",
                 index + 1, unknown);
        s_error(outbox, identity, msg->req, ZJ_ENOTFOUND, reason);
        return true;
    }
    return false;
}

//  A refused SPAWN makes no child: those made in this turn go (children
//  found from an earlier attempt stay).
static void
s_take_back(zj_lifecycle_t *jobs, zj_msg_t **reply_p, zj_store_mark_t mark)
{
    zj_msg_t *reply = *reply_p;
    for (size_t index = 0; index < reply->id_count; index++)
        if (reply->ids[index] >= mark.next_id)
            zj_lifecycle_unsubmit(jobs, reply->ids[index]);
    zj_store_undo(jobs->store, mark);
    zj_msg_destroy(reply_p);
}

void
zj_parents_spawn(zj_lifecycle_t *jobs, zj_outbox_t *outbox, zframe_t *identity,
                 zj_peer_t *peer, const zj_msg_t *msg)
{
    assert(jobs && outbox && identity && peer && msg);
    assert(msg->type == ZJ_MSG_SPAWN && msg->job_count > 0);
    int64_t parent = msg->jobs[0].parent;
    if (!s_parent(jobs, outbox, identity, peer, msg->req, parent))
        return;
    if (!zj_store_is_writable(jobs->store)) {
        s_error(outbox, identity, msg->req, ZJ_ESTORE,
                "the coordinator cannot write its store: no child was made");
        return;
    }
    if (s_refuse_after(jobs, outbox, identity, msg))
        return;
    zj_store_mark_t mark = zj_store_mark(jobs->store);
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_SPAWNED);
    reply->req = msg->req;
    for (size_t index = 0; index < msg->job_count; index++) {
        int64_t id = 0;
        if (zj_lifecycle_spawn(jobs, &msg->jobs[index], &id) != 0) {
            s_take_back(jobs, &reply, mark);
            s_error(outbox, identity, msg->req, ZJ_ESTORE,
                    zj_store_last_error(jobs->store));
            return;
        }
        zj_msg_add_id(reply, id);
    }
    zj_log_debug("spawned parent=%" PRId64 " children=%zu", parent,
                 msg->job_count);
    zj_outbox_send(outbox, ZJ_TO_WORKER, identity, &reply);
}

//  True if id is parent or one of its ancestors: awaiting it from parent
//  would wait for ever. Ancestors of a running job all run, so each has a
//  future.
static bool
s_is_ancestor(zj_lifecycle_t *jobs, const zj_future_t *parent, int64_t id)
{
    for (size_t depth = 0; parent && depth < 10000; depth++) {
        if (parent->job.id == id)
            return true;
        parent = parent->job.parent
                     ? zj_futures_find(jobs->futures, parent->job.parent)
                     : NULL;
    }
    return false;
}

//  Checks each id of an AWAIT: a job, not the parent's own line. Returns
//  0, or an error already sent.
static int
s_check_ids(zj_lifecycle_t *jobs, zj_outbox_t *outbox, zframe_t *identity,
            const zj_msg_t *msg, const zj_future_t *parent)
{
    for (size_t index = 0; index < msg->id_count; index++) {
        int64_t id = msg->ids[index];
        char reason[ZJ_MAX_TEXT];
        if (s_is_ancestor(jobs, parent, id)) {
            snprintf(reason, sizeof reason,
                     "job %" PRId64 " awaits job %" PRId64
                     ", itself or a job that awaits it: it would wait for "
                     "ever",
                     parent->job.id, id);
            s_error(outbox, identity, msg->req, ZJ_EUSAGE, reason);
            return ZJ_EUSAGE;
        }
        zj_state_t state;
        if (zj_futures_find(jobs->futures, id) ||
            zj_futures_final(jobs->futures, id))
            continue;
        int rc = zj_store_job_state(jobs->store, id, &state);
        if (rc == 0)
            continue;
        snprintf(reason, sizeof reason, "no such job %" PRId64, id);
        s_error(outbox, identity, msg->req,
                rc == ZJ_ENOTFOUND ? ZJ_ENOTFOUND : ZJ_ESTORE, reason);
        return rc;
    }
    return 0;
}

void
zj_parents_await(zj_lifecycle_t *jobs, zj_outbox_t *outbox, zframe_t *identity,
                 zj_peer_t *peer, const zj_msg_t *msg)
{
    assert(jobs && outbox && identity && peer && msg);
    assert(msg->type == ZJ_MSG_AWAIT && msg->id_count > 0);
    zj_future_t *parent =
        s_parent(jobs, outbox, identity, peer, msg->req, msg->parent);
    if (parent == NULL)
        return;
    if (!zj_peer_runs(peer, parent->job.id, ZJ_CLASS_IO)) {
        s_error(outbox, identity, msg->req, ZJ_EDENIED,
                "only io jobs may await jobs");
        return;
    }
    if (s_check_ids(jobs, outbox, identity, msg, parent) != 0)
        return;
    zj_await_t *await =
        zj_futures_await_parent(jobs->futures, identity, msg->req, msg->ids,
                                msg->id_count, msg->in_order, parent->job.id);
    for (size_t index = 0; index < msg->id_count; index++) {
        zj_future_t *future = zj_futures_find(jobs->futures, msg->ids[index]);
        if (future)
            zj_await_park(await, future, index);
        else
            zj_await_settle(await, index,
                            zj_futures_final(jobs->futures, msg->ids[index]));
    }
    if (!msg->hold && !parent->suspended)
        zj_peer_suspend(parent);
}

size_t
zj_parents_wake(zj_lifecycle_t *jobs)
{
    assert(jobs);
    size_t woken = 0;
    int64_t id;
    while (zj_futures_next_woken(jobs->futures, &id)) {
        zj_future_t *parent = zj_futures_find(jobs->futures, id);
        if (parent && parent->suspended) {
            zj_peer_resume(parent);
            woken++;
        }
    }
    return woken;
}
