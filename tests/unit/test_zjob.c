//  test_zjob.c - libzjob (client/zjob*.c, include/zjob/zjob.h) against a
//  scripted coordinator: a ROUTER on tcp://127.0.0.1 in a thread of the
//  test, speaking the real codec (proto/). Each test gives the peer a
//  script, calls the public API and then checks both what the call
//  returned and what the peer was sent: ids from SUBMITTED in input
//  order, await order, chunks and timeouts, ERROR codes, bad replies, a
//  link that drops, an unreachable coordinator, and futures.
#define _GNU_SOURCE //  memmem
#include <check.h>
#include <czmq.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "proto/codec.h"
#include "tests/unit/suites.h"
#include "zjob/zjob.h"

#define S_SEEN_MAX 16   //  Requests a peer keeps for the test to read
#define S_REPLY_MS 5000 //  Reply timeout of clients that expect replies
#define S_SHORT_MS 300  //  Timeouts of clients that must give up

typedef struct s_peer s_peer_t;

//  What the peer does with one request it received: reply through
//  s_reply (or s_reply_bytes), hold it, or nothing. Runs in the peer's
//  thread; request is kept in peer->seen.
typedef void(s_script_fn)(s_peer_t *peer, const zj_msg_t *request);

//  A scripted coordinator. The test reads it only after s_peer_stop.
struct s_peer {
    s_script_fn *script;          //  What to do per request
    int hold;                     //  Script's parameter: requests to hold
    int pause_ms;                 //  Script's parameter: a wait, in ms
    int64_t next_id;              //  Script's parameter: next job id
    zactor_t *actor;              //  The peer's thread
    zsock_t *router;              //  Its socket (peer thread only)
    int port;                     //  Where it listens
    bool relink;                  //  Script: rebind on the same port
    bool vanish;                  //  Script: close the socket for good
    zframe_t *identity;           //  The client's, from its last request
    zj_msg_t *seen[S_SEEN_MAX];   //  Requests received, in order
    int seen_count;               //  Requests received, all of them
    int dones;                    //  DONE replies sent so far
    int dones_before[S_SEEN_MAX]; //  dones when seen[n] came
    bool overtaken;               //  A request came during a pause
    char broken[ZJ_WHY_SIZE];     //  Why the peer could not do its part
};

//  --- the peer ---------------------------------------------------------

static void
s_reply_bytes(s_peer_t *self, const void *data, size_t size)
{
    zmsg_t *out = zmsg_new();
    zframe_t *identity = zframe_dup(self->identity);
    zmsg_append(out, &identity);
    zmsg_addmem(out, data, size);
    if (zmsg_send(&out, self->router) != 0) {
        snprintf(self->broken, sizeof self->broken, "send failed");
        zmsg_destroy(&out);
    }
}

//  Encodes *msg_p with req and sends it to the client; destroys it.
static void
s_reply(s_peer_t *self, uint64_t req, zj_msg_t **msg_p)
{
    (*msg_p)->req = req;
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_encode(*msg_p, &data, &size, why) != 0)
        snprintf(self->broken, sizeof self->broken, "encode: %.200s", why);
    else
        s_reply_bytes(self, data, size);
    free(data);
    zj_msg_destroy(msg_p);
}

static void
s_reply_error(s_peer_t *self, uint64_t req, int code, const char *reason)
{
    zj_msg_t *error = zj_msg_new(ZJ_MSG_ERROR);
    error->code = code;
    error->reason = strdup(reason);
    s_reply(self, req, &error);
}

static void
s_reply_done(s_peer_t *self, uint64_t req, bool timed_out)
{
    zj_msg_t *done = zj_msg_new(ZJ_MSG_DONE);
    done->timed_out = timed_out;
    s_reply(self, req, &done);
    self->dones++;
}

//  Adds job id to a RESOLVED: succeeded with result {"id": id}, attempt 1.
static void
s_add_resolved(zj_msg_t *resolved, int64_t id)
{
    zj_job_t *job = zj_msg_add_job(resolved);
    job->id = id;
    job->state = ZJ_STATE_SUCCEEDED;
    job->attempts = 1;
    job->worker = strdup("w1");
    job->started_at = 1000.0;
    job->finished_at = 1001.5;
    char result[64];
    snprintf(result, sizeof result, "{\"id\": %lld}", (long long) id);
    job->result = strdup(result);
}

//  RESOLVED for one job.
static void
s_reply_resolved(s_peer_t *self, uint64_t req, int64_t id)
{
    zj_msg_t *resolved = zj_msg_new(ZJ_MSG_RESOLVED);
    s_add_resolved(resolved, id);
    s_reply(self, req, &resolved);
}

