//  test_msg_bad.c - the bad-input half of the msg suite (see test_msg.c).
//  A table of bad frames, the reasons they get, limits on both encoder and
//  decoder, and object floods. Bad frames are written as JSON and turned
//  into msgpack by s_pack_json, a packer of its own, so the codec is
//  checked against a second opinion. Adds its tests to test_msg.c's
//  "codec" case through test_msg_bad_add.
#include <check.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/codec.h"

//  A growing byte buffer for frames written by the tests.
typedef struct {
    unsigned char *data; //  Bytes, malloc'd
    size_t size;         //  Bytes used
    size_t capacity;     //  Bytes allocated
} s_bytes_t;

static void
s_put(s_bytes_t *out, const void *bytes, size_t size)
{
    //  Doubling keeps a 3 MB frame of 20,000 puts linear: under ASan
    //  every realloc copies, and growing by each put took minutes.
    if (out->size + size + 1 > out->capacity) {
        size_t wanted = out->size + size + 1;
        out->capacity = out->capacity * 2 > wanted ? out->capacity * 2 : wanted;
        out->data = realloc(out->data, out->capacity);
        ck_assert_ptr_nonnull(out->data);
    }
    memcpy(out->data + out->size, bytes, size);
    out->size += size;
}

static void
s_put_byte(s_bytes_t *out, unsigned char byte)
{
    s_put(out, &byte, 1);
}

static void
s_put_be(s_bytes_t *out, uint64_t value, int width)
{
    for (int shift = (width - 1) * 8; shift >= 0; shift -= 8)
        s_put_byte(out, (unsigned char) (value >> shift));
}

//  A container or string header: fix form up to fix_max, else 16 or 32.
static void
s_put_head(s_bytes_t *out, unsigned char fix, size_t fix_max,
           unsigned char code16, size_t count)
{
    if (count <= fix_max)
        s_put_byte(out, (unsigned char) (fix | count));
    else if (count <= 0xffff) {
        s_put_byte(out, code16);
        s_put_be(out, count, 2);
    } else {
        s_put_byte(out, (unsigned char) (code16 + 1));
        s_put_be(out, count, 4);
    }
}

//  Packs a jansson value as msgpack (the same mapping as the codec).
static void
s_pack_value(s_bytes_t *out, const json_t *value)
{
    if (json_is_object(value)) {
        s_put_head(out, 0x80, 15, 0xde, json_object_size(value));
        const char *key;
        json_t *member;
        json_object_foreach((json_t *) value, key, member) {
            s_put_head(out, 0xa0, 31, 0xda, strlen(key));
            s_put(out, key, strlen(key));
            s_pack_value(out, member);
        }
    } else if (json_is_array(value)) {
        s_put_head(out, 0x90, 15, 0xdc, json_array_size(value));
        size_t index;
        json_t *member;
        json_array_foreach(value, index, member)
            s_pack_value(out, member);
    } else if (json_is_string(value)) {
        s_put_head(out, 0xa0, 31, 0xda, json_string_length(value));
        s_put(out, json_string_value(value), json_string_length(value));
    } else if (json_is_integer(value) && json_integer_value(value) >= 0) {
        s_put_byte(out, 0xcf);
        s_put_be(out, (uint64_t) json_integer_value(value), 8);
    } else if (json_is_integer(value)) {
        s_put_byte(out, 0xd3);
        s_put_be(out, (uint64_t) json_integer_value(value), 8);
    } else if (json_is_real(value)) {
        double real = json_real_value(value);
        uint64_t bits;
        memcpy(&bits, &real, sizeof(bits));
        s_put_byte(out, 0xcb);
        s_put_be(out, bits, 8);
    } else
        s_put_byte(out, json_is_true(value)    ? 0xc3
                        : json_is_false(value) ? 0xc2
                                               : 0xc0);
}

//  Packs JSON text written with ' for " (easier to read in C strings).
static s_bytes_t
s_pack_json(const char *text)
{
    char *swapped = strdup(text);
    for (char *cursor = swapped; *cursor; cursor++)
        if (*cursor == '\'')
            *cursor = '"';
    json_error_t error;
    json_t *value = json_loads(swapped, JSON_ALLOW_NUL, &error);
    free(swapped);
    ck_assert_msg(value != NULL, "bad test JSON %s: %s", text, error.text);
    s_bytes_t out = {NULL, 0, 0};
    s_pack_value(&out, value);
    json_decref(value);
    return out;
}

//  Decodes size bytes copied to a buffer of exactly that size (so the
//  sanitizers see any over-read) and checks the failure contract: no
//  message and a non-empty reason. Also used by test_msg.c.
int
test_msg_decode(const void *data, size_t size, zj_msg_t **msg_p)
{
    void *copy = malloc(size ? size : 1);
    memcpy(copy, data, size);
    char why[ZJ_WHY_SIZE] = "";
    *msg_p = (zj_msg_t *) 0x1;
    int rc = zj_msg_decode(copy, size, msg_p, NULL, why);
    free(copy);
    if (rc == 0)
        ck_assert(zj_msg_is(*msg_p));
    else {
        ck_assert_ptr_null(*msg_p);
        ck_assert_str_ne(why, "");
        ck_assert(zj_err_is_valid(rc));
    }
    return rc;
}

static int
s_decode_json(const char *text, char *why)
{
    s_bytes_t frame = s_pack_json(text);
    zj_msg_t *msg = NULL;
    int rc = zj_msg_decode(frame.data, frame.size, &msg, NULL, why);
    zj_msg_destroy(&msg);
    free(frame.data);
    return rc;
}

//  The bad-input table

typedef struct {
    const char *name;  //  What is wrong
    const char *bytes; //  JSON text when json, else raw msgpack
    size_t len;        //  Bytes of raw msgpack
    int expected;      //  ZJ_E* code
    bool json;         //  True: bytes is JSON to pack with s_pack_json
    const char *hint;  //  Part of the reason, so the row fails for it
} s_bad_t;

#define RAW(name, bytes, code, hint)                                           \
    {                                                                          \
        name, bytes, sizeof(bytes) - 1, code, false, hint                      \
    }
