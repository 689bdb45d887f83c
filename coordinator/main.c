//  main.c - zjob-coordinator: flags -> zj_coordinator_run -> exit code.
#include <czmq.h>
#include <getopt.h>

#include "common/duration.h"
#include "common/endpoint.h"
#include "common/err.h"
#include "common/flags.h"
#include "common/log.h"
#include "coordinator/coordinator.h"
#include "coordinator/http_ep.h"
#include "proto/limits.h"

static const char *s_usage =
    "usage: zjob-coordinator [--clients EP] [--workers EP] [--db PATH]\n"
    "                        [--sync normal|full] [--heartbeat DUR]\n"
    "                        [--max-losses N] [--keep DUR]\n"
    "                        [--timeout-grace DUR]\n"
    "                        [--key FILE --worker-keys DIR --client-keys DIR]\n"
    "                        [--insecure] [--max-message SIZE] [--max-batch "
    "N]\n"
    "                        [--max-args SIZE] [--max-result SIZE]\n"
    "                        [--http ADDR [--http-token FILE]]\n"
    "                        [--log-level LEVEL] [--version]\n"
    "  --clients EP     client endpoint (default " ZJ_CLIENTS_ENDPOINT ")\n"
    "  --workers EP     worker endpoint (default " ZJ_WORKERS_ENDPOINT ")\n"
    "  --db PATH        SQLite store (default zjob.db)\n"
    "  --sync MODE      normal (default): durable across process crashes;\n"
    "                   full: also across power loss, slower\n"
    "  --heartbeat DUR  heartbeat period (default 1s); a worker silent for\n"
    "                   3 periods is lost and its jobs are queued again\n"
    "  --max-losses N   a job whose worker was lost N times while running\n"
    "                   it (it kills or freezes its worker) ends failed\n"
    "                   (1..1000, default 3); one loss short of N a job\n"
    "                   never shares a worker with another such job\n"
    "  --keep DUR       finished jobs (with their attempts, logs and\n"
    "                   progress) older than DUR are deleted, a chunk at\n"
    "                   a time, and their pages reused (default 7d; 0\n"
    "                   keeps them for ever); jobs an unfinished job runs\n"
    "                   after or is the parent of are kept\n"
    "  --timeout-grace DUR  how long past a job's --timeout the coordinator\n"
    "                   waits for its worker's result (default 3 heartbeat\n"
    "                   periods): then the attempt fails (or is retried),\n"
    "                   the worker is told to cancel it, and a later result\n"
    "                   is dropped\n"
    "  --key FILE       our secret key (NAME.key_secret from zjob keygen):\n"
    "                   CURVE on both endpoints; needs the two folders:\n"
    "  --worker-keys DIR  public keys (NAME.key) of the workers let in\n"
    "  --client-keys DIR  public keys (NAME.key) of the clients let in;\n"
    "                   a change is seen at the next connection\n"
    "  --insecure       allow a non-loopback endpoint without CURVE\n"
    "  --max-message SIZE  most bytes in one message from a client or a\n"
    "                   worker (64K..32M, default 32M)\n"
    "  --max-batch N    most jobs in one submit message (1..10000, default\n"
    "                   10000); clients send smaller batches with\n"
    "                   zjob submit --batch-size\n"
    "  --max-args SIZE  most bytes of args JSON per job (default 1M, or\n"
    "                   what --max-message holds with 16K to spare)\n"
    "  --max-result SIZE  most bytes of result JSON per job (default 4M, or\n"
    "                   what --max-message holds); a bigger result fails\n"
    "                   its job\n"
    "  --http ADDR      serve the status page, its JSON API (/api/) and\n"
    "                   Prometheus metrics (/metrics) at ADDR, HOST:PORT or\n"
    "                   PORT (127.0.0.1:PORT); read-only; off by default\n"
    "  --http-token FILE  the token (first line of FILE, mode 600) every\n"
    "                   request must carry: Authorization: Bearer TOKEN,\n"
    "                   or Basic with TOKEN as password; needed when ADDR\n"
    "                   is not loopback\n"
    "  --log-level LEVEL  error, warning, info (default) or debug; wins\n"
    "                   over $ZJOB_LOG\n"
    "  --version        print the version and exit\n"
    "SIZE is bytes, or a number with K, M or G (powers of 1024).\n"
    "One coordinator per store: it locks PATH.lock beside it.\n"
    "Exit status: 0 stopped by SIGINT/SIGTERM with every write stored;\n"
    "1 cannot start (store, bind, keys), or stopped with its store gone\n"
    "or with writes the store never took; 2 usage error; 3 the store is\n"
    "held by another coordinator (the message names it).\n";

