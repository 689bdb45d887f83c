//  codec.c - msgpack encode and decode of zj_msg_t frames (see codec.h).
//  The only file that includes <msgpack.h>. Decoding runs in three steps:
//  a bounds pre-scan of the raw bytes (zj_prescan_check, so msgpack-c never
//  allocates for lengths the frame cannot hold), a copy of the known keys out
//  of the msgpack zone through the field tables below, and the type rules of
//  zj_msg_check (proto/msg.c), which the encoder applies too. Spec:
//  proto/PROTOCOL.md.
#include <assert.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "common/why.h"
#include "proto/codec.h"
#include "proto/prescan.h"

static void *
s_alloc(size_t size)
{
    void *block = calloc(1, size ? size : 1);
    if (block == NULL) {
        fprintf(stderr, "zjob: out of memory (%zu bytes)\n", size);
        abort();
    }
    return block;
}

//  Takers: copy one msgpack value into a zj_msg_t field. A nil value is
//  taken as absent, so the field stays zero.

static int
s_take_i64(const msgpack_object *value, const char *name, int64_t *out,
           char *why)
{
    if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = value->via.i64;
    else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
             value->via.u64 <= INT64_MAX)
        *out = (int64_t) value->via.u64;
    else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' out of range", name);
    else if (value->type != MSGPACK_OBJECT_NIL)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is not an integer",
                           name);
    return 0;
}

static int
s_take_i32(const msgpack_object *value, const char *name, int32_t *out,
           char *why)
{
    int64_t wide = 0;
    int rc = s_take_i64(value, name, &wide, why);
    if (rc == 0 && (wide < INT32_MIN || wide > INT32_MAX))
        rc = zj_why_fail(ZJ_EPROTO, why, "field '%s' out of range", name);
    if (rc == 0)
        *out = (int32_t) wide;
    return rc;
}

static int
s_take_u64(const msgpack_object *value, const char *name, uint64_t *out,
           char *why)
{
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *out = value->via.u64;
    else if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is negative", name);
    else if (value->type != MSGPACK_OBJECT_NIL)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is not an integer",
                           name);
    return 0;
}

//  Doubles also accept integers: some packers write 1700000000.0 as one.
static int
s_take_double(const msgpack_object *value, const char *name, double *out,
              char *why)
{
    if (value->type == MSGPACK_OBJECT_FLOAT64 ||
        value->type == MSGPACK_OBJECT_FLOAT32)
        *out = value->via.f64;
    else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        *out = (double) value->via.u64;
    else if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        *out = (double) value->via.i64;
    else if (value->type != MSGPACK_OBJECT_NIL)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is not a number", name);
    return 0;
}

static int
s_take_bool(const msgpack_object *value, const char *name, bool *out, char *why)
{
    if (value->type == MSGPACK_OBJECT_BOOLEAN)
        *out = value->via.boolean;
    else if (value->type != MSGPACK_OBJECT_NIL)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is not a boolean", name);
    return 0;
}

//  Checks a msgpack string's type, size and bytes; does not copy.
static int
s_check_str(const msgpack_object *value, const char *name, size_t max,
            char *why)
{
    if (value->type != MSGPACK_OBJECT_STR)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is not a string", name);
    if (value->via.str.size > max)
        return zj_why_fail(ZJ_ETOOBIG, why,
                           "field '%s' is %" PRIu32 " bytes > %zu", name,
                           value->via.str.size, max);
    if (memchr(value->via.str.ptr, '\0', value->via.str.size))
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' holds a NUL byte", name);
    return 0;
}

static int
s_take_str(const msgpack_object *value, const char *name, size_t max,
           char **out, char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = s_check_str(value, name, max, why);
    if (rc)
        return rc;
    *out = s_alloc(value->via.str.size + 1);
    memcpy(*out, value->via.str.ptr, value->via.str.size);
    return 0;
}

//  Replaces, in place, each byte of text that is not part of valid UTF-8
//  with '?': the length stays, and so does every limit it was held to.
static void
s_repair_utf8(char *text)
{
    uint8_t *bytes = (uint8_t *) text;
    size_t size = strlen(text);
    for (size_t at = 0; at < size;) {
        size_t length = zj_utf8_length(bytes + at, size - at);
        if (length == 0)
            bytes[at++] = '?';
        at += length;
    }
}

