//  msg.c - the zj_msg_t class: building, freeing, naming and checking
//  messages. Plain data only; the wire form lives in proto/codec.c, which
//  applies zj_msg_check on both sides. Used by all three programs to build
//  messages before zj_msg_encode and to read what zj_msg_decode returns.
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cron.h"
#include "common/err.h"
#include "common/json.h"
#include "common/why.h"
#include "proto/limits.h"
#include "proto/msg.h"

//  Aborts on OOM, as zj_msg_new promises: messages are small and an
//  allocation failure here leaves no sane way to go on.
static void *
s_realloc(void *block, size_t size)
{
    void *grown = realloc(block, size ? size : 1);
    if (grown == NULL) {
        fprintf(stderr, "zjob: out of memory (%zu bytes)\n", size);
        abort();
    }
    return grown;
}

static char *
s_strdup(const char *text)
{
    if (text == NULL)
        return NULL;
    size_t size = strlen(text) + 1;
    char *copy = s_realloc(NULL, size);
    memcpy(copy, text, size);
    return copy;
}

zj_msg_t *
zj_msg_new(zj_msg_type_t type)
{
    zj_msg_t *self = s_realloc(NULL, sizeof(zj_msg_t));
    memset(self, 0, sizeof(zj_msg_t));
    self->tag = ZJ_MSG_TAG;
    self->type = type;
    return self;
}

void
zj_msg_destroy(zj_msg_t **self_p)
{
    assert(self_p);
    zj_msg_t *self = *self_p;
    if (self == NULL)
        return;
    assert(zj_msg_is(self));
    for (size_t index = 0; index < self->job_count; index++)
        zj_job_clear(&self->jobs[index]);
    free(self->jobs);
    free(self->ids);
    for (size_t index = 0; index < self->worker_count; index++)
        zj_worker_info_clear(&self->workers[index]);
    free(self->workers);
    for (size_t index = 0; index < self->limit_count; index++)
        free(self->limits[index].kind);
    free(self->limits);
    free(self->state);
    free(self->reason);
    free(self->token);
    free(self->kind);
    free(self->op);
    free(self->stats);
    free(self->worker);
    self->tag = 0xDeadBeef;
    free(self);
    *self_p = NULL;
}

bool
zj_msg_is(const void *self)
{
    return self && ((const zj_msg_t *) self)->tag == ZJ_MSG_TAG;
}

zj_job_t *
zj_msg_add_job(zj_msg_t *self)
{
    assert(zj_msg_is(self));
    self->jobs =
        s_realloc(self->jobs, (self->job_count + 1) * sizeof(zj_job_t));
    zj_job_t *job = &self->jobs[self->job_count++];
    memset(job, 0, sizeof(zj_job_t));
    return job;
}

void
zj_msg_add_id(zj_msg_t *self, int64_t id)
{
    assert(zj_msg_is(self));
    self->ids = s_realloc(self->ids, (self->id_count + 1) * sizeof(int64_t));
    self->ids[self->id_count++] = id;
}

zj_worker_info_t *
zj_msg_add_worker(zj_msg_t *self)
{
    assert(zj_msg_is(self));
    self->workers = s_realloc(self->workers, (self->worker_count + 1) *
                                                 sizeof(zj_worker_info_t));
    zj_worker_info_t *info = &self->workers[self->worker_count++];
    memset(info, 0, sizeof(zj_worker_info_t));
    return info;
}

zj_kind_limit_t *
zj_msg_add_limit(zj_msg_t *self)
{
    assert(zj_msg_is(self));
    self->limits = s_realloc(self->limits,
                             (self->limit_count + 1) * sizeof(zj_kind_limit_t));
    zj_kind_limit_t *limit = &self->limits[self->limit_count++];
    memset(limit, 0, sizeof(zj_kind_limit_t));
    limit->concurrency = -1;
    return limit;
}

static const char *s_type_names[] = {[ZJ_MSG_NONE] = "UNKNOWN",
#define XX(name) [ZJ_MSG_##name] = #name,
                                     ZJ_MSG_TYPE_MAP(XX)
#undef XX
};

