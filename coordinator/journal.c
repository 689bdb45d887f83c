//  journal.c - the store's uncommitted writes in one byte buffer (see
//  journal.h). A write is laid out as its zj_write_t, the fixed struct it
//  uses (pointers and all: replay points them at the strings), then each
//  string as a length (0 = NULL, else strlen + 1) and its bytes with the
//  NUL. Values are read back with memcpy, so nothing needs alignment.
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/journal.h"

#define ZJ_JOURNAL_KEEP (16 * 1024 * 1024) //  Larger buffers are freed

struct zj_journal {
    char *data;      //  The writes, back to back
    size_t size;     //  Bytes used
    size_t capacity; //  Bytes allocated
    size_t count;    //  Writes held
};

zj_journal_t *
zj_journal_new(void)
{
    zj_journal_t *self = calloc(1, sizeof *self);
    assert(self);
    return self;
}

void
zj_journal_destroy(zj_journal_t **self_p)
{
    assert(self_p);
    if (*self_p) {
        free((*self_p)->data);
        free(*self_p);
        *self_p = NULL;
    }
}

static void
s_put(zj_journal_t *self, const void *bytes, size_t size)
{
    if (self->size + size > self->capacity) {
        size_t capacity = self->capacity ? self->capacity : 4096;
        while (capacity < self->size + size)
            capacity *= 2;
        self->data = realloc(self->data, capacity);
        assert(self->data);
        self->capacity = capacity;
    }
    memcpy(self->data + self->size, bytes, size);
    self->size += size;
}

static void
s_put_string(zj_journal_t *self, const char *text)
{
    uint32_t length = text ? (uint32_t) strlen(text) + 1 : 0;
    s_put(self, &length, sizeof length);
    if (length)
        s_put(self, text, length);
}

//  A job's after ids, at an offset aligned for int64_t (data comes from
//  malloc, aligned for any type), so that reading gives them in place.
static void
s_put_after(zj_journal_t *self, const zj_job_t *job)
{
    if (job->after_count == 0)
        return;
    static const char padding[sizeof(int64_t)] = {0};
    size_t pad =
        (sizeof(int64_t) - self->size % sizeof(int64_t)) % sizeof(int64_t);
    s_put(self, padding, pad);
    s_put(self, job->after, job->after_count * sizeof(int64_t));
}

static void
s_put_job(zj_journal_t *self, const zj_job_t *job)
{
    s_put(self, job, sizeof *job);
    s_put_after(self, job);
    s_put_string(self, job->kind);
    s_put_string(self, job->args);
    s_put_string(self, job->worker);
    s_put_string(self, job->result);
    s_put_string(self, job->error);
    s_put_string(self, job->progress_text);
    s_put_string(self, job->log);
    s_put_string(self, job->schedule);
    s_put_string(self, job->cron);
    s_put_string(self, job->unique);
}

//  Whether a write carries a worker (else a job).
static bool
s_is_worker_write(zj_write_t what)
{
    return what == ZJ_WRITE_SAVE_WORKER || what == ZJ_WRITE_WORKER_STATE ||
           what == ZJ_WRITE_DELETE_WORKER;
}

static void
s_put_worker(zj_journal_t *self, const zj_worker_info_t *info)
{
    s_put(self, info, sizeof *info);
    s_put_string(self, info->name);
    s_put_string(self, info->host);
    s_put_string(self, info->state);
    for (size_t index = 0; index < info->kind_count; index++) {
        s_put(self, &info->kinds[index].klass, sizeof info->kinds[0].klass);
        s_put_string(self, info->kinds[index].name);
    }
}

void
zj_journal_add(zj_journal_t *self, const zj_write_entry_t *entry)
{
    assert(self && entry);
    s_put(self, &entry->what, sizeof entry->what);
    if (s_is_worker_write(entry->what))
        s_put_worker(self, &entry->worker);
    else
        s_put_job(self, &entry->job);
    self->count++;
}

size_t
zj_journal_mark(const zj_journal_t *self)
{
    assert(self);
    return self->size;
}

//  Counts the writes in the first size bytes.
static size_t s_count_to(const zj_journal_t *self, size_t size);

void
zj_journal_truncate(zj_journal_t *self, size_t mark)
{
    assert(self && mark <= self->size);
    self->size = mark;
    self->count = s_count_to(self, mark);
}

