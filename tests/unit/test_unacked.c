//  test_unacked.c - the unacked suite: worker/unacked.c, the RESULTS
//  batches a worker keeps until their ACK. Numbering, ACKs in and out of
//  order, re-sends in order, by age and with backoff, the frames due to go
//  out, and cleanup.
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/suites.h"
#include "worker/unacked.h"

//  What a re-send saw: the frames, in the order they went.
typedef struct {
    char frames[16][16]; //  Copies of the frames sent
    size_t count;        //  Frames sent
} s_sent_t;

//  Takes every frame due, in the order zj_unacked_next_due gives them,
//  into sent.
static void
s_take_due(zj_unacked_t *self, s_sent_t *sent)
{
    const char *data = NULL;
    size_t size = 0;
    while (zj_unacked_next_due(self, &data, &size)) {
        ck_assert_uint_lt(sent->count, 16);
        ck_assert_uint_lt(size, 16);
        memcpy(sent->frames[sent->count], data, size);
        sent->frames[sent->count][size] = '\0';
        sent->count++;
    }
}

//  zj_unacked_resend_all, then what it marked due into sent.
static size_t
s_resend_all(zj_unacked_t *self, int64_t now_ms, s_sent_t *sent,
             size_t *results_p)
{
    size_t count = zj_unacked_resend_all(self, now_ms, results_p);
    s_take_due(self, sent);
    return count;
}

//  zj_unacked_resend_late, then what it marked due into sent.
static size_t
s_resend_late(zj_unacked_t *self, int64_t wait_ms, int64_t now_ms,
              s_sent_t *sent, size_t *results_p)
{
    size_t count = zj_unacked_resend_late(self, wait_ms, now_ms, results_p);
    s_take_due(self, sent);
    return count;
}

//  Numbers and holds a batch whose frame is text, sent at sent_ms.
static uint64_t
s_add(zj_unacked_t *self, const char *text, size_t results, int64_t sent_ms)
{
    uint64_t seq = zj_unacked_new_seq(self);
    char *data = strdup(text);
    zj_unacked_add(self, seq, &data, strlen(text), results, sent_ms, false);
    ck_assert_ptr_null(data);
    return seq;
}

START_TEST(test_sequence_numbers_start_at_one_and_grow)
{
    zj_unacked_t *self = zj_unacked_new();
    ck_assert_uint_eq(zj_unacked_last_seq(self), 0);
    ck_assert_uint_eq(zj_unacked_new_seq(self), 1);
    ck_assert_uint_eq(zj_unacked_new_seq(self), 2);
    ck_assert_uint_eq(zj_unacked_last_seq(self), 2);
    //  A number taken and never used (an encode failed) leaves a gap.
    ck_assert_uint_eq(s_add(self, "a", 1, 0), 3);
    ck_assert_uint_eq(zj_unacked_size(self), 1);
    zj_unacked_destroy(&self);
    ck_assert_ptr_null(self);
    zj_unacked_destroy(&self);
}
END_TEST

START_TEST(test_ack_forgets_named_batches_only)
{
    zj_unacked_t *self = zj_unacked_new();
    uint64_t first = s_add(self, "one", 3, 0);
    uint64_t second = s_add(self, "two", 5, 0);
    uint64_t third = s_add(self, "three", 7, 0);
    ck_assert_uint_eq(zj_unacked_size(self), 3);
    ck_assert_uint_eq(zj_unacked_results(self), 15);
    //  Out of order, twice, and a number never held.
    ck_assert(zj_unacked_ack(self, second));
    ck_assert(!zj_unacked_ack(self, second));
    ck_assert(!zj_unacked_ack(self, 99));
    ck_assert(!zj_unacked_ack(self, 0));
    ck_assert_uint_eq(zj_unacked_size(self), 2);
    ck_assert_uint_eq(zj_unacked_results(self), 10);
    ck_assert(zj_unacked_ack(self, first));
    ck_assert(zj_unacked_ack(self, third));
    ck_assert_uint_eq(zj_unacked_size(self), 0);
    ck_assert_uint_eq(zj_unacked_results(self), 0);
    zj_unacked_destroy(&self);
}
END_TEST

START_TEST(test_resend_all_goes_in_order)
{
    zj_unacked_t *self = zj_unacked_new();
    s_add(self, "one", 1, 100);
    uint64_t second = s_add(self, "two", 2, 200);
    s_add(self, "three", 4, 300);
    ck_assert(zj_unacked_ack(self, second));
    s_sent_t sent = {0};
    size_t results = 0;
    ck_assert_uint_eq(s_resend_all(self, 400, &sent, &results), 2);
    ck_assert_uint_eq(results, 5);
    ck_assert_uint_eq(sent.count, 2);
    ck_assert_str_eq(sent.frames[0], "one");
    ck_assert_str_eq(sent.frames[1], "three");
    //  Held until acknowledged, however often sent.
    ck_assert_uint_eq(zj_unacked_size(self), 2);
    zj_unacked_destroy(&self);
}
END_TEST

