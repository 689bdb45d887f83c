//  zjhog.c - a client that reads its results slowly or not at all, for
//  the tests of what the coordinator holds per client (tests/fault/
//  memory.sh). Its socket takes one message at a time and a small kernel
//  buffer, so a client that does not read soon stops the coordinator's
//  sends.
#include <czmq.h>

#include "proto/codec.h"
#include "proto/limits.h"

// clang-format off
static const char s_usage[] =
    "usage: zjhog ENDPOINT IDS_FILE hog N | slow MS\n"
    "Reads job ids, one a line, from IDS_FILE, then:\n"
    "  hog N    sends N AWAITs (in order) for all of them, prints \"sent\",\n"
    "           and never reads; it waits to be killed\n"
    "  slow MS  sends one AWAIT (as completed) for all of them and reads\n"
    "           one frame every MS ms; prints each id it gets, one a line,\n"
    "           then \"done\"; exits 1 on an ERROR or 10 s of silence\n";
// clang-format on

static zj_msg_t *
s_read_ids(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return NULL;
    zj_msg_t *await = zj_msg_new(ZJ_MSG_AWAIT);
    long long id;
    while (fscanf(file, "%lld", &id) == 1)
        zj_msg_add_id(await, (int64_t) id);
    fclose(file);
    return await;
}

static int
s_send(zsock_t *socket, zj_msg_t *msg)
{
    char *data = NULL;
    size_t size = 0;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_encode(msg, &data, &size, why) != 0) {
        fprintf(stderr, "zjhog: cannot encode: %s\n", why);
        return -1;
    }
    zframe_t *frame = zframe_new(data, size);
    free(data);
    return zframe_send(&frame, socket, 0);
}

static int
s_hog(zsock_t *socket, zj_msg_t *await, int count)
{
    for (int index = 0; index < count; index++) {
        await->req = (uint64_t) index + 1;
        if (s_send(socket, await))
            return 1;
    }
    printf("sent\n");
    fflush(stdout);
    while (!zsys_interrupted)
        zclock_sleep(100);
    return 0;
}

//  Prints the ids of one reply; returns 1 at DONE, -1 on anything but
//  RESOLVED, else 0.
static int
s_print_reply(zframe_t *frame)
{
    zj_msg_t *msg = NULL;
    uint64_t req = 0;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_decode(zframe_data(frame), zframe_size(frame), &msg, &req,
                      why) != 0) {
        fprintf(stderr, "zjhog: undecodable reply: %s\n", why);
        return -1;
    }
    int rc = msg->type == ZJ_MSG_DONE ? 1 : 0;
    if (msg->type == ZJ_MSG_RESOLVED)
        for (size_t index = 0; index < msg->job_count; index++)
            printf("%" PRId64 "\n", msg->jobs[index].id);
    else if (msg->type != ZJ_MSG_DONE) {
        fprintf(stderr, "zjhog: got %s\n", zj_msg_type_name(msg->type));
        rc = -1;
    }
    zj_msg_destroy(&msg);
    return rc;
}

static int
s_slow(zsock_t *socket, zj_msg_t *await, int pause_ms)
{
    await->req = 1;
    await->in_order = false;
    if (s_send(socket, await))
        return 1;
    zsock_set_rcvtimeo(socket, 10000);
    for (;;) {
        zclock_sleep(pause_ms);
        zframe_t *frame = zframe_recv(socket);
        if (frame == NULL) {
            fprintf(stderr, "zjhog: nothing for 10 s\n");
            return 1;
        }
        int rc = s_print_reply(frame);
        zframe_destroy(&frame);
        if (rc < 0)
            return 1;
        if (rc == 1)
            break;
    }
    printf("done\n");
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc != 5) {
        fputs(s_usage, stderr);
        return 2;
    }
    zj_msg_t *await = s_read_ids(argv[2]);
    if (await == NULL || await->id_count == 0) {
        fprintf(stderr, "zjhog: no ids in %s\n", argv[2]);
        return 2;
    }
    zsock_t *socket = zsock_new(ZMQ_DEALER);
    zsock_set_rcvhwm(socket, 1);
    zsock_set_rcvbuf(socket, 64 * 1024);
    zsock_set_maxmsgsize(socket, ZJ_MAX_FRAME);
    zsock_set_linger(socket, 0);
    int rc = 2;
    if (zsock_connect(socket, "%s", argv[1]) != 0)
        fprintf(stderr, "zjhog: cannot connect to %s\n", argv[1]);
    else if (streq(argv[3], "hog"))
        rc = s_hog(socket, await, atoi(argv[4]));
    else if (streq(argv[3], "slow"))
        rc = s_slow(socket, await, atoi(argv[4]));
    else
        fputs(s_usage, stderr);
    zj_msg_destroy(&await);
    zsock_destroy(&socket);
    return rc;
}
