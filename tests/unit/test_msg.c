//  test_msg.c - the msg suite: proto/msg.c and proto/codec.c.
//  Round trips of every message type, truncation and mutation of valid
//  frames, zj_msg_check on the struct, and the names and plain-data
//  helpers. The bad-input table and the limits are in test_msg_bad.c,
//  whose tests join this suite's "codec" case.
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/codec.h"
#include "tests/unit/suites.h"

//  From test_msg_bad.c, the other half of this suite.
void test_msg_bad_add(TCase *tc);
int test_msg_decode(const void *data, size_t size, zj_msg_t **msg_p);

//  Round trips

static void
s_fill_job(zj_job_t *job, int64_t id)
{
    job->id = id;
    job->kind = strdup("my.ns:sha256-v2");
    job->args = strdup("{\"data\": \"h\\u00e9llo\", \"rounds\": [1, 2.5]}");
    job->state = ZJ_STATE_SUCCEEDED;
    job->priority = -7;
    job->attempts = 2;
    job->max_attempts = 3;
    job->timeout_ms = 1500;
    job->delay_ms = INT64_MAX;
    job->backoff_ms = 250;
    job->no_retry = true;
    job->not_before = 1700000000.25;
    job->worker = strdup("w\xc3\xa9-1");
    job->created_at = 1700000000.125;
    job->started_at = 1700000001.5;
    job->finished_at = 1700000002.75;
    job->result = strdup("{\"hex\": \"ab\"}");
    job->error = strdup("with \"quotes\" and \ttab");
    job->after_count = 3;
    job->after = malloc(3 * sizeof(int64_t));
    job->after[0] = 1;
    job->after[1] = INT64_MAX;
    job->after[2] = 1;
    job->parent = 41;
    job->call = 9;
    job->progress_done = 3;
    job->progress_total = 10;
    job->progress_text = strdup("fetching page 3");
    job->progress_at = 1700000001.75;
    job->log = strdup("line 1\nline 2\n");
    job->schedule = strdup("nightly.backup");
    job->cron = strdup("*/5 9-17 * * mon-fri");
    job->every_ms = 60000;
    job->held = strdup("kind fetch at its rate limit (10/s)");
    job->retry_of = 40;
    job->unique = strdup("invoice-42 caf\xc3\xa9");
    job->unique_for_ms = 3600000;
}

static void
s_fill_worker(zj_worker_info_t *info)
{
    info->name = strdup("w1");
    info->host = strdup("host-a");
    info->pid = 4242;
    info->io_slots = 1000;
    info->cpu_slots = 2;
    info->max_suspended = 1000;
    info->suspended = 12;
    const char *names[] = {"echo", "sha256", "my.ns:kind-1"};
    info->kind_count = 3;
    info->kinds = calloc(3, sizeof(zj_kind_t));
    for (size_t index = 0; index < 3; index++) {
        info->kinds[index].name = strdup(names[index]);
        info->kinds[index].klass = index == 1 ? ZJ_CLASS_CPU : ZJ_CLASS_IO;
    }
    info->state = strdup("connected");
    info->running = 7;
    info->connected_at = 1700000000.5;
    info->last_seen = 1700000009.0625;
}

