//  cpu_pool.c - a prefork pool of processes for CPU jobs (see cpu_pool.h).
//  This is the parent's side, on the worker's loop: one uv_poll_t per
//  process socketpair, a uv_timer_t per running job's timeout, a
//  uv_signal_t for SIGCHLD, and the queue of jobs waiting for a process.
//  The processes run cpu_child.c; the frames between them are cpu_wire.h.
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "proto/limits.h"
#include "worker/cpu_child.h"
#include "worker/cpu_pool.h"
#include "worker/cpu_wire.h"

#define ZJ_CPU_POOL_TAG 0x7a6a6370u //  "zjcp"
#define ZJ_CPU_PROC_TAG 0x7a6a7072u //  "zjpr"
#define ZJ_CPU_MAX_PROCS 1024       //  Sanity bound on procs
#define ZJ_CPU_RESPAWN_MS 100       //  Retry period when fork fails
#define ZJ_CPU_KEEP_BUFFER 65536    //  Reply buffer kept between jobs

//  One job, queued or running.
typedef struct {
    int64_t job_id;     //  The job
    int32_t attempt;    //  Its attempt
    int64_t timeout_ms; //  Kill after this long running; 0 = never
    double started_at;  //  When it was handed to a process
    char *frame;        //  The encoded request; NULL once sent
    size_t frame_size;  //  Bytes in frame
} zj_cpu_job_t;

//  One forked process and the parent's end of its socketpair.
typedef struct {
    uint32_t tag;             //  ZJ_CPU_PROC_TAG
    zj_cpu_pool_t *pool;      //  Owner
    int slot;                 //  Index in pool->procs
    pid_t pid;                //  The process
    int fd;                   //  Parent end, non-blocking; -1 once closed
    uv_poll_t poll;           //  Watches fd; closed when the process is lost
    uv_timer_t timer;         //  The running job's timeout
    int open_handles;         //  Handles not yet closed; freed at zero
    bool writing;             //  UV_WRITABLE is being watched
    bool dead;                //  Lost: killed or EOF, waiting to be reaped
    zj_cpu_job_t *job;        //  Running job, or NULL when idle
    size_t sent;              //  Bytes of job->frame written
    char *reply;              //  Bytes of the reply read so far
    size_t reply_size;        //  Bytes in reply
    size_t reply_capacity;    //  Bytes allocated for reply
    char reason[ZJ_WHY_SIZE]; //  Why we killed it, or "" if it died
} zj_cpu_proc_t;

struct zj_cpu_pool {
    uint32_t tag;                  //  ZJ_CPU_POOL_TAG
    uv_loop_t *loop;               //  The worker's loop
    const zj_registry_t *registry; //  Handlers, inherited by the processes
    zj_cpu_done_fn *done;          //  Called for every finished job
    void *arg;                     //  done's first argument
    zj_cpu_progress_fn *progress;  //  Called for each progress report
    zj_cpu_log_fn *log;            //  Called for each log frame
    void *progress_arg;            //  Their first argument
    pid_t parent;                  //  Our pid, for the children's check
    int size;                      //  Slots in procs
    zj_cpu_proc_t **procs;         //  One per slot; NULL if fork failed
    zlistx_t *queue;               //  zj_cpu_job_t *, owned, FIFO
    zlistx_t *cancelled;           //  Queued jobs cancelled, owned, to report
    uv_signal_t sigchld;           //  Wakes us to reap lost processes
    uv_timer_t wake;               //  Runs s_on_wake on the next turn
    int open_handles;              //  Handles not yet closed; freed at zero
    bool destroyed;                //  Set by destroy; memory awaits closes
};

static zj_cpu_proc_t *s_proc_new(zj_cpu_pool_t *pool, int slot);
static void s_proc_abandon(zj_cpu_proc_t *proc, const char *reason);
static void s_proc_close(zj_cpu_proc_t *proc);
static void s_dispatch(zj_cpu_pool_t *self);
static void s_on_poll(uv_poll_t *handle, int status, int events);
static void s_on_sigchld(uv_signal_t *handle, int signum);
static void s_on_wake(uv_timer_t *handle);
static void s_wake(zj_cpu_pool_t *self, uint64_t delay_ms);
static void s_on_pool_closed(uv_handle_t *handle);
static void s_job_destroy(void **item_p);

