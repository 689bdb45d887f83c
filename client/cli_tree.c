//  cli_tree.c - `zjob tree ID`: a job, the jobs it runs after (--after),
//  and the jobs those run after, level by level, one STATUS per level.
//  A drawn tree on a terminal; JSON lines (each job once, in the tree's
//  order, with its depth) when piped or with --json.
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"

#define S_MAX_JOBS 10000 //  Jobs fetched at most
#define S_MAX_DEPTH 100  //  Levels shown at most

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] tree ID\n"
    "\n"
    "Shows job ID and under it the jobs it runs after (zjob submit\n"
    "--after), each with the jobs it runs after in turn: id, kind, state\n"
    "and how long it ran. A job reached twice (a diamond) is drawn once\n"
    "and then named. On a terminal, a tree; else JSON lines, each job once\n"
    "in the tree's order, its record with \"depth\" (ID's is 0). At most\n"
    "10000 jobs and 100 levels.\n"
    "\n"
    "Options:\n"
    ZJ_CLI_HELP_COORDINATOR
    "  --json             JSON lines even on a terminal\n"
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 shown, 2 usage error or no such job, 3 coordinator\n"
    "unreachable.\n";
// clang-format on

typedef struct {
    json_t *records; //  id (decimal) -> the job's record (zj_cli_job_json)
    int64_t *next;   //  Ids of the next level, not fetched yet
    size_t next_count;
    size_t next_capacity;
} s_tree_t;

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
    for (size_t index = 0; index < tree->next_count; index++)
        if (tree->next[index] == id)
            return;
    if (tree->next_count == tree->next_capacity) {
        tree->next_capacity =
            tree->next_capacity ? tree->next_capacity * 2 : 16;
        tree->next = zj_cli_checked(
            realloc(tree->next, tree->next_capacity * sizeof(int64_t)));
    }
    tree->next[tree->next_count++] = id;
}

static void
s_on_job(void *arg, const zjob_job_t *job)
{
    s_tree_t *tree = arg;
    if (strcmp(job->state, "unknown") == 0)
        return;
    char key[24];
    s_key(job->id, key, sizeof key);
    json_object_set_new(tree->records, key, zj_cli_job_json(job));
    for (size_t index = 0; index < job->after_count; index++)
        s_want(tree, job->after[index]);
}

//  Fetches ID and what it runs after, level by level. Returns 0 or the
//  libzjob code of the first failure.
static int
s_fetch(zjob_client_t *client, s_tree_t *tree, int64_t id)
{
    s_want(tree, id);
    while (tree->next_count > 0 &&
           json_object_size(tree->records) < S_MAX_JOBS) {
        int64_t *level = tree->next;
        size_t count = tree->next_count;
        tree->next = NULL;
        tree->next_count = tree->next_capacity = 0;
        int rc = zjob_client_status(client, level, count, s_on_job, tree);
        free(level);
        if (rc)
            return rc;
    }
    return 0;
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
       const char *branch, int depth)
{
    json_t *record = s_record(tree, id);
    char key[24];
    s_key(id, key, sizeof key);
    if (record == NULL || json_object_get(drawn, key) || depth > S_MAX_DEPTH) {
        printf("%s%s%lld%s\n", prefix, branch, (long long) id,
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
    printf("%s%s%lld  %s  %s  %s%s%s\n", prefix, branch, (long long) id,
           kind ? kind : "-",
           json_string_value(json_object_get(record, "state")), ran,
           error ? "  " : "", error ? error : "");
    json_t *after = json_object_get(record, "after");
    size_t count = json_array_size(after);
    char *below = zj_cli_checked(malloc(strlen(prefix) + 8));
    sprintf(below, "%s%s", prefix,
            depth == 0                    ? ""
            : strcmp(branch, "└── ") == 0 ? "    "
                                          : "│   ");
    for (size_t index = 0; index < count; index++)
        s_draw(tree, drawn, json_integer_value(json_array_get(after, index)),
               below, index + 1 == count ? "└── " : "├── ", depth + 1);
    free(below);
}

//  Prints id's record with its depth, then what it runs after, each job
//  once, in the order s_draw draws them.
static void
s_lines(s_tree_t *tree, json_t *printed, int64_t id, int depth)
{
    json_t *record = s_record(tree, id);
    char key[24];
    s_key(id, key, sizeof key);
    if (record == NULL || json_object_get(printed, key) || depth > S_MAX_DEPTH)
        return;
    json_object_set_new(printed, key, json_true());
    json_t *line = json_deep_copy(record);
    json_object_set_new(line, "depth", json_integer(depth));
    zj_cli_print_json(line);
    json_t *after = json_object_get(record, "after");
    for (size_t index = 0; index < json_array_size(after); index++)
        s_lines(tree, printed, json_integer_value(json_array_get(after, index)),
                depth + 1);
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
    s_tree_t tree = {.records = json_object()};
    if (rc == 0 && (rc = s_fetch(client, &tree, ids[0])) != 0)
        rc = zj_cli_fail(cli, rc);
    if (rc == 0 && s_record(&tree, ids[0]) == NULL)
        rc = zj_cli_usage_error(cli, "no such job: %lld", (long long) ids[0]);
    if (rc == 0) {
        json_t *seen = json_object();
        if (cli->json || !cli->out_tty)
            s_lines(&tree, seen, ids[0], 0);
        else
            s_draw(&tree, seen, ids[0], "", "", 0);
        json_decref(seen);
        fflush(stdout);
    }
    json_decref(tree.records);
    free(tree.next);
    free(ids);
    return rc;
}
