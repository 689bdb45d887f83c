//  cli_args.c - the CLI's argument helpers (see cli.h): option parsing
//  with the options every command shares, ids from argv or stdin, number
//  parsing, the lazily made client, and turning libzjob codes (and out
//  of memory) into messages and exit codes.
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "common/flags.h"
#include "common/keys.h"
#include "proto/limits.h"

int
zj_cli_usage_error(zj_cli_t *cli, const char *format, ...)
{
    const char *space = *cli->command ? " " : "";
    va_list args;
    va_start(args, format);
    fprintf(stderr, "zjob%s%s: ", space, cli->command);
    vfprintf(stderr, format, args);
    fprintf(stderr, " (see 'zjob%s%s --help')\n", space, cli->command);
    va_end(args);
    return ZJ_EXIT_USAGE;
}

int
zj_cli_getopt(zj_cli_t *cli, int argc, char **argv,
              const struct option *options)
{
    opterr = 0; //  We word the errors ourselves
    //  Before the command (in main), stop at its name: what follows is the
    //  command's. Within a command, options and arguments may mix.
    const char *shorts = *cli->command ? ":h" : "+:h";
    for (;;) {
        int option = getopt_long(argc, argv, shorts, options, NULL);
        switch (option) {
        case ZJ_OPT_COORDINATOR:
            cli->endpoint = optarg;
            continue;
        case ZJ_OPT_JSON:
            cli->json = true;
            continue;
        case ZJ_OPT_KEY:
            cli->key_path = optarg;
            continue;
        case ZJ_OPT_COORDINATOR_KEY:
            cli->coordinator_key_path = optarg;
            continue;
        case 'h':
            fputs(cli->usage, stdout);
            cli->exit = ZJ_EXIT_OK;
            return ZJ_OPT_EXIT;
        case ZJ_OPT_VERSION:
            zj_flags_print_version("zjob", ZJ_PROTO_VERSION);
            cli->exit = ZJ_EXIT_OK;
            return ZJ_OPT_EXIT;
        case ':':
            cli->exit = zj_cli_usage_error(cli, "option '%s' needs a value",
                                           argv[optind - 1]);
            return ZJ_OPT_EXIT;
        case '?':
            if (optopt > 0 && optopt < 128)
                cli->exit =
                    zj_cli_usage_error(cli, "unknown option '-%c'", optopt);
            else if (optopt)
                cli->exit = zj_cli_usage_error(
                    cli, "option '%s' takes no value", argv[optind - 1]);
            else
                cli->exit = zj_cli_usage_error(cli, "unknown option '%s'",
                                               argv[optind - 1]);
            return ZJ_OPT_EXIT;
        default:
            return option;
        }
    }
}

int
zj_cli_getopt_common(zj_cli_t *cli, int argc, char **argv, const char *usage)
{
    static const struct option options[] = {ZJ_CLI_COMMON_OPTIONS};
    cli->usage = usage;
    optind = 0;
    int option = zj_cli_getopt(cli, argc, argv, options);
    if (option >= 0) {
        cli->exit = zj_cli_usage_error(cli, "unexpected option");
        return ZJ_OPT_EXIT;
    }
    return option;
}

int
zj_cli_parse_id(const char *text, int64_t *id)
{
    if (text == NULL || *text < '0' || *text > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || *end != '\0' || value <= 0)
        return -1;
    *id = value;
    return 0;
}

int
zj_cli_parse_int(const char *text, int32_t min, int32_t max, int32_t *value)
{
    if (text == NULL || *text == '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    long long number = strtoll(text, &end, 10);
    if (errno || *end != '\0' || number < min || number > max)
        return -1;
    *value = (int32_t) number;
    return 0;
}

typedef struct {
    int64_t *ids;    //  Ids read so far (owned)
    size_t count;    //  Entries used
    size_t capacity; //  Entries allocated
} s_ids_t;

static void
s_ids_add(s_ids_t *list, int64_t id)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 64;
        list->ids = zj_cli_checked(
            realloc(list->ids, list->capacity * sizeof(int64_t)));
    }
    list->ids[list->count++] = id;
}

//  Reads the ids of one stdin line: a JSON object with "id" (as
//  `zjob --json submit` prints), or ids separated by blanks. Returns 0,
//  or -1 after printing a usage error naming the line.
static int
s_ids_from_line(zj_cli_t *cli, char *line, size_t number, s_ids_t *list)
{
    const char *blanks = " \t\r\n";
    char *start = line + strspn(line, blanks);
    if (*start == '{') {
        json_t *object = json_loads(start, 0, NULL);
        json_t *id = json_object_get(object, "id");
        bool ok = json_is_integer(id) && json_integer_value(id) > 0;
        if (ok)
            s_ids_add(list, json_integer_value(id));
        json_decref(object);
        if (!ok)
            zj_cli_usage_error(cli, "stdin line %zu: no positive \"id\"",
                               number);
        return ok ? 0 : -1;
    }
    char *saved = NULL;
    for (char *word = strtok_r(start, blanks, &saved); word;
         word = strtok_r(NULL, blanks, &saved)) {
        int64_t id = 0;
        if (zj_cli_parse_id(word, &id)) {
            zj_cli_usage_error(cli, "stdin line %zu: '%.40s' is not a job id",
                               number, word);
            return -1;
        }
        s_ids_add(list, id);
    }
    return 0;
}

