//  outbox.c - replies queued during a turn and sent after its commit,
//  with a budget and a backlog per client (see outbox.h).
#include "common/duration.h"
#include "common/log.h"
#include "coordinator/outbox.h"
#include "proto/codec.h"
#include "proto/limits.h"

#define ZJ_BLOCKED_LOG_MS 10000 //  "client blocked" at most this often
#define ZJ_CAP_FACTOR 4         //  Replies past this many budgets are dropped

typedef struct {
    zj_side_t side;     //  Which socket it leaves by
    zj_msg_type_t type; //  What it is
    zframe_t *identity; //  To whom, owned
    zj_msg_t *msg;      //  A worker's message, owned, or NULL
    zframe_t *frame;    //  A client's message, encoded, owned, or NULL
} zj_outgoing_t;

typedef struct {
    zframe_t *identity;   //  The client, owned (the key in clients)
    size_t bytes;         //  Of its frames queued, held or in backlog
    zlistx_t *backlog;    //  zj_outgoing_t *, owned: ZeroMQ was full
    void *blocked_handle; //  Entry in zj_outbox_t.blocked, or NULL
    bool gone;            //  ZeroMQ said it is unreachable
} zj_client_t;

struct zj_outbox {
    zlistx_t *queued;       //  zj_outgoing_t *, owned, in sending order
    zlistx_t *held;         //  zj_outgoing_t *, owned, waiting for the store
    zhashx_t *clients;      //  identity -> zj_client_t *, owned: clients
                            //  with bytes queued, held or in a backlog
    zlistx_t *blocked;      //  zj_client_t * with a backlog
    zlistx_t *gone;         //  zframe_t * of clients found gone, owned
    size_t budget;          //  Bytes per client before its streams pause
    size_t client_bytes;    //  Sum of every client's bytes
    int64_t blocked_log_ms; //  zj_mono_ms() of the last "client blocked"
    int64_t dropped_log_ms; //  zj_mono_ms() of the last "reply dropped"
    size_t dropped;         //  Replies dropped since that log line
};

static void
s_outgoing_destroy(void **item_p)
{
    zj_outgoing_t *outgoing = *item_p;
    if (outgoing) {
        zframe_destroy(&outgoing->identity);
        zj_msg_destroy(&outgoing->msg);
        zframe_destroy(&outgoing->frame);
        free(outgoing);
    }
    *item_p = NULL;
}

static void
s_client_destroy(void **item_p)
{
    zj_client_t *client = *item_p;
    if (client) {
        zlistx_destroy(&client->backlog);
        zframe_destroy(&client->identity);
        free(client);
    }
    *item_p = NULL;
}

//  Identities are binary: the clients table hashes and compares bytes.
static size_t
s_identity_hash(const void *key)
{
    const zframe_t *identity = key;
    const byte *data = zframe_data((zframe_t *) identity);
    size_t hash = 14695981039346656037u;
    for (size_t index = 0; index < zframe_size((zframe_t *) identity); index++)
        hash = (hash ^ data[index]) * 1099511628211u;
    return hash;
}

static int
s_identity_compare(const void *left, const void *right)
{
    return zframe_eq((zframe_t *) left, (zframe_t *) right) ? 0 : 1;
}

static void *
s_identity_dup(const void *key)
{
    return zframe_dup((zframe_t *) key);
}

static void
s_identity_free(void **key_p)
{
    zframe_destroy((zframe_t **) key_p);
}

static void
s_frame_free(void **item_p)
{
    zframe_destroy((zframe_t **) item_p);
}

zj_outbox_t *
zj_outbox_new(void)
{
    zj_outbox_t *self = calloc(1, sizeof *self);
    assert(self);
    self->queued = zlistx_new();
    self->held = zlistx_new();
    self->clients = zhashx_new();
    self->blocked = zlistx_new();
    self->gone = zlistx_new();
    assert(self->queued && self->held && self->clients && self->blocked &&
           self->gone);
    zlistx_set_destructor(self->queued, s_outgoing_destroy);
    zlistx_set_destructor(self->held, s_outgoing_destroy);
    zlistx_set_destructor(self->gone, s_frame_free);
    zhashx_set_key_hasher(self->clients, s_identity_hash);
    zhashx_set_key_comparator(self->clients, s_identity_compare);
    zhashx_set_key_duplicator(self->clients, s_identity_dup);
    zhashx_set_key_destructor(self->clients, s_identity_free);
    zhashx_set_destructor(self->clients, s_client_destroy);
    self->budget = ZJ_CLIENT_BUDGET;
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
    zlistx_destroy(&self->blocked);
    zhashx_destroy(&self->clients);
    zlistx_destroy(&self->gone);
    free(self);
    *self_p = NULL;
}

