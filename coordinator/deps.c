//  deps.c - which jobs wait for which (see .h).
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/idmap.h"
#include "coordinator/deps.h"

//  The jobs that wait for job `of`.
typedef struct {
    int64_t of;
    int64_t *ids;
    size_t count;
    size_t capacity;
} s_waiters_t;

//  A finished job whose waiters are still to be told.
typedef struct {
    int64_t id;
    zj_state_t state;
} s_finish_t;

struct zj_deps {
    zj_idmap_t *waiters;  //  id -> s_waiters_t *, owned
    s_finish_t *finished; //  A queue: entries head..count are pending
    size_t head;
    size_t count;
    size_t capacity;
};

zj_deps_t *
zj_deps_new(void)
{
    zj_deps_t *self = calloc(1, sizeof *self);
    assert(self);
    self->waiters = zj_idmap_new();
    return self;
}

void
zj_deps_destroy(zj_deps_t **self_p)
{
    assert(self_p);
    zj_deps_t *self = *self_p;
    if (self == NULL)
        return;
    s_waiters_t *waiters;
    while ((waiters = zj_idmap_first(self->waiters))) {
        zj_idmap_delete(self->waiters, waiters->of);
        free(waiters->ids);
        free(waiters);
    }
    zj_idmap_destroy(&self->waiters);
    free(self->finished);
    free(self);
    *self_p = NULL;
}

void
zj_deps_wait(zj_deps_t *self, int64_t waiter, int64_t id)
{
    assert(self && waiter > 0 && id > 0 && waiter != id);
    s_waiters_t *waiters = zj_idmap_lookup(self->waiters, id);
    if (waiters == NULL) {
        waiters = calloc(1, sizeof *waiters);
        assert(waiters);
        waiters->of = id;
        zj_idmap_insert(self->waiters, id, waiters);
    }
    if (waiters->count == waiters->capacity) {
        waiters->capacity = waiters->capacity ? waiters->capacity * 2 : 4;
        waiters->ids =
            realloc(waiters->ids, waiters->capacity * sizeof(int64_t));
        assert(waiters->ids);
    }
    waiters->ids[waiters->count++] = waiter;
}

void
zj_deps_forget(zj_deps_t *self, int64_t waiter, int64_t id)
{
    assert(self);
    s_waiters_t *waiters = zj_idmap_lookup(self->waiters, id);
    for (size_t index = 0; waiters && index < waiters->count; index++)
        if (waiters->ids[index] == waiter) {
            waiters->ids[index] = waiters->ids[--waiters->count];
            break;
        }
    if (waiters && waiters->count == 0) {
        zj_idmap_delete(self->waiters, id);
        free(waiters->ids);
        free(waiters);
    }
}

void
zj_deps_finished(zj_deps_t *self, int64_t id, zj_state_t state)
{
    assert(self && id > 0);
    assert(state == ZJ_STATE_SUCCEEDED || state == ZJ_STATE_FAILED ||
           state == ZJ_STATE_CANCELLED);
    if (zj_idmap_lookup(self->waiters, id) == NULL)
        return; //  Nobody to tell: most jobs
    if (self->head == self->count)
        self->head = self->count = 0;
    if (self->count == self->capacity) {
        self->capacity = self->capacity ? self->capacity * 2 : 16;
        self->finished =
            realloc(self->finished, self->capacity * sizeof(s_finish_t));
        assert(self->finished);
    }
    self->finished[self->count++] = (s_finish_t){id, state};
}

bool
zj_deps_next(zj_deps_t *self, int64_t *id, zj_state_t *state,
             int64_t **waiters_p, size_t *count)
{
    assert(self && id && state && waiters_p && count);
    if (self->head == self->count)
        return false;
    s_finish_t finish = self->finished[self->head++];
    *id = finish.id;
    *state = finish.state;
    s_waiters_t *waiters = zj_idmap_delete(self->waiters, finish.id);
    *waiters_p = waiters ? waiters->ids : NULL;
    *count = waiters ? waiters->count : 0;
    free(waiters);
    return true;
}

size_t
zj_deps_awaited(const zj_deps_t *self)
{
    assert(self);
    return zj_idmap_size(self->waiters);
}

size_t
zj_deps_pending(const zj_deps_t *self)
{
    assert(self);
    return self->count - self->head;
}
