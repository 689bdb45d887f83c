//  prescan.c - the bounds walk over raw msgpack bytes (see prescan.h).
//  Walks the frame without allocating, so that every declared length fits
//  in the bytes that follow it, no container is over ZJ_MAX_BATCH, nesting
//  stays shallow and nothing trails the frame. Knows msgpack's type bytes
//  only, not msgpack-c. Used by proto/codec.c; bounds in PROTOCOL.md.
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/why.h"
#include "proto/limits.h"
#include "proto/prescan.h"

//  Containers nested in one frame; a frame uses 4 (root, workers, worker,
//  kinds), the rest is room for new fields. msgpack-c stops at 32.
#define S_MAX_NESTING 16
//  msgpack objects in one frame, so a frame of tiny objects cannot make
//  msgpack-c's zone 24 times its size. Far above any real batch.
#define S_MAX_OBJECTS (ZJ_MAX_BATCH * 256)

typedef enum { S_SCALAR, S_ARRAY, S_MAP } s_shape_t;

static size_t
s_big_endian(const uint8_t *data, size_t width)
{
    size_t value = 0;
    for (size_t index = 0; index < width; index++)
        value = value << 8 | data[index];
    return value;
}

//  Type bytes 0xc0..0xdf: shape, width of the length field, and payload
//  bytes always present (a number's bytes, an ext's type byte). A width
//  of 0xff marks 0xc1, which msgpack never uses.
static const struct {
    uint8_t shape, width, fixed;
} s_headers[32] = {
    // clang-format off
    {S_SCALAR, 0, 0}, {S_SCALAR, 0xff, 0}, {S_SCALAR, 0, 0}, {S_SCALAR, 0, 0},
    {S_SCALAR, 1, 0}, {S_SCALAR, 2, 0},    {S_SCALAR, 4, 0}, {S_SCALAR, 1, 1},
    {S_SCALAR, 2, 1}, {S_SCALAR, 4, 1},    {S_SCALAR, 0, 4}, {S_SCALAR, 0, 8},
    {S_SCALAR, 0, 1}, {S_SCALAR, 0, 2},    {S_SCALAR, 0, 4}, {S_SCALAR, 0, 8},
    {S_SCALAR, 0, 1}, {S_SCALAR, 0, 2},    {S_SCALAR, 0, 4}, {S_SCALAR, 0, 8},
    {S_SCALAR, 0, 2}, {S_SCALAR, 0, 3},    {S_SCALAR, 0, 5}, {S_SCALAR, 0, 9},
    {S_SCALAR, 0, 17}, {S_SCALAR, 1, 0},   {S_SCALAR, 2, 0}, {S_SCALAR, 4, 0},
    {S_ARRAY, 2, 0},  {S_ARRAY, 4, 0},     {S_MAP, 2, 0},    {S_MAP, 4, 0},
    // clang-format on
};

//  Reads one type byte: its shape, the width of its length field, and the
//  payload bytes it always has. Returns -1 for the unused byte 0xc1.
static int
s_header(uint8_t byte, s_shape_t *shape, size_t *width, size_t *fixed)
{
    *shape = S_SCALAR;
    *width = 0;
    *fixed = 0;
    if (byte >= 0x80 && byte <= 0x8f)
        *shape = S_MAP;
    else if (byte >= 0x90 && byte <= 0x9f)
        *shape = S_ARRAY;
    if (byte >= 0x80 && byte <= 0x9f)
        *fixed = byte & 0x0f;
    else if (byte >= 0xa0 && byte <= 0xbf)
        *fixed = byte & 0x1f;
    else if (byte >= 0xc0 && byte <= 0xdf) {
        *shape = (s_shape_t) s_headers[byte - 0xc0].shape;
        *width = s_headers[byte - 0xc0].width;
        *fixed = s_headers[byte - 0xc0].fixed;
    }
    return *width == 0xff ? -1 : 0;
}

//  Skips the object at *at_p with all it holds, without a depth limit: it
//  counts the objects left instead of keeping a stack, and every object
//  costs a byte, so the walk ends. Returns -1 when the bytes end first.
static int
s_skip(const uint8_t *data, size_t size, size_t *at_p)
{
    size_t left = 1;
    size_t at = *at_p;
    while (left > 0) {
        left--;
        s_shape_t shape;
        size_t width, length;
        if (at >= size || s_header(data[at++], &shape, &width, &length) ||
            width > size - at)
            return -1;
        length += s_big_endian(data + at, width);
        at += width;
        size_t children = shape == S_MAP     ? 2 * length
                          : shape == S_ARRAY ? length
                                             : 0;
        if (shape == S_SCALAR && length > size - at)
            return -1;
        at += shape == S_SCALAR ? length : 0;
        if (children > size - at)
            return -1;
        left += children;
    }
    *at_p = at;
    return 0;
}

