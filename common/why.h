//  why.h - writing the one-line reasons of char why[ZJ_WHY_SIZE] buffers.
//  Whatever refuses outside input (proto/'s decoder and rules, the JSON
//  scanner, key files, the store's opening, batch lines, the worker's
//  kinds) fails through these, so every reason is built alike.
#ifndef ZJ_WHY_H
#define ZJ_WHY_H

#include <stddef.h>

#define ZJ_WHY_SIZE 256 //  Bytes of a one-line reason, NUL included

//  Bytes of a foreign string quoted back in a reason.
#define ZJ_WHY_QUOTE_MAX 40

//  Formats a reason into why[ZJ_WHY_SIZE] (truncating) and returns code,
//  so a failure site reads `return zj_why_fail(ZJ_EPROTO, why, ...)`.
int zj_why_fail(int code, char *why, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

//  Formats a reason into why[ZJ_WHY_SIZE] (truncating), for a site that
//  decides its return code elsewhere.
void zj_why_set(char *why, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  Rewrites the reason already in why as "what index: reason", for a
//  failure inside the index'th item of a batch. Returns code.
int zj_why_prefix(int code, char *why, const char *what, size_t index);

//  Copies at most ZJ_WHY_QUOTE_MAX bytes of text (size bytes, need not be
//  NUL-terminated) into out[ZJ_WHY_QUOTE_MAX + 1], each byte that is not
//  printable ASCII as '?', and NUL-terminates it.
void zj_why_quote(char *out, const char *text, size_t size);

#endif
