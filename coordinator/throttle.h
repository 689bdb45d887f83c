//  throttle.h - limits per kind, across all workers (zjob limit): how
//  many jobs of a kind may run at once, and how many may start per
//  second (a token bucket per rated kind, on the coordinator's monotonic
//  clock). It counts the running jobs of every kind, limited or not, as
//  the state machine tells it (zj_throttle_started, zj_throttle_ended),
//  so a limit set while jobs run holds at once. A leaf: it knows kind
//  names and counts, nothing of jobs, workers or the store. Every clock
//  is passed in (zj_mono_ms), so tests drive it.
#ifndef ZJ_THROTTLE_H
#define ZJ_THROTTLE_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

typedef struct zj_throttle zj_throttle_t;

//  What holds a kind's next job back.
typedef enum {
    ZJ_HOLD_NONE = 0,    //  Nothing: it may start
    ZJ_HOLD_CONCURRENCY, //  As many of its jobs run as its limit allows
    ZJ_HOLD_RATE         //  Its bucket has no token yet
} zj_hold_t;

//  The most tokens a kind's bucket holds: a tenth of a second of its
//  rate, at least one. A rate of 5/s starts one job every 200 ms; one of
//  1000/s may start 100 at once in a turn.
double zj_throttle_burst(double rate);

zj_throttle_t *zj_throttle_new(void);

//  Frees it; sets *self_p to NULL.
void zj_throttle_destroy(zj_throttle_t **self_p);

//  Sets kind's limits to limit's concurrency (-1: none) and rate (0:
//  none), both together; the bucket starts full. A limit with neither
//  clears the kind. Borrows limit.
void zj_throttle_set(zj_throttle_t *self, const zj_kind_limit_t *limit,
                     int64_t now_ms);

//  Removes kind's limits (its count of running jobs stays).
void zj_throttle_clear(zj_throttle_t *self, const char *kind);

//  Fills out with kind's limits, running count and the updated_at they
//  were set with (out->kind is kind, borrowed). Returns true if kind has
//  a limit.
bool zj_throttle_get(const zj_throttle_t *self, const char *kind,
                     zj_kind_limit_t *out);

//  Kinds with a limit, sorted by name, as a list of borrowed names that
//  the caller destroys (zlistx_destroy). Valid until the next change.
zlistx_t *zj_throttle_kinds(const zj_throttle_t *self);

//  True if some kind has a limit. O(1).
bool zj_throttle_is_limiting(const zj_throttle_t *self);

//  A job of kind began running (takes a token from a rated kind), or
//  stopped running.
void zj_throttle_started(zj_throttle_t *self, const char *kind, int64_t now_ms);
void zj_throttle_ended(zj_throttle_t *self, const char *kind);

//  Jobs of kind running now, and of all kinds.
int32_t zj_throttle_running(const zj_throttle_t *self, const char *kind);
int64_t zj_throttle_total(const zj_throttle_t *self);

//  What holds kind's next job back at now_ms. Changes nothing.
zj_hold_t zj_throttle_holds(const zj_throttle_t *self, const char *kind,
                            int64_t now_ms);

//  The same for dispatch: a kind held by its rate is remembered, so that
//  zj_throttle_next_token tells when to look again.
zj_hold_t zj_throttle_gate(zj_throttle_t *self, const char *kind,
                           int64_t now_ms);

//  When (zj_mono_ms) the first kind that dispatch found without a token
//  gets one: now_ms if one has it already, 0 if no kind waits.
int64_t zj_throttle_next_token(zj_throttle_t *self, int64_t now_ms);

//  Writes into text why kind's next job waits at now_ms (for zjob
//  status), and returns true; returns false (text empty) if nothing
//  holds it.
bool zj_throttle_describe(const zj_throttle_t *self, const char *kind,
                          int64_t now_ms, char *text, size_t size);

//  Each entry has a limit or running jobs, counts are >= 0, buckets hold
//  at most their burst. For asserts and tests: O(kinds).
bool zj_throttle_invariants_hold(const zj_throttle_t *self);

#endif
