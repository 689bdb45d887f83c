//  log.h - the one logging module of the three programs.
//  Writes through czmq's zsys so czmq's messages and ours share one format.
//  Messages are grep-able key=value facts. The level is checked before
//  formatting. Library code (proto/, client/) never logs.
#ifndef ZJ_LOG_H
#define ZJ_LOG_H

#include <stdbool.h>

typedef enum {
    ZJ_LOG_ERROR,   //  An operator must act
    ZJ_LOG_WARNING, //  Something was rejected or dropped
    ZJ_LOG_INFO,    //  Lifecycle
    ZJ_LOG_DEBUG    //  Per message
} zj_log_level_t;

//  Sets the program's ident ("zjob-worker") and the level. The level can
//  also come from ZJOB_LOG=error|warning|info|debug, which wins.
void zj_log_init(const char *ident, zj_log_level_t level);

//  Parses a level's name (error, warning, info, debug) into *level.
//  Returns 0, or -1 for another name.
int zj_log_parse_level(const char *name, zj_log_level_t *level);

//  Sets the level by its name (a --log-level flag): it wins over
//  ZJOB_LOG. Returns 0, or -1 for an unknown name (nothing changes).
int zj_log_set_level_name(const char *name);

//  Returns true if messages of level are written.
bool zj_log_enabled(zj_log_level_t level);

#define ZJ_PRINTF(a, b) __attribute__((format(printf, a, b)))
void zj_log_error(const char *format, ...) ZJ_PRINTF(1, 2);
void zj_log_warning(const char *format, ...) ZJ_PRINTF(1, 2);
void zj_log_info(const char *format, ...) ZJ_PRINTF(1, 2);
void zj_log_debug(const char *format, ...) ZJ_PRINTF(1, 2);
//  As zj_log_error, with ' error="<strerror(errno)>"' appended.
void zj_log_errno(const char *format, ...) ZJ_PRINTF(1, 2);

#endif
