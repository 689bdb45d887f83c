//  cli_submit.c - `zjob submit`: one job from the command line, or a
//  batch of JSON lines from a file or stdin. Everything is checked before
//  anything is sent; ids are printed in input order.
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/duration.h"
#include "common/json.h"
#include "proto/limits.h"
#include "proto/msg.h"

#define S_MAX_RETRIES 1000000 //  Far above any sane use, far below INT32_MAX

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] submit KIND [ARGS_JSON] [--wait]\n"
    "            [--timeout DUR] [--retries N] [--backoff DUR] [--priority N]\n"
    "            [--delay DUR]\n"
    "       zjob [--coordinator EP] submit --batch FILE|- [--batch-size N]\n"
    "\n"
    "Submits a job of KIND with ARGS_JSON (default: null) and prints its\n"
    "id. With --batch, submits one job per JSON line of FILE (- for stdin)\n"
    "and prints the ids in the lines' order.\n"
    "\n"
    "Options:\n"
    "  --wait             wait for the job; print its result as `zjob wait`\n"
    "  --timeout DUR      limit each attempt to DUR (250ms, 2s, 5m, 1h)\n"
    "  --retries N        attempt again up to N times after a failure\n"
    "  --backoff DUR      wait before the first retry (default 200ms),\n"
    "                     doubled after each, with jitter, at most 60s\n"
    "  --priority N       higher runs first (default 0)\n"
    "  --delay DUR        run no sooner than DUR from now\n"
    "  --batch FILE|-     JSON lines {\"kind\": K, \"args\": A, \"priority\": "
    "N,\n"
    "                     \"retries\": N, \"backoff\": DUR, \"timeout\": DUR,\n"
    "                     \"delay\": DUR};\n"
    "                     the options above give defaults for missing keys\n"
    "  --batch-size N     jobs per message to the coordinator (default 1000,\n"
    "                     1..10000); lower it for a coordinator started\n"
    "                     with a smaller --max-batch\n"
    ZJ_CLI_HELP_COORDINATOR
    "  --json             print {\"id\": N} objects instead of bare ids\n"
    ZJ_CLI_HELP_HELP
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
    S_BATCH_SIZE
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
    ZJ_CLI_COMMON_OPTIONS};

typedef struct {
    zjob_spec_t defaults; //  From the flags; a batch line may override
    bool wait;            //  --wait
    const char *batch;    //  --batch FILE, or NULL
    int32_t batch_size;   //  --batch-size, or 0: the library's default
    zjob_spec_t *specs;   //  Jobs to submit (kind and args owned)
    size_t count;         //  Entries in specs
    size_t capacity;      //  Entries allocated
} s_submit_t;

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
                                      "(250ms, 2s, 5m, 1h)",
                                      optarg);
        return 0;
    case S_RETRIES:
        if (zj_cli_parse_int(optarg, 0, S_MAX_RETRIES, &spec->retries))
            return zj_cli_usage_error(cli, "--retries wants 0..%d, not '%s'",
                                      S_MAX_RETRIES, optarg);
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

