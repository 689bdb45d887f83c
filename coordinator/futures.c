//  futures.c - futures of unfinished jobs and the awaits parked on them.
//  See futures.h. An await owns a slot per id; a slot is parked on the
//  future of its id (an entry in the future's waiters list) until the
//  future resolves, then is settled: it holds a copy of the final record
//  until sent, or only its id (a reference) when the await keeps enough
//  copies already or its client has no room; the loader reads it then.
#include <assert.h>

#include "common/duration.h"
#include "common/heap.h"
#include "common/idmap.h"
#include "coordinator/futures.h"
#include "coordinator/outbox.h"
#include "proto/limits.h"

#define ZJ_AWAIT_TAG 0x7a6a6177u
#define ZJ_RESOLVED_BYTES (1024 * 1024) //  Cut RESOLVED batches here
#define ZJ_ENTRY_BYTES 128 //  A RESOLVED entry's keys and numbers, at most

typedef struct {
    zj_await_t *await;   //  The await this slot belongs to
    size_t index;        //  Position of the id in the await
    int64_t id;          //  The job it awaits
    zj_future_t *future; //  Future it is parked on, or NULL
    void *handle;        //  Its entry in future->waiters
    bool settled;        //  Its job is final
    zj_job_t *record;    //  Copy of the final record, until sent, or NULL
} zj_slot_t;

struct zj_await {
    uint32_t tag;        //  ZJ_AWAIT_TAG while alive
    zframe_t *identity;  //  Client to answer
    uint64_t req;        //  Its request id
    bool in_order;       //  Send in the ids' order
    int64_t deadline_ms; //  zj_mono_ms() limit, 0 = none
    size_t count;        //  Ids awaited
    zj_slot_t *slots;    //  One per id
    size_t next;         //  In order: first slot not yet sent
    size_t *ready;       //  As completed: settled slots not yet sent
    size_t ready_count;  //  Entries in ready
    size_t sent;         //  Slots sent
    size_t copied;       //  Bytes of the records slots hold
    bool paused;         //  Its client had no room at the last flush
    bool expired;        //  Past its deadline: waits for no more jobs
    zj_side_t side;      //  A client's, or a worker's for a parent
    int64_t parent;      //  A worker's: the running job that awaits
    void *handle;        //  Entry in zj_futures_t.awaits
    void *dirty_handle;  //  Entry in zj_futures_t.dirty, or NULL
    zj_futures_t *owner; //  The table it belongs to
};

struct zj_futures {
    zj_idmap_t *by_id;     //  id -> zj_future_t *, until reaped (the
                           //  unresolved ones owned and freed by hand)
    zlistx_t *resolved;    //  zj_future_t * resolved, owned, until reaped
    zlistx_t *awaits;      //  zj_await_t *, owned
    zlistx_t *dirty;       //  zj_await_t * with something to send
    zhashx_t *kinds;       //  kind name -> the one copy its futures share
    zj_final_fn *loader;   //  Reads a final record again, or NULL
    void *loader_arg;      //  Its argument
    size_t paused;         //  Awaits with paused set
    zj_idmap_t *by_parent; //  parent id -> its worker's zj_await_t *
    int64_t *woken;        //  Parents whose await ended, not yet taken
    size_t woken_count;    //  Entries in woken
    size_t woken_size;     //  Room in woken
    zj_idmap_t *pins;      //  id -> how many unresolved futures run after
                           //  it (their after), as (void *) count
};

static void s_future_destroy(zj_future_t **future_p);
static void s_await_destroy(zj_await_t **await_p);

static void
s_future_free(void **item_p)
{
    s_future_destroy((zj_future_t **) item_p);
}

static void
s_await_free(void **item_p)
{
    s_await_destroy((zj_await_t **) item_p);
}

zj_futures_t *
zj_futures_new(void)
{
    zj_futures_t *self = calloc(1, sizeof *self);
    assert(self);
    self->by_id = zj_idmap_new();
    self->resolved = zlistx_new();
    zlistx_set_destructor(self->resolved, s_future_free);
    self->awaits = zlistx_new();
    zlistx_set_destructor(self->awaits, s_await_free);
    self->dirty = zlistx_new();
    self->by_parent = zj_idmap_new();
    self->pins = zj_idmap_new();
    self->kinds = zhashx_new();
    zhashx_set_destructor(self->kinds, (zhashx_destructor_fn *) zstr_free);
    return self;
}

