//  watchdog.h - stops the worker when one job holds its loop too long.
//  A handler that never yields (an I/O coroutine that spins, or hangs in
//  a blocking call) freezes the worker's loop: no heartbeat, no result,
//  no signal handled, for good. Nothing can take the loop back from it,
//  so the watchdog ends the process instead: the coordinator loses the
//  worker, counts the loss against the jobs it ran (a poison job fails
//  at --max-losses), and a supervisor starts the worker again.
//
//  The loop says which job holds it (zj_watchdog_enter, as a coroutine
//  is resumed) and when it has the loop back (zj_watchdog_leave): two
//  stores, no lock, no clock. A thread of the watchdog's own looks four
//  times per limit; when one entry has lasted past the limit it writes a
//  line naming the job to stderr with write(2), from a buffer it
//  formatted itself (the loop may hold any lock), and calls
//  _exit(ZJ_WATCHDOG_EXIT).
#ifndef ZJ_WATCHDOG_H
#define ZJ_WATCHDOG_H

#include <stdint.h>

#define ZJ_WATCHDOG_MS 10000 //  Default limit: see --watchdog in main.c
#define ZJ_WATCHDOG_EXIT 70  //  Exit status (EX_SOFTWARE) when it fires

typedef struct zj_watchdog zj_watchdog_t;

//  Starts watching with a limit of limit_ms (> 0). Returns NULL and logs
//  why if its thread cannot start.
zj_watchdog_t *zj_watchdog_new(int64_t limit_ms);

//  Stops the thread and frees; sets *self_p to NULL. Idempotent.
void zj_watchdog_destroy(zj_watchdog_t **self_p);

//  On the loop: job id of kind (copied, up to ZJ_MAX_KIND bytes) holds
//  the loop from now on.
void zj_watchdog_enter(zj_watchdog_t *self, int64_t job_id, const char *kind);

//  On the loop: the loop has itself back.
void zj_watchdog_leave(zj_watchdog_t *self);

#endif
