//  subjobs.c - the sub-job awaitables of include/zjob/handler.h: submit
//  children (SPAWN), await, gather and as-completed (AWAIT). Each call is
//  held by worker/calls.c until it ends; this file waits for its replies.
//
//  A call's state lives on the job's coroutine stack, and the call ends
//  (zj_calls_end) before the function returns, so no reply can reach a
//  stack that moved on. The job waits on a libuv timer handle that is
//  never started: a reply, or a cancel, closes it, and its close callback
//  resumes the job from the loop (worker/wait.h).
#include <assert.h>
#include <czmq.h>
#include <uv.h>

#include "common/err.h"
#include "common/idmap.h"
#include "common/log.h"
#include "proto/limits.h"
#include "worker/calls.h"
#include "worker/coro.h"
#include "worker/job_ctx.h"
#include "worker/wait.h"

#define ZJ_SPAWN_BYTES (1024 * 1024) //  Args per SPAWN message, about

typedef struct {
    zjob_ctx_t *ctx;    //  The job
    uint64_t req;       //  Its call
    zj_wait_t wait;     //  While the job is suspended here
    uv_timer_t trigger; //  Closed to end the wait
    bool waiting;       //  The job is suspended here
    int status;         //  0, or the code of an ERROR reply
    bool answered;      //  SPAWNED, ERROR or DONE came
    //  SPAWN
    int64_t *ids;    //  Where the children's ids go
    size_t id_count; //  Entries ids takes
    //  AWAIT
    const int64_t *awaited;   //  The ids awaited
    size_t count;             //  Entries in awaited
    bool in_order;            //  gather (true) or as-completed
    zjob_outcome_t *outcomes; //  gather: one per id
    size_t next;              //  gather: first id with no outcome yet
    zlistx_t *ready;          //  as-completed: outcomes not yet handed on
    bool *seen;               //  as-completed: ids with an outcome
    size_t seen_count;        //  Entries of seen set
} s_call_t;

void
zjob_outcome_clear(zjob_outcome_t *outcome)
{
    if (outcome == NULL)
        return;
    free(outcome->result);
    free(outcome->error);
    memset(outcome, 0, sizeof *outcome);
}

const char *
zjob_ctx_error(const zjob_ctx_t *ctx)
{
    assert(ctx);
    return ctx->why;
}

static int
s_fail(zjob_ctx_t *ctx, int code, const char *why)
{
    snprintf(ctx->why, sizeof ctx->why, "%s", why);
    return code;
}

//  0 if the job may make sub-job calls now, else the code to return.
static int
s_allowed(zjob_ctx_t *ctx)
{
    int rc = zj_wait_allowed(ctx);
    if (rc == ZJ_EDENIED)
        return s_fail(ctx, rc, "only I/O handlers may submit and await jobs");
    if (rc == 0 && ctx->calls == NULL)
        return s_fail(ctx, ZJ_EDENIED, "this worker takes no sub-job calls");
    if (rc != 0)
        return s_fail(ctx, rc, zj_strerror(rc));
    ctx->why[0] = '\0';
    return 0;
}

//  --- Waiting for replies

static void
s_wake(s_call_t *call, int status)
{
    if (!call->waiting || call->wait.settled)
        return;
    zj_wait_settle(&call->wait, status);
    zj_wait_close((uv_handle_t *) &call->trigger);
}

static void
s_abandon(zjob_ctx_t *ctx)
{
    s_wake(ctx->abandon_arg, ZJ_ECANCELLED);
}

//  Suspends the job until the next reply to call, or a cancel. Returns 0
//  or ZJ_ECANCELLED.
static int
s_block(s_call_t *call)
{
    call->wait = (zj_wait_t){.ctx = call->ctx};
    //  A timer's init on a live loop cannot fail by libuv's contract.
    int rc = uv_timer_init(call->ctx->loop, &call->trigger);
    assert(rc == 0);
    (void) rc;
    zj_wait_opened(&call->wait, (uv_handle_t *) &call->trigger);
    call->waiting = true;
    //  abandon_arg must be the call, not its wait: s_abandon wakes it.
    call->ctx->abandon = s_abandon;
    call->ctx->abandon_arg = call;
    while (call->wait.open > 0)
        zj_coro_yield(call->ctx->coro);
    call->ctx->abandon = NULL;
    call->ctx->abandon_arg = NULL;
    call->waiting = false;
    return call->wait.status;
}