//  A message of type with every field of zj_msg_t set (but a SPAWN's
//  unique keys); valid for all types.
static zj_msg_t *
s_full_msg(zj_msg_type_t type)
{
    zj_msg_t *msg = zj_msg_new(type);
    msg->req = UINT64_MAX - 1;
    s_fill_job(zj_msg_add_job(msg), 1);
    s_fill_job(zj_msg_add_job(msg), INT64_MAX);
    msg->jobs[1].state = ZJ_STATE_CANCELLED;
    for (size_t index = 0; type == ZJ_MSG_SPAWN && index < 2; index++) {
        free(msg->jobs[index].unique); //  A child is keyed by its call
        msg->jobs[index].unique = NULL;
        msg->jobs[index].unique_for_ms = 0;
    }
    zj_msg_add_id(msg, 1);
    zj_msg_add_id(msg, 300);
    zj_msg_add_id(msg, INT64_MAX);
    msg->in_order = true;
    msg->timed_out = true;
    msg->draining = true;
    msg->unacked = 7;
    msg->blocked_ms = INT64_MAX;
    msg->timeout_ms = 30000;
    msg->state = strdup(type == ZJ_MSG_PURGE ? "failed" : "running");
    msg->limit = 50;
    s_fill_worker(zj_msg_add_worker(msg));
    msg->heartbeat_ms = 1000;
    msg->max_message = 65536;
    msg->max_result = 4096;
    msg->io_credit = 3;
    msg->cpu_credit = 1;
    msg->code = ZJ_EKIND;
    msg->reason = strdup("no handler for kind 'x'");
    msg->parent = 41;
    msg->hold = true;
    msg->forget = true;
    msg->older_than_ms = 86400000;
    msg->kind = strdup("my.ns:kind-1");
    msg->count = 123456;
    msg->op = strdup("list");
    msg->replace = true;
    zj_kind_limit_t *limit = zj_msg_add_limit(msg);
    limit->kind = strdup("my.ns:kind-1");
    limit->concurrency = 0;
    limit->rate = 2.5;
    limit->burst = 1;
    limit->running = 3;
    limit->updated_at = 1700000003.5;
    msg->clear = true;
    msg->stats = strdup("{\"kinds\": {}}");
    msg->worker = strdup("w1");
    msg->since_ms = 60000;
    msg->before = INT64_MAX;
    return msg;
}

//  The comparisons below fail like ck_assert_*_eq but record nothing when
//  the values match: Check writes down every passing ck_assert (a write to
//  its pipe in fork mode), and the mutation test compares some 9,000
//  messages of each type.
#define S_SAME_INT(got, want)                                                  \
    do {                                                                       \
        if ((got) != (want))                                                   \
            ck_abort_msg("%s is %jd, not %jd", #got, (intmax_t) (got),         \
                         (intmax_t) (want));                                   \
    } while (0)
#define S_SAME_UINT(got, want)                                                 \
    do {                                                                       \
        if ((got) != (want))                                                   \
            ck_abort_msg("%s is %ju, not %ju", #got, (uintmax_t) (got),        \
                         (uintmax_t) (want));                                  \
    } while (0)
#define S_SAME_REAL(got, want)                                                 \
    do {                                                                       \
        if ((got) != (want))                                                   \
            ck_abort_msg("%s is %.17g, not %.17g", #got, (double) (got),       \
                         (double) (want));                                     \
    } while (0)
#define S_SAME_TEXT(got, want) s_same_text(#got, got, want)

static void
s_same_text(const char *name, const char *got, const char *want)
{
    if (want == NULL && got != NULL)
        ck_abort_msg("%s is \"%s\", not NULL", name, got);
    if (want != NULL && (got == NULL || strcmp(got, want) != 0))
        ck_abort_msg("%s is %s%s%s, not \"%s\"", name, got ? "\"" : "",
                     got ? got : "NULL", got ? "\"" : "", want);
}

static void
s_assert_job(const zj_job_t *got, const zj_job_t *want)
{
    S_SAME_INT(got->id, want->id);
    S_SAME_TEXT(got->kind, want->kind);
    S_SAME_TEXT(got->args, want->args);
    S_SAME_INT(got->state, want->state);
    S_SAME_INT(got->priority, want->priority);
    S_SAME_INT(got->attempts, want->attempts);
    S_SAME_INT(got->max_attempts, want->max_attempts);
    S_SAME_INT(got->timeout_ms, want->timeout_ms);
    S_SAME_INT(got->delay_ms, want->delay_ms);
    S_SAME_INT(got->backoff_ms, want->backoff_ms);
    S_SAME_INT(got->no_retry, want->no_retry);
    S_SAME_REAL(got->not_before, want->not_before);
    S_SAME_TEXT(got->worker, want->worker);
    S_SAME_REAL(got->created_at, want->created_at);
    S_SAME_REAL(got->started_at, want->started_at);
    S_SAME_REAL(got->finished_at, want->finished_at);
    S_SAME_TEXT(got->result, want->result);
    S_SAME_TEXT(got->error, want->error);
    S_SAME_INT(got->after_count, want->after_count);
    for (uint32_t index = 0; index < want->after_count; index++)
        S_SAME_INT(got->after[index], want->after[index]);
    S_SAME_INT(got->parent, want->parent);
    S_SAME_INT(got->call, want->call);
    S_SAME_INT(got->progress_done, want->progress_done);
    S_SAME_INT(got->progress_total, want->progress_total);
    S_SAME_TEXT(got->progress_text, want->progress_text);
    S_SAME_REAL(got->progress_at, want->progress_at);
    S_SAME_TEXT(got->log, want->log);
    S_SAME_TEXT(got->schedule, want->schedule);
    S_SAME_TEXT(got->cron, want->cron);
    S_SAME_INT(got->every_ms, want->every_ms);
    S_SAME_TEXT(got->held, want->held);
    S_SAME_INT(got->retry_of, want->retry_of);
    S_SAME_TEXT(got->unique, want->unique);
    S_SAME_INT(got->unique_for_ms, want->unique_for_ms);
}

