//  test_duration.c - duration parsing (common/duration.c).
#include <check.h>

#include "common/duration.h"
#include "common/err.h"
#include "tests/unit/suites.h"

static const struct {
    const char *text;
    int64_t ms;
} s_good[] = {{"250ms", 250},       {"2s", 2000},          {"5m", 300000},
              {"1h", 3600000},      {"1.5", 1500},         {"0", 0},
              {"0.25s", 250},       {"1d", 86400000},      {"1h30m", 5400000},
              {"2d12h", 216000000}, {"1m30s500ms", 90500}, {"1.5h", 5400000},
              {"90s", 90000}};

static const char *s_bad[] = {
    "",    "-1s", "soon",   "5x",   "1s2",  "+3",    "ms",
    "nan", "inf", "1e300h", "1e3s", "0x10", "1h1h",  "30m1h",
    "1 h", "h1",  "1..5s",  ".5s",  "5.s",  "1d-1h", "999999999999d"};

START_TEST(test_duration_parses_units)
{
    int64_t ms = -1;
    ck_assert_int_eq(zj_duration_parse(s_good[_i].text, &ms), 0);
    ck_assert_int_eq(ms, s_good[_i].ms);
}
END_TEST

START_TEST(test_duration_rejects_bad_text)
{
    int64_t ms = -1;
    ck_assert_int_eq(zj_duration_parse(s_bad[_i], &ms), ZJ_EUSAGE);
    ck_assert_int_eq(ms, -1);
}
END_TEST

Suite *
test_duration_suite(void)
{
    Suite *suite = suite_create("duration");
    TCase *tcase = tcase_create("parse");
    tcase_add_loop_test(tcase, test_duration_parses_units, 0,
                        sizeof s_good / sizeof s_good[0]);
    tcase_add_loop_test(tcase, test_duration_rejects_bad_text, 0,
                        sizeof s_bad / sizeof s_bad[0]);
    suite_add_tcase(suite, tcase);
    return suite;
}
