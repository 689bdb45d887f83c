//  worker.c - the worker's loop: the coordinator's DEALER watched through
//  ZMQ_FD on libuv, HELLO and heartbeats, JOBS to the runner, outcomes to
//  the RESULTS pipeline (worker/results.c) and, after each loop turn, the
//  RESULTS frames it has due out on the DEALER (see worker.h).
#include <assert.h>
#include <czmq.h>
#include <uv.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/keys.h"
#include "common/log.h"
#include "proto/codec.h"
#include "worker/calls.h"
#include "worker/joblogs.h"
#include "worker/registry.h"
#include "worker/results.h"
#include "worker/runner.h"
#include "worker/stdout.h"
#include "worker/worker.h"

struct zj_worker {
    zj_worker_config_t config; //  As given (strings borrowed)
    char *name;                //  Our name
    char host[256];            //  Our host name
    uv_loop_t loop;            //  The local loop
    zsock_t *dealer;           //  To the coordinator
    uv_poll_t watch;           //  Watches the dealer's ZMQ_FD
    uv_timer_t beat;           //  Heartbeats and liveness
    uv_check_t flusher;        //  Sends RESULTS after each turn
    uv_idle_t kick;            //  Drains the dealer on the next turn
    uv_idle_t results_due;     //  Active while results wait for the check
    uv_signal_t signals[2];    //  SIGINT, SIGTERM
    zj_registry_t *registry;   //  Kinds we run
    zj_runner_t *runner;       //  Runs them
    zj_watchdog_t *watchdog;   //  Ends us if a job never yields, or NULL
    zj_results_t *results;     //  Outcomes batched, RESULTS held to ACK
    zj_calls_t *calls;         //  Jobs' SPAWN and AWAIT, held to their end
    zj_progress_t *progress;   //  Jobs' latest progress, sent when due
    zj_joblogs_t *logs;        //  What jobs wrote, sent each turn
    uv_timer_t progress_due;   //  Sends it
    bool curve;                //  Connect with CURVE, with these keys:
    zj_keypair_t keys;         //  Ours
    zj_keypair_t coordinator;  //  The coordinator's public key
    int heartbeat_ms;          //  From WELCOME
    int64_t last_heard_ms;     //  Last message from the coordinator
    int64_t last_hello_ms;     //  When we last said HELLO
    int64_t last_beat_ms;      //  When the beat timer last fired (or began)
    int64_t beat_late_max_ms;  //  Latest a beat has fired: the loop's lag
    bool welcomed;             //  WELCOME came for the last HELLO
    uv_timer_t name_retry;     //  Says HELLO again after EINUSE's wait
    bool name_retried;         //  Refused once since the last WELCOME
    int exit_code;             //  What zj_worker_run returns
    bool draining;             //  A signal came: finishing, taking none
    int64_t drain_deadline_ms; //  When draining gives up on running jobs
    uv_timer_t drain;          //  Watches the drain
};

static void s_drain(zj_worker_t *self);
static void s_on_beat(uv_timer_t *handle);

//  The libuv calls whose results are asserted, not handled, below (timer,
//  idle and check handles: their init on a live loop, their start with a
//  callback on a handle not closing) cannot fail by libuv's contract.

void
zj_worker_config_defaults(zj_worker_config_t *config)
{
    memset(config, 0, sizeof *config);
    config->endpoint = ZJ_WORKER_ENDPOINT;
    config->io_slots = ZJ_IO_SLOTS;
    config->max_suspended = ZJ_MAX_SUSPENDED;
    config->max_log = ZJ_MAX_LOG_DEFAULT;
    config->cpu_prefetch = ZJ_CPU_PREFETCH;
    config->block_ms = ZJ_BLOCK_MS;
    config->grace_ms = ZJ_GRACE_MS;
    config->watchdog_ms = ZJ_WATCHDOG_MS;
}