//  An ERROR reply: the call fails with its code and reason.
static void
s_on_error(s_call_t *call, const zj_msg_t *reply)
{
    call->status = zj_err_is_valid(reply->code) ? reply->code : ZJ_EPROTO;
    snprintf(call->ctx->why, sizeof call->ctx->why, "%s",
             reply->reason ? reply->reason : zj_strerror(call->status));
    call->answered = true;
    zj_log_warning("sub-job call refused job=%" PRId64 " code=%s reason=\"%s\"",
                   call->ctx->job_id, zj_errname(call->status), call->ctx->why);
}

//  --- What the job made and awaited

//  Notes each child just made, once (a re-run parent gets old ids back,
//  and may list one twice).
static void
s_note_children(zjob_ctx_t *ctx, const zjob_child_t *children, size_t count,
                const int64_t *ids)
{
    if (ctx->child_index == NULL)
        ctx->child_index = zj_idmap_new();
    for (size_t index = 0; index < count; index++) {
        if (zj_idmap_lookup(ctx->child_index, ids[index]))
            continue;
        if (ctx->child_count == ctx->child_size) {
            ctx->child_size = ctx->child_size ? ctx->child_size * 2 : 16;
            ctx->children =
                realloc(ctx->children, ctx->child_size * sizeof *ctx->children);
            assert(ctx->children);
        }
        ctx->children[ctx->child_count] = (zj_child_note_t){
            .id = ids[index], .kind = strdup(children[index].kind)};
        ctx->child_count++;
        zj_idmap_insert(ctx->child_index, ids[index],
                        (void *) (uintptr_t) ctx->child_count);
    }
}

//  The job awaits ids: those of them it made are awaited.
static void
s_note_awaited(zjob_ctx_t *ctx, const int64_t *ids, size_t count)
{
    for (size_t index = 0; ctx->child_index && index < count; index++) {
        uintptr_t entry =
            (uintptr_t) zj_idmap_lookup(ctx->child_index, ids[index]);
        if (entry > 0)
            ctx->children[entry - 1].awaited = true;
    }
}

void
zj_job_ctx_end_children(zjob_ctx_t *ctx)
{
    assert(ctx);
    size_t never = 0;
    for (size_t index = 0; index < ctx->child_count; index++) {
        zj_child_note_t *child = &ctx->children[index];
        if (!child->awaited && never++ < ZJ_NEVER_AWAITED_LINES)
            zj_log_warning("never awaited parent=%" PRId64 " child=%" PRId64
                           " kind=%s",
                           ctx->job_id, child->id, child->kind);
        free(child->kind);
    }
    if (never > ZJ_NEVER_AWAITED_LINES)
        zj_log_warning("never awaited parent=%" PRId64 " children=%zu "
                       "(the first %d are named above)",
                       ctx->job_id, never, ZJ_NEVER_AWAITED_LINES);
    free(ctx->children);
    ctx->children = NULL;
    ctx->child_count = ctx->child_size = 0;
    zj_idmap_destroy(&ctx->child_index);
}

//  --- Submitting children

static void
s_on_spawn_reply(void *arg, const zj_msg_t *reply)
{
    s_call_t *call = arg;
    if (reply == NULL || call->answered)
        return; //  A SPAWN goes again as it is: its children are keyed
    if (reply->type == ZJ_MSG_ERROR)
        s_on_error(call, reply);
    else if (reply->type == ZJ_MSG_SPAWNED &&
             reply->id_count == call->id_count) {
        memcpy(call->ids, reply->ids, reply->id_count * sizeof(int64_t));
        call->answered = true;
    } else {
        call->status = ZJ_EPROTO;
        snprintf(call->ctx->why, sizeof call->ctx->why,
                 "%s with %zu ids for %zu children",
                 zj_msg_type_name(reply->type), reply->id_count,
                 call->id_count);
        call->answered = true;
    }
    s_wake(call, 0);
}