//  Binds socket to 127.0.0.1 on a port the kernel picks; returns the port,
//  or -1.
static int
s_kernel_port(zsock_t *socket)
{
    if (zmq_bind(zsock_resolve(socket), "tcp://127.0.0.1:*") != 0)
        return -1;
    char *endpoint = zsock_last_endpoint(socket);
    char *colon = endpoint ? strrchr(endpoint, ':') : NULL;
    int port = colon ? atoi(colon + 1) : -1;
    free(endpoint);
    return port;
}

//  Binds a new ROUTER on self->port, or on a port of the kernel's choice
//  (czmq's own "*" takes the lowest free one, which other test processes
//  on this machine are likely to reach for too).
static int
s_bind(s_peer_t *self)
{
    self->router = zsock_new(ZMQ_ROUTER);
    if (self->router == NULL)
        return -1;
    zsock_set_sndhwm(self->router, 0); //  A ROUTER drops past its HWM
    //  ZeroMQ closes the old listener in its own thread: until it has, the
    //  port is still taken. Give it up to 2 s.
    if (self->port) {
        for (int tries = 0; tries < 200; tries++) {
            if (zsock_bind(self->router, "tcp://127.0.0.1:%d", self->port) >= 0)
                return 0;
            zclock_sleep(10);
        }
        return -1;
    }
    self->port = s_kernel_port(self->router);
    return self->port > 0 ? 0 : -1;
}

//  Receives one request from the router and runs the script on it.
static void
s_peer_receive(s_peer_t *self)
{
    zmsg_t *in = zmsg_recv(self->router);
    if (in == NULL)
        return;
    zframe_destroy(&self->identity);
    self->identity = zmsg_pop(in);
    zframe_t *frame = zmsg_last(in);
    zj_msg_t *request = NULL;
    char why[ZJ_WHY_SIZE] = "";
    if (frame == NULL || zj_msg_decode(zframe_data(frame), zframe_size(frame),
                                       &request, NULL, why) != 0)
        snprintf(self->broken, sizeof self->broken, "request: %.200s", why);
    zmsg_destroy(&in);
    if (request == NULL)
        return;
    int index = self->seen_count++;
    if (index < S_SEEN_MAX) {
        self->seen[index] = request;
        self->dones_before[index] = self->dones;
    }
    self->script(self, request);
    if (index >= S_SEEN_MAX)
        zj_msg_destroy(&request);
}

static void
s_peer_actor(zsock_t *pipe, void *arg)
{
    s_peer_t *self = arg;
    if (s_bind(self) != 0)
        snprintf(self->broken, sizeof self->broken, "cannot bind");
    zsock_signal(pipe, 0);
    for (;;) {
        zmq_pollitem_t items[] = {
            {zsock_resolve(pipe), 0, ZMQ_POLLIN, 0},
            {self->router ? zsock_resolve(self->router) : NULL, 0, ZMQ_POLLIN,
             0}};
        if (zmq_poll(items, self->router ? 2 : 1, -1) < 0)
            break;
        if (items[0].revents & ZMQ_POLLIN)
            break; //  $TERM from zactor_destroy
        if (items[1].revents & ZMQ_POLLIN)
            s_peer_receive(self);
        if (self->relink || self->vanish) {
            zsock_destroy(&self->router);
            if (self->relink && s_bind(self) != 0)
                snprintf(self->broken, sizeof self->broken, "cannot rebind");
            self->relink = self->vanish = false;
        }
    }
    zsock_destroy(&self->router);
    zframe_destroy(&self->identity);
}

//  Starts the peer with script; returns its endpoint (static buffer).
static const char *
s_peer_start(s_peer_t *self, s_script_fn *script)
{
    static char endpoint[64];
    self->script = script;
    self->actor = zactor_new(s_peer_actor, self);
    ck_assert_ptr_nonnull(self->actor);
    ck_assert_str_eq(self->broken, "");
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", self->port);
    return endpoint;
}

//  Stops the peer's thread; what it saw stays readable until s_peer_clear.
static void
s_peer_stop(s_peer_t *self)
{
    zactor_destroy(&self->actor);
    ck_assert_ptr_null(self->actor);
    ck_assert_str_eq(self->broken, "");
}

static void
s_peer_clear(s_peer_t *self)
{
    for (int index = 0; index < self->seen_count && index < S_SEEN_MAX;
         index++) {
        zj_msg_destroy(&self->seen[index]);
        ck_assert_ptr_null(self->seen[index]);
    }
}

