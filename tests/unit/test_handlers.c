//  test_handlers.c - the built-in CPU kinds (worker/handlers_cpu.c) and
//  zj_handler_bad_args (worker/handlers_common.c), called directly with a
//  context that has no loop and no coroutine, as in a pool process.
#include <check.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/suites.h"
#include "worker/handlers.h"
#include "worker/job_ctx.h"

//  Runs handler on args. Returns its code; *result_p or *error_p is set.
static int
s_call(zjob_handler_fn *handler, const char *kind, const char *args,
       char **result_p, char **error_p)
{
    zjob_ctx_t ctx = {.job_id = 1, .attempt = 1, .kind = kind};
    *result_p = NULL;
    *error_p = NULL;
    int rc = handler(&ctx, args, result_p, error_p);
    if (rc == 0) {
        ck_assert_ptr_nonnull(*result_p);
        ck_assert_ptr_null(*error_p);
    } else {
        ck_assert_ptr_null(*result_p);
        ck_assert_ptr_nonnull(*error_p);
    }
    return rc;
}

//  The hex of sha256 on args, which must succeed.
static void
s_sha256_hex(const char *args, char *hex)
{
    char *result = NULL, *error = NULL;
    ck_assert_int_eq(s_call(zj_handler_sha256, "sha256", args, &result, &error),
                     0);
    ck_assert_int_eq(sscanf(result, "{\"hex\": \"%64[0-9a-f]\"}", hex), 1);
    ck_assert_uint_eq(strlen(hex), 64);
    free(result);
}

START_TEST(test_sha256_known_vectors)
{
    char hex[65];
    s_sha256_hex("{\"data\": \"abc\"}", hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad");
    s_sha256_hex("{\"data\": \"abc\", \"rounds\": 1}", hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad");
    s_sha256_hex("{\"data\": \"\"}", hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                          "27ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_sha256_rounds_hash_the_raw_digest)
{
    ck_assert_int_ge(sodium_init(), 0);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *) "abc", 3);
    crypto_hash_sha256(digest, digest, sizeof digest);
    char expected[65];
    sodium_bin2hex(expected, sizeof expected, digest, sizeof digest);

    char hex[65];
    s_sha256_hex("{\"data\": \"abc\", \"rounds\": 2}", hex);
    ck_assert_str_eq(hex, expected);
    ck_assert_str_ne(hex, "ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad");

    for (int round = 2; round < 1000; round++)
        crypto_hash_sha256(digest, digest, sizeof digest);
    sodium_bin2hex(expected, sizeof expected, digest, sizeof digest);
    s_sha256_hex("{\"data\": \"abc\", \"rounds\": 1000}", hex);
    ck_assert_str_eq(hex, expected);
}
END_TEST

START_TEST(test_sha256_hashes_every_data_byte)
{
    //  "a\u0000b" is three bytes: the NUL must not end the data.
    ck_assert_int_ge(sodium_init(), 0);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *) "a\0b", 3);
    char expected[65];
    sodium_bin2hex(expected, sizeof expected, digest, sizeof digest);
    char hex[65];
    s_sha256_hex("{\"data\": \"a\\u0000b\"}", hex);
    ck_assert_str_eq(hex, expected);
}
END_TEST

//  The count of primes for limit, which must succeed.
static long long
s_primes(long long limit)
{
    char args[64];
    snprintf(args, sizeof args, "{\"limit\": %lld}", limit);
    char *result = NULL, *error = NULL;
    ck_assert_int_eq(s_call(zj_handler_primes, "primes", args, &result, &error),
                     0);
    long long count = -1;
    ck_assert_int_eq(sscanf(result, "{\"count\": %lld}", &count), 1);
    free(result);
    return count;
}

START_TEST(test_primes_known_counts)
{
    ck_assert_int_eq(s_primes(0), 0);
    ck_assert_int_eq(s_primes(1), 0);
    ck_assert_int_eq(s_primes(2), 1);
    ck_assert_int_eq(s_primes(3), 2);
    ck_assert_int_eq(s_primes(4), 2);
    ck_assert_int_eq(s_primes(9), 4);
    ck_assert_int_eq(s_primes(10), 4);
    ck_assert_int_eq(s_primes(25), 9);
    ck_assert_int_eq(s_primes(100), 25);
    ck_assert_int_eq(s_primes(1000), 168);
    //  Crosses segment edges: 65536 odd numbers per segment.
    ck_assert_int_eq(s_primes(131071), 12251);
    ck_assert_int_eq(s_primes(131072), 12251);
    ck_assert_int_eq(s_primes(131075), 12251);
    ck_assert_int_eq(s_primes(131101), 12252);
    ck_assert_int_eq(s_primes(1000000), 78498);
}
END_TEST

START_TEST(test_primes_ten_million)
{
    ck_assert_int_eq(s_primes(10000000), 664579);
}
END_TEST

typedef struct {
    zjob_handler_fn *handler; //  sha256 or primes
    const char *args;         //  Bad args
    const char *error;        //  Expected error, or its start if it ends '*'
} s_bad_args_row_t;

