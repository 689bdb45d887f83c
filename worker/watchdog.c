//  watchdog.c - a thread that ends the worker when one job holds its loop
//  past a limit (see watchdog.h).
//
//  The loop publishes a sequence number: odd while a job holds the loop,
//  even while the loop has itself. Only the loop writes it, the thread
//  only reads it: the thread notes when it first saw an odd value, and an
//  odd value unchanged for the limit means the same entry never ended.
//  The job's id and kind are written before the number that publishes
//  them, and read again after the line is formatted, so a line names the
//  job that held the loop or is not written.
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/limits.h"
#include "worker/watchdog.h"

#define ZJ_WATCHDOG_LOOKS 4      //  Looks per limit
#define ZJ_WATCHDOG_LOOK_MIN 5   //  Shortest wait between looks, ms
#define ZJ_WATCHDOG_LOOK_MAX 500 //  Longest

struct zj_watchdog {
    int64_t limit_ms;           //  How long one entry may last
    int look_ms;                //  The thread's wait between looks
    atomic_uint_fast64_t seq;   //  Odd: a job holds the loop
    atomic_int_fast64_t job;    //  Which job (written before seq)
    char kind[ZJ_MAX_KIND + 1]; //  Its kind (written before seq)
    int64_t kind_of;            //  The job whose kind is in kind
    pthread_t thread;           //  Looks
    pthread_mutex_t lock;       //  Guards stopping
    pthread_cond_t wakeup;      //  Signalled by destroy
    bool stopping;              //  destroy was called
};

static int64_t
s_mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static struct timespec
s_deadline(int wait_ms)
{
    struct timespec when;
    clock_gettime(CLOCK_MONOTONIC, &when);
    when.tv_nsec += (long) wait_ms * 1000000L;
    when.tv_sec += when.tv_nsec / 1000000000L;
    when.tv_nsec %= 1000000000L;
    return when;
}

//  The loop has been held by one entry, seq, for held_ms: say which job,
//  and end the process. Only write(2) and _exit: the loop's thread may be
//  inside malloc or stdio, holding their locks.
static void
s_fire(zj_watchdog_t *self, uint_fast64_t seq, int64_t held_ms)
{
    int64_t job = (int64_t) atomic_load(&self->job);
    char kind[ZJ_MAX_KIND + 1];
    memcpy(kind, self->kind, sizeof kind);
    kind[ZJ_MAX_KIND] = '\0';
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load(&self->seq) != seq)
        return; //  The entry ended while it was read: the loop is back
    char line[256];
    int size = snprintf(line, sizeof line,
                        "E: (zjob-worker) watchdog: loop stuck held_ms=%" PRId64
                        " limit_ms=%" PRId64 " job=%" PRId64
                        " kind=%s; exiting status=%d\n",
                        held_ms, self->limit_ms, job, kind, ZJ_WATCHDOG_EXIT);
    if (size > 0) {
        ssize_t written = write(STDERR_FILENO, line,
                                (size_t) size < sizeof line ? (size_t) size
                                                            : sizeof line - 1);
        (void) written;
    }
    _exit(ZJ_WATCHDOG_EXIT);
}

static void *
s_run(void *arg)
{
    zj_watchdog_t *self = arg;
    uint_fast64_t seen = 0; //  The entry last looked at
    int64_t seen_at = 0;    //  When it was first seen
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        struct timespec deadline = s_deadline(self->look_ms);
        pthread_cond_timedwait(&self->wakeup, &self->lock, &deadline);
        if (self->stopping)
            break;
        uint_fast64_t seq = atomic_load(&self->seq);
        int64_t now = s_mono_ms();
        if (seq != seen) {
            seen = seq;
            seen_at = now;
        } else if (seq % 2 == 1 && now - seen_at >= self->limit_ms)
            s_fire(self, seq, now - seen_at);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

zj_watchdog_t *
zj_watchdog_new(int64_t limit_ms)
{
    assert(limit_ms > 0);
    zj_watchdog_t *self = calloc(1, sizeof *self);
    assert(self);
    self->limit_ms = limit_ms;
    int64_t look_ms = limit_ms / ZJ_WATCHDOG_LOOKS;
    self->look_ms = look_ms < ZJ_WATCHDOG_LOOK_MIN   ? ZJ_WATCHDOG_LOOK_MIN
                    : look_ms > ZJ_WATCHDOG_LOOK_MAX ? ZJ_WATCHDOG_LOOK_MAX
                                                     : (int) look_ms;
    atomic_init(&self->seq, 0);
    atomic_init(&self->job, 0);
    self->kind_of = -1;
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wakeup, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&self->lock, NULL);
    int rc = pthread_create(&self->thread, NULL, s_run, self);
    if (rc != 0) {
        zj_log_error("cannot start the watchdog error=\"%s\"", strerror(rc));
        pthread_cond_destroy(&self->wakeup);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    return self;
}

void
zj_watchdog_destroy(zj_watchdog_t **self_p)
{
    assert(self_p);
    zj_watchdog_t *self = *self_p;
    if (self == NULL)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_signal(&self->wakeup);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->wakeup);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void
zj_watchdog_enter(zj_watchdog_t *self, int64_t job_id, const char *kind)
{
    assert(self && kind);
    uint_fast64_t seq = atomic_load_explicit(&self->seq, memory_order_relaxed);
    if (seq % 2 == 1)
        seq++; //  One entry after another, without a leave between
    atomic_store_explicit(&self->job, job_id, memory_order_relaxed);
    //  Copied only when the job changes: most resumes are of the job that
    //  ran before, or one whose kind is already here.
    if (self->kind_of != job_id) {
        strncpy(self->kind, kind, ZJ_MAX_KIND);
        self->kind_of = job_id;
    }
    atomic_store_explicit(&self->seq, seq + 1, memory_order_release);
}

void
zj_watchdog_leave(zj_watchdog_t *self)
{
    assert(self);
    uint_fast64_t seq = atomic_load_explicit(&self->seq, memory_order_relaxed);
    if (seq % 2 == 1)
        atomic_store_explicit(&self->seq, seq + 1, memory_order_release);
}