START_TEST(test_resend_late_by_age_and_marks_sent)
{
    zj_unacked_t *self = zj_unacked_new();
    s_add(self, "old", 1, 100);
    s_add(self, "young", 1, 500);
    s_sent_t sent = {0};
    //  At 700, only "old" is unacknowledged for longer than 300.
    ck_assert_uint_eq(s_resend_late(self, 300, 700, &sent, NULL), 1);
    ck_assert_str_eq(sent.frames[0], "old");
    //  "old" was just sent at 700; "young" is late at 801.
    sent.count = 0;
    ck_assert_uint_eq(s_resend_late(self, 300, 801, &sent, NULL), 1);
    ck_assert_str_eq(sent.frames[0], "young");
    sent.count = 0;
    ck_assert_uint_eq(s_resend_late(self, 300, 900, &sent, NULL), 0);
    ck_assert_uint_eq(sent.count, 0);
    zj_unacked_destroy(&self);
}
END_TEST

//  A late batch waits twice as long before each new late re-send, up to
//  ZJ_UNACKED_BACKOFF doublings; a re-send of all starts it over.
START_TEST(test_resend_late_backs_off)
{
    zj_unacked_t *self = zj_unacked_new();
    s_add(self, "slow", 1, 0);
    s_sent_t sent = {0};
    int64_t now = 0;
    for (int late = 0; late <= ZJ_UNACKED_BACKOFF + 2; late++) {
        int shift = late < ZJ_UNACKED_BACKOFF ? late : ZJ_UNACKED_BACKOFF;
        int64_t wait = (int64_t) 100 << shift;
        ck_assert_uint_eq(s_resend_late(self, 100, now + wait, &sent, NULL), 0);
        now += wait + 1;
        ck_assert_uint_eq(s_resend_late(self, 100, now, &sent, NULL), 1);
        sent.count = 0;
    }
    ck_assert_uint_eq(s_resend_all(self, now, &sent, NULL), 1);
    ck_assert_uint_eq(s_resend_late(self, 100, now + 101, &sent, NULL), 1);
    zj_unacked_destroy(&self);
}
END_TEST

//  A batch added due goes out once, oldest due first; an ACK takes a due
//  batch off the marks with it.
START_TEST(test_due_frames_go_once_in_order)
{
    zj_unacked_t *self = zj_unacked_new();
    const char *texts[] = {"one", "two", "three"};
    uint64_t seqs[3];
    for (size_t index = 0; index < 3; index++) {
        seqs[index] = zj_unacked_new_seq(self);
        char *data = strdup(texts[index]);
        zj_unacked_add(self, seqs[index], &data, strlen(texts[index]), 1, 0,
                       index != 1);
    }
    s_sent_t sent = {0};
    s_take_due(self, &sent);
    ck_assert_uint_eq(sent.count, 2);
    ck_assert_str_eq(sent.frames[0], "one");
    ck_assert_str_eq(sent.frames[1], "three");
    sent.count = 0;
    s_take_due(self, &sent);
    ck_assert_uint_eq(sent.count, 0);
    //  Marked twice before being taken: still one send.
    ck_assert_uint_eq(zj_unacked_resend_all(self, 1, NULL), 3);
    ck_assert_uint_eq(zj_unacked_resend_all(self, 2, NULL), 3);
    ck_assert(zj_unacked_ack(self, seqs[0]));
    s_take_due(self, &sent);
    ck_assert_uint_eq(sent.count, 2);
    ck_assert_str_eq(sent.frames[0], "two");
    ck_assert_str_eq(sent.frames[1], "three");
    ck_assert_uint_eq(zj_unacked_size(self), 2);
    zj_unacked_destroy(&self);
    ck_assert_ptr_null(self);
}
END_TEST

START_TEST(test_empty_set)
{
    zj_unacked_t *self = zj_unacked_new();
    s_sent_t sent = {0};
    size_t results = 0;
    ck_assert_uint_eq(s_resend_all(self, 1, &sent, &results), 0);
    ck_assert_uint_eq(s_resend_late(self, 0, 1, &sent, &results), 0);
    ck_assert_uint_eq(results, 0);
    ck_assert(!zj_unacked_ack(self, 1));
    ck_assert_uint_eq(zj_unacked_size(self), 0);
    const char *data = NULL;
    size_t size = 0;
    ck_assert(!zj_unacked_next_due(self, &data, &size));
    zj_unacked_destroy(&self);
    ck_assert_ptr_null(self);
}
END_TEST

Suite *
test_unacked_suite(void)
{
    Suite *suite = suite_create("unacked");
    TCase *tcase = tcase_create("unacked");
    tcase_add_test(tcase, test_sequence_numbers_start_at_one_and_grow);
    tcase_add_test(tcase, test_ack_forgets_named_batches_only);
    tcase_add_test(tcase, test_resend_all_goes_in_order);
    tcase_add_test(tcase, test_resend_late_by_age_and_marks_sent);
    tcase_add_test(tcase, test_resend_late_backs_off);
    tcase_add_test(tcase, test_due_frames_go_once_in_order);
    tcase_add_test(tcase, test_empty_set);
    suite_add_tcase(suite, tcase);
    return suite;
}