const char *
zj_msg_type_name(zj_msg_type_t type)
{
    if (type <= ZJ_MSG_NONE || type >= ZJ_MSG_COUNT)
        return "UNKNOWN";
    return s_type_names[type];
}

zj_msg_type_t
zj_msg_type_from_name(const char *name)
{
    if (name == NULL)
        return ZJ_MSG_NONE;
    for (int type = ZJ_MSG_NONE + 1; type < ZJ_MSG_COUNT; type++)
        if (strcmp(name, s_type_names[type]) == 0)
            return (zj_msg_type_t) type;
    return ZJ_MSG_NONE;
}

static const char *s_state_names[] = {[ZJ_STATE_NONE] = "unknown",
#define XX(name, text) [ZJ_STATE_##name] = text,
                                      ZJ_STATE_MAP(XX)
#undef XX
};

#define S_STATE_COUNT (sizeof(s_state_names) / sizeof(s_state_names[0]))

const char *
zj_state_name(zj_state_t state)
{
    if (state <= ZJ_STATE_NONE || (size_t) state >= S_STATE_COUNT)
        return "unknown";
    return s_state_names[state];
}

zj_state_t
zj_state_from_name(const char *name)
{
    if (name == NULL)
        return ZJ_STATE_NONE;
    for (size_t state = ZJ_STATE_NONE + 1; state < S_STATE_COUNT; state++)
        if (strcmp(name, s_state_names[state]) == 0)
            return (zj_state_t) state;
    return ZJ_STATE_NONE;
}

unsigned
zj_states_from_names(const char *names)
{
    if (names == NULL || *names == '\0')
        return 0;
    unsigned states = 0;
    while (true) {
        size_t length = strcspn(names, ",");
        char name[16];
        if (length == 0 || length >= sizeof name)
            return 0;
        memcpy(name, names, length);
        name[length] = '\0';
        zj_state_t state = zj_state_from_name(name);
        if (state == ZJ_STATE_NONE)
            return 0;
        states |= 1u << state;
        if (names[length] == '\0')
            return states;
        names += length + 1;
    }
}

bool
zj_state_is_final(zj_state_t state)
{
    return state == ZJ_STATE_SUCCEEDED || state == ZJ_STATE_FAILED ||
           state == ZJ_STATE_CANCELLED;
}

const char *
zj_class_name(zj_class_t klass)
{
    switch (klass) {
    case ZJ_CLASS_IO:
        return "io";
    case ZJ_CLASS_CPU:
        return "cpu";
    }
    return "unknown";
}

int
zj_class_from_name(const char *name)
{
    if (name && strcmp(name, "io") == 0)
        return ZJ_CLASS_IO;
    if (name && strcmp(name, "cpu") == 0)
        return ZJ_CLASS_CPU;
    return -1;
}

bool
zj_kind_name_is_valid(const char *name)
{
    if (name == NULL)
        return false;
    size_t size = 0;
    for (const char *cursor = name; *cursor; cursor++, size++) {
        char c = *cursor;
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
                  c == '-';
        if (!ok || size >= ZJ_MAX_KIND)
            return false;
    }
    return size > 0;
}

void
zj_job_clear(zj_job_t *job)
{
    assert(job);
    free(job->kind);
    free(job->args);
    free(job->worker);
    free(job->result);
    free(job->error);
    free(job->after);
    free(job->progress_text);
    free(job->log);
    free(job->schedule);
    free(job->cron);
    free(job->held);
    free(job->unique);
    memset(job, 0, sizeof(zj_job_t));
}

void
zj_job_copy(zj_job_t *dest, const zj_job_t *src)
{
    assert(dest);
    assert(src);
    *dest = *src;
    dest->kind = s_strdup(src->kind);
    dest->args = s_strdup(src->args);
    dest->worker = s_strdup(src->worker);
    dest->result = s_strdup(src->result);
    dest->error = s_strdup(src->error);
    dest->progress_text = s_strdup(src->progress_text);
    dest->log = s_strdup(src->log);
    dest->schedule = s_strdup(src->schedule);
    dest->cron = s_strdup(src->cron);
    dest->held = s_strdup(src->held);
    dest->unique = s_strdup(src->unique);
    dest->after = NULL;
    if (src->after_count > 0) {
        size_t size = src->after_count * sizeof(int64_t);
        dest->after = malloc(size);
        assert(dest->after);
        memcpy(dest->after, src->after, size);
    }
}