void
zj_futures_destroy(zj_futures_t **self_p)
{
    assert(self_p);
    zj_futures_t *self = *self_p;
    if (self == NULL)
        return;
    //  Awaits go first: they unpark from futures that still exist.
    for (zj_await_t *await = zlistx_first(self->dirty); await;
         await = zlistx_next(self->dirty))
        await->dirty_handle = NULL;
    zlistx_destroy(&self->dirty);
    zlistx_destroy(&self->awaits);
    zj_idmap_destroy(&self->by_parent);
    zj_idmap_destroy(&self->pins);
    free(self->woken);
    zj_future_t *future = zj_idmap_first(self->by_id);
    while (future) {
        if (!future->resolved) //  The resolved list frees the others
            s_future_destroy(&future);
        future = zj_idmap_next(self->by_id);
    }
    zj_idmap_destroy(&self->by_id);
    zlistx_destroy(&self->resolved);
    zhashx_destroy(&self->kinds);
    free(self);
    *self_p = NULL;
}

void
zj_futures_set_loader(zj_futures_t *self, zj_final_fn *loader, void *arg)
{
    assert(self);
    self->loader = loader;
    self->loader_arg = arg;
}

//  A million queued jobs name a handful of kinds: they share one copy of
//  each name. Takes kind; returns the shared copy.
static char *
s_kind_interned(zj_futures_t *self, char *kind)
{
    char *shared = zhashx_lookup(self->kinds, kind);
    if (shared == NULL) {
        shared = strdup(kind);
        assert(shared);
        zhashx_insert(self->kinds, kind, shared);
    }
    free(kind);
    return shared;
}

//  Counts delta more (or fewer) unresolved futures that run after each
//  job of the future's after.
static void
s_pin(zj_futures_t *self, const zj_future_t *future, intptr_t delta)
{
    for (uint32_t index = 0; index < future->job.after_count; index++) {
        int64_t id = future->job.after[index];
        intptr_t count = (intptr_t) zj_idmap_delete(self->pins, id) + delta;
        assert(count >= 0);
        if (count > 0) {
            int rc = zj_idmap_insert(self->pins, id, (void *) count);
            assert(rc == 0);
        }
    }
}

bool
zj_futures_pinned(const zj_futures_t *self, int64_t id)
{
    assert(self);
    return zj_idmap_lookup(self->pins, id) != NULL;
}

zj_future_t *
zj_futures_add(zj_futures_t *self, zj_job_t *job)
{
    assert(self && job && job->id > 0);
    zj_future_t *future = calloc(1, sizeof *future);
    assert(future);
    future->tag = ZJ_FUTURE_TAG;
    future->job = *job;
    memset(job, 0, sizeof *job);
    future->job.kind = s_kind_interned(self, future->job.kind);
    future->slot = ZJ_HEAP_NONE;
    int rc = zj_idmap_insert(self->by_id, future->job.id, future);
    assert(rc == 0);
    s_pin(self, future, 1);
    return future;
}

static void
s_future_destroy(zj_future_t **future_p)
{
    zj_future_t *future = *future_p;
    if (future == NULL)
        return;
    assert(future->tag == ZJ_FUTURE_TAG);
    assert(future->waiters == NULL || zlistx_size(future->waiters) == 0);
    zlistx_destroy(&future->waiters);
    future->job.kind = NULL; //  Shared: the table frees it
    zj_job_clear(&future->job);
    future->tag = 0;
    free(future);
    *future_p = NULL;
}

zj_future_t *
zj_futures_find(zj_futures_t *self, int64_t id)
{
    assert(self);
    zj_future_t *future = zj_idmap_lookup(self->by_id, id);
    return future && !future->resolved ? future : NULL;
}

size_t
zj_futures_size(const zj_futures_t *self)
{
    assert(self);
    return zj_idmap_size(self->by_id) - zlistx_size(self->resolved);
}

//  Bytes a record takes in a RESOLVED frame, at most.
static size_t
s_record_bytes(const zj_job_t *job)
{
    return ZJ_ENTRY_BYTES + (job->result ? strlen(job->result) : 0) +
           (job->error ? strlen(job->error) : 0) +
           (job->worker ? strlen(job->worker) : 0);
}

//  Whether await may keep a copy of a record of bytes.
static bool
s_may_copy(const zj_await_t *await, size_t bytes)
{
    return await->owner->loader == NULL ||
           (!await->paused && await->copied + bytes <= ZJ_AWAIT_COPY_BYTES);
}