static void
s_assert_worker(const zj_worker_info_t *got, const zj_worker_info_t *want)
{
    S_SAME_TEXT(got->name, want->name);
    S_SAME_TEXT(got->host, want->host);
    S_SAME_INT(got->pid, want->pid);
    S_SAME_INT(got->io_slots, want->io_slots);
    S_SAME_INT(got->cpu_slots, want->cpu_slots);
    S_SAME_INT(got->max_suspended, want->max_suspended);
    S_SAME_INT(got->suspended, want->suspended);
    S_SAME_UINT(got->kind_count, want->kind_count);
    for (size_t index = 0; index < want->kind_count; index++) {
        S_SAME_TEXT(got->kinds[index].name, want->kinds[index].name);
        S_SAME_INT(got->kinds[index].klass, want->kinds[index].klass);
    }
    S_SAME_TEXT(got->state, want->state);
    S_SAME_INT(got->running, want->running);
    S_SAME_REAL(got->connected_at, want->connected_at);
    S_SAME_REAL(got->last_seen, want->last_seen);
}

static void
s_assert_msg(const zj_msg_t *got, const zj_msg_t *want)
{
    S_SAME_INT(got->type, want->type);
    S_SAME_UINT(got->req, want->req);
    S_SAME_UINT(got->job_count, want->job_count);
    for (size_t index = 0; index < want->job_count; index++)
        s_assert_job(&got->jobs[index], &want->jobs[index]);
    S_SAME_UINT(got->id_count, want->id_count);
    for (size_t index = 0; index < want->id_count; index++)
        S_SAME_INT(got->ids[index], want->ids[index]);
    S_SAME_INT(got->in_order, want->in_order);
    S_SAME_INT(got->timed_out, want->timed_out);
    S_SAME_INT(got->draining, want->draining);
    S_SAME_INT(got->unacked, want->unacked);
    S_SAME_INT(got->blocked_ms, want->blocked_ms);
    S_SAME_INT(got->forget, want->forget);
    S_SAME_INT(got->timeout_ms, want->timeout_ms);
    S_SAME_TEXT(got->state, want->state);
    S_SAME_INT(got->limit, want->limit);
    S_SAME_UINT(got->worker_count, want->worker_count);
    for (size_t index = 0; index < want->worker_count; index++)
        s_assert_worker(&got->workers[index], &want->workers[index]);
    S_SAME_INT(got->heartbeat_ms, want->heartbeat_ms);
    S_SAME_INT(got->max_message, want->max_message);
    S_SAME_INT(got->max_result, want->max_result);
    S_SAME_INT(got->io_credit, want->io_credit);
    S_SAME_INT(got->cpu_credit, want->cpu_credit);
    S_SAME_INT(got->code, want->code);
    S_SAME_TEXT(got->reason, want->reason);
    S_SAME_INT(got->older_than_ms, want->older_than_ms);
    S_SAME_TEXT(got->kind, want->kind);
    S_SAME_INT(got->count, want->count);
    S_SAME_TEXT(got->op, want->op);
    S_SAME_INT(got->replace, want->replace);
    S_SAME_INT(got->clear, want->clear);
    S_SAME_UINT(got->limit_count, want->limit_count);
    for (size_t index = 0; index < want->limit_count; index++) {
        const zj_kind_limit_t *limit = &got->limits[index];
        S_SAME_TEXT(limit->kind, want->limits[index].kind);
        S_SAME_INT(limit->concurrency, want->limits[index].concurrency);
        S_SAME_REAL(limit->rate, want->limits[index].rate);
        S_SAME_REAL(limit->burst, want->limits[index].burst);
        S_SAME_INT(limit->running, want->limits[index].running);
        S_SAME_REAL(limit->updated_at, want->limits[index].updated_at);
    }
    S_SAME_TEXT(got->stats, want->stats);
    S_SAME_TEXT(got->worker, want->worker);
    S_SAME_INT(got->since_ms, want->since_ms);
    S_SAME_INT(got->before, want->before);
}

