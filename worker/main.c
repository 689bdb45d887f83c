//  main.c - zjob-worker: flags -> zj_worker_run -> exit code.
#include <czmq.h>
#include <getopt.h>

#include "common/duration.h"
#include "common/flags.h"
#include "common/log.h"
#include "proto/limits.h"
#include "worker/worker.h"

#define ZJ_MAX_PLUGINS 64

static const char *s_usage =
    "usage: zjob-worker [--connect EP] [--name NAME] [--io-slots N]\n"
    "                   [--max-suspended N] [--max-log SIZE] [--cpu-procs N] "
    "[--cpu-prefetch N] "
    "[--allow-exec]\n"
    "                   [--plugin PATH]...\n"
    "                   [--block-threshold DUR] [--grace DUR]\n"
    "                   [--watchdog DUR]\n"
    "                   [--key FILE --coordinator-key FILE]\n"
    "                   [--log-level LEVEL] [--version]\n"
    "  --connect EP       coordinator's workers endpoint\n"
    "                     (default " ZJ_WORKER_ENDPOINT ")\n"
    "  --name NAME        unique worker name (default HOST-PID); a name\n"
    "                     another live worker holds is refused: exit 4\n"
    "  --io-slots N       I/O jobs at once, as coroutines (default 1024)\n"
    "  --max-log SIZE     bytes of log each attempt of a job may write\n"
    "                     (zjob_log, exec's output, a CPU handler's stdout\n"
    "                     and stderr; default 1M, 1K..4M): past it, the rest\n"
    "                     is dropped and the log says so\n"
    "  --max-suspended N  jobs awaiting their sub-jobs that give their I/O\n"
    "                     slot back meanwhile (default 1000); past it, a\n"
    "                     job that awaits keeps its slot\n"
    "  --cpu-procs N      CPU pool processes (default: one per core)\n"
    "  --cpu-prefetch N   CPU jobs each process holds ready, so that it\n"
    "                     never waits for the coordinator between jobs\n"
    "                     (default 1; 0 for long jobs over many workers)\n"
    "  --allow-exec       offer the exec kind (runs programs: trusted use)\n"
    "  --plugin PATH      load job kinds from a shared object (repeatable)\n"
    "  --block-threshold DUR  report a job holding the loop longer\n"
    "                     (default 100ms)\n"
    "  --watchdog DUR     exit with status 70, naming the job, when one job\n"
    "                     holds the loop this long without yielding (default\n"
    "                     10s; 0 never): the coordinator counts the loss\n"
    "                     against the job, a supervisor restarts us\n"
    "  --grace DUR        on SIGTERM/SIGINT, let running jobs finish this\n"
    "                     long (default 10s) before handing them back; a\n"
    "                     second signal stops at once\n"
    "  --key FILE         our secret key (NAME.key_secret from zjob keygen;\n"
    "                     default $ZJOB_KEY): connect with CURVE\n"
    "  --coordinator-key FILE  the coordinator's public key (NAME.key;\n"
    "                     default $ZJOB_COORDINATOR_KEY)\n"
    "  --log-level LEVEL  error, warning, info (default) or debug; wins\n"
    "                     over $ZJOB_LOG\n"
    "  --version          print the version and exit\n"
    "exit: 0 stopped by a signal, 1 cannot start, 2 usage error,\n"
    "      4 --name is held by another live worker (after waiting once for\n"
    "        a holder that may be our previous process to go silent),\n"
    "      70 the watchdog stopped us: a job held the loop past --watchdog\n";

static int
s_usage_error(const char *problem)
{
    fprintf(stderr, "zjob-worker: %s\n%s", problem, s_usage);
    return 2;
}

static int
s_count(const char *text, int low, int high, int *value)
{
    char *end = NULL;
    long number = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || number < low || number > high)
        return -1;
    *value = (int) number;
    return 0;
}