#define JSON(name, text, code, hint)                                           \
    {                                                                          \
        name, text, 0, code, true, hint                                        \
    }
#define X8(s) s s s s s s s s
#define V1T "\xa1v\x01\xa1t" //  "v": 1, "t":

//  JSON rows use ' for " (s_pack_json swaps them back).
// clang-format off
static const s_bad_t s_bad[] = {
    {"empty", "", 0, ZJ_EPROTO, false, "empty frame"},
    RAW("garbage", "\xc1\xc1\xc1\xc1", ZJ_EPROTO, "not a msgpack map"),
    RAW("garbage inside a map", "\x81\xc1\x01", ZJ_EPROTO, "byte 0xc1 at 1"),
    RAW("not a map: array", "\x92\x01\x02", ZJ_EPROTO, "not a msgpack map"),
    RAW("not a map: string", "\xa3" "abc", ZJ_EPROTO, "not a msgpack map"),
    RAW("not a map: int", "\x01", ZJ_EPROTO, "not a msgpack map"),
    RAW("truncated valid frame", "\x82" V1T "\xa3" "BY", ZJ_EPROTO,
        "frame truncated"),
    RAW("trailing bytes", "\x82" V1T "\xa3" "BYE\x00", ZJ_EPROTO,
        "1 trailing bytes"),
    RAW("two frames", "\x82" V1T "\xa3" "BYE\x82" V1T "\xa3" "BYE", ZJ_EPROTO,
        "10 trailing bytes"),
    RAW("huge declared array", "\x84" V1T "\xa6SUBMIT\xa3req\x01\xa4jobs"
        "\xdd\xff\xff\xff\xff", ZJ_ETOOBIG, "batch 4294967295 > ZJ_MAX_BATCH"),
    RAW("array longer than frame", "\x84" V1T "\xa6SUBMIT\xa3req\x01\xa4jobs"
        "\xdc\x13\x88\x80", ZJ_EPROTO, "5000 objects declared"),
    RAW("huge declared string", "\x82" V1T "\xdb\xff\xff\xff\xff" "BYE",
        ZJ_EPROTO, "4294967295 bytes declared"),
    RAW("huge declared map", "\xdf\xff\xff\xff\xff\x01", ZJ_ETOOBIG,
        "map of 4294967295 > ZJ_MAX_BATCH"),
    RAW("deep nesting", "\x83" V1T "\xa3" "BYE\xa1x" X8(X8("\x91")) "\x01",
        ZJ_EPROTO, "nested over 16 deep"),
    RAW("duplicate key", "\x83" V1T "\xa3" "BYE\xa1t\xa3" "BYE", ZJ_EPROTO,
        "duplicate key 't'"),
    RAW("duplicate field", "\x84" V1T "\xa4" "DONE\xa3req\x01\xa3req\x02",
        ZJ_EPROTO, "duplicate key 'req'"),
    RAW("NaN time", "\x84" V1T "\xa7WORKERS\xa3req\x01\xa7workers\x91\x82"
        "\xa4name\xa1w\xa9last_seen\xcb\x7f\xf8\0\0\0\0\0\0", ZJ_EPROTO,
        "worker 0: field 'last_seen' is not finite"),
    RAW("NUL in kind", "\x84" V1T "\xa6SUBMIT\xa3req\x01\xa4jobs\x91\x81"
        "\xa4kind\xa5" "ec\0ho", ZJ_EPROTO, "'kind' holds a NUL byte"),
    JSON("no version", "{'t': 'BYE'}", ZJ_EVERSION, "field 'v' missing"),
    JSON("nil version", "{'v': null, 't': 'BYE'}", ZJ_EVERSION,
         "field 'v' missing"),
    JSON("wrong version", "{'v': 2, 't': 'BYE'}", ZJ_EVERSION,
         "version 2, expected 1"),
    JSON("version 0", "{'v': 0, 't': 'BYE'}", ZJ_EVERSION, "version 0"),
    JSON("version is a string", "{'v': '1', 't': 'BYE'}", ZJ_EPROTO,
         "field 'v' is not an integer"),
    JSON("no type", "{'v': 1}", ZJ_EPROTO, "field 't' missing"),
    JSON("unknown type", "{'v': 1, 't': 'FROB'}", ZJ_EPROTO,
         "unknown type 'FROB'"),
    JSON("type in lower case", "{'v': 1, 't': 'bye'}", ZJ_EPROTO,
         "unknown type 'bye'"),
    JSON("type is a number", "{'v': 1, 't': 3}", ZJ_EPROTO,
         "field 't' is not a string"),
    JSON("SUBMIT without req", "{'v':1, 't':'SUBMIT', 'jobs':[{'kind':'e'}]}",
         ZJ_EPROTO, "SUBMIT: field 'req' missing"),
    JSON("SUBMIT without jobs", "{'v':1, 't':'SUBMIT', 'req':1}", ZJ_EPROTO,
         "SUBMIT: field 'jobs' missing"),
    JSON("SUBMIT job without kind", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'args':'{}'}]}", ZJ_EPROTO, "job 0: field 'kind' missing"),
    JSON("SUBMIT after not an array", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'after':3}]}", ZJ_EPROTO,
         "job 0: field 'after' is not an array"),
    JSON("SUBMIT after id 0", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'after':[2, 0]}]}", ZJ_EPROTO,
         "after holds 0: job ids are >= 1"),
    JSON("SUBMIT after a string", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'after':['2']}]}", ZJ_EPROTO,
         "field 'after' is not an integer"),
    JSON("SUBMIT unique empty", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'unique':''}]}", ZJ_EPROTO,
         "job 0: field 'unique' is not 1..256 bytes of printable UTF-8"),
    JSON("SUBMIT unique with a newline", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'unique':'a\\nb'}]}", ZJ_EPROTO,
         "field 'unique' is not 1..256 bytes of printable UTF-8"),
    JSON("SUBMIT unique too long", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'unique':'" X8("12345678901234567890123456789012")
         "x'}]}", ZJ_ETOOBIG, "field 'unique' is 257 bytes > 256"),
    JSON("SUBMIT unique a number", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'unique':7}]}", ZJ_EPROTO,
         "field 'unique' is not a string"),
    JSON("SUBMIT unique_for_ms negative", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'unique':'k', 'unique_for_ms':-1}]}",
         ZJ_EPROTO, "field 'unique_for_ms' is -1, not 1.."),
    JSON("SUBMIT unique_for_ms over 366 days", "{'v':1, 't':'SUBMIT', "
         "'req':1, 'jobs':[{'kind':'e', 'unique':'k', "
         "'unique_for_ms':31622400001}]}", ZJ_EPROTO,
         "field 'unique_for_ms' is 31622400001, not 1..31622400000"),
    JSON("SUBMIT unique_for_ms without unique", "{'v':1, 't':'SUBMIT', "
         "'req':1, 'jobs':[{'kind':'e', 'unique_for_ms':5}]}", ZJ_EPROTO,
         "field 'unique_for_ms' needs 'unique'"),
    JSON("SPAWN with a unique key", "{'v':1, 't':'SPAWN', 'req':1, "
         "'jobs':[{'kind':'e', 'parent':3, 'call':1, 'unique':'k'}]}",
         ZJ_EPROTO, "SPAWN: job 0: 'unique' is for SUBMIT only"),
    JSON("SUBMITTED without ids", "{'v':1, 't':'SUBMITTED', 'req':1}",
         ZJ_EPROTO, "SUBMITTED: field 'ids' missing"),
    JSON("AWAIT without req", "{'v':1, 't':'AWAIT', 'ids':[1]}", ZJ_EPROTO,
         "AWAIT: field 'req' missing"),
    JSON("AWAIT without ids", "{'v':1, 't':'AWAIT', 'req':1}", ZJ_EPROTO,
         "AWAIT: field 'ids' missing"),
    JSON("AWAIT id 0", "{'v':1, 't':'AWAIT', 'req':1, 'ids':[3,0]}",
         ZJ_EPROTO, "ids[1] = 0 is not a job id"),
    JSON("RESOLVED job not final", "{'v':1, 't':'RESOLVED', 'req':1, "
         "'jobs':[{'id':1, 'state':'running'}]}", ZJ_EPROTO,
         "state 'running' is not final"),
    JSON("RESOLVED job without id", "{'v':1, 't':'RESOLVED', 'req':1, "
         "'jobs':[{'state':'failed'}]}", ZJ_EPROTO, "field 'id' missing"),
    JSON("DONE without req", "{'v':1, 't':'DONE'}", ZJ_EPROTO,
         "DONE: field 'req' missing"),
    JSON("STATUS without req", "{'v':1, 't':'STATUS', 'ids':[1]}", ZJ_EPROTO,
         "STATUS: field 'req' missing"),
    JSON("LIST without req", "{'v':1, 't':'LIST'}", ZJ_EPROTO,
         "LIST: field 'req' missing"),
    JSON("WORKERS without req", "{'v':1, 't':'WORKERS'}", ZJ_EPROTO,
         "WORKERS: field 'req' missing"),
    JSON("CANCEL without req or ids", "{'v':1, 't':'CANCEL'}", ZJ_EPROTO,
         "CANCEL: field 'ids' missing"),
    JSON("HELLO without worker", "{'v':1, 't':'HELLO'}", ZJ_EPROTO,
         "HELLO: 0 workers"),
    JSON("DRAIN request without worker", "{'v':1, 't':'DRAIN', 'req':3}",
         ZJ_EPROTO, "DRAIN: 0 workers"),
    JSON("DRAIN without a name", "{'v':1, 't':'DRAIN', 'req':3, 'workers':"
         "[{'host':'h'}]}", ZJ_EPROTO, "DRAIN: field 'name' missing"),
    JSON("PURGE without req", "{'v':1, 't':'PURGE', 'older_than_ms':5}",
         ZJ_EPROTO, "PURGE: field 'req' missing"),
    JSON("PURGE of running jobs", "{'v':1, 't':'PURGE', 'req':3, 'state':"
         "'running'}", ZJ_EPROTO, "PURGE: state 'running' is not a final"),
    JSON("PURGE with a negative age", "{'v':1, 't':'PURGE', 'req':3, "
         "'older_than_ms':-1}", ZJ_EPROTO, "field 'older_than_ms' is negative"),
    JSON("PURGE of a bad kind", "{'v':1, 't':'PURGE', 'req':3, 'kind':'a b'}",
         ZJ_EPROTO, "bad kind name 'a b'"),
    JSON("SCHEDULE without op", "{'v':1, 't':'SCHEDULE', 'req':3}",
         ZJ_EPROTO, "SCHEDULE: field 'op' missing"),
    JSON("SCHEDULE with a bad op", "{'v':1, 't':'SCHEDULE', 'req':3, "
         "'op':'drop'}", ZJ_EPROTO, "op must be add, rm or list"),
    JSON("SCHEDULE add without a schedule", "{'v':1, 't':'SCHEDULE', "
         "'req':3, 'op':'add'}", ZJ_EPROTO, "SCHEDULE add: 0 jobs"),
    JSON("SCHEDULE add without a name", "{'v':1, 't':'SCHEDULE', 'req':3, "
         "'op':'add', 'jobs':[{'kind':'echo', 'every_ms':1000}]}", ZJ_EPROTO,
         "field 'schedule' missing"),
    JSON("SCHEDULE add with a bad name", "{'v':1, 't':'SCHEDULE', 'req':3, "
         "'op':'add', 'jobs':[{'schedule':'a b', 'kind':'echo', "
         "'every_ms':1000}]}", ZJ_EPROTO, "bad schedule name 'a b'"),
    JSON("SCHEDULE add with every and cron", "{'v':1, 't':'SCHEDULE', "
         "'req':3, 'op':'add', 'jobs':[{'schedule':'a', 'kind':'echo', "
         "'every_ms':1000, 'cron':'* * * * *'}]}", ZJ_EPROTO,
         "give one of every_ms and cron"),
    JSON("SCHEDULE add with neither every nor cron", "{'v':1, "
         "'t':'SCHEDULE', 'req':3, 'op':'add', 'jobs':[{'schedule':'a', "
         "'kind':'echo'}]}", ZJ_EPROTO, "give one of every_ms and cron"),
    JSON("SCHEDULE add every 999 ms", "{'v':1, 't':'SCHEDULE', 'req':3, "
         "'op':'add', 'jobs':[{'schedule':'a', 'kind':'echo', "
         "'every_ms':999}]}", ZJ_EPROTO, "every_ms 999 is under 1000"),
    JSON("SCHEDULE add with a bad cron", "{'v':1, 't':'SCHEDULE', 'req':3, "
         "'op':'add', 'jobs':[{'schedule':'a', 'kind':'echo', "
         "'cron':'61 * * * *'}]}", ZJ_EPROTO,
         "cron: minute field: 61 is out of 0-59"),
    JSON("SCHEDULE add without a kind", "{'v':1, 't':'SCHEDULE', 'req':3, "
         "'op':'add', 'jobs':[{'schedule':'a', 'every_ms':1000}]}", ZJ_EPROTO,
         "SCHEDULE add: field 'kind' missing"),
    JSON("SCHEDULE rm without a name", "{'v':1, 't':'SCHEDULE', 'req':3, "
         "'op':'rm', 'jobs':[{'kind':'echo'}]}", ZJ_EPROTO,
         "field 'schedule' missing"),
    JSON("LIMIT without a limit", "{'v':1, 't':'LIMIT', 'req':3}",
         ZJ_EPROTO, "LIMIT: 0 limits, expected 1"),
    JSON("LIMIT without req", "{'v':1, 't':'LIMIT', 'limits':[{'kind':'a'}]}",
         ZJ_EPROTO, "LIMIT: field 'req' missing"),
    JSON("LIMIT without kind", "{'v':1, 't':'LIMIT', 'req':3, 'limits':"
         "[{'rate':1.0}]}", ZJ_EPROTO, "field 'kind' missing"),
    JSON("LIMIT bad kind name", "{'v':1, 't':'LIMIT', 'req':3, 'limits':"
         "[{'kind':'a b'}]}", ZJ_EPROTO, "bad kind name 'a b'"),
    JSON("LIMIT negative concurrency", "{'v':1, 't':'LIMIT', 'req':3, "
         "'limits':[{'kind':'a', 'concurrency':-1}]}", ZJ_EPROTO,
         "field 'concurrency' is negative"),
    JSON("LIMIT huge concurrency", "{'v':1, 't':'LIMIT', 'req':3, "
         "'limits':[{'kind':'a', 'concurrency':2000000}]}", ZJ_EPROTO,
         "concurrency 2000000 is not 0..1000000"),
    JSON("LIMIT negative rate", "{'v':1, 't':'LIMIT', 'req':3, "
         "'limits':[{'kind':'a', 'rate':-2.0}]}", ZJ_EPROTO,
         "rate -2/s is not between"),
    JSON("LIMIT huge rate", "{'v':1, 't':'LIMIT', 'req':3, "
         "'limits':[{'kind':'a', 'rate':1e9}]}", ZJ_EPROTO,
         "rate 1e+09/s is not between"),
    JSON("LIMIT limits not an array", "{'v':1, 't':'LIMIT', 'req':3, "
         "'limits':{'kind':'a'}}", ZJ_EPROTO, "field 'limits' is not an array"),
    JSON("LIMITS without req", "{'v':1, 't':'LIMITS'}", ZJ_EPROTO,
         "LIMITS: field 'req' missing"),
    JSON("RETRY without ids", "{'v':1, 't':'RETRY', 'req':3}", ZJ_EPROTO,
         "RETRY: field 'ids' missing"),
    JSON("STATS without req", "{'v':1, 't':'STATS'}", ZJ_EPROTO,
         "STATS: field 'req' missing"),
    JSON("LIST with an unknown state among several", "{'v':1, 't':'LIST', "
         "'req':3, 'state':'failed,done'}", ZJ_EPROTO,
         "unknown state 'failed,done'"),
    JSON("LIST with an empty state in a list", "{'v':1, 't':'LIST', "
         "'req':3, 'state':'failed,'}", ZJ_EPROTO, "unknown state"),
    JSON("LIST with a negative before", "{'v':1, 't':'LIST', 'req':3, "
         "'before':-1}", ZJ_EPROTO, "field 'before' is negative"),
    JSON("LIST with a negative since_ms", "{'v':1, 't':'LIST', 'req':3, "
         "'since_ms':-5}", ZJ_EPROTO, "field 'since_ms' is negative"),
    JSON("LIST with a bad kind", "{'v':1, 't':'LIST', 'req':3, "
         "'kind':'a b'}", ZJ_EPROTO, "bad kind name 'a b'"),
    JSON("a job with a negative retry_of", "{'v':1, 't':'STATUS', 'req':3, "
         "'jobs':[{'id':1, 'retry_of':-2}]}", ZJ_EPROTO,
         "field 'retry_of' is negative"),
    JSON("HELLO with two workers", "{'v':1, 't':'HELLO', 'workers':"
         "[{'name':'a'}, {'name':'b'}]}", ZJ_EPROTO, "HELLO: 2 workers"),
    JSON("HELLO without name", "{'v':1, 't':'HELLO', 'workers':"
         "[{'host':'h'}]}", ZJ_EPROTO, "HELLO: field 'name' missing"),
    JSON("HELLO negative slots", "{'v':1, 't':'HELLO', 'workers':"
         "[{'name':'a', 'io_slots':-1}]}", ZJ_EPROTO,
         "field 'io_slots' is negative"),
    JSON("HELLO bad class", "{'v':1, 't':'HELLO', 'workers':"
         "[{'name':'a', 'kinds':{'echo':'gpu'}}]}", ZJ_EPROTO,
         "class 'gpu', not io|cpu"),
    JSON("HELLO bad kind name", "{'v':1, 't':'HELLO', 'workers':"
         "[{'name':'a', 'kinds':{'a b':'io'}}]}", ZJ_EPROTO,
         "bad kind name 'a b'"),
    JSON("HELLO kinds is an array", "{'v':1, 't':'HELLO', 'workers':"
         "[{'name':'a', 'kinds':['echo']}]}", ZJ_EPROTO,
         "field 'kinds' is not a map"),
    JSON("WELCOME without heartbeat", "{'v':1, 't':'WELCOME'}", ZJ_EPROTO,
         "field 'heartbeat_ms' missing"),
    JSON("JOBS empty", "{'v':1, 't':'JOBS', 'jobs':[]}", ZJ_EPROTO,
         "JOBS: field 'jobs' missing"),
    JSON("JOBS job without id", "{'v':1, 't':'JOBS', 'jobs':[{'kind':'e'}]}",
         ZJ_EPROTO, "job 0: field 'id' missing"),
    JSON("RESULTS job queued", "{'v':1, 't':'RESULTS', "
         "'jobs':[{'id':4, 'state':'queued'}]}", ZJ_EPROTO,
         "state 'queued' is not final"),
    JSON("ERROR without code", "{'v':1, 't':'ERROR', 'reason':'x'}",
         ZJ_EPROTO, "code 0 is not a ZJ_E* code"),
    JSON("ERROR with a foreign code", "{'v':1, 't':'ERROR', 'code':5, "
         "'reason':'x'}", ZJ_EPROTO, "code 5 is not a ZJ_E* code"),
    JSON("ERROR without reason", "{'v':1, 't':'ERROR', 'code':-999}",
         ZJ_EPROTO, "ERROR: field 'reason' missing"),
    JSON("ACK without ids", "{'v':1, 't':'ACK'}", ZJ_EPROTO,
         "ACK: field 'ids' missing"),
    JSON("ACK with no ids", "{'v':1, 't':'ACK', 'ids':[]}", ZJ_EPROTO,
         "ACK: field 'ids' missing"),
    JSON("ACK of sequence 0", "{'v':1, 't':'ACK', 'ids':[1,0]}", ZJ_EPROTO,
         "ids[1] = 0 is not a job id"),
    JSON("RESULTS req negative", "{'v':1, 't':'RESULTS', 'req':-3}",
         ZJ_EPROTO, "field 'req' is negative"),
    JSON("req is a string", "{'v':1, 't':'DONE', 'req':'1'}", ZJ_EPROTO,
         "field 'req' is not an integer"),
    JSON("req is negative", "{'v':1, 't':'DONE', 'req':-1}", ZJ_EPROTO,
         "field 'req' is negative"),
    JSON("jobs is a map", "{'v':1, 't':'JOBS', 'jobs':{}}", ZJ_EPROTO,
         "field 'jobs' is not an array"),
    JSON("job is a string", "{'v':1, 't':'JOBS', 'jobs':['x']}", ZJ_EPROTO,
         "job 0 is not a map"),
    JSON("priority is a string", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'priority':'high'}]}", ZJ_EPROTO,
         "job 0: field 'priority' is not an integer"),
    JSON("priority over int32", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'priority':2147483648}]}", ZJ_EPROTO,
         "field 'priority' out of range"),
    JSON("args is an object", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':{}}]}", ZJ_EPROTO,
         "field 'args' is not a string"),
    JSON("in_order is an int", "{'v':1, 't':'AWAIT', 'req':1, 'ids':[1], "
         "'in_order':1}", ZJ_EPROTO, "field 'in_order' is not a boolean"),
    JSON("id is a string", "{'v':1, 't':'AWAIT', 'req':1, 'ids':['1']}",
         ZJ_EPROTO, "field 'ids' is not an integer"),
    JSON("time is a string", "{'v':1, 't':'RESULTS', 'jobs':[{'id':1, "
         "'state':'failed', 'started_at':'now'}]}", ZJ_EPROTO,
         "field 'started_at' is not a number"),
    JSON("invalid JSON args", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':'{bad'}]}", ZJ_EJSON,
         "field 'args': invalid JSON"),
    JSON("empty args", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':''}]}", ZJ_EJSON,
         "field 'args': invalid JSON"),
    JSON("too-deep JSON args", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':'" X8("[[[[") "[" X8("]]]]") "]'}]}",
         ZJ_EJSON, "JSON nested 33 deep > 32"),
    JSON("args with a duplicate key", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':'{\\'a\\':1,\\'a\\':2}'}]}",
         ZJ_EJSON, "duplicate object key"),
    JSON("args with \\u0000", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':'\\'a\\\\u0000\\''}]}",
         ZJ_EJSON, "\\u0000 not allowed"),
    JSON("args with a lone surrogate", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':'\\'\\\\uDC00\\''}]}",
         ZJ_EJSON, "lone low surrogate"),
    JSON("args of 1e400", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'args':'1e400'}]}", ZJ_EJSON,
         "real number overflow"),
    JSON("invalid JSON result", "{'v':1, 't':'RESULTS', 'jobs':[{'id':1, "
         "'state':'succeeded', 'result':'[1,]'}]}", ZJ_EJSON,
         "field 'result': invalid JSON"),
    JSON("bad kind name", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'rm -rf'}]}", ZJ_EPROTO, "bad kind name 'rm -rf'"),
    JSON("empty kind name", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':''}]}", ZJ_EPROTO, "bad kind name ''"),
    JSON("kind name too long", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'" X8("kkkkkkkk") "k'}]}", ZJ_ETOOBIG,
         "field 'kind' is 65 bytes > 64"),
    JSON("negative timeout", "{'v':1, 't':'SUBMIT', 'req':1, "
         "'jobs':[{'kind':'e', 'timeout_ms':-1}]}", ZJ_EPROTO,
         "job 0: field 'timeout_ms' is negative (-1)"),
    JSON("negative await timeout", "{'v':1, 't':'AWAIT', 'req':1, "
         "'ids':[1], 'timeout_ms':-5}", ZJ_EPROTO,
         "field 'timeout_ms' is negative (-5)"),
    JSON("negative attempts", "{'v':1, 't':'JOBS', 'jobs':[{'id':1, "
         "'kind':'e', 'attempts':-1}]}", ZJ_EPROTO,
         "field 'attempts' is negative"),
    JSON("negative limit", "{'v':1, 't':'LIST', 'req':1, 'limit':-1}",
         ZJ_EPROTO, "field 'limit' is negative"),
    JSON("negative credit", "{'v':1, 't':'HEARTBEAT', 'cpu_credit':-2}",
         ZJ_EPROTO, "field 'cpu_credit' is negative"),
    JSON("negative unacked", "{'v':1, 't':'HEARTBEAT', 'unacked':-1}",
         ZJ_EPROTO, "unacked and blocked_ms are >= 0"),
    JSON("negative blocked_ms", "{'v':1, 't':'HEARTBEAT', 'blocked_ms':-1}",
         ZJ_EPROTO, "unacked and blocked_ms are >= 0"),
    JSON("unknown job state", "{'v':1, 't':'RESULTS', "
         "'jobs':[{'id':1, 'state':'done'}]}", ZJ_EPROTO,
         "unknown state 'done'"),
    JSON("unknown list state", "{'v':1, 't':'LIST', 'req':1, "
         "'state':'bogus'}", ZJ_EPROTO, "unknown state 'bogus'"),
    JSON("NUL in reason", "{'v':1, 't':'ERROR', 'code':-999, "
         "'reason':'a\\u0000b'}", ZJ_EPROTO, "'reason' holds a NUL byte"),
};
// clang-format on