//  The entry of a client, made when it is first queued for.
static zj_client_t *
s_client_require(zj_outbox_t *self, zframe_t *identity)
{
    zj_client_t *client = zhashx_lookup(self->clients, identity);
    if (client == NULL) {
        client = calloc(1, sizeof *client);
        assert(client);
        client->identity = zframe_dup(identity);
        client->backlog = zlistx_new();
        zlistx_set_destructor(client->backlog, s_outgoing_destroy);
        zhashx_insert(self->clients, identity, client);
    }
    return client;
}

//  Counts a client's frame out of its budget; forgets the client when
//  nothing is left for it.
static void
s_client_release(zj_outbox_t *self, zj_client_t *client, size_t bytes)
{
    assert(client->bytes >= bytes && self->client_bytes >= bytes);
    client->bytes -= bytes;
    self->client_bytes -= bytes;
    if (client->bytes == 0 && zlistx_size(client->backlog) == 0) {
        assert(client->blocked_handle == NULL);
        zhashx_delete(self->clients, client->identity);
    }
}

//  Encodes msg into a frame, or logs why not and returns NULL.
static zframe_t *
s_encode(const zj_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    zframe_t *frame = NULL;
    if (zj_msg_encode(msg, &data, &size, why) == 0)
        frame = zframe_new(data, size);
    else
        zj_log_error("encode failed type=%s error=\"%s\"",
                     zj_msg_type_name(msg->type), why);
    free(data);
    return frame;
}

