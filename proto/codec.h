//  codec.h - msgpack encode and decode of zj_msg_t frames.
//  The only interface to the wire format; the only user of <msgpack.h>.
//  Used by all three programs. Never crashes on any input.
#ifndef ZJ_CODEC_H
#define ZJ_CODEC_H

#include <stddef.h>

#include "proto/limits.h"
#include "proto/msg.h"

//  Encodes msg into a new buffer (caller frees *data_p with free()).
//  Returns 0, or ZJ_ETOOBIG if the frame would exceed ZJ_MAX_FRAME, or
//  ZJ_EPROTO if msg breaks the rules of its type (why says which).
int zj_msg_encode(const zj_msg_t *msg, char **data_p, size_t *size_p,
                  char *why);

//  Decodes and validates one frame. On success returns 0 and sets *msg_p
//  (caller owns). On failure returns ZJ_EPROTO, ZJ_EVERSION, ZJ_ETOOBIG or
//  ZJ_EJSON, leaves *msg_p NULL and writes a one-line reason into
//  why[ZJ_WHY_SIZE]. Args and result texts are checked to be valid JSON
//  within ZJ_MAX_DEPTH. If the frame had a readable "req", *req_p (may be
//  NULL) receives it even on failure, so the ERROR reply can echo it.
int zj_msg_decode(const void *data, size_t size, zj_msg_t **msg_p,
                  uint64_t *req_p, char *why);

#endif
