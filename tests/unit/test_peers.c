//  test_peers.c - the peers table (coordinator/peers.c): indexes, the
//  kinds ever offered, and the credit ledger with its invariants.
#include <check.h>

#include "common/heap.h"
#include "coordinator/peers.h"
#include "tests/unit/suites.h"

static zj_peer_t *
s_add(zj_peers_t *peers, const char *name, int32_t io, int32_t cpu)
{
    zj_worker_info_t info = {.name = strdup(name),
                             .io_slots = io,
                             .cpu_slots = cpu,
                             .kind_count = 2};
    info.kinds = calloc(3, sizeof *info.kinds);
    info.kinds[0] = (zj_kind_t){strdup("echo"), ZJ_CLASS_IO};
    info.kinds[1] = (zj_kind_t){strdup("sha256"), ZJ_CLASS_CPU};
    zframe_t *identity = zframe_new(name, strlen(name));
    zj_peer_t *peer = zj_peers_add(peers, identity, &info, 0);
    zframe_destroy(&identity);
    ck_assert_ptr_null(info.name); //  Taken over
    return peer;
}

static zj_future_t *
s_future(int64_t id)
{
    zj_future_t *future = calloc(1, sizeof *future);
    future->tag = ZJ_FUTURE_TAG;
    future->job.id = id;
    future->job.state = ZJ_STATE_RUNNING;
    future->slot = ZJ_HEAP_NONE;
    return future;
}

//  A peer keeps the CURVE key its connection was admitted with.
START_TEST(test_a_peer_keeps_its_curve_key)
{
    zj_peers_t *peers = zj_peers_new();
    zj_peer_t *peer = s_add(peers, "w1", 1, 0);
    ck_assert_ptr_null(zj_peer_curve_key(peer));
    zj_peer_set_curve_key(peer, "KEY");
    ck_assert_str_eq(zj_peer_curve_key(peer), "KEY");
    zj_peer_set_curve_key(peer, NULL);
    ck_assert_ptr_null(zj_peer_curve_key(peer));
    zj_peer_set_curve_key(peer, "KEY2");
    zj_peers_remove(peers, &peer);
    zj_peers_destroy(&peers);
}
END_TEST

START_TEST(test_peers_are_found_by_identity_and_name)
{
    zj_peers_t *peers = zj_peers_new();
    ck_assert(zj_peers_may_run(peers, "anything")); //  Nothing known yet
    zj_peer_t *peer = s_add(peers, "w1", 2, 1);
    s_add(peers, "w2", 2, 1);
    zframe_t *identity = zframe_new("w1", 2);
    ck_assert_ptr_eq(zj_peers_find(peers, identity), peer);
    ck_assert_ptr_eq(zj_peers_find_name(peers, "w1"), peer);
    ck_assert_uint_eq(zj_peers_size(peers), 2);
    ck_assert(zj_peers_may_run(peers, "sha256"));
    ck_assert(!zj_peers_may_run(peers, "anything"));
    size_t count = 0;
    const char **kinds = zj_peer_kinds(peer, ZJ_CLASS_CPU, &count);
    ck_assert_uint_eq(count, 1);
    ck_assert_str_eq(kinds[0], "sha256");
    zj_peers_remove(peers, &peer);
    ck_assert_ptr_null(peer);
    ck_assert_ptr_null(zj_peers_find(peers, identity));
    ck_assert(zj_peers_may_run(peers, "echo")); //  Kinds outlive peers
    ck_assert(zj_peers_invariants_hold(peers));
    zframe_destroy(&identity);
    zj_peers_destroy(&peers);
    ck_assert_ptr_null(peers);
}
END_TEST

START_TEST(test_the_ledger_frees_each_slot_once)
{
    zj_peers_t *peers = zj_peers_new();
    zj_peer_t *peer = s_add(peers, "w1", 2, 1);
    zj_future_t *one = s_future(1), *two = s_future(2), *three = s_future(3);
    zj_peer_attach(peer, one, ZJ_CLASS_IO);
    zj_peer_attach(peer, two, ZJ_CLASS_IO);
    zj_peer_attach(peer, three, ZJ_CLASS_CPU);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 0);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_CPU), 0);
    ck_assert_uint_eq(zj_peer_running(peer), 3);
    ck_assert(zj_peers_invariants_hold(peers));

    zj_peer_detach(one); //  Its result came
    ck_assert_ptr_null(one->peer);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 1);
    zj_peer_detach(one); //  Twice is nothing
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_IO), 1);
    ck_assert(!zj_peer_settle(peer, 1));

    zj_peer_stop(three); //  Cancelled: the slot waits for the report
    ck_assert_ptr_null(three->peer);
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_CPU), 0);
    ck_assert(zj_peers_invariants_hold(peers));
    ck_assert(zj_peer_settle(peer, 3));
    ck_assert(!zj_peer_settle(peer, 3));
    ck_assert_int_eq(zj_peer_credit(peer, ZJ_CLASS_CPU), 1);

    zj_peer_detach(two);
    ck_assert_uint_eq(zj_peer_running(peer), 0);
    zj_peers_destroy(&peers);
    free(one);
    free(two);
    free(three);
}
END_TEST

START_TEST(test_invariants_see_a_future_that_lost_its_peer)
{
    zj_peers_t *peers = zj_peers_new();
    zj_peer_t *peer = s_add(peers, "w1", 2, 0);
    zj_future_t *future = s_future(1);
    zj_peer_attach(peer, future, ZJ_CLASS_IO);
    future->peer = NULL;
    ck_assert(!zj_peers_invariants_hold(peers));
    future->peer = peer;
    future->job.state = ZJ_STATE_QUEUED;
    ck_assert(!zj_peers_invariants_hold(peers));
    future->job.state = ZJ_STATE_RUNNING;
    ck_assert(zj_peers_invariants_hold(peers));
    zj_peer_detach(future);
    zj_peers_destroy(&peers);
    free(future);
}
END_TEST

Suite *
test_peers_suite(void)
{
    Suite *suite = suite_create("peers");
    TCase *tcase = tcase_create("ledger");
    tcase_add_test(tcase, test_peers_are_found_by_identity_and_name);
    tcase_add_test(tcase, test_a_peer_keeps_its_curve_key);
    tcase_add_test(tcase, test_the_ledger_frees_each_slot_once);
    tcase_add_test(tcase, test_invariants_see_a_future_that_lost_its_peer);
    suite_add_tcase(suite, tcase);
    return suite;
}
