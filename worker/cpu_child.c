//  cpu_child.c - one process of the CPU pool (see cpu_child.h): the fork,
//  the body the process runs after it, and how its end is described. The
//  body is plain C over blocking reads and writes on the socketpair; the
//  parent watches the other end on its loop (cpu_pool.c).
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "common/why.h"
#include "proto/limits.h"
#include "worker/cpu_child.h"
#include "worker/cpu_wire.h"
#include "worker/job_ctx.h"

//  Puts every signal back to its default action and unblocks them all,
//  so a handler crashes the way it would alone and the parent sees why.
static void
s_reset_signals(void)
{
    struct sigaction action = {.sa_handler = SIG_DFL};
    for (int signum = 1; signum < NSIG; signum++)
        if (signum != SIGKILL && signum != SIGSTOP)
            sigaction(signum, &action, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

//  Closes every inherited descriptor but stdio and fd.
static void
s_close_fds(int fd)
{
    if (fd > 3 && close_range(3, (unsigned) fd - 1, 0) == 0 &&
        close_range((unsigned) fd + 1, ~0U, 0) == 0)
        return;
    if (fd == 3 && close_range(4, ~0U, 0) == 0)
        return;
    struct rlimit limit = {0};
    getrlimit(RLIMIT_NOFILE, &limit);
    int top = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > 65536
                  ? 65536
                  : (int) limit.rlim_cur;
    for (int other = 3; other < top; other++)
        if (other != fd)
            close(other);
}

//  Reads exactly size bytes. Returns 0, or 1 on EOF before any byte, or
//  -1 on an error or a short read (the parent is gone).
static int
s_read_exactly(int fd, void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t rc = read(fd, (char *) buffer + done, size - done);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return rc == 0 && done == 0 ? 1 : -1;
        done += (size_t) rc;
    }
    return 0;
}

//  Writes all size bytes, or exits: a parent that stopped reading is gone.
static void
s_write_all(int fd, const void *buffer, size_t size)
{
    size_t done = 0;
    while (done < size) {
        ssize_t rc = write(fd, (const char *) buffer + done, size - done);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            _exit(EXIT_FAILURE);
        done += (size_t) rc;
    }
}

#define ZJ_CPU_PROGRESS_MS 100 //  A process reports a job at most this often

//  Where a job's zjob_progress goes in a pool process.
typedef struct {
    int fd;         //  The socketpair to the worker
    double sent_at; //  When the last report went, unix seconds
} s_progress_t;

//  zjob_progress in a pool process: one frame to the worker, at most
//  every ZJ_CPU_PROGRESS_MS (and always the one that says done).
static void
s_on_progress(zjob_ctx_t *ctx, int64_t done, int64_t total, const char *text)
{
    s_progress_t *progress = ctx->progress_arg;
    double now = zj_now();
    bool complete = total > 0 && done == total;
    if (!complete && now - progress->sent_at < ZJ_CPU_PROGRESS_MS / 1000.0)
        return;
    progress->sent_at = now;
    zj_cpu_reply_t frame = {.magic = ZJ_CPU_MAGIC,
                            .job_id = ctx->job_id,
                            .what = ZJ_CPU_FRAME_PROGRESS,
                            .done = done,
                            .total = total};
    size_t size = text ? strlen(text) : 0;
    if (size > ZJ_MAX_PROGRESS_TEXT) {
        size = ZJ_MAX_PROGRESS_TEXT;
        while (size > 0 && ((unsigned char) text[size] & 0xc0) == 0x80)
            size--;
    }
    frame.text_size = (uint32_t) size;
    s_write_all(progress->fd, &frame, sizeof frame);
    s_write_all(progress->fd, text ? text : "", size);
}

//  stdout and stderr of a pool process while a job runs: an in-memory file,
//  sent as the job's log after it.
typedef struct {
    int memfd;    //  Where fds 1 and 2 point while a job runs; -1: none
    int saved[2]; //  The process's own fds 1 and 2 meanwhile, or -1
} s_capture_t;

static void
s_capture_start(s_capture_t *capture)
{
    capture->saved[0] = capture->saved[1] = -1;
    if (capture->memfd < 0)
        capture->memfd = memfd_create("zjob-job-log", MFD_CLOEXEC);
    if (capture->memfd < 0)
        return; //  No log then; the job still runs
    fflush(stdout);
    fflush(stderr);
    if (ftruncate(capture->memfd, 0) != 0 ||
        lseek(capture->memfd, 0, SEEK_SET) != 0)
        return;
    capture->saved[0] = dup(STDOUT_FILENO);
    capture->saved[1] = dup(STDERR_FILENO);
    if (capture->saved[0] < 0 || capture->saved[1] < 0) {
        close(capture->saved[0]);
        close(capture->saved[1]);
        capture->saved[0] = capture->saved[1] = -1;
        return;
    }
    dup2(capture->memfd, STDOUT_FILENO);
    dup2(capture->memfd, STDERR_FILENO);
}

//  Puts fds 1 and 2 back and sends what the job wrote as a log frame.
static void
s_capture_end(s_capture_t *capture, int fd, int64_t job_id)
{
    if (capture->saved[0] < 0)
        return;
    fflush(stdout);
    fflush(stderr);
    dup2(capture->saved[0], STDOUT_FILENO);
    dup2(capture->saved[1], STDERR_FILENO);
    close(capture->saved[0]);
    close(capture->saved[1]);
    capture->saved[0] = capture->saved[1] = -1;
    off_t size = lseek(capture->memfd, 0, SEEK_END);
    if (size <= 0)
        return;
    size_t take = (size_t) size < ZJ_MAX_LOG ? (size_t) size : ZJ_MAX_LOG;
    char *text = malloc(take);
    if (text == NULL)
        return;
    ssize_t got = pread(capture->memfd, text, take, 0);
    if (got > 0) {
        zj_cpu_reply_t frame = {.magic = ZJ_CPU_MAGIC,
                                .job_id = job_id,
                                .what = ZJ_CPU_FRAME_LOG,
                                .text_size = (uint32_t) got};
        s_write_all(fd, &frame, sizeof frame);
        s_write_all(fd, text, (size_t) got);
    }
    free(text);
}

//  Runs one job from body (kind then args) and writes its reply.
static void
s_run_job(int fd, const zj_registry_t *registry,
          const zj_cpu_request_t *request, char *body, s_capture_t *capture)
{
    char *kind = body;
    char *args = body + request->kind_size + 1;
    memmove(args, body + request->kind_size, request->args_size);
    kind[request->kind_size] = '\0';
    args[request->args_size] = '\0';

    zj_cpu_reply_t reply = {.magic = ZJ_CPU_MAGIC, .job_id = request->job_id};
    s_progress_t progress = {.fd = fd};
    zjob_ctx_t ctx = {.job_id = request->job_id,
                      .attempt = request->attempt,
                      .kind = kind,
                      .on_progress = s_on_progress,
                      .progress_arg = &progress};
    char *result = NULL, *error = NULL;
    char line[ZJ_WHY_SIZE];
    reply.started_at = zj_now();
    const zj_handler_t *handler = zj_registry_find(registry, kind);
    int rc = 0;
    if (handler == NULL) {
        snprintf(line, sizeof line, "unknown job kind '%s'", kind);
        reply.no_retry = 1;
    } else {
        s_capture_start(capture);
        rc = handler->handler(&ctx, args, &result, &error);
        s_capture_end(capture, fd, request->job_id);
    }
    reply.finished_at = zj_now();

    const char *text = line;
    if (handler && rc == 0) {
        text = result ? result : "null";
        reply.ok = 1;
        if (strlen(text) > ZJ_MAX_RESULT) {
            snprintf(line, sizeof line, "result too big: %zu bytes > %d",
                     strlen(text), ZJ_MAX_RESULT);
            text = line;
            reply.ok = 0;
        }
    } else if (handler) {
        reply.no_retry = rc == ZJOB_FAILED_FINAL;
        if (error == NULL)
            snprintf(line, sizeof line, "handler failed (returned %d)", rc);
        text = error ? error : line;
    }
    size_t size = strlen(text);
    if (!reply.ok && size > ZJ_MAX_TEXT - 1)
        size = ZJ_MAX_TEXT - 1;
    reply.text_size = (uint32_t) size;
    s_write_all(fd, &reply, sizeof reply);
    s_write_all(fd, text, reply.text_size);
    free(result);
    free(error);
}

//  The process's life: set up after fork, then one job at a time until
//  the parent closes the socket or dies. Never returns.
static void __attribute__((noreturn))
s_run(int fd, pid_t parent, const zj_registry_t *registry)
{
    s_reset_signals();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    //  The parent may have died before prctl; then nobody would kill us.
    if (getppid() != parent)
        _exit(EXIT_FAILURE);
    s_close_fds(fd);
    s_capture_t capture = {.memfd = -1, .saved = {-1, -1}};

    while (true) {
        zj_cpu_request_t request;
        int rc = s_read_exactly(fd, &request, sizeof request);
        if (rc == 1)
            _exit(EXIT_SUCCESS);
        if (rc < 0 || !zj_cpu_wire_request_is_valid(&request))
            _exit(EXIT_FAILURE);
        size_t size = (size_t) request.kind_size + request.args_size;
        //  Two more bytes: s_run_job NUL-terminates kind and args in place.
        char *body = malloc(size + 2);
        if (body == NULL || s_read_exactly(fd, body, size) != 0)
            _exit(EXIT_FAILURE);
        s_run_job(fd, registry, &request, body, &capture);
        free(body);
    }
}

int
zj_cpu_child_spawn(pid_t parent, const zj_registry_t *registry, pid_t *pid_p,
                   int *fd_p)
{
    assert(registry && pid_p && fd_p);
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        zj_log_errno("cpu pool: socketpair failed");
        return ZJ_ESYS;
    }
    pid_t pid = fork();
    if (pid < 0) {
        zj_log_errno("cpu pool: fork failed");
        close(pair[0]);
        close(pair[1]);
        return ZJ_ESYS;
    }
    if (pid == 0)
        s_run(pair[1], parent, registry);
    close(pair[1]);
    fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK);
    *pid_p = pid;
    *fd_p = pair[0];
    return 0;
}

void
zj_cpu_child_describe_status(int status, char *error)
{
    assert(error);
    if (status == -1)
        zj_why_set(error, "process ended (status unknown)");
    else if (WIFSIGNALED(status)) {
        int signum = WTERMSIG(status);
        const char *name = sigabbrev_np(signum);
        const char *text = sigdescr_np(signum);
        zj_why_set(error, "process crashed: killed by signal SIG%s (%s)",
                   name ? name : "?", text ? text : "unknown signal");
    } else if (WIFEXITED(status))
        zj_why_set(error, "process exited with status %d", WEXITSTATUS(status));
    else
        zj_why_set(error, "process stopped (status %d)", status);
}
