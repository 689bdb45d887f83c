//  log.c - levelled key=value logging through czmq's zsys (see log.h).
#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "common/log.h"

static zj_log_level_t s_level = ZJ_LOG_INFO;

static zj_log_level_t
s_level_from_env(zj_log_level_t fallback)
{
    const char *name = getenv("ZJOB_LOG");
    if (name == NULL)
        return fallback;
    if (streq(name, "error"))
        return ZJ_LOG_ERROR;
    if (streq(name, "warning"))
        return ZJ_LOG_WARNING;
    if (streq(name, "info"))
        return ZJ_LOG_INFO;
    if (streq(name, "debug"))
        return ZJ_LOG_DEBUG;
    return fallback;
}

void
zj_log_init(const char *ident, zj_log_level_t level)
{
    zsys_set_logident(ident);
    zsys_set_logstream(stderr);
    s_level = s_level_from_env(level);
}

bool
zj_log_enabled(zj_log_level_t level)
{
    return level <= s_level;
}

static void
s_write(zj_log_level_t level, const char *format, va_list args)
{
    char line[2048];
    vsnprintf(line, sizeof line, format, args);
    switch (level) {
    case ZJ_LOG_ERROR:
        zsys_error("%s", line);
        break;
    case ZJ_LOG_WARNING:
        zsys_warning("%s", line);
        break;
    case ZJ_LOG_INFO:
        zsys_info("%s", line);
        break;
    case ZJ_LOG_DEBUG:
        zsys_debug("%s", line);
        break;
    }
}

#define ZJ_LOG_FUNCTION(name, level)                                           \
    void name(const char *format, ...)                                         \
    {                                                                          \
        if (!zj_log_enabled(level))                                            \
            return;                                                            \
        va_list args;                                                          \
        va_start(args, format);                                                \
        s_write(level, format, args);                                          \
        va_end(args);                                                          \
    }

ZJ_LOG_FUNCTION(zj_log_error, ZJ_LOG_ERROR)
ZJ_LOG_FUNCTION(zj_log_warning, ZJ_LOG_WARNING)
ZJ_LOG_FUNCTION(zj_log_info, ZJ_LOG_INFO)
ZJ_LOG_FUNCTION(zj_log_debug, ZJ_LOG_DEBUG)

void
zj_log_errno(const char *format, ...)
{
    int saved = errno;
    char line[1800];
    va_list args;
    va_start(args, format);
    vsnprintf(line, sizeof line, format, args);
    va_end(args);
    zj_log_error("%s error=\"%s\"", line, strerror(saved));
}
