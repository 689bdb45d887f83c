//  cli_submit.c - `zjob submit`: one job from the command line, or a
//  batch of JSON lines from a file or stdin (each parsed by cli_batch.c).
//  Everything is checked before anything is sent; ids are printed in
//  input order.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/duration.h"
#include "proto/limits.h"
#include "proto/msg.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] submit KIND [ARGS_JSON] [--wait]\n"
    "            [--timeout DUR] [--retries N] [--backoff DUR] [--priority N]\n"
    "            [--delay DUR] [--after ID[,ID...]]\n"
    "            [--unique KEY [--unique-for DUR]]\n"
    "       zjob [--coordinator EP] submit --batch FILE|- [--batch-size N]\n"
    "\n"
    "Submits a job of KIND with ARGS_JSON (default: null) and prints its\n"
    "id. With --batch, submits one job per JSON line of FILE (- for stdin)\n"
    "and prints the ids in the lines' order.\n"
    "\n"
    "Options:\n"
    "  --wait             wait for the job; print its result as `zjob wait`\n"
    "  --timeout DUR      limit each attempt to DUR (250ms, 2s, 1h30m, 1d)\n"
    "  --retries N        attempt again up to N times after a failure\n"
    "  --backoff DUR      wait before the first retry (default 200ms),\n"
    "                     doubled after each, with jitter, at most 60s\n"
    "  --priority N       higher runs first (default 0)\n"
    "  --delay DUR        run no sooner than DUR from now\n"
    "  --after ID[,ID...] run only once each of these jobs succeeded; if\n"
    "                     one fails or is cancelled, this job is cancelled\n"
    "  --unique KEY       if a job submitted with KEY is in its window,\n"
    "                     print its id and submit nothing (KEY: 1..256\n"
    "                     bytes, no control characters)\n"
    "  --unique-for DUR   the key's window, 1ms..366d (default 24h); with\n"
    "                     --batch, the default of lines with a \"unique\"\n"
    "  --batch FILE|-     JSON lines {\"kind\": K, \"args\": A, \"priority\": "
    "N,\n"
    "                     \"retries\": N, \"backoff\": DUR, \"timeout\": DUR,\n"
    "                     \"delay\": DUR, \"after\": [ID, ...], \"unique\":\n"
    "                     KEY, \"unique_for\": DUR};\n"
    "                     the options above give defaults for missing keys\n"
    "  --batch-size N     jobs per message to the coordinator (default 1000,\n"
    "                     1..10000); lower it for a coordinator started\n"
    "                     with a smaller --max-batch\n"
    ZJ_CLI_HELP_COORDINATOR
    "  --json             print {\"id\": N} objects instead of bare ids\n"
    ZJ_CLI_HELP_HELP
    "\n"
    "A job of a kind no connected worker offers waits, queued, until one\n"
    "does; submit warns about such kinds on stderr.\n"
    "\n"
    "Exit: 0 submitted (with --wait: succeeded), 1 the job failed or was\n"
    "cancelled, 2 usage error, 3 coordinator unreachable.\n";
// clang-format on

enum {
    S_WAIT = 1,
    S_TIMEOUT,
    S_RETRIES,
    S_BACKOFF,
    S_PRIORITY,
    S_DELAY,
    S_BATCH,
    S_BATCH_SIZE,
    S_AFTER,
    S_UNIQUE,
    S_UNIQUE_FOR
};

static const struct option s_options[] = {
    {"wait", no_argument, NULL, S_WAIT},
    {"timeout", required_argument, NULL, S_TIMEOUT},
    {"retries", required_argument, NULL, S_RETRIES},
    {"backoff", required_argument, NULL, S_BACKOFF},
    {"priority", required_argument, NULL, S_PRIORITY},
    {"delay", required_argument, NULL, S_DELAY},
    {"batch", required_argument, NULL, S_BATCH},
    {"batch-size", required_argument, NULL, S_BATCH_SIZE},
    {"after", required_argument, NULL, S_AFTER},
    {"unique", required_argument, NULL, S_UNIQUE},
    {"unique-for", required_argument, NULL, S_UNIQUE_FOR},
    ZJ_CLI_COMMON_OPTIONS};

typedef struct {
    zjob_spec_t defaults; //  From the flags; a batch line may override
    bool wait;            //  --wait
    const char *batch;    //  --batch FILE, or NULL
    int32_t batch_size;   //  --batch-size, or 0: the library's default
    zjob_spec_t *specs;   //  Jobs to submit (kind and args owned)
    size_t *lines;        //  --batch: each job's line in its file
    size_t count;         //  Entries in specs and lines
    size_t capacity;      //  Entries allocated
    int64_t *after;       //  --after ids (defaults.after), owned
} s_submit_t;

