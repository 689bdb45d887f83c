//  throttle.c - per-kind concurrency counts and token buckets (see .h).
#include <assert.h>
#include <math.h>
#include <stdio.h>

#include "coordinator/throttle.h"

//  A token within this of whole counts as whole: the due time of the
//  next token is rounded to a millisecond.
#define S_EPSILON 1e-6

//  One kind: its limits, its running jobs and its bucket.
typedef struct {
    int32_t running;     //  Its jobs running now
    int32_t concurrency; //  Most running at once; -1 = no such limit
    double rate;         //  Tokens per second; 0 = no such limit
    double tokens;       //  In the bucket at refilled_ms
    int64_t refilled_ms; //  When tokens was last brought up to date
    bool wanted;         //  Dispatch found it without a token
    double updated_at;   //  Unix seconds its limits were set
} s_kind_t;

struct zj_throttle {
    zhashx_t *kinds; //  name -> s_kind_t *, owned
    size_t limited;  //  Entries with a limit
    size_t wanted;   //  Entries with wanted set
    int64_t total;   //  Running jobs of all kinds
};

double
zj_throttle_burst(double rate)
{
    return rate / 10 > 1 ? rate / 10 : 1;
}

static bool
s_is_limited(const s_kind_t *kind)
{
    return kind->concurrency >= 0 || kind->rate > 0;
}

static void
s_kind_free(void **item_p)
{
    free(*item_p);
    *item_p = NULL;
}

zj_throttle_t *
zj_throttle_new(void)
{
    zj_throttle_t *self = calloc(1, sizeof *self);
    assert(self);
    self->kinds = zhashx_new();
    zhashx_set_destructor(self->kinds, s_kind_free);
    return self;
}

void
zj_throttle_destroy(zj_throttle_t **self_p)
{
    assert(self_p);
    zj_throttle_t *self = *self_p;
    if (self == NULL)
        return;
    zhashx_destroy(&self->kinds);
    free(self);
    *self_p = NULL;
}

static s_kind_t *
s_require(zj_throttle_t *self, const char *name)
{
    s_kind_t *kind = zhashx_lookup(self->kinds, name);
    if (kind == NULL) {
        kind = calloc(1, sizeof *kind);
        assert(kind);
        kind->concurrency = -1;
        zhashx_insert(self->kinds, name, kind);
    }
    return kind;
}

//  An entry with no limit and no running job goes.
static void
s_tidy(zj_throttle_t *self, const char *name, s_kind_t *kind)
{
    if (kind->running == 0 && !s_is_limited(kind))
        zhashx_delete(self->kinds, name);
}

void
zj_throttle_set(zj_throttle_t *self, const zj_kind_limit_t *limit,
                int64_t now_ms)
{
    assert(self && limit && limit->kind);
    assert(limit->concurrency >= -1 && limit->rate >= 0);
    s_kind_t *kind = s_require(self, limit->kind);
    self->limited -= s_is_limited(kind);
    kind->concurrency = limit->concurrency;
    kind->rate = limit->rate;
    kind->updated_at = limit->updated_at;
    kind->tokens = zj_throttle_burst(limit->rate);
    kind->refilled_ms = now_ms;
    self->wanted -= kind->wanted;
    kind->wanted = false;
    self->limited += s_is_limited(kind);
    s_tidy(self, limit->kind, kind);
}

void
zj_throttle_clear(zj_throttle_t *self, const char *kind)
{
    assert(self && kind);
    zj_kind_limit_t none = {.kind = (char *) kind, .concurrency = -1};
    zj_throttle_set(self, &none, 0);
}

bool
zj_throttle_get(const zj_throttle_t *self, const char *name,
                zj_kind_limit_t *out)
{
    assert(self && name && out);
    const s_kind_t *kind = zhashx_lookup(self->kinds, name);
    out->kind = (char *) name;
    out->concurrency = kind ? kind->concurrency : -1;
    out->rate = kind ? kind->rate : 0;
    out->burst = kind && kind->rate > 0 ? zj_throttle_burst(kind->rate) : 0;
    out->running = kind ? kind->running : 0;
    out->updated_at = kind ? kind->updated_at : 0;
    return kind && s_is_limited(kind);
}

static int
s_by_name(const void *left, const void *right)
{
    return strcmp(left, right);
}

zlistx_t *
zj_throttle_kinds(const zj_throttle_t *self)
{
    assert(self);
    zlistx_t *names = zlistx_new();
    zlistx_set_comparator(names, (zlistx_comparator_fn *) s_by_name);
    zhashx_t *kinds = self->kinds;
    for (s_kind_t *kind = zhashx_first(kinds); kind; kind = zhashx_next(kinds))
        if (s_is_limited(kind))
            zlistx_add_end(names, (void *) zhashx_cursor(kinds));
    zlistx_sort(names);
    return names;
}

bool
zj_throttle_is_limiting(const zj_throttle_t *self)
{
    assert(self);
    return self->limited > 0;
}

