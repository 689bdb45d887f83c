//  handlers_cpu.c - the built-in CPU kinds, sha256 and primes (see
//  handlers.h). They run in a pool process (cpu_pool.c): plain C, no
//  awaits, args parsed with jansson.
#include <assert.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker/handlers.h"

#define ZJ_SHA256_MAX_ROUNDS 1000000000 //  Upper bound of "rounds"
#define ZJ_PRIMES_MAX_LIMIT 1000000000  //  Upper bound of "limit"
#define ZJ_PRIMES_SEGMENT 65536         //  Odd numbers sieved per segment

//  Parses args as a JSON object into *object_p (caller decrefs). Returns
//  0, or the result of zj_handler_bad_args.
static int
s_parse_object(const char *args, json_t **object_p, char **error_p)
{
    json_error_t error;
    *object_p = json_loads(args ? args : "null",
                           JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    if (*object_p == NULL)
        return zj_handler_bad_args(error_p, "invalid JSON: %s", error.text);
    if (!json_is_object(*object_p)) {
        json_decref(*object_p);
        *object_p = NULL;
        return zj_handler_bad_args(error_p, "args must be an object");
    }
    return 0;
}

//  Reads the integer field name of object, low..high, into *value, which
//  keeps its default when the field is absent and not required. Returns
//  0, or the result of zj_handler_bad_args.
static int
s_integer_field(json_t *object, const char *name, bool required, json_int_t low,
                json_int_t high, json_int_t *value, char **error_p)
{
    json_t *field = json_object_get(object, name);
    if (field == NULL && !required)
        return 0;
    if (field == NULL)
        return zj_handler_bad_args(error_p, "'%s' is required", name);
    if (!json_is_integer(field) || json_integer_value(field) < low ||
        json_integer_value(field) > high)
        return zj_handler_bad_args(error_p,
                                   "'%s' must be an integer from %lld to %lld",
                                   name, (long long) low, (long long) high);
    *value = json_integer_value(field);
    return 0;
}

//  Returns a malloc'd copy of text; the handlers' results are small.
static char *
s_result(const char *text)
{
    char *result = strdup(text);
    assert(result);
    return result;
}

int
zj_handler_sha256(zjob_ctx_t *ctx, const char *args, char **result_p,
                  char **error_p)
{
    (void) ctx;
    json_t *object = NULL;
    if (s_parse_object(args, &object, error_p))
        return 1;
    json_t *data = json_object_get(object, "data");
    json_int_t rounds = 1;
    int rc = 0;
    if (data == NULL)
        rc = zj_handler_bad_args(error_p, "'data' is required");
    else if (!json_is_string(data))
        rc = zj_handler_bad_args(error_p, "'data' must be a string");
    else
        rc = s_integer_field(object, "rounds", false, 1, ZJ_SHA256_MAX_ROUNDS,
                             &rounds, error_p);
    if (rc == 0 && sodium_init() < 0) {
        *error_p = s_result("libsodium failed to initialise");
        rc = 1;
    }
    if (rc != 0) {
        json_decref(object);
        return rc;
    }
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *) json_string_value(data),
                       json_string_length(data));
    for (json_int_t round = 1; round < rounds; round++)
        crypto_hash_sha256(digest, digest, sizeof digest);
    json_decref(object);

    char hex[crypto_hash_sha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    char text[sizeof hex + 16];
    snprintf(text, sizeof text, "{\"hex\": \"%s\"}", hex);
    *result_p = s_result(text);
    return 0;
}

//  Collects the odd primes <= root into a malloc'd array; sets *count.
static int64_t *
s_base_primes(int64_t root, size_t *count)
{
    char *composite = calloc((size_t) root + 1, 1);
    int64_t *primes = malloc(((size_t) root / 2 + 1) * sizeof *primes);
    assert(composite && primes);
    *count = 0;
    for (int64_t candidate = 3; candidate <= root; candidate += 2) {
        if (composite[candidate])
            continue;
        primes[(*count)++] = candidate;
        for (int64_t multiple = candidate * candidate; multiple <= root;
             multiple += 2 * candidate)
            composite[multiple] = 1;
    }
    free(composite);
    return primes;
}

//  Counts the primes <= limit with a segmented sieve of the odd numbers:
//  index k of a segment stands for the odd number 2 * (first + k) + 1.
static int64_t
s_count_primes(int64_t limit)
{
    if (limit < 2)
        return 0;
    int64_t root = 1;
    while ((root + 1) * (root + 1) <= limit)
        root++;
    size_t base_count = 0;
    int64_t *base = s_base_primes(root, &base_count);
    char *segment = malloc(ZJ_PRIMES_SEGMENT);
    assert(segment);

    int64_t count = 1; //  The prime 2
    int64_t last = (limit - 1) / 2;
    for (int64_t first = 1; first <= last; first += ZJ_PRIMES_SEGMENT) {
        int64_t size = last - first + 1 < ZJ_PRIMES_SEGMENT ? last - first + 1
                                                            : ZJ_PRIMES_SEGMENT;
        memset(segment, 0, (size_t) size);
        int64_t low = 2 * first + 1;
        for (size_t index = 0; index < base_count; index++) {
            int64_t prime = base[index];
            int64_t start = (low + prime - 1) / prime * prime;
            if (start % 2 == 0)
                start += prime;
            if (start < prime * prime)
                start = prime * prime;
            for (int64_t k = (start - 1) / 2 - first; k < size; k += prime)
                segment[k] = 1;
        }
        for (int64_t k = 0; k < size; k++)
            count += segment[k] == 0;
    }
    free(segment);
    free(base);
    return count;
}

int
zj_handler_primes(zjob_ctx_t *ctx, const char *args, char **result_p,
                  char **error_p)
{
    (void) ctx;
    json_t *object = NULL;
    if (s_parse_object(args, &object, error_p))
        return 1;
    json_int_t limit = 0;
    int rc = s_integer_field(object, "limit", true, 0, ZJ_PRIMES_MAX_LIMIT,
                             &limit, error_p);
    json_decref(object);
    if (rc != 0)
        return rc;
    char text[64];
    snprintf(text, sizeof text, "{\"count\": %lld}",
             (long long) s_count_primes(limit));
    *result_p = s_result(text);
    return 0;
}
