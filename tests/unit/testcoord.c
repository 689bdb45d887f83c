//  testcoord.c - the coordinator's state without its loop (see
//  testcoord.h).
#include <check.h>

#include "common/idmap.h"
#include "tests/unit/testcoord.h"
#include "tests/unit/testdb.h"

static void
s_recover_one(void *arg, const zj_job_t *job)
{
    zj_lifecycle_recover(arg, job);
}

zj_testcoord_t *
zj_testcoord_new(void)
{
    zj_testcoord_t *self = calloc(1, sizeof *self);
    ck_assert_ptr_nonnull(self);
    self->store = zj_testdb_store();
    self->futures = zj_futures_new();
    self->scheduler = zj_scheduler_new();
    self->peers = zj_peers_new();
    self->deadlines = zj_deadlines_new(1000);
    self->deps = zj_deps_new();
    self->kids = zj_deps_new();
    self->stops = zlistx_new();
    self->progressed = zj_idmap_new();
    self->stats = zj_stats_new();
    self->listing = zj_listing_new();
    self->outbox = zj_outbox_new();
    self->schedules = zj_schedules_new();
    self->throttle = zj_throttle_new();
    zj_limits_defaults(&self->limits);
    //  No loss spread: a lost job is ready again at once here.
    self->jobs = (zj_lifecycle_t){.store = self->store,
                                  .futures = self->futures,
                                  .scheduler = self->scheduler,
                                  .peers = self->peers,
                                  .deadlines = self->deadlines,
                                  .deps = self->deps,
                                  .kids = self->kids,
                                  .stops = self->stops,
                                  .progressed = self->progressed,
                                  .max_losses = ZJ_MAX_LOSSES,
                                  .throttle = self->throttle,
                                  .stats = self->stats};
    self->worker_ep = (zj_worker_ep_t){.jobs = &self->jobs,
                                       .outbox = self->outbox,
                                       .limits = &self->limits,
                                       .heartbeat_ms = 1000,
                                       .liveness = 3};
    self->retention = zj_retention_new(self->store, self->futures, 0, NULL);
    self->client_ep =
        (zj_client_ep_t){&self->jobs, self->outbox, self->retention,
                         self->schedules, self->listing};
    self->schedule_ep =
        (zj_schedule_ep_t){&self->jobs, self->outbox, self->schedules};
    int64_t requeued = 0;
    ck_assert_int_eq(
        zj_store_recover(self->store, s_recover_one, &self->jobs, &requeued),
        0);
    zj_lifecycle_recovered(&self->jobs);
    ck_assert_int_eq(zj_schedule_ep_load(&self->schedule_ep), 0);
    ck_assert_int_eq(zj_store_commit(self->store), 0);
    ck_assert(zj_lifecycle_invariants_hold(&self->jobs));
    return self;
}

void
zj_testcoord_destroy(zj_testcoord_t **self_p)
{
    zj_testcoord_t *self = *self_p;
    if (self == NULL)
        return;
    zj_worker_ep_close(&self->worker_ep);
    zj_futures_reap(self->futures);
    zj_outbox_destroy(&self->outbox);
    zj_retention_destroy(&self->retention);
    zj_peers_destroy(&self->peers);
    zj_scheduler_destroy(&self->scheduler);
    zj_deadlines_destroy(&self->deadlines);
    zj_throttle_destroy(&self->throttle);
    zj_deps_destroy(&self->deps);
    zj_deps_destroy(&self->kids);
    zj_stop_t *stop;
    while ((stop = zlistx_detach(self->stops, NULL)))
        zj_stop_destroy(&stop);
    zlistx_destroy(&self->stops);
    zj_idmap_destroy(&self->progressed);
    zj_stats_destroy(&self->stats);
    zj_listing_destroy(&self->listing);
    zj_futures_destroy(&self->futures);
    zj_schedules_destroy(&self->schedules);
    zj_store_destroy(&self->store);
    ck_assert_ptr_null(self->outbox);
    ck_assert_ptr_null(self->peers);
    ck_assert_ptr_null(self->store);
    free(self);
    *self_p = NULL;
}

static void
s_offer(zj_worker_info_t *info, size_t index, const char *kind,
        zj_class_t klass)
{
    info->kinds[index].name = strdup(kind);
    info->kinds[index].klass = klass;
}