//  Tokens in kind's bucket at now_ms.
static double
s_tokens(const s_kind_t *kind, int64_t now_ms)
{
    double burst = zj_throttle_burst(kind->rate);
    int64_t elapsed =
        now_ms > kind->refilled_ms ? now_ms - kind->refilled_ms : 0;
    double tokens = kind->tokens + kind->rate * (double) elapsed / 1000.0;
    return tokens < burst ? tokens : burst;
}

void
zj_throttle_started(zj_throttle_t *self, const char *name, int64_t now_ms)
{
    assert(self && name);
    s_kind_t *kind = s_require(self, name);
    kind->running++;
    self->total++;
    if (kind->rate > 0) {
        kind->tokens = s_tokens(kind, now_ms) - 1;
        kind->refilled_ms = now_ms;
    }
}

void
zj_throttle_ended(zj_throttle_t *self, const char *name)
{
    assert(self && name);
    s_kind_t *kind = zhashx_lookup(self->kinds, name);
    assert(kind && kind->running > 0);
    kind->running--;
    self->total--;
    s_tidy(self, name, kind);
}

int64_t
zj_throttle_total(const zj_throttle_t *self)
{
    assert(self);
    return self->total;
}

int32_t
zj_throttle_running(const zj_throttle_t *self, const char *name)
{
    assert(self && name);
    const s_kind_t *kind = zhashx_lookup(self->kinds, name);
    return kind ? kind->running : 0;
}

static zj_hold_t
s_holds(const s_kind_t *kind, int64_t now_ms)
{
    if (kind == NULL)
        return ZJ_HOLD_NONE;
    if (kind->concurrency >= 0 && kind->running >= kind->concurrency)
        return ZJ_HOLD_CONCURRENCY;
    if (kind->rate > 0 && s_tokens(kind, now_ms) < 1 - S_EPSILON)
        return ZJ_HOLD_RATE;
    return ZJ_HOLD_NONE;
}

zj_hold_t
zj_throttle_holds(const zj_throttle_t *self, const char *name, int64_t now_ms)
{
    assert(self && name);
    return s_holds(zhashx_lookup(self->kinds, name), now_ms);
}

zj_hold_t
zj_throttle_gate(zj_throttle_t *self, const char *name, int64_t now_ms)
{
    assert(self && name);
    s_kind_t *kind = zhashx_lookup(self->kinds, name);
    zj_hold_t hold = s_holds(kind, now_ms);
    if (hold == ZJ_HOLD_RATE && !kind->wanted) {
        kind->wanted = true;
        self->wanted++;
    }
    return hold;
}

int64_t
zj_throttle_next_token(zj_throttle_t *self, int64_t now_ms)
{
    assert(self);
    int64_t next = 0;
    if (self->wanted == 0)
        return 0;
    zhashx_t *kinds = self->kinds;
    for (s_kind_t *kind = zhashx_first(kinds); kind;
         kind = zhashx_next(kinds)) {
        if (!kind->wanted)
            continue;
        double missing = 1 - s_tokens(kind, now_ms);
        int64_t due = now_ms;
        if (kind->rate <= 0 || missing <= S_EPSILON) {
            kind->wanted = false; //  Dispatch looks again at once
            self->wanted--;
        } else
            due += (int64_t) ceil(missing / kind->rate * 1000.0);
        if (next == 0 || due < next)
            next = due;
    }
    return next;
}

bool
zj_throttle_describe(const zj_throttle_t *self, const char *name,
                     int64_t now_ms, char *text, size_t size)
{
    assert(self && name && text && size > 0);
    const s_kind_t *kind = zhashx_lookup(self->kinds, name);
    *text = '\0';
    switch (s_holds(kind, now_ms)) {
    case ZJ_HOLD_NONE:
        return false;
    case ZJ_HOLD_CONCURRENCY:
        if (kind->concurrency == 0)
            snprintf(text, size, "kind %s is paused (concurrency 0)", name);
        else
            snprintf(text, size,
                     "kind %s at its concurrency limit (%" PRId32 " running)",
                     name, kind->running);
        return true;
    case ZJ_HOLD_RATE:
        snprintf(text, size, "kind %s at its rate limit (%g/s)", name,
                 kind->rate);
        return true;
    }
    return false;
}

bool
zj_throttle_invariants_hold(const zj_throttle_t *self)
{
    if (self == NULL)
        return false;
    size_t limited = 0, wanted = 0;
    int64_t total = 0;
    zhashx_t *kinds = self->kinds;
    for (s_kind_t *kind = zhashx_first(kinds); kind;
         kind = zhashx_next(kinds)) {
        if (kind->running < 0 || kind->concurrency < -1 || kind->rate < 0 ||
            (kind->running == 0 && !s_is_limited(kind)))
            return false;
        if (kind->rate > 0 && kind->tokens > zj_throttle_burst(kind->rate))
            return false;
        if (kind->wanted && kind->rate <= 0)
            return false;
        limited += s_is_limited(kind);
        wanted += kind->wanted;
        total += kind->running;
    }
    return limited == self->limited && wanted == self->wanted &&
           total == self->total;
}