//  Parses --after ID[,ID...] into submit->after. Returns 0 or -1.
static int
s_parse_after(s_submit_t *submit, const char *text)
{
    size_t count = 1;
    for (const char *cursor = text; *cursor; cursor++)
        count += *cursor == ',';
    if (count > ZJ_MAX_AFTER)
        return -1;
    int64_t *ids = zj_cli_checked(calloc(count, sizeof *ids));
    const char *cursor = text;
    for (size_t index = 0; index < count; index++) {
        char *end;
        errno = 0;
        long long id = strtoll(cursor, &end, 10);
        if (errno || end == cursor || id < 1 || (*end != ',' && *end != '\0') ||
            *cursor == '-' || *cursor == '+' || *cursor == ' ') {
            free(ids);
            return -1;
        }
        ids[index] = id;
        cursor = end + (*end == ',');
    }
    free(submit->after);
    submit->after = ids;
    submit->defaults.after = ids;
    submit->defaults.after_count = count;
    return 0;
}

//  Parses a flag's value into the defaults. Returns 0 or an exit code.
static int
s_flag(zj_cli_t *cli, s_submit_t *submit, int option)
{
    zjob_spec_t *spec = &submit->defaults;
    switch (option) {
    case S_WAIT:
        submit->wait = true;
        return 0;
    case S_BATCH:
        submit->batch = optarg;
        return 0;
    case S_AFTER:
        if (s_parse_after(submit, optarg))
            return zj_cli_usage_error(cli,
                                      "--after wants job ids like 12,13 "
                                      "(at most %d), not '%.40s'",
                                      ZJ_MAX_AFTER, optarg);
        return 0;
    case S_BATCH_SIZE:
        if (zj_cli_parse_int(optarg, 1, ZJ_MAX_BATCH, &submit->batch_size))
            return zj_cli_usage_error(cli, "--batch-size wants 1..%d, not '%s'",
                                      ZJ_MAX_BATCH, optarg);
        return 0;
    case S_TIMEOUT:
    case S_DELAY:
    case S_BACKOFF:
        if (zj_duration_parse(optarg, option == S_TIMEOUT ? &spec->timeout_ms
                                      : option == S_DELAY ? &spec->delay_ms
                                                          : &spec->backoff_ms))
            return zj_cli_usage_error(cli,
                                      "'%s' is not a duration "
                                      "(250ms, 2s, 1h30m, 1d)",
                                      optarg);
        return 0;
    case S_UNIQUE:
        if (!zj_unique_key_is_valid(optarg))
            return zj_cli_usage_error(cli,
                                      "--unique wants a key of 1..%d bytes "
                                      "without control characters",
                                      ZJ_MAX_UNIQUE);
        spec->unique = optarg;
        return 0;
    case S_UNIQUE_FOR:
        if (zj_duration_parse(optarg, &spec->unique_for_ms) ||
            spec->unique_for_ms < 1 ||
            spec->unique_for_ms > ZJ_MAX_UNIQUE_FOR_MS)
            return zj_cli_usage_error(cli,
                                      "--unique-for wants a duration of "
                                      "1ms..366d, not '%.40s'",
                                      optarg);
        return 0;
    case S_RETRIES:
        if (zj_cli_parse_int(optarg, 0, ZJ_CLI_MAX_RETRIES, &spec->retries))
            return zj_cli_usage_error(cli, "--retries wants 0..%d, not '%s'",
                                      ZJ_CLI_MAX_RETRIES, optarg);
        return 0;
    case S_PRIORITY:
        if (zj_cli_parse_int(optarg, INT32_MIN, INT32_MAX, &spec->priority))
            return zj_cli_usage_error(cli,
                                      "--priority wants an integer, "
                                      "not '%s'",
                                      optarg);
        return 0;
    default:
        return zj_cli_usage_error(cli, "unexpected option");
    }
}

//  Appends a spec with the flags' defaults and no kind or args yet.
static zjob_spec_t *
s_add_spec(s_submit_t *submit)
{
    if (submit->count == submit->capacity) {
        submit->capacity = submit->capacity ? submit->capacity * 2 : 64;
        submit->specs = zj_cli_checked(
            realloc(submit->specs, submit->capacity * sizeof(zjob_spec_t)));
        submit->lines = zj_cli_checked(
            realloc(submit->lines, submit->capacity * sizeof(size_t)));
    }
    submit->lines[submit->count] = submit->count + 1;
    zjob_spec_t *spec = &submit->specs[submit->count++];
    *spec = submit->defaults;
    spec->kind = NULL;
    spec->args = NULL;
    return spec;
}