static bool
s_invariants_hold(const zj_cpu_pool_t *self)
{
    int idle = 0;
    for (int slot = 0; slot < self->size; slot++) {
        const zj_cpu_proc_t *proc = self->procs[slot];
        if (proc == NULL)
            continue;
        if (proc->tag != ZJ_CPU_PROC_TAG || proc->pool != self ||
            proc->slot != slot || proc->dead != (proc->fd < 0))
            return false;
        if (!proc->dead && proc->job == NULL)
            idle++;
    }
    return idle == 0 || zlistx_size(self->queue) == 0;
}

zj_cpu_pool_t *
zj_cpu_pool_new(uv_loop_t *loop, int procs, const zj_registry_t *registry,
                zj_cpu_done_fn *done, void *arg)
{
    assert(loop && registry && done);
    if (procs == 0)
        procs = (int) sysconf(_SC_NPROCESSORS_ONLN);
    if (procs < 1 || procs > ZJ_CPU_MAX_PROCS) {
        zj_log_error("cpu pool: bad process count procs=%d", procs);
        return NULL;
    }
    zj_cpu_pool_t *self = calloc(1, sizeof *self);
    assert(self);
    //  First, as the one step that can fail with nothing to undo yet.
    int rc = uv_signal_init(loop, &self->sigchld);
    if (rc != 0) {
        zj_log_error("cpu pool: cannot watch SIGCHLD error=\"%s\"",
                     uv_strerror(rc));
        free(self);
        return NULL;
    }
    self->tag = ZJ_CPU_POOL_TAG;
    self->loop = loop;
    self->registry = registry;
    self->done = done;
    self->arg = arg;
    self->parent = getpid();
    self->size = procs;
    self->procs = calloc((size_t) procs, sizeof *self->procs);
    assert(self->procs);
    self->queue = zlistx_new();
    zlistx_set_destructor(self->queue, s_job_destroy);
    self->cancelled = zlistx_new();
    zlistx_set_destructor(self->cancelled, s_job_destroy);
    //  A timer's init on a live loop cannot fail by libuv's contract.
    rc = uv_timer_init(loop, &self->wake);
    assert(rc == 0);
    self->sigchld.data = self->wake.data = self;
    self->open_handles = 2;
    rc = uv_signal_start(&self->sigchld, s_on_sigchld, SIGCHLD);
    if (rc != 0) {
        zj_log_error("cpu pool: cannot watch SIGCHLD error=\"%s\"",
                     uv_strerror(rc));
        goto failed;
    }
    for (int slot = 0; slot < procs; slot++) {
        self->procs[slot] = s_proc_new(self, slot);
        if (self->procs[slot] == NULL)
            goto failed;
    }
    assert(s_invariants_hold(self));
    return self;
failed:
    zj_cpu_pool_destroy(&self);
    return NULL;
}

void
zj_cpu_pool_destroy(zj_cpu_pool_t **self_p)
{
    assert(self_p);
    zj_cpu_pool_t *self = *self_p;
    if (self == NULL)
        return;
    assert(self->tag == ZJ_CPU_POOL_TAG && !self->destroyed);
    for (int slot = 0; slot < self->size; slot++) {
        zj_cpu_proc_t *proc = self->procs[slot];
        if (proc == NULL)
            continue;
        s_proc_abandon(proc, "pool destroyed");
        int status;
        while (waitpid(proc->pid, &status, 0) < 0 && errno == EINTR)
            ;
        s_job_destroy((void **) &proc->job);
        s_proc_close(proc);
        self->procs[slot] = NULL;
    }
    zlistx_destroy(&self->queue);
    zlistx_destroy(&self->cancelled);
    self->destroyed = true;
    uv_close((uv_handle_t *) &self->sigchld, s_on_pool_closed);
    uv_close((uv_handle_t *) &self->wake, s_on_pool_closed);
    *self_p = NULL;
}

int
zj_cpu_pool_size(const zj_cpu_pool_t *self)
{
    assert(self && self->tag == ZJ_CPU_POOL_TAG);
    return self->size;
}

