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
                            .progress = 1,
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

//  Runs one job from body (kind then args) and writes its reply.
static void
s_run_job(int fd, const zj_registry_t *registry,
          const zj_cpu_request_t *request, char *body)
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
    } else
        rc = handler->handler(&ctx, args, &result, &error);
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
        s_run_job(fd, registry, &request, body);
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
