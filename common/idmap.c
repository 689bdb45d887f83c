//  idmap.c - open addressing map from job id to item (see idmap.h).
//  Linear probing over a power-of-two array; a delete shifts the rest of
//  its cluster back instead of leaving a tombstone, so a probe always
//  stops at the first empty slot. Deletes only ever empty slots, which is
//  what lets iteration and draining keep their place cheaply.
#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/idmap.h"

#define ZJ_IDMAP_MIN 16        //  Slots of a new map
#define ZJ_IDMAP_NONE SIZE_MAX //  No slot

typedef struct {
    int64_t id; //  0 = empty
    void *item; //  Borrowed, NULL when empty
} zj_idmap_slot_t;

//  Iteration walks offsets 1 .. capacity - 1 from base, an empty slot. No
//  cluster crosses an empty slot, so a delete moves items only to earlier
//  offsets within their cluster, never over base, never past an offset
//  that was empty: both the cursor and low stay true across deletes.
struct zj_idmap {
    zj_idmap_slot_t *slots; //  capacity slots
    size_t capacity;        //  A power of two, >= ZJ_IDMAP_MIN
    size_t size;            //  Slots in use
    size_t base;            //  Empty slot iteration starts after,
                            //  or ZJ_IDMAP_NONE until first finds one
    size_t low;             //  Offsets 1 .. low - 1 from base are empty
    size_t cursor;          //  Offset first/next returned last
    int64_t cursor_id;      //  The id that was there then
};

static bool
s_invariants_hold(const zj_idmap_t *self)
{
    if (self->capacity < ZJ_IDMAP_MIN ||
        (self->capacity & (self->capacity - 1)) != 0)
        return false;
    if (self->size > self->capacity / 4 * 3)
        return false;
    if (self->base == ZJ_IDMAP_NONE)
        return true;
    return self->base < self->capacity && self->slots[self->base].id == 0 &&
           self->low >= 1 && self->low <= self->capacity;
}

static zj_idmap_slot_t *
s_slots_new(size_t capacity)
{
    zj_idmap_slot_t *slots = calloc(capacity, sizeof *slots);
    if (slots == NULL)
        abort();
    return slots;
}

zj_idmap_t *
zj_idmap_new(void)
{
    zj_idmap_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        abort();
    self->capacity = ZJ_IDMAP_MIN;
    self->slots = s_slots_new(self->capacity);
    self->base = ZJ_IDMAP_NONE;
    self->cursor = self->capacity;
    assert(s_invariants_hold(self));
    return self;
}

void
zj_idmap_destroy(zj_idmap_t **self_p)
{
    assert(self_p);
    zj_idmap_t *self = *self_p;
    if (self == NULL)
        return;
    free(self->slots);
    free(self);
    *self_p = NULL;
}

//  A 64-bit finaliser: sequential ids land far apart.
static size_t
s_home(const zj_idmap_t *self, int64_t id)
{
    uint64_t hash = (uint64_t) id;
    hash ^= hash >> 33;
    hash *= 0xff51afd7ed558ccdULL;
    hash ^= hash >> 33;
    return (size_t) hash & (self->capacity - 1);
}

//  The slot holding id, or else the empty slot that ends its probe.
static size_t
s_probe(const zj_idmap_t *self, int64_t id)
{
    size_t mask = self->capacity - 1;
    size_t position = s_home(self, id);
    while (self->slots[position].id != 0 && self->slots[position].id != id)
        position = (position + 1) & mask;
    return position;
}

//  Doubles the table. Ends any iteration: base is found again by first.
static void
s_grow(zj_idmap_t *self)
{
    zj_idmap_slot_t *old = self->slots;
    size_t old_capacity = self->capacity;
    self->capacity *= 2;
    self->slots = s_slots_new(self->capacity);
    for (size_t index = 0; index < old_capacity; index++)
        if (old[index].id != 0)
            self->slots[s_probe(self, old[index].id)] = old[index];
    free(old);
    self->base = ZJ_IDMAP_NONE;
    self->cursor = self->capacity;
}

