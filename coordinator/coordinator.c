//  coordinator.c - the coordinator's loop, in named phases:
//  receive and handle -> timers -> schedule by credit -> commit the turn
//  -> send the replies that waited for the commit -> reap.
//  When the store cannot be written the loop goes on degraded: submits
//  are refused, no job starts, and every reply that tells of a write is
//  held until a retry of the store (once per tick) writes them all.
#include "common/duration.h"
#include "common/err.h"
#include "common/idmap.h"
#include "common/keys.h"
#include "common/log.h"
#include "coordinator/admission.h"
#include "coordinator/client_ep.h"
#include "coordinator/coordinator.h"
#include "coordinator/http_ep.h"
#include "coordinator/overview.h"
#include "coordinator/parents.h"
#include "coordinator/retention.h"
#include "coordinator/schedule_ep.h"
#include "coordinator/worker_ep.h"
#include "proto/codec.h"
#include "proto/limits.h"

//  The clients socket: ZeroMQ holds at most this many frames for one
//  client (ZMQ_SNDHWM), then says "full" and the outbox keeps the rest.
#define ZJ_CLIENT_SNDHWM 16
//  While a client is blocked, its backlog is tried again this often.
#define ZJ_CLIENT_RETRY_MS 5
//  ZMTP heartbeats on the clients socket: a silent peer is dropped, and
//  a send to it then says "gone" (EHOSTUNREACH).
#define ZJ_CLIENT_PING_MS 2000
#define ZJ_CLIENT_PING_TIMEOUT_MS 6000

struct zj_coordinator {
    zj_coordinator_config_t config; //  As given (strings borrowed)
    zsock_t *clients;               //  ROUTER for clients
    zsock_t *workers;               //  ROUTER for workers
    zactor_t *authenticator;        //  Checks CURVE keys (ZAP), or NULL
    zj_keyring_t *worker_ring;      //  Keys admitted now, for revocation:
    zj_keyring_t *client_ring;      //  refreshed each turn (admission.h)
    zj_sessions_t *sessions;        //  Awaiting clients' keys, with CURVE
    uint64_t client_generation;     //  client_ring's, at the last cut-off
    zj_refusals_t refused[2];       //  Messages refused: workers, clients
    zj_store_t *store;              //  The record
    zj_futures_t *futures;          //  Unfinished jobs and awaits
    zj_scheduler_t *scheduler;      //  Queued jobs
    zj_peers_t *peers;              //  Workers, their credit, the kinds
    zj_deadlines_t *deadlines;      //  When running attempts time out
    zj_throttle_t *throttle;        //  Limits per kind, running per kind
    zj_deps_t *deps;                //  Which jobs wait for which
    zj_deps_t *kids;                //  Which jobs parents made
    zlistx_t *stops;                //  Attempts cancelled by a parent's end
    zj_idmap_t *progressed;         //  Jobs whose progress waits to be stored
    zj_stats_t *stats;              //  Jobs finished per minute (zjob stats)
    zj_listing_t *listing;          //  LISTs that scan, between turns
    zj_outbox_t *outbox;            //  Replies waiting for the commit
    zj_retention_t *retention;      //  --keep and zjob purge
    zj_lifecycle_t jobs;            //  The state machine over the above
    zj_client_ep_t client_ep;       //  The clients endpoint
    zj_worker_ep_t worker_ep;       //  The workers endpoint
    int64_t degraded_since_ms;      //  zj_mono_ms() the store failed, or 0
    int64_t gone_logged_ms;         //  When "store gone" was last logged
    zj_schedules_t *schedules;      //  zjob schedule's, by next run
    zj_metrics_t *metrics;          //  Counters since start (/metrics)
    zj_http_ep_t *http;             //  The status page, or NULL
    double started_at;              //  zj_now() at zj_coordinator_new
};

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
    config->max_losses = ZJ_MAX_LOSSES;
    config->keep_ms = ZJ_RETENTION_KEEP_MS;
    config->timeout_grace_ms = -1;
    zj_limits_defaults(&config->limits);
}