static void
s_fill_child(zj_job_t *job, const zjob_child_t *child, int64_t parent,
             int32_t call)
{
    job->kind = strdup(child->kind);
    job->args = child->args ? strdup(child->args) : NULL;
    job->priority = child->priority;
    job->max_attempts = child->max_attempts;
    job->timeout_ms = child->timeout_ms;
    job->delay_ms = child->delay_ms;
    job->backoff_ms = child->backoff_ms;
    if (child->after_count > 0) {
        job->after = malloc(child->after_count * sizeof(int64_t));
        assert(job->after);
        memcpy(job->after, child->after, child->after_count * sizeof(int64_t));
        job->after_count = (uint32_t) child->after_count;
    }
    job->parent = parent;
    job->call = call;
}

//  Checks a child against the protocol before it is sent: a bad one
//  would have the whole SPAWN refused.
static int
s_check_child(zjob_ctx_t *ctx, const zjob_child_t *child)
{
    char why[128];
    if (child == NULL || child->kind == NULL || *child->kind == '\0')
        snprintf(why, sizeof why, "a child needs a kind");
    else if (strlen(child->kind) > ZJ_MAX_KIND)
        snprintf(why, sizeof why, "kind of %zu bytes > %d", strlen(child->kind),
                 ZJ_MAX_KIND);
    else if (child->after_count > ZJ_MAX_AFTER)
        snprintf(why, sizeof why, "after holds %zu ids > %d",
                 child->after_count, ZJ_MAX_AFTER);
    else if (child->max_attempts < 0 || child->timeout_ms < 0 ||
             child->delay_ms < 0 || child->backoff_ms < 0)
        snprintf(why, sizeof why, "negative option for kind %s", child->kind);
    else
        return 0;
    return s_fail(ctx, ZJ_EUSAGE, why);
}

//  Submits children[0..count) in one SPAWN, the call numbers following
//  ctx->calls_made; fills ids.
static int
s_spawn(zjob_ctx_t *ctx, const zjob_child_t *children, size_t count,
        int64_t *ids)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SPAWN);
    for (size_t index = 0; index < count; index++)
        s_fill_child(zj_msg_add_job(msg), &children[index], ctx->job_id,
                     ++ctx->calls_made);
    s_call_t call = {.ctx = ctx, .ids = ids, .id_count = count};
    call.req = zj_calls_start(ctx->calls, &msg, s_on_spawn_reply, &call);
    int rc = 0;
    while (rc == 0 && !call.answered)
        rc = s_block(&call);
    zj_calls_end(ctx->calls, call.req);
    if (rc != 0)
        return s_fail(ctx, rc, zj_strerror(rc));
    return call.status;
}

int
zjob_submit_many(zjob_ctx_t *ctx, const zjob_child_t *children, size_t count,
                 int64_t *ids)
{
    assert(ctx && (count == 0 || (children && ids)));
    int rc = s_allowed(ctx);
    for (size_t index = 0; rc == 0 && index < count; index++)
        rc = s_check_child(ctx, &children[index]);
    size_t done = 0;
    while (rc == 0 && done < count) {
        //  One SPAWN holds at most ZJ_MAX_BATCH children and about
        //  ZJ_SPAWN_BYTES of args, or one child.
        size_t take = 0, bytes = 0;
        while (done + take < count && take < ZJ_MAX_BATCH) {
            const char *args = children[done + take].args;
            size_t size = (args ? strlen(args) : 0) + 64;
            if (take > 0 && bytes + size > ZJ_SPAWN_BYTES)
                break;
            bytes += size;
            take++;
        }
        rc = s_spawn(ctx, children + done, take, ids + done);
        if (rc == 0)
            s_note_children(ctx, children + done, take, ids + done);
        done += take;
    }
    return rc;
}