static void
s_on_results_due(uv_idle_t *handle)
{
    (void) handle; //  Being active is its whole job: see s_on_done
}

static void
s_on_kick(uv_idle_t *handle)
{
    uv_idle_stop(handle);
    s_drain(handle->data);
}

//  Sends one frame; a signal (SIGCHLD from a finished child) interrupting
//  the call is no reason to lose it.
static int
s_send_bytes(zj_worker_t *self, const char *data, size_t size)
{
    int rc;
    do
        rc = zmq_send(zsock_resolve(self->dealer), data, size, ZMQ_DONTWAIT);
    while (rc == -1 && zmq_errno() == EINTR);
    return rc;
}

//  Sends one encoded frame of type. Never drains the dealer itself.
static int
s_send_frame(zj_worker_t *self, const char *data, size_t size,
             zj_msg_type_t type)
{
    //  Between a reconnect and its new socket (the close phase of the same
    //  loop turn) there is no socket: what was due stays held, and goes
    //  after the next WELCOME.
    if (self->dealer == NULL) {
        zj_log_debug("send deferred type=%s reason=\"reconnecting\"",
                     zj_msg_type_name(type));
        return ZJ_ESEND;
    }
    int rc = 0;
    if (s_send_bytes(self, data, size) == -1) {
        zj_log_warning("send failed type=%s error=\"%s\"",
                       zj_msg_type_name(type), zmq_strerror(zmq_errno()));
        rc = ZJ_ESEND;
    }
    //  A send can consume the ZMQ_FD edge of a message that arrived: read
    //  ZMQ_EVENTS to re-arm it, and drain on the next turn if need be.
    if (zsock_events(self->dealer) & ZMQ_POLLIN) {
        int started = uv_idle_start(&self->kick, s_on_kick);
        assert(started == 0);
        (void) started;
    }
    return rc;
}

//  Encodes and sends *msg_p, which it destroys.
static int
s_send(zj_worker_t *self, zj_msg_t **msg_p)
{
    zj_msg_type_t type = (*msg_p)->type;
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_encode(*msg_p, &data, &size, why);
    if (rc == 0)
        rc = s_send_frame(self, data, size, type);
    else
        zj_log_error("encode failed type=%s error=\"%s\"",
                     zj_msg_type_name(type), why);
    zj_msg_destroy(msg_p);
    free(data);
    return rc;
}

//  Sends, oldest first, every RESULTS frame the pipeline has due. A frame
//  whose send fails stays held and goes again at the next resend.
static void
s_send_results(zj_worker_t *self)
{
    const char *data = NULL;
    size_t size = 0;
    while (zj_results_next_due(self->results, &data, &size))
        s_send_frame(self, data, size, ZJ_MSG_RESULTS);
}

//  Sends every call of a job that is due. One whose send fails goes
//  again after the next WELCOME.
static void
s_send_calls(zj_worker_t *self)
{
    char *data = NULL;
    size_t size = 0;
    while (self->welcomed && zj_calls_next_due(self->calls, &data, &size)) {
        s_send_frame(self, data, size, ZJ_MSG_SPAWN);
        free(data);
    }
}

//  A job made a call: it goes out in the check phase of this turn, and
//  an active idle handle keeps the poll before it from sleeping (as for
//  results, see s_on_done).
static void
s_on_call_due(void *arg)
{
    zj_worker_t *self = arg;
    int rc = uv_idle_start(&self->results_due, s_on_results_due);
    assert(rc == 0);
    (void) rc;
}

//  An I/O job printed to stdout: into its log.
static void
s_on_stdout(void *arg, int64_t job_id, int32_t attempt, const char *text,
            size_t size)
{
    zj_worker_t *self = arg;
    zj_joblogs_write(self->logs, job_id, attempt, text, size);
}

//  Sends what jobs wrote in this turn, before their results (dropped while
//  not welcomed).
static void
s_send_logs(zj_worker_t *self)
{
    zj_msg_t *msg;
    while ((msg = zj_joblogs_take(self->logs))) {
        if (self->welcomed)
            s_send(self, &msg);
        zj_msg_destroy(&msg);
    }
}

