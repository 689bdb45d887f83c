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

//  A SUBMIT whose jobs run after a job that does not exist is refused
//  whole, before any job is made.
static bool
s_refuse_after(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    for (size_t index = 0; index < msg->job_count; index++) {
        int64_t unknown = 0;
        if (zj_lifecycle_check_after(self->jobs, &msg->jobs[index], &unknown) ==
            0)
            continue;
        char reason[ZJ_MAX_TEXT];
        snprintf(reason, sizeof reason,
                 "job %zu runs after job %" PRId64
                 ", which does not exist; nothing was queued",
                 index + 1, unknown);
        s_error(self, identity, msg->req, ZJ_ENOTFOUND, reason);
        return true;
    }
    return false;
}

//  A SUBMIT with a token seen before (its reply was lost, and the client
//  sent it again): answers it with the same ids and returns true, or
//  refuses a different batch under that token. False for a new token.
static bool
s_answer_token(zj_client_ep_t *self, zframe_t *identity, const zj_msg_t *msg,
               const char *digest)
{
    int64_t *ids = NULL;
    size_t count = 0;
    char stored[ZJ_STORE_DIGEST_SIZE];
    int rc = zj_store_find_token(self->jobs->store, msg->token, &ids, &count,
                                 stored);
    if (rc == ZJ_ENOTFOUND)
        return false;
    if (rc) {
        s_store_error(self, identity, msg->req);
        return true;
    }
    if (count != msg->job_count || strcmp(stored, digest) != 0) {
        free(ids);
        char reason[ZJ_MAX_TEXT];
        snprintf(reason, sizeof reason,
                 "token '%s' was used for another batch; nothing was queued "
                 "(use a new token for each batch)",
                 msg->token);
        s_error(self, identity, msg->req, ZJ_EUSAGE, reason);
        return true;
    }
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_SUBMITTED);
    reply->req = msg->req;
    for (size_t index = 0; index < count; index++)
        zj_msg_add_id(reply, ids[index]);
    zj_log_info("submit repeated token=%s jobs=%zu first_id=%" PRId64,
                msg->token, count, ids[0]);
    free(ids);
    s_reply(self, identity, &reply);
    return true;
}

//  A refused SUBMIT queues none of its jobs: those made before the store
//  refused a row are taken back, from memory and from the turn.
static void
s_take_back(zj_client_ep_t *self, zframe_t *identity, uint64_t req,
            zj_msg_t **reply_p, zj_store_mark_t mark)
{
    zj_msg_t *reply = *reply_p;
    //  Ids below the mark are older jobs that unique keys named: they stay.
    for (size_t index = 0; index < reply->id_count; index++)
        if (reply->ids[index] >= mark.next_id)
            zj_lifecycle_unsubmit(self->jobs, reply->ids[index]);
    zj_store_undo(self->jobs->store, mark);
    zj_msg_destroy(reply_p);
    s_store_error(self, identity, req);
}

//  The job a unique key made, if its window is open: earlier in this
//  SUBMIT (made), else in the store. Sets *id_p and returns 0, or returns
//  ZJ_ENOTFOUND or ZJ_ESTORE.
static int
s_find_unique(zj_client_ep_t *self, zhashx_t *made, const char *key, double now,
              int64_t *id_p)
{
    void *known = made ? zhashx_lookup(made, key) : NULL;
    if (known) {
        *id_p = (int64_t) (intptr_t) known;
        return 0;
    }
    return zj_store_find_unique(self->jobs->store, key, now, id_p);
}