//  Bounds what one client can make us hold: ZeroMQ keeps at most
//  ZJ_CLIENT_SNDHWM frames for it and then says "full" (EAGAIN) or, for a
//  peer that left, "gone" (EHOSTUNREACH) instead of dropping or growing;
//  heartbeats find peers that went silent. Workers get what their credit
//  allows, queued without a limit.
static void
s_set_send_policy(zsock_t *socket, bool for_clients)
{
    if (!for_clients) {
        zsock_set_sndhwm(socket, 0);
        return;
    }
    zsock_set_sndhwm(socket, ZJ_CLIENT_SNDHWM);
    zsock_set_router_mandatory(socket, 1);
    zsock_set_heartbeat_ivl(socket, ZJ_CLIENT_PING_MS);
    zsock_set_heartbeat_timeout(socket, ZJ_CLIENT_PING_TIMEOUT_MS);
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
    s_set_send_policy(socket, streq(domain, "clients"));
    zsock_set_rcvhwm(socket, 100000);
    zsock_set_linger(socket, 1000);
    //  A receive never waits: the loop reads until nothing is left, and
    //  asking ZMQ_EVENTS before each message cost two syscalls more.
    zsock_set_rcvtimeo(socket, 0);
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

//  The workers of the last run offered these kinds: a job of another
//  kind fails at once even before any worker connects.
static void
s_remember_kinds(void *arg, const zj_worker_info_t *info)
{
    zj_peers_learn_kinds(arg, info);
}

//  A kind's limits, as the last run left them.
static void
s_recover_limit(void *arg, const zj_kind_limit_t *limit)
{
    zj_throttle_set(arg, limit, zj_mono_ms());
    zj_log_info("limit kind=%s concurrency=%" PRId32 " rate=%g", limit->kind,
                limit->concurrency, limit->rate);
}

static int
s_recover(zj_coordinator_t *self)
{
    int64_t requeued = 0;
    int rc =
        zj_store_recover(self->store, s_recover_one, &self->jobs, &requeued);
    if (rc == 0)
        zj_lifecycle_recovered(&self->jobs);
    if (rc != 0 ||
        zj_store_list_workers(self->store, s_remember_kinds, self->peers) !=
            0 ||
        zj_store_list_limits(self->store, s_recover_limit, self->throttle) !=
            0 ||
        zj_store_forget_workers(self->store) != 0 ||
        zj_store_commit(self->store) != 0) {
        zj_log_error("recovery failed db=%s error=\"%s\"", self->config.db_path,
                     zj_store_last_error(self->store));
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
        self->authenticator = zj_admission_new(domains, folders, 2, why);
    if (self->authenticator == NULL) {
        zj_log_error("cannot use CURVE: %s", why);
        return ZJ_EUSAGE;
    }
    self->worker_ring =
        zj_keyring_new(config->worker_keys, ZJ_KEYRING_RECHECK_MS);
    self->client_ring =
        zj_keyring_new(config->client_keys, ZJ_KEYRING_RECHECK_MS);
    self->client_generation = zj_keyring_generation(self->client_ring);
    self->sessions = zj_sessions_new();
    zj_refusals_init(&self->refused[0], "message refused from=worker",
                     "messages refused from=worker", "key revoked",
                     ZJ_REFUSALS_LOG_MS);
    zj_refusals_init(&self->refused[1], "message refused from=client",
                     "messages refused from=client", "key revoked",
                     ZJ_REFUSALS_LOG_MS);
    zj_log_info("curve on worker_keys=%s client_keys=%s public_key=%s",
                config->worker_keys, config->client_keys, keys->public_key);
    return 0;
}

//  The loader of awaits (futures.h): a final record from memory until
//  the turn's reap (the store may be behind while degraded), else from
//  the store; a record retention deleted since is reported cancelled.
static int
s_load_final(void *arg, int64_t id, zj_job_t *job)
{
    zj_coordinator_t *self = arg;
    const zj_job_t *known = zj_futures_final(self->futures, id);
    if (known) {
        zj_job_copy(job, known);
        return 0;
    }
    int rc = zj_store_get_job(self->store, id, job);
    if (rc != ZJ_ENOTFOUND)
        return rc;
    //  Deleted by retention while the await waited for its client's room
    //  (paused longer than --keep): say so rather than wait for ever.
    *job = (zj_job_t){.id = id, .state = ZJ_STATE_CANCELLED};
    job->error = strdup("its record was deleted (zjob purge or --keep) "
                        "before this await could send it: outcome unknown");
    assert(job->error);
    return 0;
}

//  The schedules of the store, into memory; those due fire in the first
//  turn, once each (schedule_ep.h, "Missed runs").
static int
s_load_schedules(zj_coordinator_t *self)
{
    zj_schedule_ep_t schedules = {&self->jobs, self->outbox, self->schedules};
    if (zj_schedule_ep_load(&schedules) == 0)
        return 0;
    zj_log_error("cannot read schedules db=%s error=\"%s\"",
                 self->config.db_path, zj_store_last_error(self->store));
    return ZJ_ESTORE;
}

//  Phase: fire the schedules that are due, inside the turn, before
//  dispatch, so their jobs may start in the same turn.
static void
s_fire_schedules(zj_coordinator_t *self)
{
    zj_schedule_ep_t schedules = {&self->jobs, self->outbox, self->schedules};
    zj_schedule_ep_fire(&schedules, zj_now());
}

//  Points the state machine and the endpoints at what they act on.
static void
s_wire(zj_coordinator_t *self)
{
    self->jobs = (zj_lifecycle_t){
        .store = self->store,
        .futures = self->futures,
        .scheduler = self->scheduler,
        .peers = self->peers,
        .deadlines = self->deadlines,
        .deps = self->deps,
        .kids = self->kids,
        .stops = self->stops,
        .progressed = self->progressed,
        .throttle = self->throttle,
        .stats = self->stats,
        .metrics = self->metrics,
        .max_losses = self->config.max_losses,
        .loss_spread_ms =
            (int64_t) self->config.heartbeat_ms * self->config.liveness,
    };
    zj_futures_set_loader(self->futures, s_load_final, self);
    self->client_ep =
        (zj_client_ep_t){&self->jobs, self->outbox, self->retention,
                         self->schedules, self->listing};
    self->worker_ep = (zj_worker_ep_t){
        .jobs = &self->jobs,
        .outbox = self->outbox,
        .limits = &self->config.limits,
        .heartbeat_ms = self->config.heartbeat_ms,
        .liveness = self->config.liveness,
    };
}

//  Ids go on after the highest ever handed out from this path, which the
//  lock file records: a store deleted and made new, or restored from an
//  older copy, must not give a client's ids to other jobs.
static void
s_continue_ids(zj_coordinator_t *self)
{
    zj_store_lock_t *lock = self->config.store_lock;
    zj_store_lock_watch(lock);
    int64_t recorded = zj_store_lock_next_id(lock);
    int64_t next = zj_store_next_id(self->store);
    if (recorded > next) {
        zj_log_warning("store is new or older than its lock file db=%s "
                       "next_id=%" PRId64 ": ids up to %" PRId64 " were "
                       "handed out from this path before, so ids go on "
                       "from %" PRId64,
                       self->config.db_path, next, recorded - 1, recorded);
        zj_store_skip_ids(self->store, recorded);
    }
    zj_store_lock_set_next_id(lock, zj_store_next_id(self->store));
}

//  The grace past a job's timeout before the coordinator ends its
//  attempt: by default as long as a worker may stay silent, which also
//  covers a result the worker sends again after a lost link.
static int64_t
s_timeout_grace(const zj_coordinator_config_t *config)
{
    if (config->timeout_grace_ms >= 0)
        return config->timeout_grace_ms;
    return (int64_t) config->heartbeat_ms * config->liveness;
}

//  The status page, when asked for (--http).
static int
s_start_http(zj_coordinator_t *self)
{
    const zj_coordinator_config_t *config = &self->config;
    if (config->http_addr == NULL)
        return 0;
    char why[ZJ_WHY_SIZE] = "";
    self->http = zj_http_ep_new(config->http_addr, config->http_token,
                                config->db_path, why);
    if (self->http)
        return 0;
    zj_log_error("cannot serve the status page: %s", why);
    return ZJ_EUSAGE;
}

zj_coordinator_t *
zj_coordinator_new(const zj_coordinator_config_t *config)
{
    zj_coordinator_t *self = calloc(1, sizeof *self);
    assert(self);
    self->config = *config;
    self->futures = zj_futures_new();
    self->scheduler = zj_scheduler_new();
    self->peers = zj_peers_new();
    self->deadlines = zj_deadlines_new(s_timeout_grace(config));
    self->throttle = zj_throttle_new();
    self->deps = zj_deps_new();
    self->kids = zj_deps_new();
    self->stops = zlistx_new();
    self->progressed = zj_idmap_new();
    self->stats = zj_stats_new();
    self->listing = zj_listing_new();
    self->outbox = zj_outbox_new();
    self->schedules = zj_schedules_new();
    self->metrics = zj_metrics_new();
    self->started_at = zj_now();
    char why[ZJ_WHY_SIZE] = "";
    self->store = zj_store_new(config->db_path, config->sync, why);
    if (self->store == NULL) {
        zj_log_error("cannot open store db=%s error=\"%s\"", config->db_path,
                     why);
        goto failed;
    }
    if (config->store_lock)
        s_continue_ids(self);
    self->retention =
        zj_retention_new(self->store, self->futures, config->keep_ms,
                         config->store_lock ? config->db_path : NULL);
    s_wire(self);
    if (s_recover(self) != 0 || s_load_schedules(self) != 0)
        goto failed;
    zj_keypair_t keys;
    if (config->key_path && s_start_curve(self, &keys) != 0)
        goto failed;
    const zj_keypair_t *curve = config->key_path ? &keys : NULL;
    self->clients = s_bind(config->clients_endpoint, curve, "clients");
    self->workers = s_bind(config->workers_endpoint, curve, "workers");
    memset(&keys, 0, sizeof keys);
    if (self->clients == NULL || self->workers == NULL ||
        s_start_http(self) != 0)
        goto failed;
    zj_log_info("listening clients=%s workers=%s db=%s curve=%s http=%s",
                config->clients_endpoint, config->workers_endpoint,
                config->db_path, curve ? "on" : "off",
                self->http ? zj_http_ep_address(self->http) : "off");
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
    zj_http_ep_destroy(&self->http);
    if (self->worker_ep.jobs)
        zj_worker_ep_close(&self->worker_ep);
    zj_outbox_destroy(&self->outbox);
    zsock_destroy(&self->clients);
    zsock_destroy(&self->workers);
    zactor_destroy(&self->authenticator);
    zj_keyring_destroy(&self->worker_ring);
    zj_keyring_destroy(&self->client_ring);
    zj_sessions_destroy(&self->sessions);
    zj_scheduler_destroy(&self->scheduler);
    zj_peers_destroy(&self->peers);
    zj_deadlines_destroy(&self->deadlines);
    zj_throttle_destroy(&self->throttle);
    zj_deps_destroy(&self->deps);
    zj_deps_destroy(&self->kids);
    zj_stop_t *stop;
    while (self->stops && (stop = zlistx_detach(self->stops, NULL)))
        zj_stop_destroy(&stop);
    zlistx_destroy(&self->stops);
    zj_idmap_destroy(&self->progressed);
    zj_retention_destroy(&self->retention);
    zj_stats_destroy(&self->stats);
    zj_metrics_destroy(&self->metrics);
    zj_listing_destroy(&self->listing);
    zj_futures_destroy(&self->futures);
    zj_schedules_destroy(&self->schedules);
    zj_store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}

static zj_side_t
s_side(bool from_clients)
{
    return from_clients ? ZJ_TO_CLIENT : ZJ_TO_WORKER;
}

//  With CURVE, a message counts only while its sender's key (the user id
//  the ZAP handler gave its connection) is still in the folder: a key
//  removed cuts off a connection made before, at the next turn. A key not
//  known refreshes the ring first (a stat: it may have just been added).
//  A revoked worker is dropped and its jobs queued again. Refusals are
//  logged at a bounded rate.
static bool
s_still_admitted(zj_coordinator_t *self, zframe_t *identity, zframe_t *body,
                 uint64_t req, bool from_clients)
{
    zj_keyring_t *ring = from_clients ? self->client_ring : self->worker_ring;
    const char *key = ring ? zframe_meta(body, "User-Id") : NULL;
    if (ring == NULL || zj_keyring_has(ring, key))
        return true;
    zj_keyring_refresh(ring, zclock_mono());
    if (zj_keyring_has(ring, key))
        return true;
    zj_refusals_note(&self->refused[from_clients],
                     zframe_meta(body, "Peer-Address"), zclock_mono());
    if (!from_clients)
        zj_worker_ep_revoke(&self->worker_ep, identity);
    zj_outbox_error(self->outbox, s_side(from_clients), identity, req,
                    ZJ_EDENIED, "your key is no longer admitted");
    return false;
}

//  Reads one message (routing id + one body frame) without blocking.
//  Returns false when nothing is waiting.
static bool
s_receive_one(zj_coordinator_t *self, zsock_t *socket, bool from_clients)
{
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
            zj_outbox_error(self->outbox, s_side(from_clients), identity, 0,
                            ZJ_EPROTO, "a message is exactly one frame");
    } else {
        zj_msg_t *msg = NULL;
        uint64_t req = 0;
        char why[ZJ_WHY_SIZE] = "";
        int rc = zj_msg_decode(zframe_data(body), zframe_size(body), &msg, &req,
                               why);
        if (rc == 0)
            rc = zj_limits_check(&self->config.limits, zframe_size(body), msg,
                                 why);
        bool admitted =
            s_still_admitted(self, identity, body, req, from_clients);
        if (admitted && rc == 0 && from_clients && self->sessions &&
            msg->type == ZJ_MSG_AWAIT)
            zj_sessions_remember(self->sessions, identity,
                                 zframe_meta(body, "User-Id"));
        if (admitted && rc != 0) {
            zj_log_warning("message refused from=%s code=%s reason=\"%s\"",
                           side, zj_errname(rc), why);
            zj_outbox_error(self->outbox, s_side(from_clients), identity, req,
                            rc, why);
        } else if (admitted && from_clients)
            zj_client_ep_handle(&self->client_ep, identity, msg);
        else if (admitted)
            zj_worker_ep_handle(&self->worker_ep, identity,
                                zframe_meta(body, "User-Id"), msg);
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

//  How long the poll may sleep: until the next timer (a delayed job, an
//  await's or a running attempt's deadline, a rate-limited kind's next
//  token, a schedule's next run, a retention step), at most a beat.
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
    int64_t expiry = zj_deadlines_next(self->deadlines);
    if (expiry > 0 && expiry < wake)
        wake = expiry;
    int64_t sweep = zj_retention_next(self->retention);
    if (sweep > 0 && sweep < wake)
        wake = sweep;
    double schedule = zj_schedules_next_at(self->schedules);
    if (schedule > 0) {
        int64_t due = now_ms + (int64_t) ((schedule - zj_now()) * 1000) + 1;
        if (due < wake)
            wake = due;
    }
    //  Jobs held by a kind's rate limit start when its next token is due.
    int64_t token = zj_throttle_next_token(self->throttle, now_ms);
    if (token > 0 && token < wake)
        wake = token;
    if (zj_outbox_blocked(self->outbox) > 0 &&
        now_ms + ZJ_CLIENT_RETRY_MS < wake)
        wake = now_ms + ZJ_CLIENT_RETRY_MS;
    if (zj_client_ep_is_busy(&self->client_ep))
        wake = now_ms; //  A LIST scans on: poll, and go on
    return wake > now_ms ? (long) (wake - now_ms) : 0;
}

//  True if the client at identity awaits with a key no longer admitted.
static bool
s_client_revoked(void *arg, zframe_t *identity)
{
    zj_coordinator_t *self = arg;
    const char *key = zj_sessions_key(self->sessions, identity);
    return key && !zj_keyring_has(self->client_ring, key);
}

//  Phase: with CURVE, look at the key folders (a stat each, see
//  admission.h). When the clients' keys changed, the awaits of clients
//  whose key was removed are released with ERROR EDENIED: they get no
//  result after that. On ticks, forget the keys of clients that no
//  longer await.
static void
s_check_keys(zj_coordinator_t *self, bool tick)
{
    if (self->client_ring == NULL)
        return;
    int64_t now_ms = zclock_mono();
    zj_keyring_refresh(self->worker_ring, now_ms);
    zj_keyring_refresh(self->client_ring, now_ms);
    uint64_t generation = zj_keyring_generation(self->client_ring);
    for (size_t side = 0; side < 2; side++)
        zj_refusals_flush(&self->refused[side], now_ms);
    if (generation == self->client_generation && !tick)
        return;
    self->client_generation = generation;
    size_t released = zj_futures_release_if(self->futures, s_client_revoked,
                                            self, self->outbox, ZJ_EDENIED,
                                            "your key is no longer admitted");
    if (released)
        zj_log_warning("client cut off awaits=%zu reason=\"key revoked\"",
                       released);
    zj_sessions_prune(self->sessions);
}

//  Phase: commit. A failed commit degrades the coordinator. Ids are
//  recorded in the lock file before a reply hands them out; a lock file
//  that cannot take the write (a full disk) leaves the store's own ids
//  in charge, as they were before the lock file kept them.
static void
s_commit(zj_coordinator_t *self, int64_t now_ms)
{
    bool wrote = zj_store_in_turn(self->store);
    int64_t began_us = wrote ? zj_mono_us() : 0;
    int rc = zj_store_commit(self->store);
    if (wrote && rc == 0)
        zj_metrics_commit(self->metrics,
                          (double) (zj_mono_us() - began_us) / 1e6);
    if (rc == 0 && self->config.store_lock)
        zj_store_lock_set_next_id(self->config.store_lock,
                                  zj_store_next_id(self->store));
    if (rc == 0 || self->degraded_since_ms)
        return;
    self->degraded_since_ms = now_ms;
    zj_log_error("store write failed error=\"%s\" writes_held=%zu: "
                 "refusing submits, starting no job and holding replies "
                 "until the store takes writes again (retry every %d ms)",
                 zj_store_last_error(self->store),
                 zj_store_pending(self->store), self->config.heartbeat_ms);
}

//  Timer phase: the store's files deleted or replaced under us. What is
//  written now would be lost with the old file, or land in a file another
//  coordinator uses: the store degrades for good, and says so until the
//  coordinator is restarted.
static void
s_watch_store(zj_coordinator_t *self, int64_t now_ms)
{
    zj_store_lock_t *lock = self->config.store_lock;
    if (lock == NULL)
        return;
    char why[ZJ_WHY_SIZE] = "";
    if (self->gone_logged_ms == 0) {
        if (zj_store_lock_check(lock, why) == 0) {
            if (why[0])
                zj_log_warning("store lock file mended: %s", why);
            return;
        }
        char reason[ZJ_WHY_SIZE + 32];
        snprintf(reason, sizeof reason, "%s; restart the coordinator", why);
        zj_store_set_gone(self->store, reason);
        if (self->degraded_since_ms == 0)
            self->degraded_since_ms = now_ms;
    } else if (now_ms - self->gone_logged_ms < ZJ_STORE_GONE_LOG_MS)
        return;
    self->gone_logged_ms = now_ms;
    zj_log_error("store gone db=%s reason=\"%s\" writes_held=%zu: "
                 "refusing submits and starting no job; results of running "
                 "jobs cannot be stored, so they are not acknowledged and "
                 "their workers keep them; restart the coordinator",
                 self->config.db_path, zj_store_last_error(self->store),
                 zj_store_pending(self->store));
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
                zj_outbox_held(self->outbox));
    self->degraded_since_ms = 0;
}

//  Phase: send what waited for the commit (see outbox.h). A client found
//  gone has its awaits released.
static void
s_flush_outbox(zj_coordinator_t *self)
{
    zj_outbox_flush(self->outbox, self->clients, self->workers,
                    self->degraded_since_ms > 0);
    zframe_t *identity;
    while ((identity = zj_outbox_next_gone(self->outbox))) {
        size_t released = zj_futures_release(self->futures, identity);
        char *hex = zframe_strhex(identity);
        if (released > 0)
            zj_log_info("client gone client=%s awaits_released=%zu", hex,
                        released);
        else
            zj_log_debug("client gone client=%s", hex);
        free(hex);
        zframe_destroy(&identity);
    }
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
                     zj_store_pending(self->store),
                     zj_outbox_held(self->outbox),
                     zj_store_last_error(self->store));
        rc = ZJ_ESTORE;
    } else
        self->degraded_since_ms = 0;
    zj_log_info("stopping jobs_unfinished=%zu workers=%zu checkpoints=%ld",
                zj_futures_size(self->futures), zj_peers_size(self->peers),
                zj_store_checkpoints(self->store));
    zj_worker_ep_close(&self->worker_ep);
    s_flush_outbox(self);
    return rc;
}