static int
s_parse(int argc, char **argv, zj_worker_config_t *config, const char **plugins)
{
    static const struct option options[] = {
        {"connect", required_argument, 0, 'c'},
        {"name", required_argument, 0, 'n'},
        {"io-slots", required_argument, 0, 'i'},
        {"max-suspended", required_argument, 0, 'S'},
        {"max-log", required_argument, 0, 'L'},
        {"cpu-procs", required_argument, 0, 'p'},
        {"cpu-prefetch", required_argument, 0, 'P'},
        {"allow-exec", no_argument, 0, 'x'},
        {"plugin", required_argument, 0, 'l'},
        {"block-threshold", required_argument, 0, 'b'},
        {"grace", required_argument, 0, 'g'},
        {"watchdog", required_argument, 0, 'w'},
        {"key", required_argument, 0, 'k'},
        {"coordinator-key", required_argument, 0, 'K'},
        {"log-level", required_argument, 0, 'v'},
        {"version", no_argument, 0, 'V'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int option;
    int64_t ms;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'c':
            config->endpoint = optarg;
            break;
        case 'n':
            config->name = optarg;
            break;
        case 'x':
            config->allow_exec = true;
            break;
        case 'k':
            config->key_path = optarg;
            break;
        case 'K':
            config->coordinator_key_path = optarg;
            break;
        case 'i':
            if (s_count(optarg, 0, 1000000, &config->io_slots))
                return s_usage_error("--io-slots takes 0..1000000");
            break;
        case 'L':
            if (zj_size_parse(optarg, &config->max_log) != 0 ||
                config->max_log < 1024 || config->max_log > ZJ_MAX_LOG)
                return s_usage_error("--max-log takes a size, 1K..4M");
            break;
        case 'S':
            if (s_count(optarg, 0, 1000000, &config->max_suspended))
                return s_usage_error("--max-suspended takes 0..1000000");
            break;
        case 'p':
            if (s_count(optarg, 0, 1024, &config->cpu_procs))
                return s_usage_error("--cpu-procs takes 0..1024");
            break;
        case 'P':
            if (s_count(optarg, 0, ZJ_CPU_PREFETCH_MAX, &config->cpu_prefetch))
                return s_usage_error("--cpu-prefetch takes 0..64");
            break;
        case 'l':
            if (config->plugin_count == ZJ_MAX_PLUGINS)
                return s_usage_error("too many --plugin");
            plugins[config->plugin_count++] = optarg;
            break;
        case 'b':
            if (zj_duration_parse(optarg, &ms) != 0 || ms < 1)
                return s_usage_error("--block-threshold takes a duration");
            config->block_ms = ms;
            break;
        case 'g':
            if (zj_duration_parse(optarg, &ms) != 0)
                return s_usage_error("--grace takes a duration");
            config->grace_ms = ms;
            break;
        case 'w':
            if (zj_duration_parse(optarg, &ms) != 0)
                return s_usage_error("--watchdog takes a duration (0: off)");
            config->watchdog_ms = ms;
            break;
        case 'v':
            if (zj_log_set_level_name(optarg) != 0)
                return s_usage_error("--log-level takes error, warning, info "
                                     "or debug");
            break;
        case 'V':
            zj_flags_print_version("zjob-worker", ZJ_PROTO_VERSION);
            return -1;
        case 'h':
            fputs(s_usage, stdout);
            return -1;
        default:
            return s_usage_error("unknown option");
        }
    }
    if (optind < argc)
        return s_usage_error("unexpected argument");
    if ((config->key_path == NULL) != (config->coordinator_key_path == NULL))
        return s_usage_error("--key and --coordinator-key go together");
    config->plugins = plugins;
    return 0;
}

int
main(int argc, char **argv)
{
    zj_log_init("zjob-worker", ZJ_LOG_INFO);
    zj_worker_config_t config;
    zj_worker_config_defaults(&config);
    config.key_path = zj_flags_from_env("ZJOB_KEY");
    config.coordinator_key_path = zj_flags_from_env("ZJOB_COORDINATOR_KEY");
    const char *plugins[ZJ_MAX_PLUGINS];
    int rc = s_parse(argc, argv, &config, plugins);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    zj_worker_t *worker = zj_worker_new(&config);
    if (worker == NULL)
        return 1;
    rc = zj_worker_run(worker);
    zj_worker_destroy(&worker);
    return rc;
}
