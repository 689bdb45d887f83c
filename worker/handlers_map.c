//  handlers_map.c - the built-in map kind: fan-out with no C to write.
//  {"kind": K, "items": [a0, a1, ...]} submits one child of kind K per
//  item (the item is its args), awaits them all and returns
//  {"results": [r0, r1, ...]} in item order. Options:
//    "concurrency": N   children running at once (default 0: all, up to
//                       ZJ_MAP_WINDOW_MAX, what one await takes)
//    "collect_errors"   false (default): the first child that fails fails
//                       the map (for good: a retry would find the same
//                       children), and the coordinator cancels the
//                       children not finished yet; true: a failed child's place
//                       holds
//                       {"error": "...", "state": "failed"} and the map
//                       succeeds
//    "timeout_ms", "max_attempts", "priority": each child's options
//  It reports its progress as its children done of all.
#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/idmap.h"
#include "proto/limits.h"
#include "worker/handlers.h"

#define ZJ_MAP_ITEMS_MAX 100000        //  Items of one map
#define ZJ_MAP_WINDOW_MAX ZJ_MAX_BATCH //  Most children one await takes

typedef struct {
    zjob_ctx_t *ctx;      //  The map's job
    json_t *items;        //  The items (borrowed from the args)
    size_t count;         //  Entries in items
    zjob_child_t child;   //  Options every child shares
    size_t window;        //  Children running at once
    size_t refill;        //  Finished children that call for more
    size_t since;         //  Finished since the last refill
    bool collect_errors;  //  A failed child does not fail the map
    char **results;       //  Per item: its result JSON, once known
    int64_t *ids;         //  Per item: its child, once submitted
    zj_idmap_t *items_of; //  child id -> its item + 1, while it runs
    size_t submitted;     //  Items submitted, in order
    size_t finished;      //  Items with a result
    char *failure;        //  The first failure that fails the map
} s_map_t;

static void
s_map_clear(s_map_t *map)
{
    for (size_t index = 0; map->results && index < map->count; index++)
        free(map->results[index]);
    free(map->results);
    free(map->ids);
    free(map->failure);
    zj_idmap_destroy(&map->items_of);
}

//  Reads an optional non-negative integer of args into *value.
static int
s_read_count(json_t *root, const char *key, int64_t high, int64_t *value,
             char **error_p)
{
    json_t *item = json_object_get(root, key);
    if (item == NULL)
        return 0;
    if (!json_is_integer(item) || json_integer_value(item) < 0 ||
        json_integer_value(item) > high)
        return zj_handler_bad_args(
            error_p, "map: '%s' takes an integer 0..%" PRId64, key, high);
    *value = json_integer_value(item);
    return 0;
}

static int
s_read_options(json_t *root, s_map_t *map, char **error_p)
{
    int64_t window = 0, timeout_ms = 0, attempts = 0, priority = 0;
    json_t *collect = json_object_get(root, "collect_errors");
    if (collect && !json_is_boolean(collect))
        return zj_handler_bad_args(error_p, "map: 'collect_errors' is a bool");
    map->collect_errors = json_is_true(collect);
    int rc =
        s_read_count(root, "concurrency", ZJ_MAP_WINDOW_MAX, &window, error_p);
    if (rc == 0)
        rc = s_read_count(root, "timeout_ms", INT64_MAX / 2, &timeout_ms,
                          error_p);
    if (rc == 0)
        rc = s_read_count(root, "max_attempts", 1000, &attempts, error_p);
    if (rc == 0)
        rc = s_read_count(root, "priority", INT32_MAX, &priority, error_p);
    map->window = window > 0 ? (size_t) window : ZJ_MAP_WINDOW_MAX;
    //  Each refill is a new await of what runs: wait for an eighth of
    //  the window to finish first, not for each child.
    map->refill = map->window / 8 > 0 ? map->window / 8 : 1;
    map->child.timeout_ms = timeout_ms;
    map->child.max_attempts = (int32_t) attempts;
    map->child.priority = (int32_t) priority;
    return rc;
}

static int
s_read_args(json_t *root, s_map_t *map, char **error_p)
{
    json_t *kind = json_object_get(root, "kind");
    map->items = json_object_get(root, "items");
    if (!json_is_string(kind) || !json_is_array(map->items))
        return zj_handler_bad_args(
            error_p, "map takes {\"kind\": K, \"items\": [args, ...], "
                     "\"concurrency\": N, \"collect_errors\": false}");
    map->count = json_array_size(map->items);
    if (map->count > ZJ_MAP_ITEMS_MAX)
        return zj_handler_bad_args(error_p, "map: %zu items > %d", map->count,
                                   ZJ_MAP_ITEMS_MAX);
    map->child.kind = json_string_value(kind);
    return s_read_options(root, map, error_p);
}