//  Phase: the status page asked for the state at a glance (http_ep.h).
static void
s_publish_overview(zj_coordinator_t *self)
{
    if (!zj_http_ep_wanted(self->http))
        return;
    zj_overview_src_t src = {
        .futures = self->futures,
        .scheduler = self->scheduler,
        .peers = self->peers,
        .throttle = self->throttle,
        .stats = self->stats,
        .metrics = self->metrics,
        .db_path = self->config.db_path,
        .started_at = self->started_at,
    };
    zj_http_ep_publish(self->http,
                       zj_overview_text(&src, zj_now(), zj_mono_ms()));
}

//  After each turn, in builds made with ZJ_CHECK_INVARIANTS (make
//  check-asan): every table agrees with every other. O(jobs) a turn.
static void
s_check_invariants(zj_coordinator_t *self)
{
#ifdef ZJ_CHECK_INVARIANTS
    assert(zj_lifecycle_invariants_hold(&self->jobs));
#else
    (void) self;
#endif
}

int
zj_coordinator_run(zj_coordinator_t *self)
{
    assert(self);
    zmq_pollitem_t items[] = {
        {zsock_resolve(self->workers), 0, ZMQ_POLLIN, 0},
        {zsock_resolve(self->clients), 0, ZMQ_POLLIN, 0},
        {NULL, self->http ? zj_http_ep_fd(self->http) : -1, ZMQ_POLLIN, 0},
    };
    int polled = self->http ? 3 : 2;
    int64_t next_tick = 0;
    while (!zsys_interrupted) {
        int64_t now_ms = zj_mono_ms();
        long timeout = s_poll_timeout(self, now_ms, next_tick);
        if (zmq_poll(items, polled, timeout) == -1 && zmq_errno() != EINTR)
            break;
        s_receive(self);
        now_ms = zj_mono_ms();
        zj_client_ep_resume(&self->client_ep, ZJ_LIST_SCAN_ROWS, now_ms);
        s_check_keys(self, now_ms >= next_tick);
        if (now_ms >= next_tick) {
            s_watch_store(self, now_ms);
            next_tick = zj_worker_ep_tick(&self->worker_ep, now_ms);
            s_retry_store(self, now_ms);
        }
        //  Between beats too, so a short timeout is enforced on time.
        zj_worker_ep_expire(&self->worker_ep, now_ms);
        s_fire_schedules(self);
        zj_scheduler_wake(self->scheduler, zj_now());
        zj_worker_ep_tell_stops(&self->worker_ep);
        if (zj_store_is_writable(self->store))
            zj_worker_ep_dispatch(&self->worker_ep);
        zj_retention_step(self->retention, now_ms, self->outbox);
        s_commit(self, now_ms);
        zj_futures_flush(self->futures, now_ms, self->outbox);
        zj_parents_wake(&self->jobs);
        s_flush_outbox(self);
        zj_store_bound_wal(self->store);
        if (self->degraded_since_ms == 0)
            zj_futures_reap(self->futures);
        if (polled == 3 && (items[2].revents & ZMQ_POLLIN))
            s_publish_overview(self);
        s_check_invariants(self);
    }
    return s_stop(self);
}
