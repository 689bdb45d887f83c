//  err.c - names and texts of the zjob error table (see err.h).
#include <stdbool.h>

#include "common/err.h"

const char *
zj_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define XX(name, text)                                                         \
    case ZJ_##name:                                                            \
        return text;
        ZJ_ERR_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *
zj_errname(int code)
{
    switch (code) {
#define XX(name, text)                                                         \
    case ZJ_##name:                                                            \
        return #name;
        ZJ_ERR_MAP(XX)
#undef XX
    default:
        return "UNKNOWN";
    }
}

bool
zj_err_is_valid(int code)
{
    return code > ZJ_ERR_BASE && code < ZJ_ERR_END;
}
