//  zjob.c - libzjob: the client side of the clients endpoint (see
//  include/zjob/zjob.h). One DEALER socket per client, in a ZeroMQ context
//  of its own, so that embedding the library installs no signal handler
//  and shares no global state with the host program (czmq's zsys would do
//  both). Requests are pipelined and matched to replies by req; a monitor
//  on the socket tells an await when the connection drops and comes back.
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/json.h"
#include "proto/codec.h"
#include "zjob/zjob.h"

#define XX(name, text)                                                         \
    _Static_assert((int) ZJOB_##name == (int) ZJ_##name, "zjob.h: "            \
                                                         "ZJOB_" #name);
ZJ_ERR_MAP(XX)
#undef XX

#define S_WINDOW 8               //  Immediate requests in flight at once
#define S_HEARTBEAT_MS 2000      //  ZMTP ping period on the connection
#define S_HEARTBEAT_TIMEOUT 6000 //  Silence after which the link is dead
#define S_MONITOR "inproc://zjob-monitor" //  Per context, so one name
#define S_FRAME_BUDGET (ZJ_MAX_FRAME / 2) //  Bytes of jobs per SUBMIT

struct zjob_client {
    void *context;         //  ZeroMQ context owned by this client
    void *socket;          //  DEALER connected to the coordinator
    void *monitor;         //  PAIR receiving the socket's link events
    char *endpoint;        //  Where socket connects
    int64_t reply_ms;      //  Wait for an immediate reply (and relinks)
    int64_t send_ms;       //  How long a send may block
    size_t batch;          //  Most jobs per SUBMIT
    uint64_t last_req;     //  Last request id used
    bool link_lost;        //  Link dropped and not yet back
    int64_t lost_at;       //  Monotonic ms when it dropped
    bool relinked;         //  Link came back since the last look
    char why[ZJ_WHY_SIZE]; //  Reason for the last failure, "" after success
    zjob_tick_fn *tick_fn; //  Called while an await idles, or NULL
    void *tick_arg;        //  Its argument
    int64_t tick_ms;       //  Its period
};

struct zjob_future {
    zjob_client_t *client; //  Borrowed; outlives the future
    int64_t id;            //  The job
    bool resolved;         //  True once job holds the outcome
    zj_job_t job;          //  Owned copy of the outcome
    zjob_result_t view;    //  Public view into job
};

static int s_fail(zjob_client_t *self, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int
s_setopt(void *socket, int option, int value)
{
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

zjob_client_t *
zjob_client_new(const char *endpoint, int *err_p)
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
        return s_fail(self, ZJ_EUSAGE, "timeouts must be > 0 ms");
    if (s_setopt(self->socket, ZMQ_SNDTIMEO, (int) send_ms))
        return s_fail(self, ZJ_ESYS, "%s", zmq_strerror(errno));
    self->send_ms = send_ms;
    self->reply_ms = reply_ms;
    return 0;
}

int
zjob_client_set_batch(zjob_client_t *self, size_t jobs)
{
    assert(self);
    if (jobs < 1 || jobs > ZJ_MAX_BATCH)
        return s_fail(self, ZJ_EUSAGE, "batch %zu not in 1..%d", jobs,
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

//  --- Sending and receiving frames

static int
s_fail(zjob_client_t *self, int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(self->why, sizeof self->why, format, args);
    va_end(args);
    return code;
}

//  Reads every pending link event; returns true if the link's state
//  changed. A monitor event is two frames: {uint16 event, uint32 value}
//  and the endpoint.
static bool
s_drain_events(zjob_client_t *self)
{
    bool changed = false;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            return changed;
        }
        uint16_t event = 0;
        if (zmq_msg_size(&part) >= sizeof event)
            memcpy(&event, zmq_msg_data(&part), sizeof event);
        while (zmq_msg_more(&part))
            zmq_msg_recv(&part, self->monitor, 0);
        zmq_msg_close(&part);
        if (event == ZMQ_EVENT_DISCONNECTED && !self->link_lost) {
            self->link_lost = true;
            self->lost_at = zj_mono_ms();
            changed = true;
        } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED && self->link_lost) {
            self->link_lost = false;
            self->relinked = true;
            changed = true;
        }
    }
}

//  Starts a public call: clears the last reason and forgets link events
//  that happened between calls.
static void
s_begin(zjob_client_t *self)
{
    self->why[0] = '\0';
    s_drain_events(self);
    self->relinked = false;
}

//  Clears the reason after a success (a stale frame may have left one).
static int
s_end(zjob_client_t *self, int rc)
{
    if (rc == 0)
        self->why[0] = '\0';
    return rc;
}

static void
s_free_frame(void *data, void *hint)
{
    (void) hint;
    free(data);
}

//  Encodes and sends *msg_p; destroys it in all cases. Returns 0,
//  ZJ_EUNREACH when no connection takes the frame within send_ms, or the
//  encoder's code.
static int
s_send(zjob_client_t *self, zj_msg_t **msg_p)
{
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_encode(*msg_p, &data, &size, why);
    zj_msg_destroy(msg_p);
    if (rc)
        return s_fail(self, rc, "cannot encode request: %s", why);
    zmq_msg_t frame;
    if (zmq_msg_init_data(&frame, data, size, s_free_frame, NULL)) {
        free(data);
        return s_fail(self, ZJ_ENOMEM, "cannot build a frame");
    }
    if (zmq_msg_send(&frame, self->socket, 0) >= 0)
        return 0;
    int error = errno;
    zmq_msg_close(&frame);
    if (error == EAGAIN)
        return s_fail(self, ZJ_EUNREACH,
                      "cannot reach coordinator at %s (no connection "
                      "within %lld ms)",
                      self->endpoint, (long long) self->send_ms);
    if (error == EINTR)
        return s_fail(self, ZJ_ECANCELLED, "interrupted by a signal");
    return s_fail(self, ZJ_ESEND, "send failed: %s", zmq_strerror(error));
}

//  Reads one frame (the last part, should the coordinator send more) and
//  decodes it. Returns 0 with *msg_p set, 0 with *msg_p NULL when nothing
//  was there after all, or the decoder's code (*req_p holds the frame's
//  req if it had one).
static int
s_read(zjob_client_t *self, zj_msg_t **msg_p, uint64_t *req_p)
{
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    if (zmq_msg_recv(&frame, self->socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&frame);
        return 0;
    }
    while (zmq_msg_more(&frame))
        zmq_msg_recv(&frame, self->socket, 0);
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_decode(zmq_msg_data(&frame), zmq_msg_size(&frame), msg_p,
                           req_p, why);
    zmq_msg_close(&frame);
    if (rc)
        return s_fail(self, rc, "bad reply from coordinator: %s", why);
    return 0;
}

//  Waits until deadline (monotonic ms, < 0 for ever) for a frame or a
//  change of link state. Returns 0 with *msg_p set for a frame, 0 with
//  *msg_p NULL for a link change, ZJ_ETIMEOUT at the deadline,
//  ZJ_ECANCELLED on a signal, or a decode error from s_read.
static int
s_next(zjob_client_t *self, int64_t deadline, zj_msg_t **msg_p, uint64_t *req_p)
{
    *msg_p = NULL;
    *req_p = 0;
    for (;;) {
        zmq_pollitem_t items[] = {{self->socket, 0, ZMQ_POLLIN, 0},
                                  {self->monitor, 0, ZMQ_POLLIN, 0}};
        long wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - zj_mono_ms();
            wait = left > 0 ? (long) left : 0;
        }
        int ready = zmq_poll(items, 2, wait);
        if (ready < 0 && errno == EINTR)
            return s_fail(self, ZJ_ECANCELLED, "interrupted by a signal");
        if (ready < 0)
            return s_fail(self, ZJ_ESYS, "poll: %s", zmq_strerror(errno));
        if (ready == 0)
            return ZJ_ETIMEOUT;
        bool changed = (items[1].revents & ZMQ_POLLIN) && s_drain_events(self);
        if (items[0].revents & ZMQ_POLLIN) {
            int rc = s_read(self, msg_p, req_p);
            if (rc || *msg_p)
                return rc;
        }
        if (changed)
            return 0;
    }
}

