//  idmap.c - zhashx with int64 keys (see idmap.h).
#include "common/idmap.h"

static size_t
s_hash(const void *key)
{
    uint64_t id = (uint64_t) *(const int64_t *) key;
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t) id;
}

static int
s_compare(const void *a, const void *b)
{
    int64_t left = *(const int64_t *) a;
    int64_t right = *(const int64_t *) b;
    return (left > right) - (left < right);
}

zhashx_t *
zj_idmap_new(void)
{
    zhashx_t *map = zhashx_new();
    assert(map);
    zhashx_set_key_hasher(map, s_hash);
    zhashx_set_key_comparator(map, s_compare);
    zhashx_set_key_duplicator(map, NULL);
    zhashx_set_key_destructor(map, NULL);
    return map;
}
