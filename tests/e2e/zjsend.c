//  zjsend.c - sends one raw frame to a zjob endpoint and prints the reply,
//  for tests of hostile input: zjsend ENDPOINT WHAT, where WHAT is
//  "garbage" (random-looking bytes), "empty" (a zero-length frame) or
//  "twoframes" (a message of two frames). Prints "ERROR <code name>
//  <reason>" or "none" if nothing came back within 3 s.
#include <czmq.h>

#include "common/err.h"
#include "proto/codec.h"

static void
s_send(zsock_t *socket, const char *what)
{
    static const unsigned char garbage[] = {0xc1, 0xff, 0x00, 0x13, 0x37,
                                            0x92, 0xa1, 0x74, 0x01};
    if (streq(what, "empty"))
        zstr_send(socket, "");
    else if (streq(what, "twoframes"))
        zstr_sendx(socket, "one", "two", NULL);
    else
        zsock_send(socket, "b", garbage, sizeof garbage);
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: zjsend ENDPOINT garbage|empty|twoframes\n");
        return 2;
    }
    zsock_t *socket = zsock_new_dealer(argv[1]);
    if (socket == NULL)
        return 1;
    zsock_set_rcvtimeo(socket, 3000);
    s_send(socket, argv[2]);
    zframe_t *frame = zframe_recv(socket);
    if (frame == NULL) {
        puts("none");
        zsock_destroy(&socket);
        return 0;
    }
    zj_msg_t *msg = NULL;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_decode(zframe_data(frame), zframe_size(frame), &msg, NULL,
                      why) != 0)
        printf("undecodable %s\n", why);
    else if (msg->type == ZJ_MSG_ERROR)
        printf("ERROR %s %s\n", zj_errname(msg->code), msg->reason);
    else
        printf("%s\n", zj_msg_type_name(msg->type));
    zj_msg_destroy(&msg);
    zframe_destroy(&frame);
    zsock_set_linger(socket, 0);
    zsock_destroy(&socket);
    return 0;
}