//  Reads a non-negative msgpack integer at data[at]. Returns -1 if there
//  is none.
static int
s_read_uint(const uint8_t *data, size_t size, size_t at, uint64_t *value)
{
    uint8_t byte = data[at++];
    size_t width = byte <= 0x7f                   ? 0
                   : byte >= 0xcc && byte <= 0xcf ? (size_t) 1 << (byte - 0xcc)
                   : byte >= 0xd0 && byte <= 0xd3 ? (size_t) 1 << (byte - 0xd0)
                                                  : 9;
    if (width == 9 || width > size - at)
        return -1;
    if (byte >= 0xd0 && (data[at] & 0x80))
        return -1; //  A negative signed integer
    *value = width ? s_big_endian(data + at, width) : byte;
    return 0;
}

int
zj_prescan_req(const void *frame, size_t size, uint64_t *req)
{
    assert(frame || size == 0);
    assert(req);
    const uint8_t *data = frame;
    s_shape_t shape;
    size_t width, count;
    if (size == 0 || s_header(data[0], &shape, &width, &count) ||
        shape != S_MAP || width > size - 1)
        return -1;
    count += s_big_endian(data + 1, width);
    size_t at = 1 + width;
    for (size_t entry = 0; entry < count && at < size; entry++) {
        size_t key = at;
        if (s_skip(data, size, &at) || at >= size)
            return -1;
        if (at - key == 4 && memcmp(data + key, "\xa3req", 4) == 0)
            return s_read_uint(data, size, at, req);
        if (s_skip(data, size, &at))
            return -1;
    }
    return -1;
}

int
zj_prescan_check(const void *frame, size_t size, char *why)
{
    assert(frame || size == 0);
    assert(why);
    const uint8_t *data = frame;
    size_t pending[S_MAX_NESTING + 1] = {1}; //  Objects left per level
    int depth = 0;
    size_t at = 0;
    size_t objects = 0;
    while (pending[depth] > 0 || depth > 0) {
        if (pending[depth] == 0) {
            depth--;
            continue;
        }
        pending[depth]--;
        if (at >= size)
            return zj_why_fail(ZJ_EPROTO, why, "frame truncated at byte %zu",
                               at);
        if (++objects > S_MAX_OBJECTS)
            return zj_why_fail(ZJ_ETOOBIG, why, "frame holds over %d objects",
                               S_MAX_OBJECTS);
        uint8_t byte = data[at++];
        s_shape_t shape;
        size_t width, length;
        if (s_header(byte, &shape, &width, &length))
            return zj_why_fail(ZJ_EPROTO, why,
                               "byte 0x%02x at %zu is not msgpack", byte,
                               at - 1);
        if (width > size - at)
            return zj_why_fail(ZJ_EPROTO, why, "frame truncated at byte %zu",
                               at);
        length += s_big_endian(data + at, width);
        at += width;
        if (shape == S_SCALAR) {
            if (length > size - at)
                return zj_why_fail(ZJ_EPROTO, why,
                                   "frame truncated: %zu bytes declared at %zu",
                                   length, at);
            at += length;
            continue;
        }
        if (length > ZJ_MAX_BATCH)
            return zj_why_fail(ZJ_ETOOBIG, why, "%s %zu > ZJ_MAX_BATCH %d",
                               shape == S_MAP ? "map of" : "batch", length,
                               ZJ_MAX_BATCH);
        size_t children = shape == S_MAP ? 2 * length : length;
        if (children > size - at)
            return zj_why_fail(ZJ_EPROTO, why,
                               "frame truncated: %zu objects declared at %zu",
                               children, at);
        if (depth == S_MAX_NESTING)
            return zj_why_fail(ZJ_EPROTO, why, "msgpack nested over %d deep",
                               S_MAX_NESTING);
        pending[++depth] = children;
    }
    if (at != size)
        return zj_why_fail(ZJ_EPROTO, why, "%zu trailing bytes after the map",
                           size - at);
    return 0;
}