//  --http's address, and the token it needs off loopback, read from
//  token_path into config->http_token (freed by main). Returns 0, or
//  ZJ_EUSAGE with why set.
static int
s_check_http(zj_coordinator_config_t *config, const char *token_path, char *why)
{
    if (config->http_addr == NULL)
        return token_path
                   ? zj_why_fail(ZJ_EUSAGE, why, "--http-token needs --http")
                   : 0;
    char bound[128];
    bool loopback = false;
    if (zj_http_ep_parse_addr(config->http_addr, bound, sizeof bound, &loopback,
                              why) != 0)
        return ZJ_EUSAGE;
    char *token = NULL;
    if (token_path && zj_http_ep_read_token(token_path, &token, why) != 0)
        return ZJ_EUSAGE;
    config->http_token = token;
    if (loopback || token)
        return 0;
    return zj_why_fail(ZJ_EUSAGE, why,
                       "--http %s is not loopback: anyone who reaches it "
                       "would see every job; give --http-token FILE too",
                       config->http_addr);
}

static int
s_usage_error(const char *problem)
{
    fprintf(stderr, "zjob-coordinator: %s\n%s", problem, s_usage);
    return 2;
}

//  Reads a whole number in low..high into *value. Returns 0 or -1.
static int
s_count(const char *text, int low, int high, int *value)
{
    char *end = NULL;
    errno = 0;
    long number = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno || number < low || number > high)
        return -1;
    *value = (int) number;
    return 0;
}

//  Reads one --max-* flag into limits. Returns 0, or 2 after saying why.
static int
s_parse_limit(int option, const char *text, zj_limits_t *limits)
{
    const struct {
        int option;       //  From getopt_long
        const char *flag; //  As typed
        int64_t *field;   //  Where it goes
    } flags[] = {{'M', "--max-message", &limits->max_message},
                 {'B', "--max-batch", &limits->max_batch},
                 {'A', "--max-args", &limits->max_args},
                 {'R', "--max-result", &limits->max_result}};
    size_t index = 0;
    while (flags[index].option != option)
        index++;
    if (zj_size_parse(text, flags[index].field) == 0)
        return 0;
    char problem[128];
    snprintf(problem, sizeof problem,
             "%s takes a number, or a size such as 512K or 4M, not '%.32s'",
             flags[index].flag, text);
    return s_usage_error(problem);
}