//  Reads every line of the batch. Returns 0 or an exit code.
static int
s_read_batch(zj_cli_t *cli, s_submit_t *submit)
{
    bool from_stdin = strcmp(submit->batch, "-") == 0;
    FILE *file = from_stdin ? stdin : fopen(submit->batch, "r");
    if (file == NULL)
        return zj_cli_usage_error(cli, "cannot open '%s': %s", submit->batch,
                                  strerror(errno));
    char *line = NULL;
    size_t size = 0;
    int rc = 0;
    char why[ZJ_WHY_SIZE] = "";
    for (size_t number = 1; rc == 0 && getline(&line, &size, file) >= 0;
         number++) {
        if (line[strspn(line, " \t\r\n")] == '\0')
            continue; //  Blank lines separate nothing; skip them
        zjob_spec_t spec;
        if (zj_cli_batch_line(line, &submit->defaults, &spec, why))
            rc = zj_cli_usage_error(cli, "%s line %zu: %s",
                                    from_stdin ? "stdin" : submit->batch,
                                    number, why);
        else {
            zjob_spec_t *added = s_add_spec(submit);
            *added = spec;
            submit->lines[submit->count - 1] = number;
        }
    }
    if (rc == 0 && ferror(file))
        rc = zj_cli_usage_error(cli, "cannot read '%s': %s", submit->batch,
                                strerror(errno));
    free(line);
    if (!from_stdin)
        fclose(file);
    return rc;
}

//  Takes KIND and ARGS_JSON from the positional arguments.
static int
s_read_single(zj_cli_t *cli, s_submit_t *submit, int argc, char **argv)
{
    if (argc < 1)
        return zj_cli_usage_error(cli, "KIND is missing");
    if (argc > 2)
        return zj_cli_usage_error(cli,
                                  "too many arguments from '%.40s' "
                                  "(quote ARGS_JSON as one argument)",
                                  argv[2]);
    if (!zj_kind_name_is_valid(argv[0]))
        return zj_cli_usage_error(cli,
                                  "bad KIND '%.64s': use 1..%d "
                                  "characters of [A-Za-z0-9_.:-]",
                                  argv[0], ZJ_MAX_KIND);
    char why[ZJ_WHY_SIZE] = "";
    if (argc == 2 && zj_cli_check_args(argv[1], why))
        return zj_cli_usage_error(cli, "ARGS_JSON: %s", why);
    zjob_spec_t *spec = s_add_spec(submit);
    spec->kind = strdup(argv[0]);
    spec->args = argc == 2 ? strdup(argv[1]) : NULL;
    return 0;
}

//  Waits for the one job and prints its result line, as `zjob wait`.
static void
s_print_result(void *arg, const zjob_result_t *result)
{
    int *exit_p = arg;
    *exit_p =
        strcmp(result->state, "succeeded") == 0 ? ZJ_EXIT_OK : ZJ_EXIT_FAILED;
    zj_cli_print_json(zj_cli_result_json(result));
}

//  Prints the ids submitted, in input order (0: not submitted); with
//  --json and --batch, each with its line.
static void
s_print_ids(zj_cli_t *cli, const s_submit_t *submit, const int64_t *ids)
{
    for (size_t index = 0; index < submit->count; index++) {
        if (ids[index] == 0)
            continue;
        if (cli->json && submit->batch)
            zj_cli_print_json(json_pack("{s:I,s:I}", "id",
                                        (json_int_t) ids[index], "line",
                                        (json_int_t) submit->lines[index]));
        else if (cli->json)
            zj_cli_print_json(
                json_pack("{s:I}", "id", (json_int_t) ids[index]));
        else
            printf("%lld\n", (long long) ids[index]);
    }
    fflush(stdout);
}

//  Forgets, from the set of kinds, those a connected worker offers.
static void
s_on_worker(void *arg, const zjob_worker_t *worker)
{
    json_t *kinds = arg;
    if (strcmp(worker->state, "connected") != 0)
        return;
    for (size_t index = 0; index < worker->kind_count; index++)
        json_object_del(kinds, worker->kinds[index].name);
}