//  A copy of what a RESOLVED entry carries of job (not its args).
static zj_job_t *
s_final_copy(const zj_job_t *job)
{
    zj_job_t *copy = calloc(1, sizeof *copy);
    assert(copy);
    copy->id = job->id;
    copy->state = job->state;
    copy->attempts = job->attempts;
    copy->started_at = job->started_at;
    copy->finished_at = job->finished_at;
    copy->result = job->result ? strdup(job->result) : NULL;
    copy->error = job->error ? strdup(job->error) : NULL;
    copy->worker = job->worker ? strdup(job->worker) : NULL;
    return copy;
}

static void
s_slot_settle(zj_slot_t *slot, const zj_job_t *job)
{
    zj_await_t *await = slot->await;
    assert(!slot->settled && slot->record == NULL);
    slot->settled = true;
    size_t bytes = job ? s_record_bytes(job) : 0;
    if (job && s_may_copy(await, bytes)) {
        slot->record = s_final_copy(job);
        await->copied += bytes;
    }
    slot->future = NULL;
    slot->handle = NULL;
    if (!await->in_order)
        await->ready[await->ready_count++] = slot->index;
    if (await->dirty_handle == NULL)
        await->dirty_handle = zlistx_add_end(await->owner->dirty, await);
}

void
zj_futures_resolve(zj_futures_t *self, zj_future_t *future)
{
    assert(self && future && !future->resolved);
    assert(zj_state_is_final(future->job.state));
    if (future->waiters) {
        zj_slot_t *slot = zlistx_first(future->waiters);
        while (slot) {
            s_slot_settle(slot, &future->job);
            slot = zlistx_next(future->waiters);
        }
        zlistx_purge(future->waiters);
    }
    future->resolved = true;
    s_pin(self, future, -1);
    zlistx_add_end(self->resolved, future);
}

void
zj_futures_forget(zj_futures_t *self, zj_future_t *future)
{
    assert(self && future && future->tag == ZJ_FUTURE_TAG);
    assert(!future->resolved && future->peer == NULL);
    assert(future->slot == ZJ_HEAP_NONE && future->waiters == NULL);
    s_pin(self, future, -1);
    zj_idmap_delete(self->by_id, future->job.id);
    s_future_destroy(&future);
}

void
zj_futures_reap(zj_futures_t *self)
{
    assert(self);
    for (zj_future_t *future = zlistx_first(self->resolved); future;
         future = zlistx_next(self->resolved))
        zj_idmap_delete(self->by_id, future->job.id);
    zlistx_purge(self->resolved);
}

const zj_job_t *
zj_futures_final(zj_futures_t *self, int64_t id)
{
    assert(self);
    zj_future_t *future = zj_idmap_lookup(self->by_id, id);
    return future && future->resolved ? &future->job : NULL;
}

zj_future_t *
zj_futures_first(zj_futures_t *self)
{
    zj_future_t *future = zj_idmap_first(self->by_id);
    return future && future->resolved ? zj_futures_next(self) : future;
}

zj_future_t *
zj_futures_next(zj_futures_t *self)
{
    zj_future_t *future;
    while ((future = zj_idmap_next(self->by_id)) && future->resolved)
        ;
    return future;
}

zj_await_t *
zj_futures_await(zj_futures_t *self, zframe_t *identity, uint64_t req,
                 const int64_t *ids, size_t count, bool in_order,
                 int64_t deadline_ms)
{
    assert(self && identity && ids && count > 0);
    zj_await_t *await = calloc(1, sizeof *await);
    assert(await);
    await->tag = ZJ_AWAIT_TAG;
    await->owner = self;
    await->identity = zframe_dup(identity);
    await->req = req;
    await->in_order = in_order;
    await->deadline_ms = deadline_ms;
    await->count = count;
    await->slots = calloc(count, sizeof *await->slots);
    await->ready = calloc(count, sizeof *await->ready);
    assert(await->slots && await->ready);
    for (size_t index = 0; index < count; index++) {
        await->slots[index].await = await;
        await->slots[index].index = index;
        await->slots[index].id = ids[index];
    }
    await->handle = zlistx_add_end(self->awaits, await);
    await->side = ZJ_TO_CLIENT;
    return await;
}

