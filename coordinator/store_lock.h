//  store_lock.h - one store, one coordinator. The lock file beside the
//  store (PATH.lock), locked with flock for the coordinator's life and
//  naming who holds it; the highest job id handed out from that path; and
//  the watch that the store's files are still the ones the coordinator
//  opened. main.c takes the lock before the store is opened; the loop
//  (coordinator.c) watches at each heartbeat tick. Never touches the
//  store's own file descriptors, so SQLite's POSIX locks are safe.
#ifndef ZJ_STORE_LOCK_H
#define ZJ_STORE_LOCK_H

#include <stdint.h>

typedef struct zj_store_lock zj_store_lock_t;

//  Takes the lock of the store at db_path: opens (creating) db_path.lock
//  and locks it without waiting, then writes into it who holds it: our
//  pid, host and start time, then endpoints (one line of text, e.g.
//  "clients=EP workers=EP"). The lock is released when the process ends
//  however it ends; the file stays. Returns 0 and sets *self_p (caller
//  owns); ZJ_EDENIED when another process holds the lock, with why
//  naming it from its record; ZJ_ESYS when the file cannot be opened,
//  locked or written.
int zj_store_lock_take(const char *db_path, const char *endpoints,
                       zj_store_lock_t **self_p, char *why);

//  Releases the lock (the file stays: removing it would let two
//  processes lock two different files); sets *self_p to NULL.
void zj_store_lock_destroy(zj_store_lock_t **self_p);

//  The next job id the file recorded when the lock was taken (the
//  highest id handed out from this path, plus one), or 0 if none.
int64_t zj_store_lock_next_id(const zj_store_lock_t *self);

//  Records next_id in the file if it is higher than what it holds.
//  Returns 0 or ZJ_ESYS.
int zj_store_lock_set_next_id(zj_store_lock_t *self, int64_t next_id);

//  Notes which files the store's path and its WAL (db_path-wal) are now,
//  once the store is open, for zj_store_lock_check.
void zj_store_lock_watch(zj_store_lock_t *self);

//  Checks that the store's file and WAL are still the ones noted by
//  zj_store_lock_watch, and the lock file the one locked. Returns 0 with
//  why empty when they are; ZJ_ESTORE when the store's file or WAL was
//  deleted or replaced, or the lock file was and another process holds
//  the new one, with why saying which. A lock file deleted or replaced
//  while no one else holds it is made and locked again: 0, with why
//  saying so.
int zj_store_lock_check(zj_store_lock_t *self, char *why);

#endif
