//  cli_purge.c - `zjob purge --older-than DUR [--state S] [--kind K]`:
//  the coordinator deletes final jobs by hand, as its --keep does.
#include <string.h>

#include "client/cli.h"
#include "common/duration.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] purge --older-than DUR [--state S]\n"
    "            [--kind K] [--json]\n"
    "\n"
    "Asks the coordinator to delete the jobs that finished more than DUR\n"
    "ago (7d, 12h, 30m, 0 for all), with their attempts, logs and\n"
    "progress: only those in state S (succeeded, failed or cancelled; by\n"
    "default all three) and of kind K (by default any). Unfinished jobs\n"
    "are never deleted, nor a job an unfinished job runs after (--after),\n"
    "nor a child of an unfinished parent, nor the newest job. The\n"
    "coordinator deletes a chunk per loop turn, serving other requests\n"
    "between them. Prints \"purged N jobs\" (with --json, {\"purged\": N}).\n"
    "\n"
    "Options:\n"
    "  --older-than DUR   the age past which finished jobs go (required)\n"
    "  --state S          only jobs in this final state\n"
    "  --kind K           only jobs of this kind\n"
    "  --json             JSON output\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 done, 2 usage error, 3 coordinator unreachable.\n";
// clang-format on

enum { S_OLDER_THAN = 1, S_STATE, S_KIND };

static const struct option s_options[] = {
    {"older-than", required_argument, NULL, S_OLDER_THAN},
    {"state", required_argument, NULL, S_STATE},
    {"kind", required_argument, NULL, S_KIND},
    ZJ_CLI_COMMON_OPTIONS};

typedef struct {
    int64_t older_than_ms; //  -1 until given
    const char *state;
    const char *kind;
} s_purge_t;

//  Reads one of purge's own options into purge; returns non-zero (after
//  the usage error) when its value is wrong.
static int
s_option(zj_cli_t *cli, int option, const char *value, s_purge_t *purge)
{
    if (option == S_OLDER_THAN) {
        if (zj_duration_parse(value, &purge->older_than_ms) != 0)
            return zj_cli_usage_error(cli,
                                      "--older-than takes a duration such as "
                                      "7d, 12h, 30m or 0, not '%s'",
                                      value);
    } else if (option == S_STATE) {
        if (strcmp(value, "succeeded") != 0 && strcmp(value, "failed") != 0 &&
            strcmp(value, "cancelled") != 0)
            return zj_cli_usage_error(cli,
                                      "--state takes succeeded, failed or "
                                      "cancelled, not '%s'",
                                      value);
        purge->state = value;
    } else
        purge->kind = value;
    return 0;
}

int
zj_cli_purge(zj_cli_t *cli, int argc, char **argv)
{
    cli->usage = s_usage;
    s_purge_t purge = {.older_than_ms = -1};
    int option;
    optind = 0;
    while ((option = zj_cli_getopt(cli, argc, argv, s_options)) >= 0)
        if (s_option(cli, option, optarg, &purge))
            return ZJ_EXIT_USAGE;
    if (option == ZJ_OPT_EXIT)
        return cli->exit;
    if (optind < argc)
        return zj_cli_usage_error(cli, "takes no arguments, only options");
    if (purge.older_than_ms < 0)
        return zj_cli_usage_error(cli, "needs --older-than DUR");
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    int64_t deleted = 0;
    int rc = zjob_client_purge(client, purge.older_than_ms, purge.state,
                               purge.kind, &deleted);
    if (rc)
        return zj_cli_fail(cli, rc);
    if (cli->json)
        zj_cli_print_json(json_pack("{s:I}", "purged", (json_int_t) deleted));
    else
        printf("purged %lld jobs\n", (long long) deleted);
    return ZJ_EXIT_OK;
}
