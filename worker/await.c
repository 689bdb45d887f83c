//  await.c - the awaitables of include/zjob/handler.h on the job's libuv
//  loop: sleep (uv_timer), wait for an fd (uv_poll and a uv_timer) and run
//  a child process (uv_spawn with three pipes); also the job context's
//  accessors and zj_job_ctx_cancel (worker/job_ctx.h).
//
//  A wait keeps its handles in a struct on the coroutine's own stack: no
//  thread, and no allocation of ours but a child's output. A wait is over
//  when every handle it opened is closed: the last close callback resumes
//  the coroutine, so libuv never holds a pointer into a stack that moved
//  on. Cancelling a wait closes its handles (and kills its child) and the
//  coroutine resumes from the loop once they are closed, not inside
//  zj_job_ctx_cancel.
#include <assert.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "common/err.h"
#include "worker/coro.h"
#include "worker/job_ctx.h"
#include "worker/wait.h"

#define ZJ_SPAWN_MAX_OUTPUT (16 * 1024 * 1024) //  max_output 0 means this
#define ZJ_SPAWN_FIRST_CHUNK 4096 //  First output buffer, then doubled
#define ZJ_SPAWN_DISCARD 65536    //  Read size for output past the cut

int64_t
zjob_ctx_job_id(const zjob_ctx_t *ctx)
{
    assert(ctx);
    return ctx->job_id;
}

const char *
zjob_ctx_kind(const zjob_ctx_t *ctx)
{
    assert(ctx);
    return ctx->kind;
}

int32_t
zjob_ctx_attempt(const zjob_ctx_t *ctx)
{
    assert(ctx);
    return ctx->attempt;
}

int
zjob_progress(zjob_ctx_t *ctx, int64_t done, int64_t total, const char *text)
{
    assert(ctx);
    if (done < 0 || total < 0 || (total > 0 && done > total))
        return ZJ_EUSAGE;
    if (ctx->on_progress)
        ctx->on_progress(ctx, done, total, text);
    return 0;
}

void
zjob_log(zjob_ctx_t *ctx, const char *format, ...)
{
    assert(ctx && format);
    va_list args, again;
    va_start(args, format);
    va_copy(again, args);
    int size = vsnprintf(NULL, 0, format, args);
    va_end(args);
    char *line = size >= 0 ? malloc((size_t) size + 1) : NULL;
    if (line)
        vsnprintf(line, (size_t) size + 1, format, again);
    va_end(again);
    if (line == NULL)
        return;
    bool ended = size > 0 && line[size - 1] == '\n';
    if (ctx->on_log) {
        ctx->on_log(ctx, line, (size_t) size);
        if (!ended)
            ctx->on_log(ctx, "\n", 1);
    } else {
        //  In a pool process stdout is the job's log.
        fputs(line, stdout);
        if (!ended)
            fputc('\n', stdout);
    }
    free(line);
}

void
zj_job_ctx_cancel(zjob_ctx_t *ctx)
{
    assert(ctx);
    ctx->cancelled = true;
    //  The abandon function clears ctx->abandon itself.
    if (ctx->abandon)
        ctx->abandon(ctx);
}

//  --- What the three waits share

//  --- zjob_sleep

typedef struct {
    zj_wait_t wait;   //  First: what the handles point to
    uv_timer_t timer; //  The sleep
} s_sleep_t;

static void
s_sleep_fired(uv_timer_t *timer)
{
    s_sleep_t *sleep = timer->data;
    zj_wait_settle(&sleep->wait, 0);
    zj_wait_close((uv_handle_t *) timer);
}

static void
s_sleep_abandon(zjob_ctx_t *ctx)
{
    s_sleep_t *sleep = ctx->abandon_arg;
    zj_wait_settle(&sleep->wait, ZJ_ECANCELLED);
    uv_timer_stop(&sleep->timer);
    zj_wait_close((uv_handle_t *) &sleep->timer);
}

int
zjob_sleep(zjob_ctx_t *ctx, int64_t ms)
{
    int rc = zj_wait_allowed(ctx);
    if (rc != 0)
        return rc;
    s_sleep_t sleep = {.wait = {.ctx = ctx}};
    //  A timer's init on a live loop, and its start with a callback,
    //  cannot fail by libuv's contract.
    rc = uv_timer_init(ctx->loop, &sleep.timer);
    assert(rc == 0);
    zj_wait_opened(&sleep.wait, (uv_handle_t *) &sleep.timer);
    rc = uv_timer_start(&sleep.timer, s_sleep_fired, ms > 0 ? (uint64_t) ms : 0,
                        0);
    assert(rc == 0);
    return zj_wait_suspend(&sleep.wait, s_sleep_abandon);
}