START_TEST(test_decode_rejects_bad_frames)
{
    const s_bad_t *row = &s_bad[_i];
    s_bytes_t frame = {(unsigned char *) row->bytes, row->len, 0};
    if (row->json)
        frame = s_pack_json(row->bytes);
    zj_msg_t *msg = (zj_msg_t *) 0x1;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_decode(frame.data, frame.size, &msg, NULL, why);
    ck_assert_msg(rc == row->expected, "%s: got %s (%s), expected %s",
                  row->name, zj_errname(rc), why, zj_errname(row->expected));
    ck_assert_ptr_null(msg);
    ck_assert_msg(strstr(why, row->hint), "%s: reason '%s' lacks '%s'",
                  row->name, why, row->hint);
    if (row->json)
        free(frame.data);
}
END_TEST

START_TEST(test_decode_reasons_name_the_problem)
{
    char why[ZJ_WHY_SIZE] = "";
    s_decode_json("{'v':1, 't':'FROB'}", why);
    ck_assert_str_eq(why, "unknown type 'FROB'");
    s_decode_json("{'v':1, 't':'SUBMIT', 'req':1, 'jobs':"
                  "[{'kind':'echo'}, {'kind':'e', 'priority':"
                  "'x'}]}",
                  why);
    ck_assert_ptr_nonnull(strstr(why, "'priority'"));
    ck_assert_ptr_nonnull(strstr(why, "job 1"));
}
END_TEST