//  The code an ERROR reply carries, as one of ours.
static int
s_error_reply(zjob_client_t *self, const zj_msg_t *reply)
{
    int code = zj_err_is_valid(reply->code) ? reply->code : ZJ_EPROTO;
    return s_fail(self, code, "%s",
                  reply->reason ? reply->reason : zj_strerror(code));
}

//  --- Immediate requests, pipelined

typedef zj_msg_t *(s_build_fn) (void *arg, size_t index);
typedef int(s_handle_fn)(void *arg, size_t index, const zj_msg_t *reply);

typedef struct {
    uint64_t req; //  Request id in flight
    size_t index; //  Which request (0..count)
} s_flight_t;

//  Takes a reply off the flight table: returns its request index, or -1
//  if req is not in flight (a stale reply, to drop).
static long
s_land(s_flight_t *flights, size_t *in_flight, uint64_t req)
{
    for (size_t slot = 0; slot < *in_flight; slot++) {
        if (flights[slot].req != req)
            continue;
        long index = (long) flights[slot].index;
        flights[slot] = flights[--*in_flight];
        return index;
    }
    return -1;
}

//  Sends count requests made by build, at most S_WINDOW in flight, and
//  passes each matching reply of reply_type to handle. After the first
//  error it sends nothing new but still collects the replies in flight.
//  Returns 0 or the first error.
static int
s_exchange(zjob_client_t *self, size_t count, zj_msg_type_t reply_type,
           s_build_fn *build, s_handle_fn *handle, void *arg)
{
    s_flight_t flights[S_WINDOW];
    size_t in_flight = 0, sent = 0;
    int result = 0;
    int64_t deadline = zj_mono_ms() + self->reply_ms;
    while ((result == 0 && sent < count) || in_flight > 0) {
        if (result == 0 && sent < count && in_flight < S_WINDOW) {
            zj_msg_t *request = build(arg, sent);
            request->req = ++self->last_req;
            flights[in_flight] = (s_flight_t){request->req, sent};
            result = s_send(self, &request);
            if (result == 0) {
                in_flight++;
                sent++;
                deadline = zj_mono_ms() + self->reply_ms;
            }
            continue;
        }
        zj_msg_t *reply = NULL;
        uint64_t req = 0;
        int rc = s_next(self, deadline, &reply, &req);
        if (rc == ZJ_ETIMEOUT && result == 0)
            return s_fail(self, ZJ_EUNREACH,
                          "no reply from coordinator at %s within %lld ms",
                          self->endpoint, (long long) self->reply_ms);
        if (rc == ZJ_ETIMEOUT || rc == ZJ_ECANCELLED || rc == ZJ_ESYS)
            return result ? result : rc;
        long index = s_land(flights, &in_flight, reply ? reply->req : req);
        if (index >= 0) {
            deadline = zj_mono_ms() + self->reply_ms;
            if (rc == 0 && reply->type == ZJ_MSG_ERROR)
                rc = s_error_reply(self, reply);
            else if (rc == 0 && reply->type != reply_type)
                rc = s_fail(self, ZJ_EPROTO, "expected %s, got %s",
                            zj_msg_type_name(reply_type),
                            zj_msg_type_name(reply->type));
            else if (rc == 0)
                rc = handle(arg, (size_t) index, reply);
            if (result == 0)
                result = rc;
        }
        zj_msg_destroy(&reply);
    }
    return result;
}

