//  test_results.c - the results suite: worker/results.c, the RESULTS
//  pipeline of a worker. Batches closed per turn and by count, numbered
//  frames due only once welcomed, re-sent after a WELCOME, ACKs and
//  refusals, results capped by the WELCOME's limits, and cleanup.
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"
#include "worker/results.h"

//  Adds the succeeded outcome of job id, whose result is result.
static void
s_add(zj_results_t *self, int64_t id, const char *result, zj_class_t klass)
{
    zj_job_t outcome = {0};
    outcome.id = id;
    outcome.kind = "echo";
    outcome.state = ZJ_STATE_SUCCEEDED;
    outcome.attempts = 1;
    outcome.worker = "w1";
    outcome.result = (char *) result;
    zj_results_add(self, &outcome, klass);
}

//  Takes the next due frame and decodes it; NULL when nothing is due.
static zj_msg_t *
s_next(zj_results_t *self)
{
    const char *data = NULL;
    size_t size = 0;
    if (!zj_results_next_due(self, &data, &size))
        return NULL;
    zj_msg_t *msg = NULL;
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_msg(zj_msg_decode(data, size, &msg, NULL, why) == 0, "%s", why);
    ck_assert_int_eq(msg->type, ZJ_MSG_RESULTS);
    return msg;
}

START_TEST(test_a_turn_makes_one_numbered_batch)
{
    zj_results_t *self = zj_results_new();
    ck_assert_uint_eq(zj_results_last_seq(self), 0);
    s_add(self, 1, "1", ZJ_CLASS_IO);
    s_add(self, 2, "2", ZJ_CLASS_CPU);
    s_add(self, 3, "3", ZJ_CLASS_IO);
    zj_results_seal(self, true, 100);
    zj_msg_t *msg = s_next(self);
    ck_assert_ptr_nonnull(msg);
    ck_assert_uint_eq(msg->req, 1);
    ck_assert_uint_eq(msg->job_count, 3);
    ck_assert_int_eq(msg->io_credit, 2);
    ck_assert_int_eq(msg->cpu_credit, 1);
    ck_assert_int_eq(msg->jobs[1].id, 2);
    ck_assert_str_eq(msg->jobs[1].result, "2");
    zj_msg_destroy(&msg);
    ck_assert_ptr_null(s_next(self));
    //  Held until acknowledged; an empty turn makes no batch.
    ck_assert_uint_eq(zj_results_unacked(self), 1);
    zj_results_seal(self, true, 200);
    ck_assert_ptr_null(s_next(self));
    ck_assert_uint_eq(zj_results_last_seq(self), 1);
    ck_assert(zj_results_ack(self, 1));
    ck_assert(!zj_results_ack(self, 1));
    ck_assert_uint_eq(zj_results_unacked(self), 0);
    zj_results_destroy(&self);
    ck_assert_ptr_null(self);
    zj_results_destroy(&self);
}
END_TEST

START_TEST(test_batches_close_at_the_count)
{
    zj_results_t *self = zj_results_new();
    for (int64_t id = 1; id <= ZJ_RESULTS_BATCH + 1; id++)
        s_add(self, id, "true", ZJ_CLASS_IO);
    zj_results_seal(self, true, 0);
    zj_msg_t *first = s_next(self);
    zj_msg_t *second = s_next(self);
    ck_assert_ptr_nonnull(second);
    ck_assert_uint_eq(first->req, 1);
    ck_assert_uint_eq(first->job_count, ZJ_RESULTS_BATCH);
    ck_assert_uint_eq(second->req, 2);
    ck_assert_uint_eq(second->job_count, 1);
    ck_assert_int_eq(second->jobs[0].id, ZJ_RESULTS_BATCH + 1);
    zj_msg_destroy(&first);
    zj_msg_destroy(&second);
    ck_assert_ptr_null(s_next(self));
    zj_results_destroy(&self);
}
END_TEST