//  A client of endpoint with the given reply timeout (send timeout too).
static zjob_client_t *
s_client(const char *endpoint, int64_t reply_ms)
{
    int err = 0;
    zjob_client_t *client = zjob_client_new(endpoint, &err);
    ck_assert_ptr_nonnull(client);
    ck_assert_int_eq(zjob_client_set_timeouts(client, reply_ms, reply_ms), 0);
    return client;
}

//  --- scripts ----------------------------------------------------------

//  SUBMIT: one id per job, 100 + its priority (so the test knows which
//  job each id belongs to). With peer->hold, holds that many SUBMITs and
//  answers them in reverse order.
static void
s_answer_one_submit(s_peer_t *self, const zj_msg_t *submit)
{
    zj_msg_t *submitted = zj_msg_new(ZJ_MSG_SUBMITTED);
    for (size_t job = 0; job < submit->job_count; job++)
        zj_msg_add_id(submitted, 100 + submit->jobs[job].priority);
    s_reply(self, submit->req, &submitted);
}

static void
s_answer_submit(s_peer_t *self, const zj_msg_t *request)
{
    if (self->hold == 0)
        s_answer_one_submit(self, request);
    else if (self->seen_count == self->hold)
        for (int index = self->hold - 1; index >= 0; index--)
            s_answer_one_submit(self, self->seen[index]);
}

//  SUBMIT: ERROR with the code the job's priority carries. AWAIT: ERROR
//  ZJ_ENOTFOUND.
static void
s_refuse(s_peer_t *self, const zj_msg_t *request)
{
    if (request->type == ZJ_MSG_SUBMIT)
        s_reply_error(self, request->req, request->jobs[0].priority,
                      "refused by the script");
    else
        s_reply_error(self, request->req, ZJ_ENOTFOUND, "no job 77");
}

//  SUBMIT of one job: a bad reply of the kind the job's kind names, and
//  for the kinds a client must get past, the good reply after it.
static void
s_answer_badly(s_peer_t *self, const zj_msg_t *request)
{
    const char *how = request->jobs[0].kind;
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_SUBMITTED);
    zj_msg_add_id(reply, 7);
    if (streq(how, "garbage")) {
        const char garbage[] = "\xc1 not msgpack";
        s_reply_bytes(self, garbage, sizeof garbage - 1);
    } else if (streq(how, "stale")) {
        zj_msg_t *stale = zj_msg_new(ZJ_MSG_SUBMITTED);
        zj_msg_add_id(stale, 666);
        s_reply(self, request->req + 1000, &stale);
    } else if (streq(how, "two_ids")) {
        zj_msg_add_id(reply, 8);
    } else if (streq(how, "wrong_type")) {
        zj_msg_destroy(&reply);
        reply = zj_msg_new(ZJ_MSG_DONE);
    } else if (streq(how, "version")) {
        //  The same reply with "v": 2, its req still readable.
        reply->req = request->req;
        char *data = NULL;
        size_t size = 0;
        char *version = NULL;
        if (zj_msg_encode(reply, &data, &size, NULL) == 0)
            version = memmem(data, size, "\xa1v\x01", 3);
        if (version)
            version[2] = 2;
        else
            snprintf(self->broken, sizeof self->broken, "no \"v\": 1");
        s_reply_bytes(self, data, size);
        free(data);
        zj_msg_destroy(&reply);
        return;
    }
    s_reply(self, request->req, &reply);
}

//  AWAIT: one RESOLVED with every id asked, in the order asked, then
//  DONE.
static void
s_resolve_all(s_peer_t *self, const zj_msg_t *request)
{
    zj_msg_t *resolved = zj_msg_new(ZJ_MSG_RESOLVED);
    for (size_t index = 0; index < request->id_count; index++)
        s_add_resolved(resolved, request->ids[index]);
    s_reply(self, request->req, &resolved);
    s_reply_done(self, request->req, false);
}

//  AWAIT of ids 1, 2, 3: resolves them as 2, 99 (not asked), 1, 2 again
//  and 3, then DONE. A stale req's frame comes first.
static void
s_resolve_shuffled(s_peer_t *self, const zj_msg_t *request)
{
    s_reply_resolved(self, request->req + 1000, 3);
    int64_t order[] = {2, 99, 1, 2, 3};
    for (size_t index = 0; index < sizeof order / sizeof *order; index++)
        s_reply_resolved(self, request->req, order[index]);
    s_reply_done(self, request->req, false);
}

//  AWAIT: one RESOLVED with every id asked, as bare records (id and
//  state: quick to make and read by the thousand), then DONE.
static void
s_resolve_bare(s_peer_t *self, const zj_msg_t *request)
{
    zj_msg_t *resolved = zj_msg_new(ZJ_MSG_RESOLVED);
    for (size_t index = 0; index < request->id_count; index++) {
        zj_job_t *job = zj_msg_add_job(resolved);
        job->id = request->ids[index];
        job->state = ZJ_STATE_CANCELLED;
    }
    s_reply(self, request->req, &resolved);
    s_reply_done(self, request->req, false);
}