int
zj_cpu_pool_idle(const zj_cpu_pool_t *self)
{
    assert(self && self->tag == ZJ_CPU_POOL_TAG);
    int idle = 0;
    for (int slot = 0; slot < self->size; slot++) {
        const zj_cpu_proc_t *proc = self->procs[slot];
        if (proc && !proc->dead && proc->job == NULL)
            idle++;
    }
    return idle;
}

int
zj_cpu_pool_submit(zj_cpu_pool_t *self, int64_t job_id, int32_t attempt,
                   const char *kind, const char *args, int64_t timeout_ms)
{
    assert(self && self->tag == ZJ_CPU_POOL_TAG);
    if (kind == NULL || *kind == '\0' || strlen(kind) > ZJ_MAX_KIND)
        return ZJ_EKIND;
    if (args == NULL)
        args = "null";
    if (strlen(args) > ZJ_MAX_ARGS)
        return ZJ_ETOOBIG;

    zj_cpu_job_t *job = calloc(1, sizeof *job);
    assert(job);
    job->job_id = job_id;
    job->attempt = attempt;
    job->timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
    job->frame = zj_cpu_wire_encode_request(job_id, attempt, kind, args,
                                            &job->frame_size);

    zlistx_add_end(self->queue, job);
    s_dispatch(self);
    assert(s_invariants_hold(self));
    return 0;
}

int
zj_cpu_pool_cancel(zj_cpu_pool_t *self, int64_t job_id)
{
    assert(self && self->tag == ZJ_CPU_POOL_TAG);
    for (int slot = 0; slot < self->size; slot++) {
        zj_cpu_proc_t *proc = self->procs[slot];
        if (proc && proc->job && proc->job->job_id == job_id) {
            //  A job already being killed keeps its first reason.
            if (!proc->dead || proc->reason[0] == '\0')
                s_proc_abandon(proc, "cancelled");
            assert(s_invariants_hold(self));
            return 0;
        }
    }
    zj_cpu_job_t *job = zlistx_first(self->queue);
    for (; job; job = zlistx_next(self->queue)) {
        if (job->job_id == job_id) {
            //  Reported on the next turn: done never runs inside cancel.
            zlistx_detach_cur(self->queue);
            zlistx_add_end(self->cancelled, job);
            s_wake(self, 0);
            return 0;
        }
    }
    return ZJ_ENOTFOUND;
}

//  --- The parent's side of one process --------------------------------

static void
s_job_destroy(void **item_p)
{
    zj_cpu_job_t *job = *item_p;
    if (job) {
        free(job->frame);
        free(job);
    }
    *item_p = NULL;
}

static void
s_on_pool_closed(uv_handle_t *handle)
{
    zj_cpu_pool_t *self = handle->data;
    assert(self && self->tag == ZJ_CPU_POOL_TAG);
    if (--self->open_handles == 0 && self->destroyed) {
        free(self->procs);
        self->tag = 0;
        free(self);
    }
}

static void
s_on_proc_closed(uv_handle_t *handle)
{
    zj_cpu_proc_t *proc = handle->data;
    assert(proc && proc->tag == ZJ_CPU_PROC_TAG);
    if (--proc->open_handles == 0) {
        free(proc->reply);
        proc->tag = 0;
        free(proc);
    }
}

//  Delivers one outcome, then frees the job. The caller returns at once
//  if done destroyed the pool.
static void
s_report(zj_cpu_pool_t *self, zj_cpu_job_t *job,
         const zj_cpu_outcome_t *outcome)
{
    self->done(self->arg, outcome);
    s_job_destroy((void **) &job);
}

static void
s_report_error(zj_cpu_pool_t *self, zj_cpu_job_t *job, pid_t pid,
               const char *error)
{
    zj_cpu_outcome_t outcome = {.job_id = job->job_id,
                                .attempt = job->attempt,
                                .ok = false,
                                .error = error,
                                .started_at = job->started_at,
                                .finished_at = zj_now(),
                                .pid = pid};
    s_report(self, job, &outcome);
}

