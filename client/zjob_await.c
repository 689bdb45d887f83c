//  zjob_await.c - libzjob's await: the distinct ids cut into chunks of
//  ZJ_MAX_BATCH, one AWAIT in flight per chunk (only the first unfinished
//  one when in order), RESOLVED frames delivered to the caller by id, and
//  the AWAITs sent again when the connection comes back. Bounded by the
//  caller's timeout plus the reply timeout, and by the reply timeout once
//  the link is down.
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "client/zjob_internal.h"
#include "common/duration.h"
#include "common/err.h"
#include "proto/limits.h"

typedef struct {
    int64_t id;   //  Job id
    size_t index; //  Its place in s_await_t.ids
} s_place_t;

typedef struct {
    uint64_t req;   //  AWAIT in flight for this chunk; 0 = none
    size_t first;   //  First index into s_await_t.ids
    size_t count;   //  Ids in the chunk
    size_t pending; //  Of those, not resolved yet
} s_chunk_t;

typedef struct {
    zjob_client_t *client; //  The caller
    int64_t *ids;          //  Distinct ids, in first-seen order
    bool *resolved;        //  Per entry of ids
    s_place_t *places;     //  ids sorted by id, for lookups
    size_t count;          //  Entries in ids, resolved and places
    size_t pending;        //  Entries not resolved yet
    s_chunk_t *chunks;     //  ZJ_MAX_BATCH ids each
    size_t chunk_count;    //  Entries in chunks
    bool in_order;         //  One chunk at a time, resolved in order
    int64_t deadline;      //  Monotonic ms, or -1 for ever
    zjob_result_fn *fn;    //  Called per resolved id
    void *arg;             //  The caller's pointer
} s_await_t;

static int
s_place_compare_id(const void *left, const void *right)
{
    const s_place_t *a = left, *b = right;
    return a->id < b->id ? -1 : a->id > b->id;
}

//  By id, then by index: the first place of an id is its first sight.
static int
s_place_compare(const void *left, const void *right)
{
    int order = s_place_compare_id(left, right);
    if (order)
        return order;
    const s_place_t *a = left, *b = right;
    return a->index < b->index ? -1 : a->index > b->index;
}

//  Keeps the first sight of each id of ids[count] in await->ids, in input
//  order, and indexes them by id in await->places. Returns 0 or ZJ_ENOMEM.
static int
s_await_dedupe(s_await_t *await, const int64_t *ids, size_t count)
{
    await->ids = calloc(count, sizeof(int64_t));
    await->resolved = calloc(count, sizeof(bool));
    await->places = calloc(count, sizeof(s_place_t));
    bool *first_sight = calloc(count, sizeof(bool));
    if (!await->ids || !await->resolved || !await->places || !first_sight) {
        free(first_sight);
        return ZJ_ENOMEM;
    }
    s_place_t *places = await->places;
    for (size_t index = 0; index < count; index++)
        places[index] = (s_place_t){ids[index], index};
    qsort(places, count, sizeof(s_place_t), s_place_compare);
    for (size_t index = 0; index < count; index++)
        first_sight[places[index].index] =
            index == 0 || places[index - 1].id != places[index].id;
    for (size_t index = 0; index < count; index++)
        if (first_sight[index])
            await->ids[await->count++] = ids[index];
    free(first_sight);
    for (size_t index = 0; index < await->count; index++)
        places[index] = (s_place_t){await->ids[index], index};
    qsort(places, await->count, sizeof(s_place_t), s_place_compare);
    await->pending = await->count;
    return 0;
}

//  Cuts the distinct ids into chunks of ZJ_MAX_BATCH, one AWAIT each.
static int
s_await_cut(s_await_t *await)
{
    await->chunk_count = (await->count + ZJ_MAX_BATCH - 1) / ZJ_MAX_BATCH;
    await->chunks = calloc(await->chunk_count, sizeof(s_chunk_t));
    if (await->chunks == NULL)
        return ZJ_ENOMEM;
    for (size_t index = 0; index < await->chunk_count; index++) {
        s_chunk_t *chunk = &await->chunks[index];
        chunk->first = index * ZJ_MAX_BATCH;
        chunk->count = await->count - chunk->first;
        if (chunk->count > ZJ_MAX_BATCH)
            chunk->count = ZJ_MAX_BATCH;
        chunk->pending = chunk->count;
    }
    return 0;
}

static void
s_await_clear(s_await_t *await)
{
    free(await->ids);
    free(await->resolved);
    free(await->places);
    free(await->chunks);
}

//  Sends AWAIT for the pending ids of chunk. Returns 0 or a send error.
static int
s_await_send(s_await_t *await, s_chunk_t *chunk)
{
    zjob_client_t *self = await->client;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_AWAIT);
    for (size_t index = chunk->first; index < chunk->first + chunk->count;
         index++)
        if (!await->resolved[index])
            zj_msg_add_id(msg, await->ids[index]);
    msg->in_order = await->in_order;
    if (await->deadline >= 0) {
        int64_t left = await->deadline - zj_mono_ms();
        msg->timeout_ms = left > 0 ? left : 1; //  0 would mean for ever
    }
    msg->req = ++self->last_req;
    chunk->req = msg->req;
    int rc = zj_client_send(self, &msg);
    if (rc)
        chunk->req = 0;
    return rc;
}

//  Sends AWAIT for every chunk that should be in flight and is not: the
//  first unfinished one when in order, else all unfinished ones.
static int
s_await_send_due(s_await_t *await)
{
    for (size_t index = 0; index < await->chunk_count; index++) {
        s_chunk_t *chunk = &await->chunks[index];
        if (chunk->pending == 0)
            continue;
        if (chunk->req == 0) {
            int rc = s_await_send(await, chunk);
            if (rc)
                return rc;
        }
        if (await->in_order)
            break;
    }
    return 0;
}