void
zj_worker_info_clear(zj_worker_info_t *info)
{
    assert(info);
    free(info->name);
    free(info->host);
    for (size_t index = 0; index < info->kind_count; index++)
        free(info->kinds[index].name);
    free(info->kinds);
    free(info->state);
    memset(info, 0, sizeof(zj_worker_info_t));
}

//  The rules: what a message of each type must hold, applied to the struct
//  by zj_msg_encode before packing and by zj_msg_decode after copying.

static int
s_check_min(int64_t value, const char *name, char *why)
{
    if (value < 0)
        return zj_why_fail(ZJ_EPROTO, why,
                           "field '%s' is negative (%" PRId64 ")", name, value);
    return 0;
}

static int
s_check_text(const char *text, const char *name, size_t max, char *why)
{
    size_t size = text ? strlen(text) : 0;
    if (size > max)
        return zj_why_fail(ZJ_ETOOBIG, why, "field '%s' is %zu bytes > %zu",
                           name, size, max);
    return 0;
}

static int
s_check_json(const char *text, const char *name, size_t max, char *why)
{
    if (text == NULL)
        return 0;
    int rc = s_check_text(text, name, max, why);
    if (rc)
        return rc;
    char inner[ZJ_WHY_SIZE] = "";
    if ((rc = zj_json_check(text, strlen(text), ZJ_MAX_DEPTH, inner)))
        zj_why_fail(rc, why, "field '%s': %.200s", name, inner);
    return rc;
}

static int
s_check_kind(const char *name, char *why)
{
    int rc = s_check_text(name, "kind", ZJ_MAX_KIND, why);
    char quoted[ZJ_WHY_QUOTE_MAX + 1];
    zj_why_quote(quoted, name, strlen(name));
    if (rc == 0 && !zj_kind_name_is_valid(name))
        rc = zj_why_fail(ZJ_EPROTO, why, "bad kind name '%s'", quoted);
    return rc;
}

static int
s_check_time(double value, const char *name, char *why)
{
    if (!isfinite(value))
        return zj_why_fail(ZJ_EPROTO, why, "field '%s' is not finite", name);
    return 0;
}

//  A schedule's name (a kind name's rules) and cron expression.
static int
s_check_schedule(const zj_job_t *job, char *why)
{
    if (job->schedule && !zj_kind_name_is_valid(job->schedule)) {
        char quoted[ZJ_WHY_QUOTE_MAX + 1];
        zj_why_quote(quoted, job->schedule, strlen(job->schedule));
        return zj_why_fail(ZJ_EPROTO, why,
                           "bad schedule name '%s' (1..%d of [A-Za-z0-9_.:-])",
                           quoted, ZJ_MAX_KIND - 1);
    }
    zj_cron_t cron;
    if (job->cron && zj_cron_parse(job->cron, &cron, why))
        return ZJ_EPROTO;
    return 0;
}

bool
zj_unique_key_is_valid(const char *key)
{
    if (key == NULL)
        return false;
    const uint8_t *bytes = (const uint8_t *) key;
    size_t size = strlen(key);
    bool printable = size > 0 && size <= ZJ_MAX_UNIQUE;
    for (size_t at = 0; printable && at < size;) {
        size_t length = zj_utf8_length(bytes + at, size - at);
        printable = length > 0 && bytes[at] >= 0x20 && bytes[at] != 0x7f;
        at += length;
    }
    return printable;
}

