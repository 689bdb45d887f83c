//  json.c - JSON validity and depth checks (see json.h).
#include <jansson.h>
#include <stdio.h>

#include "common/err.h"
#include "common/json.h"
#include "proto/limits.h"

static int
s_depth(const json_t *value)
{
    int deepest = 0;
    if (json_is_object(value)) {
        const char *key;
        json_t *member;
        json_object_foreach((json_t *) value, key, member) {
            int depth = s_depth(member);
            if (depth > deepest)
                deepest = depth;
        }
        return deepest + 1;
    }
    if (json_is_array(value)) {
        size_t index;
        json_t *member;
        json_array_foreach(value, index, member) {
            int depth = s_depth(member);
            if (depth > deepest)
                deepest = depth;
        }
        return deepest + 1;
    }
    return 0;
}

int
zj_json_check(const char *text, size_t size, int max_depth, char *why)
{
    json_error_t error;
    json_t *value =
        json_loadb(text, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
                   &error);
    if (value == NULL) {
        snprintf(why, ZJ_WHY_SIZE, "invalid JSON at line %d column %d: %s",
                 error.line, error.column, error.text);
        return ZJ_EJSON;
    }
    int depth = s_depth(value);
    json_decref(value);
    if (depth > max_depth) {
        snprintf(why, ZJ_WHY_SIZE, "JSON nested %d deep > %d", depth,
                 max_depth);
        return ZJ_EJSON;
    }
    return 0;
}