static const s_bad_args_row_t s_bad_args[] = {
    {zj_handler_sha256, "null", "bad args: args must be an object"},
    {zj_handler_sha256, "[1, 2]", "bad args: args must be an object"},
    {zj_handler_sha256, "\"abc\"", "bad args: args must be an object"},
    {zj_handler_sha256, "{\"data\": ", "bad args: invalid JSON: *"},
    {zj_handler_sha256, "", "bad args: invalid JSON: *"},
    {zj_handler_sha256, "{}", "bad args: 'data' is required"},
    {zj_handler_sha256, "{\"rounds\": 2}", "bad args: 'data' is required"},
    {zj_handler_sha256, "{\"data\": 5}", "bad args: 'data' must be a string"},
    {zj_handler_sha256, "{\"data\": null}",
     "bad args: 'data' must be a string"},
    {zj_handler_sha256, "{\"data\": \"x\", \"rounds\": 0}",
     "bad args: 'rounds' must be an integer from 1 to 1000000000"},
    {zj_handler_sha256, "{\"data\": \"x\", \"rounds\": -3}",
     "bad args: 'rounds' must be an integer from 1 to 1000000000"},
    {zj_handler_sha256, "{\"data\": \"x\", \"rounds\": 1000000001}",
     "bad args: 'rounds' must be an integer from 1 to 1000000000"},
    {zj_handler_sha256, "{\"data\": \"x\", \"rounds\": 2.5}",
     "bad args: 'rounds' must be an integer from 1 to 1000000000"},
    {zj_handler_sha256, "{\"data\": \"x\", \"rounds\": \"2\"}",
     "bad args: 'rounds' must be an integer from 1 to 1000000000"},
    {zj_handler_primes, "null", "bad args: args must be an object"},
    {zj_handler_primes, "7", "bad args: args must be an object"},
    {zj_handler_primes, "{\"limit\": 1", "bad args: invalid JSON: *"},
    {zj_handler_primes, "{}", "bad args: 'limit' is required"},
    {zj_handler_primes, "{\"limit\": -1}",
     "bad args: 'limit' must be an integer from 0 to 1000000000"},
    {zj_handler_primes, "{\"limit\": 1000000001}",
     "bad args: 'limit' must be an integer from 0 to 1000000000"},
    {zj_handler_primes, "{\"limit\": 10.0}",
     "bad args: 'limit' must be an integer from 0 to 1000000000"},
    {zj_handler_primes, "{\"limit\": true}",
     "bad args: 'limit' must be an integer from 0 to 1000000000"},
    {zj_handler_primes, "{\"limit\": \"10\"}",
     "bad args: 'limit' must be an integer from 0 to 1000000000"},
};

START_TEST(test_bad_args_are_rejected)
{
    const s_bad_args_row_t *row = &s_bad_args[_i];
    char *result = NULL, *error = NULL;
    int rc = s_call(row->handler, "bad", row->args, &result, &error);
    ck_assert_msg(rc != 0, "args %s accepted", row->args);
    size_t size = strlen(row->error);
    if (row->error[size - 1] == '*') {
        ck_assert_msg(strncmp(error, row->error, size - 1) == 0 &&
                          strlen(error) > size - 1,
                      "args %s: error \"%s\"", row->args, error);
    } else
        ck_assert_str_eq(error, row->error);
    ck_assert_ptr_null(strchr(error, '\n'));
    free(error);
}
END_TEST

START_TEST(test_bad_args_formats_and_cuts)
{
    char *error = NULL;
    ck_assert_int_eq(zj_handler_bad_args(&error, "'%s' < %d", "n", 3),
                     ZJOB_FAILED_FINAL);
    ck_assert_str_eq(error, "bad args: 'n' < 3");
    free(error);

    char *long_reason = malloc(10000);
    ck_assert_ptr_nonnull(long_reason);
    memset(long_reason, 'x', 9999);
    long_reason[9999] = '\0';
    ck_assert_int_eq(zj_handler_bad_args(&error, "%s", long_reason),
                     ZJOB_FAILED_FINAL);
    ck_assert_int_eq(strncmp(error, "bad args: xxx", 13), 0);
    ck_assert_uint_lt(strlen(error), 9999);
    free(error);
    free(long_reason);
}
END_TEST

Suite *
test_handlers_suite(void)
{
    Suite *suite = suite_create("handlers");
    TCase *tcase = tcase_create("sha256");
    tcase_add_test(tcase, test_sha256_known_vectors);
    tcase_add_test(tcase, test_sha256_rounds_hash_the_raw_digest);
    tcase_add_test(tcase, test_sha256_hashes_every_data_byte);
    suite_add_tcase(suite, tcase);

    tcase = tcase_create("primes");
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_primes_known_counts);
    tcase_add_test(tcase, test_primes_ten_million);
    suite_add_tcase(suite, tcase);

    tcase = tcase_create("bad_args");
    tcase_add_loop_test(tcase, test_bad_args_are_rejected, 0,
                        (int) (sizeof s_bad_args / sizeof s_bad_args[0]));
    tcase_add_test(tcase, test_bad_args_formats_and_cuts);
    suite_add_tcase(suite, tcase);
    return suite;
}