//  Makes one job of a SUBMIT, or, for a unique key whose window is open,
//  finds the job it made (PROTOCOL.md, "Unique jobs"); a new key is saved
//  with its job, and remembered in *made_p for the rest of the SUBMIT.
//  Returns the id, or 0 if the store failed (the SUBMIT is refused).
static int64_t
s_submit_one(zj_client_ep_t *self, const zj_job_t *spec, zhashx_t **made_p)
{
    if (spec->unique == NULL)
        return zj_lifecycle_submit(self->jobs, spec);
    double now = zj_now();
    int64_t id = 0;
    int rc = s_find_unique(self, *made_p, spec->unique, now, &id);
    if (rc == 0) {
        zj_log_debug("submit unique key=\"%s\" id=%" PRId64 " reused",
                     spec->unique, id);
        return id;
    }
    if (rc != ZJ_ENOTFOUND || (id = zj_lifecycle_submit(self->jobs, spec)) == 0)
        return 0;
    int64_t window =
        spec->unique_for_ms > 0 ? spec->unique_for_ms : ZJ_UNIQUE_FOR_MS;
    if (zj_store_save_unique(self->jobs->store, spec->unique, id,
                             now + (double) window / 1000.0) != 0) {
        zj_lifecycle_unsubmit(self->jobs, id); //  Its row: zj_store_undo
        return 0;
    }
    if (*made_p == NULL)
        *made_p = zhashx_new();
    zhashx_insert(*made_p, spec->unique, (void *) (intptr_t) id);
    zj_log_debug("submit unique key=\"%s\" id=%" PRId64 " window_ms=%" PRId64,
                 spec->unique, id, window);
    return id;
}

