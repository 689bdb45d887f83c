//  cli_await.c - `zjob wait` and `zjob gather`: await futures and print
//  one JSON line per job, in the ids' order. gather asks for results as
//  they complete and puts them in order here, so its progress bar counts
//  real completions while the lines still come out in order; with
//  --as-completed it prints each line as its job ends.
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/duration.h"

#define S_TICK_MS 200 //  Progress redraw while no result comes

// clang-format off
static const char s_wait_usage[] =
    "Usage: zjob [--coordinator EP] wait ID [--timeout DUR]\n"
    "\n"
    "Waits for job ID to finish and prints one JSON line:\n"
    "  {\"id\": 7, \"state\": \"succeeded\", \"result\": {...}}\n"
    "or, for a job that did not succeed, \"error\": \"...\" instead of "
    "\"result\".\n"
    "\n"
    "Options:\n"
    "  --timeout DUR      give up after DUR (250ms, 2s, 1h30m, 1d)\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 succeeded, 1 failed or cancelled, 2 usage error, 3 coordinator\n"
    "unreachable, 4 --timeout expired first.\n";

static const char s_gather_usage[] =
    "Usage: zjob [--coordinator EP] gather ID...|- [--timeout DUR]\n"
    "                                      [--as-completed]\n"
    "\n"
    "Waits for every job ID (read from stdin, one or more per line, with -)\n"
    "and prints one JSON line per ID, in the IDs' order, each as soon as it\n"
    "and all before it are done. Lines are those of `zjob wait`. With stderr\n"
    "a terminal, a progress bar shows on stderr while it waits.\n"
    "\n"
    "Options:\n"
    "  --as-completed     print each line as soon as its job is done, in\n"
    "                     the order the jobs finish\n"
    "  --timeout DUR      give up after DUR: print the results that came,\n"
    "                     in order, and name the jobs that did not finish\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 all succeeded, 1 any failed or was cancelled, 2 usage error,\n"
    "3 coordinator unreachable, 4 --timeout expired first.\n";
// clang-format on

enum { S_TIMEOUT = 1, S_AS_COMPLETED };

static const struct option s_options[] = {
    {"timeout", required_argument, NULL, S_TIMEOUT},
    {"as-completed", no_argument, NULL, S_AS_COMPLETED},
    ZJ_CLI_COMMON_OPTIONS};

typedef struct {
    int64_t id;   //  Job id
    size_t index; //  A place it has in the output
} s_place_t;

typedef struct {
    zj_cli_t *cli;           //  The run
    const int64_t *ids;      //  Ids in output order (may repeat)
    size_t count;            //  Entries in ids and lines
    char **lines;            //  Result line per place; NULL until it came
    s_place_t *places;       //  Places sorted by id, to find every place
    size_t printed;          //  Lines printed: the next place to print
    size_t done;             //  Places resolved
    bool failed;             //  A job did not succeed
    int64_t timeout_ms;      //  --timeout, or -1
    bool as_completed;       //  --as-completed: print lines as jobs end
    bool *came;              //  Per place: its line came
    zj_progress_t *progress; //  Bar on stderr
} s_gather_t;

//  Parses the command line: the ids, --timeout and (gather only)
//  --as-completed. Returns 0 or an exit.
static int
s_parse(zj_cli_t *cli, int argc, char **argv, bool single, int64_t **ids_p,
        size_t *count_p, int64_t *timeout_ms, bool *as_completed)
{
    *timeout_ms = -1;
    int option;
    optind = 0;
    while ((option = zj_cli_getopt(cli, argc, argv, s_options)) >= 0) {
        if (option == S_AS_COMPLETED && !single) {
            *as_completed = true;
            continue;
        }
        if (option != S_TIMEOUT)
            return zj_cli_usage_error(cli, "unexpected option");
        if (zj_duration_parse(optarg, timeout_ms))
            return zj_cli_usage_error(cli,
                                      "'%s' is not a duration "
                                      "(250ms, 2s, 1h30m, 1d)",
                                      optarg);
    }
    if (option == ZJ_OPT_EXIT)
        return cli->exit;
    if (single && (argc - optind != 1 || strcmp(argv[optind], "-") == 0))
        return zj_cli_usage_error(cli, "takes exactly one ID (use "
                                       "'zjob gather' for more)");
    return zj_cli_read_ids(cli, argc - optind, argv + optind, ids_p, count_p);
}

static int
s_place_compare(const void *left, const void *right)
{
    const s_place_t *a = left, *b = right;
    return a->id < b->id ? -1 : a->id > b->id;
}

//  Prints the lines that are ready, in order; with all, skips the places
//  still pending (after a timeout).
static void
s_flush(s_gather_t *gather, bool all)
{
    bool cleared = false;
    for (; gather->printed < gather->count; gather->printed++) {
        char *line = gather->lines[gather->printed];
        if (line == NULL && !all)
            break;
        if (line == NULL)
            continue;
        if (gather->cli->out_tty && !cleared) {
            zj_progress_clear(gather->progress);
            cleared = true;
        }
        puts(line);
        free(line);
        gather->lines[gather->printed] = NULL;
    }
    fflush(stdout);
}