//  Sends the jobs' progress now due (dropped while not welcomed: a job's
//  next report makes it good).
static void
s_on_progress_timer(uv_timer_t *handle)
{
    zj_worker_t *self = handle->data;
    zj_msg_t *msg = zj_progress_take(self->progress, zj_mono_ms());
    if (msg && self->welcomed)
        s_send(self, &msg);
    zj_msg_destroy(&msg);
}

//  A job reported progress with none waiting: send it in delay_ms.
static void
s_on_progress_due(void *arg, int64_t delay_ms)
{
    zj_worker_t *self = arg;
    if (uv_is_active((uv_handle_t *) &self->progress_due))
        return;
    int rc = uv_timer_start(&self->progress_due, s_on_progress_timer,
                            (uint64_t) delay_ms, 0);
    assert(rc == 0);
    (void) rc;
}

static void
s_hello(zj_worker_t *self)
{
    zj_msg_t *hello = zj_msg_new(ZJ_MSG_HELLO);
    //  The last batch made before this HELLO: the coordinator takes no
    //  credit from it or any before it, as this HELLO resets the credit.
    hello->req = zj_results_last_seq(self->results);
    zj_worker_info_t *info = zj_msg_add_worker(hello);
    info->name = strdup(self->name);
    info->host = strdup(self->host);
    info->pid = getpid();
    info->io_slots = self->config.io_slots;
    info->max_suspended = self->config.max_suspended;
    //  A process that finishes a job starts the next one it holds at
    //  once, instead of waiting a round trip to the coordinator for it.
    info->cpu_slots = self->config.cpu_procs * (1 + self->config.cpu_prefetch);
    size_t count = zj_registry_size(self->registry);
    info->kinds = calloc(count + 1, sizeof *info->kinds);
    for (size_t index = 0; index < count; index++) {
        const zj_handler_t *handler = zj_registry_at(self->registry, index);
        info->kinds[index].name = strdup(handler->kind);
        info->kinds[index].klass =
            handler->klass == ZJOB_CLASS_CPU ? ZJ_CLASS_CPU : ZJ_CLASS_IO;
    }
    info->kind_count = count;
    self->last_hello_ms = zj_mono_ms();
    self->welcomed = false;
    s_send(self, &hello);
}

static void
s_on_readable(uv_poll_t *handle, int status, int events)
{
    (void) status;
    (void) events;
    s_drain(handle->data);
}

static int
s_connect(zj_worker_t *self)
{
    self->dealer = zsock_new(ZMQ_DEALER);
    if (self->dealer == NULL)
        return ZJ_ESYS;
    if (self->curve &&
        zj_keys_make_client(zsock_resolve(self->dealer), &self->keys,
                            self->coordinator.public_key) != 0) {
        zsock_destroy(&self->dealer);
        return ZJ_ESYS;
    }
    zsock_set_sndhwm(self->dealer, 0);
    zsock_set_rcvhwm(self->dealer, 0);
    zsock_set_linger(self->dealer, 2000);
    zsock_set_maxmsgsize(self->dealer, ZJ_MAX_FRAME);
    if (zsock_connect(self->dealer, "%s", self->config.endpoint) == -1) {
        zj_log_error("cannot connect endpoint=%s error=\"%s\"",
                     self->config.endpoint, zmq_strerror(zmq_errno()));
        zsock_destroy(&self->dealer);
        return ZJ_EUSAGE;
    }
    //  A poll can be refused (the fd is watched already, or cannot be
    //  polled): then there is no link to the coordinator.
    int rc = uv_poll_init(&self->loop, &self->watch, zsock_fd(self->dealer));
    if (rc == 0) {
        self->watch.data = self;
        rc = uv_poll_start(&self->watch, UV_READABLE, s_on_readable);
        if (rc != 0)
            uv_close((uv_handle_t *) &self->watch, NULL);
    }
    if (rc != 0) {
        zj_log_error("cannot watch the coordinator's socket endpoint=%s "
                     "error=\"%s\"",
                     self->config.endpoint, uv_strerror(rc));
        zsock_destroy(&self->dealer);
        return ZJ_ESYS;
    }
    self->last_heard_ms = zj_mono_ms();
    s_hello(self);
    return 0;
}

