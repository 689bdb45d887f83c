//  fuzz_json.c - libFuzzer target for zj_json_check, run by `make fuzz`.
//  Any bytes must be accepted or refused with ZJ_EJSON and a reason. The
//  verdict must be jansson's own (json_loadb with the same flags) combined
//  with a nesting count taken from the text itself, not from the parsed
//  value; an accepted value dumped again, as `zjob submit --batch` does
//  with args, must still be accepted. One deliberate difference: a raw NUL
//  byte is refused wherever it is, while jansson takes one right after a
//  number or a literal ("1\0", "[true\0]": its stream loses a NUL it puts
//  back); no valid JSON text holds a raw NUL. Seeds: seeds/json/.
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "proto/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

//  Deepest nesting of [ and { outside strings. Meaningful for valid JSON
//  only: a scalar is 0 deep, "[]" 1, "[{}]" 2.
static int
s_text_depth(const char *text, size_t size)
{
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t at = 0; at < size; at++) {
        char byte = text[at];
        if (in_string && byte == '\\')
            at++;
        else if (byte == '"')
            in_string = !in_string;
        else if (!in_string && (byte == '[' || byte == '{'))
            deepest = ++depth > deepest ? depth : deepest;
        else if (!in_string && (byte == ']' || byte == '}'))
            depth--;
    }
    return deepest;
}

//  Runs zj_json_check with a why buffer of exactly ZJ_WHY_SIZE bytes on
//  the heap, so that ASan sees a reason written past it. Returns true if
//  it accepted; aborts on a return that is neither 0 nor a clean refusal.
static bool
s_accepts(const char *text, size_t size, int max_depth)
{
    char *why = malloc(ZJ_WHY_SIZE);
    why[0] = '\0';
    int rc = zj_json_check(text, size, max_depth, why);
    if (rc != 0 && (rc != ZJ_EJSON || why[0] == '\0' ||
                    memchr(why, '\0', ZJ_WHY_SIZE) == NULL))
        abort();
    free(why);
    return rc == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *) data;
    bool accepted = s_accepts(text, size, ZJ_MAX_DEPTH);
    if (memchr(text, '\0', size) != NULL) {
        if (accepted)
            abort();
        return 0;
    }
    json_error_t error;
    json_t *value = json_loadb(
        text, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
    if (value == NULL) {
        if (accepted)
            abort();
        return 0;
    }
    int depth = s_text_depth(text, size);
    if (accepted != (depth <= ZJ_MAX_DEPTH))
        abort();
    if (!s_accepts(text, size, depth) ||
        (depth > 0 && s_accepts(text, size, depth - 1)))
        abort();
    char *dumped = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
    if (dumped == NULL || !s_accepts(dumped, strlen(dumped), depth))
        abort();
    free(dumped);
    json_decref(value);
    return 0;
}