//  Encodes msg (which must be valid) into a malloc'd frame.
static char *
s_encode(const zj_msg_t *msg, size_t *size_p)
{
    char *data = NULL;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_encode(msg, &data, size_p, why);
    ck_assert_msg(rc == 0, "encode %s: %s (%s)", zj_msg_type_name(msg->type),
                  why, zj_errname(rc));
    ck_assert_ptr_nonnull(data);
    return data;
}

static void
s_assert_round_trip(const zj_msg_t *msg)
{
    size_t size = 0;
    char *data = s_encode(msg, &size);
    zj_msg_t *copy = NULL;
    uint64_t req = 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_decode(data, size, &copy, &req, why);
    ck_assert_msg(rc == 0, "decode %s: %s", zj_msg_type_name(msg->type), why);
    ck_assert_uint_eq(req, msg->req);
    s_assert_msg(copy, msg);
    zj_msg_destroy(&copy);
    ck_assert_ptr_null(copy);
    free(data);
}

START_TEST(test_round_trip_full)
{
    zj_msg_type_t type = (zj_msg_type_t) _i;
    zj_msg_t *msg = s_full_msg(type);
    s_assert_round_trip(msg);
    zj_msg_destroy(&msg);
    ck_assert_ptr_null(msg);
}
END_TEST

//  The least each type needs: every other field must come back zero.
static zj_msg_t *
s_minimal_msg(zj_msg_type_t type)
{
    zj_msg_t *msg = zj_msg_new(type);
    bool client = type <= ZJ_MSG_CANCEL;
    bool call = type == ZJ_MSG_SPAWN || type == ZJ_MSG_SPAWNED;
    msg->req = client || call ? 9 : 0;
    zj_job_t *job = NULL;
    if (type == ZJ_MSG_SUBMIT || type == ZJ_MSG_JOBS || type == ZJ_MSG_SPAWN) {
        job = zj_msg_add_job(msg);
        job->kind = strdup("echo");
        job->id = type == ZJ_MSG_JOBS ? 12 : 0;
        job->parent = type == ZJ_MSG_SPAWN ? 3 : 0;
        job->call = type == ZJ_MSG_SPAWN ? 1 : 0;
    }
    if (type == ZJ_MSG_PROGRESS || type == ZJ_MSG_LOG)
        zj_msg_add_job(msg)->id = 6;
    if (type == ZJ_MSG_PURGE)
        msg->req = 9;
    if (type == ZJ_MSG_LOGS || type == ZJ_MSG_RETRY) {
        msg->req = 9;
        zj_msg_add_id(msg, 6);
    }
    if (type == ZJ_MSG_STATS)
        msg->req = 9;
    if (type == ZJ_MSG_RESOLVED || type == ZJ_MSG_RESULTS) {
        job = zj_msg_add_job(msg);
        job->id = 5;
        job->state = ZJ_STATE_FAILED;
    }
    if (type == ZJ_MSG_SUBMITTED || type == ZJ_MSG_AWAIT ||
        type == ZJ_MSG_ACK || type == ZJ_MSG_SPAWNED)
        zj_msg_add_id(msg, 77);
    if (type == ZJ_MSG_HELLO)
        zj_msg_add_worker(msg)->name = strdup("w");
    if (type == ZJ_MSG_WELCOME)
        msg->heartbeat_ms = 1;
    if (type == ZJ_MSG_LIMIT || type == ZJ_MSG_LIMITS)
        msg->req = 9;
    if (type == ZJ_MSG_LIMIT)
        zj_msg_add_limit(msg)->kind = strdup("fetch");
    if (type == ZJ_MSG_ERROR) {
        msg->code = ZJ_EPROTO;
        msg->reason = strdup("");
    }
    if (type == ZJ_MSG_SCHEDULE) {
        msg->req = 9;
        msg->op = strdup("list");
    }
    return msg;
}

