//  zjob_records.c - libzjob's record queries: status, list, workers and
//  cancel, each one or more requests pipelined through zjob_exchange.c,
//  and the public views (zjob_job_t, zjob_worker_t) of the records the
//  replies carry. zjob_await.c and zjob_future.c share the job view.
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/zjob_internal.h"
#include "common/err.h"
#include "proto/limits.h"

typedef struct {
    const int64_t *ids;         //  Ids asked about (status, cancel)
    size_t count;               //  Entries in ids
    zj_msg_type_t type;         //  Request type
    const char *state;          //  LIST: state filter or NULL
    int32_t limit;              //  LIST: most rows
    int64_t parent;             //  LIST: only this job's children, or 0
    bool forget;                //  WORKERS: delete those not connected
    const char *name;           //  DRAIN: the worker
    int64_t older_than_ms;      //  PURGE: the age of the jobs to delete
    const char *kind;           //  PURGE: their kind, or NULL
    int64_t *deleted;           //  PURGE: the jobs deleted, summed
    const zj_kind_limit_t *set; //  LIMIT: the kind, what to set
    bool clear;                 //  LIMIT: remove its limits first
    zjob_limit_fn *limit_fn;    //  Called per kind's limits
    int64_t *new_ids;           //  RETRY: the new jobs' ids, count of them
    char **stats_p;             //  STATS: the report's JSON text, malloc'd
    const zjob_list_filter_t *filter; //  LIST: the filters past state
    int64_t next_before;              //  LIST: the last part's before
    zjob_job_fn *job_fn;              //  Called per job record
    zjob_worker_fn *worker_fn;        //  Called per worker
    void *arg;                        //  The caller's pointer
} s_query_t;

void
zj_client_job_view(const zj_job_t *job, zjob_job_t *view)
{
    *view = (zjob_job_t){.id = job->id,
                         .kind = job->kind,
                         .args = job->args,
                         .state = zj_state_name(job->state),
                         .priority = job->priority,
                         .attempts = job->attempts,
                         .max_attempts = job->max_attempts,
                         .timeout_ms = job->timeout_ms,
                         .not_before = job->not_before,
                         .worker = job->worker,
                         .created_at = job->created_at,
                         .started_at = job->started_at,
                         .finished_at = job->finished_at,
                         .result = job->result,
                         .error = job->error,
                         .after = job->after,
                         .after_count = job->after_count,
                         .parent = job->parent,
                         .progress_done = job->progress_done,
                         .progress_total = job->progress_total,
                         .progress_text = job->progress_text,
                         .progress_at = job->progress_at,
                         .log = job->log,
                         .held = job->held,
                         .retry_of = job->retry_of};
}

static int
s_worker_view(const zj_worker_info_t *info, s_query_t *query)
{
    zjob_kind_t *kinds = calloc(info->kind_count + 1, sizeof *kinds);
    if (kinds == NULL)
        return ZJ_ENOMEM;
    for (size_t index = 0; index < info->kind_count; index++)
        kinds[index] = (zjob_kind_t){info->kinds[index].name,
                                     zj_class_name(info->kinds[index].klass)};
    zjob_worker_t view = {.name = info->name,
                          .host = info->host,
                          .pid = info->pid,
                          .state = info->state,
                          .running = info->running,
                          .io_slots = info->io_slots,
                          .cpu_slots = info->cpu_slots,
                          .suspended = info->suspended,
                          .max_suspended = info->max_suspended,
                          .kinds = kinds,
                          .kind_count = info->kind_count,
                          .connected_at = info->connected_at,
                          .last_seen = info->last_seen};
    query->worker_fn(query->arg, &view);
    free(kinds);
    return 0;
}

//  Builds request number batch: ids[batch * ZJ_MAX_BATCH ...] for STATUS
//  and CANCEL, the filter for LIST, nothing for WORKERS.
static zj_msg_t *
s_build_query(void *arg, size_t batch)
{
    s_query_t *query = arg;
    zj_msg_t *msg = zj_msg_new(query->type);
    size_t first = batch * ZJ_MAX_BATCH;
    for (size_t index = first;
         index < query->count && index < first + ZJ_MAX_BATCH; index++)
        zj_msg_add_id(msg, query->ids[index]);
    if (query->state)
        msg->state = strdup(query->state);
    msg->limit = query->limit;
    msg->parent = query->parent;
    msg->forget = query->forget;
    if (query->filter) {
        const zjob_list_filter_t *filter = query->filter;
        msg->kind = filter->kind ? strdup(filter->kind) : NULL;
        msg->worker = filter->worker ? strdup(filter->worker) : NULL;
        msg->since_ms = filter->since_ms;
        msg->before = filter->before;
    }
    if (query->name)
        zj_msg_add_worker(msg)->name = strdup(query->name);
    msg->older_than_ms = query->older_than_ms;
    if (query->kind)
        msg->kind = strdup(query->kind);
    if (query->set) {
        zj_kind_limit_t *limit = zj_msg_add_limit(msg);
        *limit = *query->set;
        limit->kind = strdup(query->set->kind);
    }
    msg->clear = query->clear;
    return msg;
}

