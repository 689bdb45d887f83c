//  duration.c - duration parsing and the clocks (see duration.h).
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/duration.h"
#include "common/err.h"

//  Units, largest first: in a duration each comes at most once, in
//  this order ("1h30m", not "30m1h").
static const struct {
    const char *name;
    double ms;
} s_units[] = {{"d", 86400000.0},
               {"h", 3600000.0},
               {"ms", 1.0},
               {"m", 60000.0},
               {"s", 1000.0}};

#define ZJ_UNITS (sizeof s_units / sizeof s_units[0])
#define ZJ_MAX_DURATION_MS 9.0e15

//  The rank of a unit by size (d 0 .. ms 4), for the order check.
static int
s_rank(size_t unit)
{
    static const int ranks[ZJ_UNITS] = {0, 1, 4, 2, 3};
    return ranks[unit];
}

//  Digits, and a fraction of one or more digits: the length, or 0.
static size_t
s_number_length(const char *text)
{
    size_t length = strspn(text, "0123456789");
    if (length == 0 || text[length] != '.')
        return length;
    size_t fraction = strspn(text + length + 1, "0123456789");
    return fraction ? length + 1 + fraction : 0;
}

//  The unit at text (the longest name that matches), or ZJ_UNITS.
static size_t
s_unit_at(const char *text)
{
    for (size_t unit = 0; unit < ZJ_UNITS; unit++)
        if (strncmp(text, s_units[unit].name, strlen(s_units[unit].name)) == 0)
            return unit;
    return ZJ_UNITS;
}

int
zj_duration_parse(const char *text, int64_t *ms)
{
    if (text == NULL)
        return ZJ_EUSAGE;
    double total = 0;
    int last_rank = -1;
    const char *at = text;
    do {
        size_t length = s_number_length(at);
        if (length == 0)
            return ZJ_EUSAGE;
        double value = strtod(at, NULL);
        at += length;
        if (*at == '\0' && at - length == text) {
            total = value * 1000.0; //  A bare number is seconds
            break;
        }
        size_t unit = s_unit_at(at);
        if (unit == ZJ_UNITS || s_rank(unit) <= last_rank)
            return ZJ_EUSAGE;
        last_rank = s_rank(unit);
        total += value * s_units[unit].ms;
        at += strlen(s_units[unit].name);
    } while (*at != '\0');
    if (!isfinite(total) || total > ZJ_MAX_DURATION_MS)
        return ZJ_EUSAGE;
    *ms = (int64_t) llround(total);
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
