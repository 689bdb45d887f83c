//  why.c - writing one-line reasons into why buffers (see why.h).
//  Shared by proto/ and every program, so a reason is formatted, nested
//  and quoted the same way wherever it is decided.
#include <stdarg.h>
#include <stdio.h>

#include "common/why.h"

int
zj_why_fail(int code, char *why, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(why, ZJ_WHY_SIZE, format, args);
    va_end(args);
    return code;
}

void
zj_why_set(char *why, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(why, ZJ_WHY_SIZE, format, args);
    va_end(args);
}

int
zj_why_prefix(int code, char *why, const char *what, size_t index)
{
    char inner[ZJ_WHY_SIZE];
    snprintf(inner, sizeof(inner), "%s", why);
    snprintf(why, ZJ_WHY_SIZE, "%s %zu: %.200s", what, index, inner);
    return code;
}

void
zj_why_quote(char *out, const char *text, size_t size)
{
    size_t count = size < ZJ_WHY_QUOTE_MAX ? size : ZJ_WHY_QUOTE_MAX;
    for (size_t index = 0; index < count; index++) {
        unsigned char c = (unsigned char) text[index];
        out[index] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    out[count] = '\0';
}