static void
s_proc_watch(zj_cpu_proc_t *proc, bool writable)
{
    proc->writing = writable;
    int events = UV_READABLE | (writable ? UV_WRITABLE : 0);
    int rc = uv_poll_start(&proc->poll, events, s_on_poll);
    assert(rc == 0);
    (void) rc;
}

//  Writes what the socket takes of the running job's frame. A peer that
//  is gone is noticed as EOF by the read side, so write errors stop here.
static void
s_proc_write(zj_cpu_proc_t *proc)
{
    zj_cpu_job_t *job = proc->job;
    while (job && job->frame && proc->sent < job->frame_size) {
        ssize_t rc = send(proc->fd, job->frame + proc->sent,
                          job->frame_size - proc->sent, MSG_NOSIGNAL);
        if (rc > 0)
            proc->sent += (size_t) rc;
        else if (rc < 0 && errno == EINTR)
            continue;
        else if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!proc->writing)
                s_proc_watch(proc, true);
            return;
        } else
            break;
    }
    if (job) {
        free(job->frame);
        job->frame = NULL;
    }
    if (proc->writing)
        s_proc_watch(proc, false);
}

static void
s_on_timeout(uv_timer_t *handle)
{
    zj_cpu_proc_t *proc = handle->data;
    assert(proc && proc->tag == ZJ_CPU_PROC_TAG && proc->job);
    char reason[ZJ_WHY_SIZE];
    snprintf(reason, sizeof reason, "timeout after %lld ms",
             (long long) proc->job->timeout_ms);
    s_proc_abandon(proc, reason);
}

static void
s_proc_start(zj_cpu_proc_t *proc, zj_cpu_job_t *job)
{
    assert(proc->job == NULL && !proc->dead);
    proc->job = job;
    proc->sent = 0;
    proc->reply_size = 0;
    job->started_at = zj_now();
    if (job->timeout_ms > 0) {
        //  A live timer and a callback: libuv cannot refuse.
        int rc = uv_timer_start(&proc->timer, s_on_timeout,
                                (uint64_t) job->timeout_ms, 0);
        assert(rc == 0);
        (void) rc;
    }
    s_proc_write(proc);
}

//  Hands queued jobs to idle processes, oldest first.
static void
s_dispatch(zj_cpu_pool_t *self)
{
    for (int slot = 0; slot < self->size; slot++) {
        if (zlistx_size(self->queue) == 0)
            return;
        zj_cpu_proc_t *proc = self->procs[slot];
        if (proc && !proc->dead && proc->job == NULL)
            s_proc_start(proc, zlistx_detach(self->queue, NULL));
    }
}

void
zj_cpu_pool_set_progress(zj_cpu_pool_t *self, zj_cpu_progress_fn *fn,
                         zj_cpu_log_fn *log, void *arg)
{
    assert(self);
    self->progress = fn;
    self->log = log;
    self->progress_arg = arg;
}

//  A complete progress report or log: handed on; the job goes on.
static void
s_proc_report(zj_cpu_proc_t *proc, const zj_cpu_reply_t *reply)
{
    zj_cpu_pool_t *self = proc->pool;
    proc->reply[proc->reply_size] = '\0';
    proc->reply_size = 0;
    const char *text = proc->reply + sizeof *reply;
    if (reply->what == ZJ_CPU_FRAME_PROGRESS && self->progress)
        self->progress(self->progress_arg, proc->job->job_id, reply->done,
                       reply->total, text);
    if (reply->what == ZJ_CPU_FRAME_LOG && self->log)
        self->log(self->progress_arg, proc->job->job_id, text,
                  reply->text_size);
}

//  A complete, valid reply: the job is done and the process idle again.
static void
s_proc_complete(zj_cpu_proc_t *proc, const zj_cpu_reply_t *reply)
{
    zj_cpu_pool_t *self = proc->pool;
    zj_cpu_job_t *job = proc->job;
    uv_timer_stop(&proc->timer);
    proc->job = NULL;
    proc->reply[proc->reply_size] = '\0';
    proc->reply_size = 0;
    const char *text = proc->reply + sizeof *reply;
    zj_cpu_outcome_t outcome = {.job_id = job->job_id,
                                .attempt = job->attempt,
                                .ok = reply->ok != 0,
                                .no_retry = reply->no_retry != 0,
                                .result = reply->ok ? text : NULL,
                                .error = reply->ok ? NULL : text,
                                .started_at = reply->started_at,
                                .finished_at = reply->finished_at,
                                .pid = proc->pid};
    //  Queued jobs go first, before any job done submits.
    s_dispatch(self);
    assert(s_invariants_hold(self));
    s_report(self, job, &outcome);
    //  A big reply's buffer is not kept for the next job. The proc's
    //  memory outlives done even if done destroyed the pool.
    if (proc->reply_capacity > ZJ_CPU_KEEP_BUFFER) {
        free(proc->reply);
        proc->reply = NULL;
        proc->reply_capacity = 0;
    }
}

