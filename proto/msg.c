//  msg.c - the zj_msg_t class: building, freeing and naming messages.
//  Plain data handling only; the wire form lives in proto/codec.c. Used by
//  all three programs to build messages before zj_msg_encode and to read
//  what zj_msg_decode returns.
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    free(self->state);
    free(self->reason);
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