static void
s_on_watch_closed(uv_handle_t *handle)
{
    zj_worker_t *self = handle->data;
    if (s_connect(self) != 0)
        uv_stop(&self->loop);
}

//  Starts the heartbeat timer at the period heartbeat_ms.
static void
s_start_beat(zj_worker_t *self)
{
    self->last_beat_ms = zj_mono_ms();
    int rc =
        uv_timer_start(&self->beat, s_on_beat, (uint64_t) self->heartbeat_ms,
                       (uint64_t) self->heartbeat_ms);
    assert(rc == 0);
    (void) rc;
}

//  The coordinator went silent: a new socket, a new HELLO.
static void
s_reconnect(zj_worker_t *self)
{
    zj_log_warning("coordinator lost endpoint=%s silent_ms=%" PRId64
                   " reconnecting",
                   self->config.endpoint, zj_mono_ms() - self->last_heard_ms);
    zsock_set_linger(self->dealer, 0);
    zsock_destroy(&self->dealer);
    //  Results made before the new WELCOME are kept, not sent: the new
    //  session sends them all after it (zj_results_resend_all).
    self->welcomed = false;
    uv_close((uv_handle_t *) &self->watch, s_on_watch_closed);
}

static void
s_on_name_retry(uv_timer_t *handle)
{
    zj_worker_t *self = handle->data;
    self->last_heard_ms = zj_mono_ms();
    s_hello(self);
}

//  ERROR EINUSE: another worker holds our name. Its holder may be this
//  worker's previous process, not yet silent long enough: say HELLO once
//  more after the wait the coordinator gave. Refused again, stop.
static void
s_on_name_held(zj_worker_t *self, const zj_msg_t *msg)
{
    if (self->name_retried || msg->timeout_ms <= 0) {
        zj_log_error("cannot join: %s; stopping (exit %d)", msg->reason,
                     ZJ_WORKER_EXIT_NAME_HELD);
        self->exit_code = ZJ_WORKER_EXIT_NAME_HELD;
        uv_stop(&self->loop);
        return;
    }
    uint64_t wait_ms = (uint64_t) msg->timeout_ms + ZJ_NAME_RETRY_SLACK_MS;
    zj_log_warning("name refused: %s; saying HELLO again in %" PRIu64 " ms",
                   msg->reason, wait_ms);
    self->name_retried = true;
    int rc = uv_timer_start(&self->name_retry, s_on_name_retry, wait_ms, 0);
    assert(rc == 0);
    (void) rc;
}

static void s_on_drain_asked(zj_worker_t *self);