START_TEST(test_round_trip_minimal)
{
    zj_msg_t *msg = s_minimal_msg((zj_msg_type_t) _i);
    s_assert_round_trip(msg);
    zj_msg_destroy(&msg);
}
END_TEST

START_TEST(test_round_trip_special_cases)
{
    //  CANCEL from the coordinator to a worker has no req.
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_CANCEL);
    zj_msg_add_id(msg, 3);
    s_assert_round_trip(msg);
    zj_msg_destroy(&msg);
    //  RESULTS may carry only credit; HEARTBEAT carries credit.
    msg = zj_msg_new(ZJ_MSG_RESULTS);
    msg->io_credit = 4;
    s_assert_round_trip(msg);
    zj_msg_destroy(&msg);
    //  RESULTS carry their sequence number in req; ACK lists several.
    msg = s_minimal_msg(ZJ_MSG_RESULTS);
    msg->req = 41;
    s_assert_round_trip(msg);
    zj_msg_destroy(&msg);
    msg = zj_msg_new(ZJ_MSG_ACK);
    zj_msg_add_id(msg, 1);
    zj_msg_add_id(msg, 2);
    zj_msg_add_id(msg, INT64_MAX);
    s_assert_round_trip(msg);
    zj_msg_destroy(&msg);
    //  Empty strings stay empty strings, not NULL.
    msg = zj_msg_new(ZJ_MSG_RESULTS);
    zj_job_t *job = zj_msg_add_job(msg);
    job->id = 1;
    job->state = ZJ_STATE_FAILED;
    job->error = strdup("");
    job->worker = strdup("");
    s_assert_round_trip(msg);
    zj_msg_destroy(&msg);
}
END_TEST

//  Truncation and mutation of valid frames

START_TEST(test_decode_truncated_never_succeeds)
{
    zj_msg_t *full = s_full_msg((zj_msg_type_t) _i);
    size_t size = 0;
    char *data = s_encode(full, &size);
    for (size_t cut = 0; cut < size; cut++) {
        zj_msg_t *msg = NULL;
        ck_assert_msg(test_msg_decode(data, cut, &msg) != 0,
                      "%s cut at %zu of %zu", zj_msg_type_name(full->type), cut,
                      size);
    }
    zj_msg_t *msg = NULL;
    ck_assert_int_eq(test_msg_decode(data, size, &msg), 0);
    zj_msg_destroy(&msg);
    zj_msg_destroy(&full);
    free(data);
}
END_TEST

//  A mutation the decoder accepts must be a message like any other: it
//  passes zj_msg_check, and encoding it and decoding that again gives the
//  same message, field by field. Returns true if the frame was accepted.
static bool
s_assert_mutation_is_sound(const char *data, size_t size, size_t at)
{
    zj_msg_t *msg = NULL;
    if (test_msg_decode(data, size, &msg) != 0)
        return false;
    const char *name = zj_msg_type_name(msg->type);
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_check(msg, why) != 0)
        ck_abort_msg("%s mutated at %zu fails the check: %s", name, at, why);
    char *again_data = NULL;
    size_t again_size = 0;
    if (zj_msg_encode(msg, &again_data, &again_size, why) != 0)
        ck_abort_msg("%s mutated at %zu does not encode: %s", name, at, why);
    zj_msg_t *again = NULL;
    if (zj_msg_decode(again_data, again_size, &again, NULL, why) != 0)
        ck_abort_msg("%s mutated at %zu: its encoding does not decode: %s",
                     name, at, why);
    s_assert_msg(again, msg);
    zj_msg_destroy(&again);
    zj_msg_destroy(&msg);
    free(again_data);
    return true;
}

