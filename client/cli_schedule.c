//  cli_schedule.c - `zjob schedule add|list|rm`: jobs the coordinator
//  submits every DUR or at the minutes of a cron expression (UTC).
#include <string.h>
#include <time.h>

#include "client/cli.h"
#include "common/cron.h"
#include "common/duration.h"
#include "common/why.h"
#include "proto/msg.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] schedule add NAME (--every DUR | --cron EXPR)\n"
    "            KIND [ARGS_JSON] [--timeout DUR] [--retries N] [--backoff DUR]\n"
    "            [--priority N] [--replace] [--json]\n"
    "       zjob [--coordinator EP] schedule list [--json]\n"
    "       zjob [--coordinator EP] schedule rm NAME [--json]\n"
    "\n"
    "A schedule makes the coordinator submit a job of KIND with ARGS_JSON\n"
    "every DUR (at least 1s; the first run one DUR after add), or at each\n"
    "minute the cron expression EXPR names: five fields, minute hour\n"
    "day-of-month month day-of-week, IN UTC (\"0 3 * * *\" is 03:00 UTC),\n"
    "with *, lists 1,5, ranges 1-5, steps */15 and 10-50/5, names jan..dec\n"
    "and sun..sat, and @hourly, @daily, @weekly, @monthly, @yearly. When\n"
    "both day fields are restricted a day matches either (as in cron).\n"
    "Schedules are kept in the coordinator's store. A run missed while the\n"
    "coordinator was down is made once at its start (one catch-up run, not\n"
    "one per missed time); the next run is then the first one after now.\n"
    "\n"
    "  add NAME           add a schedule; NAME is 1..63 of [A-Za-z0-9_.:-]\n"
    "                     and must be new unless --replace\n"
    "  list               the schedules: a table on a terminal (times in\n"
    "                     UTC), else (or with --json) one JSON object a line\n"
    "  rm NAME            remove a schedule (the jobs it made stay)\n"
    "\n"
    "Options:\n"
    "  --every DUR        run every DUR (1s, 5m, 1h30m, 1d)\n"
    "  --cron EXPR        run at the minutes EXPR names (UTC), quoted\n"
    "  --timeout DUR      limit each attempt of each job to DUR\n"
    "  --retries N        attempt each job again up to N times\n"
    "  --backoff DUR      wait before the first retry (default 200ms)\n"
    "  --priority N       the jobs' priority (default 0)\n"
    "  --replace          replace a schedule of that name\n"
    "  --json             JSON output\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 done, 1 the coordinator refused (a schedule NAME exists; rm of\n"
    "an unknown NAME), 2 usage error (bad NAME, DUR, EXPR, KIND or JSON),\n"
    "3 coordinator unreachable.\n";
// clang-format on

enum {
    S_EVERY = 1,
    S_CRON,
    S_TIMEOUT,
    S_RETRIES,
    S_BACKOFF,
    S_PRIORITY,
    S_REPLACE
};

//  A time as "YYYY-MM-DD HH:MM:SSZ" (UTC, as cron reads), "-" for 0.
static void
s_format_utc(double seconds, char *out, size_t size)
{
    if (seconds <= 0) {
        snprintf(out, size, "-");
        return;
    }
    time_t whole = (time_t) seconds;
    struct tm parts;
    gmtime_r(&whole, &parts);
    strftime(out, size, "%Y-%m-%d %H:%M:%SZ", &parts);
}

static json_t *
s_schedule_json(const zjob_schedule_t *schedule)
{
    json_t *object = json_pack(
        "{s:s,s:s,s:o,s:i,s:i,s:I,s:I,s:f,s:f,s:I,s:f}", "name", schedule->name,
        "kind", schedule->spec.kind, "args", zj_cli_embed(schedule->spec.args),
        "priority", schedule->spec.priority, "retries", schedule->spec.retries,
        "timeout_ms", (json_int_t) schedule->spec.timeout_ms, "backoff_ms",
        (json_int_t) schedule->spec.backoff_ms, "next_at", schedule->next_at,
        "last_at", schedule->last_at, "last_id", (json_int_t) schedule->last_id,
        "created_at", schedule->created_at);
    zj_cli_checked(object);
    if (schedule->cron)
        json_object_set_new(object, "cron", json_string(schedule->cron));
    else
        json_object_set_new(object, "every_ms",
                            json_integer((json_int_t) schedule->every_ms));
    return object;
}

