//  retention.c - the --keep sweep and zjob purge (see retention.h).
#include <assert.h>
#include <inttypes.h>
#include <libgen.h>
#include <string.h>
#include <sys/statvfs.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "coordinator/retention.h"

#define ZJ_DISK_CHECK_MS 60000        //  How often free space is looked at
#define ZJ_DISK_LOW_BYTES (1LL << 30) //  Below this free, or below
#define ZJ_DISK_LOW_PERCENT 5         //  ... this share, warn

//  What the --keep sweep walks, in this order, each a chunk a step.
typedef enum {
    ZJ_PHASE_JOBS,   //  Final jobs finished before the cutoff
    ZJ_PHASE_TOKENS, //  SUBMIT tokens made before it
    ZJ_PHASE_KEYS    //  Unique keys whose window has passed
} zj_phase_t;

//  One sweep over the jobs, a chunk a step.
typedef struct {
    zj_sweep_filter_t filter; //  Its kind is owned here
    double cutoff;            //  Unix seconds: finished before it go
    int64_t cursor;           //  The last id looked at; 0 = a new pass
    int64_t deleted;          //  Jobs deleted by this pass
    int64_t told;             //  ... of which a purge's client was told
    int64_t part_ms;          //  When a purge's last part went
    zframe_t *identity;       //  A purge's client, or NULL (--keep)
    uint64_t req;             //  ... and its request
} zj_sweep_t;

struct zj_retention {
    zj_store_t *store;
    zj_futures_t *futures;
    int64_t keep_ms;              //  0: for ever
    const char *db_path;          //  Borrowed, or NULL
    zj_sweep_t keep;              //  The --keep sweep
    zj_phase_t phase;             //  ... what it sweeps now
    char token[ZJ_MAX_TOKEN + 1]; //  The last token looked at
    char key[ZJ_MAX_UNIQUE + 1];  //  Where the next keys' chunk starts
    zlistx_t *purges;             //  zj_sweep_t *, the first one running
    int64_t next_ms;              //  The --keep sweep's next step
    int64_t deleted;              //  Since the start
    int64_t logged;               //  ... when last logged
    int64_t log_ms;               //  When deletes were last logged
    int64_t disk_ms;              //  When free space was last looked at
    zj_store_row_t rows[ZJ_RETENTION_CHUNK];
};

static void
s_sweep_destroy(zj_sweep_t **sweep_p)
{
    zj_sweep_t *sweep = *sweep_p;
    if (sweep == NULL)
        return;
    free((char *) sweep->filter.kind);
    zframe_destroy(&sweep->identity);
    free(sweep);
    *sweep_p = NULL;
}

static void
s_sweep_free(void **item_p)
{
    s_sweep_destroy((zj_sweep_t **) item_p);
}

zj_retention_t *
zj_retention_new(zj_store_t *store, zj_futures_t *futures, int64_t keep_ms,
                 const char *db_path)
{
    assert(store && futures && keep_ms >= 0);
    zj_retention_t *self = calloc(1, sizeof *self);
    assert(self);
    self->store = store;
    self->futures = futures;
    self->keep_ms = keep_ms;
    self->db_path = db_path;
    self->keep.filter.age_ms = keep_ms;
    self->purges = zlistx_new();
    assert(self->purges);
    zlistx_set_destructor(self->purges, s_sweep_free);
    return self;
}

void
zj_retention_destroy(zj_retention_t **self_p)
{
    assert(self_p);
    zj_retention_t *self = *self_p;
    if (self == NULL)
        return;
    zlistx_destroy(&self->purges);
    free(self);
    *self_p = NULL;
}

int
zj_retention_purge(zj_retention_t *self, zframe_t *identity, uint64_t req,
                   const zj_sweep_filter_t *filter)
{
    assert(self && identity && filter && filter->age_ms >= 0);
    assert(filter->state == ZJ_STATE_NONE || zj_state_is_final(filter->state));
    if (zlistx_size(self->purges) >= ZJ_MAX_PURGES)
        return ZJ_ETOOBIG;
    zj_sweep_t *sweep = calloc(1, sizeof *sweep);
    assert(sweep);
    sweep->filter = *filter;
    sweep->filter.kind = filter->kind ? strdup(filter->kind) : NULL;
    sweep->cutoff = zj_now() - (double) filter->age_ms / 1000;
    sweep->identity = zframe_dup(identity);
    sweep->req = req;
    zlistx_add_end(self->purges, sweep);
    return 0;
}

int64_t
zj_retention_next(const zj_retention_t *self)
{
    assert(self);
    if (!zj_store_is_writable(self->store))
        return 0; //  Steps wait for the store's retry, on the tick
    if (zlistx_size(self->purges) > 0)
        return 1;
    return self->keep_ms > 0 ? (self->next_ms > 0 ? self->next_ms : 1) : 0;
}