static void
s_on_submit(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    char digest[ZJ_STORE_DIGEST_SIZE] = "";
    if (msg->token) {
        zj_store_batch_digest(msg->jobs, msg->job_count, digest);
        if (s_answer_token(self, identity, msg, digest))
            return;
    }
    if (s_refuse_submit(self, identity, msg) ||
        s_refuse_after(self, identity, msg))
        return;
    zj_store_mark_t mark = zj_store_mark(self->jobs->store);
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_SUBMITTED);
    reply->req = msg->req;
    zhashx_t *made = NULL; //  This SUBMIT's unique keys: key -> id
    for (size_t index = 0; index < msg->job_count; index++) {
        int64_t id = s_submit_one(self, &msg->jobs[index], &made);
        if (id == 0) {
            zhashx_destroy(&made);
            s_take_back(self, identity, msg->req, &reply, mark);
            return;
        }
        zj_msg_add_id(reply, id);
    }
    zhashx_destroy(&made);
    if (msg->token &&
        zj_store_save_token(self->jobs->store, msg->token, reply->ids,
                            reply->id_count, digest, zj_now()) != 0) {
        s_take_back(self, identity, msg->req, &reply, mark);
        return;
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

//  A STATUS or LIST reply, sent in parts so that none is over the frame
//  limit: a part is closed once it holds ZJ_PART_BYTES of records or
//  ZJ_MAX_BATCH of them, and every part but the last has `more`
//  (PROTOCOL.md, "Replies in parts").
#define ZJ_PART_BYTES (4 * 1024 * 1024)

typedef struct {
    zj_client_ep_t *self;
    zframe_t *identity;
    zj_msg_t *part; //  The part being filled
    size_t bytes;   //  About what part holds
} s_parts_t;

static s_parts_t
s_parts_new(zj_client_ep_t *self, zframe_t *identity, const zj_msg_t *request)
{
    s_parts_t parts = {self, identity, zj_msg_new(request->type), 0};
    parts.part->req = request->req;
    return parts;
}

static size_t
s_text_bytes(const char *text)
{
    return text ? strlen(text) : 0;
}

//  Room for one more record: sends the part if it is full.
static zj_job_t *
s_parts_add(s_parts_t *parts)
{
    zj_msg_t *part = parts->part;
    if (part->job_count == ZJ_MAX_BATCH || parts->bytes >= ZJ_PART_BYTES) {
        parts->part = zj_msg_new(part->type);
        parts->part->req = part->req;
        part->more = true;
        s_reply(parts->self, parts->identity, &part);
        parts->bytes = 0;
    }
    return zj_msg_add_job(parts->part);
}

//  Counts the record just filled in.
static void
s_parts_added(s_parts_t *parts)
{
    const zj_job_t *job = &parts->part->jobs[parts->part->job_count - 1];
    parts->bytes += 128 + s_text_bytes(job->kind) + s_text_bytes(job->args) +
                    s_text_bytes(job->result) + s_text_bytes(job->error) +
                    s_text_bytes(job->worker);
}

//  Sends the last part.
static void
s_parts_end(s_parts_t *parts)
{
    s_reply(parts->self, parts->identity, &parts->part);
}

//  A queued job that would be ready but for a limit of its kind says so
//  (zjob status): O(1), a lookup of its future and of its kind.
static void
s_add_held(zj_client_ep_t *self, zj_job_t *entry)
{
    zj_throttle_t *throttle = self->jobs->throttle;
    if (entry->state != ZJ_STATE_QUEUED || throttle == NULL ||
        !zj_throttle_is_limiting(throttle))
        return;
    zj_future_t *future = zj_futures_find(self->jobs->futures, entry->id);
    if (future == NULL || future->waiting > 0 ||
        future->job.not_before > zj_now())
        return;
    char text[ZJ_MAX_KIND + 80];
    if (zj_throttle_describe(throttle, entry->kind, zj_mono_ms(), text,
                             sizeof text))
        entry->held = strdup(text);
}

static void
s_on_status(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    //  An unknown id ends the reply with an ERROR, after the parts
    //  already sent.
    s_parts_t parts = s_parts_new(self, identity, msg);
    for (size_t index = 0; index < msg->id_count; index++) {
        zj_job_t *entry = s_parts_add(&parts);
        if (s_read_record(self, identity, msg->req, msg->ids[index], entry)) {
            zj_msg_destroy(&parts.part);
            return;
        }
        s_add_held(self, entry);
        s_parts_added(&parts);
    }
    s_parts_end(&parts);
}

static void
s_add_listed(void *arg, const zj_job_t *job)
{
    s_parts_t *parts = arg;
    zj_job_copy(s_parts_add(parts), job);
    s_parts_added(parts);
}

//  The filter of a LIST without parent, its strings copied.
static zj_list_filter_t
s_list_filter(const zj_msg_t *msg)
{
    int limit = msg->limit > 0 ? msg->limit : ZJ_LIST_DEFAULT;
    zj_list_filter_t filter = {
        .kind = msg->kind ? strdup(msg->kind) : NULL,
        .worker = msg->worker ? strdup(msg->worker) : NULL,
        .states = msg->state ? zj_states_from_names(msg->state) : 0,
        .since = msg->since_ms > 0 ? zj_now() - msg->since_ms / 1000.0 : 0,
        .before = msg->before > 0 ? msg->before : INT64_MAX,
        .limit = limit < ZJ_LIST_MAX ? limit : ZJ_LIST_MAX};
    return filter;
}

//  The children of a parent, in the order of its calls: one state at most,
//  no other filter.
static void
s_list_children(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    unsigned states = msg->state ? zj_states_from_names(msg->state) : 0;
    if (msg->kind || msg->worker || msg->since_ms || msg->before ||
        (states & (states - 1))) {
        s_error(self, identity, msg->req, ZJ_EUSAGE,
                "a LIST of a job's children takes one state and a limit, "
                "no other filter");
        return;
    }
    int limit = msg->limit > 0 ? msg->limit : ZJ_LIST_DEFAULT;
    s_parts_t parts = s_parts_new(self, identity, msg);
    if (zj_store_list_children(self->jobs->store, msg->parent, msg->state,
                               limit < ZJ_LIST_MAX ? limit : ZJ_LIST_MAX,
                               s_add_listed, &parts) != 0) {
        zj_msg_destroy(&parts.part);
        s_store_error(self, identity, msg->req);
        return;
    }
    s_parts_end(&parts);
}

//  zjob jobs: through the indexes at once, or a scan over the next turns
//  for a kind, a worker or a time (listing.h).
static void
s_on_list(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    if (msg->parent > 0) {
        s_list_children(self, identity, msg);
        return;
    }
    zj_list_filter_t filter = s_list_filter(msg);
    int rc = 0;
    if (!zj_list_filter_scans(&filter))
        rc = zj_listing_indexed(self->jobs->store, self->outbox, identity,
                                msg->req, &filter);
    else if (self->listing == NULL)
        rc = ZJ_ETYPE;
    else
        rc = zj_listing_start(self->listing, identity, msg->req, &filter);
    zj_list_filter_clear(&filter);
    if (rc == ZJ_ESTORE)
        s_store_error(self, identity, msg->req);
    else if (rc == ZJ_ETOOBIG)
        s_error(self, identity, msg->req, rc,
                "too many listings with --kind, --worker or --since under "
                "way; try again");
    else if (rc != 0)
        s_error(self, identity, msg->req, rc, "no listings kept here");
}

void
zj_client_ep_resume(zj_client_ep_t *self, int rows, int64_t now_ms)
{
    assert(self && rows > 0);
    if (self->listing)
        zj_listing_step(self->listing, self->jobs->store, self->outbox, rows,
                        now_ms);
}

bool
zj_client_ep_is_busy(const zj_client_ep_t *self)
{
    assert(self);
    return self->listing && zj_listing_pending(self->listing) > 0;
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
        entry->suspended = zj_peer_suspended(peer);
        entry->max_suspended = zj_peer_info(peer)->max_suspended;
        entry->last_seen = zj_now() - silent_ms / 1000.0;
    }
    entry->kind_count = info->kind_count;
    entry->kinds = calloc(info->kind_count + 1, sizeof *entry->kinds);
    for (size_t index = 0; index < info->kind_count; index++) {
        entry->kinds[index].name = strdup(info->kinds[index].name);
        entry->kinds[index].klass = info->kinds[index].klass;
    }
}