//  AWAIT: with peer->hold, holds that many and then resolves them all;
//  else gives another request peer->pause_ms to come before this one is
//  answered (peer->overtaken notes it), then resolves it. Bare records.
static void
s_resolve_held(s_peer_t *self, const zj_msg_t *request)
{
    if (self->hold == 0) {
        zmq_pollitem_t item = {zsock_resolve(self->router), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, self->pause_ms) > 0)
            self->overtaken = true;
        s_resolve_bare(self, request);
    } else if (self->seen_count == self->hold)
        for (int index = 0; index < self->hold; index++)
            s_resolve_bare(self, self->seen[index]);
}

//  AWAIT: resolves the first id only, then says the time ran out.
static void
s_time_out(s_peer_t *self, const zj_msg_t *request)
{
    s_reply_resolved(self, request->req, request->ids[0]);
    s_reply_done(self, request->req, true);
}

//  Nothing, ever.
static void
s_stay_silent(s_peer_t *self, const zj_msg_t *request)
{
    (void) self;
    (void) request;
}

//  First request: drops the link (a new socket on the same port). Then
//  resolves every AWAIT.
static void
s_relink_once(s_peer_t *self, const zj_msg_t *request)
{
    if (self->seen_count == 1)
        self->relink = true;
    else
        s_resolve_all(self, request);
}

//  First SUBMIT: drops the link (its reply is lost with it). Then
//  answers every SUBMIT.
static void
s_lose_first_reply(s_peer_t *self, const zj_msg_t *request)
{
    if (self->seen_count == 1)
        self->relink = true;
    else
        s_answer_one_submit(self, request);
}

//  First request: closes the socket and never comes back.
static void
s_vanish(s_peer_t *self, const zj_msg_t *request)
{
    (void) request;
    self->vanish = true;
}

//  SUBMIT: ids peer->next_id and on; AWAIT of 42: resolves it; of
//  another id: DONE timed out at once.
static void
s_serve_futures(s_peer_t *self, const zj_msg_t *request)
{
    if (request->type == ZJ_MSG_SUBMIT) {
        zj_msg_t *submitted = zj_msg_new(ZJ_MSG_SUBMITTED);
        zj_msg_add_id(submitted, self->next_id++);
        s_reply(self, request->req, &submitted);
    } else if (request->ids[0] == 42) {
        s_resolve_all(self, request);
    } else {
        s_reply_done(self, request->req, true);
    }
}

//  --- callbacks --------------------------------------------------------

//  Ids delivered to s_collect, and the first result's fields.
typedef struct {
    int64_t ids[16]; //  In delivery order
    int count;       //  Entries in ids
    char first[128]; //  "state attempts worker result" of the first
} s_got_t;

static void
s_collect(void *arg, const zjob_result_t *result)
{
    s_got_t *got = arg;
    if (got->count == 0)
        snprintf(got->first, sizeof got->first, "%s %d %s %s %.1f",
                 result->state, result->attempts,
                 result->worker ? result->worker : "-",
                 result->result ? result->result : "-",
                 result->finished_at - result->started_at);
    if (got->count < 16)
        got->ids[got->count] = result->id;
    got->count++;
}

//  Counts deliveries only (for awaits of thousands of ids).
static void
s_count(void *arg, const zjob_result_t *result)
{
    (void) result;
    (*(int *) arg)++;
}

//  --- submit -----------------------------------------------------------

START_TEST(test_submit_writes_ids_in_input_order)
{
    s_peer_t peer = {.hold = 3};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_answer_submit), S_REPLY_MS);
    ck_assert_int_eq(zjob_client_set_batch(client, 2), 0);
    zjob_spec_t specs[5];
    for (int index = 0; index < 5; index++)
        specs[index] = (zjob_spec_t){.kind = "echo", .priority = index};
    specs[1].args = "{\"x\": [1, 2]}";
    specs[2].retries = 2;
    int64_t ids[5];
    //  Three batches in flight at once, answered last first.
    ck_assert_int_eq(zjob_client_submit(client, specs, 5, ids), 0);
    for (int index = 0; index < 5; index++)
        ck_assert_int_eq(ids[index], 100 + index);
    ck_assert_str_eq(zjob_client_last_error(client), "");
    zjob_client_destroy(&client);
    ck_assert_ptr_null(client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 3);
    ck_assert_int_eq(peer.seen[0]->type, ZJ_MSG_SUBMIT);
    ck_assert_uint_eq(peer.seen[0]->job_count, 2);
    ck_assert_uint_eq(peer.seen[1]->job_count, 2);
    ck_assert_uint_eq(peer.seen[2]->job_count, 1);
    ck_assert_uint_ne(peer.seen[0]->req, peer.seen[1]->req);
    ck_assert_uint_ne(peer.seen[1]->req, peer.seen[2]->req);
    ck_assert_str_eq(peer.seen[0]->jobs[1].args, "{\"x\": [1, 2]}");
    ck_assert_int_eq(peer.seen[1]->jobs[0].max_attempts, 3);
    s_peer_clear(&peer);
}
END_TEST

