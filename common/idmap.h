//  idmap.h - a map from job id (int64_t > 0) to an item pointer: open
//  addressing with linear probing in one array of 16-byte slots, so an
//  insert or delete allocates nothing (except when the table grows).
//  Used for the coordinator's futures and running jobs per worker, and
//  the worker's unfinished jobs. Does not own its items. Not thread-safe.
#ifndef ZJ_IDMAP_H
#define ZJ_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct zj_idmap zj_idmap_t;

//  Creates an empty map (16 slots). Never returns NULL (aborts on OOM).
zj_idmap_t *zj_idmap_new(void);

//  Frees the map, not its items; sets *self_p to NULL. Idempotent.
void zj_idmap_destroy(zj_idmap_t **self_p);

//  Maps id (> 0) to item (not NULL), borrowed. Returns 0, or -1 without
//  changing anything if id is already present. May grow the table (×2 at
//  3/4 load), which ends any iteration.
int zj_idmap_insert(zj_idmap_t *self, int64_t id, void *item);

//  The item of id, or NULL if absent (always for an id <= 0, which may
//  come from the network).
void *zj_idmap_lookup(const zj_idmap_t *self, int64_t id);

//  Removes id. Returns its item, or NULL if absent (always for id <= 0).
//  Never shrinks the table and never frees anything.
void *zj_idmap_delete(zj_idmap_t *self, int64_t id);

//  Number of ids in the map.
size_t zj_idmap_size(const zj_idmap_t *self);

//  Iterates the items, each once, in no particular order; NULL at the
//  end. Between first and the end, the only change allowed is deleting
//  the item first or next returned last; after any other insert or
//  delete, next may skip or repeat items: call first again. Draining by
//  repeated first and delete of what it returned costs O(size + capacity)
//  in all, not O(size * capacity).
void *zj_idmap_first(zj_idmap_t *self);
void *zj_idmap_next(zj_idmap_t *self);

#endif