//  --- zjob_wait_fd

typedef struct {
    zj_wait_t wait;   //  First: what the handles point to
    uv_poll_t poll;   //  Readiness of the fd
    uv_timer_t timer; //  The timeout, if any
    bool timed;       //  timer was opened
} s_fd_wait_t;

static void
s_fd_wait_end(s_fd_wait_t *fd_wait, int status)
{
    zj_wait_settle(&fd_wait->wait, status);
    zj_wait_close((uv_handle_t *) &fd_wait->poll);
    if (fd_wait->timed)
        zj_wait_close((uv_handle_t *) &fd_wait->timer);
}

//  An error condition on the fd (status < 0) ends the wait as ready too:
//  the caller's next read or write on it reports the actual error, as
//  after poll(2) with POLLERR.
static void
s_fd_ready(uv_poll_t *poll, int status, int events)
{
    (void) status, (void) events;
    s_fd_wait_end(poll->data, 0);
}

static void
s_fd_timed_out(uv_timer_t *timer)
{
    s_fd_wait_end(timer->data, ZJ_ETIMEOUT);
}

static void
s_fd_abandon(zjob_ctx_t *ctx)
{
    s_fd_wait_end(ctx->abandon_arg, ZJ_ECANCELLED);
}

//  Note: libuv sets fd to non-blocking mode, and refuses (ZJ_ESYS) an fd
//  that another wait on this loop is watching, or a regular file.
int
zjob_wait_fd(zjob_ctx_t *ctx, int fd, int events, int64_t timeout_ms)
{
    int rc = zj_wait_allowed(ctx);
    if (rc != 0)
        return rc;
    int all = ZJOB_READABLE | ZJOB_WRITABLE;
    if (fd < 0 || events == 0 || (events & ~all) != 0)
        return ZJ_EUSAGE;
    s_fd_wait_t fd_wait = {.wait = {.ctx = ctx}};
    if (uv_poll_init(ctx->loop, &fd_wait.poll, fd) != 0)
        return ZJ_ESYS;
    zj_wait_opened(&fd_wait.wait, (uv_handle_t *) &fd_wait.poll);
    int uv_events = (events & ZJOB_READABLE ? UV_READABLE : 0) |
                    (events & ZJOB_WRITABLE ? UV_WRITABLE : 0);
    if (uv_poll_start(&fd_wait.poll, uv_events, s_fd_ready) != 0)
        s_fd_wait_end(&fd_wait, ZJ_ESYS);
    else if (timeout_ms >= 0) {
        //  Cannot fail: see zjob_sleep.
        rc = uv_timer_init(ctx->loop, &fd_wait.timer);
        assert(rc == 0);
        zj_wait_opened(&fd_wait.wait, (uv_handle_t *) &fd_wait.timer);
        fd_wait.timed = true;
        rc = uv_timer_start(&fd_wait.timer, s_fd_timed_out,
                            (uint64_t) timeout_ms, 0);
        assert(rc == 0);
    }
    return zj_wait_suspend(&fd_wait.wait, s_fd_abandon);
}

//  --- zjob_spawn

//  One output stream of the child, as read so far.
typedef struct {
    char *data;      //  malloc'd, capacity + 1 bytes; NULL until needed
    size_t size;     //  Bytes kept
    size_t capacity; //  Bytes data can keep, not counting a final NUL
    size_t max;      //  Bytes kept at most; the rest is read and dropped
} s_output_t;

typedef struct {
    zj_wait_t wait;        //  First: what the handles point to
    uv_process_t process;  //  The child
    uv_pipe_t pipes[3];    //  Our ends of its stdin, stdout and stderr
    uv_write_t write;      //  stdin_data going in
    s_output_t outputs[2]; //  What it wrote to stdout and stderr
    int64_t exit_status;   //  From exit_cb (or 126/127: could not run)
    int term_signal;       //  From exit_cb
    bool out_of_memory;    //  An output buffer could not grow
} s_spawn_t;

//  Where output past max_output goes: read, so the child never blocks on
//  a full pipe, and dropped. One loop per thread, one read at a time.
static _Thread_local char s_discard[ZJ_SPAWN_DISCARD];