//  Submits the next items, up to the window, in one call.
static int
s_submit_more(zjob_ctx_t *ctx, s_map_t *map)
{
    size_t running = map->submitted - map->finished;
    size_t take = map->window - running;
    if (take > map->count - map->submitted)
        take = map->count - map->submitted;
    if (take == 0)
        return 0;
    zjob_child_t *children = calloc(take, sizeof *children);
    char **texts = calloc(take, sizeof *texts);
    assert(children && texts);
    for (size_t index = 0; index < take; index++) {
        json_t *item = json_array_get(map->items, map->submitted + index);
        texts[index] = json_dumps(item, JSON_COMPACT | JSON_ENCODE_ANY);
        children[index] = map->child;
        children[index].args = texts[index];
    }
    int64_t *ids = map->ids + map->submitted;
    int rc = zjob_submit_many(ctx, children, take, ids);
    for (size_t index = 0; index < take; index++) {
        free(texts[index]);
        //  A child listed twice (its parent's calls keyed it so) maps to
        //  its first item only; the await hands its outcome once.
        if (rc == 0)
            zj_idmap_insert(map->items_of, ids[index],
                            (void *) (uintptr_t) (map->submitted + index + 1));
    }
    free(texts);
    free(children);
    if (rc == 0)
        map->submitted += take;
    return rc;
}

//  The item whose child is id, among those running; it runs no more.
static size_t
s_item_of(s_map_t *map, int64_t id)
{
    uintptr_t item = (uintptr_t) zj_idmap_delete(map->items_of, id);
    return item > 0 ? (size_t) item - 1 : map->count;
}

//  One child ended: its result takes its item's place. Returns 1 to
//  stop the wait (to submit more, or to fail), else 0.
static int
s_on_completed(void *arg, const zjob_outcome_t *outcome)
{
    s_map_t *map = arg;
    size_t index = s_item_of(map, outcome->id);
    if (index == map->count)
        return 0;
    if (outcome->succeeded)
        map->results[index] =
            strdup(outcome->result ? outcome->result : "null");
    else if (map->collect_errors) {
        json_t *entry = json_pack("{s:s,s:s}", "error",
                                  outcome->error ? outcome->error : "", "state",
                                  outcome->state);
        map->results[index] = json_dumps(entry, JSON_COMPACT);
        json_decref(entry);
    } else {
        char failure[ZJ_MAX_TEXT];
        snprintf(failure, sizeof failure, "item %zu (job %" PRId64 ") %s: %s",
                 index, outcome->id, outcome->state,
                 outcome->error ? outcome->error : "no reason");
        map->failure = strdup(failure);
        return 1;
    }
    map->finished++;
    zjob_progress(map->ctx, (int64_t) map->finished, (int64_t) map->count,
                  "children done");
    if (map->submitted == map->count || ++map->since < map->refill)
        return 0;
    map->since = 0;
    return 1; //  Stop to submit more
}

//  The children submitted that have not finished.
static size_t
s_running_ids(const s_map_t *map, int64_t *ids)
{
    size_t count = 0;
    for (size_t index = 0; index < map->submitted; index++)
        if (map->results[index] == NULL)
            ids[count++] = map->ids[index];
    return count;
}

//  {"results": [...]} from every item's result.
static char *
s_join(const s_map_t *map)
{
    size_t size = 16;
    for (size_t index = 0; index < map->count; index++)
        size += strlen(map->results[index]) + 1;
    char *text = malloc(size);
    assert(text);
    size_t used = (size_t) sprintf(text, "{\"results\":[");
    for (size_t index = 0; index < map->count; index++) {
        size_t length = strlen(map->results[index]);
        if (index > 0)
            text[used++] = ',';
        memcpy(text + used, map->results[index], length);
        used += length;
    }
    memcpy(text + used, "]}", 3);
    return text;
}

//  Submits and awaits every item, the window full as long as items are
//  left. Returns 0, or a failure already in map->failure / *error_p.
static int
s_run(zjob_ctx_t *ctx, s_map_t *map, char **error_p)
{
    int64_t *running = calloc(map->window, sizeof *running);
    assert(running);
    int rc = 0;
    while (rc == 0 && map->failure == NULL && map->finished < map->count) {
        rc = s_submit_more(ctx, map);
        size_t count = rc == 0 ? s_running_ids(map, running) : 0;
        if (count > 0)
            rc = zjob_as_completed(ctx, running, count, s_on_completed, map);
        if (rc == 1)
            rc = 0; //  Stopped to submit more, or failed
    }
    free(running);
    if (rc != 0)
        *error_p =
            strdup(rc == ZJ_ECANCELLED ? "cancelled" : zjob_ctx_error(ctx));
    else if (map->failure) {
        *error_p = map->failure;
        map->failure = NULL;
        rc = ZJOB_FAILED_FINAL;
    }
    return rc;
}

int
zj_handler_map(zjob_ctx_t *ctx, const char *args, char **result_p,
               char **error_p)
{
    json_t *root = json_loads(args, JSON_DECODE_ANY, NULL);
    s_map_t map = {.ctx = ctx};
    int rc = s_read_args(root, &map, error_p);
    if (rc == 0) {
        map.results = calloc(map.count + 1, sizeof *map.results);
        map.ids = calloc(map.count + 1, sizeof *map.ids);
        map.items_of = zj_idmap_new();
        assert(map.results && map.ids);
        rc = s_run(ctx, &map, error_p);
    }
    if (rc == 0)
        *result_p = s_join(&map);
    s_map_clear(&map);
    json_decref(root);
    return rc == 0                   ? 0
           : rc == ZJOB_FAILED_FINAL ? ZJOB_FAILED_FINAL
                                     : ZJOB_FAILED;
}
