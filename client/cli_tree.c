//  cli_tree.c - `zjob tree ID`: a job, the children its handler made
//  (zjob_submit, map) and the jobs it runs after (--after), and theirs in
//  turn, level by level: one STATUS per level, one LIST per job for its
//  children. A drawn tree on a terminal; JSON lines (each job once, in the
//  tree's order, with its depth and how it hangs from the line above)
//  when piped or with --json.
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"

#define S_MAX_JOBS 10000 //  Jobs fetched at most
#define S_MAX_DEPTH 100  //  Levels shown at most

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] tree ID\n"
    "\n"
    "Shows job ID and under it the children its handler submitted (a\n"
    "map's items; drawn \"child\") and the jobs it runs after (zjob submit\n"
    "--after), each with its own in turn: id, kind, state and how long it\n"
    "ran. A job reached twice (a diamond) is drawn once and then named. On\n"
    "a terminal, a tree; else JSON lines, each job once in the tree's\n"
    "order, its record with \"depth\" (ID's is 0) and \"relation\"\n"
    "(\"child\" or \"after\"). At most 10000 jobs and 100 levels.\n"
    "\n"
    "Options:\n"
    ZJ_CLI_HELP_COORDINATOR
    "  --json             JSON lines even on a terminal\n"
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 shown, 2 usage error or no such job, 3 coordinator\n"
    "unreachable.\n";
// clang-format on

//  Ids to fetch.
typedef struct {
    int64_t *ids;
    size_t count;
    size_t capacity;
} s_ids_t;

typedef struct {
    json_t *records; //  id (decimal) -> the job's record (zj_cli_job_json)
    json_t *kids;    //  id (decimal) -> array of its children's ids
    s_ids_t next;    //  Ids of the next level, not fetched yet
    s_ids_t parents; //  Jobs fetched whose children are not listed yet
} s_tree_t;

static void
s_push(s_ids_t *ids, int64_t id)
{
    if (ids->count == ids->capacity) {
        ids->capacity = ids->capacity ? ids->capacity * 2 : 16;
        ids->ids =
            zj_cli_checked(realloc(ids->ids, ids->capacity * sizeof(int64_t)));
    }
    ids->ids[ids->count++] = id;
}

static void
s_key(int64_t id, char *key, size_t size)
{
    snprintf(key, size, "%lld", (long long) id);
}

static json_t *
s_record(s_tree_t *tree, int64_t id)
{
    char key[24];
    s_key(id, key, sizeof key);
    return json_object_get(tree->records, key);
}

//  Queues id for the next level unless it is known or queued already.
static void
s_want(s_tree_t *tree, int64_t id)
{
    if (s_record(tree, id))
        return;
    for (size_t index = 0; index < tree->next.count; index++)
        if (tree->next.ids[index] == id)
            return;
    s_push(&tree->next, id);
}

//  Keeps a job's record; what it runs after goes to the next level, and
//  its children are to be listed.
static void
s_keep(s_tree_t *tree, const zjob_job_t *job)
{
    char key[24];
    s_key(job->id, key, sizeof key);
    if (json_object_get(tree->records, key))
        return;
    json_object_set_new(tree->records, key, zj_cli_job_json(job));
    for (size_t index = 0; index < job->after_count; index++)
        s_want(tree, job->after[index]);
    s_push(&tree->parents, job->id);
}

static void
s_on_job(void *arg, const zjob_job_t *job)
{
    if (strcmp(job->state, "unknown") != 0)
        s_keep(arg, job);
}

//  One child of a listed parent: arg is {tree, the parent's kids array}.
static void
s_on_child(void *arg, const zjob_job_t *job)
{
    void **context = arg;
    json_array_append_new(context[1], json_integer(job->id));
    s_keep(context[0], job);
}

//  Lists the children of the jobs fetched so far.
static int
s_list_children(zjob_client_t *client, s_tree_t *tree)
{
    s_ids_t parents = tree->parents;
    tree->parents = (s_ids_t){0};
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < parents.count; index++) {
        size_t room = S_MAX_JOBS - json_object_size(tree->records);
        if (room == 0)
            break;
        json_t *kids = json_array();
        char key[24];
        s_key(parents.ids[index], key, sizeof key);
        json_object_set_new(tree->kids, key, kids);
        void *context[2] = {tree, kids};
        rc = zjob_client_children(client, parents.ids[index], NULL,
                                  (int32_t) room, s_on_child, context);
    }
    free(parents.ids);
    return rc;
}

//  Fetches ID, its children and what it runs after, level by level.
//  Returns 0 or the libzjob code of the first failure.
static int
s_fetch(zjob_client_t *client, s_tree_t *tree, int64_t id)
{
    s_want(tree, id);
    int rc = 0;
    while (rc == 0 && (tree->next.count > 0 || tree->parents.count > 0) &&
           json_object_size(tree->records) < S_MAX_JOBS) {
        s_ids_t level = tree->next;
        tree->next = (s_ids_t){0};
        if (level.count > 0)
            rc = zjob_client_status(client, level.ids, level.count, s_on_job,
                                    tree);
        free(level.ids);
        if (rc == 0)
            rc = s_list_children(client, tree);
    }
    return rc;
}

