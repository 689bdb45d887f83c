//  listing.c - LIST with filters: at once through the indexes, or a scan
//  in bounded steps (see listing.h).
#include <assert.h>
#include <czmq.h>

#include "common/duration.h"
#include "common/err.h"
#include "coordinator/listing.h"
#include "proto/limits.h"

#define S_PART_BYTES (4 * 1024 * 1024) //  A part closes past this (client_ep)

//  A reply being sent in parts to one request.
typedef struct {
    zframe_t *identity; //  The client, owned
    uint64_t req;       //  Its request
    zj_msg_t *part;     //  The part being filled
    size_t bytes;       //  About what part holds
    int64_t sent_ms;    //  When the last part left
} s_sink_t;

//  A LIST parked between turns.
typedef struct {
    s_sink_t sink;           //  Its reply
    zj_list_filter_t filter; //  What it wants
    int64_t cursor;          //  Rows below this id are still to read
    int found;               //  Jobs sent or in the part
    int64_t last_found;      //  The last of them
    int64_t next_before;     //  The next page's before, once known
    size_t read;             //  Rows read in this step
    bool done;               //  Nothing more to read
} s_scan_t;

struct zj_listing {
    zlistx_t *scans; //  s_scan_t *, the longest parked first
};

static void
s_sink_init(s_sink_t *sink, zframe_t *identity, uint64_t req, int64_t now_ms)
{
    *sink = (s_sink_t){zframe_dup(identity), req, zj_msg_new(ZJ_MSG_LIST), 0,
                       now_ms};
    sink->part->req = req;
}

static size_t
s_text_bytes(const char *text)
{
    return text ? strlen(text) : 0;
}

//  Sends the part; more says another follows (then a new part starts).
static void
s_sink_send(s_sink_t *sink, zj_outbox_t *outbox, bool more, int64_t now_ms)
{
    zj_msg_t *part = sink->part;
    part->more = more;
    sink->part = NULL;
    if (more) {
        sink->part = zj_msg_new(ZJ_MSG_LIST);
        sink->part->req = sink->req;
    }
    zj_outbox_send(outbox, ZJ_TO_CLIENT, sink->identity, &part);
    sink->bytes = 0;
    sink->sent_ms = now_ms;
}

//  Adds a copy of job, sending the part first if it is full.
static void
s_sink_add(s_sink_t *sink, zj_outbox_t *outbox, const zj_job_t *job,
           int64_t now_ms)
{
    if (sink->part->job_count == ZJ_MAX_BATCH || sink->bytes >= S_PART_BYTES)
        s_sink_send(sink, outbox, true, now_ms);
    zj_job_copy(zj_msg_add_job(sink->part), job);
    sink->bytes += 128 + s_text_bytes(job->kind) + s_text_bytes(job->args) +
                   s_text_bytes(job->result) + s_text_bytes(job->error) +
                   s_text_bytes(job->worker);
}

static void
s_sink_clear(s_sink_t *sink)
{
    zframe_destroy(&sink->identity);
    zj_msg_destroy(&sink->part);
}

void
zj_list_filter_clear(zj_list_filter_t *filter)
{
    assert(filter);
    free(filter->kind);
    free(filter->worker);
    *filter = (zj_list_filter_t){0};
}

bool
zj_list_filter_scans(const zj_list_filter_t *filter)
{
    assert(filter);
    return filter->kind || filter->worker || filter->since > 0;
}

//  --- At once, through the indexes

typedef struct {
    zj_job_t *jobs; //  Copies, owned
    size_t count;   //  Entries in jobs
} s_rows_t;

static void
s_collect(void *arg, const zj_job_t *job)
{
    s_rows_t *rows = arg;
    rows->jobs = realloc(rows->jobs, (rows->count + 1) * sizeof *rows->jobs);
    assert(rows->jobs);
    zj_job_copy(&rows->jobs[rows->count++], job);
}

static int
s_newest_first(const void *left, const void *right)
{
    int64_t a = ((const zj_job_t *) left)->id;
    int64_t b = ((const zj_job_t *) right)->id;
    return a < b ? 1 : a > b ? -1 : 0;
}

int
zj_listing_indexed(zj_store_t *store, zj_outbox_t *outbox, zframe_t *identity,
                   uint64_t req, const zj_list_filter_t *filter)
{
    assert(store && outbox && identity && filter);
    assert(!zj_list_filter_scans(filter) && filter->limit > 0);
    assert(filter->before > 0);
    //  limit + 1 of each state: the one past limit says more exist.
    s_rows_t rows = {NULL, 0};
    int rc = 0;
    if (filter->states == 0)
        rc = zj_store_list_before(store, ZJ_STATE_NONE, filter->before,
                                  filter->limit + 1, s_collect, &rows);
    for (int state = ZJ_STATE_QUEUED; rc == 0 && state <= ZJ_STATE_CANCELLED;
         state++)
        if (filter->states & (1u << state))
            rc = zj_store_list_before(store, (zj_state_t) state, filter->before,
                                      filter->limit + 1, s_collect, &rows);
    if (rc == 0) {
        if (rows.count > 1) //  qsort takes no NULL, even for no rows
            qsort(rows.jobs, rows.count, sizeof *rows.jobs, s_newest_first);
        s_sink_t sink;
        s_sink_init(&sink, identity, req, 0);
        size_t shown = rows.count < (size_t) filter->limit
                           ? rows.count
                           : (size_t) filter->limit;
        for (size_t index = 0; index < shown; index++)
            s_sink_add(&sink, outbox, &rows.jobs[index], 0);
        if (rows.count > shown)
            sink.part->before = rows.jobs[shown - 1].id;
        s_sink_send(&sink, outbox, false, 0);
        s_sink_clear(&sink);
    }
    for (size_t index = 0; index < rows.count; index++)
        zj_job_clear(&rows.jobs[index]);
    free(rows.jobs);
    return rc;
}

