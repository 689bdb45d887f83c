//  schedules.c - the schedules in memory (see schedules.h): a czmq hash
//  by name owns each item, and a min-heap orders those with a next run
//  by it (then by name, so that two due at once fire in a fixed order).
#include <czmq.h>
#include <math.h>

#include "common/cron.h"
#include "common/err.h"
#include "common/heap.h"
#include "common/why.h"
#include "coordinator/schedules.h"
#include "proto/limits.h"

typedef struct {
    zj_job_t record; //  Owned strings
    zj_cron_t cron;  //  Parsed record.cron, if any
    size_t position; //  In the heap, or ZJ_HEAP_NONE (no next run)
} s_item_t;

struct zj_schedules {
    zhashx_t *items; //  name -> s_item_t *, owned
    zj_heap_t *heap; //  s_item_t * with a next run, by it
};

static int
s_earlier(const void *a, const void *b)
{
    const zj_job_t *first = &((const s_item_t *) a)->record;
    const zj_job_t *second = &((const s_item_t *) b)->record;
    if (first->not_before != second->not_before)
        return first->not_before < second->not_before ? -1 : 1;
    return strcmp(first->schedule, second->schedule);
}

static void
s_moved(void *item, size_t position)
{
    ((s_item_t *) item)->position = position;
}

static void
s_item_destroy(void **item_p)
{
    s_item_t *item = *item_p;
    if (item) {
        zj_job_clear(&item->record);
        free(item);
        *item_p = NULL;
    }
}

zj_schedules_t *
zj_schedules_new(void)
{
    zj_schedules_t *self = calloc(1, sizeof *self);
    assert(self);
    self->items = zhashx_new();
    assert(self->items);
    zhashx_set_destructor(self->items, s_item_destroy);
    self->heap = zj_heap_new(s_earlier, s_moved);
    return self;
}

void
zj_schedules_destroy(zj_schedules_t **self_p)
{
    assert(self_p);
    zj_schedules_t *self = *self_p;
    if (self == NULL)
        return;
    zj_heap_destroy(&self->heap);
    zhashx_destroy(&self->items);
    free(self);
    *self_p = NULL;
}

static double
s_next_of(const zj_job_t *record, const zj_cron_t *cron, double due, double now)
{
    if (record->every_ms > 0) {
        double period = (double) record->every_ms / 1000.0;
        double next = due + period;
        if (next <= now)
            next += period * (floor((now - next) / period) + 1);
        return next;
    }
    int64_t next = zj_cron_next(cron, (int64_t) floor(now));
    return next < 0 ? 0 : (double) next;
}

double
zj_schedules_next_run(const zj_job_t *record, double due, double now)
{
    assert(record && (record->every_ms > 0 || record->cron));
    zj_cron_t cron = {0};
    if (record->every_ms <= 0 && zj_cron_parse(record->cron, &cron, NULL) != 0)
        return 0;
    return s_next_of(record, &cron, due, now);
}

//  Puts item in the heap if it has a next run, at its place.
static void
s_place(zj_schedules_t *self, s_item_t *item)
{
    if (item->position != ZJ_HEAP_NONE)
        zj_heap_remove(self->heap, item->position);
    if (item->record.not_before > 0)
        zj_heap_push(self->heap, item);
    assert(item->record.not_before <= 0 || item->position != ZJ_HEAP_NONE);
}

const zj_job_t *
zj_schedules_put(zj_schedules_t *self, const zj_job_t *record, char *why)
{
    assert(self && record && record->schedule && record->kind);
    zj_cron_t cron = {0};
    if (record->every_ms <= 0 && zj_cron_parse(record->cron, &cron, why) != 0)
        return NULL;
    s_item_t *item = zhashx_lookup(self->items, record->schedule);
    if (item == NULL && zhashx_size(self->items) >= ZJ_MAX_SCHEDULES) {
        zj_why_set(why, "the coordinator keeps at most %d schedules",
                   ZJ_MAX_SCHEDULES);
        return NULL;
    }
    if (item == NULL) {
        item = calloc(1, sizeof *item);
        assert(item);
        item->position = ZJ_HEAP_NONE;
        zj_job_copy(&item->record, record);
        zhashx_insert(self->items, record->schedule, item);
    } else {
        zj_job_clear(&item->record);
        zj_job_copy(&item->record, record);
    }
    item->cron = cron;
    s_place(self, item);
    return &item->record;
}

const zj_job_t *
zj_schedules_find(const zj_schedules_t *self, const char *name)
{
    assert(self && name);
    s_item_t *item = zhashx_lookup(self->items, name);
    return item ? &item->record : NULL;
}

bool
zj_schedules_remove(zj_schedules_t *self, const char *name)
{
    assert(self && name);
    s_item_t *item = zhashx_lookup(self->items, name);
    if (item == NULL)
        return false;
    if (item->position != ZJ_HEAP_NONE)
        zj_heap_remove(self->heap, item->position);
    zhashx_delete(self->items, name);
    return true;
}

size_t
zj_schedules_size(const zj_schedules_t *self)
{
    assert(self);
    return zhashx_size(self->items);
}

const zj_job_t *
zj_schedules_due(const zj_schedules_t *self, double now)
{
    assert(self);
    s_item_t *item = zj_heap_peek(self->heap);
    return item && item->record.not_before <= now ? &item->record : NULL;
}

double
zj_schedules_next_at(const zj_schedules_t *self)
{
    assert(self);
    s_item_t *item = zj_heap_peek(self->heap);
    return item ? item->record.not_before : 0;
}

const zj_job_t *
zj_schedules_fired(zj_schedules_t *self, const char *name, int64_t id,
                   double now)
{
    assert(self && name);
    s_item_t *item = zhashx_lookup(self->items, name);
    assert(item && item->record.not_before > 0);
    double due = item->record.not_before;
    item->record.started_at = now;
    if (id > 0)
        item->record.id = id;
    item->record.not_before = s_next_of(&item->record, &item->cron, due, now);
    assert(item->record.not_before == 0 || item->record.not_before > now);
    s_place(self, item);
    return &item->record;
}

static int
s_by_name(const void *a, const void *b)
{
    const zj_job_t *first = *(const zj_job_t *const *) a;
    const zj_job_t *second = *(const zj_job_t *const *) b;
    return strcmp(first->schedule, second->schedule);
}

const zj_job_t **
zj_schedules_list(const zj_schedules_t *self, size_t *count)
{
    assert(self && count);
    *count = zhashx_size(self->items);
    const zj_job_t **records = calloc(*count + 1, sizeof *records);
    assert(records);
    size_t index = 0;
    for (s_item_t *item = zhashx_first(self->items); item;
         item = zhashx_next(self->items))
        records[index++] = &item->record;
    assert(index == *count);
    qsort(records, *count, sizeof *records, s_by_name);
    return records;
}