START_TEST(test_decode_reports_req_on_failure)
{
    s_bytes_t frame = s_pack_json("{'req':42, 'v':2, 't':'SUBMIT'}");
    zj_msg_t *msg = NULL;
    uint64_t req = 0;
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(zj_msg_decode(frame.data, frame.size, &msg, &req, why),
                     ZJ_EVERSION);
    ck_assert_uint_eq(req, 42);
    free(frame.data);

    frame = s_pack_json("{'v':1, 't':'SUBMIT', 'req':7}");
    req = 0;
    ck_assert_int_eq(zj_msg_decode(frame.data, frame.size, &msg, &req, why),
                     ZJ_EPROTO);
    ck_assert_uint_eq(req, 7);
    ck_assert_ptr_null(msg);
    free(frame.data);
}
END_TEST

//  Frames the pre-scan refuses still give their req back, wherever the
//  key stands, so that a client can tell which request failed.
#define S_PUT_TEXT(out, text) s_put(out, text, sizeof(text) - 1)

static void
s_expect_req(const s_bytes_t *frame, int expected, uint64_t wanted)
{
    zj_msg_t *msg = NULL;
    uint64_t req = 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_decode(frame->data, frame->size, &msg, &req, why);
    ck_assert_msg(rc == expected, "got %s (%s)", zj_errname(rc), why);
    ck_assert_ptr_null(msg);
    ck_assert_uint_eq(req, wanted);
}