//  Reads the reply. Returns when the socket is drained, the reply is
//  complete, or the process is lost.
static void
s_proc_read(zj_cpu_proc_t *proc)
{
    zj_cpu_reply_t reply = {0};
    while (true) {
        size_t need = sizeof reply;
        if (proc->reply_size >= sizeof reply) {
            memcpy(&reply, proc->reply, sizeof reply);
            need += reply.text_size;
        }
        if (proc->reply_capacity < need + 1) {
            proc->reply = realloc(proc->reply, need + 1);
            assert(proc->reply);
            proc->reply_capacity = need + 1;
        }
        ssize_t rc = recv(proc->fd, proc->reply + proc->reply_size,
                          need - proc->reply_size, 0);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (rc <= 0) {
            s_proc_abandon(proc, NULL);
            return;
        }
        proc->reply_size += (size_t) rc;
        if (proc->reply_size == sizeof reply) {
            memcpy(&reply, proc->reply, sizeof reply);
            if (proc->job == NULL ||
                !zj_cpu_wire_reply_is_valid(&reply, proc->job->job_id)) {
                s_proc_abandon(proc, "process sent a malformed reply");
                return;
            }
        }
        if (proc->reply_size == sizeof reply + reply.text_size &&
            proc->reply_size >= sizeof reply) {
            if (reply.what != ZJ_CPU_FRAME_REPLY) {
                s_proc_report(proc, &reply);
                continue; //  The reply, or more reports, follow
            }
            s_proc_complete(proc, &reply);
            return;
        }
    }
}

static void
s_on_poll(uv_poll_t *handle, int status, int events)
{
    zj_cpu_proc_t *proc = handle->data;
    assert(proc && proc->tag == ZJ_CPU_PROC_TAG && !proc->dead);
    if (status < 0) {
        s_proc_abandon(proc, NULL);
        return;
    }
    if (events & UV_WRITABLE)
        s_proc_write(proc);
    if (events & UV_READABLE)
        s_proc_read(proc);
}

//  Kills the process and stops watching it; s_reap finishes the job
//  once the process is reaped. reason, if not NULL, is the job's error;
//  otherwise the error is how the process ended. Never calls done.
static void
s_proc_abandon(zj_cpu_proc_t *proc, const char *reason)
{
    if (reason)
        snprintf(proc->reason, sizeof proc->reason, "%s", reason);
    kill(proc->pid, SIGKILL);
    uv_timer_stop(&proc->timer);
    if (!proc->dead) {
        proc->dead = true;
        uv_close((uv_handle_t *) &proc->poll, s_on_proc_closed);
        close(proc->fd);
        proc->fd = -1;
    }
    //  The process may be a zombie already, and its SIGCHLD handled.
    s_wake(proc->pool, 0);
}

static void
s_proc_close(zj_cpu_proc_t *proc)
{
    assert(proc->dead);
    proc->pool = NULL;
    uv_close((uv_handle_t *) &proc->timer, s_on_proc_closed);
}

