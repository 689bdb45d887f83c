//  futures.c - futures of unfinished jobs and the awaits parked on them.
//  See futures.h. An await owns a slot per id; a slot is parked on the
//  future of its id (an entry in the future's waiters list) until the
//  future resolves, then holds a copy of the final record until sent.
#include <assert.h>

#include "common/duration.h"
#include "common/heap.h"
#include "common/idmap.h"
#include "coordinator/futures.h"
#include "coordinator/outbox.h"
#include "proto/limits.h"

#define ZJ_AWAIT_TAG 0x7a6a6177u
#define ZJ_RESOLVED_BYTES (4 * 1024 * 1024) //  Cut RESOLVED batches here

typedef struct {
    zj_await_t *await;   //  The await this slot belongs to
    size_t index;        //  Position of the id in the await
    zj_future_t *future; //  Future it is parked on, or NULL
    void *handle;        //  Its entry in future->waiters
    zj_job_t *record;    //  Final record, once settled, until sent
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
    void *handle;        //  Entry in zj_futures_t.awaits
    void *dirty_handle;  //  Entry in zj_futures_t.dirty, or NULL
    zj_futures_t *owner; //  The table it belongs to
};

struct zj_futures {
    zj_idmap_t *by_id;  //  id -> zj_future_t *, until reaped (the
                        //  unresolved ones owned and freed by hand)
    zlistx_t *resolved; //  zj_future_t * resolved, owned, until reaped
    zlistx_t *awaits;   //  zj_await_t *, owned
    zlistx_t *dirty;    //  zj_await_t * with something to send
    zhashx_t *kinds;    //  kind name -> the one copy its futures share
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
    zlistx_destroy(&self->dirty);
    zlistx_destroy(&self->awaits);
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

static void
s_slot_settle(zj_slot_t *slot, const zj_job_t *job)
{
    zj_await_t *await = slot->await;
    assert(slot->record == NULL);
    slot->record = calloc(1, sizeof *slot->record);
    assert(slot->record);
    zj_job_copy(slot->record, job);
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
    zlistx_add_end(self->resolved, future);
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
    }
    await->handle = zlistx_add_end(self->awaits, await);
    return await;
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

//  Takes the record of one slot into msg, which owns it afterwards.
static size_t
s_take_record(zj_msg_t *msg, zj_slot_t *slot)
{
    zj_job_t *entry = zj_msg_add_job(msg);
    zj_job_t *record = slot->record;
    entry->id = record->id;
    entry->state = record->state;
    entry->attempts = record->attempts;
    entry->started_at = record->started_at;
    entry->finished_at = record->finished_at;
    entry->result = record->result;
    entry->error = record->error;
    entry->worker = record->worker;
    record->result = record->error = record->worker = NULL;
    size_t bytes = 64 + (entry->result ? strlen(entry->result) : 0) +
                   (entry->error ? strlen(entry->error) : 0);
    zj_job_clear(record);
    free(record);
    slot->record = NULL;
    return bytes;
}

//  In order: the next slot this await may send, or NULL.
static zj_slot_t *
s_next_in_order(zj_await_t *await)
{
    if (await->next < await->count && await->slots[await->next].record)
        return &await->slots[await->next++];
    return NULL;
}

static void
s_send_ready(zj_await_t *await, zj_outbox_t *outbox)
{
    zj_msg_t *msg = NULL;
    size_t bytes = 0;
    size_t taken = 0; //  As completed: entries of ready consumed
    for (;;) {
        zj_slot_t *slot = NULL;
        if (await->in_order)
            slot = s_next_in_order(await);
        else if (taken < await->ready_count)
            slot = &await->slots[await->ready[taken++]];
        if (slot == NULL)
            break;
        if (msg == NULL) {
            msg = zj_msg_new(ZJ_MSG_RESOLVED);
            msg->req = await->req;
        }
        bytes += s_take_record(msg, slot);
        await->sent++;
        if (msg->job_count == ZJ_MAX_BATCH || bytes >= ZJ_RESOLVED_BYTES) {
            zj_outbox_send(outbox, ZJ_TO_CLIENT, await->identity, &msg);
            bytes = 0;
        }
    }
    await->ready_count = 0;
    if (msg)
        zj_outbox_send(outbox, ZJ_TO_CLIENT, await->identity, &msg);
}

static void
s_send_done(zj_await_t *await, bool timed_out, zj_outbox_t *outbox)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_DONE);
    msg->req = await->req;
    msg->timed_out = timed_out;
    zj_outbox_send(outbox, ZJ_TO_CLIENT, await->identity, &msg);
}

//  Sends what await can send; finishes it when complete or expired.
static void
s_flush_one(zj_futures_t *self, zj_await_t *await, int64_t now_ms,
            zj_outbox_t *outbox)
{
    s_send_ready(await, outbox);
    bool complete = await->sent == await->count;
    bool expired =
        !complete && await->deadline_ms > 0 && now_ms >= await->deadline_ms;
    if (complete || expired) {
        s_send_done(await, expired, outbox);
        zlistx_delete(self->awaits, await->handle);
    }
}

void
zj_futures_flush(zj_futures_t *self, int64_t now_ms, zj_outbox_t *outbox)
{
    assert(self && outbox);
    zj_await_t *await;
    while ((await = zlistx_detach(self->dirty, NULL))) {
        await->dirty_handle = NULL;
        s_flush_one(self, await, now_ms, outbox);
    }
    int64_t deadline = zj_futures_next_deadline(self);
    if (deadline == 0 || now_ms < deadline)
        return;
    await = zlistx_first(self->awaits);
    while (await) {
        zj_await_t *following = zlistx_next(self->awaits);
        if (await->deadline_ms > 0 && now_ms >= await->deadline_ms)
            s_flush_one(self, await, now_ms, outbox);
        await = following;
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
        if (doomed(arg, await->identity)) {
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
        if (await->deadline_ms > 0 &&
            (earliest == 0 || await->deadline_ms < earliest))
            earliest = await->deadline_ms;
        await = zlistx_next(awaits);
    }
    return earliest;
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
        if (future && (future->resolved || slot->record ||
                       zj_idmap_lookup(self->by_id, future->job.id) != future))
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
