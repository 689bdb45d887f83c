//  cli_batch.c - one line of `zjob submit --batch` (a JSON object) into a
//  job spec, and the args check `zjob submit` applies to every job. Pure
//  functions over text: cli_submit.c reads the lines and sends the jobs,
//  tests/fuzz/fuzz_batch.c feeds it lines directly.
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/duration.h"
#include "common/json.h"
#include "common/why.h"
#include "proto/limits.h"
#include "proto/msg.h"

int
zj_cli_check_args(const char *args, char *why)
{
    size_t size = strlen(args);
    if (size > ZJ_MAX_ARGS) {
        zj_why_set(why, "args are %zu bytes, over %d", size, ZJ_MAX_ARGS);
        return -1;
    }
    return zj_json_check(args, size, ZJ_MAX_DEPTH, why) ? -1 : 0;
}

//  The fewest significant digits that print every real in value so it
//  reads back the same: 0.6 stays "0.6", not "0.59999999999999998".
static int
s_real_digits(const json_t *value)
{
    int digits = 1;
    if (json_is_real(value)) {
        double real = json_real_value(value);
        char text[32];
        for (; digits < 17; digits++) {
            snprintf(text, sizeof text, "%.*g", digits, real);
            if (strtod(text, NULL) == real)
                break;
        }
    }
    size_t index;
    const char *key;
    json_t *member;
    if (json_is_array(value))
        json_array_foreach(value, index, member) {
            int inner = s_real_digits(member);
            digits = inner > digits ? inner : digits;
        }
    if (json_is_object(value))
        json_object_foreach((json_t *) value, key, member) {
            int inner = s_real_digits(member);
            digits = inner > digits ? inner : digits;
        }
    return digits;
}

//  A batch line's args as compact JSON text, numbers as written.
static char *
s_args_text(const json_t *value)
{
    size_t flags = JSON_ENCODE_ANY | JSON_COMPACT |
                   JSON_REAL_PRECISION(s_real_digits(value));
    return json_dumps(value, flags);
}

//  A duration member of a batch line: "2s" or a number of seconds.
static int
s_line_duration(json_t *value, int64_t *ms)
{
    if (json_is_string(value))
        return zj_duration_parse(json_string_value(value), ms) ? -1 : 0;
    if (!json_is_number(value) || json_number_value(value) < 0 ||
        json_number_value(value) > 9.0e12)
        return -1;
    *ms = (int64_t) (json_number_value(value) * 1000.0 + 0.5);
    return 0;
}

//  An integer member of a batch line, within [min, max].
static int
s_line_int(json_t *value, int32_t min, int32_t max, int32_t *out)
{
    if (!json_is_integer(value) || json_integer_value(value) < min ||
        json_integer_value(value) > max)
        return -1;
    *out = (int32_t) json_integer_value(value);
    return 0;
}

//  The "after" member of a batch line: an array of job ids (integers >= 1),
//  into an array spec owns.
static int
s_line_after(zjob_spec_t *spec, json_t *value, char *why)
{
    size_t count = json_array_size(value);
    if (!json_is_array(value) || count > ZJ_MAX_AFTER) {
        zj_why_set(why, "bad \"after\" (an array of up to %d job ids)",
                   ZJ_MAX_AFTER);
        return -1;
    }
    int64_t *ids = zj_cli_checked(calloc(count ? count : 1, sizeof *ids));
    for (size_t index = 0; index < count; index++) {
        json_t *id = json_array_get(value, index);
        if (!json_is_integer(id) || json_integer_value(id) < 1) {
            free(ids);
            zj_why_set(why, "bad \"after\": item %zu is not a job id",
                       index + 1);
            return -1;
        }
        ids[index] = json_integer_value(id);
    }
    spec->after = ids;
    spec->after_count = count;
    return 0;
}

//  The "unique" member of a batch line: a key, into a string spec owns.
static int
s_line_unique(zjob_spec_t *spec, json_t *value, char *why)
{
    const char *key = json_string_value(value);
    if (!zj_unique_key_is_valid(key)) {
        zj_why_set(why,
                   "bad \"unique\" (a string of 1..%d bytes without control "
                   "characters)",
                   ZJ_MAX_UNIQUE);
        return -1;
    }
    spec->unique = strdup(key);
    return 0;
}

