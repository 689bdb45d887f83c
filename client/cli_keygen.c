//  cli_keygen.c - zjob keygen NAME: a CURVE key pair for a coordinator,
//  a worker or a client, in czmq's certificate format.
#include <stdio.h>

#include "client/cli.h"
#include "common/keys.h"
#include "proto/limits.h"

static const char s_usage[] =
    "Usage: zjob keygen NAME\n"
    "\n"
    "Writes NAME.key (the public key, to give to the other side) and\n"
    "NAME.key_secret (the secret key, mode 0600, to keep), never\n"
    "overwriting either. Give a coordinator's NAME.key to its workers and\n"
    "clients (--coordinator-key); put a worker's or client's NAME.key in\n"
    "the coordinator's --worker-keys or --client-keys folder.\n"
    "\n"
    "Options:\n" ZJ_CLI_HELP_HELP;

int
zj_cli_keygen(zj_cli_t *cli, int argc, char **argv)
{
    if (zj_cli_getopt_common(cli, argc, argv, s_usage) == ZJ_OPT_EXIT)
        return cli->exit;
    if (argc - optind != 1 || argv[optind][0] == '\0')
        return zj_cli_usage_error(cli, "give one NAME");
    const char *name = argv[optind];
    char why[ZJ_WHY_SIZE] = "";
    if (zj_keys_generate(name, why) != 0) {
        fprintf(stderr, "zjob keygen: %s\n", why);
        return ZJ_EXIT_FAILED;
    }
    zj_keypair_t keys;
    char path[ZJ_WHY_SIZE];
    snprintf(path, sizeof path, "%s.key", name);
    if (zj_keys_load_public(path, &keys, why) == 0)
        printf("%s.key %s\n%s.key_secret (keep it secret)\n", name,
               keys.public_key, name);
    return ZJ_EXIT_OK;
}
