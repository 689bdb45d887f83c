//  stats.c - counters of finished jobs per minute, and the report of
//  zjob stats (see stats.h).
#include <assert.h>
#include <czmq.h>
#include <math.h>

#include "coordinator/stats.h"

//  The final states counted, as indexes.
static const zj_state_t s_finals[] = {ZJ_STATE_SUCCEEDED, ZJ_STATE_FAILED,
                                      ZJ_STATE_CANCELLED};
#define S_FINALS 3

//  One kind's ring: slot minute % ZJ_STATS_MINUTES holds that minute's
//  counts while minute[slot] says it is that minute.
typedef struct {
    int64_t minute[ZJ_STATS_MINUTES];
    int64_t count[ZJ_STATS_MINUTES][S_FINALS];
} s_ring_t;

struct zj_stats {
    zhashx_t *rings; //  kind -> s_ring_t *, owned
};

static int
s_final_index(zj_state_t state)
{
    for (int index = 0; index < S_FINALS; index++)
        if (s_finals[index] == state)
            return index;
    return -1;
}

static int64_t
s_minute(double now)
{
    return (int64_t) floor(now / 60.0);
}

static void
s_ring_free(void **item)
{
    free(*item);
    *item = NULL;
}

zj_stats_t *
zj_stats_new(void)
{
    zj_stats_t *self = calloc(1, sizeof *self);
    assert(self);
    self->rings = zhashx_new();
    assert(self->rings);
    zhashx_set_destructor(self->rings, s_ring_free);
    return self;
}

void
zj_stats_destroy(zj_stats_t **self_p)
{
    assert(self_p);
    zj_stats_t *self = *self_p;
    if (self == NULL)
        return;
    zhashx_destroy(&self->rings);
    free(self);
    *self_p = NULL;
}

void
zj_stats_finished(zj_stats_t *self, const char *kind, zj_state_t state,
                  double now)
{
    assert(self && kind);
    int final = s_final_index(state);
    assert(final >= 0);
    s_ring_t *ring = zhashx_lookup(self->rings, kind);
    if (ring == NULL) {
        ring = calloc(1, sizeof *ring);
        assert(ring);
        for (int slot = 0; slot < ZJ_STATS_MINUTES; slot++)
            ring->minute[slot] = -1;
        zhashx_insert(self->rings, kind, ring);
    }
    int64_t minute = s_minute(now);
    int slot = (int) (minute % ZJ_STATS_MINUTES);
    if (ring->minute[slot] != minute) {
        ring->minute[slot] = minute;
        memset(ring->count[slot], 0, sizeof ring->count[slot]);
    }
    ring->count[slot][final]++;
}

//  The ring's count in state for minute, 0 if that slot holds another.
static int64_t
s_ring_count(const s_ring_t *ring, int final, int64_t minute)
{
    int slot = (int) (minute % ZJ_STATS_MINUTES);
    return ring->minute[slot] == minute ? ring->count[slot][final] : 0;
}

int64_t
zj_stats_count(zj_stats_t *self, const char *kind, zj_state_t state, double now,
               int minutes_ago)
{
    assert(self);
    assert(minutes_ago >= 0 && minutes_ago < ZJ_STATS_MINUTES);
    int final = s_final_index(state);
    assert(final >= 0);
    int64_t minute = s_minute(now) - minutes_ago;
    if (kind) {
        const s_ring_t *ring = zhashx_lookup(self->rings, kind);
        return ring ? s_ring_count(ring, final, minute) : 0;
    }
    int64_t total = 0;
    for (s_ring_t *ring = zhashx_first(self->rings); ring;
         ring = zhashx_next(self->rings))
        total += s_ring_count(ring, final, minute);
    return total;
}

//  True if ring counts a minute of the window ending at minute now.
static bool
s_ring_is_live(const s_ring_t *ring, int64_t now)
{
    for (int slot = 0; slot < ZJ_STATS_MINUTES; slot++)
        if (ring->minute[slot] > now - ZJ_STATS_MINUTES)
            return true;
    return false;
}

size_t
zj_stats_kinds(zj_stats_t *self, double now)
{
    assert(self);
    int64_t minute = s_minute(now);
    zlistx_t *dead = zlistx_new();
    for (s_ring_t *ring = zhashx_first(self->rings); ring;
         ring = zhashx_next(self->rings))
        if (!s_ring_is_live(ring, minute))
            zlistx_add_end(dead, (void *) zhashx_cursor(self->rings));
    for (const char *kind = zlistx_first(dead); kind; kind = zlistx_next(dead))
        zhashx_delete(self->rings, kind);
    zlistx_destroy(&dead);
    return zhashx_size(self->rings);
}

//  One kind's queue, counted from the futures.
typedef struct {
    const char *kind; //  Borrowed from a future
    int64_t queued;   //  Ready, delayed or held
    int64_t delayed;  //  ... of which wait for their time
    int64_t held;     //  ... of which wait for their after
    int64_t running;  //  Running
    int64_t oldest;   //  The queued job with the smallest id, or 0
    double oldest_at; //  ... made then
} s_queue_t;

#define S_CACHE 64 //  Kind pointers remembered (futures share kind names)