START_TEST(test_decode_reports_req_on_prescan_failure)
{
    const char head[] = "\x84" V1T "\xa6SUBMIT";
    s_bytes_t frame = {NULL, 0, 0};
    //  A batch over ZJ_MAX_BATCH, req after it.
    s_put(&frame, head, sizeof(head) - 1);
    S_PUT_TEXT(&frame, "\xa4jobs");
    s_put_head(&frame, 0x90, 15, 0xdc, ZJ_MAX_BATCH + 1);
    for (int index = 0; index <= ZJ_MAX_BATCH; index++)
        s_put_byte(&frame, 0x80);
    S_PUT_TEXT(&frame, "\xa3req\xcd\x01\x02");
    s_expect_req(&frame, ZJ_ETOOBIG, 258);
    free(frame.data);

    //  Trailing bytes.
    frame = (s_bytes_t){NULL, 0, 0};
    S_PUT_TEXT(&frame, "\x83" V1T "\xa4"
                       "DONE\xa3req\x0b\xc0");
    s_expect_req(&frame, ZJ_EPROTO, 11);
    free(frame.data);

    //  ids over the limit, req first (as zjob sends it).
    frame = (s_bytes_t){NULL, 0, 0};
    S_PUT_TEXT(&frame, "\x84\xa3req\x09" V1T "\xa5"
                       "AWAIT\xa3ids");
    s_put_head(&frame, 0x90, 15, 0xdc, ZJ_MAX_BATCH + 1);
    for (int index = 0; index <= ZJ_MAX_BATCH; index++)
        s_put_byte(&frame, 0x01);
    s_expect_req(&frame, ZJ_ETOOBIG, 9);
    free(frame.data);

    //  Nesting over 16 deep, req at the end.
    frame = (s_bytes_t){NULL, 0, 0};
    S_PUT_TEXT(&frame, "\x84" V1T "\xa3"
                       "BYE\xa1x");
    for (int index = 0; index < 20; index++)
        s_put_byte(&frame, 0x91);
    s_put_byte(&frame, 0x01);
    S_PUT_TEXT(&frame, "\xa3req\xcf\0\0\0\0\0\0\0\x05");
    s_expect_req(&frame, ZJ_EPROTO, 5);
    free(frame.data);

    //  Bytes that end inside the frame: the req before them still counts,
    //  one after them cannot be read.
    frame = (s_bytes_t){NULL, 0, 0};
    S_PUT_TEXT(&frame, "\x84\xa3req\x03" V1T "\xa4"
                       "DONE\xa1x\xdb\xff");
    s_expect_req(&frame, ZJ_EPROTO, 3);
    free(frame.data);
}
END_TEST