//  --- Submit

typedef struct {
    zjob_client_t *client;    //  The caller
    const zjob_spec_t *specs; //  What to submit
    int64_t *ids;             //  Where the ids go
    size_t *starts;           //  Batch b is specs[starts[b]..starts[b+1])
} s_submit_t;

static int
s_check_spec(zjob_client_t *self, const zjob_spec_t *spec, size_t index)
{
    char why[ZJ_WHY_SIZE] = "";
    if (!zj_kind_name_is_valid(spec->kind))
        return s_fail(self, ZJ_EUSAGE, "job %zu: bad kind name '%.64s'", index,
                      spec->kind ? spec->kind : "(null)");
    if (spec->args && strlen(spec->args) > ZJ_MAX_ARGS)
        return s_fail(self, ZJ_ETOOBIG, "job %zu: args over %d bytes", index,
                      ZJ_MAX_ARGS);
    if (spec->args &&
        zj_json_check(spec->args, strlen(spec->args), ZJ_MAX_DEPTH, why))
        return s_fail(self, ZJ_EJSON, "job %zu: args: %s", index, why);
    if (spec->retries < 0 || spec->retries == INT32_MAX ||
        spec->timeout_ms < 0 || spec->delay_ms < 0)
        return s_fail(self, ZJ_EUSAGE,
                      "job %zu: retries, timeout and delay must be >= 0",
                      index);
    return 0;
}