//  A SUBMIT whose reply the link lost is sent again once the link is
//  back, with the same token, so the coordinator makes its jobs once.
START_TEST(test_submit_sends_again_with_its_token_after_relink)
{
    s_peer_t peer = {0};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_lose_first_reply), S_REPLY_MS);
    zjob_spec_t specs[2] = {{.kind = "echo", .priority = 1},
                            {.kind = "echo", .priority = 2}};
    int64_t ids[2];
    ck_assert_int_eq(zjob_client_submit(client, specs, 2, ids), 0);
    ck_assert_int_eq(ids[0], 101);
    ck_assert_int_eq(ids[1], 102);
    //  A second submit has a token of its own.
    ck_assert_int_eq(zjob_client_submit(client, specs, 1, ids), 0);
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 3);
    ck_assert_ptr_nonnull(peer.seen[0]->token);
    ck_assert_uint_ge(strlen(peer.seen[0]->token), 16);
    ck_assert_str_eq(peer.seen[1]->token, peer.seen[0]->token);
    ck_assert_uint_eq(peer.seen[1]->job_count, 2);
    ck_assert_str_ne(peer.seen[2]->token, peer.seen[0]->token);
    s_peer_clear(&peer);
}
END_TEST

START_TEST(test_submit_checks_jobs_before_sending)
{
    s_peer_t peer = {0};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_answer_submit), S_REPLY_MS);
    int64_t ids[2] = {-1, -1};
    zjob_spec_t specs[2] = {{.kind = "echo"}, {.kind = "bad kind"}};
    ck_assert_int_eq(zjob_client_submit(client, specs, 2, ids), ZJOB_EUSAGE);
    ck_assert_ptr_nonnull(strstr(zjob_client_last_error(client), "job 1"));
    specs[1] = (zjob_spec_t){.kind = "echo", .args = "{\"x\": "};
    ck_assert_int_eq(zjob_client_submit(client, specs, 2, ids), ZJOB_EJSON);
    specs[1] = (zjob_spec_t){.kind = "echo", .retries = -1};
    ck_assert_int_eq(zjob_client_submit(client, specs, 2, ids), ZJOB_EUSAGE);
    const char *keys[] = {"", "a\tb", "\xff"};
    for (size_t index = 0; index < 3; index++) {
        specs[1] = (zjob_spec_t){.kind = "echo", .unique = keys[index]};
        ck_assert_int_eq(zjob_client_submit(client, specs, 2, ids),
                         ZJOB_EUSAGE);
    }
    specs[1] =
        (zjob_spec_t){.kind = "echo", .unique = "k", .unique_for_ms = -1};
    ck_assert_int_eq(zjob_client_submit(client, specs, 2, ids), ZJOB_EUSAGE);
    ck_assert_int_eq(zjob_client_set_batch(client, 0), ZJOB_EUSAGE);
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 0);
}
END_TEST

START_TEST(test_error_reply_gives_its_code)
{
    s_peer_t peer = {0};
    zjob_client_t *client = s_client(s_peer_start(&peer, s_refuse), S_REPLY_MS);
    const int codes[] = {ZJOB_EKIND, ZJOB_ETOOBIG, ZJOB_ESTORE, ZJOB_EDENIED};
    for (size_t index = 0; index < sizeof codes / sizeof *codes; index++) {
        zjob_spec_t spec = {.kind = "echo", .priority = codes[index]};
        int64_t id = -1;
        ck_assert_int_eq(zjob_client_submit(client, &spec, 1, &id),
                         codes[index]);
        ck_assert_int_eq(id, 0);
        ck_assert_str_eq(zjob_client_last_error(client),
                         "refused by the script");
        char sentinel;
        zjob_future_t *future = (zjob_future_t *) &sentinel; //  Not NULL
        ck_assert_int_eq(zjob_client_submit_future(client, &spec, &future),
                         codes[index]);
        ck_assert_ptr_null(future);
    }
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    s_peer_clear(&peer);
}
END_TEST