static void
s_on_message(zj_worker_t *self, zj_msg_t *msg)
{
    //  Replies to a job's calls have a req of theirs.
    if ((msg->type == ZJ_MSG_SPAWNED || msg->type == ZJ_MSG_RESOLVED ||
         msg->type == ZJ_MSG_DONE || msg->type == ZJ_MSG_ERROR) &&
        zj_calls_reply(self->calls, msg))
        return;
    switch (msg->type) {
    case ZJ_MSG_WELCOME:
        self->welcomed = true;
        self->name_retried = false;
        self->heartbeat_ms = msg->heartbeat_ms;
        zj_results_set_limits(self->results, msg->max_message, msg->max_result);
        s_start_beat(self);
        zj_log_info("connected endpoint=%s name=%s heartbeat_ms=%d",
                    self->config.endpoint, self->name, self->heartbeat_ms);
        zj_results_resend_all(self->results, zj_mono_ms());
        s_send_results(self);
        zj_calls_resend_all(self->calls);
        s_send_calls(self);
        break;
    case ZJ_MSG_ACK:
        for (size_t index = 0; index < msg->id_count; index++)
            zj_results_ack(self->results, (uint64_t) msg->ids[index]);
        break;
    case ZJ_MSG_JOBS:
        for (size_t index = 0; index < msg->job_count; index++)
            zj_runner_start(self->runner, &msg->jobs[index]);
        break;
    case ZJ_MSG_CANCEL:
        for (size_t index = 0; index < msg->id_count; index++)
            zj_runner_cancel(self->runner, msg->ids[index]);
        break;
    case ZJ_MSG_HEARTBEAT:
        break;
    case ZJ_MSG_DRAIN:
        s_on_drain_asked(self);
        break;
    case ZJ_MSG_BYE:
        zj_log_info("coordinator said BYE; waiting for it to come back");
        self->welcomed = false;
        break;
    case ZJ_MSG_ERROR:
        if (msg->code == ZJ_EINUSE) {
            s_on_name_held(self, msg); //  Logs it
            break;
        }
        zj_log_warning("coordinator error code=%s reason=\"%s\"",
                       zj_errname(msg->code), msg->reason);
        if (msg->code == ZJ_ETYPE && self->welcomed)
            s_hello(self); //  It does not know us (it restarted)
        else
            zj_results_refused(self->results, msg->code, msg->req);
        break;
    default:
        zj_log_warning("message ignored type=%s", zj_msg_type_name(msg->type));
    }
}

//  ZMQ_FD is edge-triggered: read until ZMQ_EVENTS says nothing is left.
static void
s_drain(zj_worker_t *self)
{
    while (self->dealer && (zsock_events(self->dealer) & ZMQ_POLLIN)) {
        zframe_t *frame = zframe_recv(self->dealer);
        if (frame == NULL && zmq_errno() == EINTR)
            continue;
        if (frame == NULL)
            break;
        self->last_heard_ms = zj_mono_ms();
        zj_msg_t *msg = NULL;
        char why[ZJ_WHY_SIZE] = "";
        int rc = zj_msg_decode(zframe_data(frame), zframe_size(frame), &msg,
                               NULL, why);
        if (rc == 0)
            s_on_message(self, msg);
        else
            zj_log_warning("message refused from=coordinator code=%s "
                           "reason=\"%s\"",
                           zj_errname(rc), why);
        zj_msg_destroy(&msg);
        zframe_destroy(&frame);
    }
}

//  The runner reports a job's outcome: into the RESULTS being filled.
static void
s_on_done(void *arg, const zj_job_t *outcome, zj_class_t klass)
{
    zj_worker_t *self = arg;
    //  A job's last report goes before its result, which the coordinator
    //  would take first and then drop the report.
    if (zj_progress_has(self->progress, outcome->id)) {
        uv_timer_stop(&self->progress_due);
        s_on_progress_timer(&self->progress_due);
    }
    zj_joblogs_end(self->logs, outcome->id);
    zj_results_add(self->results, outcome, klass);
    //  Results go out in the check phase, after the poll. An outcome made
    //  after the check (a coroutine that a close callback resumed, as
    //  every sleep is) would wait for the next poll to wake, up to a beat:
    //  an active idle handle keeps that poll from sleeping.
    int rc = uv_idle_start(&self->results_due, s_on_results_due);
    assert(rc == 0);
    (void) rc;
}

//  After each loop turn: send the results gathered in it.
static void
s_on_check(uv_check_t *handle)
{
    zj_worker_t *self = handle->data;
    uv_idle_stop(&self->results_due);
    s_send_logs(self);
    zj_results_seal(self->results, self->welcomed, zj_mono_ms());
    s_send_results(self);
    s_send_calls(self);
    s_drain(self);
}