//  A child that exits without reading its stdin fails our write; with
//  SIGPIPE at its default that would kill the worker. libuv resets every
//  signal in the child before exec, so the child still gets the default.
static void
s_ignore_sigpipe(void)
{
    struct sigaction action;
    if (sigaction(SIGPIPE, NULL, &action) == 0 && action.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

static s_output_t *
s_spawn_output(s_spawn_t *spawn, const void *pipe)
{
    ptrdiff_t index = (const uv_pipe_t *) pipe - spawn->pipes;
    assert(index == 1 || index == 2);
    return &spawn->outputs[index - 1];
}

static void
s_output_grow(s_spawn_t *spawn, s_output_t *output)
{
    size_t capacity =
        output->capacity ? output->capacity * 2 : ZJ_SPAWN_FIRST_CHUNK;
    if (capacity > output->max)
        capacity = output->max;
    char *data = realloc(output->data, capacity + 1);
    if (data == NULL) {
        spawn->out_of_memory = true;
        output->max = output->size; //  Drop the rest
        return;
    }
    output->data = data;
    output->capacity = capacity;
}

static void
s_spawn_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    (void) suggested;
    s_spawn_t *spawn = handle->data;
    s_output_t *output = s_spawn_output(spawn, handle);
    if (output->size == output->capacity && output->size < output->max)
        s_output_grow(spawn, output);
    size_t room = output->capacity - output->size;
    if (room > 0)
        *buf = uv_buf_init(output->data + output->size,
                           room > ZJ_SPAWN_MAX_OUTPUT ? ZJ_SPAWN_MAX_OUTPUT
                                                      : (unsigned) room);
    else
        *buf = uv_buf_init(s_discard, sizeof s_discard);
}

static void
s_spawn_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    s_spawn_t *spawn = stream->data;
    if (nread > 0 && buf->base != s_discard)
        s_spawn_output(spawn, stream)->size += (size_t) nread;
    else if (nread < 0) //  UV_EOF, or an error: this stream is done
        zj_wait_close((uv_handle_t *) stream);
}

static void
s_spawn_fed(uv_write_t *write, int status)
{
    (void) status; //  EPIPE from a child that did not read: not our error
    zj_wait_close((uv_handle_t *) write->handle);
}

static void
s_spawn_exited(uv_process_t *process, int64_t exit_status, int term_signal)
{
    s_spawn_t *spawn = process->data;
    spawn->exit_status = exit_status;
    spawn->term_signal = term_signal;
    zj_wait_close((uv_handle_t *) process);
}

//  Kills the child's process group: the child leads one (it is spawned
//  detached), so grandchildren that hold its pipes die with it.
static void
s_spawn_kill(s_spawn_t *spawn)
{
    if (spawn->process.pid > 0)
        kill(-spawn->process.pid, SIGKILL);
}

static void
s_spawn_abandon(zjob_ctx_t *ctx)
{
    s_spawn_t *spawn = ctx->abandon_arg;
    zj_wait_settle(&spawn->wait, ZJ_ECANCELLED);
    s_spawn_kill(spawn);
    for (int index = 0; index < 3; index++)
        zj_wait_close((uv_handle_t *) &spawn->pipes[index]);
    //  The process handle closes in s_spawn_exited, after libuv reaped
    //  the child: closing it before would leave a zombie.
}

//  uv_spawn failed. An argv[0] that cannot be run ends as in a shell:
//  exit 127 when not found, 126 when not executable, the reason on
//  stderr. Any other failure is ZJ_ESYS.
static void
s_spawn_failed(s_spawn_t *spawn, const char *file, int error)
{
    if (uv_is_active((uv_handle_t *) &spawn->process)) {
        //  The child runs, but its pipes could not be opened.
        s_spawn_kill(spawn);
        zj_wait_settle(&spawn->wait, ZJ_ESYS);
    } else
        zj_wait_close((uv_handle_t *) &spawn->process);
    for (int index = 0; index < 3; index++)
        zj_wait_close((uv_handle_t *) &spawn->pipes[index]);
    if (error == UV_ENOENT)
        spawn->exit_status = 127;
    else if (error == UV_EACCES || error == UV_EPERM || error == -ENOEXEC)
        spawn->exit_status = 126;
    else {
        zj_wait_settle(&spawn->wait, ZJ_ESYS);
        return;
    }
    s_output_t *output = &spawn->outputs[1];
    char reason[256];
    int length =
        snprintf(reason, sizeof reason, "%s: %s\n", file, strerror(-error));
    size_t size = length < 0 ? 0 : (size_t) length;
    size = size >= sizeof reason ? sizeof reason - 1 : size;
    output->max = size < output->max ? size : output->max;
    s_output_grow(spawn, output);
    if (output->data) {
        memcpy(output->data, reason, output->capacity);
        output->size = output->capacity;
    }
}