static zj_msg_t *
s_build_submit(void *arg, size_t batch)
{
    s_submit_t *submit = arg;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SUBMIT);
    for (size_t index = submit->starts[batch];
         index < submit->starts[batch + 1]; index++) {
        const zjob_spec_t *spec = &submit->specs[index];
        zj_job_t job = {.kind = (char *) spec->kind,
                        .args = (char *) spec->args,
                        .priority = spec->priority,
                        .max_attempts = spec->retries + 1,
                        .timeout_ms = spec->timeout_ms,
                        .delay_ms = spec->delay_ms};
        zj_job_copy(zj_msg_add_job(msg), &job);
    }
    return msg;
}

static int
s_handle_submitted(void *arg, size_t batch, const zj_msg_t *reply)
{
    s_submit_t *submit = arg;
    size_t first = submit->starts[batch];
    size_t count = submit->starts[batch + 1] - first;
    if (reply->id_count != count)
        return s_fail(submit->client, ZJ_EPROTO,
                      "SUBMITTED has %zu ids for %zu jobs", reply->id_count,
                      count);
    memcpy(submit->ids + first, reply->ids, count * sizeof(int64_t));
    return 0;
}

//  Cuts specs into batches of at most self->batch jobs and about
//  S_FRAME_BUDGET bytes. Returns the number of batches; starts gets one
//  more entry than that.
static size_t
s_cut_batches(zjob_client_t *self, const zjob_spec_t *specs, size_t count,
              size_t *starts)
{
    size_t batches = 0, in_batch = 0, bytes = 0;
    for (size_t index = 0; index < count; index++) {
        size_t size = 64 + strlen(specs[index].kind) +
                      (specs[index].args ? strlen(specs[index].args) : 0);
        if (in_batch == self->batch ||
            (in_batch > 0 && bytes + size > S_FRAME_BUDGET)) {
            in_batch = 0;
            bytes = 0;
        }
        if (in_batch == 0)
            starts[batches++] = index;
        in_batch++;
        bytes += size;
    }
    starts[batches] = count;
    return batches;
}

int
zjob_client_submit(zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                   int64_t *ids)
{
    assert(self);
    s_begin(self);
    if (count == 0)
        return 0;
    if (specs == NULL || ids == NULL)
        return s_fail(self, ZJ_EUSAGE, "no specs or no room for ids");
    for (size_t index = 0; index < count; index++) {
        int rc = s_check_spec(self, &specs[index], index);
        if (rc)
            return rc;
    }
    memset(ids, 0, count * sizeof(int64_t));
    s_submit_t submit = {self, specs, ids, calloc(count + 1, sizeof(size_t))};
    if (submit.starts == NULL)
        return s_fail(self, ZJ_ENOMEM, "out of memory");
    size_t batches = s_cut_batches(self, specs, count, submit.starts);
    int rc = s_exchange(self, batches, ZJ_MSG_SUBMITTED, s_build_submit,
                        s_handle_submitted, &submit);
    free(submit.starts);
    return s_end(self, rc);
}

//  --- Records: status, list, workers, cancel

typedef struct {
    const int64_t *ids;        //  Ids asked about (status, cancel)
    size_t count;              //  Entries in ids
    zj_msg_type_t type;        //  Request type
    const char *state;         //  LIST: state filter or NULL
    int32_t limit;             //  LIST: most rows
    zjob_job_fn *job_fn;       //  Called per job record
    zjob_worker_fn *worker_fn; //  Called per worker
    void *arg;                 //  The caller's pointer
} s_query_t;

static void
s_job_view(const zj_job_t *job, zjob_job_t *view)
{
    *view = (zjob_job_t){.id = job->id,
                         .kind = job->kind,
                         .args = job->args,
                         .state = zj_state_name(job->state),
                         .priority = job->priority,
                         .attempts = job->attempts,
                         .max_attempts = job->max_attempts,
                         .timeout_ms = job->timeout_ms,
                         .not_before = job->not_before,
                         .worker = job->worker,
                         .created_at = job->created_at,
                         .started_at = job->started_at,
                         .finished_at = job->finished_at,
                         .result = job->result,
                         .error = job->error};
}