//  A unique key: 1..ZJ_MAX_UNIQUE bytes of printable UTF-8 (no control
//  character); its window 0 (the default) or 1..ZJ_MAX_UNIQUE_FOR_MS, and
//  only beside a key.
static int
s_check_unique(const zj_job_t *job, char *why)
{
    if (job->unique == NULL) {
        if (job->unique_for_ms != 0)
            return zj_why_fail(ZJ_EPROTO, why,
                               "field 'unique_for_ms' needs 'unique'");
        return 0;
    }
    size_t size = strlen(job->unique);
    if (size > ZJ_MAX_UNIQUE)
        return zj_why_fail(ZJ_ETOOBIG, why, "field 'unique' is %zu bytes > %d",
                           size, ZJ_MAX_UNIQUE);
    if (!zj_unique_key_is_valid(job->unique))
        return zj_why_fail(ZJ_EPROTO, why,
                           "field 'unique' is not 1..%d bytes of printable "
                           "UTF-8",
                           ZJ_MAX_UNIQUE);
    if (job->unique_for_ms < 0 || job->unique_for_ms > ZJ_MAX_UNIQUE_FOR_MS)
        return zj_why_fail(ZJ_EPROTO, why,
                           "field 'unique_for_ms' is %" PRId64
                           ", not 1..%lld (366 days)",
                           job->unique_for_ms, ZJ_MAX_UNIQUE_FOR_MS);
    return 0;
}

static int
s_check_job(const zj_job_t *job, char *why)
{
    int rc = 0;
    if (job->kind)
        rc = s_check_kind(job->kind, why);
    if (rc || (rc = s_check_json(job->args, "args", ZJ_MAX_ARGS, why)) ||
        (rc = s_check_json(job->result, "result", ZJ_MAX_RESULT, why)) ||
        (rc = s_check_text(job->worker, "worker", ZJ_MAX_TEXT, why)) ||
        (rc = s_check_text(job->error, "error", ZJ_MAX_TEXT, why)) ||
        (rc = s_check_text(job->held, "held", ZJ_MAX_TEXT, why)) ||
        (rc = s_check_min(job->id, "id", why)) ||
        (rc = s_check_min(job->attempts, "attempts", why)) ||
        (rc = s_check_min(job->max_attempts, "max_attempts", why)) ||
        (rc = s_check_min(job->timeout_ms, "timeout_ms", why)) ||
        (rc = s_check_min(job->delay_ms, "delay_ms", why)) ||
        (rc = s_check_min(job->backoff_ms, "backoff_ms", why)) ||
        (rc = s_check_min(job->parent, "parent", why)) ||
        (rc = s_check_min(job->call, "call", why)) ||
        (rc = s_check_min(job->retry_of, "retry_of", why)) ||
        (rc = s_check_min(job->progress_done, "progress_done", why)) ||
        (rc = s_check_min(job->progress_total, "progress_total", why)) ||
        (rc = s_check_text(job->progress_text, "progress_text",
                           ZJ_MAX_PROGRESS_TEXT, why)) ||
        (rc = s_check_time(job->progress_at, "progress_at", why)) ||
        (rc = s_check_time(job->not_before, "not_before", why)) ||
        (rc = s_check_time(job->created_at, "created_at", why)) ||
        (rc = s_check_time(job->started_at, "started_at", why)) ||
        (rc = s_check_time(job->finished_at, "finished_at", why)) ||
        (rc = s_check_min(job->every_ms, "every_ms", why)) ||
        (rc = s_check_schedule(job, why)) || (rc = s_check_unique(job, why)))
        return rc;
    if (job->state < ZJ_STATE_NONE || job->state > ZJ_STATE_CANCELLED)
        return zj_why_fail(ZJ_EPROTO, why, "unknown state %d",
                           (int) job->state);
    for (uint32_t index = 0; index < job->after_count; index++)
        if (job->after[index] < 1)
            return zj_why_fail(ZJ_EPROTO, why,
                               "after holds %" PRId64 ": job ids are >= 1",
                               job->after[index]);
    return 0;
}

static int
s_check_kinds(const zj_worker_info_t *info, char *why)
{
    if (info->kind_count > ZJ_MAX_KINDS)
        return zj_why_fail(ZJ_ETOOBIG, why, "kinds %zu > ZJ_MAX_KINDS %d",
                           info->kind_count, ZJ_MAX_KINDS);
    for (size_t index = 0; index < info->kind_count; index++) {
        const zj_kind_t *kind = &info->kinds[index];
        if (kind->name == NULL)
            return zj_why_fail(ZJ_EPROTO, why, "kind %zu has no name", index);
        int rc = s_check_kind(kind->name, why);
        if (rc)
            return rc;
        if (kind->klass != ZJ_CLASS_IO && kind->klass != ZJ_CLASS_CPU)
            return zj_why_fail(ZJ_EPROTO, why, "kind '%s' has no class io|cpu",
                               kind->name);
        for (size_t other = 0; other < index; other++)
            if (strcmp(info->kinds[other].name, kind->name) == 0)
                return zj_why_fail(ZJ_EPROTO, why, "kind '%s' offered twice",
                                   kind->name);
    }
    return 0;
}