START_TEST(test_bad_replies_are_rejected)
{
    s_peer_t peer = {0};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_answer_badly), S_REPLY_MS);
    const struct {
        const char *how; //  The bad reply (see s_answer_badly)
        int code;        //  What submit returns
        const char *why; //  Part of the client's last error, or NULL
    } rows[] = {
        {"garbage", 0, NULL}, //  No req: dropped, the good reply follows
        {"stale", 0, NULL},   //  Another req: dropped likewise
        {"two_ids", ZJOB_EPROTO, "SUBMITTED has 2 ids for 1 jobs"},
        {"wrong_type", ZJOB_EPROTO, "expected SUBMITTED, got DONE"},
        {"version", ZJOB_EVERSION, "bad reply from coordinator"},
    };
    for (size_t index = 0; index < sizeof rows / sizeof *rows; index++) {
        zjob_spec_t spec = {.kind = rows[index].how};
        int64_t id = -1;
        int rc = zjob_client_submit(client, &spec, 1, &id);
        ck_assert_msg(rc == rows[index].code, "%s: rc %d", rows[index].how, rc);
        ck_assert_int_eq(id, rc == 0 ? 7 : 0);
        if (rows[index].why)
            ck_assert_msg(
                strstr(zjob_client_last_error(client), rows[index].why),
                "%s: '%s'", rows[index].how, zjob_client_last_error(client));
        else
            ck_assert_str_eq(zjob_client_last_error(client), "");
    }
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 5);
    s_peer_clear(&peer);
}
END_TEST

//  --- await ------------------------------------------------------------

START_TEST(test_await_in_order_asks_once_per_id)
{
    s_peer_t peer = {0};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_resolve_all), S_REPLY_MS);
    int64_t ids[] = {3, 1, 2, 3};
    s_got_t got = {0};
    ck_assert_int_eq(
        zjob_client_await(client, ids, 4, true, -1, s_collect, &got), 0);
    ck_assert_int_eq(got.count, 3);
    ck_assert_int_eq(got.ids[0], 3);
    ck_assert_int_eq(got.ids[1], 1);
    ck_assert_int_eq(got.ids[2], 2);
    ck_assert_str_eq(got.first, "succeeded 1 w1 {\"id\": 3} 1.5");
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 1);
    const zj_msg_t *await = peer.seen[0];
    ck_assert_int_eq(await->type, ZJ_MSG_AWAIT);
    ck_assert(await->in_order);
    ck_assert_int_eq(await->timeout_ms, 0);
    ck_assert_uint_eq(await->id_count, 3);
    ck_assert_int_eq(await->ids[0], 3);
    ck_assert_int_eq(await->ids[1], 1);
    ck_assert_int_eq(await->ids[2], 2);
    s_peer_clear(&peer);
}
END_TEST

START_TEST(test_await_as_completed_delivers_each_once)
{
    s_peer_t peer = {0};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_resolve_shuffled), S_REPLY_MS);
    int64_t ids[] = {1, 2, 3};
    s_got_t got = {0};
    ck_assert_int_eq(
        zjob_client_await(client, ids, 3, false, -1, s_collect, &got), 0);
    ck_assert_int_eq(got.count, 3);
    ck_assert_int_eq(got.ids[0], 2);
    ck_assert_int_eq(got.ids[1], 1);
    ck_assert_int_eq(got.ids[2], 3);
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 1);
    ck_assert(!peer.seen[0]->in_order);
    s_peer_clear(&peer);
}
END_TEST

//  ZJ_MAX_BATCH + 1 ids: two AWAITs. In order, the second goes out only
//  once the first is answered (the peer gives it 200 ms to come sooner:
//  a client that sends it at once is caught, one that waits never
//  fails); as completed, both go out before any reply.
START_TEST(test_await_chunks)
{
    size_t count = ZJ_MAX_BATCH + 1;
    int64_t *ids = calloc(count, sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t index = 0; index < count; index++)
        ids[index] = (int64_t) index + 1;
    for (int in_order = 1; in_order >= 0; in_order--) {
        s_peer_t peer = {.hold = in_order ? 0 : 2, .pause_ms = 200};
        zjob_client_t *client =
            s_client(s_peer_start(&peer, s_resolve_held), S_REPLY_MS);
        int delivered = 0;
        ck_assert_int_eq(zjob_client_await(client, ids, count, in_order, -1,
                                           s_count, &delivered),
                         0);
        ck_assert_int_eq(delivered, (int) count);
        zjob_client_destroy(&client);
        s_peer_stop(&peer);
        ck_assert_int_eq(peer.seen_count, 2);
        ck_assert_uint_eq(peer.seen[0]->id_count, ZJ_MAX_BATCH);
        ck_assert_uint_eq(peer.seen[1]->id_count, 1);
        ck_assert_int_eq(peer.seen[1]->ids[0], (int64_t) count);
        ck_assert_int_eq(peer.dones_before[1], in_order ? 1 : 0);
        ck_assert(!peer.overtaken);
        s_peer_clear(&peer);
    }
    free(ids);
}
END_TEST