//  Text that is not UTF-8 (a worker's error, name or host) is repaired
//  on the way in: each byte that is not part of valid UTF-8 becomes '?',
//  so no frame relaying it breaks a strict client. Valid text is kept.
START_TEST(test_decode_repairs_text_that_is_not_utf8)
{
    s_bytes_t frame = {NULL, 0, 0};
    S_PUT_TEXT(&frame, "\x83" V1T "\xa7RESULTS\xa4jobs\x91\x83"
                       "\xa2id\x01\xa5state\xa6"
                       "failed"
                       "\xa5"
                       "error\xaa"
                       "a\xff"
                       "b\xc0\x80\xc3\xa9\xed\xa0\x80");
    zj_msg_t *msg = NULL;
    ck_assert_int_eq(test_msg_decode(frame.data, frame.size, &msg), 0);
    ck_assert_str_eq(msg->jobs[0].error, "a?b??\xc3\xa9???");
    zj_msg_destroy(&msg);
    free(frame.data);

    frame = (s_bytes_t){NULL, 0, 0};
    S_PUT_TEXT(&frame, "\x83" V1T "\xa5HELLO\xa7workers\x91\x82"
                       "\xa4name\xa3w\xf4\x90\xa4host\xa4h\xe2\x82\xac");
    ck_assert_int_eq(test_msg_decode(frame.data, frame.size, &msg), 0);
    ck_assert_str_eq(msg->workers[0].name, "w??");
    ck_assert_str_eq(msg->workers[0].host, "h\xe2\x82\xac");
    zj_msg_destroy(&msg);
    free(frame.data);
}
END_TEST