static int
s_worker_view(const zj_worker_info_t *info, s_query_t *query)
{
    zjob_kind_t *kinds = calloc(info->kind_count + 1, sizeof *kinds);
    if (kinds == NULL)
        return ZJ_ENOMEM;
    for (size_t index = 0; index < info->kind_count; index++)
        kinds[index] = (zjob_kind_t){info->kinds[index].name,
                                     zj_class_name(info->kinds[index].klass)};
    zjob_worker_t view = {.name = info->name,
                          .host = info->host,
                          .pid = info->pid,
                          .state = info->state,
                          .running = info->running,
                          .io_slots = info->io_slots,
                          .cpu_slots = info->cpu_slots,
                          .kinds = kinds,
                          .kind_count = info->kind_count,
                          .connected_at = info->connected_at,
                          .last_seen = info->last_seen};
    query->worker_fn(query->arg, &view);
    free(kinds);
    return 0;
}

//  Builds request number batch: ids[batch * ZJ_MAX_BATCH ...] for STATUS
//  and CANCEL, the filter for LIST, nothing for WORKERS.
static zj_msg_t *
s_build_query(void *arg, size_t batch)
{
    s_query_t *query = arg;
    zj_msg_t *msg = zj_msg_new(query->type);
    size_t first = batch * ZJ_MAX_BATCH;
    for (size_t index = first;
         index < query->count && index < first + ZJ_MAX_BATCH; index++)
        zj_msg_add_id(msg, query->ids[index]);
    if (query->state)
        msg->state = strdup(query->state);
    msg->limit = query->limit;
    return msg;
}

static int
s_handle_query(void *arg, size_t batch, const zj_msg_t *reply)
{
    (void) batch;
    s_query_t *query = arg;
    for (size_t index = 0; query->job_fn && index < reply->job_count; index++) {
        zjob_job_t view;
        s_job_view(&reply->jobs[index], &view);
        query->job_fn(query->arg, &view);
    }
    for (size_t index = 0; query->worker_fn && index < reply->worker_count;
         index++) {
        int rc = s_worker_view(&reply->workers[index], query);
        if (rc)
            return rc;
    }
    return 0;
}

static int
s_query(zjob_client_t *self, s_query_t *query)
{
    s_begin(self);
    for (size_t index = 0; index < query->count; index++)
        if (query->ids[index] <= 0)
            return s_fail(self, ZJ_EUSAGE, "bad job id %lld",
                          (long long) query->ids[index]);
    size_t batches = (query->count + ZJ_MAX_BATCH - 1) / ZJ_MAX_BATCH;
    if (query->ids == NULL)
        batches = 1;
    int rc = s_exchange(self, batches, query->type, s_build_query,
                        s_handle_query, query);
    return s_end(self, rc);
}