START_TEST(test_await_times_out)
{
    //  The coordinator says the time ran out: what came before stays
    //  delivered.
    s_peer_t peer = {0};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_time_out), S_REPLY_MS);
    int64_t ids[] = {5, 6};
    s_got_t got = {0};
    ck_assert_int_eq(
        zjob_client_await(client, ids, 2, false, 60000, s_collect, &got),
        ZJOB_ETIMEOUT);
    ck_assert_int_eq(got.count, 1);
    ck_assert_int_eq(got.ids[0], 5);
    ck_assert_ptr_nonnull(strstr(zjob_client_last_error(client), "1 of 2"));
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_gt(peer.seen[0]->timeout_ms, 0);
    ck_assert_int_le(peer.seen[0]->timeout_ms, 60000);
    s_peer_clear(&peer);

    //  The coordinator never answers: the client's own bound ends it.
    s_peer_t silent = {0};
    client = s_client(s_peer_start(&silent, s_stay_silent), S_SHORT_MS);
    got = (s_got_t){0};
    ck_assert_int_eq(
        zjob_client_await(client, ids, 2, true, 100, s_collect, &got),
        ZJOB_ETIMEOUT);
    ck_assert_int_eq(got.count, 0);
    ck_assert_ptr_nonnull(strstr(zjob_client_last_error(client), "no DONE"));
    zjob_client_destroy(&client);
    s_peer_stop(&silent);
    ck_assert_int_eq(silent.seen_count, 1);
    s_peer_clear(&silent);
}
END_TEST

START_TEST(test_await_error_reply_gives_its_code)
{
    s_peer_t peer = {0};
    zjob_client_t *client = s_client(s_peer_start(&peer, s_refuse), S_REPLY_MS);
    int64_t ids[] = {77};
    s_got_t got = {0};
    ck_assert_int_eq(
        zjob_client_await(client, ids, 1, true, -1, s_collect, &got),
        ZJOB_ENOTFOUND);
    ck_assert_int_eq(got.count, 0);
    ck_assert_str_eq(zjob_client_last_error(client), "no job 77");
    //  Ids that cannot be jobs never leave the client.
    ids[0] = 0;
    ck_assert_int_eq(
        zjob_client_await(client, ids, 1, true, -1, s_collect, &got),
        ZJOB_EUSAGE);
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 1);
    s_peer_clear(&peer);
}
END_TEST

START_TEST(test_await_sends_again_after_relink)
{
    s_peer_t peer = {0};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_relink_once), S_REPLY_MS);
    int64_t ids[] = {8, 9};
    s_got_t got = {0};
    ck_assert_int_eq(
        zjob_client_await(client, ids, 2, true, -1, s_collect, &got), 0);
    ck_assert_int_eq(got.count, 2);
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 2);
    ck_assert_uint_ne(peer.seen[0]->req, peer.seen[1]->req);
    ck_assert_uint_eq(peer.seen[1]->id_count, 2);
    s_peer_clear(&peer);
}
END_TEST

START_TEST(test_await_gives_up_on_a_lost_link)
{
    s_peer_t peer = {0};
    zjob_client_t *client = s_client(s_peer_start(&peer, s_vanish), S_SHORT_MS);
    int64_t ids[] = {8};
    s_got_t got = {0};
    //  No timeout of its own: the lost link alone must end the wait.
    ck_assert_int_eq(
        zjob_client_await(client, ids, 1, true, -1, s_collect, &got),
        ZJOB_EUNREACH);
    ck_assert_int_eq(got.count, 0);
    ck_assert_ptr_nonnull(
        strstr(zjob_client_last_error(client), "lost coordinator"));
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 1);
    s_peer_clear(&peer);
}
END_TEST

//  --- unreachable ------------------------------------------------------

