//  scheduler.h - which queued job runs next.
//  Ready jobs wait in one heap per kind, highest priority first, then
//  oldest id; jobs whose not_before is in the future wait in one deadline
//  heap until zj_scheduler_wake moves them. Futures carry their own heap
//  position (zj_future_t.slot), so removal is O(log n). Does not own them.
//  It also counts, per kind, the connected workers that offer it, and
//  keeps the number of ready jobs some connected worker can run: jobs of
//  a kind nobody offers wait in their heap and cost dispatch nothing.
//  Jobs at their last chance (zj_future_t.last_chance) wait in a second
//  heap per kind, which zj_scheduler_next leaves to
//  zj_scheduler_next_last_chance.
#ifndef ZJ_SCHEDULER_H
#define ZJ_SCHEDULER_H

#include <stdbool.h>
#include <stddef.h>

#include "coordinator/futures.h"

typedef struct zj_scheduler zj_scheduler_t;

//  Creates an empty scheduler.
zj_scheduler_t *zj_scheduler_new(void);

//  Frees the scheduler (not the futures); sets *self_p to NULL.
void zj_scheduler_destroy(zj_scheduler_t **self_p);

//  Queues future: ready now, or delayed if its not_before > now (unix s).
void zj_scheduler_push(zj_scheduler_t *self, zj_future_t *future, double now);

//  Removes and returns the best ready job among kinds[0..count), or NULL.
zj_future_t *zj_scheduler_next(zj_scheduler_t *self, const char **kinds,
                               size_t count);

//  Removes and returns the best ready job at its last chance among
//  kinds[0..count), or NULL.
zj_future_t *zj_scheduler_next_last_chance(zj_scheduler_t *self,
                                           const char **kinds, size_t count);

//  True if a ready job at its last chance is of one of kinds[0..count).
bool zj_scheduler_has_last_chance(const zj_scheduler_t *self,
                                  const char **kinds, size_t count);

//  Removes future from whichever heap holds it; no-op if in none.
void zj_scheduler_remove(zj_scheduler_t *self, zj_future_t *future);

//  Moves delayed jobs due at now (unix s) to ready. Returns how many.
size_t zj_scheduler_wake(zj_scheduler_t *self, double now);

//  The earliest not_before of a delayed job (unix s), or 0 if none.
double zj_scheduler_next_wake(const zj_scheduler_t *self);

//  Jobs ready, and delayed.
size_t zj_scheduler_ready(const zj_scheduler_t *self);
size_t zj_scheduler_delayed(const zj_scheduler_t *self);

//  A connected worker began (delta 1) or stopped (delta -1) offering
//  kind. O(1).
void zj_scheduler_offer(zj_scheduler_t *self, const char *kind, int delta);

//  True if some connected worker offers kind.
bool zj_scheduler_is_offered(const zj_scheduler_t *self, const char *kind);

//  Ready jobs of the kinds some connected worker offers. O(1).
size_t zj_scheduler_runnable(const zj_scheduler_t *self);

//  Ready jobs of kind (at their last chance or not).
size_t zj_scheduler_ready_of(const zj_scheduler_t *self, const char *kind);

//  Of kind's ready jobs, the one that has been ready longest (since its
//  ready_since), or NULL when none is. O(1).
const zj_future_t *zj_scheduler_oldest(const zj_scheduler_t *self,
                                       const char *kind);

//  Calls fn for each kind ever queued or offered, with its number of ready
//  jobs and of connected workers that offer it.
typedef void(zj_scheduler_kind_fn)(void *arg, const char *kind, size_t ready,
                                   size_t offers);
void zj_scheduler_each_kind(const zj_scheduler_t *self,
                            zj_scheduler_kind_fn *fn, void *arg);

//  The scheduler's invariants: every future in a heap knows its position,
//  is queued and of the heap's kind; heap order holds; the ready count is
//  the sum of the ready heaps, the runnable count that of offered kinds. For
//  asserts and tests: O(queued jobs).
bool zj_scheduler_invariants_hold(const zj_scheduler_t *self);

#endif
