//  cli_retry.c - `zjob retry ID...`: each failed or cancelled job runs
//  again as a new job; prints the new ids.
#include <stdlib.h>

#include "client/cli.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] retry ID...|- [--json]\n"
    "\n"
    "Makes a new job for each failed or cancelled job (ids from stdin with\n"
    "-): the same kind, args, priority, attempts, timeout and backoff, at\n"
    "the top level (no parent, no --after). The old job stays as it\n"
    "ended; the new one's record names it (retry_of). Prints the new ids,\n"
    "one per line in the order given, so `zjob retry 4 5 | zjob gather -`\n"
    "works. With --json, one {\"id\": NEW, \"retry_of\": OLD} per line.\n"
    "All or nothing: if one id is unknown or not failed or cancelled,\n"
    "no job is made.\n"
    "\n"
    "Options:\n"
    "  --json             JSON lines\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 retried, 1 a job is queued, running or succeeded, 2 usage\n"
    "error or an unknown id, 3 coordinator unreachable.\n";
// clang-format on

int
zj_cli_retry(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    int64_t *ids = NULL;
    size_t count = 0;
    int rc = zj_cli_read_ids(cli, argc - optind, argv + optind, &ids, &count);
    if (rc || count == 0)
        return rc;
    int64_t *new_ids = calloc(count, sizeof *new_ids);
    zjob_client_t *client = zj_cli_client(cli);
    if (new_ids == NULL || client == NULL)
        rc = ZJ_EXIT_USAGE;
    else if ((rc = zjob_client_retry(client, ids, count, new_ids)) != 0)
        rc = zj_cli_fail(cli, rc);
    for (size_t index = 0; rc == 0 && index < count; index++) {
        if (cli->json)
            zj_cli_print_json(json_pack("{s:I,s:I}", "id",
                                        (json_int_t) new_ids[index], "retry_of",
                                        (json_int_t) ids[index]));
        else
            printf("%lld\n", (long long) new_ids[index]);
    }
    fflush(stdout);
    free(new_ids);
    free(ids);
    return rc;
}