//  Names the workers in reply that are not connected, for --forget.
static void
s_forgettable(void *arg, const zj_worker_info_t *info)
{
    zj_client_ep_t *self = ((void **) arg)[0];
    zlistx_t *names = ((void **) arg)[1];
    if (!streq(info->state ? info->state : "", "connected") &&
        zj_peers_find_name(self->jobs->peers, info->name) == NULL)
        zlistx_add_end(names, strdup(info->name));
}

//  WORKERS with forget: deletes the rows of the workers not connected.
//  Returns 0 or ZJ_ESTORE.
static int
s_forget_workers(zj_client_ep_t *self)
{
    zlistx_t *names = zlistx_new();
    zlistx_set_destructor(names, (zlistx_destructor_fn *) zstr_free);
    void *context[2] = {self, names};
    int rc = zj_store_list_workers(self->jobs->store, s_forgettable, context);
    char listed[256] = "";
    for (char *name = zlistx_first(names); rc == 0 && name;
         name = zlistx_next(names)) {
        rc = zj_store_delete_worker(self->jobs->store, name);
        if (strlen(listed) + strlen(name) + 2 < sizeof listed)
            snprintf(listed + strlen(listed), sizeof listed - strlen(listed),
                     "%s%s", *listed ? "," : "", name);
    }
    if (rc == 0 && zlistx_size(names) > 0)
        zj_log_info("workers forgotten count=%zu names=%s", zlistx_size(names),
                    listed);
    zlistx_destroy(&names);
    return rc;
}

