//  prescan.h - the bounds walk over raw msgpack bytes, before unpacking.
//  Used by proto/codec.c on every frame it decodes and every frame it
//  encodes, so that msgpack-c never allocates for lengths the frame cannot
//  hold. Works on bytes alone; it does not include <msgpack.h>.
#ifndef ZJ_PRESCAN_H
#define ZJ_PRESCAN_H

#include <stddef.h>
#include <stdint.h>

//  Walks size bytes of msgpack at data without allocating and checks that
//  they hold exactly one object: every declared length fits in the bytes
//  that follow it, no array or map holds over ZJ_MAX_BATCH items,
//  containers nest at most 16 deep, the frame holds at most
//  ZJ_MAX_BATCH * 256 objects and nothing trails it. Returns 0, or
//  ZJ_EPROTO or ZJ_ETOOBIG with a one-line reason in why[ZJ_WHY_SIZE].
//  Borrows data; data may be NULL only when size is 0.
int zj_prescan_check(const void *data, size_t size, char *why);

//  Finds the frame's "req" in the raw bytes of a frame the walk above
//  refused, so that its ERROR can still carry it: reads the top map's
//  entries up to the first key "req" (as a fixstr) and its value, if that
//  is a non-negative integer, into *req. Skips values of any depth and
//  length the bytes hold. Returns 0, or -1 when no req can be read (bytes
//  end or turn bad before it). Borrows data.
int zj_prescan_req(const void *data, size_t size, uint64_t *req);

#endif
