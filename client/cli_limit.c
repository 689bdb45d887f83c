//  cli_limit.c - `zjob limit KIND` (set, clear or read a kind's limits
//  across all workers) and `zjob limits` (every kind's).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "proto/msg.h"

// clang-format off
static const char s_limit_usage[] =
    "Usage: zjob [--coordinator EP] limit KIND [--concurrency N]\n"
    "                                 [--rate N/s|N/m|N/h] [--clear] [--json]\n"
    "\n"
    "Limits the jobs of KIND across all workers, whatever their slots. The\n"
    "coordinator keeps the limits in its store: they outlive a restart.\n"
    "A job held back by a limit stays queued, and `zjob status` says why.\n"
    "Without an option, prints KIND's limits. Prints \"KIND concurrency=N\n"
    "rate=R running=N\" (- for no such limit; with --json, a JSON object).\n"
    "\n"
    "Options:\n"
    "  --concurrency N    at most N jobs of KIND run at once (0..1000000);\n"
    "                     0 pauses KIND: none of its jobs starts\n"
    "  --rate N/s|N/m|N/h at most N jobs of KIND start per second, minute\n"
    "                     or hour (N alone: per second; one a day to\n"
    "                     1000000/s); evenly, up to max(1, rate/10) at once\n"
    "  --clear            remove KIND's limits (alone)\n"
    "  --json             JSON output\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 set, 2 usage error or bad value, 3 coordinator unreachable.\n";

static const char s_limits_usage[] =
    "Usage: zjob [--coordinator EP] limits [--json]\n"
    "\n"
    "Lists every kind with a limit (zjob limit): its concurrency limit, rate\n"
    "limit, burst and the jobs of it running now. A table on a terminal,\n"
    "else (or with --json) one JSON object per line.\n"
    "\n"
    "Options:\n"
    "  --json             JSON lines\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 listed, 2 usage error, 3 coordinator unreachable.\n";
// clang-format on

enum { S_CONCURRENCY = 1, S_RATE, S_CLEAR };

//  Parses "N", "N/s", "N/m" or "N/h" (N > 0, a decimal) into jobs per
//  second. Returns 0 or -1.
static int
s_parse_rate(const char *text, double *rate)
{
    size_t digits = strspn(text, "0123456789.");
    char *end = NULL;
    double count = digits > 0 ? strtod(text, &end) : 0;
    if (digits == 0 || end != text + digits || !isfinite(count) || count <= 0)
        return -1;
    double per = 1;
    if (strcmp(end, "/m") == 0)
        per = 60;
    else if (strcmp(end, "/h") == 0)
        per = 3600;
    else if (*end && strcmp(end, "/s") != 0)
        return -1;
    *rate = count / per;
    return *rate >= ZJOB_MIN_RATE && *rate <= ZJOB_MAX_RATE ? 0 : -1;
}

//  A rate as the user would write it: per second, minute or hour.
static void
s_format_rate(double rate, char *text, size_t size)
{
    if (rate <= 0)
        snprintf(text, size, "-");
    else if (rate >= 1)
        snprintf(text, size, "%.6g/s", rate);
    else if (rate * 60 >= 1)
        snprintf(text, size, "%.6g/m", rate * 60);
    else
        snprintf(text, size, "%.6g/h", rate * 3600);
}

static json_t *
s_limit_json(const zjob_limit_t *limit)
{
    return json_pack(
        "{s:s,s:o,s:o,s:o,s:i,s:o}", "kind", limit->kind, "concurrency",
        limit->concurrency >= 0 ? json_integer(limit->concurrency)
                                : json_null(),
        "rate", limit->rate > 0 ? json_real(limit->rate) : json_null(), "burst",
        limit->rate > 0 ? json_real(limit->burst) : json_null(), "running",
        limit->running, "updated_at",
        limit->updated_at > 0 ? json_real(limit->updated_at) : json_null());
}

//  zjob limit's line, or object with --json.
static void
s_on_limit(void *arg, const zjob_limit_t *limit)
{
    zj_cli_t *cli = arg;
    char concurrency[16] = "-", rate[32];
    if (limit->concurrency >= 0)
        snprintf(concurrency, sizeof concurrency, "%d", limit->concurrency);
    s_format_rate(limit->rate, rate, sizeof rate);
    if (cli->json)
        zj_cli_print_json(s_limit_json(limit));
    else
        printf("%s concurrency=%s rate=%s running=%d\n", limit->kind,
               concurrency, rate, limit->running);
    fflush(stdout);
}

