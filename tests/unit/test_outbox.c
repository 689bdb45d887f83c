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

//  A clients socket as the coordinator's (ROUTER_MANDATORY, a small send
//  HWM) and a client "peer" that takes one message at a time.
static void
s_tight_up(zsock_t **router, zsock_t **dealer)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://tight-%d", ++s_serial);
    *router = zsock_new(ZMQ_ROUTER);
    zsock_set_router_mandatory(*router, 1);
    zsock_set_sndhwm(*router, 1);
    ck_assert_int_eq(zsock_bind(*router, "%s", endpoint), 0);
    *dealer = zsock_new(ZMQ_DEALER);
    zsock_set_identity(*dealer, "peer");
    zsock_set_rcvhwm(*dealer, 1);
    ck_assert_int_eq(zsock_connect(*dealer, "%s", endpoint), 0);
}

//  ZeroMQ says "full": what follows waits in the client's backlog, in
//  order, counts against its room, and goes as the client reads.
START_TEST(test_outbox_backlog_keeps_order_while_the_client_reads)
{
    zsock_t *router, *dealer;
    s_tight_up(&router, &dealer);
    zsock_t *workers = zsock_new(ZMQ_ROUTER);
    zj_outbox_t *outbox = zj_outbox_new();
    zframe_t *identity = zframe_new("peer", 4);
    for (uint64_t req = 1; req <= 20; req++)
        zj_outbox_error(outbox, ZJ_TO_CLIENT, identity, req, ZJ_ESTORE, "x");
    size_t queued = zj_outbox_client_bytes(outbox);
    ck_assert_uint_gt(queued, 0);
    ck_assert_uint_eq(zj_outbox_room(outbox, identity),
                      ZJ_CLIENT_BUDGET - queued);
    zj_outbox_flush(outbox, router, workers, false);
    ck_assert_uint_eq(zj_outbox_blocked(outbox), 1);
    ck_assert_uint_gt(zj_outbox_client_bytes(outbox), 0);
    zj_outbox_set_budget(outbox, 1);
    ck_assert_uint_eq(zj_outbox_room(outbox, identity), 0);
    zpoller_t *poller = zpoller_new(dealer, NULL);
    uint64_t expected = 1;
    for (int turn = 0; turn < 2000 && expected <= 20; turn++) {
        zj_outbox_flush(outbox, router, workers, false);
        if (zpoller_wait(poller, 5) == NULL)
            continue;
        zframe_t *frame = zframe_recv(dealer);
        zj_msg_t *msg = NULL;
        uint64_t req = 0;
        char why[256] = "";
        ck_assert_int_eq(zj_msg_decode(zframe_data(frame), zframe_size(frame),
                                       &msg, &req, why),
                         0);
        ck_assert_uint_eq(msg->req, expected++);
        zj_msg_destroy(&msg);
        zframe_destroy(&frame);
    }
    ck_assert_uint_eq(expected, 21);
    ck_assert_uint_eq(zj_outbox_blocked(outbox), 0);
    ck_assert_uint_eq(zj_outbox_client_bytes(outbox), 0);
    ck_assert_uint_eq(zj_outbox_room(outbox, identity), 1);
    ck_assert_ptr_null(zj_outbox_next_gone(outbox));
    zpoller_destroy(&poller);
    zframe_destroy(&identity);
    zj_outbox_destroy(&outbox);
    zsock_destroy(&workers);
    zsock_destroy(&router);
    zsock_destroy(&dealer);
}
END_TEST

//  ZeroMQ says "gone": the frames are dropped, the client is named once.
START_TEST(test_outbox_names_a_gone_client_once)
{
    zsock_t *router, *dealer;
    s_tight_up(&router, &dealer);
    zsock_t *workers = zsock_new(ZMQ_ROUTER);
    zj_outbox_t *outbox = zj_outbox_new();
    zframe_t *nobody = zframe_new("nobody", 6);
    zj_outbox_error(outbox, ZJ_TO_CLIENT, nobody, 1, ZJ_ESTORE, "x");
    zj_outbox_error(outbox, ZJ_TO_CLIENT, nobody, 2, ZJ_ESTORE, "x");
    zj_outbox_flush(outbox, router, workers, false);
    ck_assert_uint_eq(zj_outbox_client_bytes(outbox), 0);
    ck_assert_uint_eq(zj_outbox_blocked(outbox), 0);
    zframe_t *gone = zj_outbox_next_gone(outbox);
    ck_assert_ptr_nonnull(gone);
    ck_assert(zframe_eq(gone, nobody));
    zframe_destroy(&gone);
    ck_assert_ptr_null(zj_outbox_next_gone(outbox));
    zframe_destroy(&nobody);
    zj_outbox_destroy(&outbox);
    zsock_destroy(&workers);
    zsock_destroy(&router);
    zsock_destroy(&dealer);
}
END_TEST

//  A blocked client that keeps asking: replies past 4 budgets are
//  dropped, so its backlog stays bounded; what it reads stays in order.
START_TEST(test_outbox_caps_the_replies_of_a_client_that_never_reads)
{
    zsock_t *router, *dealer;
    s_tight_up(&router, &dealer);
    zsock_t *workers = zsock_new(ZMQ_ROUTER);
    zj_outbox_t *outbox = zj_outbox_new();
    zj_outbox_set_budget(outbox, 100);
    zframe_t *identity = zframe_new("peer", 4);
    for (uint64_t req = 1; req <= 200; req++) {
        zj_outbox_error(outbox, ZJ_TO_CLIENT, identity, req, ZJ_ESTORE, "x");
        zj_outbox_flush(outbox, router, workers, false);
        ck_assert_uint_le(zj_outbox_client_bytes(outbox), 4 * 100 + 64);
    }
    ck_assert_uint_eq(zj_outbox_blocked(outbox), 1);
    zpoller_t *poller = zpoller_new(dealer, NULL);
    uint64_t last = 0;
    for (int turn = 0; turn < 200 && zj_outbox_client_bytes(outbox) > 0;
         turn++) {
        zj_outbox_flush(outbox, router, workers, false);
        if (zpoller_wait(poller, 5) == NULL)
            continue;
        zframe_t *frame = zframe_recv(dealer);
        zj_msg_t *msg = NULL;
        uint64_t req = 0;
        char why[256] = "";
        ck_assert_int_eq(zj_msg_decode(zframe_data(frame), zframe_size(frame),
                                       &msg, &req, why),
                         0);
        ck_assert_uint_gt(msg->req, last);
        last = msg->req;
        zj_msg_destroy(&msg);
        zframe_destroy(&frame);
    }
    ck_assert_uint_eq(zj_outbox_client_bytes(outbox), 0);
    zpoller_destroy(&poller);
    zframe_destroy(&identity);
    zj_outbox_destroy(&outbox);
    zsock_destroy(&workers);
    zsock_destroy(&router);
    zsock_destroy(&dealer);
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
    tcase_add_test(tcase,
                   test_outbox_backlog_keeps_order_while_the_client_reads);
    tcase_add_test(tcase, test_outbox_names_a_gone_client_once);
    tcase_add_test(tcase,
                   test_outbox_caps_the_replies_of_a_client_that_never_reads);
    suite_add_tcase(suite, tcase);
    return suite;
}
