//  outbox.c - replies queued during a turn and sent after its commit
//  (see outbox.h).
#include "common/log.h"
#include "coordinator/outbox.h"
#include "proto/codec.h"
#include "proto/limits.h"

typedef struct {
    zj_side_t side;     //  Which socket it leaves by
    zframe_t *identity; //  To whom, owned
    zj_msg_t *msg;      //  What, owned
} zj_outgoing_t;

struct zj_outbox {
    zlistx_t *queued; //  zj_outgoing_t *, owned, in sending order
    zlistx_t *held;   //  zj_outgoing_t *, owned, waiting for the store
};

static void
s_outgoing_destroy(void **item_p)
{
    zj_outgoing_t *outgoing = *item_p;
    if (outgoing) {
        zframe_destroy(&outgoing->identity);
        zj_msg_destroy(&outgoing->msg);
        free(outgoing);
    }
    *item_p = NULL;
}

zj_outbox_t *
zj_outbox_new(void)
{
    zj_outbox_t *self = calloc(1, sizeof *self);
    assert(self);
    self->queued = zlistx_new();
    self->held = zlistx_new();
    assert(self->queued && self->held);
    zlistx_set_destructor(self->queued, s_outgoing_destroy);
    zlistx_set_destructor(self->held, s_outgoing_destroy);
    return self;
}

void
zj_outbox_destroy(zj_outbox_t **self_p)
{
    assert(self_p);
    zj_outbox_t *self = *self_p;
    if (self == NULL)
        return;
    zlistx_destroy(&self->queued);
    zlistx_destroy(&self->held);
    free(self);
    *self_p = NULL;
}

void
zj_outbox_send(zj_outbox_t *self, zj_side_t side, zframe_t *identity,
               zj_msg_t **msg_p)
{
    assert(self && identity && msg_p && *msg_p);
    zj_outgoing_t *outgoing = calloc(1, sizeof *outgoing);
    assert(outgoing);
    outgoing->side = side;
    outgoing->identity = zframe_dup(identity);
    outgoing->msg = *msg_p;
    *msg_p = NULL;
    zlistx_add_end(self->queued, outgoing);
}

void
zj_outbox_error(zj_outbox_t *self, zj_side_t side, zframe_t *identity,
                uint64_t req, int code, const char *reason)
{
    zj_msg_t *error = zj_msg_new(ZJ_MSG_ERROR);
    error->req = req;
    error->code = code;
    error->reason = strndup(reason, ZJ_MAX_TEXT - 1);
    zj_outbox_send(self, side, identity, &error);
}

//  zmq_send that a signal does not interrupt.
static int
s_send_part(void *handle, const void *data, size_t size, int flags)
{
    int rc;
    do
        rc = zmq_send(handle, data, size, flags);
    while (rc == -1 && zmq_errno() == EINTR);
    return rc;
}

static void
s_send_frame(zsock_t *socket, zframe_t *identity, const char *data, size_t size)
{
    void *handle = zsock_resolve(socket);
    if (s_send_part(handle, zframe_data(identity), zframe_size(identity),
                    ZMQ_SNDMORE) == -1 ||
        s_send_part(handle, data, size, 0) == -1)
        zj_log_warning("send failed error=\"%s\"", zmq_strerror(zmq_errno()));
}

//  Encodes and sends one message, then frees it.
static void
s_send_outgoing(zj_outgoing_t *outgoing, zsock_t *clients, zsock_t *workers)
{
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_encode(outgoing->msg, &data, &size, why) == 0)
        s_send_frame(outgoing->side == ZJ_TO_CLIENT ? clients : workers,
                     outgoing->identity, data, size);
    else
        zj_log_error("encode failed type=%s error=\"%s\"",
                     zj_msg_type_name(outgoing->msg->type), why);
    free(data);
    void *item = outgoing;
    s_outgoing_destroy(&item);
}

//  Replies that tell of a write: sent only once it is in the store.
static bool
s_waits_for_store(const zj_outgoing_t *outgoing)
{
    switch (outgoing->msg->type) {
    case ZJ_MSG_SUBMITTED:
    case ZJ_MSG_RESOLVED:
    case ZJ_MSG_DONE:
    case ZJ_MSG_JOBS:
    case ZJ_MSG_ACK:
        return true;
    case ZJ_MSG_CANCEL:
        return outgoing->side == ZJ_TO_CLIENT;
    default:
        return false;
    }
}

void
zj_outbox_flush(zj_outbox_t *self, zsock_t *clients, zsock_t *workers,
                bool degraded)
{
    assert(self && clients && workers);
    zj_outgoing_t *outgoing;
    while (!degraded && (outgoing = zlistx_detach(self->held, NULL)))
        s_send_outgoing(outgoing, clients, workers);
    while ((outgoing = zlistx_detach(self->queued, NULL))) {
        if (degraded && s_waits_for_store(outgoing))
            zlistx_add_end(self->held, outgoing);
        else
            s_send_outgoing(outgoing, clients, workers);
    }
}

size_t
zj_outbox_size(const zj_outbox_t *self)
{
    assert(self);
    return zlistx_size(self->queued);
}

size_t
zj_outbox_held(const zj_outbox_t *self)
{
    assert(self);
    return zlistx_size(self->held);
}

zj_msg_t *
zj_outbox_take(zj_outbox_t *self, zj_side_t *side_p)
{
    assert(self);
    zj_outgoing_t *outgoing = zlistx_detach(self->queued, NULL);
    if (outgoing == NULL)
        return NULL;
    if (side_p)
        *side_p = outgoing->side;
    zj_msg_t *msg = outgoing->msg;
    outgoing->msg = NULL;
    void *item = outgoing;
    s_outgoing_destroy(&item);
    return msg;
}

void
zj_outbox_purge(zj_outbox_t *self)
{
    assert(self);
    zlistx_purge(self->queued);
}