//  Keeps base and low true after a slot at position was filled.
static void
s_filled(zj_idmap_t *self, size_t position)
{
    if (self->base == ZJ_IDMAP_NONE)
        return;
    if (position == self->base) {
        self->base = ZJ_IDMAP_NONE;
        return;
    }
    size_t offset = (position - self->base) & (self->capacity - 1);
    if (offset < self->low)
        self->low = offset;
}

int
zj_idmap_insert(zj_idmap_t *self, int64_t id, void *item)
{
    assert(self && id > 0 && item);
    size_t position = s_probe(self, id);
    if (self->slots[position].id == id)
        return -1;
    if (self->size + 1 > self->capacity / 4 * 3) {
        s_grow(self);
        position = s_probe(self, id);
    }
    self->slots[position].id = id;
    self->slots[position].item = item;
    self->size++;
    s_filled(self, position);
    assert(s_invariants_hold(self));
    return 0;
}

void *
zj_idmap_lookup(const zj_idmap_t *self, int64_t id)
{
    assert(self);
    //  An id <= 0 probes to an empty slot: absent.
    return self->slots[s_probe(self, id)].item;
}

//  Empties the slot at hole, then moves back each later item of the
//  cluster whose home is not between the hole and itself, so that no
//  probe meets an empty slot before its id.
static void
s_shift_back(zj_idmap_t *self, size_t hole)
{
    size_t mask = self->capacity - 1;
    size_t position = hole;
    for (;;) {
        position = (position + 1) & mask;
        int64_t id = self->slots[position].id;
        if (id == 0)
            break;
        size_t probed = (position - s_home(self, id)) & mask;
        if (probed >= ((position - hole) & mask)) {
            self->slots[hole] = self->slots[position];
            hole = position;
        }
    }
    self->slots[hole].id = 0;
    self->slots[hole].item = NULL;
}

void *
zj_idmap_delete(zj_idmap_t *self, int64_t id)
{
    assert(self);
    size_t position = s_probe(self, id);
    void *item = self->slots[position].item;
    if (item == NULL)
        return NULL;
    s_shift_back(self, position);
    self->size--;
    assert(s_invariants_hold(self));
    return item;
}

size_t
zj_idmap_size(const zj_idmap_t *self)
{
    assert(self);
    return self->size;
}

//  The first item at offset from base or later; remembers where.
static void *
s_scan(zj_idmap_t *self, size_t offset)
{
    size_t mask = self->capacity - 1;
    for (; offset < self->capacity; offset++) {
        zj_idmap_slot_t *slot = &self->slots[(self->base + offset) & mask];
        if (slot->id != 0) {
            self->cursor = offset;
            self->cursor_id = slot->id;
            return slot->item;
        }
    }
    self->cursor = self->capacity;
    return NULL;
}

void *
zj_idmap_first(zj_idmap_t *self)
{
    assert(self);
    if (self->base == ZJ_IDMAP_NONE) {
        //  Under 3/4 load there is always an empty slot.
        size_t position = 0;
        while (self->slots[position].id != 0)
            position++;
        self->base = position;
        self->low = 1;
    }
    void *item = s_scan(self, self->low);
    self->low = self->cursor;
    assert(s_invariants_hold(self));
    return item;
}

void *
zj_idmap_next(zj_idmap_t *self)
{
    assert(self && self->base != ZJ_IDMAP_NONE);
    size_t offset = self->cursor;
    if (offset == self->capacity)
        return NULL;
    //  If the last item was deleted, a later one may have moved into its
    //  slot: look at that slot again.
    size_t position = (self->base + offset) & (self->capacity - 1);
    if (self->slots[position].id == self->cursor_id)
        offset++;
    return s_scan(self, offset);
}