static void
s_heartbeat(zj_worker_t *self)
{
    zj_msg_t *beat = zj_msg_new(ZJ_MSG_HEARTBEAT);
    beat->draining = self->draining;
    beat->unacked = (int64_t) zj_results_unacked(self->results);
    beat->blocked_ms = zj_runner_blocked_ms(self->runner);
    s_send(self, &beat);
}

//  A beat that fires late means something held the loop: keep the worst
//  lag, and warn past block_ms.
static void
s_note_beat_lag(zj_worker_t *self, int64_t now)
{
    int64_t late = now - self->last_beat_ms - self->heartbeat_ms;
    self->last_beat_ms = now;
    if (late <= self->beat_late_max_ms)
        return;
    self->beat_late_max_ms = late;
    if (late > self->config.block_ms)
        zj_log_warning("heartbeat late late_ms=%" PRId64, late);
}

static void
s_on_beat(uv_timer_t *handle)
{
    zj_worker_t *self = handle->data;
    int64_t silence = (int64_t) self->heartbeat_ms * ZJ_WORKER_LIVENESS;
    int64_t now = zj_mono_ms();
    s_note_beat_lag(self, now);
    //  Refused our name: name_retry says HELLO again; the coordinator
    //  tells a worker it does not know nothing until then.
    if (uv_is_active((uv_handle_t *) &self->name_retry))
        return;
    if (now - self->last_heard_ms > silence) {
        s_reconnect(self);
        return;
    }
    if (!self->welcomed && now - self->last_hello_ms > silence)
        s_hello(self);
    s_heartbeat(self);
    //  ZeroMQ may have re-established the link under us and lost what
    //  was in flight: what stays unacknowledged this long goes again.
    if (self->welcomed) {
        int64_t wait_ms = (int64_t) self->heartbeat_ms * ZJ_WORKER_LIVENESS;
        zj_results_resend_late(self->results, wait_ms, now);
        s_send_results(self);
    }
    s_drain(self);
}

//  Draining: stop when nothing runs any more and every result sent is
//  acknowledged, or when the grace is over.
static void
s_on_drain_tick(uv_timer_t *handle)
{
    zj_worker_t *self = handle->data;
    size_t running = zj_runner_size(self->runner);
    size_t unacked = zj_results_unacked(self->results);
    if ((running == 0 && unacked == 0) ||
        zj_mono_ms() >= self->drain_deadline_ms) {
        zj_log_info("drained running=%zu unacked=%zu beat_late_max_ms=%" PRId64,
                    running, unacked, self->beat_late_max_ms);
        uv_stop(&self->loop);
    }
}

//  Takes no more jobs, lets the running ones finish within the grace,
//  then stops (s_on_drain_tick).
static void
s_start_drain(zj_worker_t *self)
{
    self->draining = true;
    self->drain_deadline_ms = zj_mono_ms() + self->config.grace_ms;
    s_heartbeat(self); //  Tells the coordinator at once
    int rc = uv_timer_start(&self->drain, s_on_drain_tick, 0, 50);
    assert(rc == 0);
    (void) rc;
}

static void
s_on_signal(uv_signal_t *handle, int signum)
{
    zj_worker_t *self = handle->data;
    if (self->draining) {
        zj_log_info("stopping now signal=%s running=%zu", strsignal(signum),
                    zj_runner_size(self->runner));
        uv_stop(&self->loop);
        return;
    }
    zj_log_info("draining signal=%s running=%zu grace_ms=%" PRId64,
                strsignal(signum), zj_runner_size(self->runner),
                self->config.grace_ms);
    s_start_drain(self);
}

//  DRAIN from the coordinator (zjob drain): as the first SIGTERM.
static void
s_on_drain_asked(zj_worker_t *self)
{
    if (self->draining)
        return;
    zj_log_info("draining reason=\"zjob drain\" running=%zu grace_ms=%" PRId64,
                zj_runner_size(self->runner), self->config.grace_ms);
    s_start_drain(self);
}