static void
s_on_workers(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    if (msg->forget && s_forget_workers(self) != 0) {
        s_store_error(self, identity, msg->req);
        return;
    }
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

static void
s_on_logs(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    if (msg->id_count != 1) {
        s_error(self, identity, msg->req, ZJ_EPROTO, "LOGS names one job");
        return;
    }
    zj_state_t state = ZJ_STATE_NONE;
    char *log = NULL;
    int rc = zj_store_get_log(self->jobs->store, msg->ids[0], &state, &log);
    if (rc != 0) {
        char reason[64];
        snprintf(reason, sizeof reason, "no such job %" PRId64, msg->ids[0]);
        if (rc == ZJ_ENOTFOUND)
            s_error(self, identity, msg->req, rc, reason);
        else
            s_store_error(self, identity, msg->req);
        return;
    }
    //  The store lags memory while it cannot be written: the state of an
    //  unfinished job comes from its future.
    zj_future_t *future = zj_futures_find(self->jobs->futures, msg->ids[0]);
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_LOGS);
    reply->req = msg->req;
    zj_job_t *entry = zj_msg_add_job(reply);
    entry->id = msg->ids[0];
    entry->state = future ? future->job.state : state;
    entry->log = log;
    s_reply(self, identity, &reply);
}

//  zjob drain NAME: the worker gets no more jobs, and is asked to finish
//  what it runs and stop, as SIGTERM asks it.
static void
s_on_drain(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    const char *name = msg->workers[0].name;
    zj_peer_t *peer = zj_peers_find_name(self->jobs->peers, name);
    if (peer == NULL) {
        char reason[ZJ_WHY_SIZE];
        snprintf(reason, sizeof reason, "no connected worker named '%.200s'",
                 name);
        s_error(self, identity, msg->req, ZJ_ENOTFOUND, reason);
        return;
    }
    zj_peer_mark_draining(peer);
    zj_msg_t *ask = zj_msg_new(ZJ_MSG_DRAIN);
    zj_outbox_send(self->outbox, ZJ_TO_WORKER, zj_peer_identity(peer), &ask);
    zj_log_info("worker asked to drain name=%s running=%zu", name,
                zj_peer_running(peer));
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_DRAIN);
    reply->req = msg->req;
    zj_worker_info_t *entry = zj_msg_add_worker(reply);
    const zj_worker_info_t *info = zj_peer_info(peer);
    entry->name = strdup(info->name);
    entry->host = info->host ? strdup(info->host) : NULL;
    entry->pid = info->pid;
    entry->state = strdup("draining");
    entry->running = (int32_t) zj_peer_running(peer);
    s_reply(self, identity, &reply);
}

//  zjob purge: a sweep of its own, a chunk per loop turn; the PURGE
//  reply comes when it ends (retention.h).
static void
s_on_purge(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    zj_sweep_filter_t filter = {
        .age_ms = msg->older_than_ms,
        .state = msg->state ? zj_state_from_name(msg->state) : ZJ_STATE_NONE,
        .kind = msg->kind};
    if (zj_retention_purge(self->retention, identity, msg->req, &filter)) {
        s_error(self, identity, msg->req, ZJ_ETOOBIG,
                "too many purges wait already; try again when they end");
        return;
    }
    zj_log_info("purge asked older_than_ms=%" PRId64 " state=%s kind=%s",
                msg->older_than_ms, msg->state ? msg->state : "any",
                msg->kind ? msg->kind : "any");
}

//  zjob schedule: add, rm, list (schedule_ep.c).
static void
s_on_schedule(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    zj_schedule_ep_t schedules = {self->jobs, self->outbox, self->schedules};
    zj_schedule_ep_handle(&schedules, identity, msg);
}

//  Adds kind's limits as they are now to reply.
static void
s_add_limit(zj_client_ep_t *self, zj_msg_t *reply, const char *kind)
{
    zj_kind_limit_t *entry = zj_msg_add_limit(reply);
    zj_throttle_get(self->jobs->throttle, kind, entry);
    entry->kind = strdup(kind);
}