int
zj_cli_read_ids(zj_cli_t *cli, int argc, char **argv, int64_t **ids_p,
                size_t *count_p)
{
    s_ids_t list = {NULL, 0, 0};
    int rc = 0;
    if (argc == 1 && strcmp(argv[0], "-") == 0) {
        char *line = NULL;
        size_t size = 0;
        for (size_t number = 1; rc == 0 && getline(&line, &size, stdin) >= 0;
             number++)
            rc = s_ids_from_line(cli, line, number, &list);
        free(line);
    } else {
        for (int index = 0; rc == 0 && index < argc; index++) {
            int64_t id = 0;
            rc = zj_cli_parse_id(argv[index], &id);
            if (rc)
                zj_cli_usage_error(cli, "'%.40s' is not a job id", argv[index]);
            else
                s_ids_add(&list, id);
        }
    }
    //  An empty batch piped in (submit --batch - | gather -) is no ids,
    //  not a mistake; no argument at all is one.
    bool from_stdin = argc == 1 && strcmp(argv[0], "-") == 0;
    if (rc == 0 && list.count == 0 && !from_stdin) {
        rc = -1;
        zj_cli_usage_error(cli, "no job ids given");
    }
    if (rc) {
        free(list.ids);
        return ZJ_EXIT_USAGE;
    }
    *ids_p = list.ids;
    *count_p = list.count;
    return 0;
}

void *
zj_cli_checked(void *pointer)
{
    if (pointer == NULL) {
        fputs("zjob: out of memory\n", stderr);
        exit(ZJ_EXIT_FAILED);
    }
    return pointer;
}

//  Reads both key files, to say plainly what is wrong with one.
static int
s_keys_usable(zj_cli_t *cli)
{
    zj_keypair_t keys;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_keys_load_secret(cli->key_path, &keys, why);
    if (rc == 0)
        rc = zj_keys_load_public(cli->coordinator_key_path, &keys, why);
    memset(&keys, 0, sizeof keys);
    if (rc != 0)
        fprintf(stderr, "zjob %s: %s\n", cli->command, why);
    return rc;
}

//  ZeroMQ takes a tcp:// endpoint it cannot resolve (tcp://[::1) and
//  only fails to connect later, which would read as "unreachable". A TCP
//  endpoint to connect to is [SOURCE;]HOST:PORT: HOST not empty, in
//  brackets if it has any, PORT 1..65535. Other transports are left to
//  ZeroMQ.
static bool
s_tcp_endpoint_is_well_formed(const char *endpoint)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return true;
    const char *peer = strrchr(endpoint, ';');
    peer = peer ? peer + 1 : endpoint + 6;
    const char *colon = strrchr(peer, ':');
    if (colon == NULL || colon == peer)
        return false;
    size_t host = (size_t) (colon - peer);
    bool bracketed = peer[0] == '[' && peer[host - 1] == ']' && host > 2;
    if (!bracketed && memchr(peer, '[', host) == NULL &&
        memchr(peer, ']', host) == NULL && strchr(peer, ':') == colon)
        bracketed = true; //  A plain name or IPv4 address
    if (!bracketed)
        return false;
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    return colon[1] >= '0' && colon[1] <= '9' && *end == '\0' && errno == 0 &&
           port >= 1 && port <= 65535;
}

zjob_client_t *
zj_cli_client(zj_cli_t *cli)
{
    if (cli->client)
        return cli->client;
    if ((cli->key_path == NULL) != (cli->coordinator_key_path == NULL)) {
        zj_cli_usage_error(cli, "--key and --coordinator-key go together");
        return NULL;
    }
    if (cli->key_path && s_keys_usable(cli) != 0)
        return NULL;
    if (!s_tcp_endpoint_is_well_formed(cli->endpoint)) {
        zj_cli_usage_error(cli, "bad coordinator endpoint '%s'", cli->endpoint);
        return NULL;
    }
    int code = 0;
    cli->client = zjob_client_new_curve(cli->endpoint, cli->key_path,
                                        cli->coordinator_key_path, &code);
    if (cli->client == NULL && code == ZJOB_EUSAGE)
        zj_cli_usage_error(cli, "bad coordinator endpoint '%s'", cli->endpoint);
    else if (cli->client == NULL)
        fprintf(stderr, "zjob %s: cannot make a client: %s\n", cli->command,
                zjob_strerror(code));
    return cli->client;
}

int
zj_cli_fail(zj_cli_t *cli, int code)
{
    const char *reason = cli->client ? zjob_client_last_error(cli->client) : "";
    if (*reason == '\0')
        reason = zjob_strerror(code);
    switch (code) {
    case ZJOB_EUNREACH:
        fprintf(stderr,
                "zjob: cannot reach coordinator at %s (is zjob-coordinator "
                "running?)\n",
                cli->endpoint);
        return ZJ_EXIT_UNREACH;
    case ZJOB_ETIMEOUT:
        fprintf(stderr, "zjob %s: timed out: %s\n", cli->command, reason);
        return ZJ_EXIT_TIMEOUT;
    case ZJOB_EUSAGE:
    case ZJOB_EJSON:
    case ZJOB_EARGS:
    case ZJOB_EKIND:
    case ZJOB_ETOOBIG:
    case ZJOB_ENOTFOUND:
        return zj_cli_usage_error(cli, "%s", reason);
    default:
        fprintf(stderr, "zjob %s: %s\n", cli->command, reason);
        return ZJ_EXIT_FAILED;
    }
}
