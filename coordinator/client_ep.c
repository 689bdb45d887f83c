//  client_ep.c - requests from clients, one handler per type, from a
//  table (see client_ep.h).
#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "coordinator/client_ep.h"
#include "proto/limits.h"

#define ZJ_LIST_DEFAULT 100 //  Rows of LIST when no limit is given
#define ZJ_LIST_MAX 10000   //  Most rows one LIST returns

typedef void(zj_request_fn)(zj_client_ep_t *self, zframe_t *identity,
                            zj_msg_t *msg);

static void
s_reply(zj_client_ep_t *self, zframe_t *identity, zj_msg_t **reply_p)
{
    zj_outbox_send(self->outbox, ZJ_TO_CLIENT, identity, reply_p);
}

static void
s_error(zj_client_ep_t *self, zframe_t *identity, uint64_t req, int code,
        const char *reason)
{
    zj_outbox_error(self->outbox, ZJ_TO_CLIENT, identity, req, code, reason);
}

//  A request the store could not answer.
static void
s_store_error(zj_client_ep_t *self, zframe_t *identity, uint64_t req)
{
    s_error(self, identity, req, ZJ_ESTORE,
            zj_store_last_error(self->jobs->store));
}

//  A submit is acknowledged only once its jobs are in the store: while
//  the store cannot be written, refuse it whole.
static bool
s_refuse_submit(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    if (zj_store_is_writable(self->jobs->store))
        return false;
    char reason[ZJ_MAX_TEXT];
    snprintf(reason, sizeof reason,
             "the coordinator cannot write its store (%s): submit refused, "
             "no job was queued; try again once the store is fixed",
             zj_store_last_error(self->jobs->store));
    zj_log_warning("submit refused jobs=%zu reason=store", msg->job_count);
    s_error(self, identity, msg->req, ZJ_ESTORE, reason);
    return true;
}

static void
s_on_submit(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    if (s_refuse_submit(self, identity, msg))
        return;
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_SUBMITTED);
    reply->req = msg->req;
    for (size_t index = 0; index < msg->job_count; index++) {
        int64_t id = zj_lifecycle_submit(self->jobs, &msg->jobs[index]);
        if (id == 0) {
            zj_msg_destroy(&reply);
            s_store_error(self, identity, msg->req);
            return;
        }
        zj_msg_add_id(reply, id);
    }
    zj_log_debug("submitted jobs=%zu req=%" PRIu64, msg->job_count, msg->req);
    s_reply(self, identity, &reply);
}

//  Reads job id into *job: from memory while it has a future (the store
//  may be behind while it cannot be written), else from the store.
//  Returns 0 or an error already sent to the client.
static int
s_read_record(zj_client_ep_t *self, zframe_t *identity, uint64_t req,
              int64_t id, zj_job_t *job)
{
    zj_future_t *future = zj_futures_find(self->jobs->futures, id);
    const zj_job_t *known =
        future ? &future->job : zj_futures_final(self->jobs->futures, id);
    if (known) {
        zj_job_copy(job, known);
        return 0;
    }
    int rc = zj_store_get_job(self->jobs->store, id, job);
    if (rc == 0)
        return 0;
    char reason[64];
    snprintf(reason, sizeof reason, "no such job %" PRId64, id);
    s_error(self, identity, req, rc == ZJ_ENOTFOUND ? ZJ_ENOTFOUND : ZJ_ESTORE,
            reason);
    return rc;
}

//  Frees the records read for an AWAIT.
static void
s_free_records(zj_job_t *records, size_t count)
{
    for (size_t index = 0; index < count; index++)
        zj_job_clear(&records[index]);
    free(records);
}

//  Bytes of a record an AWAIT keeps (0 for a job with a future).
static size_t
s_kept_bytes(const zj_job_t *job)
{
    return (job->args ? strlen(job->args) : 0) +
           (job->result ? strlen(job->result) : 0) +
           (job->error ? strlen(job->error) : 0);
}

static void
s_on_await(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    //  Jobs without a future are final: read them, and fail the whole
    //  request if one is unknown. Past ZJ_AWAIT_COPY_BYTES of records the
    //  rest are not kept: the await reads them again when it sends them.
    zj_job_t *records = calloc(msg->id_count, sizeof *records);
    assert(records);
    size_t kept = 0;
    for (size_t index = 0; index < msg->id_count; index++) {
        zj_job_t *record = &records[index];
        if (zj_futures_find(self->jobs->futures, msg->ids[index]) ||
            s_read_record(self, identity, msg->req, msg->ids[index], record) ==
                0) {
            kept += s_kept_bytes(record);
            if (kept > ZJ_AWAIT_COPY_BYTES)
                zj_job_clear(record); //  Its id 0 says: not kept
            continue;
        }
        s_free_records(records, msg->id_count);
        return;
    }
    int64_t deadline = msg->timeout_ms > 0 ? zj_mono_ms() + msg->timeout_ms : 0;
    zj_await_t *await =
        zj_futures_await(self->jobs->futures, identity, msg->req, msg->ids,
                         msg->id_count, msg->in_order, deadline);
    for (size_t index = 0; index < msg->id_count; index++) {
        zj_future_t *future =
            zj_futures_find(self->jobs->futures, msg->ids[index]);
        if (future)
            zj_await_park(await, future, index);
        else
            zj_await_settle(await, index,
                            records[index].id ? &records[index] : NULL);
    }
    s_free_records(records, msg->id_count);
}

