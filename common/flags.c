//  flags.c - flag values (see flags.h).
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "common/err.h"
#include "common/flags.h"
#include "common/version.h"

#define S_MAX_SIZE ((int64_t) 1 << 40)

static int64_t
s_unit_bytes(const char *unit)
{
    static const struct {
        const char *name;
        int64_t bytes;
    } units[] = {{"", 1},          {"b", 1},        {"k", 1 << 10},
                 {"kib", 1 << 10}, {"m", 1 << 20},  {"mib", 1 << 20},
                 {"g", 1 << 30},   {"gib", 1 << 30}};
    for (size_t index = 0; index < sizeof units / sizeof units[0]; index++)
        if (strcasecmp(unit, units[index].name) == 0)
            return units[index].bytes;
    return -1;
}

int
zj_size_parse(const char *text, int64_t *bytes)
{
    if (text == NULL || !isdigit((unsigned char) *text))
        return ZJ_EUSAGE;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    int64_t unit = s_unit_bytes(end);
    if (errno != 0 || unit < 0 || value > S_MAX_SIZE / unit)
        return ZJ_EUSAGE;
    *bytes = value * unit;
    return 0;
}

const char *
zj_flags_from_env(const char *name)
{
    const char *value = getenv(name);
    return value && *value ? value : NULL;
}

void
zj_flags_print_version(const char *program, int protocol)
{
    printf("%s %s (protocol %d)\n", program, ZJ_VERSION, protocol);
}
