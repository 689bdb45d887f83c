//  heap.h - a binary min-heap of pointers with positions, for deadlines
//  and priorities. Items learn their position through a callback, so any
//  item can be removed or re-keyed in O(log n). Does not own its items.
#ifndef ZJ_HEAP_H
#define ZJ_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define ZJ_HEAP_NONE SIZE_MAX //  The position of an item in no heap

typedef struct zj_heap zj_heap_t;

//  Returns < 0 if a must come out before b.
typedef int(zj_heap_compare_fn)(const void *a, const void *b);

//  Tells item its new position (ZJ_HEAP_NONE once it left the heap).
typedef void(zj_heap_moved_fn)(void *item, size_t position);

//  Creates an empty heap. Never returns NULL (aborts on OOM).
zj_heap_t *zj_heap_new(zj_heap_compare_fn *compare, zj_heap_moved_fn *moved);

//  Frees the heap, not the items; sets *self_p to NULL.
void zj_heap_destroy(zj_heap_t **self_p);

//  Adds item.
void zj_heap_push(zj_heap_t *self, void *item);

//  The first item, or NULL if empty.
void *zj_heap_peek(const zj_heap_t *self);

//  Removes and returns the first item, or NULL if empty.
void *zj_heap_pop(zj_heap_t *self);

//  Removes the item at position (as last reported by moved).
void zj_heap_remove(zj_heap_t *self, size_t position);

//  Restores order after the key of the item at position changed.
void zj_heap_update(zj_heap_t *self, size_t position);

//  The item at position (< size).
void *zj_heap_at(const zj_heap_t *self, size_t position);

//  Number of items.
size_t zj_heap_size(const zj_heap_t *self);

#endif