//  Checks args JSON text against the protocol's limits. Returns 0 or -1
//  with a reason in why.
static int
s_check_args(const char *args, char *why)
{
    size_t size = strlen(args);
    if (size > ZJ_MAX_ARGS) {
        snprintf(why, ZJ_WHY_SIZE, "args are %zu bytes, over %d", size,
                 ZJ_MAX_ARGS);
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

static zjob_spec_t *
s_add_spec(s_submit_t *submit)
{
    if (submit->count == submit->capacity) {
        submit->capacity = submit->capacity ? submit->capacity * 2 : 64;
        submit->specs = zj_cli_checked(
            realloc(submit->specs, submit->capacity * sizeof(zjob_spec_t)));
    }
    zjob_spec_t *spec = &submit->specs[submit->count++];
    *spec = submit->defaults;
    spec->kind = NULL;
    spec->args = NULL;
    return spec;
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

//  Fills spec from one member of a batch line. Returns 0, or -1 with a
//  reason in why.
static int
s_line_member(zjob_spec_t *spec, const char *key, json_t *value, char *why)
{
    if (strcmp(key, "kind") == 0) {
        const char *kind = json_string_value(value);
        if (!zj_kind_name_is_valid(kind)) {
            snprintf(why, ZJ_WHY_SIZE,
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
        return args && s_check_args(args, why) == 0 ? 0 : -1;
    }
    int rc = -1;
    if (strcmp(key, "priority") == 0)
        rc = s_line_int(value, INT32_MIN, INT32_MAX, &spec->priority);
    else if (strcmp(key, "retries") == 0)
        rc = s_line_int(value, 0, S_MAX_RETRIES, &spec->retries);
    else if (strcmp(key, "timeout") == 0)
        rc = s_line_duration(value, &spec->timeout_ms);
    else if (strcmp(key, "delay") == 0)
        rc = s_line_duration(value, &spec->delay_ms);
    else if (strcmp(key, "backoff") == 0)
        rc = s_line_duration(value, &spec->backoff_ms);
    else {
        snprintf(why, ZJ_WHY_SIZE, "unknown key \"%.40s\"", key);
        return -1;
    }
    if (rc)
        snprintf(why, ZJ_WHY_SIZE, "bad \"%s\" (%s)", key,
                 strcmp(key, "priority") == 0  ? "an integer"
                 : strcmp(key, "retries") == 0 ? "an integer >= 0"
                                               : "a duration like \"2s\"");
    return rc;
}

//  Parses one batch line into a new spec. Returns 0, or -1 with why.
static int
s_line(s_submit_t *submit, const char *line, char *why)
{
    json_error_t error;
    json_t *object = json_loads(line, JSON_REJECT_DUPLICATES, &error);
    if (object == NULL) {
        snprintf(why, ZJ_WHY_SIZE, "invalid JSON at column %d: %s",
                 error.column, error.text);
        return -1;
    }
    if (!json_is_object(object)) {
        json_decref(object);
        snprintf(why, ZJ_WHY_SIZE, "not a JSON object");
        return -1;
    }
    int rc = 0;
    zjob_spec_t *spec = s_add_spec(submit);
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value)
    {
        if ((rc = s_line_member(spec, key, value, why)) != 0)
            break;
    }
    if (rc == 0 && spec->kind == NULL) {
        snprintf(why, ZJ_WHY_SIZE, "\"kind\" is missing");
        rc = -1;
    }
    json_decref(object);
    return rc;
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
        if (s_line(submit, line, why))
            rc = zj_cli_usage_error(cli, "%s line %zu: %s",
                                    from_stdin ? "stdin" : submit->batch,
                                    number, why);
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
    if (argc == 2 && s_check_args(argv[1], why))
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

//  Prints the ids submitted, in input order (0: not submitted).
static void
s_print_ids(zj_cli_t *cli, const int64_t *ids, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        if (ids[index] == 0)
            continue;
        if (cli->json)
            zj_cli_print_json(
                json_pack("{s:I}", "id", (json_int_t) ids[index]));
        else
            printf("%lld\n", (long long) ids[index]);
    }
    fflush(stdout);
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
    size_t missing = 0, first_missing = 0;
    for (size_t index = submit->count; index-- > 0;)
        if (ids[index] == 0) {
            missing++;
            first_missing = index + 1;
        }
    int exit = ZJ_EXIT_OK;
    if (rc == 0 && submit->wait) {
        rc = zjob_client_await(client, ids, 1, true, -1, s_print_result, &exit);
    } else
        s_print_ids(cli, ids, submit->count);
    free(ids);
    if (rc && submit->batch && missing < submit->count)
        fprintf(stderr,
                "zjob submit: %zu of %zu jobs not submitted, the "
                "first from job %zu\n",
                missing, submit->count, first_missing);
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
    }
    free(submit.specs);
    return rc;
}