static int
s_handle_query(void *arg, size_t batch, const zj_msg_t *reply)
{
    s_query_t *query = arg;
    if (query->deleted)
        *query->deleted += reply->count;
    if (!reply->more)
        query->next_before = reply->before;
    if (query->stats_p && reply->stats && *query->stats_p == NULL) {
        *query->stats_p = strdup(reply->stats);
        if (*query->stats_p == NULL)
            return ZJ_ENOMEM;
    }
    if (query->new_ids) {
        size_t first = batch * ZJ_MAX_BATCH;
        size_t asked = query->count - first < ZJ_MAX_BATCH
                           ? query->count - first
                           : ZJ_MAX_BATCH;
        if (reply->id_count != asked)
            return ZJ_EPROTO;
        memcpy(query->new_ids + first, reply->ids, asked * sizeof(int64_t));
    }
    for (size_t index = 0; query->job_fn && index < reply->job_count; index++) {
        zjob_job_t view;
        zj_client_job_view(&reply->jobs[index], &view);
        query->job_fn(query->arg, &view);
    }
    for (size_t index = 0; query->worker_fn && index < reply->worker_count;
         index++) {
        int rc = s_worker_view(&reply->workers[index], query);
        if (rc)
            return rc;
    }
    for (size_t index = 0; query->limit_fn && index < reply->limit_count;
         index++) {
        const zj_kind_limit_t *limit = &reply->limits[index];
        zjob_limit_t view = {.kind = limit->kind,
                             .concurrency = limit->concurrency,
                             .rate = limit->rate,
                             .burst = limit->burst,
                             .running = limit->running,
                             .updated_at = limit->updated_at};
        query->limit_fn(query->arg, &view);
    }
    return 0;
}

static int
s_query(zjob_client_t *self, s_query_t *query)
{
    zj_client_begin(self);
    for (size_t index = 0; index < query->count; index++)
        if (query->ids[index] <= 0)
            return zj_client_fail(self, ZJ_EUSAGE, "bad job id %lld",
                                  (long long) query->ids[index]);
    size_t batches = (query->count + ZJ_MAX_BATCH - 1) / ZJ_MAX_BATCH;
    if (query->ids == NULL)
        batches = 1;
    int rc = zj_client_exchange(self, batches, query->type, s_build_query,
                                s_handle_query, query);
    return zj_client_end(self, rc);
}

