//  background.c - a woken thread (see background.h).
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "coordinator/background.h"

struct zj_background {
    zj_background_fn *fn;  //  What to run
    void *arg;             //  Its argument
    int period_ms;         //  Longest sleep between runs
    pthread_t thread;      //  The runner
    pthread_mutex_t lock;  //  Guards woken and stopping
    pthread_cond_t wakeup; //  Signalled by wake and destroy
    bool woken;            //  A run was asked for
    bool stopping;         //  destroy was called
};

//  The monotonic time period_ms from now.
static struct timespec
s_deadline(int period_ms)
{
    struct timespec when;
    clock_gettime(CLOCK_MONOTONIC, &when);
    when.tv_sec += period_ms / 1000;
    when.tv_nsec += (long) (period_ms % 1000) * 1000000L;
    if (when.tv_nsec >= 1000000000L) {
        when.tv_sec++;
        when.tv_nsec -= 1000000000L;
    }
    return when;
}

static void *
s_run(void *arg)
{
    zj_background_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stopping) {
        if (!self->woken) {
            struct timespec deadline = s_deadline(self->period_ms);
            pthread_cond_timedwait(&self->wakeup, &self->lock, &deadline);
        }
        if (self->stopping)
            break;
        self->woken = false;
        pthread_mutex_unlock(&self->lock);
        self->fn(self->arg);
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

zj_background_t *
zj_background_new(zj_background_fn *fn, void *arg, int period_ms)
{
    assert(fn && period_ms > 0);
    zj_background_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        return NULL;
    *self = (zj_background_t){.fn = fn, .arg = arg, .period_ms = period_ms};
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wakeup, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&self->lock, NULL);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        pthread_cond_destroy(&self->wakeup);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    return self;
}

void
zj_background_wake(zj_background_t *self)
{
    assert(self);
    pthread_mutex_lock(&self->lock);
    if (!self->woken) {
        self->woken = true;
        pthread_cond_signal(&self->wakeup);
    }
    pthread_mutex_unlock(&self->lock);
}

void
zj_background_destroy(zj_background_t **self_p)
{
    assert(self_p);
    zj_background_t *self = *self_p;
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