static int
s_check_worker(const zj_worker_info_t *info, char *why)
{
    int rc;
    if ((rc = s_check_text(info->name, "name", ZJ_MAX_TEXT, why)) ||
        (rc = s_check_text(info->host, "host", ZJ_MAX_TEXT, why)) ||
        (rc = s_check_text(info->state, "state", ZJ_MAX_TEXT, why)) ||
        (rc = s_check_min(info->pid, "pid", why)) ||
        (rc = s_check_min(info->io_slots, "io_slots", why)) ||
        (rc = s_check_min(info->cpu_slots, "cpu_slots", why)) ||
        (rc = s_check_min(info->running, "running", why)) ||
        (rc = s_check_min(info->max_suspended, "max_suspended", why)) ||
        (rc = s_check_min(info->suspended, "suspended", why)) ||
        (rc = s_check_time(info->connected_at, "connected_at", why)) ||
        (rc = s_check_time(info->last_seen, "last_seen", why)))
        return rc;
    return s_check_kinds(info, why);
}

//  A kind's limits: a valid kind; concurrency -1 (none) or
//  0..ZJ_MAX_CONCURRENCY; rate 0 (none) or ZJ_MIN_RATE..ZJ_MAX_RATE.
static int
s_check_limit(const zj_kind_limit_t *limit, char *why)
{
    if (limit->kind == NULL)
        return zj_why_fail(ZJ_EPROTO, why, "field 'kind' missing");
    int rc = s_check_kind(limit->kind, why);
    if (rc)
        return rc;
    if (limit->concurrency < -1 || limit->concurrency > ZJ_MAX_CONCURRENCY)
        return zj_why_fail(ZJ_EPROTO, why,
                           "concurrency %" PRId32 " is not 0..%d",
                           limit->concurrency, ZJ_MAX_CONCURRENCY);
    if (!isfinite(limit->rate) ||
        (limit->rate != 0 &&
         (limit->rate < ZJ_MIN_RATE || limit->rate > ZJ_MAX_RATE)))
        return zj_why_fail(ZJ_EPROTO, why,
                           "rate %g/s is not between one a day and %g/s",
                           limit->rate, ZJ_MAX_RATE);
    if ((rc = s_check_min(limit->running, "running", why)) ||
        (rc = s_check_time(limit->burst, "burst", why)) ||
        (rc = s_check_time(limit->updated_at, "updated_at", why)))
        return rc;
    return 0;
}

static int
s_check_batch(size_t count, char *why)
{
    if (count > ZJ_MAX_BATCH)
        return zj_why_fail(ZJ_ETOOBIG, why, "batch %zu > ZJ_MAX_BATCH %d",
                           count, ZJ_MAX_BATCH);
    return 0;
}

//  A SUBMIT's token: 1..ZJ_MAX_TOKEN bytes of [A-Za-z0-9_.:-].
static int
s_check_token(const char *token, char *why)
{
    if (token == NULL)
        return 0;
    size_t size = strlen(token);
    if (size > ZJ_MAX_TOKEN)
        return zj_why_fail(ZJ_ETOOBIG, why, "field 'token' is %zu bytes > %d",
                           size, ZJ_MAX_TOKEN);
    if (size == 0 || strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "abcdefghijklmnopqrstuvwxyz"
                                   "0123456789_.:-") != size)
        return zj_why_fail(ZJ_EPROTO, why,
                           "field 'token' is not 1..%d of [A-Za-z0-9_.:-]",
                           ZJ_MAX_TOKEN);
    return 0;
}

