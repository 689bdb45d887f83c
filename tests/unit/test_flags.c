//  test_flags.c - flag values and their environment variables
//  (common/flags.c).
#include <check.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/flags.h"
#include "tests/unit/suites.h"

static const struct {
    const char *text;
    int64_t bytes;
} s_good[] = {{"0", 0},           {"512", 512},    {"64K", 65536},
              {"64k", 65536},     {"1M", 1048576}, {"2MiB", 2097152},
              {"1G", 1073741824}, {"100B", 100},   {"1024G", 1LL << 40}};

static const char *s_bad[] = {
    "",    "-1",  "+5", "1.5M",  "K",
    "12X", "1M2", " 5", "1025G", "99999999999999999999"};

START_TEST(test_flags_parses_sizes)
{
    int64_t bytes = -1;
    ck_assert_int_eq(zj_size_parse(s_good[_i].text, &bytes), 0);
    ck_assert_int_eq(bytes, s_good[_i].bytes);
}
END_TEST

START_TEST(test_flags_rejects_bad_sizes)
{
    int64_t bytes = -1;
    ck_assert_int_eq(zj_size_parse(s_bad[_i], &bytes), ZJ_EUSAGE);
    ck_assert_int_eq(bytes, -1);
}
END_TEST

START_TEST(test_flags_from_env)
{
    const char *name = "ZJ_TEST_FLAGS_FROM_ENV";
    unsetenv(name);
    ck_assert_ptr_null(zj_flags_from_env(name));
    setenv(name, "", 1);
    ck_assert_ptr_null(zj_flags_from_env(name));
    setenv(name, "w1.key", 1);
    ck_assert_str_eq(zj_flags_from_env(name), "w1.key");
    setenv(name, " ", 1);
    ck_assert_str_eq(zj_flags_from_env(name), " ");
    unsetenv(name);
}
END_TEST

Suite *
test_flags_suite(void)
{
    Suite *suite = suite_create("flags");
    TCase *tcase = tcase_create("size");
    tcase_add_loop_test(tcase, test_flags_parses_sizes, 0,
                        sizeof s_good / sizeof s_good[0]);
    tcase_add_loop_test(tcase, test_flags_rejects_bad_sizes, 0,
                        sizeof s_bad / sizeof s_bad[0]);
    suite_add_tcase(suite, tcase);
    TCase *env = tcase_create("env");
    tcase_add_test(env, test_flags_from_env);
    suite_add_tcase(suite, env);
    return suite;
}