int
zjob_submit(zjob_ctx_t *ctx, const zjob_child_t *child, int64_t *id_p)
{
    assert(id_p);
    return zjob_submit_many(ctx, child, 1, id_p);
}

//  --- Awaiting jobs

static void
s_outcome_from(zjob_outcome_t *outcome, const zj_job_t *record)
{
    outcome->id = record->id;
    outcome->succeeded = record->state == ZJ_STATE_SUCCEEDED;
    outcome->state = zj_state_name(record->state);
    outcome->result = record->result ? strdup(record->result) : NULL;
    outcome->error = record->error ? strdup(record->error) : NULL;
}

//  gather: the k-th record of the stream is the outcome of awaited[k]
//  (RESOLVED in order); a record sent again after a reconnect is for an
//  id at or past next, as the AWAIT sent again starts there.
static void
s_take_in_order(s_call_t *call, const zj_job_t *record)
{
    if (call->next < call->count && call->awaited[call->next] == record->id)
        s_outcome_from(&call->outcomes[call->next++], record);
}

//  as-completed: the first outcome of each id is handed on, once.
static void
s_take_completed(s_call_t *call, const zj_job_t *record)
{
    for (size_t index = 0; index < call->count; index++) {
        if (call->awaited[index] != record->id || call->seen[index])
            continue;
        call->seen[index] = true;
        call->seen_count++;
        zjob_outcome_t *outcome = calloc(1, sizeof *outcome);
        assert(outcome);
        s_outcome_from(outcome, record);
        zlistx_add_end(call->ready, outcome);
        return;
    }
}

//  Before the AWAIT goes again: it asks only for what has not come.
static void
s_trim_await(s_call_t *call)
{
    zj_msg_t *msg = zj_calls_msg(call->ctx->calls, call->req);
    assert(msg);
    size_t kept = 0;
    for (size_t index = 0; index < call->count; index++) {
        bool has = call->in_order ? index < call->next : call->seen[index];
        if (!has)
            msg->ids[kept++] = call->awaited[index];
    }
    msg->id_count = kept;
}

static void
s_on_await_reply(void *arg, const zj_msg_t *reply)
{
    s_call_t *call = arg;
    if (reply == NULL) {
        s_trim_await(call);
        return;
    }
    if (call->answered)
        return;
    if (reply->type == ZJ_MSG_ERROR)
        s_on_error(call, reply);
    else if (reply->type == ZJ_MSG_DONE)
        call->answered = true;
    for (size_t index = 0;
         reply->type == ZJ_MSG_RESOLVED && index < reply->job_count; index++) {
        if (call->in_order)
            s_take_in_order(call, &reply->jobs[index]);
        else
            s_take_completed(call, &reply->jobs[index]);
    }
    bool news = call->answered || (call->ready && zlistx_size(call->ready));
    if (news)
        s_wake(call, 0);
}

//  Starts the AWAIT of call. While it runs the job gives its slot back,
//  if the worker's bound on suspended parents allows: *slotless says so.
static void
s_start_await(s_call_t *call, bool *slotless)
{
    zjob_ctx_t *ctx = call->ctx;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_AWAIT);
    msg->parent = ctx->job_id;
    msg->in_order = call->in_order;
    for (size_t index = 0; index < call->count; index++)
        zj_msg_add_id(msg, call->awaited[index]);
    s_note_awaited(ctx, call->awaited, call->count);
    *slotless = zj_calls_suspend(ctx->calls);
    msg->hold = !*slotless;
    call->req = zj_calls_start(ctx->calls, &msg, s_on_await_reply, call);
}

static void
s_end_await(s_call_t *call, bool slotless)
{
    zj_calls_end(call->ctx->calls, call->req);
    if (slotless)
        zj_calls_resume(call->ctx->calls);
}

