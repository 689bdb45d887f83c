//  scheduler.c - per-kind priority heaps, the offers of each kind, and a
//  delay heap (see .h).
#include <assert.h>
#include <czmq.h>

#include "common/heap.h"
#include "coordinator/scheduler.h"

//  One kind: its ready jobs, and how many connected workers offer it.
//  The ready jobs are also linked in the order they became ready, so
//  the one that has waited longest is at hand (zj_scheduler_oldest).
typedef struct {
    zj_heap_t *heap;        //  Ready futures, owned
    zj_heap_t *last_chance; //  Ready futures at their last chance, owned
    size_t offers;          //  Connected workers that offer the kind
    zj_future_t *first;     //  Ready longest, or NULL
    zj_future_t *last;      //  Ready last, or NULL
} s_kind_t;

struct zj_scheduler {
    zhashx_t *kinds;          //  kind -> s_kind_t *, owned
    zj_heap_t *delayed;       //  Futures by not_before
    size_t ready_count;       //  Futures in all ready heaps
    size_t runnable_count;    //  ... in those of kinds offered
    size_t last_chance_count; //  ... in the last_chance heaps
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
s_kind_free(void **item_p)
{
    s_kind_t *kind = *item_p;
    if (kind == NULL)
        return;
    zj_heap_destroy(&kind->heap);
    zj_heap_destroy(&kind->last_chance);
    free(kind);
    *item_p = NULL;
}

zj_scheduler_t *
zj_scheduler_new(void)
{
    zj_scheduler_t *self = calloc(1, sizeof *self);
    assert(self);
    self->kinds = zhashx_new();
    zhashx_set_destructor(self->kinds, s_kind_free);
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
    zhashx_destroy(&self->kinds);
    zj_heap_destroy(&self->delayed);
    free(self);
    *self_p = NULL;
}

//  The entry of kind name, made on first use. Entries stay: there are
//  as many as kinds ever queued or offered.
static s_kind_t *
s_kind_require(zj_scheduler_t *self, const char *name)
{
    s_kind_t *kind = zhashx_lookup(self->kinds, name);
    if (kind == NULL) {
        kind = calloc(1, sizeof *kind);
        assert(kind);
        kind->heap = zj_heap_new(s_by_priority, s_moved);
        kind->last_chance = zj_heap_new(s_by_priority, s_moved);
        zhashx_insert(self->kinds, name, kind);
    }
    return kind;
}

//  The ready heap of kind that holds (or would hold) future.
static zj_heap_t *
s_heap_of(s_kind_t *kind, const zj_future_t *future)
{
    return future->last_chance ? kind->last_chance : kind->heap;
}

static size_t
s_ready_in(const s_kind_t *kind)
{
    return zj_heap_size(kind->heap) + zj_heap_size(kind->last_chance);
}

//  Links future last in kind's ready order.
static void
s_link(s_kind_t *kind, zj_future_t *future, double now)
{
    assert(future->ready_prev == NULL && future->ready_next == NULL);
    future->ready_since = now;
    future->ready_prev = kind->last;
    if (kind->last)
        kind->last->ready_next = future;
    else
        kind->first = future;
    kind->last = future;
}

static void
s_unlink(s_kind_t *kind, zj_future_t *future)
{
    if (future->ready_prev)
        future->ready_prev->ready_next = future->ready_next;
    else
        kind->first = future->ready_next;
    if (future->ready_next)
        future->ready_next->ready_prev = future->ready_prev;
    else
        kind->last = future->ready_prev;
    future->ready_prev = future->ready_next = NULL;
}

static void
s_make_ready(zj_scheduler_t *self, zj_future_t *future, double now)
{
    s_kind_t *kind = s_kind_require(self, future->job.kind);
    s_link(kind, future, now);
    zj_heap_push(s_heap_of(kind, future), future);
    self->ready_count++;
    self->last_chance_count += future->last_chance;
    self->runnable_count += kind->offers > 0;
}

//  Takes the future at position out of heap, one of kind's ready heaps.
static zj_future_t *
s_take_ready(zj_scheduler_t *self, s_kind_t *kind, zj_heap_t *heap,
             size_t position)
{
    zj_future_t *future = zj_heap_at(heap, position);
    zj_heap_remove(heap, position);
    s_unlink(kind, future);
    self->last_chance_count -= future->last_chance;
    self->ready_count--;
    self->runnable_count -= kind->offers > 0;
    return future;
}

void
zj_scheduler_push(zj_scheduler_t *self, zj_future_t *future, double now)
{
    assert(self && future && future->slot == ZJ_HEAP_NONE);
    assert(future->job.state == ZJ_STATE_QUEUED);
    if (future->job.not_before > now)
        zj_heap_push(self->delayed, future);
    else
        s_make_ready(self, future, now);
}

//  The best ready job among kinds[0..count), from their last_chance
//  heaps or from the others: it stays queued.
static zj_future_t *
s_best(const zj_scheduler_t *self, const char **kinds, size_t count,
       bool last_chance)
{
    zj_future_t *best = NULL;
    for (size_t index = 0; index < count; index++) {
        s_kind_t *kind = zhashx_lookup(self->kinds, kinds[index]);
        zj_future_t *top =
            kind ? zj_heap_peek(last_chance ? kind->last_chance : kind->heap)
                 : NULL;
        if (top && (best == NULL || s_by_priority(top, best) < 0))
            best = top;
    }
    return best;
}

static zj_future_t *
s_take(zj_scheduler_t *self, zj_future_t *future)
{
    if (future == NULL)
        return NULL;
    s_kind_t *kind = zhashx_lookup(self->kinds, future->job.kind);
    assert(kind && future->slot == 0);
    return s_take_ready(self, kind, s_heap_of(kind, future), 0);
}

zj_future_t *
zj_scheduler_next(zj_scheduler_t *self, const char **kinds, size_t count)
{
    assert(self);
    return s_take(self, s_best(self, kinds, count, false));
}

zj_future_t *
zj_scheduler_next_last_chance(zj_scheduler_t *self, const char **kinds,
                              size_t count)
{
    assert(self);
    return s_take(self, s_best(self, kinds, count, true));
}

bool
zj_scheduler_has_last_chance(const zj_scheduler_t *self, const char **kinds,
                             size_t count)
{
    assert(self);
    return self->last_chance_count > 0 &&
           s_best(self, kinds, count, true) != NULL;
}

void
zj_scheduler_remove(zj_scheduler_t *self, zj_future_t *future)
{
    assert(self && future);
    if (future->slot == ZJ_HEAP_NONE)
        return;
    s_kind_t *kind = zhashx_lookup(self->kinds, future->job.kind);
    zj_heap_t *heap = kind ? s_heap_of(kind, future) : NULL;
    size_t position = future->slot;
    if (heap && position < zj_heap_size(heap) &&
        zj_heap_at(heap, position) == future)
        s_take_ready(self, kind, heap, position);
    else
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
        s_make_ready(self, future, now);
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

void
zj_scheduler_offer(zj_scheduler_t *self, const char *name, int delta)
{
    assert(self && name && (delta == 1 || delta == -1));
    s_kind_t *kind = s_kind_require(self, name);
    assert(delta > 0 || kind->offers > 0);
    bool was_offered = kind->offers > 0;
    kind->offers += delta;
    if (was_offered != (kind->offers > 0)) {
        size_t ready = s_ready_in(kind);
        if (was_offered)
            self->runnable_count -= ready;
        else
            self->runnable_count += ready;
    }
}

bool
zj_scheduler_is_offered(const zj_scheduler_t *self, const char *name)
{
    assert(self && name);
    const s_kind_t *kind = zhashx_lookup(self->kinds, name);
    return kind && kind->offers > 0;
}

size_t
zj_scheduler_runnable(const zj_scheduler_t *self)
{
    assert(self);
    return self->runnable_count;
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
    const s_kind_t *entry = zhashx_lookup(self->kinds, kind);
    return entry ? s_ready_in(entry) : 0;
}

const zj_future_t *
zj_scheduler_oldest(const zj_scheduler_t *self, const char *kind)
{
    assert(self && kind);
    const s_kind_t *entry = zhashx_lookup(self->kinds, kind);
    return entry ? entry->first : NULL;
}

void
zj_scheduler_each_kind(const zj_scheduler_t *self, zj_scheduler_kind_fn *fn,
                       void *arg)
{
    assert(self && fn);
    zhashx_t *kinds = self->kinds;
    for (s_kind_t *kind = zhashx_first(kinds); kind; kind = zhashx_next(kinds))
        fn(arg, zhashx_cursor(kinds), s_ready_in(kind), kind->offers);
}

//  The ready order links exactly the futures of kind's heaps.
static bool
s_order_holds(const s_kind_t *kind)
{
    size_t linked = 0;
    const zj_future_t *before = NULL;
    for (const zj_future_t *future = kind->first; future;
         future = future->ready_next) {
        if (future->ready_prev != before || future->slot == ZJ_HEAP_NONE)
            return false;
        before = future;
        linked++;
    }
    return before == kind->last && linked == s_ready_in(kind);
}

//  Each item of heap knows its place, is queued (of kind, and at its last
//  chance or not as the heap, unless kind is NULL), and no child comes before
//  its parent.
static bool
s_heap_holds(const zj_heap_t *heap, const char *kind, bool last_chance,
             zj_heap_compare_fn *compare)
{
    size_t size = zj_heap_size(heap);
    for (size_t position = 0; position < size; position++) {
        const zj_future_t *future = zj_heap_at(heap, position);
        if (future->tag != ZJ_FUTURE_TAG || future->slot != position ||
            future->job.state != ZJ_STATE_QUEUED ||
            (kind && (strcmp(future->job.kind, kind) != 0 ||
                      future->last_chance != last_chance)))
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
    if (self == NULL ||
        !s_heap_holds(self->delayed, NULL, false, s_by_not_before))
        return false;
    size_t ready = 0, runnable = 0, last = 0;
    zhashx_t *kinds = self->kinds;
    for (s_kind_t *kind = zhashx_first(kinds); kind;
         kind = zhashx_next(kinds)) {
        const char *name = zhashx_cursor(kinds);
        if (!s_heap_holds(kind->heap, name, false, s_by_priority) ||
            !s_heap_holds(kind->last_chance, name, true, s_by_priority) ||
            !s_order_holds(kind))
            return false;
        ready += s_ready_in(kind);
        last += zj_heap_size(kind->last_chance);
        runnable += kind->offers > 0 ? s_ready_in(kind) : 0;
    }
    return ready == self->ready_count && runnable == self->runnable_count &&
           last == self->last_chance_count;
}