//  Reads limit's options into *concurrency, *rate and *clear. Returns
//  ZJ_OPT_DONE, or ZJ_OPT_EXIT with cli->exit set.
static int
s_limit_options(zj_cli_t *cli, int argc, char **argv, int32_t *concurrency,
                double *rate, bool *clear)
{
    static const struct option options[] = {
        {"concurrency", required_argument, NULL, S_CONCURRENCY},
        {"rate", required_argument, NULL, S_RATE},
        {"clear", no_argument, NULL, S_CLEAR},
        ZJ_CLI_COMMON_OPTIONS};
    int option;
    optind = 0;
    while ((option = zj_cli_getopt(cli, argc, argv, options)) >= 0) {
        int bad = 0;
        if (option == S_CLEAR)
            *clear = true;
        else if (option == S_CONCURRENCY &&
                 zj_cli_parse_int(optarg, 0, ZJOB_MAX_CONCURRENCY,
                                  concurrency) != 0)
            bad = zj_cli_usage_error(cli,
                                     "--concurrency wants an integer "
                                     "0..%d, not '%.40s'",
                                     ZJOB_MAX_CONCURRENCY, optarg);
        else if (option == S_RATE && s_parse_rate(optarg, rate) != 0)
            bad = zj_cli_usage_error(cli,
                                     "--rate wants N/s, N/m or N/h with "
                                     "N > 0 (one a day to 1000000/s), "
                                     "not '%.40s'",
                                     optarg);
        if (bad) {
            cli->exit = bad;
            return ZJ_OPT_EXIT;
        }
    }
    return option;
}

int
zj_cli_limit(zj_cli_t *cli, int argc, char **argv)
{
    cli->usage = s_limit_usage;
    int32_t concurrency = -1;
    double rate = 0;
    bool clear = false;
    if (s_limit_options(cli, argc, argv, &concurrency, &rate, &clear) ==
        ZJ_OPT_EXIT)
        return cli->exit;
    if (argc - optind != 1)
        return zj_cli_usage_error(cli, "takes exactly one KIND");
    const char *kind = argv[optind];
    if (!zj_kind_name_is_valid(kind))
        return zj_cli_usage_error(cli,
                                  "bad kind name '%.64s' (1..64 of "
                                  "[A-Za-z0-9_.:-])",
                                  kind);
    if (clear && (concurrency >= 0 || rate > 0))
        return zj_cli_usage_error(cli, "--clear takes no other limit");
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    int rc = zjob_client_limit(client, kind, concurrency, rate, clear,
                               s_on_limit, cli);
    return rc ? zj_cli_fail(cli, rc) : ZJ_EXIT_OK;
}

//  zjob limits' row (arg the table) or line (arg NULL).
static void
s_on_listed(void *arg, const zjob_limit_t *limit)
{
    if (arg == NULL) {
        zj_cli_print_json(s_limit_json(limit));
        return;
    }
    char concurrency[16] = "-", rate[32], burst[32] = "-", running[16];
    if (limit->concurrency >= 0)
        snprintf(concurrency, sizeof concurrency, "%d", limit->concurrency);
    s_format_rate(limit->rate, rate, sizeof rate);
    if (limit->rate > 0)
        snprintf(burst, sizeof burst, "%.6g", limit->burst);
    snprintf(running, sizeof running, "%d", limit->running);
    const char *cells[] = {limit->kind, concurrency, rate, burst, running};
    zj_table_add(arg, cells);
}

int
zj_cli_limits(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_limits_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    if (optind < argc)
        return zj_cli_usage_error(cli, "unexpected argument '%.40s'",
                                  argv[optind]);
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    const char *headers[] = {"KIND", "CONCURRENCY", "RATE", "BURST", "RUNNING"};
    zj_table_t *table =
        cli->json || !cli->out_tty ? NULL : zj_table_new(headers, 5);
    int rc = zjob_client_limits(client, s_on_listed, table);
    if (rc == 0 && table)
        zj_table_print(table, stdout);
    zj_table_destroy(&table);
    return rc ? zj_cli_fail(cli, rc) : ZJ_EXIT_OK;
}