static void
s_on_result(void *arg, const zjob_result_t *result)
{
    s_gather_t *gather = arg;
    if (strcmp(result->state, "succeeded") != 0)
        gather->failed = true;
    char *line = zj_cli_dump_json(zj_cli_result_json(result));
    s_place_t key = {result->id, 0};
    s_place_t *place = bsearch(&key, gather->places, gather->count,
                               sizeof(s_place_t), s_place_compare);
    //  bsearch finds any place of the id; walk back to the first.
    while (place && place > gather->places && place[-1].id == result->id)
        place--;
    for (; place && place < gather->places + gather->count &&
           place->id == result->id;
         place++) {
        if (gather->came[place->index])
            continue;
        gather->came[place->index] = true;
        gather->done++;
        if (!gather->as_completed) {
            gather->lines[place->index] = strdup(line ? line : "{}");
            continue;
        }
        if (gather->cli->out_tty)
            zj_progress_clear(gather->progress);
        puts(line ? line : "{}");
        fflush(stdout);
    }
    free(line);
    if (!gather->as_completed)
        s_flush(gather, false);
    zj_progress_update(gather->progress, gather->done);
}

static void
s_on_tick(void *arg)
{
    s_gather_t *gather = arg;
    zj_progress_update(gather->progress, gather->done);
}

//  Names the jobs that did not finish before the timeout.
static void
s_report_pending(s_gather_t *gather, const bool *pending)
{
    fprintf(stderr, "zjob %s: timed out: %zu of %zu jobs not finished:",
            gather->cli->command, gather->count - gather->done, gather->count);
    size_t named = 0;
    for (size_t index = 0; index < gather->count && named < 10; index++)
        if (pending[index] && ++named)
            fprintf(stderr, " %lld", (long long) gather->ids[index]);
    fprintf(stderr, "%s\n", gather->count - gather->done > named ? " ..." : "");
}

static int
s_run(s_gather_t *gather)
{
    zj_cli_t *cli = gather->cli;
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    zjob_client_set_tick(client, S_TICK_MS, s_on_tick, gather);
    int rc = zjob_client_await(client, gather->ids, gather->count, false,
                               gather->timeout_ms, s_on_result, gather);
    zj_progress_clear(gather->progress);
    if (rc == ZJOB_ETIMEOUT) {
        bool *pending = calloc(gather->count, sizeof(bool));
        for (size_t index = 0; pending && index < gather->count; index++)
            pending[index] = !gather->came[index];
        if (!gather->as_completed)
            s_flush(gather, true);
        if (pending)
            s_report_pending(gather, pending);
        free(pending);
        return ZJ_EXIT_TIMEOUT;
    }
    if (rc)
        return zj_cli_fail(cli, rc);
    return gather->failed ? ZJ_EXIT_FAILED : ZJ_EXIT_OK;
}

//  Awaits ids[count] and prints their lines in order. Returns the exit.
static int
s_gather(zj_cli_t *cli, const int64_t *ids, size_t count, int64_t timeout_ms,
         bool as_completed)
{
    s_gather_t gather = {.cli = cli,
                         .ids = ids,
                         .count = count,
                         .timeout_ms = timeout_ms,
                         .as_completed = as_completed,
                         .came = zj_cli_checked(calloc(count, sizeof(bool))),
                         .lines = zj_cli_checked(calloc(count, sizeof(char *))),
                         .places =
                             zj_cli_checked(calloc(count, sizeof(s_place_t))),
                         .progress = zj_progress_new(count, cli->err_tty)};
    for (size_t index = 0; index < count; index++)
        gather.places[index] = (s_place_t){ids[index], index};
    qsort(gather.places, count, sizeof(s_place_t), s_place_compare);
    int exit = s_run(&gather);
    for (size_t index = 0; index < count; index++)
        free(gather.lines[index]);
    free(gather.lines);
    free(gather.came);
    free(gather.places);
    zj_progress_destroy(&gather.progress);
    return exit;
}

//  wait (single: exactly one id) and gather: parses, awaits, prints.
static int
s_await(zj_cli_t *cli, int argc, char **argv, const char *usage, bool single)
{
    cli->usage = usage;
    int64_t *ids = NULL;
    size_t count = 0;
    int64_t timeout_ms = -1;
    bool as_completed = false;
    int rc = s_parse(cli, argc, argv, single, &ids, &count, &timeout_ms,
                     &as_completed);
    if (rc == 0 && count > 0)
        rc = s_gather(cli, ids, count, timeout_ms, as_completed);
    free(ids);
    return rc;
}

int
zj_cli_wait(zj_cli_t *cli, int argc, char **argv)
{
    return s_await(cli, argc, argv, s_wait_usage, true);
}

int
zj_cli_gather(zj_cli_t *cli, int argc, char **argv)
{
    return s_await(cli, argc, argv, s_gather_usage, false);
}
