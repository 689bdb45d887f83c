//  cli_stats.c - `zjob stats`: the coordinator's queues by kind and the
//  jobs finished lately, as a table or one JSON object.
#include <stdlib.h>

#include "client/cli.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] stats [--json]\n"
    "\n"
    "Prints, from the coordinator's memory, each kind's queue (QUEUED:\n"
    "ready, delayed and held for --after; RUNNING; the oldest queued job\n"
    "and its age) and the jobs of that kind finished in the last 15\n"
    "minutes (OK, FAILED, CANCELLED), then the jobs finished per minute,\n"
    "oldest minute first. A table on a terminal, else (or with --json) one\n"
    "JSON object.\n"
    "\n"
    "Options:\n"
    "  --json             JSON output\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 printed, 2 usage error, 3 coordinator unreachable.\n";
// clang-format on

static json_int_t
s_int(json_t *entry, const char *field)
{
    return json_integer_value(json_object_get(entry, field));
}

//  One kind's row of the table.
static void
s_add_row(zj_table_t *table, const char *kind, json_t *entry)
{
    char queued[80], running[24], oldest[64] = "-", done[24], failed[24],
                                  cancelled[24];
    snprintf(queued, sizeof queued, "%lld", (long long) s_int(entry, "queued"));
    if (s_int(entry, "delayed") || s_int(entry, "held"))
        snprintf(queued, sizeof queued, "%lld (delayed %lld, held %lld)",
                 (long long) s_int(entry, "queued"),
                 (long long) s_int(entry, "delayed"),
                 (long long) s_int(entry, "held"));
    snprintf(running, sizeof running, "%lld",
             (long long) s_int(entry, "running"));
    json_t *first = json_object_get(entry, "oldest_queued");
    if (json_is_object(first)) {
        char age[32];
        zj_cli_format_span(
            (int64_t) (json_number_value(json_object_get(first, "age_s")) *
                       1000),
            age, sizeof age);
        snprintf(oldest, sizeof oldest, "%lld (%s)",
                 (long long) s_int(first, "id"), age);
    }
    snprintf(done, sizeof done, "%lld", (long long) s_int(entry, "succeeded"));
    snprintf(failed, sizeof failed, "%lld", (long long) s_int(entry, "failed"));
    snprintf(cancelled, sizeof cancelled, "%lld",
             (long long) s_int(entry, "cancelled"));
    const char *cells[] = {kind, queued, running,  oldest,
                           done, failed, cancelled};
    zj_table_add(table, cells);
}

static void
s_print_table(json_t *report)
{
    static const char *const headers[] = {"KIND",          "QUEUED", "RUNNING",
                                          "OLDEST QUEUED", "OK",     "FAILED",
                                          "CANCELLED"};
    zj_table_t *table = zj_table_new(headers, 7);
    const char *kind;
    json_t *entry;
    json_object_foreach(json_object_get(report, "kinds"), kind, entry)
        s_add_row(table, kind, entry);
    zj_table_print(table, stdout);
    zj_table_destroy(&table);
    printf("finished per minute, last %lld minutes (oldest first):",
           (long long) s_int(report, "window_minutes"));
    size_t index;
    json_t *count;
    json_array_foreach(json_object_get(report, "finished_per_minute"), index,
                       count)
        printf(" %lld", (long long) json_integer_value(count));
    printf("\n");
}

int
zj_cli_stats(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    if (optind < argc)
        return zj_cli_usage_error(cli, "unexpected argument '%.40s'",
                                  argv[optind]);
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    char *text = NULL;
    int rc = zjob_client_stats(client, &text);
    if (rc)
        return zj_cli_fail(cli, rc);
    json_t *report = json_loads(text, 0, NULL);
    free(text);
    if (report == NULL) {
        fprintf(stderr, "zjob stats: the coordinator's report is not JSON\n");
        return ZJ_EXIT_FAILED;
    }
    if (cli->json || !cli->out_tty)
        zj_cli_print_json(report);
    else {
        s_print_table(report);
        json_decref(report);
    }
    fflush(stdout);
    return ZJ_EXIT_OK;
}