START_TEST(test_decode_survives_mutations)
{
    zj_msg_t *full = s_full_msg((zj_msg_type_t) _i);
    size_t size = 0;
    char *data = s_encode(full, &size);
    unsigned int seed = (unsigned int) _i;
    const unsigned char values[] = {0x00, 0x7f, 0xc0, 0xc1, 0xdc, 0xdd,
                                    0xdf, 0xdb, 0xff, 0x80, 0x9f, 0xcb};
    size_t accepted = 0;
    for (size_t at = 0; at < size; at++) {
        for (size_t pick = 0; pick <= sizeof(values); pick++) {
            char *copy = malloc(size);
            memcpy(copy, data, size);
            copy[at] =
                (char) (pick < sizeof(values) ? values[pick] : rand_r(&seed));
            accepted += s_assert_mutation_is_sound(copy, size, at);
            free(copy);
        }
    }
    //  Bytes inside strings and numbers change freely, so thousands of
    //  mutations pass: the checks above did run.
    ck_assert_uint_gt(accepted, 0);
    zj_msg_destroy(&full);
    free(data);
}
END_TEST

//  zj_msg_check on the struct, without the wire

START_TEST(test_check_accepts_valid)
{
    zj_msg_type_t type = (zj_msg_type_t) _i;
    char why[ZJ_WHY_SIZE] = "";
    zj_msg_t *msg = s_full_msg(type);
    ck_assert_int_eq(zj_msg_check(msg, why), 0);
    ck_assert_str_eq(why, "");
    zj_msg_destroy(&msg);
    msg = s_minimal_msg(type);
    ck_assert_int_eq(zj_msg_check(msg, why), 0);
    ck_assert_int_eq(zj_msg_check(msg, NULL), 0);
    ck_assert_str_eq(why, "");
    zj_msg_destroy(&msg);
}
END_TEST

//  Checks that msg fails zj_msg_check with code and a reason holding hint,
//  and that zj_msg_encode refuses it with the same code and reason; then
//  destroys msg.
static void
s_assert_check_fails(zj_msg_t *msg, int code, const char *hint)
{
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_check(msg, why);
    ck_assert_msg(rc == code, "%s: got %s (%s), expected %s",
                  zj_msg_type_name(msg->type), zj_errname(rc), why,
                  zj_errname(code));
    ck_assert_msg(strstr(why, hint), "reason '%s' lacks '%s'", why, hint);
    ck_assert_int_eq(zj_msg_check(msg, NULL), code);
    char *data = NULL;
    size_t size = 0;
    char encode_why[ZJ_WHY_SIZE] = "";
    ck_assert_int_eq(zj_msg_encode(msg, &data, &size, encode_why), code);
    ck_assert_ptr_null(data);
    ck_assert_str_eq(encode_why, why);
    zj_msg_destroy(&msg);
}

//  A HELLO from s_minimal_msg whose worker offers kind_count kinds.
static zj_msg_t *
s_hello_with_kinds(size_t kind_count)
{
    zj_msg_t *msg = s_minimal_msg(ZJ_MSG_HELLO);
    zj_worker_info_t *info = &msg->workers[0];
    info->kind_count = kind_count;
    info->kinds = calloc(kind_count, sizeof(zj_kind_t));
    for (size_t index = 0; index < kind_count; index++) {
        char name[24];
        snprintf(name, sizeof(name), "k%zu", index);
        info->kinds[index].name = strdup(name);
    }
    return msg;
}