//  A text field (names, errors, reasons): a string, repaired to UTF-8.
static int
s_take_text(const msgpack_object *value, const char *name, char **out,
            char *why)
{
    int rc = s_take_str(value, name, ZJ_MAX_TEXT, out, why);
    if (rc == 0 && *out)
        s_repair_utf8(*out);
    return rc;
}

//  A job's log text: a string of up to ZJ_MAX_LOG bytes, repaired to UTF-8.
static int
s_take_log(const msgpack_object *value, const char *name, char **out, char *why)
{
    int rc = s_take_str(value, name, ZJ_MAX_LOG, out, why);
    if (rc == 0 && *out)
        s_repair_utf8(*out);
    return rc;
}

static int
s_take_state(const msgpack_object *value, const char *name, zj_state_t *out,
             char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = s_check_str(value, name, ZJ_MAX_TEXT, why);
    if (rc)
        return rc;
    char text[ZJ_WHY_QUOTE_MAX + 1];
    zj_why_quote(text, value->via.str.ptr, value->via.str.size);
    *out = value->via.str.size <= ZJ_WHY_QUOTE_MAX ? zj_state_from_name(text)
                                                   : ZJ_STATE_NONE;
    if (*out == ZJ_STATE_NONE)
        return zj_why_fail(ZJ_EPROTO, why, "unknown state '%s'", text);
    return 0;
}

//  Field tables. Each key is the name of the struct field it fills, and
//  its wire type picks the S_HAS_ (encode it?), S_PACK_ and S_TAKE_ macros.
#define S_JOB_FIELDS(XX)                                                       \
    XX(id, I64)                                                                \
    XX(kind, KIND)                                                             \
    XX(args, ARGS)                                                             \
    XX(state, STATE)                                                           \
    XX(priority, I32)                                                          \
    XX(attempts, I32)                                                          \
    XX(max_attempts, I32)                                                      \
    XX(timeout_ms, I64)                                                        \
    XX(delay_ms, I64)                                                          \
    XX(backoff_ms, I64)                                                        \
    XX(no_retry, BOOL)                                                         \
    XX(not_before, DBL)                                                        \
    XX(worker, TEXT)                                                           \
    XX(created_at, DBL)                                                        \
    XX(started_at, DBL)                                                        \
    XX(finished_at, DBL)                                                       \
    XX(result, RESULT)                                                         \
    XX(error, TEXT)                                                            \
    XX(after, AFTER)                                                           \
    XX(parent, I64)                                                            \
    XX(call, I32)                                                              \
    XX(progress_done, I64)                                                     \
    XX(progress_total, I64)                                                    \
    XX(progress_text, TEXT)                                                    \
    XX(progress_at, DBL)                                                       \
    XX(log, LOG)                                                               \
    XX(schedule, KIND)                                                         \
    XX(cron, TEXT)                                                             \
    XX(every_ms, I64)                                                          \
    XX(held, TEXT)                                                             \
    XX(retry_of, I64)                                                          \
    XX(unique, UNIQUE)                                                         \
    XX(unique_for_ms, I64)

#define S_LIMIT_FIELDS(XX)                                                     \
    XX(kind, KIND)                                                             \
    XX(concurrency, CONC)                                                      \
    XX(rate, DBL)                                                              \
    XX(burst, DBL)                                                             \
    XX(running, I32)                                                           \
    XX(updated_at, DBL)

#define S_WORKER_FIELDS(XX)                                                    \
    XX(name, TEXT)                                                             \
    XX(host, TEXT)                                                             \
    XX(pid, I64)                                                               \
    XX(io_slots, I32)                                                          \
    XX(cpu_slots, I32)                                                         \
    XX(max_suspended, I32)                                                     \
    XX(suspended, I32)                                                         \
    XX(kinds, KINDS)                                                           \
    XX(state, TEXT)                                                            \
    XX(running, I32)                                                           \
    XX(connected_at, DBL)                                                      \
    XX(last_seen, DBL)