//  zjob limit KIND: sets what the request names of the kind's limits
//  (keeping the other), or clears them first; stored in the turn, so the
//  reply leaves once they are committed. A request that names nothing
//  reads them.
static void
s_on_limit(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    const zj_kind_limit_t *asked = &msg->limits[0];
    zj_throttle_t *throttle = self->jobs->throttle;
    zj_kind_limit_t limit;
    bool had = zj_throttle_get(throttle, asked->kind, &limit);
    if (msg->clear) {
        limit.concurrency = -1;
        limit.rate = 0;
    }
    if (asked->concurrency >= 0)
        limit.concurrency = asked->concurrency;
    if (asked->rate > 0)
        limit.rate = asked->rate;
    if (msg->clear || asked->concurrency >= 0 || asked->rate > 0) {
        limit.burst = limit.rate > 0 ? zj_throttle_burst(limit.rate) : 0;
        limit.updated_at = zj_now();
        bool any = limit.concurrency >= 0 || limit.rate > 0;
        zj_store_t *store = self->jobs->store;
        int rc = any   ? zj_store_save_limit(store, &limit)
                 : had ? zj_store_delete_limit(store, asked->kind)
                       : 0;
        if (rc != 0) {
            s_store_error(self, identity, msg->req);
            return;
        }
        zj_throttle_set(throttle, &limit, zj_mono_ms());
        zj_log_info("limit set kind=%s concurrency=%" PRId32 " rate=%g",
                    asked->kind, limit.concurrency, limit.rate);
    }
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_LIMIT);
    reply->req = msg->req;
    s_add_limit(self, reply, asked->kind);
    s_reply(self, identity, &reply);
}

//  zjob limits: every kind with a limit, by name.
static void
s_on_limits(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_LIMITS);
    reply->req = msg->req;
    zlistx_t *kinds = zj_throttle_kinds(self->jobs->throttle);
    for (const char *kind = zlistx_first(kinds); kind;
         kind = zlistx_next(kinds))
        s_add_limit(self, reply, kind);
    zlistx_destroy(&kinds);
    s_reply(self, identity, &reply);
}

//  Checks that job id may be retried: it ended failed or cancelled.
//  Reads only its state (from memory, else the store's row). Returns 0,
//  or sends the error (ENOTFOUND, ESTORE, ESTATE naming the id and its
//  state) and returns it.
static int
s_check_retryable(zj_client_ep_t *self, zframe_t *identity, uint64_t req,
                  int64_t id)
{
    zj_future_t *future = zj_futures_find(self->jobs->futures, id);
    const zj_job_t *final = zj_futures_final(self->jobs->futures, id);
    zj_state_t state = future  ? future->job.state
                       : final ? final->state
                               : ZJ_STATE_NONE;
    int rc = state == ZJ_STATE_NONE
                 ? zj_store_job_state(self->jobs->store, id, &state)
                 : 0;
    char reason[ZJ_WHY_SIZE];
    if (rc == ZJ_ENOTFOUND) {
        snprintf(reason, sizeof reason, "no such job %" PRId64, id);
        s_error(self, identity, req, rc, reason);
        return rc;
    }
    if (rc) {
        s_store_error(self, identity, req);
        return rc;
    }
    if (state == ZJ_STATE_FAILED || state == ZJ_STATE_CANCELLED)
        return 0;
    snprintf(reason, sizeof reason,
             "job %" PRId64 " is %s: only a failed or cancelled job can be "
             "retried; nothing was retried",
             id, zj_state_name(state));
    s_error(self, identity, req, ZJ_ESTATE, reason);
    return ZJ_ESTATE;
}

//  Makes the retry of job id (checked by s_check_retryable): a new job
//  with its kind, args and options, at the top level, whose retry_of
//  names it. Reads its record then, so a request holds one at a time.
//  Returns the new id, 0 if its row could not be written (the caller
//  says so), or -1 if its record could not be read (the error is sent).
static int64_t
s_retry_one(zj_client_ep_t *self, zframe_t *identity, uint64_t req, int64_t id)
{
    zj_job_t old = {0};
    if (s_read_record(self, identity, req, id, &old) != 0)
        return -1;
    zj_job_t spec = {.kind = old.kind,
                     .args = old.args,
                     .priority = old.priority,
                     .max_attempts = old.max_attempts,
                     .timeout_ms = old.timeout_ms,
                     .backoff_ms = old.backoff_ms,
                     .retry_of = id};
    int64_t new_id = zj_lifecycle_submit(self->jobs, &spec);
    zj_job_clear(&old);
    if (new_id > 0)
        zj_log_info("job retried id=%" PRId64 " retry_of=%" PRId64, new_id, id);
    return new_id;
}

