//  idmap.h - a zhashx keyed by int64 job ids, stored in the items.
//  The key is a pointer to an int64_t that lives inside the item, so
//  nothing is duplicated or freed for keys.
#ifndef ZJ_IDMAP_H
#define ZJ_IDMAP_H

#include <czmq.h>

//  Creates a zhashx whose keys are const int64_t * (borrowed from items).
zhashx_t *zj_idmap_new(void);

#endif