static int
s_parse(int argc, char **argv, zj_coordinator_config_t *config)
{
    static const struct option options[] = {
        {"clients", required_argument, 0, 'c'},
        {"workers", required_argument, 0, 'w'},
        {"db", required_argument, 0, 'd'},
        {"sync", required_argument, 0, 's'},
        {"heartbeat", required_argument, 0, 'b'},
        {"max-losses", required_argument, 0, 'L'},
        {"timeout-grace", required_argument, 0, 'g'},
        {"insecure", no_argument, 0, 'i'},
        {"key", required_argument, 0, 'k'},
        {"worker-keys", required_argument, 0, 'W'},
        {"client-keys", required_argument, 0, 'C'},
        {"max-message", required_argument, 0, 'M'},
        {"max-batch", required_argument, 0, 'B'},
        {"max-args", required_argument, 0, 'A'},
        {"max-result", required_argument, 0, 'R'},
        {"log-level", required_argument, 0, 'v'},
        {"keep", required_argument, 0, 'K'},
        {"http", required_argument, 0, 'H'},
        {"http-token", required_argument, 0, 'T'},
        {"version", no_argument, 0, 'V'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    bool insecure = false;
    const char *http_token_path = NULL;
    int option;
    int64_t ms;
    while ((option = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
        case 'c':
            config->clients_endpoint = optarg;
            break;
        case 'w':
            config->workers_endpoint = optarg;
            break;
        case 'd':
            config->db_path = optarg;
            break;
        case 'i':
            insecure = true;
            break;
        case 'k':
            config->key_path = optarg;
            break;
        case 'W':
            config->worker_keys = optarg;
            break;
        case 'C':
            config->client_keys = optarg;
            break;
        case 's':
            if (streq(optarg, "normal"))
                config->sync = ZJ_SYNC_NORMAL;
            else if (streq(optarg, "full"))
                config->sync = ZJ_SYNC_FULL;
            else
                return s_usage_error("--sync takes normal or full");
            break;
        case 'b':
            if (zj_duration_parse(optarg, &ms) != 0 || ms < 10 || ms > 600000)
                return s_usage_error("--heartbeat takes 10ms..10m");
            config->heartbeat_ms = (int) ms;
            break;
        case 'L':
            if (s_count(optarg, 1, 1000, &config->max_losses) != 0)
                return s_usage_error("--max-losses takes 1..1000");
            break;
        case 'K':
            if (zj_duration_parse(optarg, &ms) != 0)
                return s_usage_error("--keep takes a duration such as 7d, "
                                     "12h or 0 (for ever)");
            config->keep_ms = ms;
            break;
        case 'H':
            config->http_addr = optarg;
            break;
        case 'T':
            http_token_path = optarg;
            break;
        case 'g':
            if (zj_duration_parse(optarg, &ms) != 0 || ms > 86400000)
                return s_usage_error("--timeout-grace takes 0..24h");
            config->timeout_grace_ms = ms;
            break;
        case 'M':
        case 'B':
        case 'A':
        case 'R':
            if (s_parse_limit(option, optarg, &config->limits) != 0)
                return 2;
            break;
        case 'v':
            if (zj_log_set_level_name(optarg) != 0)
                return s_usage_error("--log-level takes error, warning, info "
                                     "or debug");
            break;
        case 'V':
            zj_flags_print_version("zjob-coordinator", ZJ_PROTO_VERSION);
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
    char why[ZJ_WHY_SIZE] = "";
    if (zj_limits_settle(&config->limits, why) != 0 ||
        s_check_http(config, http_token_path, why) != 0)
        return s_usage_error(why);
    bool curve = config->key_path != NULL;
    if (curve != (config->worker_keys != NULL) ||
        curve != (config->client_keys != NULL))
        return s_usage_error("--key, --worker-keys and --client-keys go "
                             "together");
    const char *endpoints[] = {config->clients_endpoint,
                               config->workers_endpoint};
    for (int index = 0; index < 2 && !insecure && !curve; index++)
        if (!zj_endpoint_is_local(endpoints[index])) {
            fprintf(stderr,
                    "zjob-coordinator: refusing to listen on %s without "
                    "CURVE: anyone who can reach it could run jobs. Give "
                    "--key, --worker-keys and --client-keys (see zjob "
                    "keygen), use a loopback endpoint, or pass --insecure "
                    "on a trusted network.\n",
                    endpoints[index]);
            return 2;
        }
    return 0;
}

//  One store, one coordinator: locks the store before anything reads it.
//  Returns 0 with *lock_p set (NULL for a store in memory), 3 when
//  another coordinator holds it, or 1, after saying why.
static int
s_lock_store(const zj_coordinator_config_t *config, zj_store_lock_t **lock_p)
{
    const char *path = config->db_path;
    if (streq(path, "") || streq(path, ":memory:"))
        return 0;
    char endpoints[512];
    snprintf(endpoints, sizeof endpoints, "clients=%s workers=%s",
             config->clients_endpoint, config->workers_endpoint);
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_store_lock_take(path, endpoints, lock_p, why);
    if (rc == ZJ_EDENIED) {
        zj_log_error("cannot use store db=%s: %s (lock file %s.lock); stop "
                     "that coordinator first, or give this one another --db",
                     path, why, path);
        return 3;
    }
    if (rc != 0) {
        zj_log_error("cannot lock store db=%s error=\"%s\"", path, why);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    zsys_init();
    zj_log_init("zjob-coordinator", ZJ_LOG_INFO);
    //  A file size limit reached is a store that takes no more writes (the
    //  write fails with EFBIG), not a reason to die.
    signal(SIGXFSZ, SIG_IGN);
    zj_coordinator_config_t config;
    zj_coordinator_config_defaults(&config);
    //  Unless given, args and results may use what --max-message holds.
    config.limits.max_args = 0;
    config.limits.max_result = 0;
    int rc = s_parse(argc, argv, &config);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    zj_store_lock_t *lock = NULL;
    if ((rc = s_lock_store(&config, &lock)) != 0)
        return rc;
    config.store_lock = lock;
    zj_coordinator_t *coordinator = zj_coordinator_new(&config);
    int status = 1; //  Cannot start, or stopped with unstored writes
    if (coordinator && zj_coordinator_run(coordinator) == 0)
        status = 0;
    zj_coordinator_destroy(&coordinator);
    zj_store_lock_destroy(&lock);
    free((char *) config.http_token);
    return status;
}
