//  flood.c - opens CURVE connections with random client keys to a zjob
//  endpoint, as a party that knows only the coordinator's public key
//  would, for tests that admission stays cheap under a handshake flood.
//  Each round opens COUNT DEALERs, each with a fresh key pair, and closes
//  the previous round's; it stops after SECONDS and prints the number of
//  connections it opened.
#include <czmq.h>

#include "common/keys.h"
#include "common/why.h"

// clang-format off
static const char s_usage[] =
    "usage: flood ENDPOINT SERVER_KEY_FILE COUNT EVERY_MS SECONDS\n"
    "Every EVERY_MS, opens COUNT connections to ENDPOINT, each a CURVE\n"
    "client with a fresh random key pair trusting the public key in\n"
    "SERVER_KEY_FILE, and closes the previous round's; for SECONDS.\n";
// clang-format on

//  Opens count DEALERs with random keys into round (of size count).
static void
s_open_round(zsock_t **round, int count, const char *endpoint,
             const char *server_key)
{
    for (int index = 0; index < count; index++) {
        zj_keypair_t keys;
        zmq_curve_keypair(keys.public_key, keys.secret_key);
        zsock_t *dealer = zsock_new(ZMQ_DEALER);
        assert(dealer);
        zsock_set_linger(dealer, 0);
        if (zj_keys_make_client(zsock_resolve(dealer), &keys, server_key) ||
            zsock_connect(dealer, "%s", endpoint) != 0)
            zsock_destroy(&dealer);
        round[index] = dealer;
    }
}

static void
s_close_round(zsock_t **round, int count)
{
    for (int index = 0; index < count; index++)
        zsock_destroy(&round[index]);
}

int
main(int argc, char **argv)
{
    if (argc != 6) {
        fputs(s_usage, stderr);
        return 2;
    }
    zsys_init();
    zsys_set_max_sockets(0);
    zsys_handler_set(NULL);
    const char *endpoint = argv[1];
    zj_keypair_t server;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_keys_load_public(argv[2], &server, why) != 0) {
        fprintf(stderr, "flood: %s\n", why);
        return 2;
    }
    int count = atoi(argv[3]), every_ms = atoi(argv[4]);
    int64_t seconds = atoll(argv[5]);
    if (count <= 0 || every_ms <= 0 || seconds <= 0) {
        fputs(s_usage, stderr);
        return 2;
    }
    zsock_t **rounds[2] = {calloc((size_t) count, sizeof(zsock_t *)),
                           calloc((size_t) count, sizeof(zsock_t *))};
    assert(rounds[0] && rounds[1]);
    int64_t stop = zclock_mono() + seconds * 1000;
    long opened = 0;
    for (int turn = 0; zclock_mono() < stop; turn ^= 1) {
        s_close_round(rounds[turn], count);
        s_open_round(rounds[turn], count, endpoint, server.public_key);
        opened += count;
        zclock_sleep(every_ms);
    }
    s_close_round(rounds[0], count);
    s_close_round(rounds[1], count);
    free(rounds[0]);
    free(rounds[1]);
    printf("%ld\n", opened);
    return 0;
}