zj_peer_t *
zj_testcoord_hello(zj_testcoord_t *self, const char *name, int32_t io_slots,
                   int32_t cpu_slots)
{
    zj_msg_t *hello = zj_msg_new(ZJ_MSG_HELLO);
    zj_worker_info_t *info = zj_msg_add_worker(hello);
    info->name = strdup(name);
    info->io_slots = io_slots;
    info->cpu_slots = cpu_slots;
    info->kinds = calloc(3, sizeof *info->kinds);
    s_offer(info, 0, "echo", ZJ_CLASS_IO);
    s_offer(info, 1, "sha256", ZJ_CLASS_CPU);
    info->kind_count = 2;
    zj_testcoord_from_worker(self, name, hello);
    zj_msg_destroy(&hello);
    zj_msg_t *welcome = zj_testcoord_take(self, ZJ_TO_WORKER, ZJ_MSG_WELCOME);
    ck_assert_ptr_nonnull(welcome);
    zj_msg_destroy(&welcome);
    zj_peer_t *peer = zj_peers_find_name(self->peers, name);
    ck_assert_ptr_nonnull(peer);
    return peer;
}

int64_t
zj_testcoord_submit(zj_testcoord_t *self, const char *kind,
                    int32_t max_attempts)
{
    zj_job_t spec = {.kind = (char *) kind,
                     .args = "{\"n\": 1}",
                     .max_attempts = max_attempts,
                     .backoff_ms = 1};
    int64_t id = zj_lifecycle_submit(&self->jobs, &spec);
    ck_assert_int_gt(id, 0);
    return id;
}

void
zj_testcoord_from_worker(zj_testcoord_t *self, const char *name, zj_msg_t *msg)
{
    zframe_t *identity = zframe_new(name, strlen(name));
    zj_worker_ep_handle(&self->worker_ep, identity, NULL, msg);
    zframe_destroy(&identity);
}

zj_msg_t *
zj_testcoord_results(uint64_t req, int64_t id, int32_t attempt,
                     zj_state_t state)
{
    zj_msg_t *results = zj_msg_new(ZJ_MSG_RESULTS);
    results->req = req;
    zj_job_t *entry = zj_msg_add_job(results);
    entry->id = id;
    entry->attempts = attempt;
    entry->state = state;
    if (state == ZJ_STATE_SUCCEEDED)
        entry->result = strdup("{\"n\": 1}");
    else
        entry->error = strdup("boom");
    return results;
}

zj_msg_t *
zj_testcoord_take(zj_testcoord_t *self, zj_side_t side, zj_msg_type_t type)
{
    zj_side_t from = ZJ_TO_CLIENT;
    zj_msg_t *msg;
    while ((msg = zj_outbox_take(self->outbox, &from))) {
        if (from == side && msg->type == type)
            return msg;
        zj_msg_destroy(&msg);
    }
    return NULL;
}

size_t
zj_testcoord_count(zj_testcoord_t *self, zj_state_t state)
{
    size_t count = 0;
    for (zj_future_t *future = zj_futures_first(self->futures); future;
         future = zj_futures_next(self->futures))
        count += future->job.state == state;
    return count;
}

zj_state_t
zj_testcoord_stored(zj_testcoord_t *self, int64_t id, int32_t *attempts)
{
    ck_assert_int_eq(zj_store_commit(self->store), 0);
    zj_job_t job = {0};
    ck_assert_int_eq(zj_store_get_job(self->store, id, &job), 0);
    zj_state_t state = job.state;
    if (attempts)
        *attempts = job.attempts;
    zj_job_clear(&job);
    return state;
}

size_t
zj_testcoord_dispatch(zj_testcoord_t *self)
{
    zj_worker_ep_dispatch(&self->worker_ep);
    ck_assert(zj_lifecycle_invariants_hold(&self->jobs));
    size_t jobs = 0;
    zj_msg_t *msg;
    while ((msg = zj_testcoord_take(self, ZJ_TO_WORKER, ZJ_MSG_JOBS))) {
        jobs += msg->job_count;
        zj_msg_destroy(&msg);
    }
    return jobs;
}
