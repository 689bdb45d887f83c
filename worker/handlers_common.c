//  handlers_common.c - what the built-in handlers share (see handlers.h):
//  the one way to reject a job's args, and their shared "check" flag.
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

int
zj_handler_read_check(json_t *root, bool *check_p, char **error_p)
{
    assert(check_p && error_p);
    json_t *check = json_object_get(root, "check");
    *check_p = true;
    if (check == NULL)
        return 0;
    if (!json_is_boolean(check))
        return zj_handler_bad_args(error_p, "'check' must be true or false");
    *check_p = json_is_true(check);
    return 0;
}