int
zjob_client_status(zjob_client_t *self, const int64_t *ids, size_t count,
                   zjob_job_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    if (ids == NULL || count == 0)
        return s_fail(self, ZJ_EUSAGE, "no job ids");
    s_query_t query = {.ids = ids,
                       .count = count,
                       .type = ZJ_MSG_STATUS,
                       .job_fn = fn,
                       .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_list(zjob_client_t *self, const char *state, int32_t limit,
                 zjob_job_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    if (state && zj_state_from_name(state) == ZJ_STATE_NONE)
        return s_fail(self, ZJ_EUSAGE, "unknown state '%.40s'", state);
    if (limit < 0)
        return s_fail(self, ZJ_EUSAGE, "limit must be >= 0");
    s_query_t query = {.type = ZJ_MSG_LIST,
                       .state = state,
                       .limit = limit,
                       .job_fn = fn,
                       .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_workers(zjob_client_t *self, zjob_worker_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    s_query_t query = {.type = ZJ_MSG_WORKERS, .worker_fn = fn, .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_cancel(zjob_client_t *self, const int64_t *ids, size_t count,
                   zjob_job_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    if (ids == NULL || count == 0)
        return s_fail(self, ZJ_EUSAGE, "no job ids");
    s_query_t query = {.ids = ids,
                       .count = count,
                       .type = ZJ_MSG_CANCEL,
                       .job_fn = fn,
                       .arg = arg};
    return s_query(self, &query);
}

//  --- Await

typedef struct {
    int64_t id;   //  Job id
    size_t index; //  Its place in s_await_t.ids
} s_place_t;

typedef struct {
    uint64_t req;   //  AWAIT in flight for this chunk; 0 = none
    size_t first;   //  First index into s_await_t.ids
    size_t count;   //  Ids in the chunk
    size_t pending; //  Of those, not resolved yet
} s_chunk_t;

typedef struct {
    zjob_client_t *client; //  The caller
    int64_t *ids;          //  Distinct ids, in first-seen order
    bool *resolved;        //  Per entry of ids
    s_place_t *places;     //  ids sorted by id, for lookups
    size_t count;          //  Entries in ids, resolved and places
    size_t pending;        //  Entries not resolved yet
    s_chunk_t *chunks;     //  ZJ_MAX_BATCH ids each
    size_t chunk_count;    //  Entries in chunks
    bool in_order;         //  One chunk at a time, resolved in order
    int64_t deadline;      //  Monotonic ms, or -1 for ever
    zjob_result_fn *fn;    //  Called per resolved id
    void *arg;             //  The caller's pointer
} s_await_t;

static int
s_place_compare_id(const void *left, const void *right)
{
    const s_place_t *a = left, *b = right;
    return a->id < b->id ? -1 : a->id > b->id;
}

//  By id, then by index: the first place of an id is its first sight.
static int
s_place_compare(const void *left, const void *right)
{
    int order = s_place_compare_id(left, right);
    if (order)
        return order;
    const s_place_t *a = left, *b = right;
    return a->index < b->index ? -1 : a->index > b->index;
}

//  Keeps the first sight of each id of ids[count] in await->ids, in input
//  order, and indexes them by id in await->places. Returns 0 or ZJ_ENOMEM.
static int
s_await_dedupe(s_await_t *await, const int64_t *ids, size_t count)
{
    await->ids = calloc(count, sizeof(int64_t));
    await->resolved = calloc(count, sizeof(bool));
    await->places = calloc(count, sizeof(s_place_t));
    bool *first_sight = calloc(count, sizeof(bool));
    if (!await->ids || !await->resolved || !await->places || !first_sight) {
        free(first_sight);
        return ZJ_ENOMEM;
    }
    s_place_t *places = await->places;
    for (size_t index = 0; index < count; index++)
        places[index] = (s_place_t){ids[index], index};
    qsort(places, count, sizeof(s_place_t), s_place_compare);
    for (size_t index = 0; index < count; index++)
        first_sight[places[index].index] =
            index == 0 || places[index - 1].id != places[index].id;
    for (size_t index = 0; index < count; index++)
        if (first_sight[index])
            await->ids[await->count++] = ids[index];
    free(first_sight);
    for (size_t index = 0; index < await->count; index++)
        places[index] = (s_place_t){await->ids[index], index};
    qsort(places, await->count, sizeof(s_place_t), s_place_compare);
    await->pending = await->count;
    return 0;
}

//  Cuts the distinct ids into chunks of ZJ_MAX_BATCH, one AWAIT each.
static int
s_await_cut(s_await_t *await)
{
    await->chunk_count = (await->count + ZJ_MAX_BATCH - 1) / ZJ_MAX_BATCH;
    await->chunks = calloc(await->chunk_count, sizeof(s_chunk_t));
    if (await->chunks == NULL)
        return ZJ_ENOMEM;
    for (size_t index = 0; index < await->chunk_count; index++) {
        s_chunk_t *chunk = &await->chunks[index];
        chunk->first = index * ZJ_MAX_BATCH;
        chunk->count = await->count - chunk->first;
        if (chunk->count > ZJ_MAX_BATCH)
            chunk->count = ZJ_MAX_BATCH;
        chunk->pending = chunk->count;
    }
    return 0;
}

static void
s_await_clear(s_await_t *await)
{
    free(await->ids);
    free(await->resolved);
    free(await->places);
    free(await->chunks);
}

//  Sends AWAIT for the pending ids of chunk. Returns 0 or a send error.
static int
s_await_send(s_await_t *await, s_chunk_t *chunk)
{
    zjob_client_t *self = await->client;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_AWAIT);
    for (size_t index = chunk->first; index < chunk->first + chunk->count;
         index++)
        if (!await->resolved[index])
            zj_msg_add_id(msg, await->ids[index]);
    msg->in_order = await->in_order;
    if (await->deadline >= 0) {
        int64_t left = await->deadline - zj_mono_ms();
        msg->timeout_ms = left > 0 ? left : 1; //  0 would mean for ever
    }
    msg->req = ++self->last_req;
    chunk->req = msg->req;
    int rc = s_send(self, &msg);
    if (rc)
        chunk->req = 0;
    return rc;
}

//  Sends AWAIT for every chunk that should be in flight and is not: the
//  first unfinished one when in order, else all unfinished ones.
static int
s_await_send_due(s_await_t *await)
{
    for (size_t index = 0; index < await->chunk_count; index++) {
        s_chunk_t *chunk = &await->chunks[index];
        if (chunk->pending == 0)
            continue;
        if (chunk->req == 0) {
            int rc = s_await_send(await, chunk);
            if (rc)
                return rc;
        }
        if (await->in_order)
            break;
    }
    return 0;
}

static s_chunk_t *
s_await_chunk(s_await_t *await, uint64_t req)
{
    for (size_t index = 0; req && index < await->chunk_count; index++)
        if (await->chunks[index].req == req)
            return &await->chunks[index];
    return NULL;
}

static void
s_await_resolve(s_await_t *await, s_chunk_t *chunk, const zj_job_t *job)
{
    s_place_t key = {job->id, 0};
    s_place_t *place = bsearch(&key, await->places, await->count,
                               sizeof(s_place_t), s_place_compare_id);
    if (place == NULL || await->resolved[place->index] ||
        place->index < chunk->first ||
        place->index >= chunk->first + chunk->count)
        return; //  Not asked for in this chunk, or already delivered
    await->resolved[place->index] = true;
    chunk->pending--;
    await->pending--;
    zjob_result_t view;
    s_job_view(job, &view);
    await->fn(await->arg, &view);
}

//  Handles one frame of the await's own. Returns 0 to go on, or the code
//  that ends the await.
static int
s_await_handle(s_await_t *await, s_chunk_t *chunk, const zj_msg_t *msg)
{
    zjob_client_t *self = await->client;
    switch (msg->type) {
    case ZJ_MSG_RESOLVED:
        for (size_t index = 0; index < msg->job_count; index++)
            s_await_resolve(await, chunk, &msg->jobs[index]);
        return 0;
    case ZJ_MSG_DONE:
        chunk->req = 0;
        if (msg->timed_out)
            return s_fail(self, ZJ_ETIMEOUT, "%zu of %zu jobs not finished",
                          await->pending, await->count);
        if (chunk->pending > 0)
            return s_fail(self, ZJ_EPROTO, "DONE with %zu ids unresolved",
                          chunk->pending);
        return 0;
    case ZJ_MSG_ERROR:
        return s_error_reply(self, msg);
    default:
        return s_fail(self, ZJ_EPROTO, "expected RESOLVED or DONE, got %s",
                      zj_msg_type_name(msg->type));
    }
}

//  When to give up waiting for the next frame: the caller's deadline plus
//  the reply timeout (the coordinator owes a DONE), or the reply timeout
//  after the link dropped, whichever comes first. -1 for never.
static int64_t
s_await_wake(const s_await_t *await)
{
    const zjob_client_t *self = await->client;
    int64_t wake = await->deadline < 0 ? -1 : await->deadline + self->reply_ms;
    if (self->link_lost && (wake < 0 || self->lost_at + self->reply_ms < wake))
        wake = self->lost_at + self->reply_ms;
    return wake;
}

//  On a link that came back, the coordinator may have lost our AWAITs:
//  forget them (their late frames will be dropped) and send them again.
static void
s_await_relink(s_await_t *await)
{
    await->client->relinked = false;
    for (size_t index = 0; index < await->chunk_count; index++)
        await->chunks[index].req = 0;
}

static int
s_await_run(s_await_t *await)
{
    zjob_client_t *self = await->client;
    while (await->pending > 0) {
        if (self->relinked)
            s_await_relink(await);
        int rc = s_await_send_due(await);
        if (rc)
            return rc;
        zj_msg_t *msg = NULL;
        uint64_t req = 0;
        int64_t wake = s_await_wake(await);
        int64_t tick = self->tick_fn ? zj_mono_ms() + self->tick_ms : -1;
        bool ticking = tick >= 0 && (wake < 0 || tick < wake);
        rc = s_next(self, ticking ? tick : wake, &msg, &req);
        if (rc == ZJ_ETIMEOUT && ticking) {
            self->tick_fn(self->tick_arg);
            continue;
        }
        if (rc == ZJ_ETIMEOUT && self->link_lost)
            return s_fail(self, ZJ_EUNREACH,
                          "lost coordinator at %s for %lld ms", self->endpoint,
                          (long long) self->reply_ms);
        if (rc == ZJ_ETIMEOUT)
            return s_fail(self, ZJ_ETIMEOUT,
                          "%zu of %zu jobs not finished "
                          "(and no DONE from the coordinator)",
                          await->pending, await->count);
        s_chunk_t *chunk = s_await_chunk(await, msg ? msg->req : req);
        if (rc == 0 && msg && chunk)
            rc = s_await_handle(await, chunk, msg);
        zj_msg_destroy(&msg);
        if (rc == ZJ_ECANCELLED || rc == ZJ_ESYS || (rc && chunk))
            return rc;
    }
    return 0;
}

int
zjob_client_await(zjob_client_t *self, const int64_t *ids, size_t count,
                  bool in_order, int64_t timeout_ms, zjob_result_fn *fn,
                  void *arg)
{
    assert(self);
    assert(fn);
    s_begin(self);
    if (count == 0)
        return 0;
    if (ids == NULL)
        return s_fail(self, ZJ_EUSAGE, "no job ids");
    for (size_t index = 0; index < count; index++)
        if (ids[index] <= 0)
            return s_fail(self, ZJ_EUSAGE, "bad job id %lld",
                          (long long) ids[index]);
    s_await_t await = {.client = self,
                       .in_order = in_order,
                       .fn = fn,
                       .arg = arg,
                       .deadline =
                           timeout_ms < 0 ? -1 : zj_mono_ms() + timeout_ms};
    int rc = s_await_dedupe(&await, ids, count);
    if (rc == 0)
        rc = s_await_cut(&await);
    if (rc == 0)
        rc = s_await_run(&await);
    else
        s_fail(self, rc, "out of memory");
    s_await_clear(&await);
    return s_end(self, rc);
}

//  --- Futures

zjob_future_t *
zjob_future_new(zjob_client_t *client, int64_t id)
{
    assert(client);
    zjob_future_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        abort();
    self->client = client;
    self->id = id;
    return self;
}

int
zjob_client_submit_future(zjob_client_t *self, const zjob_spec_t *spec,
                          zjob_future_t **future_p)
{
    assert(self);
    assert(future_p);
    *future_p = NULL;
    int64_t id = 0;
    int rc = zjob_client_submit(self, spec, 1, &id);
    if (rc == 0)
        *future_p = zjob_future_new(self, id);
    return rc;
}

void
zjob_future_destroy(zjob_future_t **self_p)
{
    assert(self_p);
    zjob_future_t *self = *self_p;
    if (self == NULL)
        return;
    zj_job_clear(&self->job);
    free(self);
    *self_p = NULL;
}

int64_t
zjob_future_id(const zjob_future_t *self)
{
    assert(self);
    return self->id;
}

static void
s_future_resolve(void *arg, const zjob_result_t *result)
{
    zjob_future_t *self = arg;
    zj_job_t job = {.id = result->id,
                    .state = zj_state_from_name(result->state),
                    .attempts = result->attempts,
                    .worker = (char *) result->worker,
                    .started_at = result->started_at,
                    .finished_at = result->finished_at,
                    .result = (char *) result->result,
                    .error = (char *) result->error};
    zj_job_copy(&self->job, &job);
    s_job_view(&self->job, &self->view);
    self->resolved = true;
}

int
zjob_future_wait(zjob_future_t *self, int64_t timeout_ms,
                 const zjob_result_t **result_p)
{
    assert(self);
    if (!self->resolved) {
        int rc = zjob_client_await(self->client, &self->id, 1, true, timeout_ms,
                                   s_future_resolve, self);
        if (rc)
            return rc;
    }
    if (result_p)
        *result_p = &self->view;
    return 0;
}