static int
s_load_kinds(zj_worker_t *self)
{
    zj_registry_add_builtins(self->registry, self->config.allow_exec);
    for (size_t index = 0; index < self->config.plugin_count; index++) {
        char why[ZJ_WHY_SIZE] = "";
        if (zj_registry_load_plugin(self->registry, self->config.plugins[index],
                                    why) != 0) {
            zj_log_error("cannot load plugin path=%s error=\"%s\"",
                         self->config.plugins[index], why);
            return ZJ_EUSAGE;
        }
        zj_log_info("plugin loaded path=%s", self->config.plugins[index]);
    }
    return 0;
}

//  Returns 0, or ZJ_ESYS (logged) if libuv cannot watch a signal.
static int
s_watch_signals(zj_worker_t *self)
{
    int signums[2] = {SIGINT, SIGTERM};
    for (int index = 0; index < 2; index++) {
        uv_signal_t *handle = &self->signals[index];
        int rc = uv_signal_init(&self->loop, handle);
        if (rc == 0) {
            handle->data = self;
            rc = uv_signal_start(handle, s_on_signal, signums[index]);
        }
        if (rc != 0) {
            zj_log_error("cannot watch signal=%s error=\"%s\"",
                         strsignal(signums[index]), uv_strerror(rc));
            return ZJ_ESYS;
        }
    }
    return 0;
}

static int
s_load_keys(zj_worker_t *self)
{
    if (self->config.key_path == NULL)
        return 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_keys_load_secret(self->config.key_path, &self->keys, why);
    if (rc == 0)
        rc = zj_keys_load_public(self->config.coordinator_key_path,
                                 &self->coordinator, why);
    if (rc != 0)
        zj_log_error("cannot use CURVE: %s", why);
    self->curve = rc == 0;
    return rc;
}

zj_worker_t *
zj_worker_new(const zj_worker_config_t *config)
{
    zj_worker_t *self = calloc(1, sizeof *self);
    assert(self);
    self->config = *config;
    int rc = uv_loop_init(&self->loop);
    if (rc != 0) {
        zj_log_error("cannot start the loop error=\"%s\"", uv_strerror(rc));
        free(self);
        return NULL;
    }
    self->results = zj_results_new();
    self->heartbeat_ms = ZJ_WORKER_HEARTBEAT_MS;
    gethostname(self->host, sizeof self->host - 1);
    self->name = config->name ? strdup(config->name)
                              : zsys_sprintf("%s-%d", self->host, getpid());
    self->registry = zj_registry_new();
    if (s_load_keys(self) != 0 || s_load_kinds(self) != 0)
        goto failed;
    if (config->watchdog_ms > 0 &&
        (self->watchdog = zj_watchdog_new(config->watchdog_ms)) == NULL)
        goto failed;
    //  The pool forks before any ZeroMQ thread exists (the watchdog's
    //  thread stays behind in the parent: children run no coroutine).
    self->calls = zj_calls_new(config->max_suspended, s_on_call_due, self);
    self->progress = zj_progress_new(s_on_progress_due, self);
    self->logs = zj_joblogs_new((size_t) config->max_log);
    int started = uv_timer_init(&self->loop, &self->progress_due);
    assert(started == 0);
    (void) started;
    self->progress_due.data = self;
    zj_runner_config_t runner = {
        &self->loop,       self->registry,   config->io_slots,
        config->cpu_procs, config->block_ms, self->watchdog,
        self->calls,       self->progress,   self->logs};
    self->runner = zj_runner_new(&runner, s_on_done, self);
    if (self->runner == NULL)
        goto failed;
    //  After the pool forked: its processes keep their own stdout.
    if (zj_stdout_capture(s_on_stdout, self) != 0)
        zj_log_warning("cannot capture stdout: I/O handlers' prints go to "
                       "the worker's stdout");
    if (self->config.cpu_procs <= 0)
        self->config.cpu_procs = (int) sysconf(_SC_NPROCESSORS_ONLN);
    zsys_init();
    zsys_handler_set(NULL); //  libuv owns the signals
    if (s_watch_signals(self) != 0)
        goto failed;
    rc = uv_timer_init(&self->loop, &self->beat);
    assert(rc == 0);
    self->beat.data = self;
    s_start_beat(self);
    rc = uv_timer_init(&self->loop, &self->drain);
    assert(rc == 0);
    self->drain.data = self;
    rc = uv_timer_init(&self->loop, &self->name_retry);
    assert(rc == 0);
    self->name_retry.data = self;
    rc = uv_idle_init(&self->loop, &self->kick);
    assert(rc == 0);
    self->kick.data = self;
    rc = uv_idle_init(&self->loop, &self->results_due);
    assert(rc == 0);
    rc = uv_check_init(&self->loop, &self->flusher);
    assert(rc == 0);
    self->flusher.data = self;
    rc = uv_check_start(&self->flusher, s_on_check);
    assert(rc == 0);
    if (s_connect(self) != 0)
        goto failed;
    zj_log_info("worker started name=%s endpoint=%s io_slots=%d "
                "cpu_procs=%d cpu_prefetch=%d kinds=%zu watchdog_ms=%" PRId64,
                self->name, config->endpoint, config->io_slots,
                self->config.cpu_procs, config->cpu_prefetch,
                zj_registry_size(self->registry), config->watchdog_ms);
    return self;
failed:
    zj_worker_destroy(&self);
    return NULL;
}