//  Rules that no frame the tests can pack reaches: the struct alone breaks
//  them (an enum out of range, a repeated kind, a NaN written in C).
START_TEST(test_check_rejects_what_encode_rejects)
{
    s_assert_check_fails(zj_msg_new((zj_msg_type_t) 99), ZJ_EPROTO,
                         "unknown type 99");
    s_assert_check_fails(zj_msg_new(ZJ_MSG_NONE), ZJ_EPROTO, "unknown type 0");
    s_assert_check_fails(zj_msg_new(ZJ_MSG_SUBMIT), ZJ_EPROTO,
                         "SUBMIT: field 'req' missing");
    s_assert_check_fails(zj_msg_new(ZJ_MSG_ACK), ZJ_EPROTO,
                         "ACK: field 'ids' missing");

    zj_msg_t *msg = s_minimal_msg(ZJ_MSG_RESULTS);
    msg->jobs[0].state = (zj_state_t) 42;
    s_assert_check_fails(msg, ZJ_EPROTO, "job 0: unknown state 42");
    msg = s_minimal_msg(ZJ_MSG_JOBS);
    msg->jobs[0].started_at = NAN;
    s_assert_check_fails(msg, ZJ_EPROTO,
                         "job 0: field 'started_at' is not finite");
    msg = s_minimal_msg(ZJ_MSG_SUBMIT);
    msg->jobs[0].result = strdup("[1,");
    s_assert_check_fails(msg, ZJ_EJSON, "job 0: field 'result': ");
    msg = s_minimal_msg(ZJ_MSG_WORKERS);
    zj_msg_add_id(msg, -4);
    s_assert_check_fails(msg, ZJ_EPROTO, "ids[0] = -4 is not a job id");

    msg = s_hello_with_kinds(2);
    free(msg->workers[0].kinds[1].name);
    msg->workers[0].kinds[1].name = strdup("k0");
    s_assert_check_fails(msg, ZJ_EPROTO, "worker 0: kind 'k0' offered twice");
    msg = s_hello_with_kinds(1);
    free(msg->workers[0].kinds[0].name);
    msg->workers[0].kinds[0].name = NULL;
    s_assert_check_fails(msg, ZJ_EPROTO, "worker 0: kind 0 has no name");
    s_assert_check_fails(s_hello_with_kinds(ZJ_MAX_KINDS + 1), ZJ_ETOOBIG,
                         "kinds 257 > ZJ_MAX_KINDS 256");
    msg = s_hello_with_kinds(ZJ_MAX_KINDS);
    ck_assert_int_eq(zj_msg_check(msg, NULL), 0);
    zj_msg_destroy(&msg);
}
END_TEST

//  Names and plain-data helpers of msg.c

START_TEST(test_names)
{
    for (int type = ZJ_MSG_NONE + 1; type < ZJ_MSG_COUNT; type++)
        ck_assert_int_eq(zj_msg_type_from_name(zj_msg_type_name(type)), type);
    ck_assert_str_eq(zj_msg_type_name(ZJ_MSG_SUBMIT), "SUBMIT");
    //  New types come last, so the numbers of the types before them do
    //  not move.
    ck_assert_str_eq(zj_msg_type_name(ZJ_MSG_ACK), "ACK");
    ck_assert_int_eq(ZJ_MSG_ACK, ZJ_MSG_ERROR + 1);
    ck_assert_int_eq(ZJ_MSG_SPAWN, ZJ_MSG_ACK + 1);
    ck_assert_int_eq(ZJ_MSG_PROGRESS, ZJ_MSG_SPAWNED + 1);
    ck_assert_int_eq(ZJ_MSG_LOGS, ZJ_MSG_PROGRESS + 2);
    ck_assert_int_eq(ZJ_MSG_DRAIN, ZJ_MSG_LOGS + 1);
    ck_assert_int_eq(ZJ_MSG_PURGE, ZJ_MSG_DRAIN + 1);
    ck_assert_int_eq(ZJ_MSG_SCHEDULE, ZJ_MSG_PURGE + 1);
    ck_assert_int_eq(ZJ_MSG_LIMIT, ZJ_MSG_SCHEDULE + 1);
    ck_assert_int_eq(ZJ_MSG_LIMITS, ZJ_MSG_LIMIT + 1);
    ck_assert_int_eq(ZJ_MSG_RETRY, ZJ_MSG_LIMITS + 1);
    ck_assert_int_eq(ZJ_MSG_STATS, ZJ_MSG_RETRY + 1);
    ck_assert_int_eq(ZJ_MSG_COUNT, ZJ_MSG_STATS + 1);
    ck_assert_str_eq(zj_msg_type_name(ZJ_MSG_COUNT), "UNKNOWN");
    ck_assert_int_eq(zj_msg_type_from_name("UNKNOWN"), ZJ_MSG_NONE);
    ck_assert_int_eq(zj_msg_type_from_name(NULL), ZJ_MSG_NONE);
    for (int state = ZJ_STATE_QUEUED; state <= ZJ_STATE_CANCELLED; state++)
        ck_assert_int_eq(zj_state_from_name(zj_state_name(state)), state);
    ck_assert_str_eq(zj_state_name(ZJ_STATE_QUEUED), "queued");
    ck_assert_str_eq(zj_state_name((zj_state_t) 99), "unknown");
    ck_assert_int_eq(zj_state_from_name("unknown"), ZJ_STATE_NONE);
    ck_assert(zj_state_is_final(ZJ_STATE_CANCELLED));
    ck_assert(!zj_state_is_final(ZJ_STATE_RUNNING));
    ck_assert_str_eq(zj_class_name(ZJ_CLASS_CPU), "cpu");
    ck_assert_int_eq(zj_class_from_name("io"), ZJ_CLASS_IO);
    ck_assert_int_eq(zj_class_from_name("gpu"), -1);
    ck_assert_int_eq(zj_class_from_name(NULL), -1);
}
END_TEST

