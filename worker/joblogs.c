//  joblogs.c - running jobs' log text, gathered per turn (see joblogs.h).
#include <assert.h>
#include <czmq.h>
#include <stdbool.h>

#include "common/idmap.h"
#include "proto/limits.h"
#include "worker/joblogs.h"

#define ZJ_JOBLOGS_CUT                                                         \
    "\n[zjob: --max-log reached; the rest of this attempt's output was "       \
    "dropped]\n"
#define ZJ_JOBLOGS_CHUNK (16 * 1024) //  Bytes of log per LOG entry, at most
#define ZJ_JOBLOGS_BYTES                                                       \
    (48 * 1024) //  Bytes of log per LOG, about: under
                //  the least --max-message (64 KiB)

//  One job's attempt.
typedef struct {
    int64_t id;
    int32_t attempt;
    size_t written; //  Bytes this attempt wrote, kept or not
    char *text;     //  Not taken yet, or NULL
    size_t size;    //  Bytes in text
    bool cut;       //  The cut line was written
    bool ended;     //  The job ended: forget it once taken
} s_log_t;

struct zj_joblogs {
    zj_idmap_t *logs;  //  id -> s_log_t *, owned
    zlistx_t *pending; //  s_log_t * with text, in the order they wrote
    size_t max_bytes;  //  Per attempt
};

zj_joblogs_t *
zj_joblogs_new(size_t max_bytes)
{
    assert(max_bytes > 0);
    zj_joblogs_t *self = calloc(1, sizeof *self);
    assert(self);
    self->logs = zj_idmap_new();
    self->pending = zlistx_new();
    self->max_bytes = max_bytes;
    return self;
}

static void
s_log_free(s_log_t *log)
{
    free(log->text);
    free(log);
}

void
zj_joblogs_destroy(zj_joblogs_t **self_p)
{
    assert(self_p);
    zj_joblogs_t *self = *self_p;
    if (self == NULL)
        return;
    zlistx_destroy(&self->pending);
    s_log_t *log;
    while ((log = zj_idmap_first(self->logs))) {
        zj_idmap_delete(self->logs, log->id);
        s_log_free(log);
    }
    zj_idmap_destroy(&self->logs);
    free(self);
    *self_p = NULL;
}

//  Adds size bytes to what log has not sent yet.
static void
s_append(zj_joblogs_t *self, s_log_t *log, const char *text, size_t size)
{
    if (size == 0)
        return;
    if (log->text == NULL)
        zlistx_add_end(self->pending, log);
    log->text = realloc(log->text, log->size + size + 1);
    assert(log->text);
    //  A NUL would end the text early: what a process writes may hold one.
    for (size_t index = 0; index < size; index++)
        log->text[log->size + index] = text[index] ? text[index] : '?';
    log->size += size;
    log->text[log->size] = '\0';
}

//  The job's entry for attempt: a new attempt starts a new one.
static s_log_t *
s_entry(zj_joblogs_t *self, int64_t id, int32_t attempt)
{
    s_log_t *log = zj_idmap_lookup(self->logs, id);
    if (log && log->attempt != attempt) {
        log->attempt = attempt;
        log->written = 0;
        log->cut = false;
        log->ended = false;
    }
    if (log == NULL) {
        log = calloc(1, sizeof *log);
        assert(log);
        log->id = id;
        log->attempt = attempt;
        zj_idmap_insert(self->logs, id, log);
    }
    return log;
}

void
zj_joblogs_write(zj_joblogs_t *self, int64_t id, int32_t attempt,
                 const char *text, size_t size)
{
    assert(self && id > 0 && (text || size == 0));
    if (size == 0)
        return;
    s_log_t *log = s_entry(self, id, attempt);
    if (log->written == 0 && attempt > 1) {
        char header[64];
        int length = snprintf(header, sizeof header, "--- attempt %d ---\n",
                              (int) attempt);
        s_append(self, log, header, (size_t) length);
    }
    size_t room =
        log->written < self->max_bytes ? self->max_bytes - log->written : 0;
    log->written += size;
    s_append(self, log, text, size < room ? size : room);
    if (size > room && !log->cut) {
        log->cut = true;
        s_append(self, log, ZJ_JOBLOGS_CUT, strlen(ZJ_JOBLOGS_CUT));
    }
}

void
zj_joblogs_end(zj_joblogs_t *self, int64_t id)
{
    assert(self);
    s_log_t *log = zj_idmap_lookup(self->logs, id);
    if (log == NULL)
        return;
    if (log->text) {
        log->ended = true; //  Forgotten once taken
        return;
    }
    zj_idmap_delete(self->logs, id);
    s_log_free(log);
}

//  Bytes of text to send in one entry: up to ZJ_JOBLOGS_CHUNK, not inside
//  a UTF-8 character.
static size_t
s_chunk(const char *text, size_t size)
{
    if (size <= ZJ_JOBLOGS_CHUNK)
        return size;
    size_t take = ZJ_JOBLOGS_CHUNK;
    while (take > ZJ_JOBLOGS_CHUNK - 4 &&
           ((unsigned char) text[take] & 0xc0) == 0x80)
        take--;
    return take;
}

zj_msg_t *
zj_joblogs_take(zj_joblogs_t *self)
{
    assert(self);
    if (zlistx_size(self->pending) == 0)
        return NULL;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_LOG);
    size_t bytes = 0;
    s_log_t *log;
    while (msg->job_count < ZJ_MAX_BATCH && bytes < ZJ_JOBLOGS_BYTES &&
           (log = zlistx_first(self->pending))) {
        size_t take = s_chunk(log->text, log->size);
        zj_job_t *entry = zj_msg_add_job(msg);
        entry->id = log->id;
        entry->attempts = log->attempt;
        entry->log = strndup(log->text, take);
        assert(entry->log);
        bytes += take;
        log->size -= take;
        memmove(log->text, log->text + take, log->size + 1);
        if (log->size > 0)
            continue; //  The rest goes in the next entry, or LOG
        zlistx_detach(self->pending, NULL);
        free(log->text);
        log->text = NULL;
        if (log->ended) {
            zj_idmap_delete(self->logs, log->id);
            s_log_free(log);
        }
    }
    return msg;
}

size_t
zj_joblogs_pending(const zj_joblogs_t *self)
{
    assert(self);
    return zlistx_size(self->pending);
}
