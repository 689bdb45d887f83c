//  progress.c - running jobs' latest progress (see progress.h).
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "common/idmap.h"
#include "proto/limits.h"
#include "worker/progress.h"

struct zj_progress {
    zj_idmap_t *pending;     //  id -> zj_job_t * (the report), owned
    int64_t sent_ms;         //  When the last PROGRESS was taken
    zj_progress_due_fn *due; //  Tells the loop
    void *due_arg;           //  Its argument
};

zj_progress_t *
zj_progress_new(zj_progress_due_fn *due, void *arg)
{
    zj_progress_t *self = calloc(1, sizeof *self);
    assert(self);
    self->pending = zj_idmap_new();
    self->due = due;
    self->due_arg = arg;
    return self;
}

static void
s_report_free(zj_job_t *report)
{
    zj_job_clear(report);
    free(report);
}

void
zj_progress_destroy(zj_progress_t **self_p)
{
    assert(self_p);
    zj_progress_t *self = *self_p;
    if (self == NULL)
        return;
    zj_job_t *report;
    while ((report = zj_idmap_first(self->pending))) {
        zj_idmap_delete(self->pending, report->id);
        s_report_free(report);
    }
    zj_idmap_destroy(&self->pending);
    free(self);
    *self_p = NULL;
}

//  text cut to ZJ_MAX_PROGRESS_TEXT bytes, not inside a UTF-8 character.
static char *
s_cut(const char *text)
{
    size_t size = strlen(text);
    if (size > ZJ_MAX_PROGRESS_TEXT) {
        size = ZJ_MAX_PROGRESS_TEXT;
        while (size > 0 && ((unsigned char) text[size] & 0xc0) == 0x80)
            size--;
    }
    char *cut = malloc(size + 1);
    assert(cut);
    memcpy(cut, text, size);
    cut[size] = '\0';
    return cut;
}

void
zj_progress_note(zj_progress_t *self, int64_t id, int32_t attempt, int64_t done,
                 int64_t total, const char *text)
{
    assert(self && id > 0);
    zj_job_t *report = zj_idmap_lookup(self->pending, id);
    bool first = zj_idmap_size(self->pending) == 0;
    if (report == NULL) {
        report = calloc(1, sizeof *report);
        assert(report);
        report->id = id;
        zj_idmap_insert(self->pending, id, report);
    }
    report->attempts = attempt;
    report->progress_done = done > 0 ? done : 0;
    report->progress_total = total > 0 ? total : 0;
    free(report->progress_text);
    report->progress_text = text ? s_cut(text) : NULL;
    if (first && self->due) {
        int64_t wait = self->sent_ms + ZJ_PROGRESS_SEND_MS - zj_mono_ms();
        self->due(self->due_arg, wait > 0 ? wait : 0);
    }
}

zj_msg_t *
zj_progress_take(zj_progress_t *self, int64_t now_ms)
{
    assert(self);
    if (zj_idmap_size(self->pending) == 0)
        return NULL;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_PROGRESS);
    zj_job_t *report;
    while (msg->job_count < ZJ_MAX_BATCH &&
           (report = zj_idmap_first(self->pending))) {
        zj_idmap_delete(self->pending, report->id);
        zj_job_t *entry = zj_msg_add_job(msg);
        *entry = *report; //  Takes its strings
        free(report);
    }
    self->sent_ms = now_ms;
    if (zj_idmap_size(self->pending) > 0 && self->due)
        self->due(self->due_arg, ZJ_PROGRESS_SEND_MS); //  The rest, next
    return msg;
}

bool
zj_progress_has(const zj_progress_t *self, int64_t id)
{
    assert(self);
    return zj_idmap_lookup(self->pending, id) != NULL;
}

size_t
zj_progress_pending(const zj_progress_t *self)
{
    assert(self);
    return zj_idmap_size(self->pending);
}