//  Checks the ids of an await: a batch of at most ZJ_MAX_BATCH job ids.
static int
s_check_ids(zjob_ctx_t *ctx, const int64_t *ids, size_t count)
{
    char why[128];
    if (count == 0 || ids == NULL)
        snprintf(why, sizeof why, "no job to await");
    else if (count > ZJ_MAX_BATCH)
        snprintf(why, sizeof why, "%zu jobs > %d in one await", count,
                 ZJ_MAX_BATCH);
    else {
        for (size_t index = 0; index < count; index++)
            if (ids[index] < 1) {
                snprintf(why, sizeof why, "job id %" PRId64 " is not >= 1",
                         ids[index]);
                return s_fail(ctx, ZJ_EUSAGE, why);
            }
        return 0;
    }
    return s_fail(ctx, ZJ_EUSAGE, why);
}

int
zjob_gather(zjob_ctx_t *ctx, const int64_t *ids, size_t count,
            zjob_outcome_t *outcomes)
{
    assert(ctx);
    int rc = s_allowed(ctx);
    if (rc == 0)
        rc = s_check_ids(ctx, ids, count);
    if (rc != 0)
        return rc;
    assert(outcomes);
    memset(outcomes, 0, count * sizeof *outcomes);
    s_call_t call = {.ctx = ctx,
                     .awaited = ids,
                     .count = count,
                     .in_order = true,
                     .outcomes = outcomes};
    bool slotless = false;
    s_start_await(&call, &slotless);
    while (rc == 0 && !call.answered)
        rc = s_block(&call);
    s_end_await(&call, slotless);
    if (rc == 0 && call.status == 0 && call.next < count)
        rc = s_fail(ctx, ZJ_EPROTO, "the await ended before every job did");
    if (rc == 0)
        rc = call.status;
    else if (ctx->why[0] == '\0')
        s_fail(ctx, rc, zj_strerror(rc));
    if (rc != 0)
        for (size_t index = 0; index < count; index++)
            zjob_outcome_clear(&outcomes[index]);
    return rc;
}

int
zjob_await(zjob_ctx_t *ctx, int64_t id, zjob_outcome_t *outcome)
{
    return zjob_gather(ctx, &id, 1, outcome);
}

static void
s_free_ready(zlistx_t **ready_p)
{
    zjob_outcome_t *outcome;
    while ((outcome = zlistx_detach(*ready_p, NULL))) {
        zjob_outcome_clear(outcome);
        free(outcome);
    }
    zlistx_destroy(ready_p);
}

//  Hands on each outcome that came; returns what fn returned, if not 0.
static int
s_hand_on(s_call_t *call, zjob_completed_fn *fn, void *arg)
{
    zjob_outcome_t *outcome;
    int rc = 0;
    while (rc == 0 && (outcome = zlistx_detach(call->ready, NULL))) {
        rc = fn(arg, outcome);
        zjob_outcome_clear(outcome);
        free(outcome);
    }
    return rc;
}

int
zjob_as_completed(zjob_ctx_t *ctx, const int64_t *ids, size_t count,
                  zjob_completed_fn *fn, void *arg)
{
    assert(ctx && fn);
    int rc = s_allowed(ctx);
    if (rc == 0)
        rc = s_check_ids(ctx, ids, count);
    if (rc != 0)
        return rc;
    s_call_t call = {.ctx = ctx, .awaited = ids, .count = count};
    call.ready = zlistx_new();
    call.seen = calloc(count, sizeof *call.seen);
    assert(call.seen);
    bool slotless = false;
    s_start_await(&call, &slotless);
    int stopped = 0;
    while (rc == 0 && stopped == 0) {
        stopped = s_hand_on(&call, fn, arg);
        if (stopped || call.answered)
            break;
        //  fn may have awaited something else meanwhile: more came.
        if (zlistx_size(call.ready) == 0)
            rc = s_block(&call);
    }
    s_end_await(&call, slotless);
    if (rc == 0 && stopped == 0) {
        stopped = s_hand_on(&call, fn, arg);
        rc = call.status;
        if (rc == 0 && stopped == 0 && call.seen_count < count)
            rc = s_fail(ctx, ZJ_EPROTO, "the await ended before every job did");
    } else if (rc != 0 && ctx->why[0] == '\0')
        s_fail(ctx, rc, zj_strerror(rc));
    s_free_ready(&call.ready);
    free(call.seen);
    return rc ? rc : stopped;
}