//  Warns on stderr about each kind submitted that no connected worker
//  offers: its jobs wait, queued, until one does. One WORKERS request,
//  after the SUBMITs were acknowledged (the submit path stays as it was);
//  if it fails, nothing is said.
static void
s_warn_unoffered(zjob_client_t *client, const s_submit_t *submit,
                 const int64_t *ids)
{
    json_t *kinds = json_object();
    for (size_t index = 0; index < submit->count; index++)
        if (ids[index] != 0)
            json_object_set_new(kinds, submit->specs[index].kind, json_true());
    if (json_object_size(kinds) > 0 &&
        zjob_client_workers(client, s_on_worker, kinds) == 0) {
        const char *kind;
        json_t *value;
        json_object_foreach(kinds, kind, value)
            fprintf(stderr,
                    "zjob submit: warning: no connected worker offers kind "
                    "'%s'; its jobs wait, queued, until one does\n",
                    kind);
    }
    json_decref(kinds);
}

//  A batch refused in part: which lines of its file got no id.
static void
s_say_missing(const s_submit_t *submit, const int64_t *ids, size_t missing)
{
    fprintf(stderr, "zjob submit: %zu of %zu jobs not submitted: lines ",
            missing, submit->count);
    const char *comma = "";
    for (size_t index = 0; index < submit->count; index++) {
        if (ids[index] != 0 || (index > 0 && ids[index - 1] == 0))
            continue;
        size_t last = index;
        while (last + 1 < submit->count && ids[last + 1] == 0)
            last++;
        if (last == index)
            fprintf(stderr, "%s%zu", comma, submit->lines[index]);
        else
            fprintf(stderr, "%s%zu-%zu", comma, submit->lines[index],
                    submit->lines[last]);
        comma = ", ";
    }
    fprintf(stderr, "; the ids printed are the other lines', in order\n");
}

static int
s_send(zj_cli_t *cli, s_submit_t *submit)
{
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    if (submit->batch_size > 0)
        zjob_client_set_batch(client, (size_t) submit->batch_size);
    int64_t *ids = calloc(submit->count ? submit->count : 1, sizeof(int64_t));
    int rc = zjob_client_submit(client, submit->specs, submit->count, ids);
    size_t missing = 0;
    for (size_t index = 0; index < submit->count; index++)
        missing += ids[index] == 0;
    int exit = ZJ_EXIT_OK;
    if (rc == 0)
        s_warn_unoffered(client, submit, ids);
    if (rc == 0 && submit->wait) {
        rc = zjob_client_await(client, ids, 1, true, -1, s_print_result, &exit);
    } else
        s_print_ids(cli, submit, ids);
    if (rc && submit->batch && missing < submit->count)
        s_say_missing(submit, ids, missing);
    free(ids);
    return rc ? zj_cli_fail(cli, rc) : exit;
}

int
zj_cli_submit(zj_cli_t *cli, int argc, char **argv)
{
    cli->usage = s_usage;
    s_submit_t submit = {.defaults = {0}};
    int option;
    optind = 0;
    while ((option = zj_cli_getopt(cli, argc, argv, s_options)) >= 0) {
        int rc = s_flag(cli, &submit, option);
        if (rc)
            return rc;
    }
    if (option == ZJ_OPT_EXIT)
        return cli->exit;
    int rc = 0;
    if (submit.batch && optind < argc)
        rc = zj_cli_usage_error(cli, "--batch takes no KIND or ARGS_JSON");
    else if (submit.batch && submit.defaults.unique)
        rc = zj_cli_usage_error(cli, "--unique names one job; give each "
                                     "batch line its own \"unique\"");
    else if (!submit.batch && submit.defaults.unique_for_ms &&
             !submit.defaults.unique)
        rc = zj_cli_usage_error(cli, "--unique-for needs --unique");
    else if (submit.batch && submit.wait)
        rc = zj_cli_usage_error(cli, "--batch does not --wait; pipe the ids "
                                     "into 'zjob gather -'");
    else if (submit.batch)
        rc = s_read_batch(cli, &submit);
    else
        rc = s_read_single(cli, &submit, argc - optind, argv + optind);
    if (rc == 0)
        rc = s_send(cli, &submit);
    for (size_t index = 0; index < submit.count; index++) {
        free((char *) submit.specs[index].kind);
        free((char *) submit.specs[index].args);
        if (submit.specs[index].unique != submit.defaults.unique)
            free((char *) submit.specs[index].unique);
        if (submit.specs[index].after != submit.after)
            free((int64_t *) submit.specs[index].after);
    }
    free(submit.specs);
    free(submit.lines);
    free(submit.after);
    return rc;
}