static void
s_on_status(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_STATUS);
    reply->req = msg->req;
    for (size_t index = 0; index < msg->id_count; index++) {
        zj_job_t *entry = zj_msg_add_job(reply);
        if (s_read_record(self, identity, msg->req, msg->ids[index], entry)) {
            zj_msg_destroy(&reply);
            return;
        }
    }
    s_reply(self, identity, &reply);
}

static void
s_add_listed(void *arg, const zj_job_t *job)
{
    zj_job_copy(zj_msg_add_job((zj_msg_t *) arg), job);
}

static void
s_on_list(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    int limit = msg->limit > 0 ? msg->limit : ZJ_LIST_DEFAULT;
    if (limit > ZJ_LIST_MAX)
        limit = ZJ_LIST_MAX;
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_LIST);
    reply->req = msg->req;
    if (zj_store_list_jobs(self->jobs->store, msg->state, limit, s_add_listed,
                           reply) != 0) {
        zj_msg_destroy(&reply);
        s_store_error(self, identity, msg->req);
        return;
    }
    s_reply(self, identity, &reply);
}

static void
s_add_worker(void *arg, const zj_worker_info_t *info)
{
    void **context = arg;
    zj_client_ep_t *self = context[0];
    zj_worker_info_t *entry = zj_msg_add_worker((zj_msg_t *) context[1]);
    entry->name = strdup(info->name);
    entry->host = info->host ? strdup(info->host) : NULL;
    entry->pid = info->pid;
    entry->io_slots = info->io_slots;
    entry->cpu_slots = info->cpu_slots;
    entry->connected_at = info->connected_at;
    entry->last_seen = info->last_seen;
    entry->state = info->state ? strdup(info->state) : NULL;
    zj_peer_t *peer = zj_peers_find_name(self->jobs->peers, info->name);
    if (peer) {
        int64_t silent_ms = zj_mono_ms() - zj_peer_last_seen(peer);
        entry->running = (int32_t) zj_peer_running(peer);
        entry->last_seen = zj_now() - silent_ms / 1000.0;
    }
    entry->kind_count = info->kind_count;
    entry->kinds = calloc(info->kind_count + 1, sizeof *entry->kinds);
    for (size_t index = 0; index < info->kind_count; index++) {
        entry->kinds[index].name = strdup(info->kinds[index].name);
        entry->kinds[index].klass = info->kinds[index].klass;
    }
}

static void
s_on_workers(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_WORKERS);
    reply->req = msg->req;
    void *context[2] = {self, reply};
    if (zj_store_list_workers(self->jobs->store, s_add_worker, context) != 0) {
        zj_msg_destroy(&reply);
        s_store_error(self, identity, msg->req);
        return;
    }
    s_reply(self, identity, &reply);
}

//  Cancels an unfinished job; a worker that runs it is told to stop.
static void
s_cancel(zj_client_ep_t *self, zj_future_t *future)
{
    int64_t id = future->job.id;
    zj_peer_t *peer = zj_lifecycle_cancel(self->jobs, future);
    if (peer) {
        zj_msg_t *stop = zj_msg_new(ZJ_MSG_CANCEL);
        zj_msg_add_id(stop, id);
        zj_outbox_send(self->outbox, ZJ_TO_WORKER, zj_peer_identity(peer),
                       &stop);
    }
    zj_log_info("job cancelled id=%" PRId64, id);
}

static void
s_on_cancel(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_CANCEL);
    reply->req = msg->req;
    for (size_t index = 0; index < msg->id_count; index++) {
        int64_t id = msg->ids[index];
        zj_future_t *future = zj_futures_find(self->jobs->futures, id);
        zj_job_t *entry = zj_msg_add_job(reply);
        entry->id = id;
        if (future) {
            s_cancel(self, future);
            entry->state = ZJ_STATE_CANCELLED;
            continue;
        }
        zj_job_t job = {0};
        if (s_read_record(self, identity, msg->req, id, &job)) {
            zj_msg_destroy(&reply);
            return;
        }
        entry->state = job.state;
        entry->error = zsys_sprintf("already %s", zj_state_name(job.state));
        zj_job_clear(&job);
    }
    s_reply(self, identity, &reply);
}

static zj_request_fn *const s_handlers[ZJ_MSG_COUNT] = {
    [ZJ_MSG_SUBMIT] = s_on_submit,   [ZJ_MSG_AWAIT] = s_on_await,
    [ZJ_MSG_STATUS] = s_on_status,   [ZJ_MSG_LIST] = s_on_list,
    [ZJ_MSG_WORKERS] = s_on_workers, [ZJ_MSG_CANCEL] = s_on_cancel,
};

void
zj_client_ep_handle(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    assert(self && identity && msg);
    zj_request_fn *handler = s_handlers[msg->type];
    if (handler == NULL || msg->req == 0) {
        zj_log_warning("request refused type=%s req=%" PRIu64,
                       zj_msg_type_name(msg->type), msg->req);
        s_error(self, identity, msg->req, ZJ_ETYPE,
                "not a client request (SUBMIT, AWAIT, STATUS, LIST, "
                "WORKERS, CANCEL with req)");
        return;
    }
    handler(self, identity, msg);
}