START_TEST(test_kind_names)
{
    ck_assert(zj_kind_name_is_valid("echo"));
    ck_assert(zj_kind_name_is_valid("my.ns:Kind_2-b"));
    ck_assert(!zj_kind_name_is_valid(""));
    ck_assert(!zj_kind_name_is_valid(NULL));
    ck_assert(!zj_kind_name_is_valid("a b"));
    ck_assert(!zj_kind_name_is_valid("a/b"));
    ck_assert(!zj_kind_name_is_valid("caf\xc3\xa9"));
    char name[ZJ_MAX_KIND + 2];
    memset(name, 'k', ZJ_MAX_KIND);
    name[ZJ_MAX_KIND] = '\0';
    ck_assert(zj_kind_name_is_valid(name));
    name[ZJ_MAX_KIND] = 'k';
    name[ZJ_MAX_KIND + 1] = '\0';
    ck_assert(!zj_kind_name_is_valid(name));
}
END_TEST

START_TEST(test_job_copy_and_clear)
{
    zj_job_t job = {0};
    s_fill_job(&job, 11);
    zj_job_t copy;
    zj_job_copy(&copy, &job);
    s_assert_job(&copy, &job);
    ck_assert_ptr_ne(copy.kind, job.kind);
    ck_assert_ptr_ne(copy.result, job.result);
    ck_assert_ptr_ne(copy.after, job.after);
    zj_job_clear(&job);
    ck_assert_ptr_null(job.kind);
    ck_assert_int_eq(job.id, 0);
    ck_assert_str_eq(copy.kind, "my.ns:sha256-v2");
    zj_job_clear(&copy);

    zj_worker_info_t info = {0};
    s_fill_worker(&info);
    zj_worker_info_clear(&info);
    ck_assert_ptr_null(info.kinds);
    ck_assert_uint_eq(info.kind_count, 0);

    zj_msg_t *msg = zj_msg_new(ZJ_MSG_BYE);
    ck_assert(zj_msg_is(msg));
    ck_assert(!zj_msg_is(&info));
    ck_assert(!zj_msg_is(NULL));
    zj_msg_destroy(&msg);
    ck_assert_ptr_null(msg);
    zj_msg_destroy(&msg);
}
END_TEST

Suite *
test_msg_suite(void)
{
    Suite *suite = suite_create("msg");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_round_trip_full, ZJ_MSG_NONE + 1,
                        ZJ_MSG_COUNT);
    tcase_add_loop_test(tc, test_round_trip_minimal, ZJ_MSG_NONE + 1,
                        ZJ_MSG_COUNT);
    tcase_add_test(tc, test_round_trip_special_cases);
    tcase_add_loop_test(tc, test_decode_truncated_never_succeeds,
                        ZJ_MSG_NONE + 1, ZJ_MSG_COUNT);
    tcase_add_loop_test(tc, test_decode_survives_mutations, ZJ_MSG_NONE + 1,
                        ZJ_MSG_COUNT);
    test_msg_bad_add(tc);
    suite_add_tcase(suite, tc);

    TCase *names = tcase_create("msg");
    tcase_add_loop_test(names, test_check_accepts_valid, ZJ_MSG_NONE + 1,
                        ZJ_MSG_COUNT);
    tcase_add_test(names, test_check_rejects_what_encode_rejects);
    tcase_add_test(names, test_names);
    tcase_add_test(names, test_kind_names);
    tcase_add_test(names, test_job_copy_and_clear);
    suite_add_tcase(suite, names);
    return suite;
}