static void
s_close_any(uv_handle_t *handle, void *arg)
{
    (void) arg;
    if (!uv_is_closing(handle))
        uv_close(handle, NULL);
}

void
zj_worker_destroy(zj_worker_t **self_p)
{
    assert(self_p);
    zj_worker_t *self = *self_p;
    if (self == NULL)
        return;
    //  Refused our name, we never joined: nothing to say.
    if (self->dealer && self->exit_code == 0) {
        //  Results of jobs that finished in the last turn go before BYE,
        //  which hands back whatever still runs.
        int64_t now = zj_mono_ms();
        zj_results_seal(self->results, self->welcomed, now);
        //  Last chance for what waited for a WELCOME: they follow our
        //  HELLO on this connection, and count if it is taken.
        if (!self->welcomed)
            zj_results_resend_all(self->results, now);
        s_send_results(self);
        zj_msg_t *bye = zj_msg_new(ZJ_MSG_BYE);
        s_send(self, &bye);
    }
    if (self->dealer)
        uv_poll_stop(&self->watch);
    uv_timer_stop(&self->beat);
    uv_timer_stop(&self->name_retry);
    uv_timer_stop(&self->drain);
    uv_check_stop(&self->flusher);
    uv_idle_stop(&self->kick);
    uv_idle_stop(&self->results_due);
    if (self->progress)
        uv_timer_stop(&self->progress_due);
    zj_runner_destroy(&self->runner);
    zj_stdout_release();
    uv_walk(&self->loop, s_close_any, NULL);
    uv_run(&self->loop, UV_RUN_DEFAULT);
    uv_loop_close(&self->loop);
    zj_watchdog_destroy(&self->watchdog); //  After the last coroutine
    zsock_destroy(&self->dealer);
    zj_results_destroy(&self->results);
    zj_calls_destroy(&self->calls); //  After the runner: jobs end their calls
    zj_progress_destroy(&self->progress);
    zj_joblogs_destroy(&self->logs);
    memset(&self->keys, 0, sizeof self->keys);
    zj_registry_destroy(&self->registry);
    free(self->name);
    free(self);
    *self_p = NULL;
}

int
zj_worker_run(zj_worker_t *self)
{
    assert(self);
    uv_run(&self->loop, UV_RUN_DEFAULT);
    return self->exit_code;
}
