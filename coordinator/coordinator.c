//  coordinator.c - the coordinator's loop, in named phases:
//  receive and handle -> timers -> schedule by credit -> commit the turn
//  -> send the replies that waited for the commit -> reap.
//  When the store cannot be written the loop goes on degraded: submits
//  are refused, no job starts, and every reply that tells of a write is
//  held until a retry of the store (once per tick) writes them all.
#include "common/duration.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "coordinator/client_ep.h"
#include "coordinator/coordinator.h"
#include "coordinator/lifecycle.h"
#include "coordinator/worker_ep.h"
#include "proto/codec.h"

typedef struct {
    zsock_t *socket;    //  Where it goes (borrowed)
    zframe_t *identity; //  To whom, owned
    zj_msg_t *msg;      //  What, owned
} zj_outgoing_t;

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

void
zj_coordinator_config_defaults(zj_coordinator_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->clients_endpoint = ZJ_CLIENTS_ENDPOINT;
    config->workers_endpoint = ZJ_WORKERS_ENDPOINT;
    config->db_path = "zjob.db";
    config->sync = ZJ_SYNC_NORMAL;
    config->heartbeat_ms = ZJ_HEARTBEAT_MS;
    config->liveness = ZJ_LIVENESS;
    zj_limits_defaults(&config->limits);
}

static zsock_t *
s_bind(const char *endpoint, const zj_keypair_t *keys, const char *domain)
{
    zsock_t *socket = zsock_new(ZMQ_ROUTER);
    if (socket == NULL)
        return NULL;
    if (keys && zj_keys_make_server(zsock_resolve(socket), keys, domain)) {
        zj_log_error("cannot use CURVE on endpoint=%s", endpoint);
        zsock_destroy(&socket);
        return NULL;
    }
    zsock_set_sndhwm(socket, 0);
    zsock_set_rcvhwm(socket, 100000);
    zsock_set_linger(socket, 1000);
    //  A peer that sends a larger frame is cut off before it is read, so
    //  no one can make the loop hold more than this per message.
    zsock_set_maxmsgsize(socket, ZJ_MAX_FRAME);
    if (zsock_bind(socket, "%s", endpoint) == -1) {
        zj_log_error("cannot bind endpoint=%s error=\"%s\"", endpoint,
                     zmq_strerror(zmq_errno()));
        zsock_destroy(&socket);
    }
    return socket;
}

static void
s_recover_one(void *arg, const zj_job_t *job)
{
    zj_lifecycle_recover(arg, job);
}

static void
s_remember_kinds(void *arg, const zj_worker_info_t *info)
{
    zj_coordinator_t *self = arg;
    for (size_t index = 0; index < info->kind_count; index++)
        zhashx_update(self->kinds, info->kinds[index].name,
                      (void *) ((uintptr_t) info->kinds[index].klass + 1));
}

static int
s_recover(zj_coordinator_t *self)
{
    int64_t requeued = 0;
    if (zj_store_recover(self->store, s_recover_one, self, &requeued) != 0 ||
        zj_store_list_workers(self->store, s_remember_kinds, self) != 0 ||
        zj_store_forget_workers(self->store) != 0 ||
        zj_store_commit(self->store) != 0) {
        zj_log_error("recovery failed db=%s error=\"%s\"",
                     self->config.db_path, zj_store_last_error(self->store));
        return ZJ_ESTORE;
    }
    zj_log_info("recovered queued=%zu requeued=%" PRId64 " delayed=%zu",
                zj_futures_size(self->futures), requeued,
                zj_scheduler_delayed(self->scheduler));
    return 0;
}

//  Loads our secret key and starts the ZAP handler that admits the keys
//  of the two folders.
static int
s_start_curve(zj_coordinator_t *self, zj_keypair_t *keys)
{
    const zj_coordinator_config_t *config = &self->config;
    char why[ZJ_WHY_SIZE] = "";
    const char *domains[] = {"workers", "clients"};
    const char *folders[] = {config->worker_keys, config->client_keys};
    if (zj_keys_load_secret(config->key_path, keys, why) == 0)
        self->authenticator =
            zj_keys_authenticator_new(domains, folders, 2, why);
    if (self->authenticator == NULL) {
        zj_log_error("cannot use CURVE: %s", why);
        return ZJ_EUSAGE;
    }
    self->worker_ring = zj_keyring_new(config->worker_keys);
    self->client_ring = zj_keyring_new(config->client_keys);
    zj_log_info("curve on worker_keys=%s client_keys=%s public_key=%s",
                config->worker_keys, config->client_keys, keys->public_key);
    return 0;
}

