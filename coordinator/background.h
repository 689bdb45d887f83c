//  background.h - one thread that runs a function off the loop whenever
//  the loop wakes it, and at least once a period. The store checkpoints
//  its WAL on one, so that the loop never waits for an fsync.
#ifndef ZJ_BACKGROUND_H
#define ZJ_BACKGROUND_H

typedef struct zj_background zj_background_t;

//  What the thread runs; arg as given to zj_background_new. It must not
//  touch what the loop thread uses without its own locking.
typedef void(zj_background_fn)(void *arg);

//  Starts the thread. Returns NULL if it could not be started.
zj_background_t *zj_background_new(zj_background_fn *fn, void *arg,
                                   int period_ms);

//  Asks for one more run soon; wakes made during a run give one run after
//  it. Cheap enough to call after every commit.
void zj_background_wake(zj_background_t *self);

//  Lets a run in progress finish, stops and joins the thread, frees
//  everything; sets *self_p to NULL.
void zj_background_destroy(zj_background_t **self_p);

#endif
