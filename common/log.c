//  log.c - levelled key=value logging through czmq's zsys (see log.h).
#include <czmq.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "common/log.h"

static zj_log_level_t s_level = ZJ_LOG_INFO;

int
zj_log_parse_level(const char *name, zj_log_level_t *level)
{
    static const char *names[] = {"error", "warning", "info", "debug"};
    for (int index = 0; name && index < 4; index++)
        if (streq(name, names[index])) {
            *level = (zj_log_level_t) index;
            return 0;
        }
    return -1;
}

static zj_log_level_t
s_level_from_env(zj_log_level_t fallback)
{
    zj_log_level_t level = fallback;
    zj_log_parse_level(getenv("ZJOB_LOG"), &level);
    return level;
}

int
zj_log_set_level_name(const char *name)
{
    return zj_log_parse_level(name, &s_level);
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
