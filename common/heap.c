//  heap.c - binary min-heap with position callbacks (see heap.h).
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/heap.h"

struct zj_heap {
    void **items;                //  items[0] is the first out
    size_t size;                 //  Items held
    size_t capacity;             //  Room in items
    zj_heap_compare_fn *compare; //  Order
    zj_heap_moved_fn *moved;     //  Position callback
};

zj_heap_t *
zj_heap_new(zj_heap_compare_fn *compare, zj_heap_moved_fn *moved)
{
    assert(compare && moved);
    zj_heap_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        abort();
    self->compare = compare;
    self->moved = moved;
    return self;
}

void
zj_heap_destroy(zj_heap_t **self_p)
{
    assert(self_p);
    zj_heap_t *self = *self_p;
    if (self == NULL)
        return;
    free(self->items);
    free(self);
    *self_p = NULL;
}

static void
s_place(zj_heap_t *self, size_t position, void *item)
{
    self->items[position] = item;
    self->moved(item, position);
}

static bool
s_sift_up(zj_heap_t *self, size_t position)
{
    void *item = self->items[position];
    size_t start = position;
    while (position > 0) {
        size_t parent = (position - 1) / 2;
        if (self->compare(item, self->items[parent]) >= 0)
            break;
        s_place(self, position, self->items[parent]);
        position = parent;
    }
    s_place(self, position, item);
    return position != start;
}

static void
s_sift_down(zj_heap_t *self, size_t position)
{
    void *item = self->items[position];
    for (;;) {
        size_t child = 2 * position + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size &&
            self->compare(self->items[child + 1], self->items[child]) < 0)
            child++;
        if (self->compare(self->items[child], item) >= 0)
            break;
        s_place(self, position, self->items[child]);
        position = child;
    }
    s_place(self, position, item);
}

void
zj_heap_push(zj_heap_t *self, void *item)
{
    assert(self && item);
    if (self->size == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 64;
        void **items = realloc(self->items, capacity * sizeof *items);
        if (items == NULL)
            abort();
        self->items = items;
        self->capacity = capacity;
    }
    self->items[self->size++] = item;
    s_sift_up(self, self->size - 1);
}

void *
zj_heap_peek(const zj_heap_t *self)
{
    assert(self);
    return self->size ? self->items[0] : NULL;
}

void *
zj_heap_pop(zj_heap_t *self)
{
    assert(self);
    if (self->size == 0)
        return NULL;
    void *first = self->items[0];
    zj_heap_remove(self, 0);
    return first;
}

void
zj_heap_remove(zj_heap_t *self, size_t position)
{
    assert(self && position < self->size);
    void *item = self->items[position];
    void *last = self->items[--self->size];
    if (position < self->size) {
        self->items[position] = last;
        zj_heap_update(self, position);
    }
    self->moved(item, ZJ_HEAP_NONE);
}

void
zj_heap_update(zj_heap_t *self, size_t position)
{
    assert(self && position < self->size);
    if (!s_sift_up(self, position))
        s_sift_down(self, position);
}

void *
zj_heap_at(const zj_heap_t *self, size_t position)
{
    assert(self && position < self->size);
    return self->items[position];
}

size_t
zj_heap_size(const zj_heap_t *self)
{
    assert(self);
    return self->size;
}