zj_coordinator_t *
zj_coordinator_new(const zj_coordinator_config_t *config)
{
    zj_coordinator_t *self = calloc(1, sizeof *self);
    assert(self);
    self->config = *config;
    self->futures = zj_futures_new();
    self->scheduler = zj_scheduler_new();
    self->peers = zhashx_new();
    self->peers_by_name = zhashx_new();
    self->kinds = zhashx_new();
    self->outbox = zlistx_new();
    zlistx_set_destructor(self->outbox, s_outgoing_destroy);
    self->held = zlistx_new();
    zlistx_set_destructor(self->held, s_outgoing_destroy);
    char why[ZJ_WHY_SIZE] = "";
    self->store = zj_store_new(config->db_path, config->sync, why);
    if (self->store == NULL) {
        zj_log_error("cannot open store db=%s error=\"%s\"", config->db_path,
                     why);
        goto failed;
    }
    if (s_recover(self) != 0)
        goto failed;
    zj_keypair_t keys;
    if (config->key_path && s_start_curve(self, &keys) != 0)
        goto failed;
    const zj_keypair_t *curve = config->key_path ? &keys : NULL;
    self->clients = s_bind(config->clients_endpoint, curve, "clients");
    self->workers = s_bind(config->workers_endpoint, curve, "workers");
    memset(&keys, 0, sizeof keys);
    if (self->clients == NULL || self->workers == NULL)
        goto failed;
    zj_log_info("listening clients=%s workers=%s db=%s curve=%s",
                config->clients_endpoint, config->workers_endpoint,
                config->db_path, curve ? "on" : "off");
    return self;
failed:
    zj_coordinator_destroy(&self);
    return NULL;
}

void
zj_coordinator_destroy(zj_coordinator_t **self_p)
{
    assert(self_p);
    zj_coordinator_t *self = *self_p;
    if (self == NULL)
        return;
    if (self->peers)
        zj_worker_ep_close(self);
    zlistx_destroy(&self->outbox);
    zlistx_destroy(&self->held);
    zsock_destroy(&self->clients);
    zsock_destroy(&self->workers);
    zactor_destroy(&self->authenticator);
    zj_keyring_destroy(&self->worker_ring);
    zj_keyring_destroy(&self->client_ring);
    zj_scheduler_destroy(&self->scheduler);
    zj_futures_destroy(&self->futures);
    zj_store_destroy(&self->store);
    zhashx_destroy(&self->peers);
    zhashx_destroy(&self->peers_by_name);
    zhashx_destroy(&self->kinds);
    free(self);
    *self_p = NULL;
}

void
zj_coordinator_send(zj_coordinator_t *self, zsock_t *socket,
                    zframe_t *identity, zj_msg_t **msg_p)
{
    assert(self && socket && identity && msg_p && *msg_p);
    zj_outgoing_t *outgoing = calloc(1, sizeof *outgoing);
    assert(outgoing);
    outgoing->socket = socket;
    outgoing->identity = zframe_dup(identity);
    outgoing->msg = *msg_p;
    *msg_p = NULL;
    zlistx_add_end(self->outbox, outgoing);
}

void
zj_coordinator_send_error(zj_coordinator_t *self, zsock_t *socket,
                          zframe_t *identity, uint64_t req, int code,
                          const char *reason)
{
    zj_msg_t *error = zj_msg_new(ZJ_MSG_ERROR);
    error->req = req;
    error->code = code;
    error->reason = strndup(reason, ZJ_MAX_TEXT - 1);
    zj_coordinator_send(self, socket, identity, &error);
}