//  Field rules every message obeys, whatever its type.
static int
s_check_fields(const zj_msg_t *msg, char *why)
{
    int rc;
    if ((rc = s_check_batch(msg->job_count, why)) ||
        (rc = s_check_batch(msg->id_count, why)) ||
        (rc = s_check_batch(msg->worker_count, why)) ||
        (rc = s_check_batch(msg->limit_count, why)) ||
        (rc = s_check_min(msg->timeout_ms, "timeout_ms", why)) ||
        (rc = s_check_min(msg->limit, "limit", why)) ||
        (rc = s_check_min(msg->heartbeat_ms, "heartbeat_ms", why)) ||
        (rc = s_check_min(msg->max_message, "max_message", why)) ||
        (rc = s_check_min(msg->max_result, "max_result", why)) ||
        (rc = s_check_min(msg->io_credit, "io_credit", why)) ||
        (rc = s_check_min(msg->cpu_credit, "cpu_credit", why)) ||
        (rc = s_check_min(msg->parent, "parent", why)) ||
        (rc = s_check_min(msg->older_than_ms, "older_than_ms", why)) ||
        (rc = s_check_min(msg->count, "count", why)) ||
        (rc = s_check_text(msg->reason, "reason", ZJ_MAX_TEXT, why)) ||
        (rc = s_check_token(msg->token, why)))
        return rc;
    if (msg->state && zj_states_from_names(msg->state) == 0) {
        char quoted[ZJ_WHY_QUOTE_MAX + 1];
        zj_why_quote(quoted, msg->state, strlen(msg->state));
        return zj_why_fail(ZJ_EPROTO, why, "unknown state '%s'", quoted);
    }
    if (msg->kind && (rc = s_check_kind(msg->kind, why)))
        return rc;
    if ((rc = s_check_min(msg->since_ms, "since_ms", why)) ||
        (rc = s_check_min(msg->before, "before", why)) ||
        (rc = s_check_text(msg->worker, "worker", ZJ_MAX_TEXT, why)))
        return rc;
    for (size_t index = 0; index < msg->id_count; index++)
        if (msg->ids[index] <= 0)
            return zj_why_fail(ZJ_EPROTO, why,
                               "ids[%zu] = %" PRId64 " is not a job id", index,
                               msg->ids[index]);
    for (size_t index = 0; index < msg->job_count; index++)
        if ((rc = s_check_job(&msg->jobs[index], why)))
            return zj_why_prefix(rc, why, "job", index);
    for (size_t index = 0; index < msg->worker_count; index++)
        if ((rc = s_check_worker(&msg->workers[index], why)))
            return zj_why_prefix(rc, why, "worker", index);
    for (size_t index = 0; index < msg->limit_count; index++)
        if ((rc = s_check_limit(&msg->limits[index], why)))
            return zj_why_prefix(rc, why, "limit", index);
    return 0;
}

//  What each job of a batch must have, by type.
#define S_NEED_ID 1
#define S_NEED_KIND 2
#define S_NEED_FINAL 4
#define S_NEED_CHILD 8 //  parent and call, one parent for all
#define S_NO_UNIQUE 16 //  no unique key (SPAWN: calls key the children)

static int
s_need_jobs(const zj_msg_t *msg, size_t min, int needs, char *why)
{
    const char *type = zj_msg_type_name(msg->type);
    if (msg->job_count < min)
        return zj_why_fail(ZJ_EPROTO, why, "%s: field 'jobs' missing", type);
    for (size_t index = 0; index < msg->job_count; index++) {
        const zj_job_t *job = &msg->jobs[index];
        if ((needs & S_NEED_ID) && job->id <= 0)
            return zj_why_fail(ZJ_EPROTO, why,
                               "%s: job %zu: field 'id' missing", type, index);
        if ((needs & S_NEED_KIND) && job->kind == NULL)
            return zj_why_fail(ZJ_EPROTO, why,
                               "%s: job %zu: field 'kind' missing", type,
                               index);
        if ((needs & S_NEED_FINAL) && !zj_state_is_final(job->state))
            return zj_why_fail(ZJ_EPROTO, why,
                               "%s: job %zu: state '%s' is not final", type,
                               index, zj_state_name(job->state));
        if ((needs & S_NO_UNIQUE) && job->unique)
            return zj_why_fail(ZJ_EPROTO, why,
                               "%s: job %zu: 'unique' is for SUBMIT only (a "
                               "parent's calls key its children)",
                               type, index);
        if ((needs & S_NEED_CHILD) && (job->parent <= 0 || job->call <= 0 ||
                                       job->parent != msg->jobs[0].parent))
            return zj_why_fail(ZJ_EPROTO, why,
                               "%s: job %zu: needs 'parent' and 'call' >= 1, "
                               "one parent for all jobs",
                               type, index);
    }
    return 0;
}