//  Fills spec from one member of a batch line. Returns 0, or -1 with a
//  reason in why.
static int
s_line_member(zjob_spec_t *spec, const char *key, json_t *value, char *why)
{
    if (strcmp(key, "kind") == 0) {
        const char *kind = json_string_value(value);
        if (!zj_kind_name_is_valid(kind)) {
            zj_why_set(why,
                       "\"kind\" must be 1..%d characters "
                       "of [A-Za-z0-9_.:-]",
                       ZJ_MAX_KIND);
            return -1;
        }
        spec->kind = strdup(kind);
        return 0;
    }
    if (strcmp(key, "args") == 0) {
        char *args = s_args_text(value);
        spec->args = args;
        return args && zj_cli_check_args(args, why) == 0 ? 0 : -1;
    }
    if (strcmp(key, "after") == 0)
        return s_line_after(spec, value, why);
    if (strcmp(key, "unique") == 0)
        return s_line_unique(spec, value, why);
    int rc = -1;
    if (strcmp(key, "priority") == 0)
        rc = s_line_int(value, INT32_MIN, INT32_MAX, &spec->priority);
    else if (strcmp(key, "retries") == 0)
        rc = s_line_int(value, 0, ZJ_CLI_MAX_RETRIES, &spec->retries);
    else if (strcmp(key, "timeout") == 0)
        rc = s_line_duration(value, &spec->timeout_ms);
    else if (strcmp(key, "delay") == 0)
        rc = s_line_duration(value, &spec->delay_ms);
    else if (strcmp(key, "backoff") == 0)
        rc = s_line_duration(value, &spec->backoff_ms);
    else if (strcmp(key, "unique_for") == 0)
        rc = s_line_duration(value, &spec->unique_for_ms) ||
                     spec->unique_for_ms < 1 ||
                     spec->unique_for_ms > ZJ_MAX_UNIQUE_FOR_MS
                 ? -1
                 : 0;
    else {
        zj_why_set(why, "unknown key \"%.40s\"", key);
        return -1;
    }
    if (rc)
        zj_why_set(why, "bad \"%s\" (%s)", key,
                   strcmp(key, "priority") == 0     ? "an integer"
                   : strcmp(key, "retries") == 0    ? "an integer >= 0"
                   : strcmp(key, "unique_for") == 0 ? "a duration of 1ms..366d"
                                                    : "a duration like \"2s\"");
    return rc;
}

//  Fills spec from the members of object, in order; stops at the first
//  bad one. Returns 0, or -1 with a reason in why.
static int
s_line_object(json_t *object, zjob_spec_t *spec, char *why)
{
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        if (s_line_member(spec, key, value, why))
            return -1;
    }
    if (spec->kind == NULL) {
        zj_why_set(why, "\"kind\" is missing");
        return -1;
    }
    if (spec->unique == NULL && json_object_get(object, "unique_for")) {
        zj_why_set(why, "\"unique_for\" needs \"unique\"");
        return -1;
    }
    return 0;
}

int
zj_cli_batch_line(const char *line, const zjob_spec_t *defaults,
                  zjob_spec_t *spec, char *why)
{
    *spec = *defaults;
    spec->kind = NULL;
    spec->args = NULL;
    json_error_t error;
    json_t *object = json_loads(line, JSON_REJECT_DUPLICATES, &error);
    if (object == NULL) {
        zj_why_set(why, "invalid JSON at column %d: %s", error.column,
                   error.text);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(object))
        zj_why_set(why, "not a JSON object");
    else
        rc = s_line_object(object, spec, why);
    json_decref(object);
    if (rc) {
        free((char *) spec->kind);
        free((char *) spec->args);
        if (spec->after != defaults->after)
            free((int64_t *) spec->after);
        if (spec->unique != defaults->unique)
            free((char *) spec->unique);
        spec->kind = NULL;
        spec->args = NULL;
        spec->unique = defaults->unique;
        spec->after = defaults->after;
        spec->after_count = defaults->after_count;
    }
    return rc;
}
