//  test_listing.c - LIST with filters (coordinator/listing.c) on the test
//  coordinator: the index path with several states and its next page,
//  and a scan by kind that reads a few rows a turn, goes on over several
//  turns, sends its parts and stops at --since.
#include <check.h>

#include "common/duration.h"
#include "common/err.h"
#include "tests/unit/suites.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

static zframe_t *s_client; //  The client's routing id

static void
s_setup(void)
{
    zj_testdb_setup();
    s_client = zframe_new("client", 6);
}

static void
s_teardown(void)
{
    zframe_destroy(&s_client);
    zj_testdb_teardown();
}

static zj_msg_t *
s_list(uint64_t req, const char *state, const char *kind, int32_t limit)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_LIST);
    msg->req = req;
    msg->state = state ? strdup(state) : NULL;
    msg->kind = kind ? strdup(kind) : NULL;
    msg->limit = limit;
    return msg;
}

static void
s_ask(zj_testcoord_t *tc, zj_msg_t *msg)
{
    zj_client_ep_handle(&tc->client_ep, s_client, msg);
    zj_msg_destroy(&msg);
}

//  Takes every LIST part queued for the client: the ids in order, into
//  ids; returns the last part (the caller frees it) or NULL if none.
static zj_msg_t *
s_take_parts(zj_testcoord_t *tc, int64_t *ids, size_t *count, size_t *parts)
{
    zj_msg_t *last = NULL;
    zj_msg_t *part;
    while ((part = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_LIST))) {
        ck_assert_ptr_null(last); //  Nothing after the last part
        for (size_t index = 0; index < part->job_count; index++)
            ids[(*count)++] = part->jobs[index].id;
        (*parts)++;
        if (part->more)
            zj_msg_destroy(&part);
        else
            last = part;
    }
    return last;
}

//  Jobs 1..9: kinds echo, sha256 by turns (odd ids echo); 3 and 6 end
//  cancelled.
static void
s_nine_jobs(zj_testcoord_t *tc)
{
    for (int index = 1; index <= 9; index++)
        ck_assert_int_eq(
            zj_testcoord_submit(tc, index % 2 ? "echo" : "sha256", 1), index);
    for (int64_t id = 3; id <= 6; id += 3) {
        zj_msg_t *cancel = zj_msg_new(ZJ_MSG_CANCEL);
        cancel->req = 1;
        zj_msg_add_id(cancel, id);
        s_ask(tc, cancel);
    }
    ck_assert_int_eq(zj_store_commit(tc->store), 0);
    zj_outbox_purge(tc->outbox);
}

START_TEST(test_several_states_through_the_index_with_a_next_page)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_nine_jobs(tc);
    s_ask(tc, s_list(7, "cancelled,queued", NULL, 4));
    int64_t ids[16];
    size_t count = 0, parts = 0;
    zj_msg_t *last = s_take_parts(tc, ids, &count, &parts);
    ck_assert_ptr_nonnull(last);
    ck_assert_uint_eq(count, 4);
    ck_assert_int_eq(ids[0], 9);
    ck_assert_int_eq(ids[3], 6);
    ck_assert_int_eq(last->before, 6); //  More exist
    zj_msg_destroy(&last);
    //  The next page, and the last: no before.
    zj_msg_t *next = s_list(8, "cancelled,queued", NULL, 10);
    next->before = 6;
    s_ask(tc, next);
    count = parts = 0;
    last = s_take_parts(tc, ids, &count, &parts);
    ck_assert_uint_eq(count, 5);
    ck_assert_int_eq(ids[0], 5);
    ck_assert_int_eq(ids[4], 1);
    ck_assert_int_eq(last->before, 0);
    zj_msg_destroy(&last);
    //  Only cancelled: 6 and 3.
    s_ask(tc, s_list(9, "cancelled", NULL, 0));
    count = parts = 0;
    last = s_take_parts(tc, ids, &count, &parts);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(ids[0], 6);
    ck_assert_int_eq(ids[1], 3);
    zj_msg_destroy(&last);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  An empty store, or a state no job is in: one empty last part (under
//  UBSan this once passed NULL to qsort).
START_TEST(test_an_empty_page_is_one_empty_part)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_ask(tc, s_list(7, "failed,cancelled", NULL, 10));
    int64_t ids[4];
    size_t count = 0, parts = 0;
    zj_msg_t *last = s_take_parts(tc, ids, &count, &parts);
    ck_assert_ptr_nonnull(last);
    ck_assert_uint_eq(count, 0);
    ck_assert_uint_eq(parts, 1);
    ck_assert_int_eq(last->before, 0);
    zj_msg_destroy(&last);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_a_scan_by_kind_goes_on_over_several_turns)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_nine_jobs(tc);
    s_ask(tc, s_list(7, NULL, "echo", 0));
    //  Parked: nothing sent yet.
    ck_assert(zj_client_ep_is_busy(&tc->client_ep));
    ck_assert_ptr_null(zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_LIST));
    //  Two rows a turn: 9 rows take 5 turns; the 5th reads 1 and ends.
    int64_t ids[16];
    size_t count = 0, parts = 0, turns = 0;
    zj_msg_t *last = NULL;
    while (zj_client_ep_is_busy(&tc->client_ep)) {
        ck_assert_uint_lt(turns++, 10);
        //  Far apart turns: every step sends a part (keepalive).
        zj_client_ep_resume(&tc->client_ep, 2,
                            zj_mono_ms() + (int64_t) turns * 10000);
        ck_assert_ptr_null(last);
        last = s_take_parts(tc, ids, &count, &parts);
    }
    ck_assert_uint_eq(turns, 5);
    ck_assert_ptr_nonnull(last);
    ck_assert_uint_eq(parts, 5);
    ck_assert_uint_eq(count, 5);
    int64_t want[] = {9, 7, 5, 3, 1};
    for (size_t index = 0; index < 5; index++)
        ck_assert_int_eq(ids[index], want[index]);
    ck_assert_int_eq(last->before, 0);
    zj_msg_destroy(&last);
    zj_testcoord_destroy(&tc);
}
END_TEST

