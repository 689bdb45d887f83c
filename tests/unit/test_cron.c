//  test_cron.c - the "cron" suite: common/cron.c refuses bad expressions
//  with a reason naming the field, and finds the next minute they match,
//  in UTC, across month, year and leap-year rollovers.
#include <check.h>
#include <string.h>

#include "common/cron.h"
#include "common/err.h"
#include "common/why.h"
#include "tests/unit/suites.h"

static const struct {
    const char *text;
    const char *reason; //  A part of the reason
} s_bad[] = {
    {"", "empty"},
    {"* * * *", "4 fields"},
    {"* * * * * *", "6 fields"},
    {"61 * * * *", "minute field: 61 is out of 0-59"},
    {"60 * * * *", "minute field"},
    {"* 24 * * *", "hour field: 24"},
    {"* * 0 * *", "day-of-month field: 0"},
    {"* * 32 * *", "day-of-month field: 32"},
    {"* * * 13 *", "month field: 13"},
    {"* * * * 8", "day-of-week field: 8"},
    {"*/0 * * * *", "minute field: step 0"},
    {"*/61 * * * *", "minute field: step 61"},
    {"*/ * * * *", "minute field: '/' needs a step"},
    {"5-1 * * * *", "minute field: range 5-1 runs backwards"},
    {"1,,2 * * * *", "minute field"},
    {"1, * * * *", "minute field"},
    {"a * * * *", "minute field: 'a' is not a value"},
    {"* * * foo *", "month field: 'foo' is not a value"},
    {"* * * * sunday", "day-of-week field"},
    {"-1 * * * *", "minute field"},
    {"1-2-3 * * * *", "minute field"},
    {"99999999999999 * * * *", "minute field"},
    {"0 0 30 2 *", "no month"},
    {"0 0 31 4,6,9,11 *", "no month"},
    {"@often", "unknown '@often'"},
};

START_TEST(test_cron_refuses_bad_text)
{
    zj_cron_t cron = {.minutes = 7};
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(zj_cron_parse(s_bad[_i].text, &cron, why), ZJ_EUSAGE);
    ck_assert_msg(strstr(why, s_bad[_i].reason), "'%s': %s", s_bad[_i].text,
                  why);
    ck_assert_ptr_null(strchr(why, '\n'));
    ck_assert_uint_eq(cron.minutes, 7); //  Untouched
}
END_TEST

START_TEST(test_cron_refuses_null_and_long_text)
{
    zj_cron_t cron;
    ck_assert_int_eq(zj_cron_parse(NULL, &cron, NULL), ZJ_EUSAGE);
    char text[ZJ_MAX_CRON + 8];
    memset(text, '1', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    char why[ZJ_WHY_SIZE];
    ck_assert_int_eq(zj_cron_parse(text, &cron, why), ZJ_EUSAGE);
    ck_assert_ptr_nonnull(strstr(why, "bytes"));
}
END_TEST

static const struct {
    const char *text;
    int64_t after, next;
} s_next[] = {
    {"* * * * *", 1796532030, 1796532060},        //  04:40:30 -> 04:41
    {"* * * * *", 1796532000, 1796532060},        //  strictly after
    {"*/15 * * * *", 1796532000, 1796532300},     //  04:40 -> 04:45
    {"10-50/20 * * * *", 1796532660, 1796533800}, //  04:51 -> 05:10
    {"0 0 * * *", 1798761599, 1798761600},        //  new year
    {"30 2 1 * *", 1769860800, 1769913000},       //  Jan 31 -> Feb 1
    {"0 0 29 2 *", 1772323200, 1835395200},       //  2026 -> 2028-02-29
    {"0 0 31 * *", 1775001600, 1780185600},       //  April 1 -> May 31
    {"0 9 * * mon-fri", 1796464800, 1796634000},  //  Sat -> Mon 09:00
    {"0 9 * * 7", 1796464800, 1796547600},        //  7 is Sunday
    {"0 12 13 * fri", 1796428800, 1796990400},    //  either day field
    {"0 0 1,15 jan,jul *", 1784073600, 1798761600},
    {"5 4 * * sun", 1796529900, 1797134700}, //  a week on
    {"59 23 31 12 *", 1798761540, 1830297540},
    {"@hourly", 1796532000, 1796533200},
    {"0 0 1 1 *", -43200, 0},                //  before the epoch
    {"0 0 * * SUN", 1796532000, 1797120000}, //  Sun 04:40 -> next Sun
    {"  0   0   *   *   *  ", 1798761599, 1798761600},
};

START_TEST(test_cron_next_matches)
{
    zj_cron_t cron;
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_msg(zj_cron_parse(s_next[_i].text, &cron, why) == 0, "%s", why);
    ck_assert_int_eq(zj_cron_next(&cron, s_next[_i].after), s_next[_i].next);
}
END_TEST

START_TEST(test_cron_next_walks_every_minute_once)
{
    //  Each next is one minute on, over a day and a month's end.
    zj_cron_t cron;
    ck_assert_int_eq(zj_cron_parse("* * * * *", &cron, NULL), 0);
    int64_t at = 1798761600 - 86400 * 2;
    for (int step = 0; step < 3 * 1440; step++) {
        int64_t next = zj_cron_next(&cron, at);
        ck_assert_int_eq(next, at + 60);
        at = next;
    }
}
END_TEST

START_TEST(test_cron_lists_and_ranges_set_bits)
{
    zj_cron_t cron;
    ck_assert_int_eq(zj_cron_parse("1,5,10-12 */6 1-31/10 * 1-5", &cron, NULL),
                     0);
    ck_assert_uint_eq(cron.minutes, (1ULL << 1) | (1ULL << 5) | (7ULL << 10));
    ck_assert_uint_eq(cron.hours,
                      (1u << 0) | (1u << 6) | (1u << 12) | (1u << 18));
    ck_assert_uint_eq(cron.days,
                      (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
    ck_assert_uint_eq(cron.months, 0x1ffe);
    ck_assert_uint_eq(cron.weekdays, 0x3e);
    ck_assert(!cron.days_star && !cron.weekdays_star);
    ck_assert_int_eq(zj_cron_parse("5/20 * * * *", &cron, NULL), 0);
    ck_assert_uint_eq(cron.minutes, (1ULL << 5) | (1ULL << 25) | (1ULL << 45));
}
END_TEST

Suite *
test_cron_suite(void)
{
    Suite *suite = suite_create("cron");
    TCase *tcase = tcase_create("parse");
    tcase_add_loop_test(tcase, test_cron_refuses_bad_text, 0,
                        sizeof s_bad / sizeof s_bad[0]);
    tcase_add_test(tcase, test_cron_refuses_null_and_long_text);
    tcase_add_test(tcase, test_cron_lists_and_ranges_set_bits);
    suite_add_tcase(suite, tcase);
    tcase = tcase_create("next");
    tcase_add_loop_test(tcase, test_cron_next_matches, 0,
                        sizeof s_next / sizeof s_next[0]);
    tcase_add_test(tcase, test_cron_next_walks_every_minute_once);
    suite_add_tcase(suite, tcase);
    return suite;
}
