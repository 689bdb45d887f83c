//  test_outbox.c - replies that wait for the commit (coordinator/
//  outbox.c): order, sides, and what is held while the store is degraded,
//  through real inproc sockets.
#include <check.h>

#include "common/err.h"
#include "coordinator/outbox.h"
#include "proto/codec.h"
#include "tests/unit/suites.h"

static int s_serial; //  Makes inproc endpoints unique

typedef struct {
    zsock_t *router[2]; //  The coordinator's clients and workers sockets
    zsock_t *dealer[2]; //  A client and a worker, identity "peer"
} s_net_t;

static void
s_net_up(s_net_t *net)
{
    for (int side = 0; side < 2; side++) {
        char endpoint[64];
        snprintf(endpoint, sizeof endpoint, "inproc://outbox-%d-%d", ++s_serial,
                 side);
        net->router[side] = zsock_new(ZMQ_ROUTER);
        ck_assert_int_eq(zsock_bind(net->router[side], "%s", endpoint), 0);
        net->dealer[side] = zsock_new(ZMQ_DEALER);
        zsock_set_identity(net->dealer[side], "peer");
        zsock_set_rcvtimeo(net->dealer[side], 5000);
        ck_assert_int_eq(zsock_connect(net->dealer[side], "%s", endpoint), 0);
    }
}

static void
s_net_down(s_net_t *net)
{
    for (int side = 0; side < 2; side++) {
        zsock_destroy(&net->router[side]);
        zsock_destroy(&net->dealer[side]);
    }
}

//  The type of the next message the dealer of side receives.
static zj_msg_type_t
s_receive(s_net_t *net, zj_side_t side)
{
    zframe_t *frame = zframe_recv(net->dealer[side]);
    ck_assert_ptr_nonnull(frame);
    zj_msg_t *msg = NULL;
    uint64_t req = 0;
    char why[256] = "";
    ck_assert_int_eq(
        zj_msg_decode(zframe_data(frame), zframe_size(frame), &msg, &req, why),
        0);
    zj_msg_type_t type = msg->type;
    zj_msg_destroy(&msg);
    zframe_destroy(&frame);
    return type;
}

static void
s_queue(zj_outbox_t *outbox, zj_side_t side, zj_msg_type_t type)
{
    zframe_t *identity = zframe_new("peer", 4);
    zj_msg_t *msg = zj_msg_new(type);
    if (type == ZJ_MSG_SUBMITTED || type == ZJ_MSG_CANCEL) {
        msg->req = 1;
        zj_msg_add_id(msg, 1);
    }
    zj_outbox_send(outbox, side, identity, &msg);
    ck_assert_ptr_null(msg);
    zframe_destroy(&identity);
}

START_TEST(test_outbox_sends_in_order_on_each_side)
{
    s_net_t net;
    s_net_up(&net);
    zj_outbox_t *outbox = zj_outbox_new();
    s_queue(outbox, ZJ_TO_CLIENT, ZJ_MSG_SUBMITTED);
    s_queue(outbox, ZJ_TO_WORKER, ZJ_MSG_HEARTBEAT);
    s_queue(outbox, ZJ_TO_CLIENT, ZJ_MSG_CANCEL);
    ck_assert_uint_eq(zj_outbox_size(outbox), 3);
    zj_outbox_flush(outbox, net.router[0], net.router[1], false);
    ck_assert_uint_eq(zj_outbox_size(outbox), 0);
    ck_assert_int_eq(s_receive(&net, ZJ_TO_CLIENT), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(s_receive(&net, ZJ_TO_CLIENT), ZJ_MSG_CANCEL);
    ck_assert_int_eq(s_receive(&net, ZJ_TO_WORKER), ZJ_MSG_HEARTBEAT);
    zj_outbox_destroy(&outbox);
    ck_assert_ptr_null(outbox);
    s_net_down(&net);
}
END_TEST

//  Degraded: what tells of a write waits, the rest goes; once the store
//  is back the held replies go first.
START_TEST(test_outbox_holds_what_tells_of_a_write)
{
    s_net_t net;
    s_net_up(&net);
    zj_outbox_t *outbox = zj_outbox_new();
    s_queue(outbox, ZJ_TO_CLIENT, ZJ_MSG_SUBMITTED);
    s_queue(outbox, ZJ_TO_WORKER, ZJ_MSG_CANCEL); //  A worker's: not held
    zframe_t *identity = zframe_new("peer", 4);
    zj_outbox_error(outbox, ZJ_TO_CLIENT, identity, 3, ZJ_ESTORE, "down");
    zframe_destroy(&identity);
    zj_outbox_flush(outbox, net.router[0], net.router[1], true);
    ck_assert_uint_eq(zj_outbox_held(outbox), 1);
    ck_assert_int_eq(s_receive(&net, ZJ_TO_CLIENT), ZJ_MSG_ERROR);
    ck_assert_int_eq(s_receive(&net, ZJ_TO_WORKER), ZJ_MSG_CANCEL);

    s_queue(outbox, ZJ_TO_CLIENT, ZJ_MSG_CANCEL);
    zj_outbox_flush(outbox, net.router[0], net.router[1], false);
    ck_assert_uint_eq(zj_outbox_held(outbox), 0);
    ck_assert_int_eq(s_receive(&net, ZJ_TO_CLIENT), ZJ_MSG_SUBMITTED);
    ck_assert_int_eq(s_receive(&net, ZJ_TO_CLIENT), ZJ_MSG_CANCEL);
    zj_outbox_destroy(&outbox);
    s_net_down(&net);
}
END_TEST

START_TEST(test_outbox_take_hands_over_in_order)
{
    zj_outbox_t *outbox = zj_outbox_new();
    s_queue(outbox, ZJ_TO_WORKER, ZJ_MSG_HEARTBEAT);
    s_queue(outbox, ZJ_TO_CLIENT, ZJ_MSG_SUBMITTED);
    zj_side_t side = ZJ_TO_CLIENT;
    zj_msg_t *msg = zj_outbox_take(outbox, &side);
    ck_assert_int_eq(side, ZJ_TO_WORKER);
    ck_assert_int_eq(msg->type, ZJ_MSG_HEARTBEAT);
    zj_msg_destroy(&msg);
    zj_outbox_purge(outbox);
    ck_assert_ptr_null(zj_outbox_take(outbox, &side));
    zj_outbox_destroy(&outbox);
}
END_TEST

Suite *
test_outbox_suite(void)
{
    Suite *suite = suite_create("outbox");
    TCase *tcase = tcase_create("flush");
    tcase_set_timeout(tcase, 20);
    tcase_add_test(tcase, test_outbox_sends_in_order_on_each_side);
    tcase_add_test(tcase, test_outbox_holds_what_tells_of_a_write);
    tcase_add_test(tcase, test_outbox_take_hands_over_in_order);
    suite_add_tcase(suite, tcase);
    return suite;
}
