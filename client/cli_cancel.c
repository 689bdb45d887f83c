//  cli_cancel.c - `zjob cancel ID...`: asks the coordinator to cancel
//  jobs and prints each id with the state it is in after the attempt.
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] cancel ID...|- [--json]\n"
    "\n"
    "Cancels each job (ids from stdin with -) and prints \"ID STATE\" per\n"
    "line, STATE being the job's state after the attempt: cancelled, or\n"
    "the final state it had already reached. With --json, one\n"
    "{\"id\": N, \"state\": S} object per line.\n"
    "\n"
    "Options:\n"
    "  --json             JSON lines\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 all cancelled, 1 some could not be, 2 usage error, 3\n"
    "coordinator unreachable.\n";
// clang-format on

typedef struct {
    zj_cli_t *cli;      //  The run
    size_t answered;    //  Jobs the coordinator answered for
    bool all_cancelled; //  Every answer was "cancelled"
} s_cancel_t;

static void
s_on_job(void *arg, const zjob_job_t *job)
{
    s_cancel_t *cancel = arg;
    cancel->answered++;
    if (strcmp(job->state, "cancelled") != 0)
        cancel->all_cancelled = false;
    if (cancel->cli->json)
        zj_cli_print_json(json_pack("{s:I,s:s}", "id", (json_int_t) job->id,
                                    "state", job->state));
    else {
        printf("%lld %s\n", (long long) job->id, job->state);
        fflush(stdout);
    }
}

int
zj_cli_cancel(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    int64_t *ids = NULL;
    size_t count = 0;
    int rc = zj_cli_read_ids(cli, argc - optind, argv + optind, &ids, &count);
    if (rc || count == 0)
        return rc;
    s_cancel_t cancel = {.cli = cli, .all_cancelled = true};
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        rc = ZJ_EXIT_USAGE;
    else if ((rc = zjob_client_cancel(client, ids, count, s_on_job, &cancel)) !=
             0)
        rc = zj_cli_fail(cli, rc);
    else if (!cancel.all_cancelled || cancel.answered == 0)
        rc = ZJ_EXIT_FAILED;
    free(ids);
    return rc;
}
