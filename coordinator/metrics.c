//  metrics.c - counters and histograms since start (see .h).
#include <assert.h>
#include <czmq.h>

#include "coordinator/metrics.h"

#define S_STATES (ZJ_STATE_CANCELLED + 1)

typedef struct {
    const double *bounds; //  Upper bounds, ascending; +Inf after them
    size_t size;          //  How many bounds
    int64_t *counts;      //  size + 1 buckets, not cumulative
    double sum;           //  Seconds observed in all
    int64_t count;        //  Observations
} s_histogram_t;

typedef struct {
    int64_t submitted;
    int64_t finished[S_STATES];
    s_histogram_t duration;
} s_kind_t;

struct zj_metrics {
    zhashx_t *kinds; //  Name -> s_kind_t *, owned
    s_histogram_t commit;
};

static const double s_duration_bounds[] = ZJ_METRICS_DURATION_BOUNDS;
static const double s_commit_bounds[] = ZJ_METRICS_COMMIT_BOUNDS;

static void
s_histogram_init(s_histogram_t *histogram, const double *bounds, size_t size)
{
    histogram->bounds = bounds;
    histogram->size = size;
    histogram->counts = calloc(size + 1, sizeof *histogram->counts);
    assert(histogram->counts);
}

//  The first bucket whose bound is at least seconds: a binary search, as
//  Prometheus' le ("less or equal") reads.
static void
s_observe(s_histogram_t *histogram, double seconds)
{
    size_t low = 0, high = histogram->size;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (seconds <= histogram->bounds[middle])
            high = middle;
        else
            low = middle + 1;
    }
    histogram->counts[low]++;
    histogram->sum += seconds;
    histogram->count++;
}

static json_t *
s_histogram_json(const s_histogram_t *histogram)
{
    json_t *bounds = json_array(), *counts = json_array();
    for (size_t index = 0; index < histogram->size; index++)
        json_array_append_new(bounds, json_real(histogram->bounds[index]));
    for (size_t index = 0; index <= histogram->size; index++)
        json_array_append_new(counts, json_integer(histogram->counts[index]));
    return json_pack("{s:o, s:o, s:f, s:I}", "bounds", bounds, "counts", counts,
                     "sum", histogram->sum, "count",
                     (json_int_t) histogram->count);
}

static void
s_kind_free(void **item_p)
{
    s_kind_t *kind = *item_p;
    if (kind) {
        free(kind->duration.counts);
        free(kind);
    }
    *item_p = NULL;
}

zj_metrics_t *
zj_metrics_new(void)
{
    zj_metrics_t *self = calloc(1, sizeof *self);
    assert(self);
    self->kinds = zhashx_new();
    assert(self->kinds);
    zhashx_set_destructor(self->kinds, s_kind_free);
    s_histogram_init(&self->commit, s_commit_bounds, ZJ_METRICS_COMMIT_BUCKETS);
    return self;
}

void
zj_metrics_destroy(zj_metrics_t **self_p)
{
    assert(self_p);
    zj_metrics_t *self = *self_p;
    if (self == NULL)
        return;
    zhashx_destroy(&self->kinds);
    free(self->commit.counts);
    free(self);
    *self_p = NULL;
}

static s_kind_t *
s_kind_require(zj_metrics_t *self, const char *name)
{
    s_kind_t *kind = zhashx_lookup(self->kinds, name);
    if (kind == NULL) {
        kind = calloc(1, sizeof *kind);
        assert(kind);
        s_histogram_init(&kind->duration, s_duration_bounds,
                         ZJ_METRICS_DURATION_BUCKETS);
        zhashx_insert(self->kinds, name, kind);
    }
    return kind;
}

void
zj_metrics_submitted(zj_metrics_t *self, const char *kind)
{
    assert(self && kind);
    s_kind_require(self, kind)->submitted++;
}

void
zj_metrics_finished(zj_metrics_t *self, const char *kind, zj_state_t state,
                    double seconds)
{
    assert(self && kind);
    assert(state >= ZJ_STATE_SUCCEEDED && state < S_STATES);
    s_kind_t *entry = s_kind_require(self, kind);
    entry->finished[state]++;
    if (seconds >= 0)
        s_observe(&entry->duration, seconds);
}

void
zj_metrics_commit(zj_metrics_t *self, double seconds)
{
    assert(self);
    s_observe(&self->commit, seconds < 0 ? 0 : seconds);
}

static json_t *
s_kind_json(const s_kind_t *kind)
{
    json_t *finished = json_object();
    for (zj_state_t state = ZJ_STATE_SUCCEEDED; state < S_STATES; state++)
        json_object_set_new(finished, zj_state_name(state),
                            json_integer(kind->finished[state]));
    return json_pack("{s:I, s:o, s:o}", "submitted",
                     (json_int_t) kind->submitted, "finished", finished,
                     "duration", s_histogram_json(&kind->duration));
}

json_t *
zj_metrics_json(const zj_metrics_t *self)
{
    assert(self);
    json_t *kinds = json_object();
    zhashx_t *table = self->kinds;
    for (s_kind_t *kind = zhashx_first(table); kind; kind = zhashx_next(table))
        json_object_set_new(kinds, zhashx_cursor(table), s_kind_json(kind));
    return json_pack("{s:o, s:o}", "kinds", kinds, "commit",
                     s_histogram_json(&self->commit));
}