//  --- A scan in steps

static void
s_scan_destroy(s_scan_t **scan_p)
{
    s_scan_t *scan = *scan_p;
    if (scan == NULL)
        return;
    s_sink_clear(&scan->sink);
    zj_list_filter_clear(&scan->filter);
    free(scan);
    *scan_p = NULL;
}

static void
s_scan_free(void **item)
{
    s_scan_destroy((s_scan_t **) item);
}

zj_listing_t *
zj_listing_new(void)
{
    zj_listing_t *self = calloc(1, sizeof *self);
    assert(self);
    self->scans = zlistx_new();
    assert(self->scans);
    zlistx_set_destructor(self->scans, s_scan_free);
    return self;
}

void
zj_listing_destroy(zj_listing_t **self_p)
{
    assert(self_p);
    zj_listing_t *self = *self_p;
    if (self == NULL)
        return;
    zlistx_destroy(&self->scans);
    free(self);
    *self_p = NULL;
}

int
zj_listing_start(zj_listing_t *self, zframe_t *identity, uint64_t req,
                 zj_list_filter_t *filter)
{
    assert(self && identity && filter && filter->limit > 0);
    if (zlistx_size(self->scans) >= ZJ_LIST_MAX_SCANS)
        return ZJ_ETOOBIG;
    s_scan_t *scan = calloc(1, sizeof *scan);
    assert(scan);
    s_sink_init(&scan->sink, identity, req, zj_mono_ms());
    scan->filter = *filter;
    *filter = (zj_list_filter_t){0};
    scan->cursor = scan->filter.before;
    zlistx_add_end(self->scans, scan);
    return 0;
}

static bool
s_matches(const zj_list_filter_t *filter, const zj_job_t *job)
{
    return (filter->states == 0 || (filter->states & (1u << job->state))) &&
           (filter->kind == NULL || streq(filter->kind, job->kind)) &&
           (filter->worker == NULL ||
            (job->worker && streq(filter->worker, job->worker)));
}

typedef struct {
    s_scan_t *scan;
    zj_outbox_t *outbox;
    int64_t now_ms;
} s_step_t;

//  One row of a scan: ids grow with created_at, so the first row created
//  before since ends it; so does a match past limit, which says more
//  exist.
static bool
s_scan_row(void *arg, const zj_job_t *job)
{
    s_step_t *step = arg;
    s_scan_t *scan = step->scan;
    scan->read++;
    const zj_list_filter_t *filter = &scan->filter;
    if (filter->since > 0 && job->created_at < filter->since) {
        scan->done = true;
        return false;
    }
    if (!s_matches(filter, job))
        return true;
    if (scan->found == filter->limit) {
        scan->next_before = scan->last_found;
        scan->done = true;
        return false;
    }
    s_sink_add(&scan->sink, step->outbox, job, step->now_ms);
    scan->found++;
    scan->last_found = job->id;
    return true;
}

size_t
zj_listing_step(zj_listing_t *self, zj_store_t *store, zj_outbox_t *outbox,
                int rows, int64_t now_ms)
{
    assert(self && store && outbox && rows > 0);
    s_scan_t *scan = zlistx_first(self->scans);
    if (scan == NULL)
        return 0;
    s_step_t step = {scan, outbox, now_ms};
    scan->read = 0;
    int64_t last_id = 0;
    int rc = zj_store_scan_jobs(store, scan->cursor, rows, s_scan_row, &step,
                                &last_id);
    if (rc != 0) {
        zj_outbox_error(outbox, ZJ_TO_CLIENT, scan->sink.identity,
                        scan->sink.req, ZJ_ESTORE, zj_store_last_error(store));
        zlistx_delete(self->scans, zlistx_cursor(self->scans));
        return zlistx_size(self->scans);
    }
    if (scan->read < (size_t) rows)
        scan->done = true; //  The oldest row was read
    else if (!scan->done && scan->found == scan->filter.limit) {
        //  Full, and no match past it in this step: the rest of the
        //  table is not read just to say whether one exists.
        scan->next_before = scan->last_found;
        scan->done = true;
    }
    scan->cursor = last_id;
    if (scan->done) {
        scan->sink.part->before = scan->next_before;
        s_sink_send(&scan->sink, outbox, false, now_ms);
        zlistx_delete(self->scans, zlistx_cursor(self->scans));
    } else {
        if (now_ms - scan->sink.sent_ms >= ZJ_LIST_KEEPALIVE_MS)
            s_sink_send(&scan->sink, outbox, true, now_ms);
        zlistx_move_end(self->scans, zlistx_cursor(self->scans));
    }
    return zlistx_size(self->scans);
}

size_t
zj_listing_pending(const zj_listing_t *self)
{
    assert(self);
    return zlistx_size(self->scans);
}