int64_t
zj_retention_deleted(const zj_retention_t *self)
{
    assert(self);
    return self->deleted;
}

//  Whether row may go now under sweep's filters and the rules that keep
//  jobs others still need.
static bool
s_goes(zj_retention_t *self, const zj_sweep_t *sweep, const zj_store_row_t *row)
{
    if (!zj_state_is_final(row->state) || row->finished_at <= 0 ||
        row->finished_at >= sweep->cutoff)
        return false;
    if (sweep->filter.state != ZJ_STATE_NONE &&
        row->state != sweep->filter.state)
        return false;
    if (sweep->filter.kind && strcmp(row->kind, sweep->filter.kind) != 0)
        return false;
    if (row->id >= zj_store_next_id(self->store) - 1)
        return false; //  The newest job: ids are never handed out twice
    if (zj_futures_pinned(self->futures, row->id))
        return false;
    return row->parent == 0 ||
           zj_futures_find(self->futures, row->parent) == NULL;
}

//  Deletes the run of jobs rows[first..end) (all may go); counts them.
static void
s_delete_run(zj_retention_t *self, size_t first, size_t end, int64_t *deleted)
{
    if (first < end && zj_store_delete_jobs(self->store, self->rows[first].id,
                                            self->rows[end - 1].id) == 0)
        *deleted += (int64_t) (end - first);
}

//  One chunk of sweep: returns true when the pass ended (it reached the
//  last job, or jobs made after its cutoff, which cannot have finished
//  before it); *deleted counts this chunk's deletes. Jobs that go side by
//  side are deleted as one range.
static bool
s_sweep_chunk(zj_retention_t *self, zj_sweep_t *sweep, int64_t *deleted)
{
    size_t count = 0;
    if (zj_store_rows_after(self->store, sweep->cursor, self->rows,
                            ZJ_RETENTION_CHUNK, &count) != 0)
        return false; //  Tried again at the next step
    size_t run = 0, index = 0;
    bool ended = count < ZJ_RETENTION_CHUNK;
    for (; index < count; index++) {
        const zj_store_row_t *row = &self->rows[index];
        if (row->created_at >= sweep->cutoff) {
            ended = true;
            break;
        }
        sweep->cursor = row->id;
        if (!s_goes(self, sweep, row)) {
            s_delete_run(self, run, index, deleted);
            run = index + 1;
        }
    }
    s_delete_run(self, run, index, deleted);
    return ended;
}

//  A part of a purge's reply: the jobs deleted since the last part. The
//  last part has no more.
static void
s_reply(zj_sweep_t *sweep, zj_outbox_t *outbox, bool more)
{
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_PURGE);
    reply->req = sweep->req;
    reply->count = sweep->deleted - sweep->told;
    reply->more = more;
    sweep->told = sweep->deleted;
    zj_outbox_send(outbox, ZJ_TO_CLIENT, sweep->identity, &reply);
}

//  The end of a purge, logged.
static void
s_log_purge(const zj_sweep_t *sweep)
{
    zj_log_info("purge done deleted=%" PRId64 " older_than_ms=%" PRId64
                " state=%s kind=%s",
                sweep->deleted, sweep->filter.age_ms,
                sweep->filter.state ? zj_state_name(sweep->filter.state)
                                    : "any",
                sweep->filter.kind ? sweep->filter.kind : "any");
}

//  A chunk of the first purge; while it goes on, a part of its reply
//  every ZJ_RETENTION_PART_MS, so its client knows it is alive.
static void
s_purge_step(zj_retention_t *self, int64_t now_ms, zj_outbox_t *outbox)
{
    zj_sweep_t *sweep = zlistx_first(self->purges);
    if (sweep->part_ms == 0)
        sweep->part_ms = now_ms;
    int64_t deleted = 0;
    bool ended = s_sweep_chunk(self, sweep, &deleted);
    sweep->deleted += deleted;
    self->deleted += deleted;
    if (!ended) {
        if (now_ms - sweep->part_ms >= ZJ_RETENTION_PART_MS) {
            s_reply(sweep, outbox, true);
            sweep->part_ms = now_ms;
        }
        return;
    }
    s_reply(sweep, outbox, false);
    s_log_purge(sweep);
    zlistx_delete(self->purges, zlistx_cursor(self->purges));
}

//  A chunk of old SUBMIT tokens: true when the tokens' pass ended;
//  *expired counts a chunk that deleted some.
static bool
s_token_step(zj_retention_t *self, int64_t *expired)
{
    char last[ZJ_MAX_TOKEN + 1];
    bool end = false, some = false;
    if (zj_store_expire_tokens(self->store, self->token, ZJ_RETENTION_CHUNK,
                               self->keep.cutoff, last, &end, &some) != 0)
        return false;
    snprintf(self->token, sizeof self->token, "%s", end ? "" : last);
    *expired = some;
    return end;
}

