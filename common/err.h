//  err.h - the one table of zjob error codes.
//  Every fallible function returns 0 or one of these (negative) codes; ERROR
//  replies carry them on the wire, and the CLI maps them to exit codes.
#ifndef ZJ_ERR_H
#define ZJ_ERR_H

#include <stdbool.h>

#define ZJ_ERR_MAP(XX)                                                         \
    XX(EPROTO, "malformed message")                                            \
    XX(EVERSION, "unsupported protocol version")                               \
    XX(ETOOBIG, "over a protocol limit")                                       \
    XX(ETYPE, "message type not allowed here")                                 \
    XX(EKIND, "unknown job kind")                                              \
    XX(EARGS, "bad job args")                                                  \
    XX(EJSON, "invalid JSON")                                                  \
    XX(ENOTFOUND, "no such job")                                               \
    XX(ESTATE, "job is not in a state that allows this")                       \
    XX(ESTORE, "store error")                                                  \
    XX(ESEND, "send failed")                                                   \
    XX(EUNREACH, "coordinator unreachable")                                    \
    XX(ETIMEOUT, "timed out")                                                  \
    XX(ECANCELLED, "cancelled")                                                \
    XX(ECRASH, "process crashed")                                              \
    XX(ENOMEM, "out of memory")                                                \
    XX(EUSAGE, "usage error")                                                  \
    XX(ESYS, "system call failed")                                             \
    XX(EDENIED, "not allowed")                                                 \
    XX(EINUSE, "name held by another worker")

enum {
    ZJ_ERR_BASE = -1000, //  Far from -errno values
// clang-format off
    //  (clang-format would indent ZJ_ERR_END as a continued statement.)
#define XX(name, text) ZJ_##name,
    ZJ_ERR_MAP(XX)
#undef XX
    ZJ_ERR_END
    // clang-format on
};

//  Returns a static one-line description of code (a ZJ_E* value, or 0).
const char *zj_strerror(int code);

//  Returns the code's name without prefix ("EPROTO"), or "UNKNOWN".
const char *zj_errname(int code);

//  Returns true if code is one of the ZJ_E* values.
bool zj_err_is_valid(int code);

#endif
