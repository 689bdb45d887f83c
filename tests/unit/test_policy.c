//  test_policy.c - operator limits (proto/policy.c).
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/limits.h"
#include "proto/policy.h"
#include "tests/unit/suites.h"

static char *
s_text_of(size_t size)
{
    char *text = malloc(size + 1);
    memset(text, '1', size);
    text[size] = '\0';
    return text;
}

static zj_msg_t *
s_submit_of(size_t count, size_t args_size)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SUBMIT);
    for (size_t index = 0; index < count; index++) {
        zj_job_t *job = zj_msg_add_job(msg);
        job->kind = strdup("echo");
        job->args = s_text_of(args_size);
    }
    return msg;
}

START_TEST(test_policy_defaults_are_the_ceilings)
{
    zj_limits_t limits;
    zj_limits_defaults(&limits);
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(zj_limits_settle(&limits, why), 0);
    ck_assert_int_eq(limits.max_message, ZJ_MAX_FRAME);
    ck_assert_int_eq(limits.max_batch, ZJ_MAX_BATCH);
    ck_assert_int_eq(limits.max_args, ZJ_MAX_ARGS);
    ck_assert_int_eq(limits.max_result, ZJ_MAX_RESULT);
}
END_TEST

START_TEST(test_policy_unset_sizes_fit_a_smaller_message)
{
    zj_limits_t limits;
    zj_limits_defaults(&limits);
    limits.max_message = 256 * 1024;
    limits.max_args = 0;
    limits.max_result = 0;
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(zj_limits_settle(&limits, why), 0);
    ck_assert_int_eq(limits.max_args, 256 * 1024 - ZJ_FRAME_SLACK);
    ck_assert_int_eq(limits.max_result, 256 * 1024 - ZJ_FRAME_SLACK);
}
END_TEST

static const struct {
    zj_limits_t limits;
    const char *flag;
} s_unsettled[] = {
    {{ZJ_MIN_MESSAGE - 1, 10, 100, 100}, "--max-message"},
    {{(int64_t) ZJ_MAX_FRAME + 1, 10, 100, 100}, "--max-message"},
    {{ZJ_MAX_FRAME, 0, 100, 100}, "--max-batch"},
    {{ZJ_MAX_FRAME, ZJ_MAX_BATCH + 1, 100, 100}, "--max-batch"},
    {{ZJ_MAX_FRAME, 10, 1, 100}, "--max-args"},
    {{ZJ_MAX_FRAME, 10, (int64_t) ZJ_MAX_ARGS + 1, 100}, "--max-args"},
    {{ZJ_MAX_FRAME, 10, 100, 3}, "--max-result"},
    {{ZJ_MAX_FRAME, 10, 100, (int64_t) ZJ_MAX_RESULT + 1}, "--max-result"},
    {{ZJ_MIN_MESSAGE, 10, ZJ_MIN_MESSAGE, 100}, "--max-args"},
    {{ZJ_MIN_MESSAGE, 10, 100, ZJ_MIN_MESSAGE}, "--max-result"},
};

START_TEST(test_policy_refuses_limits_out_of_range)
{
    zj_limits_t limits = s_unsettled[_i].limits;
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(zj_limits_settle(&limits, why), ZJ_EUSAGE);
    ck_assert_msg(strstr(why, s_unsettled[_i].flag), "why: %s", why);
}
END_TEST

START_TEST(test_policy_checks_frame_batch_and_args)
{
    zj_limits_t limits = {ZJ_MIN_MESSAGE, 3, 10, 10};
    char why[ZJ_WHY_SIZE] = "";
    zj_msg_t *fits = s_submit_of(3, 10);
    ck_assert_int_eq(zj_limits_check(&limits, 1000, fits, why), 0);
    ck_assert_int_eq(zj_limits_check(&limits, ZJ_MIN_MESSAGE + 1, fits, why),
                     ZJ_ETOOBIG);
    ck_assert_msg(strstr(why, "--max-message"), "why: %s", why);
    zj_msg_destroy(&fits);

    zj_msg_t *many = s_submit_of(4, 2);
    ck_assert_int_eq(zj_limits_check(&limits, 1000, many, why), ZJ_ETOOBIG);
    ck_assert_msg(strstr(why, "4 jobs") && strstr(why, "--max-batch"),
                  "why: %s", why);
    zj_msg_destroy(&many);

    zj_msg_t *big = s_submit_of(2, 11);
    ck_assert_int_eq(zj_limits_check(&limits, 1000, big, why), ZJ_ETOOBIG);
    ck_assert_msg(strstr(why, "job 0") && strstr(why, "--max-args"), "why: %s",
                  why);
    zj_msg_destroy(&big);
}
END_TEST

START_TEST(test_policy_leaves_other_messages_to_the_ceilings)
{
    zj_limits_t limits = {ZJ_MIN_MESSAGE, 1, 2, 4};
    char why[ZJ_WHY_SIZE] = "";
    zj_msg_t *await = zj_msg_new(ZJ_MSG_AWAIT);
    for (int64_t id = 1; id <= 5; id++)
        zj_msg_add_id(await, id);
    ck_assert_int_eq(zj_limits_check(&limits, 100, await, why), 0);
    zj_msg_destroy(&await);
}
END_TEST

START_TEST(test_policy_caps_a_result_into_a_final_failure)
{
    zj_limits_t limits = {ZJ_MIN_MESSAGE, 10, 10, 10};
    zj_job_t outcome = {
        .id = 7, .state = ZJ_STATE_SUCCEEDED, .result = s_text_of(11)};
    ck_assert(zj_limits_cap_result(&limits, &outcome));
    ck_assert_int_eq(outcome.state, ZJ_STATE_FAILED);
    ck_assert(outcome.no_retry);
    ck_assert_ptr_null(outcome.result);
    ck_assert_msg(strstr(outcome.error, "11 bytes") &&
                      strstr(outcome.error, "--max-result"),
                  "error: %s", outcome.error);
    zj_job_clear(&outcome);

    zj_job_t small = {
        .id = 8, .state = ZJ_STATE_SUCCEEDED, .result = s_text_of(10)};
    ck_assert(!zj_limits_cap_result(&limits, &small));
    ck_assert_int_eq(small.state, ZJ_STATE_SUCCEEDED);
    zj_job_clear(&small);

    //  A failed job's result (exec's output) goes; its error stands.
    zj_job_t failed = {.id = 9,
                       .state = ZJ_STATE_FAILED,
                       .result = s_text_of(11),
                       .error = strdup("http: status 503")};
    ck_assert(!zj_limits_cap_result(&limits, &failed));
    ck_assert_ptr_null(failed.result);
    ck_assert_str_eq(failed.error, "http: status 503");
    ck_assert(!failed.no_retry);
    zj_job_clear(&failed);
}
END_TEST

Suite *
test_policy_suite(void)
{
    Suite *suite = suite_create("policy");
    TCase *tcase = tcase_create("limits");
    tcase_add_test(tcase, test_policy_defaults_are_the_ceilings);
    tcase_add_test(tcase, test_policy_unset_sizes_fit_a_smaller_message);
    tcase_add_loop_test(tcase, test_policy_refuses_limits_out_of_range, 0,
                        sizeof s_unsettled / sizeof s_unsettled[0]);
    tcase_add_test(tcase, test_policy_checks_frame_batch_and_args);
    tcase_add_test(tcase, test_policy_leaves_other_messages_to_the_ceilings);
    tcase_add_test(tcase, test_policy_caps_a_result_into_a_final_failure);
    suite_add_tcase(suite, tcase);
    return suite;
}
