//  cli_drain.c - `zjob drain NAME`: the coordinator sends the worker no
//  more jobs and asks it to finish what it runs and stop.
#include <string.h>

#include "client/cli.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] drain NAME [--json]\n"
    "\n"
    "Asks the coordinator to send worker NAME no more jobs and to tell it\n"
    "to drain: it finishes the jobs it runs (within its --grace), then\n"
    "stops with status 0, as on SIGTERM. Jobs queued meanwhile wait for\n"
    "other workers. Prints \"NAME draining running=N\" (with --json, the\n"
    "worker as a JSON object).\n"
    "\n"
    "Options:\n"
    "  --json             JSON output\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 asked, 2 usage error or no connected worker NAME, 3\n"
    "coordinator unreachable.\n";
// clang-format on

static void
s_on_worker(void *arg, const zjob_worker_t *worker)
{
    zj_cli_t *cli = arg;
    if (cli->json)
        zj_cli_print_json(json_pack(
            "{s:s,s:s,s:I,s:s,s:i}", "name", worker->name, "host",
            worker->host ? worker->host : "", "pid", (json_int_t) worker->pid,
            "state", worker->state, "running", worker->running));
    else
        printf("%s %s running=%d\n", worker->name, worker->state,
               worker->running);
    fflush(stdout);
}

int
zj_cli_drain(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    if (argc - optind != 1)
        return zj_cli_usage_error(cli, "takes exactly one worker NAME");
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    int rc = zjob_client_drain(client, argv[optind], s_on_worker, cli);
    return rc ? zj_cli_fail(cli, rc) : ZJ_EXIT_OK;
}