//  Once a minute: what the --keep sweep deleted.
static void
s_log(zj_retention_t *self, int64_t now_ms)
{
    if (now_ms - self->log_ms < ZJ_RETENTION_LOG_MS ||
        self->deleted == self->logged)
        return;
    int64_t bytes = 0, free_bytes = 0;
    zj_store_size(self->store, &bytes, &free_bytes);
    zj_log_info("retention deleted=%" PRId64 " store_mb=%" PRId64
                " free_pages_mb=%" PRId64 " keep_ms=%" PRId64,
                self->deleted - self->logged, bytes >> 20, free_bytes >> 20,
                self->keep_ms);
    self->logged = self->deleted;
    self->log_ms = now_ms;
}

//  Once a minute: warn when the store's disk is nearly full.
static void
s_check_disk(zj_retention_t *self, int64_t now_ms)
{
    if (self->db_path == NULL || now_ms - self->disk_ms < ZJ_DISK_CHECK_MS)
        return;
    self->disk_ms = now_ms;
    char path[4096];
    snprintf(path, sizeof path, "%s", self->db_path);
    struct statvfs disk;
    if (statvfs(dirname(path), &disk) != 0 || disk.f_blocks == 0)
        return;
    int64_t total = (int64_t) disk.f_blocks * (int64_t) disk.f_frsize;
    int64_t avail = (int64_t) disk.f_bavail * (int64_t) disk.f_frsize;
    if (avail >= ZJ_DISK_LOW_BYTES &&
        avail * 100 >= total * ZJ_DISK_LOW_PERCENT)
        return;
    int64_t bytes = 0, free_bytes = 0;
    zj_store_size(self->store, &bytes, &free_bytes);
    zj_log_warning("disk nearly full db=%s free_mb=%" PRId64 " of_mb=%" PRId64
                   " store_mb=%" PRId64 " keep_ms=%" PRId64
                   ": lower --keep or run zjob purge",
                   self->db_path, avail >> 20, total >> 20, bytes >> 20,
                   self->keep_ms);
}

//  A chunk of expired unique keys (their window is theirs, not --keep's):
//  true when the keys' pass ended; *expired counts a chunk that deleted
//  some.
static bool
s_key_step(zj_retention_t *self, int64_t *expired)
{
    int deleted = 0;
    if (zj_store_expire_unique(self->store, self->key, ZJ_RETENTION_CHUNK,
                               zj_now(), self->key, &deleted) != 0)
        return false;
    *expired = deleted > 0;
    return self->key[0] == '\0';
}

//  One chunk of the phase the --keep sweep is in; true when it ended.
static bool
s_phase_step(zj_retention_t *self, int64_t *deleted, int64_t *expired)
{
    switch (self->phase) {
    case ZJ_PHASE_JOBS:
        return s_sweep_chunk(self, &self->keep, deleted);
    case ZJ_PHASE_TOKENS:
        return s_token_step(self, expired);
    case ZJ_PHASE_KEYS:
        return s_key_step(self, expired);
    }
    assert(!"unknown phase");
    return true;
}

//  A step of the --keep sweep: jobs, then tokens, then unique keys, then
//  a rest.
static void
s_keep_step(zj_retention_t *self, int64_t now_ms)
{
    if (self->keep.cursor == 0 && self->phase == ZJ_PHASE_JOBS) {
        self->keep.cutoff = zj_now() - (double) self->keep_ms / 1000;
        self->keep.deleted = 0;
    }
    int64_t deleted = 0, expired = 0;
    bool ended = s_phase_step(self, &deleted, &expired);
    self->keep.deleted += deleted;
    self->deleted += deleted;
    if (!ended) {
        //  At once while rows go; slowly over rows that stay.
        self->next_ms =
            deleted + expired > 0 ? now_ms : now_ms + ZJ_RETENTION_SLOW_MS;
        return;
    }
    self->keep.cursor = 0;
    if (self->phase != ZJ_PHASE_KEYS) {
        self->phase++;
        self->next_ms = now_ms;
        return;
    }
    self->phase = ZJ_PHASE_JOBS;
    self->next_ms = now_ms + ZJ_RETENTION_REST_MS;
    s_log(self, now_ms);
}

void
zj_retention_step(zj_retention_t *self, int64_t now_ms, zj_outbox_t *outbox)
{
    assert(self && outbox);
    s_check_disk(self, now_ms);
    if (!zj_store_is_writable(self->store))
        return;
    if (zlistx_size(self->purges) > 0)
        s_purge_step(self, now_ms, outbox);
    else if (self->keep_ms > 0 && now_ms >= self->next_ms)
        s_keep_step(self, now_ms);
}
