//  scheduler.c - per-kind priority heaps and a delay heap (see .h).
#include <assert.h>
#include <czmq.h>

#include "common/heap.h"
#include "coordinator/scheduler.h"

struct zj_scheduler {
    zhashx_t *ready;    //  kind -> zj_heap_t * of ready futures, owned
    zj_heap_t *delayed; //  Futures by not_before
    size_t ready_count; //  Futures in all ready heaps
};

static void
s_moved(void *item, size_t position)
{
    ((zj_future_t *) item)->slot = position;
}

//  Higher priority first, then lower id (older).
static int
s_by_priority(const void *a, const void *b)
{
    const zj_job_t *left = &((const zj_future_t *) a)->job;
    const zj_job_t *right = &((const zj_future_t *) b)->job;
    if (left->priority != right->priority)
        return left->priority > right->priority ? -1 : 1;
    return (left->id > right->id) - (left->id < right->id);
}

static int
s_by_not_before(const void *a, const void *b)
{
    const zj_job_t *left = &((const zj_future_t *) a)->job;
    const zj_job_t *right = &((const zj_future_t *) b)->job;
    if (left->not_before != right->not_before)
        return left->not_before < right->not_before ? -1 : 1;
    return s_by_priority(a, b);
}

static void
s_heap_free(void **item_p)
{
    zj_heap_destroy((zj_heap_t **) item_p);
}

zj_scheduler_t *
zj_scheduler_new(void)
{
    zj_scheduler_t *self = calloc(1, sizeof *self);
    assert(self);
    self->ready = zhashx_new();
    zhashx_set_destructor(self->ready, s_heap_free);
    self->delayed = zj_heap_new(s_by_not_before, s_moved);
    return self;
}

void
zj_scheduler_destroy(zj_scheduler_t **self_p)
{
    assert(self_p);
    zj_scheduler_t *self = *self_p;
    if (self == NULL)
        return;
    zhashx_destroy(&self->ready);
    zj_heap_destroy(&self->delayed);
    free(self);
    *self_p = NULL;
}

static zj_heap_t *
s_ready_heap(zj_scheduler_t *self, const char *kind)
{
    zj_heap_t *heap = zhashx_lookup(self->ready, kind);
    if (heap == NULL) {
        heap = zj_heap_new(s_by_priority, s_moved);
        zhashx_insert(self->ready, kind, heap);
    }
    return heap;
}

static void
s_make_ready(zj_scheduler_t *self, zj_future_t *future)
{
    zj_heap_push(s_ready_heap(self, future->job.kind), future);
    self->ready_count++;
}

void
zj_scheduler_push(zj_scheduler_t *self, zj_future_t *future, double now)
{
    assert(self && future && future->slot == ZJ_HEAP_NONE);
    assert(future->job.state == ZJ_STATE_QUEUED);
    if (future->job.not_before > now)
        zj_heap_push(self->delayed, future);
    else
        s_make_ready(self, future);
}

zj_future_t *
zj_scheduler_next(zj_scheduler_t *self, const char **kinds, size_t count)
{
    assert(self);
    zj_heap_t *best = NULL;
    for (size_t index = 0; index < count; index++) {
        zj_heap_t *heap = zhashx_lookup(self->ready, kinds[index]);
        if (heap == NULL || zj_heap_size(heap) == 0)
            continue;
        if (best == NULL ||
            s_by_priority(zj_heap_peek(heap), zj_heap_peek(best)) < 0)
            best = heap;
    }
    if (best == NULL)
        return NULL;
    self->ready_count--;
    return zj_heap_pop(best);
}

void
zj_scheduler_remove(zj_scheduler_t *self, zj_future_t *future)
{
    assert(self && future);
    if (future->slot == ZJ_HEAP_NONE)
        return;
    zj_heap_t *heap = zhashx_lookup(self->ready, future->job.kind);
    size_t position = future->slot;
    if (heap && position < zj_heap_size(heap) &&
        zj_heap_at(heap, position) == future) {
        zj_heap_remove(heap, position);
        self->ready_count--;
    } else
        zj_heap_remove(self->delayed, position);
    assert(future->slot == ZJ_HEAP_NONE);
}

size_t
zj_scheduler_wake(zj_scheduler_t *self, double now)
{
    assert(self);
    size_t woken = 0;
    zj_future_t *future = zj_heap_peek(self->delayed);
    while (future && future->job.not_before <= now) {
        zj_heap_pop(self->delayed);
        s_make_ready(self, future);
        woken++;
        future = zj_heap_peek(self->delayed);
    }
    return woken;
}

double
zj_scheduler_next_wake(const zj_scheduler_t *self)
{
    assert(self);
    const zj_future_t *future = zj_heap_peek(self->delayed);
    return future ? future->job.not_before : 0;
}

size_t
zj_scheduler_ready(const zj_scheduler_t *self)
{
    assert(self);
    return self->ready_count;
}

size_t
zj_scheduler_delayed(const zj_scheduler_t *self)
{
    assert(self);
    return zj_heap_size(self->delayed);
}

size_t
zj_scheduler_ready_of(const zj_scheduler_t *self, const char *kind)
{
    assert(self);
    zj_heap_t *heap = zhashx_lookup(self->ready, kind);
    return heap ? zj_heap_size(heap) : 0;
}

//  Each item of heap knows its place, is queued (of kind, unless NULL),
//  and no child comes before its parent.
static bool
s_heap_holds(const zj_heap_t *heap, const char *kind,
             zj_heap_compare_fn *compare)
{
    size_t size = zj_heap_size(heap);
    for (size_t position = 0; position < size; position++) {
        const zj_future_t *future = zj_heap_at(heap, position);
        if (future->tag != ZJ_FUTURE_TAG || future->slot != position ||
            future->job.state != ZJ_STATE_QUEUED ||
            (kind && strcmp(future->job.kind, kind) != 0))
            return false;
        if (position > 0 &&
            compare(zj_heap_at(heap, (position - 1) / 2), future) > 0)
            return false;
    }
    return true;
}

bool
zj_scheduler_invariants_hold(const zj_scheduler_t *self)
{
    if (self == NULL || !s_heap_holds(self->delayed, NULL, s_by_not_before))
        return false;
    size_t ready = 0;
    zhashx_t *heaps = self->ready;
    for (zj_heap_t *heap = zhashx_first(heaps); heap;
         heap = zhashx_next(heaps)) {
        if (!s_heap_holds(heap, zhashx_cursor(heaps), s_by_priority))
            return false;
        ready += zj_heap_size(heap);
    }
    return ready == self->ready_count;
}