static s_chunk_t *
s_await_chunk(s_await_t *await, uint64_t req)
{
    for (size_t index = 0; req && index < await->chunk_count; index++)
        if (await->chunks[index].req == req)
            return &await->chunks[index];
    return NULL;
}

static void
s_await_resolve(s_await_t *await, s_chunk_t *chunk, const zj_job_t *job)
{
    s_place_t key = {job->id, 0};
    s_place_t *place = bsearch(&key, await->places, await->count,
                               sizeof(s_place_t), s_place_compare_id);
    if (place == NULL || await->resolved[place->index] ||
        place->index < chunk->first ||
        place->index >= chunk->first + chunk->count)
        return; //  Not asked for in this chunk, or already delivered
    await->resolved[place->index] = true;
    chunk->pending--;
    await->pending--;
    zjob_result_t view;
    zj_client_job_view(job, &view);
    await->fn(await->arg, &view);
}

//  Handles one frame of the await's own. Returns 0 to go on, or the code
//  that ends the await.
static int
s_await_handle(s_await_t *await, s_chunk_t *chunk, const zj_msg_t *msg)
{
    zjob_client_t *self = await->client;
    switch (msg->type) {
    case ZJ_MSG_RESOLVED:
        for (size_t index = 0; index < msg->job_count; index++)
            s_await_resolve(await, chunk, &msg->jobs[index]);
        return 0;
    case ZJ_MSG_DONE:
        chunk->req = 0;
        if (msg->timed_out)
            return zj_client_fail(self, ZJ_ETIMEOUT,
                                  "%zu of %zu jobs not finished",
                                  await->pending, await->count);
        if (chunk->pending > 0)
            return zj_client_fail(self, ZJ_EPROTO,
                                  "DONE with %zu ids unresolved",
                                  chunk->pending);
        return 0;
    case ZJ_MSG_ERROR:
        return zj_client_error_reply(self, msg);
    default:
        return zj_client_fail(self, ZJ_EPROTO,
                              "expected RESOLVED or DONE, got %s",
                              zj_msg_type_name(msg->type));
    }
}

//  When to give up waiting for the next frame: the caller's deadline plus
//  the reply timeout (the coordinator owes a DONE), or the reply timeout
//  after the link dropped, whichever comes first. -1 for never.
static int64_t
s_await_wake(const s_await_t *await)
{
    const zjob_client_t *self = await->client;
    int64_t wake = await->deadline < 0 ? -1 : await->deadline + self->reply_ms;
    if (self->link_lost && (wake < 0 || self->lost_at + self->reply_ms < wake))
        wake = self->lost_at + self->reply_ms;
    return wake;
}

//  On a link that came back, the coordinator may have lost our AWAITs:
//  forget them (their late frames will be dropped) and send them again.
static void
s_await_relink(s_await_t *await)
{
    await->client->relinked = false;
    for (size_t index = 0; index < await->chunk_count; index++)
        await->chunks[index].req = 0;
}

static int
s_await_run(s_await_t *await)
{
    zjob_client_t *self = await->client;
    while (await->pending > 0) {
        if (self->relinked)
            s_await_relink(await);
        int rc = s_await_send_due(await);
        if (rc)
            return rc;
        zj_msg_t *msg = NULL;
        uint64_t req = 0;
        int64_t wake = s_await_wake(await);
        int64_t tick = self->tick_fn ? zj_mono_ms() + self->tick_ms : -1;
        bool ticking = tick >= 0 && (wake < 0 || tick < wake);
        rc = zj_client_next(self, ticking ? tick : wake, &msg, &req);
        if (rc == ZJ_ETIMEOUT && ticking) {
            self->tick_fn(self->tick_arg);
            continue;
        }
        if (rc == ZJ_ETIMEOUT && self->link_lost)
            return zj_client_fail(self, ZJ_EUNREACH,
                                  "lost coordinator at %s for %lld ms",
                                  self->endpoint, (long long) self->reply_ms);
        if (rc == ZJ_ETIMEOUT)
            return zj_client_fail(self, ZJ_ETIMEOUT,
                                  "%zu of %zu jobs not finished "
                                  "(and no DONE from the coordinator)",
                                  await->pending, await->count);
        s_chunk_t *chunk = s_await_chunk(await, msg ? msg->req : req);
        if (rc == 0 && msg && chunk)
            rc = s_await_handle(await, chunk, msg);
        zj_msg_destroy(&msg);
        if (rc == ZJ_ECANCELLED || rc == ZJ_ESYS || (rc && chunk))
            return rc;
    }
    return 0;
}

int
zjob_client_await(zjob_client_t *self, const int64_t *ids, size_t count,
                  bool in_order, int64_t timeout_ms, zjob_result_fn *fn,
                  void *arg)
{
    assert(self);
    assert(fn);
    zj_client_begin(self);
    if (count == 0)
        return 0;
    if (ids == NULL)
        return zj_client_fail(self, ZJ_EUSAGE, "no job ids");
    for (size_t index = 0; index < count; index++)
        if (ids[index] <= 0)
            return zj_client_fail(self, ZJ_EUSAGE, "bad job id %lld",
                                  (long long) ids[index]);
    s_await_t await = {.client = self,
                       .in_order = in_order,
                       .fn = fn,
                       .arg = arg,
                       .deadline =
                           timeout_ms < 0 ? -1 : zj_mono_ms() + timeout_ms};
    int rc = s_await_dedupe(&await, ids, count);
    if (rc == 0)
        rc = s_await_cut(&await);
    if (rc == 0)
        rc = s_await_run(&await);
    else
        zj_client_fail(self, rc, "out of memory");
    s_await_clear(&await);
    return zj_client_end(self, rc);
}