START_TEST(test_unreachable_coordinator)
{
    //  A port that was free a moment ago: nothing listens there.
    zsock_t *probe = zsock_new(ZMQ_ROUTER);
    int port = s_kernel_port(probe);
    ck_assert_int_gt(port, 0);
    zsock_destroy(&probe);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    zjob_client_t *client = s_client(endpoint, S_SHORT_MS);
    zjob_spec_t spec = {.kind = "echo"};
    int64_t id = -1;
    ck_assert_int_eq(zjob_client_submit(client, &spec, 1, &id), ZJOB_EUNREACH);
    ck_assert_int_eq(id, 0);
    ck_assert_ptr_nonnull(strstr(zjob_client_last_error(client), endpoint));
    s_got_t got = {0};
    int64_t ids[] = {1};
    ck_assert_int_eq(
        zjob_client_await(client, ids, 1, true, -1, s_collect, &got),
        ZJOB_EUNREACH);
    zjob_client_destroy(&client);
    ck_assert_ptr_null(client);
    zjob_client_destroy(&client); //  Idempotent

    //  Connected, but no reply ever comes.
    s_peer_t peer = {0};
    client = s_client(s_peer_start(&peer, s_stay_silent), S_SHORT_MS);
    ck_assert_int_eq(zjob_client_submit(client, &spec, 1, &id), ZJOB_EUNREACH);
    ck_assert_ptr_nonnull(strstr(zjob_client_last_error(client), "no reply"));
    zjob_client_destroy(&client);
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 1);
    s_peer_clear(&peer);
}
END_TEST

//  --- futures ----------------------------------------------------------

START_TEST(test_future_resolves_once_and_is_destroyed)
{
    s_peer_t peer = {.next_id = 42};
    zjob_client_t *client =
        s_client(s_peer_start(&peer, s_serve_futures), S_REPLY_MS);
    zjob_spec_t spec = {.kind = "echo"};
    zjob_future_t *future = NULL;
    ck_assert_int_eq(zjob_client_submit_future(client, &spec, &future), 0);
    ck_assert_ptr_nonnull(future);
    ck_assert_int_eq(zjob_future_id(future), 42);
    const zjob_result_t *result = NULL;
    ck_assert_int_eq(zjob_future_wait(future, -1, &result), 0);
    ck_assert_ptr_nonnull(result);
    ck_assert_int_eq(result->id, 42);
    ck_assert_str_eq(result->state, "succeeded");
    ck_assert_str_eq(result->result, "{\"id\": 42}");
    ck_assert_str_eq(result->worker, "w1");

    //  A second future times out, and stays usable.
    zjob_future_t *late = NULL;
    ck_assert_int_eq(zjob_client_submit_future(client, &spec, &late), 0);
    ck_assert_int_eq(zjob_future_id(late), 43);
    const zjob_result_t *none = NULL;
    ck_assert_int_eq(zjob_future_wait(late, 50, &none), ZJOB_ETIMEOUT);
    ck_assert_ptr_null(none);

    //  With the coordinator gone, a resolved future still answers, from
    //  what it kept.
    s_peer_stop(&peer);
    ck_assert_int_eq(peer.seen_count, 4);
    const zjob_result_t *again = NULL;
    ck_assert_int_eq(zjob_future_wait(future, 0, &again), 0);
    ck_assert_ptr_eq(again, result);
    ck_assert_str_eq(again->result, "{\"id\": 42}");
    zjob_future_destroy(&future);
    ck_assert_ptr_null(future);
    zjob_future_destroy(&future); //  Idempotent
    zjob_future_destroy(&late);
    ck_assert_ptr_null(late);
    zjob_client_destroy(&client);
    ck_assert_ptr_null(client);
    s_peer_clear(&peer);
}
END_TEST

Suite *
test_zjob_suite(void)
{
    Suite *suite = suite_create("zjob");
    TCase *tcase = tcase_create("client");
    tcase_set_timeout(tcase, 60);
    tcase_add_test(tcase, test_submit_writes_ids_in_input_order);
    tcase_add_test(tcase, test_submit_sends_again_with_its_token_after_relink);
    tcase_add_test(tcase, test_submit_checks_jobs_before_sending);
    tcase_add_test(tcase, test_error_reply_gives_its_code);
    tcase_add_test(tcase, test_bad_replies_are_rejected);
    tcase_add_test(tcase, test_await_in_order_asks_once_per_id);
    tcase_add_test(tcase, test_await_as_completed_delivers_each_once);
    tcase_add_test(tcase, test_await_chunks);
    tcase_add_test(tcase, test_await_times_out);
    tcase_add_test(tcase, test_await_error_reply_gives_its_code);
    tcase_add_test(tcase, test_await_sends_again_after_relink);
    tcase_add_test(tcase, test_await_gives_up_on_a_lost_link);
    tcase_add_test(tcase, test_unreachable_coordinator);
    tcase_add_test(tcase, test_future_resolves_once_and_is_destroyed);
    suite_add_tcase(suite, tcase);
    return suite;
}
