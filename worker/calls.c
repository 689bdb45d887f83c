//  calls.c - running jobs' requests to the coordinator (see calls.h).
#include <assert.h>
#include <czmq.h>

#include "common/idmap.h"
#include "common/log.h"
#include "common/why.h"
#include "proto/codec.h"
#include "worker/calls.h"

typedef struct {
    uint64_t req;     //  Its number
    zj_msg_t *msg;    //  What is sent, owned
    zj_call_fn *fn;   //  Gets the replies
    void *arg;        //  Its argument
    void *due_handle; //  Entry in zj_calls_t.due, or NULL
} zj_call_t;

struct zj_calls {
    zj_idmap_t *by_req;      //  req - ZJ_CALL_REQ_BASE -> zj_call_t *, owned
    zlistx_t *due;           //  zj_call_t * to send, oldest first
    uint64_t last_req;       //  The last req given
    int max_suspended;       //  Parents that may await without a slot
    int suspended;           //  ... awaiting now
    zj_calls_due_fn *on_due; //  Tells the loop
    void *on_due_arg;        //  Its argument
};

zj_calls_t *
zj_calls_new(int max_suspended, zj_calls_due_fn *due, void *arg)
{
    assert(max_suspended >= 0);
    zj_calls_t *self = calloc(1, sizeof *self);
    assert(self);
    self->by_req = zj_idmap_new();
    self->due = zlistx_new();
    self->last_req = ZJ_CALL_REQ_BASE;
    self->max_suspended = max_suspended;
    self->on_due = due;
    self->on_due_arg = arg;
    return self;
}

static void
s_call_free(zj_call_t *call)
{
    zj_msg_destroy(&call->msg);
    free(call);
}

void
zj_calls_destroy(zj_calls_t **self_p)
{
    assert(self_p);
    zj_calls_t *self = *self_p;
    if (self == NULL)
        return;
    zlistx_destroy(&self->due);
    zj_call_t *call;
    while ((call = zj_idmap_first(self->by_req))) {
        zj_idmap_delete(self->by_req, (int64_t) (call->req - ZJ_CALL_REQ_BASE));
        s_call_free(call);
    }
    zj_idmap_destroy(&self->by_req);
    free(self);
    *self_p = NULL;
}

static zj_call_t *
s_find(zj_calls_t *self, uint64_t req)
{
    if (req <= ZJ_CALL_REQ_BASE || req > self->last_req)
        return NULL;
    return zj_idmap_lookup(self->by_req, (int64_t) (req - ZJ_CALL_REQ_BASE));
}

static void
s_mark_due(zj_calls_t *self, zj_call_t *call)
{
    if (call->due_handle == NULL)
        call->due_handle = zlistx_add_end(self->due, call);
    if (self->on_due)
        self->on_due(self->on_due_arg);
}

uint64_t
zj_calls_start(zj_calls_t *self, zj_msg_t **msg_p, zj_call_fn *fn, void *arg)
{
    assert(self && msg_p && *msg_p && fn);
    zj_call_t *call = calloc(1, sizeof *call);
    assert(call);
    call->req = ++self->last_req;
    call->msg = *msg_p;
    call->msg->req = call->req;
    *msg_p = NULL;
    call->fn = fn;
    call->arg = arg;
    int rc = zj_idmap_insert(self->by_req,
                             (int64_t) (call->req - ZJ_CALL_REQ_BASE), call);
    assert(rc == 0);
    (void) rc;
    s_mark_due(self, call);
    return call->req;
}

zj_msg_t *
zj_calls_msg(zj_calls_t *self, uint64_t req)
{
    assert(self);
    zj_call_t *call = s_find(self, req);
    return call ? call->msg : NULL;
}

void
zj_calls_end(zj_calls_t *self, uint64_t req)
{
    assert(self);
    zj_call_t *call = s_find(self, req);
    if (call == NULL)
        return;
    if (call->due_handle)
        zlistx_delete(self->due, call->due_handle);
    zj_idmap_delete(self->by_req, (int64_t) (req - ZJ_CALL_REQ_BASE));
    s_call_free(call);
}

bool
zj_calls_reply(zj_calls_t *self, const zj_msg_t *reply)
{
    assert(self && reply);
    if (reply->req <= ZJ_CALL_REQ_BASE)
        return false;
    zj_call_t *call = s_find(self, reply->req);
    if (call)
        call->fn(call->arg, reply);
    else
        zj_log_debug("reply dropped type=%s req=%" PRIu64
                     " reason=\"its call ended\"",
                     zj_msg_type_name(reply->type), reply->req);
    return true;
}

//  Oldest first: calls are numbered in the order they started.
static int
s_by_req(const void *one, const void *other)
{
    uint64_t a = (*(zj_call_t *const *) one)->req;
    uint64_t b = (*(zj_call_t *const *) other)->req;
    return a < b ? -1 : a > b;
}

void
zj_calls_resend_all(zj_calls_t *self)
{
    assert(self);
    size_t count = zj_idmap_size(self->by_req);
    if (count == 0)
        return;
    zj_call_t **calls = calloc(count, sizeof *calls);
    assert(calls);
    size_t index = 0;
    for (zj_call_t *call = zj_idmap_first(self->by_req); call;
         call = zj_idmap_next(self->by_req))
        calls[index++] = call;
    qsort(calls, count, sizeof *calls, s_by_req);
    zlistx_purge(self->due);
    for (index = 0; index < count; index++) {
        calls[index]->due_handle = NULL;
        calls[index]->fn(calls[index]->arg, NULL);
        s_mark_due(self, calls[index]);
    }
    free(calls);
    zj_log_info("calls sent again count=%zu", count);
}

bool
zj_calls_next_due(zj_calls_t *self, char **data_p, size_t *size_p)
{
    assert(self && data_p && size_p);
    zj_call_t *call;
    while ((call = zlistx_detach(self->due, NULL))) {
        call->due_handle = NULL;
        char why[ZJ_WHY_SIZE] = "";
        if (zj_msg_encode(call->msg, data_p, size_p, why) == 0)
            return true;
        zj_log_error("encode failed type=%s req=%" PRIu64 " error=\"%s\"",
                     zj_msg_type_name(call->msg->type), call->req, why);
    }
    return false;
}

size_t
zj_calls_size(const zj_calls_t *self)
{
    assert(self);
    return zj_idmap_size(self->by_req);
}

bool
zj_calls_suspend(zj_calls_t *self)
{
    assert(self);
    if (self->suspended >= self->max_suspended)
        return false;
    self->suspended++;
    return true;
}

void
zj_calls_resume(zj_calls_t *self)
{
    assert(self && self->suspended > 0);
    self->suspended--;
}

int
zj_calls_suspended(const zj_calls_t *self)
{
    assert(self);
    return self->suspended;
}

int
zj_calls_max_suspended(const zj_calls_t *self)
{
    assert(self);
    return self->max_suspended;
}