//  "every 5m" or "cron 0 3 * * *".
static void
s_format_when(const zjob_schedule_t *schedule, char *out, size_t size)
{
    if (schedule->cron) {
        snprintf(out, size, "cron %s", schedule->cron);
        return;
    }
    char span[32];
    zj_cli_format_span(schedule->every_ms, span, sizeof span);
    snprintf(out, size, "every %s", span);
}

typedef struct {
    zj_cli_t *cli;
    zj_table_t *table; //  list on a terminal, else NULL
    const char *verb;  //  add, rm: "added", "removed"
} s_output_t;

static void
s_on_schedule(void *arg, const zjob_schedule_t *schedule)
{
    s_output_t *output = arg;
    if (output->cli->json || (!output->table && !output->verb)) {
        zj_cli_print_json(s_schedule_json(schedule));
        return;
    }
    char when[160], next[32], last[32], job[24];
    s_format_when(schedule, when, sizeof when);
    s_format_utc(schedule->next_at, next, sizeof next);
    s_format_utc(schedule->last_at, last, sizeof last);
    snprintf(job, sizeof job, "%lld", (long long) schedule->last_id);
    if (output->table) {
        const char *cells[] = {
            schedule->name, when, schedule->spec.kind,
            next,           last, schedule->last_id ? job : NULL};
        zj_table_add(output->table, cells);
        return;
    }
    printf("%s %s (%s, %s, next %s)\n", schedule->name, output->verb, when,
           schedule->spec.kind, next);
    fflush(stdout);
}

//  Reads one option of add into *schedule.
static int
s_add_option(zj_cli_t *cli, int option, zjob_schedule_t *schedule,
             bool *replace)
{
    zjob_spec_t *spec = &schedule->spec;
    switch (option) {
    case S_EVERY:
        if (zj_duration_parse(optarg, &schedule->every_ms) ||
            schedule->every_ms < 1000)
            return zj_cli_usage_error(cli,
                                      "--every wants a duration of at least "
                                      "1s (5s, 5m, 1h30m, 1d), not '%.40s'",
                                      optarg);
        return 0;
    case S_CRON: {
        char why[ZJ_WHY_SIZE];
        zj_cron_t cron;
        if (zj_cron_parse(optarg, &cron, why))
            return zj_cli_usage_error(cli, "--cron '%.60s': %s", optarg, why);
        schedule->cron = optarg;
        return 0;
    }
    case S_TIMEOUT:
    case S_BACKOFF:
        if (zj_duration_parse(optarg, option == S_TIMEOUT ? &spec->timeout_ms
                                                          : &spec->backoff_ms))
            return zj_cli_usage_error(cli,
                                      "'%.40s' is not a duration "
                                      "(250ms, 2s, 1h30m, 1d)",
                                      optarg);
        return 0;
    case S_RETRIES:
        if (zj_cli_parse_int(optarg, 0, ZJ_CLI_MAX_RETRIES, &spec->retries))
            return zj_cli_usage_error(cli, "--retries wants 0..%d, not '%.40s'",
                                      ZJ_CLI_MAX_RETRIES, optarg);
        return 0;
    case S_PRIORITY:
        if (zj_cli_parse_int(optarg, INT32_MIN, INT32_MAX, &spec->priority))
            return zj_cli_usage_error(
                cli, "--priority wants an integer, not '%.40s'", optarg);
        return 0;
    case S_REPLACE:
        *replace = true;
        return 0;
    default:
        return zj_cli_usage_error(cli, "unexpected option");
    }
}

//  NAME KIND [ARGS_JSON] after the options.
static int
s_add_arguments(zj_cli_t *cli, int argc, char **argv, zjob_schedule_t *schedule)
{
    if (argc < 2)
        return zj_cli_usage_error(cli, "wants NAME and KIND");
    if (argc > 3)
        return zj_cli_usage_error(cli,
                                  "too many arguments from '%.40s' (quote "
                                  "ARGS_JSON and EXPR as one argument each)",
                                  argv[3]);
    if (!zj_kind_name_is_valid(argv[0]))
        return zj_cli_usage_error(cli,
                                  "bad schedule name '%.40s' (1..63 of "
                                  "[A-Za-z0-9_.:-])",
                                  argv[0]);
    if (!zj_kind_name_is_valid(argv[1]))
        return zj_cli_usage_error(cli,
                                  "bad kind name '%.40s' (1..63 of "
                                  "[A-Za-z0-9_.:-])",
                                  argv[1]);
    char why[ZJ_WHY_SIZE];
    if (argc == 3 && zj_cli_check_args(argv[2], why))
        return zj_cli_usage_error(cli, "ARGS_JSON: %s", why);
    if ((schedule->every_ms > 0) == (schedule->cron != NULL))
        return zj_cli_usage_error(cli, "give one of --every and --cron");
    schedule->name = argv[0];
    schedule->spec.kind = argv[1];
    schedule->spec.args = argc == 3 ? argv[2] : NULL;
    return 0;
}

