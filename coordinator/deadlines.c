//  deadlines.c - the coordinator's deadlines of running attempts (see
//  deadlines.h): entries in an id map, ordered by a position heap.
#include <assert.h>
#include <stdlib.h>

#include "common/heap.h"
#include "common/idmap.h"
#include "coordinator/deadlines.h"

typedef struct {
    int64_t id;         //  The job
    int64_t started_ms; //  zj_mono_ms() of its dispatch
    int64_t due_ms;     //  zj_mono_ms() when the coordinator gives up
    size_t position;    //  In the heap
} zj_deadline_t;

struct zj_deadlines {
    zj_heap_t *heap;   //  zj_deadline_t *, earliest due first
    zj_idmap_t *by_id; //  id -> zj_deadline_t *, owned
    int64_t grace_ms;  //  After each timeout
};

//  Earliest first; the lower id breaks a tie, so the order is the same
//  on every run.
static int
s_compare(const void *a, const void *b)
{
    const zj_deadline_t *first = a, *second = b;
    if (first->due_ms != second->due_ms)
        return first->due_ms < second->due_ms ? -1 : 1;
    return first->id < second->id ? -1 : first->id > second->id;
}

static void
s_moved(void *item, size_t position)
{
    ((zj_deadline_t *) item)->position = position;
}

zj_deadlines_t *
zj_deadlines_new(int64_t grace_ms)
{
    assert(grace_ms >= 0);
    zj_deadlines_t *self = calloc(1, sizeof *self);
    assert(self);
    self->heap = zj_heap_new(s_compare, s_moved);
    self->by_id = zj_idmap_new();
    self->grace_ms = grace_ms;
    return self;
}

void
zj_deadlines_destroy(zj_deadlines_t **self_p)
{
    assert(self_p);
    zj_deadlines_t *self = *self_p;
    if (self == NULL)
        return;
    zj_deadline_t *entry;
    while ((entry = zj_heap_pop(self->heap)))
        free(entry);
    zj_heap_destroy(&self->heap);
    zj_idmap_destroy(&self->by_id);
    free(self);
    *self_p = NULL;
}

int64_t
zj_deadlines_grace(const zj_deadlines_t *self)
{
    assert(self);
    return self->grace_ms;
}

void
zj_deadlines_start(zj_deadlines_t *self, int64_t id, int64_t allowed_ms,
                   int64_t now_ms)
{
    assert(self && id > 0 && allowed_ms > 0 && now_ms >= 0);
    zj_deadline_t *entry = calloc(1, sizeof *entry);
    assert(entry);
    entry->id = id;
    entry->started_ms = now_ms;
    //  A timeout comes from the network: any int64 >= 0.
    int64_t room = INT64_MAX - now_ms - self->grace_ms;
    entry->due_ms =
        allowed_ms < room ? now_ms + allowed_ms + self->grace_ms : INT64_MAX;
    int rc = zj_idmap_insert(self->by_id, id, entry);
    assert(rc == 0);
    (void) rc;
    zj_heap_push(self->heap, entry);
}

bool
zj_deadlines_drop(zj_deadlines_t *self, int64_t id)
{
    assert(self);
    zj_deadline_t *entry = zj_idmap_delete(self->by_id, id);
    if (entry == NULL)
        return false;
    zj_heap_remove(self->heap, entry->position);
    free(entry);
    return true;
}

int64_t
zj_deadlines_expired(const zj_deadlines_t *self, int64_t now_ms)
{
    assert(self);
    const zj_deadline_t *first = zj_heap_peek(self->heap);
    return first && first->due_ms <= now_ms ? first->id : 0;
}

int64_t
zj_deadlines_next(const zj_deadlines_t *self)
{
    assert(self);
    const zj_deadline_t *first = zj_heap_peek(self->heap);
    return first ? first->due_ms : 0;
}

int64_t
zj_deadlines_due(const zj_deadlines_t *self, int64_t id)
{
    assert(self);
    const zj_deadline_t *entry = zj_idmap_lookup(self->by_id, id);
    return entry ? entry->due_ms : 0;
}

int64_t
zj_deadlines_started(const zj_deadlines_t *self, int64_t id)
{
    assert(self);
    const zj_deadline_t *entry = zj_idmap_lookup(self->by_id, id);
    return entry ? entry->started_ms : 0;
}

size_t
zj_deadlines_size(const zj_deadlines_t *self)
{
    assert(self);
    return zj_heap_size(self->heap);
}

bool
zj_deadlines_invariants_hold(const zj_deadlines_t *self)
{
    if (self == NULL || self->grace_ms < 0)
        return false;
    size_t size = zj_heap_size(self->heap);
    if (zj_idmap_size(self->by_id) != size)
        return false;
    for (size_t position = 0; position < size; position++) {
        const zj_deadline_t *entry = zj_heap_at(self->heap, position);
        if (entry->position != position ||
            zj_idmap_lookup(self->by_id, entry->id) != entry)
            return false;
        if (position > 0 &&
            s_compare(zj_heap_at(self->heap, (position - 1) / 2), entry) > 0)
            return false;
    }
    return true;
}