//  The frame's keys after "v" and "t", which come first.
#define S_MSG_FIELDS(XX)                                                       \
    XX(req, U64)                                                               \
    XX(jobs, JOBS)                                                             \
    XX(ids, IDS)                                                               \
    XX(in_order, BOOL)                                                         \
    XX(timed_out, BOOL)                                                        \
    XX(more, BOOL)                                                             \
    XX(draining, BOOL)                                                         \
    XX(timeout_ms, I64)                                                        \
    XX(state, TEXT)                                                            \
    XX(limit, I32)                                                             \
    XX(workers, WORKERS)                                                       \
    XX(heartbeat_ms, I32)                                                      \
    XX(max_message, I32)                                                       \
    XX(max_result, I32)                                                        \
    XX(io_credit, I32)                                                         \
    XX(cpu_credit, I32)                                                        \
    XX(code, I32)                                                              \
    XX(reason, TEXT)                                                           \
    XX(token, TOKEN)                                                           \
    XX(parent, I64)                                                            \
    XX(hold, BOOL)                                                             \
    XX(forget, BOOL)                                                           \
    XX(older_than_ms, I64)                                                     \
    XX(kind, KIND)                                                             \
    XX(count, I64)                                                             \
    XX(op, TEXT)                                                               \
    XX(replace, BOOL)                                                          \
    XX(limits, LIMITS)                                                         \
    XX(clear, BOOL)                                                            \
    XX(stats, RESULT)                                                          \
    XX(worker, TEXT)                                                           \
    XX(since_ms, I64)                                                          \
    XX(before, I64)                                                            \
    XX(unacked, I64)                                                           \
    XX(blocked_ms, I64)

#define S_HAS_U64(o, f) ((o)->f != 0)
#define S_HAS_I64(o, f) ((o)->f != 0)
#define S_HAS_I32(o, f) ((o)->f != 0)
#define S_HAS_DBL(o, f) ((o)->f != 0)
#define S_HAS_BOOL(o, f) ((o)->f)
#define S_HAS_TEXT(o, f) ((o)->f != NULL)
#define S_HAS_KIND(o, f) ((o)->f != NULL)
#define S_HAS_TOKEN(o, f) ((o)->f != NULL)
#define S_HAS_ARGS(o, f) ((o)->f != NULL)
#define S_HAS_RESULT(o, f) ((o)->f != NULL)
#define S_HAS_LOG(o, f) ((o)->f != NULL)
#define S_HAS_UNIQUE(o, f) ((o)->f != NULL)
#define S_HAS_STATE(o, f) ((o)->f != ZJ_STATE_NONE)
#define S_HAS_JOBS(o, f) ((o)->job_count > 0)
#define S_HAS_IDS(o, f) ((o)->id_count > 0)
#define S_HAS_WORKERS(o, f) ((o)->worker_count > 0)
#define S_HAS_KINDS(o, f) ((o)->kind_count > 0)
#define S_HAS_AFTER(o, f) ((o)->after_count > 0)
#define S_HAS_LIMITS(o, f) ((o)->limit_count > 0)
#define S_HAS_CONC(o, f) ((o)->f >= 0)

#define S_PACK_U64(pk, o, f, why) msgpack_pack_uint64(pk, (o)->f)
#define S_PACK_I64(pk, o, f, why) msgpack_pack_int64(pk, (o)->f)
#define S_PACK_I32(pk, o, f, why) msgpack_pack_int64(pk, (o)->f)
#define S_PACK_DBL(pk, o, f, why) msgpack_pack_double(pk, (o)->f)
#define S_PACK_BOOL(pk, o, f, why) msgpack_pack_true(pk)
#define S_PACK_TEXT(pk, o, f, why) s_pack_text(pk, (o)->f)
#define S_PACK_KIND(pk, o, f, why) s_pack_text(pk, (o)->f)
#define S_PACK_TOKEN(pk, o, f, why) s_pack_text(pk, (o)->f)
#define S_PACK_ARGS(pk, o, f, why) s_pack_text(pk, (o)->f)
#define S_PACK_RESULT(pk, o, f, why) s_pack_text(pk, (o)->f)
#define S_PACK_LOG(pk, o, f, why) s_pack_text(pk, (o)->f)
#define S_PACK_UNIQUE(pk, o, f, why) s_pack_text(pk, (o)->f)
#define S_PACK_STATE(pk, o, f, why) s_pack_text(pk, zj_state_name((o)->f))
#define S_PACK_JOBS(pk, o, f, why) s_pack_jobs(pk, o, why)
#define S_PACK_IDS(pk, o, f, why) s_pack_ids(pk, o)
#define S_PACK_WORKERS(pk, o, f, why) s_pack_workers(pk, o, why)
#define S_PACK_KINDS(pk, o, f, why) s_pack_kinds(pk, o)
#define S_PACK_AFTER(pk, o, f, why) s_pack_after(pk, o)
#define S_PACK_LIMITS(pk, o, f, why) s_pack_limits(pk, o, why)
#define S_PACK_CONC(pk, o, f, why) msgpack_pack_int64(pk, (o)->f)