static int
s_need(bool present, const zj_msg_t *msg, const char *field, char *why)
{
    if (present)
        return 0;
    return zj_why_fail(ZJ_EPROTO, why, "%s: field '%s' missing",
                       zj_msg_type_name(msg->type), field);
}

//  HELLO, and a DRAIN request or reply: one worker, with a name.
static int
s_check_one_worker(const zj_msg_t *msg, char *why)
{
    if (msg->worker_count != 1)
        return zj_why_fail(ZJ_EPROTO, why, "%s: %zu workers, expected 1",
                           zj_msg_type_name(msg->type), msg->worker_count);
    const char *name = msg->workers[0].name;
    return s_need(name && *name, msg, "name", why);
}

//  SCHEDULE: an op; add names a schedule with a kind and one of every_ms
//  (at least ZJ_MIN_EVERY_MS) and cron; rm names one; every record
//  carries its name.
static int
s_check_schedule_msg(const zj_msg_t *msg, char *why)
{
    int rc = s_need(msg->req > 0, msg, "req", why);
    if (rc || (rc = s_need(msg->op != NULL, msg, "op", why)))
        return rc;
    bool add = (strcmp(msg->op, "add") == 0), rm = (strcmp(msg->op, "rm") == 0);
    if (!add && !rm && !(strcmp(msg->op, "list") == 0))
        return zj_why_fail(ZJ_EPROTO, why,
                           "SCHEDULE: op must be add, rm or list");
    if ((add || rm) && msg->job_count != 1)
        return zj_why_fail(ZJ_EPROTO, why, "SCHEDULE %s: %zu jobs, expected 1",
                           msg->op, msg->job_count);
    for (size_t index = 0; index < msg->job_count; index++) {
        const zj_job_t *job = &msg->jobs[index];
        if (job->schedule == NULL)
            return zj_why_fail(ZJ_EPROTO, why,
                               "SCHEDULE: job %zu: field 'schedule' missing",
                               index);
        if (!add)
            continue;
        if (job->kind == NULL)
            return zj_why_fail(ZJ_EPROTO, why,
                               "SCHEDULE add: field 'kind' missing");
        if ((job->every_ms > 0) == (job->cron != NULL))
            return zj_why_fail(ZJ_EPROTO, why,
                               "SCHEDULE add: give one of every_ms and cron");
        if (job->every_ms > 0 && job->every_ms < ZJ_MIN_EVERY_MS)
            return zj_why_fail(ZJ_EPROTO, why,
                               "SCHEDULE add: every_ms %" PRId64
                               " is under %d (1 s)",
                               job->every_ms, ZJ_MIN_EVERY_MS);
    }
    return 0;
}