void
zj_journal_clear(zj_journal_t *self)
{
    assert(self);
    if (self->capacity > ZJ_JOURNAL_KEEP) {
        free(self->data);
        self->data = NULL;
        self->capacity = 0;
    }
    self->size = 0;
    self->count = 0;
}

size_t
zj_journal_count(const zj_journal_t *self)
{
    assert(self);
    return self->count;
}

//  A read position in the journal.
typedef struct {
    const char *at;
    const char *data; //  The journal's first byte
} zj_reader_t;

static void
s_get(zj_reader_t *reader, void *bytes, size_t size)
{
    memcpy(bytes, reader->at, size);
    reader->at += size;
}

static char *
s_get_string(zj_reader_t *reader)
{
    uint32_t length;
    s_get(reader, &length, sizeof length);
    char *text = length ? (char *) reader->at : NULL;
    reader->at += length;
    return text;
}

static void
s_get_job(zj_reader_t *reader, zj_job_t *job)
{
    s_get(reader, job, sizeof *job);
    job->after = NULL;
    if (job->after_count) {
        size_t offset = (size_t) (reader->at - reader->data);
        reader->at +=
            (sizeof(int64_t) - offset % sizeof(int64_t)) % sizeof(int64_t);
        job->after = (int64_t *) (void *) reader->at;
        reader->at += job->after_count * sizeof(int64_t);
    }
    job->kind = s_get_string(reader);
    job->args = s_get_string(reader);
    job->worker = s_get_string(reader);
    job->result = s_get_string(reader);
    job->error = s_get_string(reader);
    job->progress_text = s_get_string(reader);
    job->log = s_get_string(reader);
    job->schedule = s_get_string(reader);
    job->cron = s_get_string(reader);
    job->held = NULL; //  Never journaled: replies only
    job->unique = s_get_string(reader);
}

//  Reads a worker; its kinds go into kinds, which the caller frees.
static void
s_get_worker(zj_reader_t *reader, zj_worker_info_t *info, zj_kind_t **kinds)
{
    s_get(reader, info, sizeof *info);
    info->name = s_get_string(reader);
    info->host = s_get_string(reader);
    info->state = s_get_string(reader);
    *kinds = NULL;
    if (info->kind_count) {
        *kinds = calloc(info->kind_count, sizeof **kinds);
        assert(*kinds);
    }
    for (size_t index = 0; index < info->kind_count; index++) {
        s_get(reader, &(*kinds)[index].klass, sizeof(*kinds)[index].klass);
        (*kinds)[index].name = s_get_string(reader);
    }
    info->kinds = *kinds;
}

//  Reads the write at reader into *entry; *kinds as for s_get_worker.
static void
s_get_entry(zj_reader_t *reader, zj_write_entry_t *entry, zj_kind_t **kinds)
{
    memset(entry, 0, sizeof *entry);
    *kinds = NULL;
    s_get(reader, &entry->what, sizeof entry->what);
    if (s_is_worker_write(entry->what))
        s_get_worker(reader, &entry->worker, kinds);
    else
        s_get_job(reader, &entry->job);
}

static size_t
s_count_to(const zj_journal_t *self, size_t size)
{
    zj_reader_t reader = {self->data, self->data};
    size_t count = 0;
    while (reader.at < self->data + size) {
        zj_write_entry_t entry;
        zj_kind_t *kinds;
        s_get_entry(&reader, &entry, &kinds);
        free(kinds);
        count++;
    }
    return count;
}

int
zj_journal_replay(const zj_journal_t *self, zj_journal_fn *fn, void *arg)
{
    return zj_journal_replay_from(self, 0, fn, arg);
}

int
zj_journal_replay_from(const zj_journal_t *self, size_t mark, zj_journal_fn *fn,
                       void *arg)
{
    assert(self && fn && mark <= self->size);
    zj_reader_t reader = {self->data + mark, self->data};
    int rc = 0;
    while (rc == 0 && reader.at < self->data + self->size) {
        zj_write_entry_t entry;
        zj_kind_t *kinds;
        s_get_entry(&reader, &entry, &kinds);
        rc = fn(arg, &entry);
        free(kinds);
    }
    return rc;
}