//  The edges below id: its children, then what it runs after. Returns
//  how many; *kids_p and *after_p are borrowed.
static size_t
s_edges(s_tree_t *tree, json_t *record, int64_t id, json_t **kids_p,
        json_t **after_p)
{
    char key[24];
    s_key(id, key, sizeof key);
    *kids_p = json_object_get(tree->kids, key);
    *after_p = json_object_get(record, "after");
    return json_array_size(*kids_p) + json_array_size(*after_p);
}

//  The index-th edge below a job: its id, and whether it is a child.
static int64_t
s_edge(json_t *kids, json_t *after, size_t index, bool *child)
{
    size_t children = json_array_size(kids);
    *child = index < children;
    return json_integer_value(*child ? json_array_get(kids, index)
                                     : json_array_get(after, index - children));
}

//  How long a record's job ran, into out ("-" if it did not finish).
static void
s_ran(json_t *record, char *out, size_t size)
{
    json_t *started = json_object_get(record, "started_at");
    json_t *finished = json_object_get(record, "finished_at");
    if (!json_is_number(started) || !json_is_number(finished)) {
        snprintf(out, size, "-");
        return;
    }
    double seconds = json_number_value(finished) - json_number_value(started);
    zj_cli_format_span((int64_t) (seconds * 1000.0), out, size);
}

//  Draws id's line and, below it, what it runs after. prefix is what the
//  lines of this level start with.
static void
s_draw(s_tree_t *tree, json_t *drawn, int64_t id, const char *prefix,
       const char *branch, int depth, const char *label)
{
    json_t *record = s_record(tree, id);
    char key[24];
    s_key(id, key, sizeof key);
    if (record == NULL || json_object_get(drawn, key) || depth > S_MAX_DEPTH) {
        printf("%s%s%s%lld%s\n", prefix, branch, label, (long long) id,
               record == NULL        ? " (not fetched)"
               : depth > S_MAX_DEPTH ? " (deeper levels not shown)"
                                     : " (above)");
        return;
    }
    json_object_set_new(drawn, key, json_true());
    char ran[32];
    s_ran(record, ran, sizeof ran);
    const char *kind = json_string_value(json_object_get(record, "kind"));
    const char *error = json_string_value(json_object_get(record, "error"));
    printf("%s%s%s%lld  %s  %s  %s%s%s\n", prefix, branch, label,
           (long long) id, kind ? kind : "-",
           json_string_value(json_object_get(record, "state")), ran,
           error ? "  " : "", error ? error : "");
    json_t *kids, *after;
    size_t count = s_edges(tree, record, id, &kids, &after);
    char *below = zj_cli_checked(malloc(strlen(prefix) + 8));
    sprintf(below, "%s%s", prefix,
            depth == 0                    ? ""
            : strcmp(branch, "└── ") == 0 ? "    "
                                          : "│   ");
    for (size_t index = 0; index < count; index++) {
        bool child = false;
        int64_t edge = s_edge(kids, after, index, &child);
        s_draw(tree, drawn, edge, below, index + 1 == count ? "└── " : "├── ",
               depth + 1, child ? "child " : "");
    }
    free(below);
}

//  Prints id's record with its depth, then what it runs after, each job
//  once, in the order s_draw draws them.
static void
s_lines(s_tree_t *tree, json_t *printed, int64_t id, int depth,
        const char *relation)
{
    json_t *record = s_record(tree, id);
    char key[24];
    s_key(id, key, sizeof key);
    if (record == NULL || json_object_get(printed, key) || depth > S_MAX_DEPTH)
        return;
    json_object_set_new(printed, key, json_true());
    json_t *line = json_deep_copy(record);
    json_object_set_new(line, "depth", json_integer(depth));
    if (relation)
        json_object_set_new(line, "relation", json_string(relation));
    zj_cli_print_json(line);
    json_t *kids, *after;
    size_t count = s_edges(tree, record, id, &kids, &after);
    for (size_t index = 0; index < count; index++) {
        bool child = false;
        int64_t edge = s_edge(kids, after, index, &child);
        s_lines(tree, printed, edge, depth + 1, child ? "child" : "after");
    }
}

int
zj_cli_tree(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    int64_t *ids = NULL;
    size_t count = 0;
    int rc = zj_cli_read_ids(cli, argc - optind, argv + optind, &ids, &count);
    if (rc == 0 && count != 1)
        rc = zj_cli_usage_error(cli, "takes exactly one ID");
    zjob_client_t *client = rc == 0 ? zj_cli_client(cli) : NULL;
    if (rc == 0 && client == NULL)
        rc = ZJ_EXIT_USAGE;
    s_tree_t tree = {.records = json_object(), .kids = json_object()};
    if (rc == 0 && (rc = s_fetch(client, &tree, ids[0])) != 0)
        rc = zj_cli_fail(cli, rc);
    if (rc == 0 && s_record(&tree, ids[0]) == NULL)
        rc = zj_cli_usage_error(cli, "no such job: %lld", (long long) ids[0]);
    if (rc == 0) {
        json_t *seen = json_object();
        if (cli->json || !cli->out_tty)
            s_lines(&tree, seen, ids[0], 0, NULL);
        else
            s_draw(&tree, seen, ids[0], "", "", 0, "");
        json_decref(seen);
        fflush(stdout);
    }
    json_decref(tree.records);
    json_decref(tree.kids);
    free(tree.next.ids);
    free(tree.parents.ids);
    free(ids);
    return rc;
}