void
zj_coordinator_store_failed(zj_coordinator_t *self, const char *what)
{
    zj_log_error("store refused a row during=\"%s\" error=\"%s\"", what,
                 zj_store_last_error(self->store));
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
s_send_frame(zsock_t *socket, zframe_t *identity, const char *data,
             size_t size)
{
    void *handle = zsock_resolve(socket);
    if (s_send_part(handle, zframe_data(identity), zframe_size(identity),
                    ZMQ_SNDMORE) == -1 ||
        s_send_part(handle, data, size, 0) == -1)
        zj_log_warning("send failed error=\"%s\"", zmq_strerror(zmq_errno()));
}

static void
s_send_outgoing(zj_outgoing_t *outgoing)
{
    char *data = NULL;
        size_t size = 0;
        char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_encode(outgoing->msg, &data, &size, why);
    if (rc == 0)
        s_send_frame(outgoing->socket, outgoing->identity, data, size);
    else
        zj_log_error("encode failed type=%s error=\"%s\"",
                     zj_msg_type_name(outgoing->msg->type), why);
    free(data);
    void *item = outgoing;
    s_outgoing_destroy(&item);
}

//  Replies that tell of a write: sent only once it is in the store.
static bool
s_waits_for_store(zj_coordinator_t *self, const zj_outgoing_t *outgoing)
{
    switch (outgoing->msg->type) {
    case ZJ_MSG_SUBMITTED:
    case ZJ_MSG_RESOLVED:
    case ZJ_MSG_DONE:
    case ZJ_MSG_JOBS:
    case ZJ_MSG_ACK:
        return true;
    case ZJ_MSG_CANCEL:
        return outgoing->socket == self->clients;
    default:
        return false;
    }
}

//  Phase: send what waited for the commit, holding what waits for the
//  store while it is degraded; held replies go first once it is back.
static void
s_flush_outbox(zj_coordinator_t *self)
{
    bool degraded = self->degraded_since_ms > 0;
    zj_outgoing_t *outgoing;
    while (!degraded && (outgoing = zlistx_detach(self->held, NULL)))
        s_send_outgoing(outgoing);
    while ((outgoing = zlistx_detach(self->outbox, NULL))) {
        if (degraded && s_waits_for_store(self, outgoing))
            zlistx_add_end(self->held, outgoing);
        else
            s_send_outgoing(outgoing);
    }
}

//  With CURVE, a message counts only while its sender's key (the user id
//  the ZAP handler gave its connection) is still in the folder: a key
//  removed cuts off a connection made before, within a tick. A revoked
//  worker is dropped and its jobs queued again.
static bool
s_still_admitted(zj_coordinator_t *self, zsock_t *socket, zframe_t *identity,
                 zframe_t *body, uint64_t req, bool from_clients)
{
    zj_keyring_t *ring = from_clients ? self->client_ring : self->worker_ring;
    if (ring == NULL || zj_keyring_has(ring, zframe_meta(body, "User-Id")))
        return true;
    zj_log_warning("message refused from=%s reason=\"key revoked\"",
                   from_clients ? "client" : "worker");
    if (!from_clients)
        zj_worker_ep_revoke(self, identity);
    zj_coordinator_send_error(self, socket, identity, req, ZJ_EDENIED,
                              "your key is no longer admitted");
    return false;
}

//  Reads one message (routing id + one body frame) without blocking.
//  Returns false when nothing is waiting.
static bool
s_receive_one(zj_coordinator_t *self, zsock_t *socket, bool from_clients)
{
    if (!(zsock_events(socket) & ZMQ_POLLIN))
        return false;
    zmsg_t *raw = zmsg_recv(socket);
    if (raw == NULL)
        return false;
    zframe_t *identity = zmsg_pop(raw);
    zframe_t *body = zmsg_pop(raw);
    const char *side = from_clients ? "client" : "worker";
    if (identity == NULL || body == NULL || zmsg_size(raw) != 0) {
        zj_log_warning("message dropped from=%s reason=\"not one frame\"",
                       side);
        if (identity)
            zj_coordinator_send_error(self, socket, identity, 0, ZJ_EPROTO,
                                      "a message is exactly one frame");
    }
    else {
        zj_msg_t *msg = NULL;
        uint64_t req = 0;
        char why[ZJ_WHY_SIZE] = "";
        int rc = zj_msg_decode(zframe_data(body), zframe_size(body), &msg,
                               &req, why);
        if (rc == 0)
            rc = zj_limits_check(&self->config.limits, zframe_size(body), msg,
                                 why);
        bool admitted = s_still_admitted(self, socket, identity, body, req,
                                         from_clients);
        if (admitted && rc != 0) {
            zj_log_warning("message refused from=%s code=%s reason=\"%s\"",
                           side, zj_errname(rc), why);
            zj_coordinator_send_error(self, socket, identity, req, rc, why);
        }
        else if (admitted && from_clients)
            zj_client_ep_handle(self, identity, msg);
        else if (admitted)
            zj_worker_ep_handle(self, identity, msg);
        zj_msg_destroy(&msg);
    }
    zframe_destroy(&identity);
    zframe_destroy(&body);
    zmsg_destroy(&raw);
    return true;
}

//  Phase: receive and handle, a bounded number per socket.
static void
s_receive(zj_coordinator_t *self)
{
    for (int count = 0; count < ZJ_TURN_BUDGET; count++)
        if (!s_receive_one(self, self->workers, false))
            break;
    for (int count = 0; count < ZJ_TURN_BUDGET; count++)
        if (!s_receive_one(self, self->clients, true))
            break;
}

//  How long the poll may sleep: until the next timer, at most a beat.
static long
s_poll_timeout(zj_coordinator_t *self, int64_t now_ms, int64_t next_tick)
{
    int64_t wake = next_tick;
    double delayed = zj_scheduler_next_wake(self->scheduler);
    if (delayed > 0) {
        int64_t due = now_ms + (int64_t) ((delayed - zj_now()) * 1000) + 1;
        if (due < wake)
            wake = due;
    }
    int64_t deadline = zj_futures_next_deadline(self->futures);
    if (deadline > 0 && deadline < wake)
        wake = deadline;
    return wake > now_ms ? (long) (wake - now_ms) : 0;
}

static void
s_send_to_client(void *arg, zframe_t *identity, zj_msg_t **msg_p)
{
    zj_coordinator_t *self = arg;
    zj_coordinator_send(self, self->clients, identity, msg_p);
}

//  Timer phase: read the key folders again (keys removed are revoked).
static void
s_refresh_keys(zj_coordinator_t *self)
{
    if (self->worker_ring)
        zj_keyring_refresh(self->worker_ring);
    if (self->client_ring)
        zj_keyring_refresh(self->client_ring);
}

//  Phase: commit. A failed commit degrades the coordinator.
static void
s_commit(zj_coordinator_t *self, int64_t now_ms)
{
    if (zj_store_commit(self->store) == 0 || self->degraded_since_ms)
        return;
    self->degraded_since_ms = now_ms;
    zj_log_error("store write failed error=\"%s\" writes_held=%zu: "
                 "refusing submits, starting no job and holding replies "
                 "until the store takes writes again (retry every %d ms)",
                 zj_store_last_error(self->store),
                 zj_store_pending(self->store), self->config.heartbeat_ms);
}

//  Timer phase: while degraded, try to write everything held.
static void
s_retry_store(zj_coordinator_t *self, int64_t now_ms)
{
    if (self->degraded_since_ms == 0)
        return;
    size_t pending = zj_store_pending(self->store);
    if (zj_store_retry(self->store) != 0)
        return;
    zj_log_info("store takes writes again after_ms=%" PRId64
                " writes=%zu replies_released=%zu",
                now_ms - self->degraded_since_ms, pending,
                zlistx_size(self->held));
    self->degraded_since_ms = 0;
}

//  Everything acknowledged is committed; a last retry writes what a
//  degraded store still holds. Then the workers hear we go, so they keep
//  their results until a coordinator is back.
static int
s_stop(zj_coordinator_t *self)
{
    int rc = 0;
    if (self->degraded_since_ms && zj_store_retry(self->store) != 0) {
        zj_log_error("stopping with writes_unstored=%zu replies_unsent=%zu "
                     "error=\"%s\": none of them was acknowledged",
                     zj_store_pending(self->store), zlistx_size(self->held),
                     zj_store_last_error(self->store));
        rc = ZJ_ESTORE;
    } else
        self->degraded_since_ms = 0;
    zj_log_info("stopping jobs_unfinished=%zu workers=%zu checkpoints=%ld",
                zj_futures_size(self->futures), zhashx_size(self->peers),
                zj_store_checkpoints(self->store));
    zj_worker_ep_close(self);
    s_flush_outbox(self);
    return rc;
}

int
zj_coordinator_run(zj_coordinator_t *self)
{
    assert(self);
    zmq_pollitem_t items[] = {
        {zsock_resolve(self->workers), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->clients), 0, ZMQ_POLLIN, 0},
    };
    int64_t next_tick = 0;
    while (!zsys_interrupted) {
        int64_t now_ms = zj_mono_ms();
        long timeout = s_poll_timeout(self, now_ms, next_tick);
        if (zmq_poll(items, 2, timeout) == -1 && zmq_errno() != EINTR)
            break;
        s_receive(self);
        now_ms = zj_mono_ms();
        if (now_ms >= next_tick) {
            s_refresh_keys(self);
            next_tick = zj_worker_ep_tick(self, now_ms);
            s_retry_store(self, now_ms);
        }
        zj_scheduler_wake(self->scheduler, zj_now());
        if (zj_store_is_writable(self->store))
            zj_worker_ep_dispatch(self);
        s_commit(self, now_ms);
        zj_futures_flush(self->futures, now_ms, s_send_to_client, self);
        s_flush_outbox(self);
        zj_store_bound_wal(self->store);
        if (self->degraded_since_ms == 0)
            zj_futures_reap(self->futures);
    }
    return s_stop(self);
}
