//  zjob.c - libzjob: the client side of the clients endpoint (see
//  include/zjob/zjob.h). This file makes and configures a client: one
//  DEALER socket in a ZeroMQ context of its own, so that embedding the
//  library installs no signal handler and shares no global state with the
//  host program (czmq's zsys would do both), and a monitor on the socket
//  that tells an await when the connection drops and comes back. The calls
//  live in zjob_submit.c, zjob_await.c, zjob_records.c and zjob_future.c.
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "client/zjob_internal.h"
#include "common/err.h"
#include "common/keys.h"
#include "proto/limits.h"
#include "zjob/zjob.h"

#define XX(name, text)                                                         \
    _Static_assert((int) ZJOB_##name == (int) ZJ_##name, "zjob.h: "            \
                                                         "ZJOB_" #name);
ZJ_ERR_MAP(XX)
#undef XX

#define S_HEARTBEAT_MS 2000      //  ZMTP ping period on the connection
#define S_HEARTBEAT_TIMEOUT 6000 //  Silence after which the link is dead
#define S_MONITOR "inproc://zjob-monitor" //  Per context, so one name

static int
s_setopt(void *socket, int option, int value)
{
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

zjob_client_t *
zjob_client_new(const char *endpoint, int *err_p)
{
    return zjob_client_new_curve(endpoint, NULL, NULL, err_p);
}

//  Sets CURVE up on the socket from the two key files.
static int
s_use_curve(zjob_client_t *self, const char *key_file,
            const char *coordinator_key_file)
{
    zj_keypair_t keys, coordinator;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_keys_load_secret(key_file, &keys, why);
    if (rc == 0)
        rc = zj_keys_load_public(coordinator_key_file, &coordinator, why);
    if (rc == 0)
        rc = zj_keys_make_client(self->socket, &keys, coordinator.public_key);
    memset(&keys, 0, sizeof keys);
    return rc; //  ZJ_EUSAGE, ZJ_EDENIED (a loose secret key) or ZJ_ESYS
}

zjob_client_t *
zjob_client_new_curve(const char *endpoint, const char *key_file,
                      const char *coordinator_key_file, int *err_p)
{
    int code = ZJ_ESYS;
    zjob_client_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        goto failed;
    self->endpoint = strdup(endpoint ? endpoint : ZJOB_DEFAULT_ENDPOINT);
    self->reply_ms = ZJOB_REPLY_TIMEOUT_MS;
    self->send_ms = ZJOB_SEND_TIMEOUT_MS;
    self->batch = ZJOB_SUBMIT_BATCH;
    self->context = zmq_ctx_new();
    if (self->endpoint == NULL || self->context == NULL)
        goto failed;
    self->socket = zmq_socket(self->context, ZMQ_DEALER);
    self->monitor = zmq_socket(self->context, ZMQ_PAIR);
    if (self->socket == NULL || self->monitor == NULL)
        goto failed;
    //  IMMEDIATE: a send blocks (up to SNDTIMEO) instead of queueing for a
    //  coordinator that is not there, which is how we notice it is not.
    if (s_setopt(self->socket, ZMQ_IMMEDIATE, 1) ||
        s_setopt(self->socket, ZMQ_SNDTIMEO, (int) self->send_ms) ||
        s_setopt(self->socket, ZMQ_LINGER, 0) ||
        s_setopt(self->socket, ZMQ_HEARTBEAT_IVL, S_HEARTBEAT_MS) ||
        s_setopt(self->socket, ZMQ_HEARTBEAT_TIMEOUT, S_HEARTBEAT_TIMEOUT) ||
        s_setopt(self->monitor, ZMQ_LINGER, 0))
        goto failed;
    int64_t max_frame = ZJ_MAX_FRAME;
    if (zmq_setsockopt(self->socket, ZMQ_MAXMSGSIZE, &max_frame,
                       sizeof max_frame) ||
        zmq_socket_monitor(self->socket, S_MONITOR,
                           ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED) ||
        zmq_connect(self->monitor, S_MONITOR))
        goto failed;
    if (key_file && (code = s_use_curve(self, key_file, coordinator_key_file)))
        goto failed;
    if (zmq_connect(self->socket, self->endpoint)) {
        code = ZJ_EUSAGE; //  An endpoint ZeroMQ cannot parse
        goto failed;
    }
    return self;

failed:
    zjob_client_destroy(&self);
    if (err_p)
        *err_p = code;
    return NULL;
}

void
zjob_client_destroy(zjob_client_t **self_p)
{
    assert(self_p);
    zjob_client_t *self = *self_p;
    if (self == NULL)
        return;
    if (self->socket) {
        zmq_socket_monitor(self->socket, NULL, 0);
        zmq_close(self->socket);
    }
    if (self->monitor)
        zmq_close(self->monitor);
    if (self->context)
        zmq_ctx_term(self->context);
    free(self->endpoint);
    free(self);
    *self_p = NULL;
}

int
zjob_client_set_timeouts(zjob_client_t *self, int64_t send_ms, int64_t reply_ms)
{
    assert(self);
    if (send_ms <= 0 || send_ms > INT32_MAX || reply_ms <= 0)
        return zj_client_fail(self, ZJ_EUSAGE, "timeouts must be > 0 ms");
    if (s_setopt(self->socket, ZMQ_SNDTIMEO, (int) send_ms))
        return zj_client_fail(self, ZJ_ESYS, "%s", zmq_strerror(errno));
    self->send_ms = send_ms;
    self->reply_ms = reply_ms;
    return 0;
}

int
zjob_client_set_batch(zjob_client_t *self, size_t jobs)
{
    assert(self);
    if (jobs < 1 || jobs > ZJ_MAX_BATCH)
        return zj_client_fail(self, ZJ_EUSAGE, "batch %zu not in 1..%d", jobs,
                              ZJ_MAX_BATCH);
    self->batch = jobs;
    return 0;
}

void
zjob_client_set_tick(zjob_client_t *self, int64_t interval_ms, zjob_tick_fn *fn,
                     void *arg)
{
    assert(self);
    self->tick_fn = fn;
    self->tick_arg = arg;
    self->tick_ms = interval_ms > 0 ? interval_ms : 100;
}

const char *
zjob_client_endpoint(const zjob_client_t *self)
{
    assert(self);
    return self->endpoint;
}

const char *
zjob_client_last_error(const zjob_client_t *self)
{
    assert(self);
    return self->why;
}

const char *
zjob_strerror(int code)
{
    return zj_strerror(code);
}