zj_await_t *
zj_futures_await_parent(zj_futures_t *self, zframe_t *identity, uint64_t req,
                        const int64_t *ids, size_t count, bool in_order,
                        int64_t parent)
{
    assert(parent > 0);
    zj_futures_release_parent(self, parent);
    zj_await_t *await =
        zj_futures_await(self, identity, req, ids, count, in_order, 0);
    await->side = ZJ_TO_WORKER;
    await->parent = parent;
    int rc = zj_idmap_insert(self->by_parent, parent, await);
    assert(rc == 0);
    (void) rc;
    return await;
}

bool
zj_futures_release_parent(zj_futures_t *self, int64_t parent)
{
    assert(self);
    zj_await_t *await = zj_idmap_lookup(self->by_parent, parent);
    if (await == NULL)
        return false;
    zlistx_delete(self->awaits, await->handle);
    return true;
}

bool
zj_futures_next_woken(zj_futures_t *self, int64_t *parent_p)
{
    assert(self && parent_p);
    if (self->woken_count == 0)
        return false;
    *parent_p = self->woken[--self->woken_count];
    return true;
}

//  A parent's await ended: its worker resumes it once DONE arrives.
static void
s_wake(zj_futures_t *self, int64_t parent)
{
    if (self->woken_count == self->woken_size) {
        self->woken_size = self->woken_size ? self->woken_size * 2 : 16;
        self->woken =
            realloc(self->woken, self->woken_size * sizeof *self->woken);
        assert(self->woken);
    }
    self->woken[self->woken_count++] = parent;
}

static void
s_await_destroy(zj_await_t **await_p)
{
    zj_await_t *await = *await_p;
    if (await == NULL)
        return;
    assert(await->tag == ZJ_AWAIT_TAG);
    for (size_t index = 0; index < await->count; index++) {
        zj_slot_t *slot = &await->slots[index];
        if (slot->future)
            zlistx_delete(slot->future->waiters, slot->handle);
        if (slot->record) {
            zj_job_clear(slot->record);
            free(slot->record);
        }
    }
    if (await->dirty_handle)
        zlistx_delete(await->owner->dirty, await->dirty_handle);
    if (await->paused)
        await->owner->paused--;
    if (await->parent)
        zj_idmap_delete(await->owner->by_parent, await->parent);
    zframe_destroy(&await->identity);
    free(await->slots);
    free(await->ready);
    await->tag = 0;
    free(await);
    *await_p = NULL;
}

void
zj_await_park(zj_await_t *await, zj_future_t *future, size_t index)
{
    assert(await && await->tag == ZJ_AWAIT_TAG && index < await->count);
    assert(future && !future->resolved);
    if (future->waiters == NULL)
        future->waiters = zlistx_new();
    zj_slot_t *slot = &await->slots[index];
    slot->future = future;
    slot->handle = zlistx_add_end(future->waiters, slot);
}

void
zj_await_settle(zj_await_t *await, size_t index, const zj_job_t *job)
{
    assert(await && await->tag == ZJ_AWAIT_TAG && index < await->count);
    s_slot_settle(&await->slots[index], job);
}

//  Frees the copy of a slot's record; the slot stays settled.
static void
s_drop_record(zj_await_t *await, zj_slot_t *slot)
{
    if (slot->record == NULL)
        return;
    size_t bytes = s_record_bytes(slot->record);
    assert(await->copied >= bytes);
    await->copied -= bytes;
    zj_job_clear(slot->record);
    free(slot->record);
    slot->record = NULL;
}

//  A paused await keeps references only.
static void
s_drop_copies(zj_await_t *await)
{
    if (await->owner->loader == NULL)
        return;
    for (size_t index = 0; index < await->count && await->copied > 0; index++)
        s_drop_record(await, &await->slots[index]);
}

//  Reads a settled slot's record again if it holds none. Returns 0, or
//  non-zero when the loader cannot now.
static int
s_load(zj_await_t *await, zj_slot_t *slot)
{
    assert(slot->settled);
    if (slot->record)
        return 0;
    zj_futures_t *self = await->owner;
    assert(self->loader);
    zj_job_t *record = calloc(1, sizeof *record);
    assert(record);
    if (self->loader(self->loader_arg, slot->id, record) != 0) {
        zj_job_clear(record);
        free(record);
        return -1;
    }
    free(record->args); //  Not sent: free it at once
    record->args = NULL;
    slot->record = record;
    await->copied += s_record_bytes(record);
    return 0;
}