static int
s_add(zj_cli_t *cli, int argc, char **argv)
{
    static const struct option options[] = {
        {"every", required_argument, NULL, S_EVERY},
        {"cron", required_argument, NULL, S_CRON},
        {"timeout", required_argument, NULL, S_TIMEOUT},
        {"retries", required_argument, NULL, S_RETRIES},
        {"backoff", required_argument, NULL, S_BACKOFF},
        {"priority", required_argument, NULL, S_PRIORITY},
        {"replace", no_argument, NULL, S_REPLACE},
        ZJ_CLI_COMMON_OPTIONS};
    zjob_schedule_t schedule = {0};
    bool replace = false;
    optind = 0;
    int option;
    while ((option = zj_cli_getopt(cli, argc, argv, options)) >= 0)
        if (s_add_option(cli, option, &schedule, &replace))
            return ZJ_EXIT_USAGE;
    if (option == ZJ_OPT_EXIT)
        return cli->exit;
    int rc = s_add_arguments(cli, argc - optind, argv + optind, &schedule);
    if (rc)
        return rc;
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    s_output_t output = {cli, NULL, "added"};
    rc = zjob_client_schedule_add(client, &schedule, replace, s_on_schedule,
                                  &output);
    return rc ? zj_cli_fail(cli, rc) : ZJ_EXIT_OK;
}

static int
s_rm(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    if (argc - optind != 1)
        return zj_cli_usage_error(cli, "takes exactly one schedule NAME");
    const char *name = argv[optind];
    if (!zj_kind_name_is_valid(name))
        return zj_cli_usage_error(cli,
                                  "bad schedule name '%.40s' (1..63 of "
                                  "[A-Za-z0-9_.:-])",
                                  name);
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    s_output_t output = {cli, NULL, "removed"};
    int rc = zjob_client_schedule_rm(client, name, s_on_schedule, &output);
    if (rc == ZJOB_ENOTFOUND) {
        fprintf(stderr, "zjob %s: no schedule named '%s'\n", cli->command,
                name);
        return ZJ_EXIT_FAILED;
    }
    return rc ? zj_cli_fail(cli, rc) : ZJ_EXIT_OK;
}

static int
s_list(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    if (argc - optind != 0)
        return zj_cli_usage_error(cli, "takes no arguments");
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    static const char *const headers[] = {
        "NAME", "WHEN", "KIND", "NEXT RUN (UTC)", "LAST RUN (UTC)", "LAST JOB"};
    s_output_t output = {cli, NULL, NULL};
    if (!cli->json && cli->out_tty)
        output.table = zj_table_new(headers, 6);
    int rc = zjob_client_schedules(client, s_on_schedule, &output);
    if (rc == 0 && output.table)
        zj_table_print(output.table, stdout);
    zj_table_destroy(&output.table);
    return rc ? zj_cli_fail(cli, rc) : ZJ_EXIT_OK;
}

int
zj_cli_schedule(zj_cli_t *cli, int argc, char **argv)
{
    static const struct {
        const char *name, *command;
        zj_cli_fn *run;
    } s_subcommands[] = {{"add", "schedule add", s_add},
                         {"list", "schedule list", s_list},
                         {"rm", "schedule rm", s_rm}};
    cli->usage = s_usage;
    for (size_t index = 0; argc >= 2 && index < 3; index++)
        if (strcmp(argv[1], s_subcommands[index].name) == 0) {
            cli->command = s_subcommands[index].command;
            return s_subcommands[index].run(cli, argc - 1, argv + 1);
        }
    if (argc >= 2 && argv[1][0] != '-')
        return zj_cli_usage_error(cli,
                                  "unknown subcommand '%.40s' (add, "
                                  "list or rm)",
                                  argv[1]);
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    return zj_cli_usage_error(cli, "wants a subcommand: add, list or rm");
}