START_TEST(test_decode_ignores_unknown_keys_and_nil)
{
    s_bytes_t frame =
        s_pack_json("{'v':1, 't':'AWAIT', 'req':3, 'ids':[5], 'future':"
                    "[1, {'a': [true, null, 2.5]}], 'timeout_ms':null, 'jobs':"
                    "null, 'reason':null}");
    zj_msg_t *msg = NULL;
    ck_assert_int_eq(test_msg_decode(frame.data, frame.size, &msg), 0);
    ck_assert_int_eq(msg->type, ZJ_MSG_AWAIT);
    ck_assert_uint_eq(msg->req, 3);
    ck_assert_uint_eq(msg->id_count, 1);
    ck_assert_int_eq(msg->ids[0], 5);
    ck_assert_int_eq(msg->timeout_ms, 0);
    ck_assert_ptr_null(msg->reason);
    ck_assert_uint_eq(msg->job_count, 0);
    zj_msg_destroy(&msg);
    free(frame.data);

    //  A non-string key is an unknown key.
    const char raw[] = "\x83" V1T "\xa3"
                       "BYE\x01\x02";
    ck_assert_int_eq(test_msg_decode(raw, sizeof(raw) - 1, &msg), 0);
    zj_msg_destroy(&msg);
}
END_TEST

//  Frames that sit at a limit pass; one past it fails.

static json_t *
s_submit_json(size_t jobs)
{
    json_t *list = json_array();
    for (size_t index = 0; index < jobs; index++)
        json_array_append_new(list, json_pack("{s:s}", "kind", "echo"));
    return json_pack("{s:i, s:s, s:i, s:o}", "v", 1, "t", "SUBMIT", "req", 1,
                     "jobs", list);
}

static int
s_decode_value(json_t *value, char *why)
{
    s_bytes_t frame = {NULL, 0, 0};
    s_pack_value(&frame, value);
    json_decref(value);
    zj_msg_t *msg = NULL;
    int rc = zj_msg_decode(frame.data, frame.size, &msg, NULL, why);
    if (rc)
        ck_assert_ptr_null(msg);
    zj_msg_destroy(&msg);
    free(frame.data);
    return rc;
}

//  A string of size bytes that is valid JSON: a quoted run of 'a'.
static char *
s_json_text(size_t size)
{
    char *text = malloc(size + 1);
    memset(text, 'a', size);
    text[0] = text[size - 1] = '"';
    text[size] = '\0';
    return text;
}

static json_t *
s_with_args(size_t size)
{
    json_t *frame = s_submit_json(1);
    char *text = s_json_text(size);
    json_object_set_new(json_array_get(json_object_get(frame, "jobs"), 0),
                        "args", json_string(text));
    free(text);
    return frame;
}

START_TEST(test_decode_limits)
{
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(s_decode_value(s_submit_json(ZJ_MAX_BATCH), why), 0);
    ck_assert_int_eq(s_decode_value(s_submit_json(ZJ_MAX_BATCH + 1), why),
                     ZJ_ETOOBIG);
    ck_assert_str_eq(why, "batch 10001 > ZJ_MAX_BATCH 10000");

    ck_assert_int_eq(s_decode_value(s_with_args(ZJ_MAX_ARGS), why), 0);
    ck_assert_int_eq(s_decode_value(s_with_args(ZJ_MAX_ARGS + 1), why),
                     ZJ_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(why, "'args'"));

    for (int extra = 0; extra <= 1; extra++) {
        json_t *after = json_array();
        for (int index = 0; index < ZJ_MAX_AFTER + extra; index++)
            json_array_append_new(after, json_integer(index + 1));
        json_t *submit = s_submit_json(1);
        json_object_set_new(json_array_get(json_object_get(submit, "jobs"), 0),
                            "after", after);
        ck_assert_int_eq(s_decode_value(submit, why), extra ? ZJ_ETOOBIG : 0);
    }
    ck_assert_str_eq(why, "job 0: after has 1001 ids > ZJ_MAX_AFTER 1000");

    json_t *frame = json_pack("{s:i, s:s, s:i, s:s}", "v", 1, "t", "ERROR",
                              "code", ZJ_EPROTO, "reason", "");
    char *text = s_json_text(ZJ_MAX_TEXT + 1);
    json_object_set_new(frame, "reason", json_string(text));
    free(text);
    ck_assert_int_eq(s_decode_value(frame, why), ZJ_ETOOBIG);

    json_t *kinds = json_object();
    for (int index = 0; index <= ZJ_MAX_KINDS; index++) {
        char name[16];
        snprintf(name, sizeof(name), "k%d", index);
        json_object_set_new(kinds, name, json_string("io"));
    }
    frame = json_pack("{s:i, s:s, s:[{s:s, s:o}]}", "v", 1, "t", "HELLO",
                      "workers", "name", "w", "kinds", kinds);
    ck_assert_int_eq(s_decode_value(frame, why), ZJ_ETOOBIG);

    zj_msg_t *msg = NULL;
    char *big = calloc(1, ZJ_MAX_FRAME + 1);
    big[0] = (char) 0x80;
    ck_assert_int_eq(zj_msg_decode(big, ZJ_MAX_FRAME + 1, &msg, NULL, why),
                     ZJ_ETOOBIG);
    ck_assert_ptr_null(msg);
    free(big);
}
END_TEST