//  Takes the record of one slot into msg, which owns it afterwards.
//  Returns the bytes it adds, at most.
static size_t
s_take_record(zj_msg_t *msg, zj_slot_t *slot)
{
    zj_job_t *entry = zj_msg_add_job(msg);
    zj_job_t *record = slot->record;
    size_t bytes = s_record_bytes(record);
    assert(slot->await->copied >= bytes);
    slot->await->copied -= bytes;
    entry->id = record->id;
    entry->state = record->state;
    entry->attempts = record->attempts;
    entry->started_at = record->started_at;
    entry->finished_at = record->finished_at;
    entry->result = record->result;
    entry->error = record->error;
    entry->worker = record->worker;
    record->result = record->error = record->worker = NULL;
    zj_job_clear(record);
    free(record);
    slot->record = NULL;
    return bytes;
}

//  The next slot await may send (in order: the first not sent, if
//  settled; as completed: the taken-th ready one), or NULL.
static zj_slot_t *
s_peek(zj_await_t *await, size_t taken)
{
    if (await->in_order)
        return await->next < await->count && await->slots[await->next].settled
                   ? &await->slots[await->next]
                   : NULL;
    return taken < await->ready_count ? &await->slots[await->ready[taken]]
                                      : NULL;
}

//  Queues RESOLVED batches of what await may send, while its client has
//  room. Returns true when nothing it may send is left.
static bool
s_send_ready(zj_await_t *await, zj_outbox_t *outbox)
{
    zj_msg_t *msg = NULL;
    size_t bytes = 0;
    size_t taken = 0; //  As completed: entries of ready consumed
    bool drained = true;
    zj_slot_t *slot;
    while ((slot = s_peek(await, taken))) {
        if ((msg == NULL && await->side == ZJ_TO_CLIENT &&
             zj_outbox_room(outbox, await->identity) == 0) ||
            s_load(await, slot) != 0) {
            drained = false;
            break;
        }
        size_t size = s_record_bytes(slot->record);
        if (msg && (msg->job_count == ZJ_MAX_BATCH ||
                    bytes + size > ZJ_RESOLVED_BYTES)) {
            zj_outbox_send(outbox, await->side, await->identity, &msg);
            bytes = 0;
            continue; //  Room is asked again before the next batch
        }
        if (msg == NULL) {
            msg = zj_msg_new(ZJ_MSG_RESOLVED);
            msg->req = await->req;
        }
        bytes += s_take_record(msg, slot);
        if (await->in_order)
            await->next++;
        else
            taken++;
        await->sent++;
    }
    if (msg)
        zj_outbox_send(outbox, await->side, await->identity, &msg);
    if (taken > 0) {
        await->ready_count -= taken;
        memmove(await->ready, await->ready + taken,
                await->ready_count * sizeof *await->ready);
    }
    return drained;
}

static void
s_send_done(zj_await_t *await, bool timed_out, zj_outbox_t *outbox)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_DONE);
    msg->req = await->req;
    msg->timed_out = timed_out;
    zj_outbox_send(outbox, await->side, await->identity, &msg);
}

static void
s_mark_dirty(zj_await_t *await)
{
    if (await->dirty_handle == NULL)
        await->dirty_handle = zlistx_add_end(await->owner->dirty, await);
}

//  Sends what await can send; finishes it when complete, or expired with
//  nothing left to send; pauses it (dirty, references only) when its
//  client has no room.
static void
s_flush_one(zj_futures_t *self, zj_await_t *await, zj_outbox_t *outbox)
{
    bool drained = s_send_ready(await, outbox);
    bool complete = await->sent == await->count;
    if (drained && (complete || await->expired)) {
        s_send_done(await, !complete, outbox);
        if (await->parent)
            s_wake(self, await->parent);
        zlistx_delete(self->awaits, await->handle);
        return;
    }
    if (drained && await->paused) {
        await->paused = false;
        self->paused--;
    } else if (!drained) {
        if (!await->paused) {
            await->paused = true;
            self->paused++;
        }
        s_drop_copies(await);
        s_mark_dirty(await);
    }
}

//  Past its deadline: unparks what has not resolved, so the await ends
//  once what it holds is sent.
static void
s_expire(zj_await_t *await)
{
    await->expired = true;
    for (size_t index = 0; index < await->count; index++) {
        zj_slot_t *slot = &await->slots[index];
        if (slot->future)
            zlistx_delete(slot->future->waiters, slot->handle);
        slot->future = NULL;
        slot->handle = NULL;
    }
    s_mark_dirty(await);
}