static void
s_spawn_feed(s_spawn_t *spawn, const char *data, size_t size)
{
    uv_stream_t *in = (uv_stream_t *) &spawn->pipes[0];
    uv_buf_t buf = {.base = (char *) data, .len = size};
    if (size == 0 || uv_write(&spawn->write, in, &buf, 1, s_spawn_fed) != 0)
        zj_wait_close((uv_handle_t *) in);
}

//  Starts the child with its three pipes, feeds its stdin and reads its
//  outputs. On failure, the handles are closing and the outcome is set.
static void
s_spawn_start(s_spawn_t *spawn, char *const argv[], const char *stdin_data,
              size_t stdin_size)
{
    uv_loop_t *loop = spawn->wait.ctx->loop;
    uv_stdio_container_t stdio[3];
    for (int index = 0; index < 3; index++) {
        //  On Unix a pipe's init only fills the struct: it cannot fail.
        int rc = uv_pipe_init(loop, &spawn->pipes[index], 0);
        assert(rc == 0);
        (void) rc;
        zj_wait_opened(&spawn->wait, (uv_handle_t *) &spawn->pipes[index]);
        //  Readable and writable from the child's point of view.
        stdio[index].flags =
            UV_CREATE_PIPE | (index == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE);
        stdio[index].data.stream = (uv_stream_t *) &spawn->pipes[index];
    }
    uv_process_options_t options = {.exit_cb = s_spawn_exited,
                                    .file = argv[0],
                                    .args = (char **) argv,
                                    .stdio_count = 3,
                                    .stdio = stdio,
                                    .flags = UV_PROCESS_DETACHED};
    int error = uv_spawn(loop, &spawn->process, &options);
    //  uv_spawn initialises the handle even when it fails.
    zj_wait_opened(&spawn->wait, (uv_handle_t *) &spawn->process);
    if (error != 0) {
        s_spawn_failed(spawn, argv[0], error);
        return;
    }
    s_spawn_feed(spawn, stdin_data, stdin_size);
    for (int index = 1; index < 3; index++) {
        uv_stream_t *stream = (uv_stream_t *) &spawn->pipes[index];
        if (uv_read_start(stream, s_spawn_alloc, s_spawn_read) != 0)
            zj_wait_close((uv_handle_t *) stream);
    }
}

//  Hands the outputs over to process, NUL-terminated.
static int
s_spawn_outcome(s_spawn_t *spawn, zjob_process_t *process)
{
    for (int index = 0; index < 2; index++) {
        s_output_t *output = &spawn->outputs[index];
        if (output->data == NULL && (output->data = malloc(1)) == NULL)
            return ZJ_ENOMEM;
        output->data[output->size] = '\0';
    }
    process->exit_status = spawn->term_signal ? -1 : (int) spawn->exit_status;
    process->term_signal = spawn->term_signal;
    process->out = spawn->outputs[0].data;
    process->out_size = spawn->outputs[0].size;
    process->err = spawn->outputs[1].data;
    process->err_size = spawn->outputs[1].size;
    spawn->outputs[0].data = spawn->outputs[1].data = NULL;
    return 0;
}

int
zjob_spawn(zjob_ctx_t *ctx, char *const argv[], const char *stdin_data,
           size_t stdin_size, size_t max_output, zjob_process_t *process)
{
    if (process)
        memset(process, 0, sizeof *process);
    int rc = zj_wait_allowed(ctx);
    if (rc != 0)
        return rc;
    if (argv == NULL || argv[0] == NULL || process == NULL ||
        (stdin_size > 0 && stdin_data == NULL))
        return ZJ_EUSAGE;
    s_ignore_sigpipe();
    s_spawn_t spawn = {.wait = {.ctx = ctx}};
    size_t max = max_output ? max_output : ZJ_SPAWN_MAX_OUTPUT;
    spawn.outputs[0].max = spawn.outputs[1].max = max;
    s_spawn_start(&spawn, argv, stdin_data, stdin_size);
    rc = zj_wait_suspend(&spawn.wait, s_spawn_abandon);
    if (rc == 0 && spawn.out_of_memory)
        rc = ZJ_ENOMEM;
    if (rc == 0)
        rc = s_spawn_outcome(&spawn, process);
    free(spawn.outputs[0].data);
    free(spawn.outputs[1].data);
    return rc;
}