//  STATUS or CANCEL (type) of ids[count], in batches of ZJ_MAX_BATCH.
static int
s_query_ids(zjob_client_t *self, zj_msg_type_t type, const int64_t *ids,
            size_t count, zjob_job_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    if (ids == NULL || count == 0)
        return zj_client_fail(self, ZJ_EUSAGE, "no job ids");
    s_query_t query = {
        .ids = ids, .count = count, .type = type, .job_fn = fn, .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_status(zjob_client_t *self, const int64_t *ids, size_t count,
                   zjob_job_fn *fn, void *arg)
{
    return s_query_ids(self, ZJ_MSG_STATUS, ids, count, fn, arg);
}

//  LIST: jobs in state (NULL: any), the children of parent (0: all jobs).
static int
s_list(zjob_client_t *self, int64_t parent, const char *state, int32_t limit,
       zjob_job_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    if (state && zj_state_from_name(state) == ZJ_STATE_NONE)
        return zj_client_fail(self, ZJ_EUSAGE, "unknown state '%.40s'", state);
    if (limit < 0)
        return zj_client_fail(self, ZJ_EUSAGE, "limit must be >= 0");
    s_query_t query = {.type = ZJ_MSG_LIST,
                       .parent = parent,
                       .state = state,
                       .limit = limit,
                       .job_fn = fn,
                       .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_list(zjob_client_t *self, const char *state, int32_t limit,
                 zjob_job_fn *fn, void *arg)
{
    return s_list(self, 0, state, limit, fn, arg);
}

int
zjob_client_list_filtered(zjob_client_t *self, const zjob_list_filter_t *filter,
                          zjob_job_fn *fn, void *arg, int64_t *next_before)
{
    assert(self && filter && fn);
    if (next_before)
        *next_before = 0;
    if (filter->states && zj_states_from_names(filter->states) == 0)
        return zj_client_fail(self, ZJ_EUSAGE, "unknown state '%.40s'",
                              filter->states);
    if (filter->kind && !zj_kind_name_is_valid(filter->kind))
        return zj_client_fail(self, ZJ_EUSAGE, "bad kind name '%.40s'",
                              filter->kind);
    if (filter->worker &&
        (*filter->worker == '\0' || strlen(filter->worker) > ZJ_MAX_TEXT))
        return zj_client_fail(self, ZJ_EUSAGE, "bad worker name");
    if (filter->limit < 0 || filter->since_ms < 0 || filter->before < 0)
        return zj_client_fail(self, ZJ_EUSAGE,
                              "limit, since_ms and before must be >= 0");
    s_query_t query = {.type = ZJ_MSG_LIST,
                       .state = filter->states,
                       .limit = filter->limit,
                       .filter = filter,
                       .job_fn = fn,
                       .arg = arg};
    int rc = s_query(self, &query);
    if (rc == 0 && next_before)
        *next_before = query.next_before;
    return rc;
}

int
zjob_client_children(zjob_client_t *self, int64_t parent, const char *state,
                     int32_t limit, zjob_job_fn *fn, void *arg)
{
    if (parent < 1)
        return zj_client_fail(self, ZJ_EUSAGE, "parent must be a job id >= 1");
    return s_list(self, parent, state, limit, fn, arg);
}

int
zjob_client_log(zjob_client_t *self, int64_t id, zjob_job_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    return s_query_ids(self, ZJ_MSG_LOGS, &id, 1, fn, arg);
}

int
zjob_client_workers(zjob_client_t *self, zjob_worker_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    s_query_t query = {.type = ZJ_MSG_WORKERS, .worker_fn = fn, .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_drain(zjob_client_t *self, const char *name, zjob_worker_fn *fn,
                  void *arg)
{
    assert(self);
    assert(fn);
    if (name == NULL || *name == '\0')
        return zj_client_fail(self, ZJ_EUSAGE, "no worker name");
    s_query_t query = {
        .type = ZJ_MSG_DRAIN, .name = name, .worker_fn = fn, .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_purge(zjob_client_t *self, int64_t older_than_ms, const char *state,
                  const char *kind, int64_t *deleted)
{
    assert(self && deleted);
    *deleted = 0;
    if (older_than_ms < 0)
        return zj_client_fail(self, ZJ_EUSAGE, "a negative age");
    if (state && !zj_state_is_final(zj_state_from_name(state)))
        return zj_client_fail(self, ZJ_EUSAGE,
                              "'%s' is not a final state (succeeded, "
                              "failed, cancelled)",
                              state);
    if (kind && !zj_kind_name_is_valid(kind))
        return zj_client_fail(self, ZJ_EUSAGE, "'%s' is not a kind name", kind);
    s_query_t query = {.type = ZJ_MSG_PURGE,
                       .older_than_ms = older_than_ms,
                       .state = state,
                       .kind = kind,
                       .deleted = deleted};
    return s_query(self, &query);
}

int
zjob_client_forget_workers(zjob_client_t *self, zjob_worker_fn *fn, void *arg)
{
    assert(self);
    assert(fn);
    s_query_t query = {
        .type = ZJ_MSG_WORKERS, .forget = true, .worker_fn = fn, .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_retry(zjob_client_t *self, const int64_t *ids, size_t count,
                  int64_t *new_ids)
{
    assert(self);
    assert(new_ids);
    if (ids == NULL || count == 0)
        return zj_client_fail(self, ZJ_EUSAGE, "no job ids");
    s_query_t query = {
        .ids = ids, .count = count, .type = ZJ_MSG_RETRY, .new_ids = new_ids};
    return s_query(self, &query);
}

int
zjob_client_stats(zjob_client_t *self, char **stats_p)
{
    assert(self);
    assert(stats_p);
    *stats_p = NULL;
    s_query_t query = {.type = ZJ_MSG_STATS, .stats_p = stats_p};
    int rc = s_query(self, &query);
    if (rc == 0 && *stats_p == NULL)
        rc = zj_client_fail(self, ZJ_EPROTO, "STATS reply without stats");
    if (rc) {
        free(*stats_p);
        *stats_p = NULL;
    }
    return rc;
}

int
zjob_client_cancel(zjob_client_t *self, const int64_t *ids, size_t count,
                   zjob_job_fn *fn, void *arg)
{
    return s_query_ids(self, ZJ_MSG_CANCEL, ids, count, fn, arg);
}

int
zjob_client_limit(zjob_client_t *self, const char *kind, int32_t concurrency,
                  double rate, bool clear, zjob_limit_fn *fn, void *arg)
{
    assert(self);
    if (!zj_kind_name_is_valid(kind))
        return zj_client_fail(self, ZJ_EUSAGE,
                              "bad kind name (1..%d of [A-Za-z0-9_.:-])",
                              ZJ_MAX_KIND);
    if (concurrency < -1 || concurrency > ZJ_MAX_CONCURRENCY)
        return zj_client_fail(self, ZJ_EUSAGE, "concurrency %d is not 0..%d",
                              (int) concurrency, ZJ_MAX_CONCURRENCY);
    if (!(rate == 0 || (rate >= ZJ_MIN_RATE && rate <= ZJ_MAX_RATE)))
        return zj_client_fail(self, ZJ_EUSAGE,
                              "rate %g/s is not between one a day and %g/s",
                              rate, ZJ_MAX_RATE);
    zj_kind_limit_t set = {
        .kind = (char *) kind, .concurrency = concurrency, .rate = rate};
    s_query_t query = {.type = ZJ_MSG_LIMIT,
                       .set = &set,
                       .clear = clear,
                       .limit_fn = fn,
                       .arg = arg};
    return s_query(self, &query);
}

int
zjob_client_limits(zjob_client_t *self, zjob_limit_fn *fn, void *arg)
{
    assert(self && fn);
    s_query_t query = {.type = ZJ_MSG_LIMITS, .limit_fn = fn, .arg = arg};
    return s_query(self, &query);
}