//  Before a WELCOME batches are only held; the WELCOME's resend sends
//  every held batch, oldest first.
START_TEST(test_unwelcomed_batches_wait_for_resend_all)
{
    zj_results_t *self = zj_results_new();
    s_add(self, 1, "1", ZJ_CLASS_IO);
    zj_results_seal(self, true, 0);
    zj_msg_t *msg = s_next(self);
    zj_msg_destroy(&msg);
    s_add(self, 2, "2", ZJ_CLASS_IO);
    zj_results_seal(self, false, 10);
    ck_assert_ptr_null(s_next(self));
    ck_assert_uint_eq(zj_results_unacked(self), 2);
    zj_results_resend_all(self, 20);
    msg = s_next(self);
    ck_assert_uint_eq(msg->req, 1);
    zj_msg_destroy(&msg);
    msg = s_next(self);
    ck_assert_uint_eq(msg->req, 2);
    zj_msg_destroy(&msg);
    ck_assert_ptr_null(s_next(self));
    //  Late only past the wait since the last send.
    zj_results_resend_late(self, 100, 120);
    ck_assert_ptr_null(s_next(self));
    ck_assert(zj_results_ack(self, 2));
    zj_results_resend_late(self, 100, 121);
    msg = s_next(self);
    ck_assert_uint_eq(msg->req, 1);
    zj_msg_destroy(&msg);
    ck_assert_ptr_null(s_next(self));
    zj_results_destroy(&self);
}
END_TEST

START_TEST(test_refusals_drop_only_unreadable_batches)
{
    zj_results_t *self = zj_results_new();
    s_add(self, 1, "1", ZJ_CLASS_IO);
    zj_results_seal(self, false, 0);
    ck_assert(!zj_results_refused(self, ZJ_ETYPE, 1));
    ck_assert(!zj_results_refused(self, ZJ_EPROTO, 0));
    ck_assert(!zj_results_refused(self, ZJ_EPROTO, 2));
    ck_assert_uint_eq(zj_results_unacked(self), 1);
    ck_assert(zj_results_refused(self, ZJ_EJSON, 1));
    ck_assert(!zj_results_refused(self, ZJ_EJSON, 1));
    ck_assert_uint_eq(zj_results_unacked(self), 0);
    zj_results_destroy(&self);
}
END_TEST

//  A WELCOME's max_result fails the job whose result is longer; 0 keeps
//  the limit as it was.
START_TEST(test_welcome_limits_cap_results)
{
    zj_results_t *self = zj_results_new();
    zj_results_set_limits(self, 0, 8);
    zj_results_set_limits(self, 0, 0);
    s_add(self, 1, "\"short\"", ZJ_CLASS_IO);
    s_add(self, 2, "\"far too long\"", ZJ_CLASS_IO);
    zj_results_seal(self, true, 0);
    zj_msg_t *msg = s_next(self);
    ck_assert_uint_eq(msg->job_count, 2);
    ck_assert_int_eq(msg->jobs[0].state, ZJ_STATE_SUCCEEDED);
    ck_assert_int_eq(msg->jobs[1].state, ZJ_STATE_FAILED);
    ck_assert_ptr_null(msg->jobs[1].result);
    ck_assert_ptr_nonnull(msg->jobs[1].error);
    zj_msg_destroy(&msg);
    zj_results_destroy(&self);
}
END_TEST

//  Outcomes never sealed and batches never acknowledged are freed.
START_TEST(test_destroy_frees_everything)
{
    zj_results_t *self = zj_results_new();
    for (int64_t id = 1; id <= ZJ_RESULTS_BATCH + 1; id++)
        s_add(self, id, "1", ZJ_CLASS_CPU);
    zj_results_destroy(&self);
    ck_assert_ptr_null(self);
    self = zj_results_new();
    s_add(self, 1, "1", ZJ_CLASS_CPU);
    zj_results_seal(self, true, 0);
    zj_results_destroy(&self);
    ck_assert_ptr_null(self);
}
END_TEST

Suite *
test_results_suite(void)
{
    Suite *suite = suite_create("results");
    TCase *tcase = tcase_create("results");
    tcase_add_test(tcase, test_a_turn_makes_one_numbered_batch);
    tcase_add_test(tcase, test_batches_close_at_the_count);
    tcase_add_test(tcase, test_unwelcomed_batches_wait_for_resend_all);
    tcase_add_test(tcase, test_refusals_drop_only_unreadable_batches);
    tcase_add_test(tcase, test_welcome_limits_cap_results);
    tcase_add_test(tcase, test_destroy_frees_everything);
    suite_add_tcase(suite, tcase);
    return suite;
}