void
zj_futures_flush(zj_futures_t *self, int64_t now_ms, zj_outbox_t *outbox)
{
    assert(self && outbox);
    int64_t deadline = zj_futures_next_deadline(self);
    if (deadline > 0 && now_ms >= deadline)
        for (zj_await_t *await = zlistx_first(self->awaits); await;
             await = zlistx_next(self->awaits))
            if (!await->expired && await->deadline_ms > 0 &&
                now_ms >= await->deadline_ms)
                s_expire(await);
    //  Each dirty await once: a paused one goes back to the end.
    for (size_t count = zlistx_size(self->dirty); count > 0; count--) {
        zj_await_t *await = zlistx_detach(self->dirty, NULL);
        await->dirty_handle = NULL;
        s_flush_one(self, await, outbox);
    }
}

size_t
zj_futures_release_if(zj_futures_t *self, zj_futures_doomed_fn *doomed,
                      void *arg, zj_outbox_t *outbox, int code,
                      const char *reason)
{
    assert(self && doomed && outbox && reason);
    size_t released = 0;
    zj_await_t *await = zlistx_first(self->awaits);
    while (await) {
        zj_await_t *following = zlistx_next(self->awaits);
        if (await->side == ZJ_TO_CLIENT && doomed(arg, await->identity)) {
            zj_outbox_error(outbox, ZJ_TO_CLIENT, await->identity, await->req,
                            code, reason);
            zlistx_delete(self->awaits, await->handle);
            released++;
        }
        await = following;
    }
    return released;
}

int64_t
zj_futures_next_deadline(const zj_futures_t *self)
{
    assert(self);
    int64_t earliest = 0;
    zlistx_t *awaits = self->awaits;
    zj_await_t *await = zlistx_first(awaits);
    while (await) {
        if (!await->expired && await->deadline_ms > 0 &&
            (earliest == 0 || await->deadline_ms < earliest))
            earliest = await->deadline_ms;
        await = zlistx_next(awaits);
    }
    return earliest;
}

size_t
zj_futures_release(zj_futures_t *self, zframe_t *identity)
{
    assert(self && identity);
    size_t released = 0;
    zj_await_t *await = zlistx_first(self->awaits);
    while (await) {
        zj_await_t *following = zlistx_next(self->awaits);
        if (await->side == ZJ_TO_CLIENT &&
            zframe_eq(await->identity, identity)) {
            zlistx_delete(self->awaits, await->handle);
            released++;
        }
        await = following;
    }
    return released;
}

size_t
zj_futures_paused(const zj_futures_t *self)
{
    assert(self);
    return self->paused;
}

size_t
zj_futures_awaits(const zj_futures_t *self)
{
    assert(self);
    return zlistx_size(self->awaits);
}

static bool
s_future_holds(const zj_futures_t *self, const zj_future_t *future)
{
    if (future->tag != ZJ_FUTURE_TAG ||
        zj_idmap_lookup(self->by_id, future->job.id) != future ||
        future->resolved != zj_state_is_final(future->job.state))
        return false;
    //  A resolved future has handed its records out: nobody waits on it.
    return !future->resolved || future->waiters == NULL ||
           zlistx_size(future->waiters) == 0;
}

static bool
s_await_holds(const zj_futures_t *self, const zj_await_t *await)
{
    if (await->tag != ZJ_AWAIT_TAG || await->owner != self ||
        await->sent > await->count || await->ready_count > await->count)
        return false;
    for (size_t index = 0; index < await->count; index++) {
        const zj_slot_t *slot = &await->slots[index];
        const zj_future_t *future = slot->future;
        if (future && (future->resolved || slot->settled ||
                       zj_idmap_lookup(self->by_id, future->job.id) != future))
            return false;
        if (slot->record && !slot->settled)
            return false;
    }
    return true;
}

bool
zj_futures_invariants_hold(const zj_futures_t *self)
{
    if (self == NULL)
        return false;
    size_t resolved = 0;
    zj_idmap_t *by_id = self->by_id;
    for (zj_future_t *future = zj_idmap_first(by_id); future;
         future = zj_idmap_next(by_id)) {
        if (!s_future_holds(self, future))
            return false;
        resolved += future->resolved;
    }
    if (resolved != zlistx_size(self->resolved))
        return false;
    zlistx_t *awaits = self->awaits;
    for (zj_await_t *await = zlistx_first(awaits); await;
         await = zlistx_next(awaits))
        if (!s_await_holds(self, await))
            return false;
    return true;
}