START_TEST(test_a_scan_stops_at_its_limit_and_at_since)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    s_nine_jobs(tc);
    //  Two echo jobs, found in the first step of 5 rows (9, 8, 7, 6, 5):
    //  the third (5) says more exist, before 7.
    s_ask(tc, s_list(7, "queued,cancelled", "echo", 2));
    zj_client_ep_resume(&tc->client_ep, 5, zj_mono_ms());
    ck_assert(!zj_client_ep_is_busy(&tc->client_ep));
    int64_t ids[16];
    size_t count = 0, parts = 0;
    zj_msg_t *last = s_take_parts(tc, ids, &count, &parts);
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(last->before, 7);
    zj_msg_destroy(&last);
    //  Created within the last hour: all of them; a since in the future
    //  (a clock gone back) stops at the first row.
    zj_msg_t *recent = s_list(8, NULL, NULL, 0);
    recent->since_ms = 3600 * 1000;
    s_ask(tc, recent);
    zj_client_ep_resume(&tc->client_ep, 100, zj_mono_ms());
    count = parts = 0;
    last = s_take_parts(tc, ids, &count, &parts);
    ck_assert_uint_eq(count, 9);
    zj_msg_destroy(&last);
    sqlite3 *raw = zj_testdb_raw();
    zj_testdb_exec(raw, "UPDATE jobs SET created_at = created_at - 7200"
                        " WHERE id <= 4");
    sqlite3_close(raw);
    recent = s_list(9, NULL, NULL, 0);
    recent->since_ms = 3600 * 1000;
    s_ask(tc, recent);
    zj_client_ep_resume(&tc->client_ep, 100, zj_mono_ms());
    count = parts = 0;
    last = s_take_parts(tc, ids, &count, &parts);
    ck_assert_uint_eq(count, 5);
    ck_assert_int_eq(ids[4], 5);
    zj_msg_destroy(&last);
    zj_testcoord_destroy(&tc);
}
END_TEST

//  A children LIST takes no other filter.
START_TEST(test_children_refuse_other_filters)
{
    zj_testcoord_t *tc = zj_testcoord_new();
    zj_msg_t *msg = s_list(7, NULL, "echo", 0);
    msg->parent = 3;
    s_ask(tc, msg);
    zj_msg_t *error = zj_testcoord_take(tc, ZJ_TO_CLIENT, ZJ_MSG_ERROR);
    ck_assert_ptr_nonnull(error);
    ck_assert_int_eq(error->code, ZJ_EUSAGE);
    zj_msg_destroy(&error);
    zj_testcoord_destroy(&tc);
}
END_TEST

Suite *
test_listing_suite(void)
{
    Suite *suite = suite_create("listing");
    TCase *tcase = tcase_create("listing");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_add_test(tcase,
                   test_several_states_through_the_index_with_a_next_page);
    tcase_add_test(tcase, test_an_empty_page_is_one_empty_part);
    tcase_add_test(tcase, test_a_scan_by_kind_goes_on_over_several_turns);
    tcase_add_test(tcase, test_a_scan_stops_at_its_limit_and_at_since);
    tcase_add_test(tcase, test_children_refuse_other_filters);
    suite_add_tcase(suite, tcase);
    return suite;
}