//  Required fields per type (PROTOCOL.md, "Messages").
static int
s_check_type(const zj_msg_t *msg, char *why)
{
    bool req = msg->req > 0;
    int rc = 0;
    switch (msg->type) {
    case ZJ_MSG_SUBMIT:
        if (!(rc = s_need(req, msg, "req", why)))
            rc = s_need_jobs(msg, 1, S_NEED_KIND, why);
        return rc;
    case ZJ_MSG_SPAWN:
        if (!(rc = s_need(req, msg, "req", why)))
            rc = s_need_jobs(msg, 1, S_NEED_KIND | S_NEED_CHILD | S_NO_UNIQUE,
                             why);
        return rc;
    case ZJ_MSG_SUBMITTED:
    case ZJ_MSG_SPAWNED:
    case ZJ_MSG_AWAIT:
        if (!(rc = s_need(req, msg, "req", why)))
            rc = s_need(msg->id_count > 0, msg, "ids", why);
        return rc;
    case ZJ_MSG_RESOLVED:
        if (!(rc = s_need(req, msg, "req", why)))
            rc = s_need_jobs(msg, 0, S_NEED_ID | S_NEED_FINAL, why);
        return rc;
    case ZJ_MSG_DONE:
    case ZJ_MSG_STATUS:
    case ZJ_MSG_LIST:
    case ZJ_MSG_WORKERS:
        return s_need(req, msg, "req", why);
    case ZJ_MSG_CANCEL:
        //  A request (or a worker's CANCEL) names ids; a reply to one
        //  without req carries its jobs only.
        if (!(rc = s_need(req || msg->id_count > 0 || msg->job_count > 0, msg,
                          "ids", why)))
            rc = s_need_jobs(msg, 0, S_NEED_ID, why);
        return rc;
    case ZJ_MSG_HELLO:
        return s_check_one_worker(msg, why);
    case ZJ_MSG_DRAIN:
        //  To a worker it carries nothing; to and from a client, its req
        //  and the one worker.
        return msg->req > 0 || msg->worker_count > 0
                   ? s_check_one_worker(msg, why)
                   : 0;
    case ZJ_MSG_LIMIT:
        if (!(rc = s_need(req, msg, "req", why)) && msg->limit_count != 1)
            rc = zj_why_fail(ZJ_EPROTO, why, "LIMIT: %zu limits, expected 1",
                             msg->limit_count);
        return rc;
    case ZJ_MSG_LIMITS:
        return s_need(req, msg, "req", why);
    case ZJ_MSG_WELCOME:
        return s_need(msg->heartbeat_ms > 0, msg, "heartbeat_ms", why);
    case ZJ_MSG_JOBS:
        return s_need_jobs(msg, 1, S_NEED_ID | S_NEED_KIND, why);
    case ZJ_MSG_RESULTS:
        return s_need_jobs(msg, 0, S_NEED_ID | S_NEED_FINAL, why);
    case ZJ_MSG_PROGRESS:
    case ZJ_MSG_LOG:
        return s_need_jobs(msg, 1, S_NEED_ID, why);
    case ZJ_MSG_LOGS:
        //  A request names its job; a reply carries it.
        if (!(rc = s_need(req, msg, "req", why)))
            rc = s_need(msg->id_count > 0 || msg->job_count > 0, msg, "ids",
                        why);
        return rc;
    case ZJ_MSG_PURGE:
        //  A request may name a final state only; a reply carries count.
        if (!(rc = s_need(req, msg, "req", why)) && msg->state &&
            !zj_state_is_final(zj_state_from_name(msg->state)))
            rc = zj_why_fail(ZJ_EPROTO, why,
                             "PURGE: state '%s' is not a final state",
                             msg->state);
        return rc;
    case ZJ_MSG_RETRY:
        if (!(rc = s_need(req, msg, "req", why)))
            rc = s_need(msg->id_count > 0, msg, "ids", why);
        return rc;
    case ZJ_MSG_STATS:
        return s_need(req, msg, "req", why);
    case ZJ_MSG_HEARTBEAT:
        if (msg->unacked < 0 || msg->blocked_ms < 0)
            return zj_why_fail(ZJ_EPROTO, why,
                               "HEARTBEAT: unacked and blocked_ms are >= 0");
        return 0;
    case ZJ_MSG_BYE:
        return 0;
    case ZJ_MSG_ERROR:
        if (!zj_err_is_valid(msg->code))
            return zj_why_fail(ZJ_EPROTO, why,
                               "ERROR: code %d is not a ZJ_E* code",
                               (int) msg->code);
        return s_need(msg->reason != NULL, msg, "reason", why);
    case ZJ_MSG_ACK:
        return s_need(msg->id_count > 0, msg, "ids", why);
    case ZJ_MSG_SCHEDULE:
        return s_check_schedule_msg(msg, why);
    default:
        return zj_why_fail(ZJ_EPROTO, why, "unknown type %d", (int) msg->type);
    }
}

int
zj_msg_check(const zj_msg_t *msg, char *why)
{
    assert(zj_msg_is(msg));
    char scratch[ZJ_WHY_SIZE];
    if (why == NULL)
        why = scratch;
    int rc = s_check_fields(msg, why);
    return rc ? rc : s_check_type(msg, why);
}