START_TEST(test_decode_rejects_object_floods)
{
    //  3 million one-byte objects in 3 MB: within ZJ_MAX_FRAME, but more
    //  objects than any real frame, so refused before msgpack-c allocates.
    s_bytes_t frame = {NULL, 0, 0};
    const char head[] = "\x83" V1T "\xa3"
                        "BYE"
                        "\xa5"
                        "flood";
    s_put(&frame, head, sizeof(head) - 1);
    s_put_head(&frame, 0x90, 15, 0xdc, ZJ_MAX_BATCH);
    unsigned char row[300] = {0};
    for (int index = 0; index < ZJ_MAX_BATCH; index++) {
        s_put_head(&frame, 0x90, 15, 0xdc, sizeof(row));
        s_put(&frame, row, sizeof(row));
    }
    zj_msg_t *msg = NULL;
    ck_assert_int_eq(test_msg_decode(frame.data, frame.size, &msg), ZJ_ETOOBIG);
    free(frame.data);
}
END_TEST

//  Encoder

static int
s_encode_rc(const zj_msg_t *msg, char *why)
{
    char *data = (char *) 0x1;
    size_t size = 99;
    int rc = zj_msg_encode(msg, &data, &size, why);
    if (rc) {
        ck_assert_ptr_null(data);
        ck_assert_uint_eq(size, 0);
        ck_assert_str_ne(why, "");
    }
    free(data);
    return rc;
}

START_TEST(test_encode_rejects_oversized_batch)
{
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SUBMIT);
    msg->req = 1;
    for (int index = 0; index <= ZJ_MAX_BATCH; index++)
        zj_msg_add_job(msg)->kind = strdup("echo");
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_ETOOBIG);
    ck_assert_str_eq(why, "batch 10001 > ZJ_MAX_BATCH 10000");
    zj_msg_destroy(&msg);
}
END_TEST

START_TEST(test_encode_rejects_oversized_frame)
{
    //  Each job is within ZJ_MAX_ARGS; together they pass ZJ_MAX_FRAME.
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_JOBS);
    for (int index = 0; index <= ZJ_MAX_FRAME / ZJ_MAX_ARGS; index++) {
        zj_job_t *job = zj_msg_add_job(msg);
        job->id = index + 1;
        job->kind = strdup("echo");
        job->args = s_json_text(ZJ_MAX_ARGS);
    }
    char why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_ETOOBIG);
    ck_assert_ptr_nonnull(strstr(why, "ZJ_MAX_FRAME"));
    zj_msg_destroy(&msg);
}
END_TEST

START_TEST(test_encode_applies_the_rules)
{
    char why[ZJ_WHY_SIZE] = "";
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SUBMIT);
    zj_job_t *job = zj_msg_add_job(msg);
    job->kind = strdup("echo");
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_EPROTO); //  No req
    msg->req = 1;
    ck_assert_int_eq(s_encode_rc(msg, why), 0);
    job->args = strdup("{\"a\":");
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_EJSON);
    free(job->args);
    job->args = strdup("[]");
    job->timeout_ms = -1;
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_EPROTO);
    job->timeout_ms = 0;
    free(job->kind);
    job->kind = strdup("no/slash");
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_EPROTO);
    zj_msg_destroy(&msg);

    msg = zj_msg_new(ZJ_MSG_ERROR);
    msg->code = -1;
    msg->reason = strdup("x");
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_EPROTO);
    msg->code = ZJ_ESTORE;
    ck_assert_int_eq(s_encode_rc(msg, why), 0);
    zj_msg_destroy(&msg);

    msg = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *info = zj_msg_add_worker(msg);
    info->name = strdup("w");
    info->kind_count = 1;
    info->kinds = calloc(1, sizeof(zj_kind_t));
    info->kinds[0].name = strdup("echo");
    info->kinds[0].klass = (zj_class_t) 7;
    ck_assert_int_eq(s_encode_rc(msg, why), ZJ_EPROTO);
    zj_msg_destroy(&msg);
}
END_TEST

//  Adds this file's tests to the msg suite's "codec" case.
void
test_msg_bad_add(TCase *tc)
{
    tcase_add_loop_test(tc, test_decode_rejects_bad_frames, 0,
                        sizeof(s_bad) / sizeof(s_bad[0]));
    tcase_add_test(tc, test_decode_reasons_name_the_problem);
    tcase_add_test(tc, test_decode_reports_req_on_failure);
    tcase_add_test(tc, test_decode_reports_req_on_prescan_failure);
    tcase_add_test(tc, test_decode_repairs_text_that_is_not_utf8);
    tcase_add_test(tc, test_decode_ignores_unknown_keys_and_nil);
    tcase_add_test(tc, test_decode_limits);
    tcase_add_test(tc, test_decode_rejects_object_floods);
    tcase_add_test(tc, test_encode_rejects_oversized_batch);
    tcase_add_test(tc, test_encode_rejects_oversized_frame);
    tcase_add_test(tc, test_encode_applies_the_rules);
}
