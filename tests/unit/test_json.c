//  test_json.c - the JSON scanner (common/json.c): tables of accepted and
//  refused texts, each also put to jansson (json_loadb with the flags the
//  scanner mirrors) so the tables stay jansson's behaviour; the depth
//  limit at its edges; and big objects, whose keys are sorted.
#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"

//  2^1024 - 2^970: a real this big or bigger rounds to infinity.
#define S_LIMIT                                                                \
    "17976931348623158079372897140530341507993413271003782693617377898044"     \
    "49682927647509466490179775872070963302864166928879109465555478519404"     \
    "02630657488671505820681908902000708383676273854845817711531764475730"     \
    "27006985557136695962284291481986083493647529271907416844436551070434"     \
    "27115596995080930428801779041744977"
#define S_BELOW_LIMIT S_LIMIT "91"
#define S_AT_LIMIT S_LIMIT "92"

// clang-format off
#define GOOD(literal) {literal, sizeof literal - 1, NULL}
#define BAD(literal, reason) {literal, sizeof literal - 1, reason}
// clang-format on

typedef struct {
    const char *text; //  The text, NULs included
    size_t size;      //  Its size
    const char *why;  //  What the reason must hold; NULL if accepted
} s_row_t;

static const s_row_t s_good[] = {
    GOOD("0"),
    GOOD("-0"),
    GOOD("7"),
    GOOD("-12"),
    GOOD("0.5"),
    GOOD("-0.5"),
    GOOD("-0.0e0"),
    GOOD("1e5"),
    GOOD("1E5"),
    GOOD("1e+5"),
    GOOD("1e-5"),
    GOOD("1.25E-05"),
    GOOD("9223372036854775807"),
    GOOD("-9223372036854775808"),
    GOOD("9223372036854775807.0"),
    GOOD("9223372036854775808.0"),
    GOOD("-9223372036854775809e0"),
    GOOD("1e19"),
    GOOD("1e308"),
    GOOD("1.7976931348623157e308"),
    GOOD("-1.7976931348623158e308"),
    GOOD("0.000000000000001e322"),
    GOOD("1e-400"),
    GOOD("-1e-99999999999999999999999"),
    GOOD("0e99999999999999999999999"),
    GOOD("0.0000e400"),
    GOOD(S_BELOW_LIMIT ".0"),
    GOOD(S_BELOW_LIMIT ".999999999999999999999"),
    GOOD("-" S_BELOW_LIMIT "e0"),
    GOOD("0.0" S_BELOW_LIMIT "e310"),
    GOOD("1797693134862315807937289714053034150799341327100378269361737789804"
         "4.4e241"),
    GOOD("true"),
    GOOD("false"),
    GOOD("null"),
    GOOD(" \t\r\n true \n\t\r "),
    GOOD("\"\""),
    GOOD("\"job-00000001\""),
    GOOD("\"\x7f\""),
    GOOD("\"\xc2\x80 \xc3\xa9 \xdf\xbf\""),
    GOOD(
        "\"\xe0\xa0\x80 \xe2\x82\xac \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf\""),
    GOOD("\"\xf0\x90\x80\x80 \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\""),
    GOOD("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""),
    GOOD("\"\\u0001 \\u0041 \\u00e9 \\u20AC \\uFFFF \\uffff\""),
    GOOD("\"\\ud83d\\ude00 \\uD800\\uDC00 \\uDBFF\\uDFFF\""),
    GOOD("[]"),
    GOOD("{}"),
    GOOD("[ ]"),
    GOOD("{ }"),
    GOOD("[1,-2.5e3,\"x\",true,false,null,[],{}]"),
    GOOD(" { \"a\" : 1 , \"b\" : [ true , { \"c\" : null } ] } "),
    GOOD("{\"a\":1,\"A\":2,\"ab\":3,\"b\":4,\"\":5}"),
    GOOD("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}"),
    GOOD("{\"a\":{\"b\":1},\"b\":2}"),
    GOOD("{\"\\u00e9\":1,\"e\":2,\"\\u00e8\":3,\"\\u00e9x\":4}"),
    GOOD("{\"\\n\":1,\"n\":2,\"\\\\n\":3,\"\\/\":4,\"\\\\\":5}"),
    GOOD("{\"\\ud83d\\ude00\":1,\"\\ud83d\\ude01\":2,\"\xf0\x9f\x98\x82\":3}"),
};

static const s_row_t s_bad[] = {
    BAD("", "byte 0: unexpected end of text, value expected"),
    BAD(" \t\r\n", "byte 4: unexpected end of text, value expected"),
    BAD("1 2", "byte 2: unexpected '2', end of text expected"),
    BAD("[] []", "byte 3: unexpected '['"),
    BAD("{}x", "byte 2: unexpected 'x'"),
    BAD("\"a\"\"b\"", "byte 3: unexpected '\"'"),
    BAD("truex", "byte 4: unexpected 'x'"),
    BAD("nulll", "byte 4:"),
    BAD("1x", "byte 1:"),
    BAD("[1]]", "byte 3:"),
    BAD("\0", "byte 0: unexpected byte 0x00, value expected"),
    BAD("[\0]", "byte 1: unexpected byte 0x00, value expected"),
    BAD("1\0\0", "byte 1: unexpected byte 0x00, end of text expected"),
    BAD("1 //", "byte 2:"),
    BAD("\xef\xbb\xbf{}", "byte 0: unexpected byte 0xef"),
    BAD("\f1", "byte 0: unexpected byte 0x0c"),
    BAD("tru", "byte 0: invalid literal, true expected"),
    BAD("True", "byte 0: unexpected 'T'"),
    BAD("nul", "byte 0: invalid literal, null expected"),
    BAD("fals", "byte 0: invalid literal, false expected"),
    BAD("NaN", "byte 0:"),
    BAD("Infinity", "byte 0:"),
    BAD("-Infinity", "byte 1: digit expected in number"),
    BAD("undefined", "byte 0:"),
    BAD("'a'", "byte 0: unexpected '''"),
    BAD("01", "byte 0: leading zero in number"),
    BAD("-01", "byte 1: leading zero in number"),
    BAD("00", "byte 0: leading zero"),
    BAD("+1", "byte 0: unexpected '+'"),
    BAD(".5", "byte 0: unexpected '.'"),
    BAD("1.", "byte 2: digit expected after '.'"),
    BAD("1.e5", "byte 2: digit expected after '.'"),
    BAD("-", "byte 1: digit expected in number"),
    BAD("- 1", "byte 1: digit expected in number"),
    BAD("--1", "byte 1: digit expected in number"),
    BAD("1e", "byte 2: digit expected in exponent"),
    BAD("1e+", "byte 3: digit expected in exponent"),
    BAD("1E-x", "byte 3: digit expected in exponent"),
    BAD("1.5.5", "byte 3:"),
    BAD("0x10", "byte 1:"),
    BAD("1 000", "byte 2:"),
    BAD("9223372036854775808", "byte 0: too big integer"),
    BAD("-9223372036854775809", "byte 0: too big negative integer"),
    BAD("10000000000000000000", "byte 0: too big integer"),
    BAD("[92233720368547758070]", "byte 1: too big integer"),
    BAD("1e309", "byte 0: real number overflow"),
    BAD("-1e309", "byte 0: real number overflow"),
    BAD("1.7976931348623159e308", "byte 0: real number overflow"),
    BAD("1e99999999999999999999999", "byte 0: real number overflow"),
    BAD("0.001e99999999999999999999999", "byte 0: real number overflow"),
    BAD(S_AT_LIMIT ".0", "byte 0: real number overflow"),
    BAD(S_AT_LIMIT "e0", "byte 0: real number overflow"),
    BAD("-" S_AT_LIMIT ".0", "byte 0: real number overflow"),
    BAD(S_AT_LIMIT ".0000000000000000000000001", "real number overflow"),
    BAD("0.0" S_AT_LIMIT "e310", "byte 0: real number overflow"),
    BAD(S_BELOW_LIMIT "0.0", "byte 0: real number overflow"),
    BAD("\"abc", "byte 0: unterminated string"),
    BAD("\"", "byte 0: unterminated string"),
    BAD("\"\\\"", "byte 0: unterminated string"),
    BAD("[\"a\\", "byte 3: invalid escape"),
    BAD("\"a\nb\"", "byte 2: control byte 0x0a in string"),
    BAD("\"\t\"", "byte 1: control byte 0x09 in string"),
    BAD("\"\x1f\"", "byte 1: control byte 0x1f in string"),
    BAD("\"a\0b\"", "byte 2: control byte 0x00 in string"),
    BAD("\"\\x41\"", "byte 1: invalid escape"),
    BAD("\"\\U0041\"", "byte 1: invalid escape"),
    BAD("\"\\'\"", "byte 1: invalid escape"),
    BAD("\"\\u12\"", "byte 1: invalid \\u escape"),
    BAD("\"\\u12G4\"", "byte 1: invalid \\u escape"),
    BAD("\"\\u", "byte 1: invalid \\u escape"),
    BAD("\"\\u0000\"", "byte 1: \\u0000 not allowed"),
    BAD("{\"\\u0000\":1}", "byte 2: \\u0000 not allowed"),
    BAD("[\"ok\",\"a\\u0000\"]", "byte 8: \\u0000 not allowed"),
    BAD("\"\\uD800\"", "byte 1: high surrogate \\uD800 without a low one"),
    BAD("\"\\ud800x\"", "byte 1: high surrogate"),
    BAD("\"\\uD800\\u0041\"", "byte 1: high surrogate"),
    BAD("\"\\uD800\\uD800\"", "byte 1: high surrogate"),
    BAD("\"\\uDBFF\\uE000\"", "byte 1: high surrogate"),
    BAD("\"\\uD800\\n\"", "byte 1: high surrogate"),
    BAD("\"\\uD800\\uDC0\"", "byte 1: high surrogate"),
    BAD("\"\\uDC00\"", "byte 1: lone low surrogate \\uDC00"),
    BAD("\"\\uDFFF\\uD800\"", "byte 1: lone low surrogate \\uDFFF"),
    BAD("\"\x80\"", "byte 1: invalid UTF-8 in string"),
    BAD("\"\xbf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xc0\xaf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xc1\xbf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xe0\x80\xaf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xe0\x9f\xbf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xf0\x80\x80\xaf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xf0\x8f\xbf\xbf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xed\xa0\x80\"", "byte 1: invalid UTF-8"),
    BAD("\"\xed\xbf\xbf\"", "byte 1: invalid UTF-8"),
    BAD("\"\xed\xa0\xbd\xed\xb8\x80\"", "byte 1: invalid UTF-8"),
    BAD("\"\xf4\x90\x80\x80\"", "byte 1: invalid UTF-8"),
    BAD("\"\xf5\x80\x80\x80\"", "byte 1: invalid UTF-8"),
    BAD("\"\xf8\x88\x80\x80\x80\"", "byte 1: invalid UTF-8"),
    BAD("\"\xfe\"", "byte 1: invalid UTF-8"),
    BAD("\"\xff\"", "byte 1: invalid UTF-8"),
    BAD("\"ab\xc3\"", "byte 3: invalid UTF-8"),
    BAD("\"\xc3\x28\"", "byte 1: invalid UTF-8"),
    BAD("\"\xe2\x82\"", "byte 1: invalid UTF-8"),
    BAD("\"\xe2\x82\xc0\"", "byte 1: invalid UTF-8"),
    BAD("\"\xf0\x9f\x98\"", "byte 1: invalid UTF-8"),
    BAD("\"\xc3", "byte 1: invalid UTF-8"),
    BAD("\"\xf0\x9f\x98", "byte 1: invalid UTF-8"),
    BAD("\xc3\xa9", "byte 0: unexpected byte 0xc3, value expected"),
    BAD("[", "byte 1: unexpected end of text, value expected"),
    BAD("]", "byte 0: unexpected ']', value expected"),
    BAD("{", "byte 1: unexpected end of text, string key expected"),
    BAD("}", "byte 0: unexpected '}'"),
    BAD("[1", "byte 2: unexpected end of text, ',' or ']' expected"),
    BAD("[1,]", "byte 3: unexpected ']', value expected"),
    BAD("[,1]", "byte 1: unexpected ','"),
    BAD("[1 2]", "byte 3: unexpected '2', ',' or ']' expected"),
    BAD("[1}", "byte 2: unexpected '}', ',' or ']' expected"),
    BAD("[\"a\":1]", "byte 4: unexpected ':'"),
    BAD("{\"a\"}", "byte 4: unexpected '}', ':' expected"),
    BAD("{\"a\":}", "byte 5: unexpected '}', value expected"),
    BAD("{\"a\" 1}", "byte 5: unexpected '1', ':' expected"),
    BAD("{\"a\":1", "byte 6: unexpected end of text, ',' or '}' expected"),
    BAD("{\"a\":1,}", "byte 7: unexpected '}', string key expected"),
    BAD("{\"a\":1]", "byte 6: unexpected ']', ',' or '}' expected"),
    BAD("{a:1}", "byte 1: unexpected 'a', string key expected"),
    BAD("{1:2}", "byte 1: unexpected '1', string key expected"),
    BAD("{'a':1}", "byte 1: unexpected '''"),
    BAD("{\"a\"::1}", "byte 5: unexpected ':', value expected"),
    BAD("{,}", "byte 1: unexpected ','"),
    BAD("{\"a\":1,,\"b\":2}", "byte 7: unexpected ','"),
    BAD("{\"a\":1,\"a\":2}", "byte 7: duplicate object key"),
    BAD("{\"a\":1, \"b\":2, \"a\":3}", "byte 15: duplicate object key"),
    BAD("{\"\":1,\"\":2}", "byte 6: duplicate object key"),
    BAD("{\"a\":1,\"\\u0061\":2}", "byte 7: duplicate object key"),
    BAD("{\"\\u0061\":1,\"a\":2}", "byte 12: duplicate object key"),
    BAD("{\"\\/\":1,\"/\":2}", "byte 8: duplicate object key"),
    BAD("{\"\\n\":1,\"\\u000a\":2}", "byte 8: duplicate object key"),
    BAD("{\"\\\"\":1,\"\\u0022\":2}", "byte 8: duplicate object key"),
    BAD("{\"\\\\\":1,\"\\u005C\":2}", "byte 8: duplicate object key"),
    BAD("{\"\xc3\xa9\":1,\"\\u00e9\":2}", "byte 8: duplicate object key"),
    BAD("{\"\\u00E9\":1,\"\\u00e9\":2}", "byte 12: duplicate object key"),
    BAD("{\"\xe2\x82\xac\":1,\"\\u20ac\":2}", "byte 9: duplicate object key"),
    BAD("{\"\xf0\x9f\x98\x80\":1,\"\\ud83d\\ude00\":2}",
        "byte 10: duplicate object key"),
    BAD("{\"ab\":1,\"a\\u0062\":2}", "byte 8: duplicate object key"),
    BAD("{\"a\":{},\"b\":1,\"a\":2}", "byte 14: duplicate object key"),
    BAD("[{\"x\":{\"a\":1,\"b\":2,\"a\":3}}]", "byte 19: duplicate object key"),
    BAD("{\"a\":{\"b\":1,\"b\":2},\"a\":3}", "byte 12: duplicate object key"),
};

//  Refused here, taken by jansson: a NUL byte right after a number or a
//  literal, which jansson's stream loses when it puts the byte back (it
//  reads NUL as "nothing buffered"). RFC 8259 has no place for a raw NUL.
static const s_row_t s_nul_after_token[] = {
    BAD("1\0", "byte 1: unexpected byte 0x00, end of text expected"),
    BAD("[1\0]", "byte 2: unexpected byte 0x00, ',' or ']' expected"),
    BAD("1.5e3\0", "byte 5: unexpected byte 0x00"),
    BAD("[true\0,false]", "byte 5: unexpected byte 0x00"),
    BAD("{\"a\":null\0}", "byte 9: unexpected byte 0x00, ',' or '}' expected"),
};

//  jansson's verdict, depth aside (every row is far from its 2048).
static bool
s_jansson_accepts(const char *text, size_t size)
{
    json_error_t error;
    json_t *value = json_loadb(
        text, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);
    json_decref(value);
    return value != NULL;
}

//  Asserts a refusal whose reason holds expected, on one line that fits.
static void
s_assert_refused(const char *text, size_t size, int max_depth,
                 const char *expected)
{
    char why[ZJ_WHY_SIZE];
    memset(why, 'x', sizeof why);
    ck_assert_int_eq(zj_json_check(text, size, max_depth, why), ZJ_EJSON);
    ck_assert_ptr_nonnull(memchr(why, '\0', sizeof why));
    ck_assert_ptr_null(strchr(why, '\n'));
    ck_assert_msg(strstr(why, expected) != NULL, "'%s' lacks '%s'", why,
                  expected);
}

START_TEST(test_json_accepts_good)
{
    const s_row_t *row = &s_good[_i];
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_msg(zj_json_check(row->text, row->size, ZJ_MAX_DEPTH, why) == 0,
                  "%s refused: %s", row->text, why);
    ck_assert(s_jansson_accepts(row->text, row->size));
}
END_TEST

START_TEST(test_json_refuses_bad)
{
    const s_row_t *row = &s_bad[_i];
    s_assert_refused(row->text, row->size, ZJ_MAX_DEPTH, "invalid JSON at ");
    s_assert_refused(row->text, row->size, ZJ_MAX_DEPTH, row->why);
    ck_assert(!s_jansson_accepts(row->text, row->size));
}
END_TEST

START_TEST(test_json_refuses_nul_after_token)
{
    const s_row_t *row = &s_nul_after_token[_i];
    s_assert_refused(row->text, row->size, ZJ_MAX_DEPTH, row->why);
}
END_TEST

//  Returns text nested depth deep: depth times open, then inner, then the
//  closes. Caller frees.
static char *
s_nested(int depth, const char *open, const char *inner, const char *close)
{
    size_t size = depth * (strlen(open) + strlen(close)) + strlen(inner);
    char *text = malloc(size + 1);
    char *at = text;
    for (int level = 0; level < depth; level++)
        at = stpcpy(at, open);
    at = stpcpy(at, inner);
    for (int level = 0; level < depth; level++)
        at = stpcpy(at, close);
    return text;
}

static void
s_assert_accepted(const char *text, int max_depth)
{
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_msg(zj_json_check(text, strlen(text), max_depth, why) == 0,
                  "refused: %s", why);
}

START_TEST(test_json_depth_limit_is_exact)
{
    char *arrays = s_nested(ZJ_MAX_DEPTH, "[", "", "]");
    char *objects = s_nested(ZJ_MAX_DEPTH - 1, "{\"a\":", "[7]", "}");
    s_assert_accepted(arrays, ZJ_MAX_DEPTH);
    s_assert_accepted(objects, ZJ_MAX_DEPTH);
    s_assert_refused(arrays, strlen(arrays), ZJ_MAX_DEPTH - 1,
                     "JSON nested 32 deep > 31");
    free(arrays);
    free(objects);
    arrays = s_nested(ZJ_MAX_DEPTH + 1, "[", "", "]");
    objects = s_nested(ZJ_MAX_DEPTH + 1, "{\"a\":", "0", "}");
    s_assert_refused(arrays, strlen(arrays), ZJ_MAX_DEPTH,
                     "JSON nested 33 deep > 32");
    s_assert_refused(objects, strlen(objects), ZJ_MAX_DEPTH,
                     "JSON nested 33 deep > 32");
    free(arrays);
    free(objects);
    s_assert_accepted("\"scalar\"", 0);
    s_assert_refused("[]", 2, 0, "JSON nested 1 deep > 0");
    s_assert_refused("[[],{\"a\":[{}]},[]]", 18, 3, "JSON nested 4 deep > 3");
}
END_TEST

START_TEST(test_json_depth_yields_to_invalid)
{
    //  Too deep and invalid: the text is invalid, wherever the error.
    char *text = s_nested(ZJ_MAX_DEPTH + 1, "[", "", "]");
    text[strlen(text) - 1] = '}';
    s_assert_refused(text, strlen(text), ZJ_MAX_DEPTH,
                     "invalid JSON at byte 65");
    free(text);
    text = s_nested(ZJ_MAX_DEPTH + 1, "{\"a\":", "{\"b\":1,\"b\":2}", "}");
    s_assert_refused(text, strlen(text), ZJ_MAX_DEPTH, "duplicate object key");
    free(text);
}
END_TEST

START_TEST(test_json_nest_limit_is_janssons)
{
    //  2048 containers are fine, a value inside them is not, as in jansson.
    char *text = s_nested(2048, "[", "", "]");
    s_assert_accepted(text, 2048);
    ck_assert(s_jansson_accepts(text, strlen(text)));
    s_assert_refused(text, strlen(text), 2047, "JSON nested 2048 deep > 2047");
    free(text);
    text = s_nested(2048, "[", "1", "]");
    s_assert_refused(text, strlen(text), 4096,
                     "invalid JSON at byte 2048: nested over 2048 deep");
    ck_assert(!s_jansson_accepts(text, strlen(text)));
    free(text);
    text = s_nested(10000, "[", "", "]");
    s_assert_refused(text, strlen(text), ZJ_MAX_DEPTH,
                     "invalid JSON at byte 2048: nested over 2048 deep");
    free(text);
    text = s_nested(1000, "{\"k\":", "{}", "}");
    s_assert_accepted(text, 1001);
    ck_assert(s_jansson_accepts(text, strlen(text)));
    free(text);
}
END_TEST

//  Returns an object of count keys prefix "k<n>", n = 0..count-1, but key
//  repeat named after repeat_of instead; a key at an odd place spells its
//  k as \u006b. Sets *repeat_at to its opening quote. Caller frees.
static char *
s_object(int count, const char *prefix, int repeat, int repeat_of,
         size_t *repeat_at)
{
    size_t size = 2 + (size_t) count * (strlen(prefix) + 32);
    char *text = malloc(size);
    char *at = text;
    *at++ = '{';
    for (int index = 0; index < count; index++) {
        int name = index == repeat ? repeat_of : index;
        if (index == repeat)
            *repeat_at = at - text + (index > 0);
        at += sprintf(at, "%s\"%s%s%d\":%d", index ? "," : "", prefix,
                      index % 2 ? "\\u006b" : "k", name, index);
    }
    strcpy(at, "}");
    return text;
}

START_TEST(test_json_big_objects)
{
    static const int counts[] = {2, 15, 16, 17, 64, 1000};
    const char *long_prefix = "a-prefix-long-enough-to-defeat-memcmp-early-";
    for (size_t row = 0; row < sizeof counts / sizeof counts[0]; row++) {
        int count = counts[row];
        for (int pass = 0; pass < 2; pass++) {
            const char *prefix = pass ? long_prefix : "";
            size_t at = 0;
            char *text = s_object(count, prefix, -1, 0, &at);
            s_assert_accepted(text, 1);
            free(text);
            //  The last key repeats the first; then a middle one repeats
            //  the one before it.
            text = s_object(count, prefix, count - 1, 0, &at);
            char expected[64];
            snprintf(expected, sizeof expected,
                     "at byte %zu: duplicate object key", at);
            s_assert_refused(text, strlen(text), 1, expected);
            ck_assert(!s_jansson_accepts(text, strlen(text)));
            free(text);
            text = s_object(count, prefix, count / 2, count / 2 - 1, &at);
            snprintf(expected, sizeof expected,
                     "at byte %zu: duplicate object key", at);
            s_assert_refused(text, strlen(text), 1, expected);
            free(text);
        }
    }
}
END_TEST

START_TEST(test_json_many_open_keys)
{
    //  100 open objects of 3 keys each outgrow the inline slots; the
    //  innermost repeats a key of an outer one (fine) and then its own.
    char *text = s_nested(100, "{\"x\":1,\"y\":2,\"z\":", "{\"x\":0}", "}");
    s_assert_accepted(text, 101);
    free(text);
    text = s_nested(100, "{\"x\":1,\"y\":2,\"z\":", "{\"x\":0,\"x\":1}", "}");
    s_assert_refused(text, strlen(text), 101, "duplicate object key");
    free(text);
}
END_TEST

Suite *
test_json_suite(void)
{
    Suite *suite = suite_create("json");
    TCase *tcase = tcase_create("check");
    tcase_add_loop_test(tcase, test_json_accepts_good, 0,
                        sizeof s_good / sizeof s_good[0]);
    tcase_add_loop_test(tcase, test_json_refuses_bad, 0,
                        sizeof s_bad / sizeof s_bad[0]);
    tcase_add_loop_test(tcase, test_json_refuses_nul_after_token, 0,
                        sizeof s_nul_after_token / sizeof s_nul_after_token[0]);
    tcase_add_test(tcase, test_json_depth_limit_is_exact);
    tcase_add_test(tcase, test_json_depth_yields_to_invalid);
    tcase_add_test(tcase, test_json_nest_limit_is_janssons);
    tcase_add_test(tcase, test_json_big_objects);
    tcase_add_test(tcase, test_json_many_open_keys);
    suite_add_tcase(suite, tcase);
    return suite;
}
