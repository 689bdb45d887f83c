//  results.c - the worker's RESULTS pipeline (see results.h): outcomes
//  gathered into batches, closed batches numbered and encoded at the end
//  of a loop turn, and their frames kept in an unacked set until the
//  coordinator's ACK. worker.c calls in; nothing here calls out but the
//  codec and the unacked set.
#include <assert.h>
#include <czmq.h>

#include "common/err.h"
#include "common/log.h"
#include "proto/codec.h"
#include "proto/policy.h"
#include "worker/results.h"
#include "worker/unacked.h"

struct zj_results {
    zj_msg_t *filling;     //  RESULTS being filled, or NULL
    size_t filling_bytes;  //  Estimated encoded bytes in filling
    zlistx_t *closed;      //  zj_msg_t * RESULTS full, not numbered yet
    zj_unacked_t *unacked; //  Numbered batches, held until their ACK
    zj_limits_t limits;    //  max_message, max_result from WELCOME
};

static bool
s_invariants_hold(const zj_results_t *self)
{
    if (self->filling == NULL)
        return self->filling_bytes == 0;
    return self->filling->type == ZJ_MSG_RESULTS &&
           self->filling->job_count > 0 &&
           self->filling->job_count < ZJ_RESULTS_BATCH;
}

zj_results_t *
zj_results_new(void)
{
    zj_results_t *self = calloc(1, sizeof *self);
    assert(self);
    self->filling = NULL;
    self->filling_bytes = 0;
    self->closed = zlistx_new();
    assert(self->closed);
    self->unacked = zj_unacked_new();
    zj_limits_defaults(&self->limits);
    return self;
}

void
zj_results_destroy(zj_results_t **self_p)
{
    assert(self_p);
    zj_results_t *self = *self_p;
    if (self == NULL)
        return;
    zj_msg_destroy(&self->filling);
    zj_msg_t *msg;
    while ((msg = zlistx_detach(self->closed, NULL)))
        zj_msg_destroy(&msg);
    zlistx_destroy(&self->closed);
    zj_unacked_destroy(&self->unacked);
    free(self);
    *self_p = NULL;
}

void
zj_results_set_limits(zj_results_t *self, int32_t max_message,
                      int32_t max_result)
{
    assert(self);
    if (max_message > 0)
        self->limits.max_message = max_message;
    if (max_result > 0)
        self->limits.max_result = max_result;
}

static void
s_close_batch(zj_results_t *self)
{
    if (self->filling) {
        zlistx_add_end(self->closed, self->filling);
        self->filling = NULL;
        self->filling_bytes = 0;
    }
}

static size_t
s_length(const char *text)
{
    return text ? strlen(text) : 0;
}

void
zj_results_add(zj_results_t *self, const zj_job_t *outcome, zj_class_t klass)
{
    assert(self);
    assert(outcome);
    zj_job_t entry = {0};
    zj_job_copy(&entry, outcome);
    if (zj_limits_cap_result(&self->limits, &entry))
        zj_log_warning("job failed id=%" PRId64 " reason=\"%s\"", entry.id,
                       entry.error);
    size_t size = 128 + s_length(entry.result) + s_length(entry.error) +
                  s_length(entry.kind) + s_length(entry.worker);
    size_t budget = (size_t) self->limits.max_message / 2;
    if (budget > ZJ_RESULTS_BYTES)
        budget = ZJ_RESULTS_BYTES;
    if (self->filling && self->filling_bytes + size > budget)
        s_close_batch(self);
    if (self->filling == NULL)
        self->filling = zj_msg_new(ZJ_MSG_RESULTS);
    *zj_msg_add_job(self->filling) = entry;
    if (klass == ZJ_CLASS_CPU)
        self->filling->cpu_credit++;
    else
        self->filling->io_credit++;
    self->filling_bytes += size;
    if (self->filling->job_count >= ZJ_RESULTS_BATCH)
        s_close_batch(self);
    assert(s_invariants_hold(self));
}

//  Numbers a closed batch and holds its frame until the coordinator
//  acknowledges it; destroys *msg_p.
static void
s_hold(zj_results_t *self, zj_msg_t **msg_p, bool send, int64_t now_ms)
{
    zj_msg_t *msg = *msg_p;
    msg->req = zj_unacked_new_seq(self->unacked);
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_encode(msg, &data, &size, why) == 0)
        zj_unacked_add(self->unacked, msg->req, &data, size, msg->job_count,
                       now_ms, send);
    else
        zj_log_error("encode failed type=%s error=\"%s\"",
                     zj_msg_type_name(msg->type), why);
    free(data);
    zj_msg_destroy(msg_p);
}

void
zj_results_seal(zj_results_t *self, bool send, int64_t now_ms)
{
    assert(self);
    s_close_batch(self);
    zj_msg_t *msg;
    while ((msg = zlistx_detach(self->closed, NULL)))
        s_hold(self, &msg, send, now_ms);
    assert(s_invariants_hold(self));
}

static void
s_log_resent(size_t batches, size_t results)
{
    if (batches > 0)
        zj_log_info("results resent batches=%zu results=%zu", batches, results);
}

void
zj_results_resend_all(zj_results_t *self, int64_t now_ms)
{
    assert(self);
    size_t results = 0;
    size_t batches = zj_unacked_resend_all(self->unacked, now_ms, &results);
    s_log_resent(batches, results);
}

void
zj_results_resend_late(zj_results_t *self, int64_t wait_ms, int64_t now_ms)
{
    assert(self);
    size_t results = 0;
    size_t batches =
        zj_unacked_resend_late(self->unacked, wait_ms, now_ms, &results);
    s_log_resent(batches, results);
}

bool
zj_results_next_due(zj_results_t *self, const char **data_p, size_t *size_p)
{
    assert(self);
    return zj_unacked_next_due(self->unacked, data_p, size_p);
}

bool
zj_results_ack(zj_results_t *self, uint64_t seq)
{
    assert(self);
    return zj_unacked_ack(self->unacked, seq);
}

//  True for the codes of a frame the coordinator could not read: sent
//  again, the same bytes would be refused again.
static bool
s_is_refusal(int code)
{
    return code == ZJ_EPROTO || code == ZJ_EVERSION || code == ZJ_ETOOBIG ||
           code == ZJ_EJSON;
}

bool
zj_results_refused(zj_results_t *self, int code, uint64_t seq)
{
    assert(self);
    if (!s_is_refusal(code) || seq == 0 || !zj_unacked_ack(self->unacked, seq))
        return false;
    zj_log_warning("results refused seq=%" PRIu64 " dropped", seq);
    return true;
}

uint64_t
zj_results_last_seq(const zj_results_t *self)
{
    assert(self);
    return zj_unacked_last_seq(self->unacked);
}

size_t
zj_results_unacked(const zj_results_t *self)
{
    assert(self);
    return zj_unacked_size(self->unacked);
}
