//  duration.c - duration parsing and the clocks (see duration.h).
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/duration.h"
#include "common/err.h"

static double
s_unit_ms(const char *unit)
{
    if (*unit == '\0' || strcmp(unit, "s") == 0)
        return 1000.0;
    if (strcmp(unit, "ms") == 0)
        return 1.0;
    if (strcmp(unit, "m") == 0)
        return 60000.0;
    if (strcmp(unit, "h") == 0)
        return 3600000.0;
    return -1.0;
}

int
zj_duration_parse(const char *text, int64_t *ms)
{
    if (text == NULL || *text == '\0' || *text == '-' || *text == '+')
        return ZJ_EUSAGE;
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || !isfinite(value) || value < 0)
        return ZJ_EUSAGE;
    double unit = s_unit_ms(end);
    if (unit < 0 || value * unit > 9.0e15)
        return ZJ_EUSAGE;
    *ms = (int64_t) llround(value * unit);
    return 0;
}

double
zj_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (double) now.tv_sec + (double) now.tv_nsec / 1e9;
}

int64_t
zj_mono_ms(void)
{
    return zj_mono_us() / 1000;
}

int64_t
zj_mono_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}
