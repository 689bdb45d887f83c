//  unacked.c - RESULTS batches kept until the coordinator acknowledges
//  them (see unacked.h). A zlistx in sequence order: batches are added at
//  the end and ACKs mostly name the oldest, so the scan from the front
//  that finds them is short.
#include <assert.h>
#include <czmq.h>

#include "worker/unacked.h"

typedef struct {
    uint64_t seq;    //  The batch's req
    char *data;      //  Its encoded frame, owned
    size_t size;     //  Bytes in data
    size_t results;  //  Results it carries
    int64_t sent_ms; //  zj_mono_ms() of its last send
    int late;        //  Re-sends for lateness since the last resend_all
    bool due;        //  Marked to go out: zj_unacked_next_due returns it
} zj_batch_t;

struct zj_unacked {
    zlistx_t *batches; //  zj_batch_t *, ascending seq, owned
    uint64_t last_seq; //  Last number zj_unacked_new_seq returned
    size_t results;    //  Sum of the held batches' results
    size_t due;        //  Held batches marked due
};

static void
s_batch_destroy(void **item_p)
{
    zj_batch_t *batch = *item_p;
    if (batch) {
        free(batch->data);
        free(batch);
    }
    *item_p = NULL;
}

static bool
s_invariants_hold(const zj_unacked_t *self)
{
    zlistx_t *batches = self->batches;
    uint64_t previous = 0;
    size_t results = 0;
    size_t due = 0;
    void *cursor = zlistx_first(batches);
    for (; cursor; cursor = zlistx_next(batches)) {
        const zj_batch_t *batch = cursor;
        if (batch->seq <= previous || batch->seq > self->last_seq ||
            batch->data == NULL)
            return false;
        previous = batch->seq;
        results += batch->results;
        due += batch->due;
    }
    return results == self->results && due == self->due;
}

zj_unacked_t *
zj_unacked_new(void)
{
    zj_unacked_t *self = calloc(1, sizeof *self);
    assert(self);
    self->batches = zlistx_new();
    assert(self->batches);
    zlistx_set_destructor(self->batches, s_batch_destroy);
    return self;
}

void
zj_unacked_destroy(zj_unacked_t **self_p)
{
    assert(self_p);
    zj_unacked_t *self = *self_p;
    if (self == NULL)
        return;
    zlistx_destroy(&self->batches);
    free(self);
    *self_p = NULL;
}

uint64_t
zj_unacked_new_seq(zj_unacked_t *self)
{
    assert(self);
    return ++self->last_seq;
}

uint64_t
zj_unacked_last_seq(const zj_unacked_t *self)
{
    assert(self);
    return self->last_seq;
}

void
zj_unacked_add(zj_unacked_t *self, uint64_t seq, char **data_p, size_t size,
               size_t results, int64_t sent_ms, bool due)
{
    assert(self);
    assert(data_p && *data_p);
    assert(seq > 0 && seq <= self->last_seq);
    zj_batch_t *last = zlistx_last(self->batches);
    assert(last == NULL || last->seq < seq);
    (void) last;
    zj_batch_t *batch = calloc(1, sizeof *batch);
    assert(batch);
    batch->seq = seq;
    batch->data = *data_p;
    *data_p = NULL;
    batch->size = size;
    batch->results = results;
    batch->sent_ms = sent_ms;
    batch->due = due;
    zlistx_add_end(self->batches, batch);
    self->results += results;
    self->due += due;
    assert(s_invariants_hold(self));
}

bool
zj_unacked_ack(zj_unacked_t *self, uint64_t seq)
{
    assert(self);
    for (zj_batch_t *batch = zlistx_first(self->batches); batch;
         batch = zlistx_next(self->batches)) {
        if (batch->seq > seq)
            break; //  Ascending: it is not held
        if (batch->seq == seq) {
            self->results -= batch->results;
            self->due -= batch->due;
            zlistx_delete(self->batches, zlistx_cursor(self->batches));
            assert(s_invariants_hold(self));
            return true;
        }
    }
    return false;
}

//  Marks due the batches unacknowledged for longer than their wait
//  (wait_ms doubled per late re-send); wait_ms < 0 means all of them.
static size_t
s_resend(zj_unacked_t *self, int64_t wait_ms, int64_t now_ms, size_t *results_p)
{
    assert(self);
    size_t count = 0;
    for (zj_batch_t *batch = zlistx_first(self->batches); batch;
         batch = zlistx_next(self->batches)) {
        if (wait_ms >= 0 && now_ms - batch->sent_ms <= wait_ms << batch->late)
            continue;
        if (!batch->due) {
            batch->due = true;
            self->due++;
        }
        batch->sent_ms = now_ms;
        if (wait_ms < 0)
            batch->late = 0;
        else if (batch->late < ZJ_UNACKED_BACKOFF)
            batch->late++;
        count++;
        if (results_p)
            *results_p += batch->results;
    }
    assert(s_invariants_hold(self));
    return count;
}

size_t
zj_unacked_resend_all(zj_unacked_t *self, int64_t now_ms, size_t *results_p)
{
    return s_resend(self, -1, now_ms, results_p);
}

size_t
zj_unacked_resend_late(zj_unacked_t *self, int64_t wait_ms, int64_t now_ms,
                       size_t *results_p)
{
    assert(wait_ms >= 0);
    return s_resend(self, wait_ms, now_ms, results_p);
}

bool
zj_unacked_next_due(zj_unacked_t *self, const char **data_p, size_t *size_p)
{
    assert(self);
    assert(data_p && size_p);
    if (self->due == 0)
        return false;
    zj_batch_t *batch = zlistx_first(self->batches);
    while (batch && !batch->due)
        batch = zlistx_next(self->batches);
    assert(batch);
    batch->due = false;
    self->due--;
    *data_p = batch->data;
    *size_p = batch->size;
    assert(s_invariants_hold(self));
    return true;
}

size_t
zj_unacked_size(const zj_unacked_t *self)
{
    assert(self);
    return zlistx_size(self->batches);
}

size_t
zj_unacked_results(const zj_unacked_t *self)
{
    assert(self);
    return self->results;
}