//  The process in slot is reaped: replaces it and fails its job.
static void
s_proc_finish(zj_cpu_pool_t *self, int slot, int status)
{
    zj_cpu_proc_t *proc = self->procs[slot];
    zj_cpu_job_t *job = proc->job;
    pid_t pid = proc->pid;
    char error[ZJ_WHY_SIZE];
    if (proc->reason[0])
        snprintf(error, sizeof error, "%s", proc->reason);
    else
        zj_cpu_child_describe_status(status, error);
    long long job_id = job ? (long long) job->job_id : -1LL;
    if (proc->reason[0])
        zj_log_info("cpu process killed pid=%d job=%lld error=\"%s\"",
                    (int) pid, job_id, error);
    else
        zj_log_warning("cpu process lost pid=%d job=%lld error=\"%s\"",
                       (int) pid, job_id, error);
    proc->job = NULL;
    s_proc_close(proc);
    self->procs[slot] = s_proc_new(self, slot);
    if (self->procs[slot] == NULL)
        s_wake(self, ZJ_CPU_RESPAWN_MS);
    s_dispatch(self);
    assert(s_invariants_hold(self));
    if (job)
        s_report_error(self, job, pid, error);
}

//  Finishes every lost process that has exited. Returns early if a done
//  callback destroyed the pool.
static void
s_reap(zj_cpu_pool_t *self)
{
    for (int slot = 0; slot < self->size && !self->destroyed; slot++) {
        zj_cpu_proc_t *proc = self->procs[slot];
        if (proc == NULL || !proc->dead)
            continue;
        int status = -1;
        pid_t rc = waitpid(proc->pid, &status, WNOHANG);
        if (rc == proc->pid || (rc < 0 && errno == ECHILD))
            s_proc_finish(self, slot, status);
    }
}

static void
s_on_sigchld(uv_signal_t *handle, int signum)
{
    (void) signum;
    zj_cpu_pool_t *self = handle->data;
    assert(self && self->tag == ZJ_CPU_POOL_TAG);
    s_reap(self);
}

//  Runs s_on_wake after delay_ms, at the earliest on the next loop turn.
static void
s_wake(zj_cpu_pool_t *self, uint64_t delay_ms)
{
    //  A live timer and a callback: libuv cannot refuse.
    int rc = uv_timer_start(&self->wake, s_on_wake, delay_ms, 0);
    assert(rc == 0);
    (void) rc;
}

//  Reaps, reports cancelled queued jobs, and refills empty slots.
static void
s_on_wake(uv_timer_t *handle)
{
    zj_cpu_pool_t *self = handle->data;
    assert(self && self->tag == ZJ_CPU_POOL_TAG);
    s_reap(self);
    while (!self->destroyed && zlistx_size(self->cancelled) > 0) {
        zj_cpu_job_t *job = zlistx_detach(self->cancelled, NULL);
        s_report_error(self, job, 0, "cancelled");
    }
    for (int slot = 0; slot < self->size && !self->destroyed; slot++) {
        if (self->procs[slot])
            continue;
        self->procs[slot] = s_proc_new(self, slot);
        if (self->procs[slot] == NULL)
            s_wake(self, ZJ_CPU_RESPAWN_MS);
    }
    if (self->destroyed)
        return;
    s_dispatch(self);
    assert(s_invariants_hold(self));
}

//  Forks the process of slot. Returns NULL, logging why, on failure.
static zj_cpu_proc_t *
s_proc_new(zj_cpu_pool_t *pool, int slot)
{
    pid_t pid;
    int fd;
    if (zj_cpu_child_spawn(pool->parent, pool->registry, &pid, &fd) != 0)
        return NULL;
    zj_cpu_proc_t *proc = calloc(1, sizeof *proc);
    assert(proc);
    proc->tag = ZJ_CPU_PROC_TAG;
    proc->pool = pool;
    proc->slot = slot;
    proc->pid = pid;
    proc->fd = fd;
    //  libuv can refuse the fd (one it still watches for a handler that
    //  closed it under its own wait, say): then the slot stays empty, as
    //  after a failed fork, and the wake timer tries again.
    int rc = uv_poll_init(pool->loop, &proc->poll, proc->fd);
    if (rc != 0) {
        zj_log_error("cpu pool: cannot watch process pid=%d error=\"%s\"",
                     (int) pid, uv_strerror(rc));
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(fd);
        free(proc);
        return NULL;
    }
    //  A timer's init on a live loop cannot fail by libuv's contract.
    rc = uv_timer_init(pool->loop, &proc->timer);
    assert(rc == 0);
    proc->poll.data = proc->timer.data = proc;
    proc->open_handles = 2;
    s_proc_watch(proc, false);
    return proc;
}