#define S_TAKE_U64(v, o, f, why) s_take_u64(v, #f, &(o)->f, why)
#define S_TAKE_I64(v, o, f, why) s_take_i64(v, #f, &(o)->f, why)
#define S_TAKE_I32(v, o, f, why) s_take_i32(v, #f, &(o)->f, why)
#define S_TAKE_DBL(v, o, f, why) s_take_double(v, #f, &(o)->f, why)
#define S_TAKE_BOOL(v, o, f, why) s_take_bool(v, #f, &(o)->f, why)
#define S_TAKE_TEXT(v, o, f, why) s_take_text(v, #f, &(o)->f, why)
#define S_TAKE_KIND(v, o, f, why) s_take_str(v, #f, ZJ_MAX_KIND, &(o)->f, why)
#define S_TAKE_TOKEN(v, o, f, why) s_take_str(v, #f, ZJ_MAX_TOKEN, &(o)->f, why)
#define S_TAKE_ARGS(v, o, f, why) s_take_str(v, #f, ZJ_MAX_ARGS, &(o)->f, why)
#define S_TAKE_LOG(v, o, f, why) s_take_log(v, #f, &(o)->f, why)
#define S_TAKE_UNIQUE(v, o, f, why)                                            \
    s_take_str(v, #f, ZJ_MAX_UNIQUE, &(o)->f, why)
#define S_TAKE_RESULT(v, o, f, why)                                            \
    s_take_str(v, #f, ZJ_MAX_RESULT, &(o)->f, why)
#define S_TAKE_STATE(v, o, f, why) s_take_state(v, #f, &(o)->f, why)
#define S_TAKE_JOBS(v, o, f, why) s_take_jobs(v, o, why)
#define S_TAKE_IDS(v, o, f, why) s_take_ids(v, o, why)
#define S_TAKE_WORKERS(v, o, f, why) s_take_workers(v, o, why)
#define S_TAKE_KINDS(v, o, f, why) s_take_kinds(v, o, why)
#define S_TAKE_AFTER(v, o, f, why) s_take_after(v, o, why)
#define S_TAKE_LIMITS(v, o, f, why) s_take_limits(v, o, why)
#define S_TAKE_CONC(v, o, f, why) s_take_concurrency(v, &(o)->f, why)

//  Encoding: each packer returns 0, -1 when msgpack-c could not grow its
//  buffer, or a ZJ_E* code with why set.

static int
s_pack_text(msgpack_packer *pk, const char *text)
{
    return msgpack_pack_str_with_body(pk, text, strlen(text));
}

static int
s_pack_after(msgpack_packer *pk, const zj_job_t *o)
{
    int rc = msgpack_pack_array(pk, o->after_count);
    for (size_t index = 0; rc == 0 && index < o->after_count; index++)
        rc = msgpack_pack_int64(pk, o->after[index]);
    return rc;
}

#define S_PACK_KEY(pk, key) msgpack_pack_str_with_body(pk, key, sizeof(key) - 1)

//  Packs the fields of a table whose S_HAS_ is true, as one map.
#define S_PACK_MAP(pk, o, FIELDS, why)                                         \
    do {                                                                       \
        size_t count_ = 0;                                                     \
        FIELDS(S_COUNT_FIELD)                                                  \
        if ((rc = msgpack_pack_map(pk, count_)) != 0)                          \
            return rc;                                                         \
        FIELDS(S_PACK_FIELD)                                                   \
    } while (0)
#define S_COUNT_FIELD(f, T) count_ += S_HAS_##T(o, f) ? 1 : 0;
#define S_PACK_FIELD(f, T)                                                     \
    if (S_HAS_##T(o, f)) {                                                     \
        if ((rc = S_PACK_KEY(pk, #f)) != 0 ||                                  \
            (rc = S_PACK_##T(pk, o, f, why)) != 0)                             \
            return rc;                                                         \
    }

static int
s_frame_fits(msgpack_packer *pk, char *why)
{
    const msgpack_sbuffer *buffer = pk->data;
    if (buffer->size > ZJ_MAX_FRAME)
        return zj_why_fail(ZJ_ETOOBIG, why, "frame over ZJ_MAX_FRAME %d bytes",
                           ZJ_MAX_FRAME);
    return 0;
}

static int
s_pack_kinds(msgpack_packer *pk, const zj_worker_info_t *o)
{
    int rc = msgpack_pack_map(pk, o->kind_count);
    for (size_t index = 0; rc == 0 && index < o->kind_count; index++) {
        rc = s_pack_text(pk, o->kinds[index].name);
        if (rc == 0)
            rc = s_pack_text(pk, zj_class_name(o->kinds[index].klass));
    }
    return rc;
}

static int
s_pack_job(msgpack_packer *pk, const zj_job_t *o, char *why)
{
    int rc;
    S_PACK_MAP(pk, o, S_JOB_FIELDS, why);
    return s_frame_fits(pk, why);
}

static int
s_pack_worker(msgpack_packer *pk, const zj_worker_info_t *o, char *why)
{
    int rc;
    S_PACK_MAP(pk, o, S_WORKER_FIELDS, why);
    return s_frame_fits(pk, why);
}

static int
s_pack_jobs(msgpack_packer *pk, const zj_msg_t *o, char *why)
{
    int rc = msgpack_pack_array(pk, o->job_count);
    for (size_t index = 0; rc == 0 && index < o->job_count; index++)
        rc = s_pack_job(pk, &o->jobs[index], why);
    return rc;
}

static int
s_pack_ids(msgpack_packer *pk, const zj_msg_t *o)
{
    int rc = msgpack_pack_array(pk, o->id_count);
    for (size_t index = 0; rc == 0 && index < o->id_count; index++)
        rc = msgpack_pack_int64(pk, o->ids[index]);
    return rc;
}

static int
s_pack_workers(msgpack_packer *pk, const zj_msg_t *o, char *why)
{
    int rc = msgpack_pack_array(pk, o->worker_count);
    for (size_t index = 0; rc == 0 && index < o->worker_count; index++)
        rc = s_pack_worker(pk, &o->workers[index], why);
    return rc;
}

static int
s_pack_limit(msgpack_packer *pk, const zj_kind_limit_t *o, char *why)
{
    int rc;
    S_PACK_MAP(pk, o, S_LIMIT_FIELDS, why);
    return s_frame_fits(pk, why);
}

static int
s_pack_limits(msgpack_packer *pk, const zj_msg_t *o, char *why)
{
    int rc = msgpack_pack_array(pk, o->limit_count);
    for (size_t index = 0; rc == 0 && index < o->limit_count; index++)
        rc = s_pack_limit(pk, &o->limits[index], why);
    return rc;
}

static int
s_pack_msg(msgpack_packer *pk, const zj_msg_t *o, char *why)
{
    int rc;
    size_t count_ = 2;
    S_MSG_FIELDS(S_COUNT_FIELD)
    if ((rc = msgpack_pack_map(pk, count_)) != 0 ||
        (rc = S_PACK_KEY(pk, "v")) != 0 ||
        (rc = msgpack_pack_int(pk, ZJ_PROTO_VERSION)) != 0 ||
        (rc = S_PACK_KEY(pk, "t")) != 0 ||
        (rc = s_pack_text(pk, zj_msg_type_name(o->type))) != 0)
        return rc;
    S_MSG_FIELDS(S_PACK_FIELD)
    return s_frame_fits(pk, why);
}

//  Decoding: each map is read through its table; a key seen twice is
//  rejected (it would leave two owners for one field), unknown keys and
//  non-string keys are skipped.

static bool
s_key_is(const msgpack_object *key, const char *name, size_t size)
{
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == size &&
           memcmp(key->via.str.ptr, name, size) == 0;
}

#define S_TAKE_FIELD(f, T)                                                     \
    if (s_key_is(key, #f, sizeof(#f) - 1)) {                                   \
        if (seen & bit)                                                        \
            return zj_why_fail(ZJ_EPROTO, why, "duplicate key '%s'", #f);      \
        seen |= bit;                                                           \
        int rc = S_TAKE_##T(value, o, f, why);                                 \
        if (rc)                                                                \
            return rc;                                                         \
        continue;                                                              \
    }                                                                          \
    bit <<= 1;

//  Reads one map through a field table into o.
#define S_TAKE_MAP(map, o, FIELDS, why)                                        \
    do {                                                                       \
        uint32_t seen = 0;                                                     \
        for (uint32_t at = 0; at < (map)->size; at++) {                        \
            const msgpack_object *key = &(map)->ptr[at].key;                   \
            const msgpack_object *value = &(map)->ptr[at].val;                 \
            uint32_t bit = 1;                                                  \
            FIELDS(S_TAKE_FIELD)                                               \
            (void) bit;                                                        \
        }                                                                      \
    } while (0)

static int s_take_jobs(const msgpack_object *, zj_msg_t *, char *);
static int s_take_ids(const msgpack_object *, zj_msg_t *, char *);
static int s_take_workers(const msgpack_object *, zj_msg_t *, char *);
static int s_take_kinds(const msgpack_object *, zj_worker_info_t *, char *);
static int s_take_after(const msgpack_object *, zj_job_t *, char *);
static int s_take_limits(const msgpack_object *, zj_msg_t *, char *);
static int s_array(const msgpack_object *, const char *, char *);

//  A limit's concurrency: present, it is an integer >= 0.
static int
s_take_concurrency(const msgpack_object *value, int32_t *out, char *why)
{
    int rc = s_take_i32(value, "concurrency", out, why);
    if (rc == 0 && *out < 0)
        rc = zj_why_fail(ZJ_EPROTO, why, "field 'concurrency' is negative");
    return rc;
}

static int
s_take_limit(const msgpack_object_map *map, zj_kind_limit_t *o, char *why)
{
    o->concurrency = -1;
    S_TAKE_MAP(map, o, S_LIMIT_FIELDS, why);
    return 0;
}

static int
s_take_limits(const msgpack_object *value, zj_msg_t *o, char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = s_array(value, "limits", why);
    size_t count = rc ? 0 : value->via.array.size;
    o->limits = count ? s_alloc(count * sizeof(zj_kind_limit_t)) : NULL;
    o->limit_count = count;
    for (size_t index = 0; index < count; index++)
        o->limits[index].concurrency = -1;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        const msgpack_object *item = &value->via.array.ptr[index];
        if (item->type != MSGPACK_OBJECT_MAP)
            rc = zj_why_fail(ZJ_EPROTO, why, "limit %zu is not a map", index);
        else if ((rc = s_take_limit(&item->via.map, &o->limits[index], why)))
            zj_why_prefix(rc, why, "limit", index);
    }
    return rc;
}

static int
s_take_job(const msgpack_object_map *map, zj_job_t *o, char *why)
{
    S_TAKE_MAP(map, o, S_JOB_FIELDS, why);
    return 0;
}

static int
s_take_worker(const msgpack_object_map *map, zj_worker_info_t *o, char *why)
{
    S_TAKE_MAP(map, o, S_WORKER_FIELDS, why);
    return 0;
}

static int
s_array(const msgpack_object *value, const char *name, char *why)
{
    if (value->type != MSGPACK_OBJECT_ARRAY)
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is not an array", name);
    if (value->via.array.size > ZJ_MAX_BATCH)
        return zj_why_fail(ZJ_ETOOBIG, why,
                           "batch %" PRIu32 " > ZJ_MAX_BATCH %d",
                           value->via.array.size, ZJ_MAX_BATCH);
    return 0;
}

static int
s_take_jobs(const msgpack_object *value, zj_msg_t *o, char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = s_array(value, "jobs", why);
    size_t count = rc ? 0 : value->via.array.size;
    o->jobs = count ? s_alloc(count * sizeof(zj_job_t)) : NULL;
    o->job_count = count;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        const msgpack_object *item = &value->via.array.ptr[index];
        if (item->type != MSGPACK_OBJECT_MAP)
            rc = zj_why_fail(ZJ_EPROTO, why, "job %zu is not a map", index);
        else if ((rc = s_take_job(&item->via.map, &o->jobs[index], why)))
            zj_why_prefix(rc, why, "job", index);
    }
    return rc;
}

static int
s_take_ids(const msgpack_object *value, zj_msg_t *o, char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = s_array(value, "ids", why);
    size_t count = rc ? 0 : value->via.array.size;
    o->ids = count ? s_alloc(count * sizeof(int64_t)) : NULL;
    o->id_count = count;
    for (size_t index = 0; rc == 0 && index < count; index++)
        rc = s_take_i64(&value->via.array.ptr[index], "ids", &o->ids[index],
                        why);
    return rc;
}

//  A job's after: up to ZJ_MAX_AFTER job ids (each checked >= 1 later).
static int
s_take_after(const msgpack_object *value, zj_job_t *o, char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (value->type != MSGPACK_OBJECT_ARRAY)
        return zj_why_fail(ZJ_EPROTO, why, "field 'after' is not an array");
    size_t count = value->via.array.size;
    if (count > ZJ_MAX_AFTER)
        return zj_why_fail(ZJ_ETOOBIG, why,
                           "after has %zu ids > ZJ_MAX_AFTER %d", count,
                           ZJ_MAX_AFTER);
    o->after = count ? s_alloc(count * sizeof(int64_t)) : NULL;
    o->after_count = (uint32_t) count;
    int rc = 0;
    for (size_t index = 0; rc == 0 && index < count; index++)
        rc = s_take_i64(&value->via.array.ptr[index], "after", &o->after[index],
                        why);
    return rc;
}

static int
s_take_workers(const msgpack_object *value, zj_msg_t *o, char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = s_array(value, "workers", why);
    size_t count = rc ? 0 : value->via.array.size;
    o->workers = count ? s_alloc(count * sizeof(zj_worker_info_t)) : NULL;
    o->worker_count = count;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        const msgpack_object *item = &value->via.array.ptr[index];
        if (item->type != MSGPACK_OBJECT_MAP)
            rc = zj_why_fail(ZJ_EPROTO, why, "worker %zu is not a map", index);
        else if ((rc = s_take_worker(&item->via.map, &o->workers[index], why)))
            zj_why_prefix(rc, why, "worker", index);
    }
    return rc;
}

static int
s_take_kinds(const msgpack_object *value, zj_worker_info_t *o, char *why)
{
    if (value->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (value->type != MSGPACK_OBJECT_MAP)
        return zj_why_fail(ZJ_EPROTO, why, "field 'kinds' is not a map");
    size_t count = value->via.map.size;
    if (count > ZJ_MAX_KINDS)
        return zj_why_fail(ZJ_ETOOBIG, why, "kinds %zu > ZJ_MAX_KINDS %d",
                           count, ZJ_MAX_KINDS);
    o->kinds = count ? s_alloc(count * sizeof(zj_kind_t)) : NULL;
    o->kind_count = count;
    for (size_t index = 0; index < count; index++) {
        const msgpack_object_kv *pair = &value->via.map.ptr[index];
        int rc = s_check_str(&pair->key, "kinds", ZJ_MAX_KIND, why);
        if (rc == 0)
            rc = s_check_str(&pair->val, "kinds", ZJ_MAX_TEXT, why);
        if (rc)
            return rc;
        o->kinds[index].name = s_alloc(pair->key.via.str.size + 1);
        memcpy(o->kinds[index].name, pair->key.via.str.ptr,
               pair->key.via.str.size);
        char klass[ZJ_WHY_QUOTE_MAX + 1];
        zj_why_quote(klass, pair->val.via.str.ptr, pair->val.via.str.size);
        int found = pair->val.via.str.size <= ZJ_WHY_QUOTE_MAX
                        ? zj_class_from_name(klass)
                        : -1;
        if (found < 0)
            return zj_why_fail(ZJ_EPROTO, why,
                               "kind %zu has class '%s', not io|cpu", index,
                               klass);
        o->kinds[index].klass = (zj_class_t) found;
    }
    return 0;
}

//  Reads "req", "v" and "t", in that order of need: req first, so that
//  even a frame of the wrong version gets an ERROR with its req.
static int
s_take_header(const msgpack_object_map *map, zj_msg_type_t *type_p,
              uint64_t *req_p, char *why)
{
    const msgpack_object *version = NULL, *type = NULL;
    for (uint32_t at = 0; at < map->size; at++) {
        const msgpack_object *key = &map->ptr[at].key;
        const msgpack_object *value = &map->ptr[at].val;
        if (s_key_is(key, "req", 3) && req_p)
            s_take_u64(value, "req", req_p, why);
        else if (s_key_is(key, "v", 1) && version)
            return zj_why_fail(ZJ_EPROTO, why, "duplicate key 'v'");
        else if (s_key_is(key, "v", 1))
            version = value;
        else if (s_key_is(key, "t", 1) && type)
            return zj_why_fail(ZJ_EPROTO, why, "duplicate key 't'");
        else if (s_key_is(key, "t", 1))
            type = value;
    }
    //  A frame without a version is not of this one: EVERSION, as for a
    //  wrong number. A "v" of the wrong type is malformed: EPROTO.
    if (version == NULL || version->type == MSGPACK_OBJECT_NIL)
        return zj_why_fail(ZJ_EVERSION, why, "field 'v' missing, expected %d",
                           ZJ_PROTO_VERSION);
    int64_t number = 0;
    int rc = s_take_i64(version, "v", &number, why);
    if (rc)
        return rc;
    if (number != ZJ_PROTO_VERSION)
        return zj_why_fail(ZJ_EVERSION, why, "version %" PRId64 ", expected %d",
                           number, ZJ_PROTO_VERSION);
    if (type == NULL || type->type == MSGPACK_OBJECT_NIL)
        return zj_why_fail(ZJ_EPROTO, why, "field 't' missing");
    if ((rc = s_check_str(type, "t", ZJ_MAX_TEXT, why)))
        return rc;
    char name[ZJ_WHY_QUOTE_MAX + 1];
    zj_why_quote(name, type->via.str.ptr, type->via.str.size);
    *type_p = type->via.str.size <= ZJ_WHY_QUOTE_MAX
                  ? zj_msg_type_from_name(name)
                  : ZJ_MSG_NONE;
    if (*type_p == ZJ_MSG_NONE)
        return zj_why_fail(ZJ_EPROTO, why, "unknown type '%s'", name);
    return 0;
}

static int
s_take_msg(const msgpack_object_map *map, zj_msg_t *o, char *why)
{
    S_TAKE_MAP(map, o, S_MSG_FIELDS, why);
    return 0;
}

int
zj_msg_encode(const zj_msg_t *msg, char **data_p, size_t *size_p, char *why)
{
    assert(zj_msg_is(msg));
    assert(data_p);
    assert(size_p);
    char scratch[ZJ_WHY_SIZE];
    if (why == NULL)
        why = scratch;
    why[0] = '\0';
    *data_p = NULL;
    *size_p = 0;

    int rc = zj_msg_check(msg, why);
    if (rc)
        return rc;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init(&buffer);
    msgpack_packer packer;
    msgpack_packer_init(&packer, &buffer, msgpack_sbuffer_write);
    rc = s_pack_msg(&packer, msg, why);
    if (rc == -1)
        rc = zj_why_fail(ZJ_ENOMEM, why, "cannot grow the frame buffer");
    //  The decoder's bounds hold for what we send, too.
    if (rc == 0)
        rc = zj_prescan_check(buffer.data, buffer.size, why);
    if (rc) {
        msgpack_sbuffer_destroy(&buffer);
        return rc;
    }
    *size_p = buffer.size;
    *data_p = msgpack_sbuffer_release(&buffer);
    return 0;
}

static int
s_decode(const void *data, size_t size, zj_msg_t **msg_p, uint64_t *req_p,
         char *why)
{
    if (size == 0)
        return zj_why_fail(ZJ_EPROTO, why, "empty frame");
    if (size > ZJ_MAX_FRAME)
        return zj_why_fail(ZJ_ETOOBIG, why, "frame %zu bytes > ZJ_MAX_FRAME %d",
                           size, ZJ_MAX_FRAME);
    uint8_t first = *(const uint8_t *) data;
    if (!((first >= 0x80 && first <= 0x8f) || first == 0xde || first == 0xdf))
        return zj_why_fail(ZJ_EPROTO, why, "frame is not a msgpack map");
    int rc = zj_prescan_check(data, size, why);
    if (rc && req_p)
        zj_prescan_req(data, size, req_p);
    if (rc)
        return rc;

    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    size_t offset = 0;
    if (msgpack_unpack_next(&unpacked, data, size, &offset) !=
            MSGPACK_UNPACK_SUCCESS ||
        unpacked.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&unpacked);
        return zj_why_fail(ZJ_EPROTO, why, "msgpack cannot unpack the frame");
    }
    const msgpack_object_map *map = &unpacked.data.via.map;
    zj_msg_type_t type = ZJ_MSG_NONE;
    rc = s_take_header(map, &type, req_p, why);
    if (rc == 0) {
        *msg_p = zj_msg_new(type);
        rc = s_take_msg(map, *msg_p, why);
    }
    msgpack_unpacked_destroy(&unpacked);
    if (rc == 0)
        rc = zj_msg_check(*msg_p, why);
    return rc;
}

int
zj_msg_decode(const void *data, size_t size, zj_msg_t **msg_p, uint64_t *req_p,
              char *why)
{
    assert(data || size == 0);
    assert(msg_p);
    char scratch[ZJ_WHY_SIZE];
    if (why == NULL)
        why = scratch;
    why[0] = '\0';
    *msg_p = NULL;
    int rc = s_decode(data, size, msg_p, req_p, why);
    if (rc) {
        zj_msg_destroy(msg_p);
        if (why[0] == '\0')
            zj_why_fail(rc, why, "%s", zj_strerror(rc));
    }
    return rc;
}
