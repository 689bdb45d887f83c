//  main.c - the zjob command line: global options, then one command from
//  the table below, each in its cli_<group>.c. Exit codes are in cli.h
//  and docs/cli.md.
#include <string.h>
#include <unistd.h>

#include "client/cli.h"
#include "common/flags.h"

// clang-format off
static const char s_usage[] =
    "Usage: zjob [--coordinator EP] [--key FILE --coordinator-key FILE]\n"
    "            [--json] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  submit KIND [ARGS_JSON]   submit a job; prints its id\n"
    "  submit --batch FILE|-     submit JSON lines; prints the ids\n"
    "  wait ID                   await a job; prints its result line\n"
    "  gather ID...|-            await jobs; result lines in the ids' order\n"
    "  status ID                 a job's record\n"
    "  tree ID                   a job, its children, what it runs after\n"
    "  watch ID...|-             jobs' state and progress, live\n"
    "  logs ID [--follow]        what a job wrote\n"
    "  jobs                      the newest jobs\n"
    "  workers [--forget]        the workers\n"
    "  drain NAME                a worker takes no more jobs, finishes, stops\n"
    "  purge --older-than DUR    delete finished jobs\n"
    "  limit KIND [--concurrency N] [--rate N/s] [--clear]\n"
    "                            limit a kind's jobs across all workers\n"
    "  limits                    the kinds' limits\n"
    "  cancel ID...              cancel jobs\n"
    "  retry ID...               run failed or cancelled jobs again, as new jobs\n"
    "  stats                     queues by kind, jobs finished lately\n"
    "  keygen NAME               write a CURVE key pair: NAME.key, NAME.key_secret\n"
    "  schedule add|list|rm      jobs made every DUR or by a cron expression\n"
    "\n"
    "Options:\n"
    ZJ_CLI_HELP_COORDINATOR
    "  --json             JSON output\n"
    "  -h, --help         show this help ('zjob COMMAND --help' for one)\n"
    "  --version          print the version and exit\n"
    "\n"
    "Exit: 0 success, 1 a job failed or was cancelled, 2 usage error,\n"
    "3 coordinator unreachable, 4 wait/gather --timeout expired.\n";
// clang-format on

static const struct {
    const char *name; //  As typed
    zj_cli_fn *run;   //  Runs it
} s_commands[] = {{"submit", zj_cli_submit}, {"wait", zj_cli_wait},
                  {"gather", zj_cli_gather}, {"status", zj_cli_status},
                  {"jobs", zj_cli_jobs},     {"workers", zj_cli_workers},
                  {"cancel", zj_cli_cancel}, {"keygen", zj_cli_keygen},
                  {"tree", zj_cli_tree},     {"watch", zj_cli_watch},
                  {"logs", zj_cli_logs},     {"drain", zj_cli_drain},
                  {"purge", zj_cli_purge},   {"schedule", zj_cli_schedule},
                  {"limit", zj_cli_limit},   {"limits", zj_cli_limits},
                  {"retry", zj_cli_retry},   {"stats", zj_cli_stats}};

int
main(int argc, char **argv)
{
    const char *from_env = zj_flags_from_env("ZJOB_COORDINATOR");
    zj_cli_t cli = {.command = "",
                    .usage = s_usage,
                    .endpoint = from_env ? from_env : ZJOB_DEFAULT_ENDPOINT,
                    .key_path = zj_flags_from_env("ZJOB_KEY"),
                    .coordinator_key_path =
                        zj_flags_from_env("ZJOB_COORDINATOR_KEY"),
                    .out_tty = isatty(STDOUT_FILENO),
                    .err_tty = isatty(STDERR_FILENO)};
    if (zj_cli_getopt_common(&cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli.exit;
    if (optind >= argc)
        return zj_cli_usage_error(&cli, "no command given");
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        fputs(s_usage, stdout);
        return ZJ_EXIT_OK;
    }
    int exit = -1;
    for (size_t index = 0;
         exit < 0 && index < sizeof s_commands / sizeof s_commands[0];
         index++) {
        if (strcmp(name, s_commands[index].name) != 0)
            continue;
        cli.command = name;
        exit = s_commands[index].run(&cli, argc - optind, argv + optind);
    }
    if (exit < 0) {
        fprintf(stderr, "zjob: unknown command '%.40s' (see 'zjob --help')\n",
                name);
        exit = ZJ_EXIT_USAGE;
    }
    zjob_client_destroy(&cli.client);
    return exit;
}
