//  handlers_common.c - what the built-in handlers share (see handlers.h):
//  the one way to reject a job's args.
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "worker/handlers.h"

int
zj_handler_bad_args(char **error_p, const char *format, ...)
{
    assert(error_p && format);
    char reason[ZJ_MAX_TEXT];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);

    static const char prefix[] = "bad args: ";
    size_t size = sizeof prefix + strlen(reason);
    *error_p = malloc(size);
    assert(*error_p);
    snprintf(*error_p, size, "%s%s", prefix, reason);
    return ZJOB_FAILED_FINAL; //  The same args would fail again
}