void
zj_outbox_send(zj_outbox_t *self, zj_side_t side, zframe_t *identity,
               zj_msg_t **msg_p)
{
    assert(self && identity && msg_p && *msg_p);
    zj_outgoing_t *outgoing = calloc(1, sizeof *outgoing);
    assert(outgoing);
    outgoing->side = side;
    outgoing->type = (*msg_p)->type;
    if (side == ZJ_TO_CLIENT) {
        outgoing->frame = s_encode(*msg_p);
        zj_msg_destroy(msg_p);
        if (outgoing->frame == NULL) {
            free(outgoing);
            return;
        }
        size_t bytes = zframe_size(outgoing->frame);
        s_client_require(self, identity)->bytes += bytes;
        self->client_bytes += bytes;
    } else {
        outgoing->msg = *msg_p;
        *msg_p = NULL;
    }
    outgoing->identity = zframe_dup(identity);
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

//  Sends [identity][data]; flags add ZMQ_DONTWAIT. Returns 0 or errno.
static int
s_send_frame(zsock_t *socket, zframe_t *identity, const void *data, size_t size,
             int flags)
{
    void *handle = zsock_resolve(socket);
    if (s_send_part(handle, zframe_data(identity), zframe_size(identity),
                    ZMQ_SNDMORE | flags) == -1 ||
        s_send_part(handle, data, size, flags) == -1)
        return zmq_errno();
    return 0;
}

//  Encodes and sends a worker's message (that socket queues without
//  limit), then frees it.
static void
s_send_to_worker(zj_outgoing_t *outgoing, zsock_t *workers)
{
    zframe_t *frame = s_encode(outgoing->msg);
    int rc = frame ? s_send_frame(workers, outgoing->identity,
                                  zframe_data(frame), zframe_size(frame), 0)
                   : 0;
    if (rc)
        zj_log_warning("send failed error=\"%s\"", zmq_strerror(rc));
    zframe_destroy(&frame);
    void *item = outgoing;
    s_outgoing_destroy(&item);
}

//  ZeroMQ says the client is unreachable: drop what waits for it, and
//  tell the loop once.
static void
s_client_gone(zj_outbox_t *self, zj_client_t *client)
{
    if (!client->gone) {
        client->gone = true;
        zlistx_add_end(self->gone, zframe_dup(client->identity));
    }
    zj_outgoing_t *outgoing;
    while ((outgoing = zlistx_detach(client->backlog, NULL))) {
        size_t bytes = zframe_size(outgoing->frame);
        void *item = outgoing;
        s_outgoing_destroy(&item);
        client->bytes -= bytes;
        self->client_bytes -= bytes;
    }
    if (client->blocked_handle) {
        zlistx_delete(self->blocked, client->blocked_handle);
        client->blocked_handle = NULL;
    }
}

//  Tries to hand one of client's frames to ZeroMQ without waiting.
//  Returns 0 (sent or dropped, and freed) or EAGAIN (left to the caller).
static int
s_try_client(zj_outbox_t *self, zj_client_t *client, zj_outgoing_t *outgoing,
             zsock_t *clients)
{
    size_t bytes = zframe_size(outgoing->frame);
    int rc = client->gone ? EHOSTUNREACH
                          : s_send_frame(clients, outgoing->identity,
                                         zframe_data(outgoing->frame), bytes,
                                         ZMQ_DONTWAIT);
    if (rc == EAGAIN)
        return EAGAIN;
    if (rc == EHOSTUNREACH)
        s_client_gone(self, client);
    else if (rc)
        zj_log_warning("send failed error=\"%s\"", zmq_strerror(rc));
    void *item = outgoing;
    s_outgoing_destroy(&item);
    client->bytes -= bytes;
    self->client_bytes -= bytes;
    return 0;
}

//  ZeroMQ holds its limit for client: what follows waits in its backlog.
static void
s_client_block(zj_outbox_t *self, zj_client_t *client)
{
    assert(client->blocked_handle == NULL);
    client->blocked_handle = zlistx_add_end(self->blocked, client);
    int64_t now_ms = zj_mono_ms();
    if (now_ms - self->blocked_log_ms >= ZJ_BLOCKED_LOG_MS) {
        self->blocked_log_ms = now_ms;
        char *hex = zframe_strhex(client->identity);
        zj_log_info("client blocked client=%s bytes=%zu clients_blocked=%zu: "
                    "its streams pause until it reads (logged at most every "
                    "%d s)",
                    hex, client->bytes, zlistx_size(self->blocked),
                    ZJ_BLOCKED_LOG_MS / 1000);
        free(hex);
    }
}

//  A blocked client that keeps asking past ZJ_CAP_FACTOR budgets loses
//  the replies to its requests (streams never come here: they pause at
//  one budget). Returns true when outgoing was dropped and freed.
static bool
s_over_cap(zj_outbox_t *self, zj_client_t *client, zj_outgoing_t *outgoing)
{
    if (outgoing->type == ZJ_MSG_RESOLVED || outgoing->type == ZJ_MSG_DONE ||
        client->bytes <= ZJ_CAP_FACTOR * self->budget)
        return false;
    size_t bytes = zframe_size(outgoing->frame);
    void *item = outgoing;
    s_outgoing_destroy(&item);
    s_client_release(self, client, bytes);
    self->dropped++;
    int64_t now_ms = zj_mono_ms();
    if (now_ms - self->dropped_log_ms >= ZJ_BLOCKED_LOG_MS) {
        self->dropped_log_ms = now_ms;
        zj_log_warning("reply dropped replies=%zu reason=\"its client has "
                       "not read %zu bytes of replies\"",
                       self->dropped, client->bytes);
        self->dropped = 0;
    }
    return true;
}

//  Sends a client's message, or puts it behind the client's backlog.
static void
s_route_to_client(zj_outbox_t *self, zj_outgoing_t *outgoing, zsock_t *clients)
{
    zj_client_t *client = zhashx_lookup(self->clients, outgoing->identity);
    assert(client);
    if (zlistx_size(client->backlog) > 0 && s_over_cap(self, client, outgoing))
        return;
    if (zlistx_size(client->backlog) > 0 ||
        s_try_client(self, client, outgoing, clients) == EAGAIN) {
        zlistx_add_end(client->backlog, outgoing);
        if (client->blocked_handle == NULL)
            s_client_block(self, client);
        return;
    }
    s_client_release(self, client, 0);
}

//  Hands each blocked client's backlog to ZeroMQ until it is full again.
static void
s_retry_blocked(zj_outbox_t *self, zsock_t *clients)
{
    zj_client_t *client = zlistx_first(self->blocked);
    while (client) {
        zj_client_t *following = zlistx_next(self->blocked);
        zj_outgoing_t *outgoing;
        while ((outgoing = zlistx_first(client->backlog)) &&
               s_try_client(self, client, zlistx_detach(client->backlog, NULL),
                            clients) != EAGAIN)
            ;
        if (outgoing) //  Full: put back in front, as it was
            zlistx_add_start(client->backlog, outgoing);
        else {
            if (client->blocked_handle)
                zlistx_delete(self->blocked, client->blocked_handle);
            client->blocked_handle = NULL;
            s_client_release(self, client, 0);
        }
        client = following;
    }
}

//  Sends one message by its side.
static void
s_route(zj_outbox_t *self, zj_outgoing_t *outgoing, zsock_t *clients,
        zsock_t *workers)
{
    if (outgoing->side == ZJ_TO_CLIENT)
        s_route_to_client(self, outgoing, clients);
    else
        s_send_to_worker(outgoing, workers);
}

//  Replies that tell of a write: sent only once it is in the store.
static bool
s_waits_for_store(const zj_outgoing_t *outgoing)
{
    switch (outgoing->type) {
    case ZJ_MSG_SUBMITTED:
    case ZJ_MSG_SPAWNED:
    case ZJ_MSG_RESOLVED:
    case ZJ_MSG_DONE:
    case ZJ_MSG_JOBS:
    case ZJ_MSG_ACK:
    case ZJ_MSG_PURGE:
    case ZJ_MSG_SCHEDULE:
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
    if (zlistx_size(self->blocked) > 0)
        s_retry_blocked(self, clients);
    zj_outgoing_t *outgoing;
    while (!degraded && (outgoing = zlistx_detach(self->held, NULL)))
        s_route(self, outgoing, clients, workers);
    while ((outgoing = zlistx_detach(self->queued, NULL))) {
        if (degraded && s_waits_for_store(outgoing))
            zlistx_add_end(self->held, outgoing);
        else
            s_route(self, outgoing, clients, workers);
    }
}

size_t
zj_outbox_room(const zj_outbox_t *self, zframe_t *identity)
{
    assert(self && identity);
    if (self->client_bytes == 0)
        return self->budget;
    const zj_client_t *client = zhashx_lookup(self->clients, identity);
    size_t bytes = client ? client->bytes : 0;
    return bytes < self->budget ? self->budget - bytes : 0;
}

size_t
zj_outbox_blocked(const zj_outbox_t *self)
{
    assert(self);
    return zlistx_size(self->blocked);
}

size_t
zj_outbox_client_bytes(const zj_outbox_t *self)
{
    assert(self);
    return self->client_bytes;
}

zframe_t *
zj_outbox_next_gone(zj_outbox_t *self)
{
    assert(self);
    return zlistx_detach(self->gone, NULL);
}

void
zj_outbox_set_budget(zj_outbox_t *self, size_t budget)
{
    assert(self && budget > 0);
    self->budget = budget;
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

//  Takes an outgoing message's content back as a message (a client's is
//  decoded again).
static zj_msg_t *
s_outgoing_msg(zj_outgoing_t *outgoing)
{
    zj_msg_t *msg = outgoing->msg;
    outgoing->msg = NULL;
    if (outgoing->frame) {
        uint64_t req = 0;
        char why[ZJ_WHY_SIZE] = "";
        int rc = zj_msg_decode(zframe_data(outgoing->frame),
                               zframe_size(outgoing->frame), &msg, &req, why);
        assert(rc == 0);
        (void) rc;
    }
    return msg;
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
    if (outgoing->frame) {
        zj_client_t *client = zhashx_lookup(self->clients, outgoing->identity);
        s_client_release(self, client, zframe_size(outgoing->frame));
    }
    zj_msg_t *msg = s_outgoing_msg(outgoing);
    void *item = outgoing;
    s_outgoing_destroy(&item);
    return msg;
}

void
zj_outbox_purge(zj_outbox_t *self)
{
    assert(self);
    zj_side_t side;
    zj_msg_t *msg;
    while ((msg = zj_outbox_take(self, &side)))
        zj_msg_destroy(&msg);
}
