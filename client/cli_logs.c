//  cli_logs.c - `zjob logs ID [--follow]`: what a job wrote (zjob_log, an
//  exec job's output, a CPU handler's stdout and stderr), as the
//  coordinator stores it. With --follow, what it writes next too, asked
//  for every ZJ_LOGS_FOLLOW_MS, until the job has ended.
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cli.h"

#define ZJ_LOGS_FOLLOW_MS 250 //  LOGS this often while following

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] logs ID [--follow]\n"
    "\n"
    "Prints job ID's log: what its handler wrote with zjob_log or printed,\n"
    "what an exec job's program wrote; each attempt\n"
    "after the first starts with a line naming it. At most 4 MiB per job\n"
    "(and the worker's --max-log per attempt).\n"
    "\n"
    "Options:\n"
    "  --follow           go on printing what it writes until it ends\n"
    ZJ_CLI_HELP_COORDINATOR
    ZJ_CLI_HELP_HELP
    "\n"
    "Exit: 0 printed (with --follow: the job succeeded), 1 it failed or was\n"
    "cancelled (--follow), 2 usage error or no such job, 3 coordinator\n"
    "unreachable.\n";
// clang-format on

enum { S_FOLLOW = 1 };

static const struct option s_options[] = {
    {"follow", no_argument, NULL, S_FOLLOW}, ZJ_CLI_COMMON_OPTIONS};

typedef struct {
    size_t printed; //  Bytes of the log printed so far
    char state[16]; //  The job's state at the last read
} s_logs_t;

static void
s_on_log(void *arg, const zjob_job_t *job)
{
    s_logs_t *logs = arg;
    snprintf(logs->state, sizeof logs->state, "%s", job->state);
    size_t size = job->log ? strlen(job->log) : 0;
    if (size > logs->printed) {
        fwrite(job->log + logs->printed, 1, size - logs->printed, stdout);
        logs->printed = size;
    }
    fflush(stdout);
}

static bool
s_final(const char *state)
{
    return strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
           strcmp(state, "cancelled") == 0;
}

int
zj_cli_logs(zj_cli_t *cli, int argc, char **argv)
{
    cli->usage = s_usage;
    bool follow = false;
    int option;
    optind = 0;
    while ((option = zj_cli_getopt(cli, argc, argv, s_options)) >= 0)
        follow = true;
    if (option == ZJ_OPT_EXIT)
        return cli->exit;
    int64_t id = 0;
    if (argc - optind != 1 || zj_cli_parse_id(argv[optind], &id) != 0)
        return zj_cli_usage_error(cli, "takes exactly one job ID");
    zjob_client_t *client = zj_cli_client(cli);
    if (client == NULL)
        return ZJ_EXIT_USAGE;
    s_logs_t logs = {0};
    for (;;) {
        int rc = zjob_client_log(client, id, s_on_log, &logs);
        if (rc)
            return zj_cli_fail(cli, rc);
        if (!follow)
            return ZJ_EXIT_OK;
        if (s_final(logs.state))
            return strcmp(logs.state, "succeeded") == 0 ? ZJ_EXIT_OK
                                                        : ZJ_EXIT_FAILED;
        struct timespec pause = {0, ZJ_LOGS_FOLLOW_MS * 1000000L};
        nanosleep(&pause, NULL);
    }
}