//  zjob retry ID...: each failed or cancelled job is copied into a new
//  job (its retry_of names the old one, which stays as it ended). All or
//  nothing: one id that cannot be retried refuses the request whole.
static void
s_on_retry(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    for (size_t index = 0; index < msg->id_count; index++)
        if (s_check_retryable(self, identity, msg->req, msg->ids[index]))
            return;
    if (s_refuse_submit(self, identity, msg))
        return;
    zj_store_mark_t mark = zj_store_mark(self->jobs->store);
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_RETRY);
    reply->req = msg->req;
    for (size_t index = 0; index < msg->id_count; index++) {
        int64_t id = s_retry_one(self, identity, msg->req, msg->ids[index]);
        if (id > 0) {
            zj_msg_add_id(reply, id);
            continue;
        }
        //  Its record could not be read (the error is sent): take back
        //  what was made. Or its row could not be written: say so.
        for (size_t made = 0; made < reply->id_count; made++)
            zj_lifecycle_unsubmit(self->jobs, reply->ids[made]);
        zj_store_undo(self->jobs->store, mark);
        zj_msg_destroy(&reply);
        if (id == 0)
            s_store_error(self, identity, msg->req);
        return;
    }
    s_reply(self, identity, &reply);
}

//  zjob stats: the queues and the jobs finished lately, from memory.
static void
s_on_stats(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    if (self->jobs->stats == NULL) {
        s_error(self, identity, msg->req, ZJ_ETYPE, "no stats kept here");
        return;
    }
    json_t *report =
        zj_stats_report(self->jobs->stats, self->jobs->futures, zj_now());
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_STATS);
    reply->req = msg->req;
    reply->stats = json_dumps(report, JSON_COMPACT);
    json_decref(report);
    assert(reply->stats);
    s_reply(self, identity, &reply);
}

static zj_request_fn *const s_handlers[ZJ_MSG_COUNT] = {
    [ZJ_MSG_SUBMIT] = s_on_submit,   [ZJ_MSG_AWAIT] = s_on_await,
    [ZJ_MSG_STATUS] = s_on_status,   [ZJ_MSG_LIST] = s_on_list,
    [ZJ_MSG_WORKERS] = s_on_workers, [ZJ_MSG_CANCEL] = s_on_cancel,
    [ZJ_MSG_LOGS] = s_on_logs,       [ZJ_MSG_DRAIN] = s_on_drain,
    [ZJ_MSG_PURGE] = s_on_purge,     [ZJ_MSG_SCHEDULE] = s_on_schedule,
    [ZJ_MSG_LIMIT] = s_on_limit,     [ZJ_MSG_LIMITS] = s_on_limits,
    [ZJ_MSG_RETRY] = s_on_retry,     [ZJ_MSG_STATS] = s_on_stats,
};

void
zj_client_ep_handle(zj_client_ep_t *self, zframe_t *identity, zj_msg_t *msg)
{
    assert(self && identity && msg);
    zj_request_fn *handler = s_handlers[msg->type];
    //  The decoder holds every request but CANCEL to a req; a CANCEL may
    //  go without one (PROTOCOL.md), and its reply then has req 0.
    if (handler == NULL || (msg->req == 0 && msg->type != ZJ_MSG_CANCEL)) {
        zj_log_warning("request refused type=%s req=%" PRIu64,
                       zj_msg_type_name(msg->type), msg->req);
        s_error(self, identity, msg->req, ZJ_ETYPE,
                "not a client request (SUBMIT, AWAIT, STATUS, LIST, "
                "WORKERS, LOGS, DRAIN, PURGE, SCHEDULE, LIMIT, LIMITS, "
                "RETRY, STATS with req, or CANCEL)");
        return;
    }
    handler(self, identity, msg);
}