typedef struct {
    zhashx_t *index;             //  kind -> position + 1 in queues
    s_queue_t *queues;           //  One per kind seen
    size_t count;                //  Entries in queues
    const char *cached[S_CACHE]; //  A kind pointer seen ...
    size_t cached_at[S_CACHE];   //  ... and its position
} s_queues_t;

//  The queue of kind: by its pointer when seen before (futures share one
//  copy of each kind name), else by its name.
static s_queue_t *
s_queue_of(s_queues_t *queues, const char *kind)
{
    size_t slot = ((uintptr_t) kind >> 4) % S_CACHE;
    if (queues->cached[slot] == kind)
        return &queues->queues[queues->cached_at[slot]];
    size_t at = (size_t) (uintptr_t) zhashx_lookup(queues->index, kind);
    if (at == 0) {
        queues->queues = realloc(queues->queues,
                                 (queues->count + 1) * sizeof *queues->queues);
        assert(queues->queues);
        queues->queues[queues->count] = (s_queue_t){.kind = kind};
        at = ++queues->count;
        zhashx_insert(queues->index, kind, (void *) (uintptr_t) at);
    }
    queues->cached[slot] = kind;
    queues->cached_at[slot] = at - 1;
    return &queues->queues[at - 1];
}

//  One unfinished job in its kind's queue counts: queued (ready, delayed
//  or held for its after) or running, and the oldest queued by id.
static void
s_count_future(s_queues_t *queues, const zj_future_t *future, double now)
{
    const zj_job_t *job = &future->job;
    s_queue_t *queue = s_queue_of(queues, job->kind);
    if (job->state == ZJ_STATE_RUNNING) {
        queue->running++;
        return;
    }
    assert(job->state == ZJ_STATE_QUEUED);
    queue->queued++;
    if (future->waiting > 0)
        queue->held++;
    else if (job->not_before > now)
        queue->delayed++;
    if (queue->oldest == 0 || job->id < queue->oldest) {
        queue->oldest = job->id;
        queue->oldest_at = job->created_at;
    }
}

//  The "kinds" entry of kind in report, made if new.
static json_t *
s_kind_entry(json_t *kinds, const char *kind)
{
    json_t *entry = json_object_get(kinds, kind);
    if (entry)
        return entry;
    entry =
        json_pack("{s:I,s:I,s:I,s:I,s:n,s:I,s:I,s:I}", "queued", (json_int_t) 0,
                  "delayed", (json_int_t) 0, "held", (json_int_t) 0, "running",
                  (json_int_t) 0, "oldest_queued", "succeeded", (json_int_t) 0,
                  "failed", (json_int_t) 0, "cancelled", (json_int_t) 0);
    assert(entry);
    json_object_set_new(kinds, kind, entry);
    return entry;
}

static void
s_add(json_t *entry, const char *field, json_int_t value)
{
    json_t *member = json_object_get(entry, field);
    json_integer_set(member, json_integer_value(member) + value);
}

//  The queues of the unfinished jobs as report's "kinds" entries.
static json_t *
s_queues_json(zj_futures_t *futures, double now)
{
    s_queues_t queues = {.index = zhashx_new()};
    assert(queues.index);
    for (zj_future_t *future = zj_futures_first(futures); future;
         future = zj_futures_next(futures))
        s_count_future(&queues, future, now);
    json_t *kinds = json_object();
    for (size_t index = 0; index < queues.count; index++) {
        const s_queue_t *queue = &queues.queues[index];
        json_t *entry = s_kind_entry(kinds, queue->kind);
        s_add(entry, "queued", queue->queued);
        s_add(entry, "delayed", queue->delayed);
        s_add(entry, "held", queue->held);
        s_add(entry, "running", queue->running);
        double age = now - queue->oldest_at;
        if (queue->oldest > 0)
            json_object_set_new(entry, "oldest_queued",
                                json_pack("{s:I,s:f}", "id",
                                          (json_int_t) queue->oldest, "age_s",
                                          age > 0 ? age : 0.0));
    }
    zhashx_destroy(&queues.index);
    free(queues.queues);
    return kinds;
}

json_t *
zj_stats_report(zj_stats_t *self, zj_futures_t *futures, double now)
{
    assert(self && futures);
    json_t *kinds = s_queues_json(futures, now);
    zj_stats_kinds(self, now);
    json_t *per_minute = json_array();
    for (int ago = ZJ_STATS_MINUTES - 1; ago >= 0; ago--) {
        int64_t total = 0;
        for (int final = 0; final < S_FINALS; final++)
            total += zj_stats_count(self, NULL, s_finals[final], now, ago);
        json_array_append_new(per_minute, json_integer(total));
    }
    for (s_ring_t *ring = zhashx_first(self->rings); ring;
         ring = zhashx_next(self->rings)) {
        const char *kind = zhashx_cursor(self->rings);
        json_t *entry = s_kind_entry(kinds, kind);
        for (int final = 0; final < S_FINALS; final++)
            for (int ago = 0; ago < ZJ_STATS_MINUTES; ago++)
                s_add(entry, zj_state_name(s_finals[final]),
                      s_ring_count(ring, final, s_minute(now) - ago));
    }
    return json_pack("{s:f,s:i,s:o,s:o}", "at", now, "window_minutes",
                     ZJ_STATS_MINUTES, "kinds", kinds, "finished_per_minute",
                     per_minute);
}
