//  schedule_ep.c - SCHEDULE requests and fires (see schedule_ep.h).
#include <inttypes.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "coordinator/schedule_ep.h"
#include "coordinator/store_schedules.h"
#include "proto/limits.h"

static void
s_error(zj_schedule_ep_t *self, zframe_t *identity, uint64_t req, int code,
        const char *reason)
{
    zj_outbox_error(self->outbox, ZJ_TO_CLIENT, identity, req, code, reason);
}

//  A reply of op carrying records.
static void
s_reply(zj_schedule_ep_t *self, zframe_t *identity, const zj_msg_t *msg,
        const zj_job_t **records, size_t count)
{
    zj_msg_t *reply = zj_msg_new(ZJ_MSG_SCHEDULE);
    reply->req = msg->req;
    reply->op = strdup(msg->op);
    for (size_t index = 0; index < count; index++)
        zj_job_copy(zj_msg_add_job(reply), records[index]);
    zj_outbox_send(self->outbox, ZJ_TO_CLIENT, identity, &reply);
}

//  A change is acknowledged only once it is in the store: while the
//  store cannot be written, refuse it.
static bool
s_refuse_change(zj_schedule_ep_t *self, zframe_t *identity, const zj_msg_t *msg)
{
    zj_store_t *store = self->jobs->store;
    if (zj_store_is_writable(store))
        return false;
    char reason[ZJ_WHY_SIZE];
    snprintf(reason, sizeof reason,
             "the coordinator cannot write its store (%.150s): schedule "
             "unchanged",
             zj_store_last_error(store));
    s_error(self, identity, msg->req, ZJ_ESTORE, reason);
    return true;
}

//  The record of a new schedule: the definition from the request, its
//  first run one period (or the cron's next minute) from now.
static zj_job_t
s_new_record(const zj_job_t *spec, const zj_job_t *old, double now)
{
    zj_job_t record = {
        .schedule = spec->schedule,
        .every_ms = spec->every_ms,
        .cron = spec->every_ms > 0 ? NULL : spec->cron,
        .kind = spec->kind,
        .args = spec->args,
        .priority = spec->priority,
        .max_attempts = spec->max_attempts,
        .timeout_ms = spec->timeout_ms,
        .backoff_ms = spec->backoff_ms,
        .created_at = old ? old->created_at : now,
        .started_at = old ? old->started_at : 0,
        .id = old ? old->id : 0,
    };
    record.not_before = zj_schedules_next_run(&record, now, now);
    return record;
}

static void
s_add(zj_schedule_ep_t *self, zframe_t *identity, const zj_msg_t *msg)
{
    const zj_job_t *spec = &msg->jobs[0];
    const zj_job_t *old = zj_schedules_find(self->schedules, spec->schedule);
    char reason[ZJ_WHY_SIZE] = "";
    if (old && !msg->replace) {
        snprintf(reason, sizeof reason,
                 "schedule '%s' exists (remove it, or add it with replace)",
                 spec->schedule);
        s_error(self, identity, msg->req, ZJ_ESTATE, reason);
        return;
    }
    if (s_refuse_change(self, identity, msg))
        return;
    zj_job_t record = s_new_record(spec, old, zj_now());
    if (record.not_before <= 0) {
        s_error(self, identity, msg->req, ZJ_EUSAGE,
                "cron: the expression matches no time in the next 28 years");
        return;
    }
    const zj_job_t *kept = zj_schedules_put(self->schedules, &record, reason);
    if (kept == NULL) {
        s_error(self, identity, msg->req, ZJ_ETOOBIG, reason);
        return;
    }
    if (zj_store_save_schedule(self->jobs->store, kept) != 0) {
        zj_schedules_remove(self->schedules, spec->schedule);
        s_error(self, identity, msg->req, ZJ_ESTORE,
                zj_store_last_error(self->jobs->store));
        return;
    }
    zj_log_info("schedule added name=%s kind=%s every_ms=%" PRId64
                " cron='%s' next_at=%.3f replaced=%s",
                kept->schedule, kept->kind, kept->every_ms,
                kept->cron ? kept->cron : "", kept->not_before,
                old ? "yes" : "no");
    s_reply(self, identity, msg, &kept, 1);
}

static void
s_rm(zj_schedule_ep_t *self, zframe_t *identity, const zj_msg_t *msg)
{
    const char *name = msg->jobs[0].schedule;
    const zj_job_t *old = zj_schedules_find(self->schedules, name);
    if (old == NULL) {
        char reason[ZJ_WHY_SIZE];
        snprintf(reason, sizeof reason, "no schedule named '%s'", name);
        s_error(self, identity, msg->req, ZJ_ENOTFOUND, reason);
        return;
    }
    if (s_refuse_change(self, identity, msg))
        return;
    if (zj_store_delete_schedule(self->jobs->store, name) != 0) {
        s_error(self, identity, msg->req, ZJ_ESTORE,
                zj_store_last_error(self->jobs->store));
        return;
    }
    zj_job_t removed;
    zj_job_copy(&removed, old);
    zj_schedules_remove(self->schedules, name);
    zj_log_info("schedule removed name=%s", name);
    const zj_job_t *records[] = {&removed};
    s_reply(self, identity, msg, records, 1);
    zj_job_clear(&removed);
}

static void
s_list(zj_schedule_ep_t *self, zframe_t *identity, const zj_msg_t *msg)
{
    size_t count = 0;
    const zj_job_t **records = zj_schedules_list(self->schedules, &count);
    s_reply(self, identity, msg, records, count);
    free(records);
}

void
zj_schedule_ep_handle(zj_schedule_ep_t *self, zframe_t *identity,
                      const zj_msg_t *msg)
{
    assert(self && identity && msg && msg->type == ZJ_MSG_SCHEDULE);
    assert(msg->op); //  zj_msg_check saw to it
    if (streq(msg->op, "add"))
        s_add(self, identity, msg);
    else if (streq(msg->op, "rm"))
        s_rm(self, identity, msg);
    else
        s_list(self, identity, msg);
}

static void
s_load_one(void *arg, const zj_job_t *row)
{
    zj_schedule_ep_t *self = arg;
    char why[ZJ_WHY_SIZE] = "";
    bool valid =
        row->schedule && row->kind && zj_kind_name_is_valid(row->kind) &&
        (row->every_ms >= ZJ_MIN_EVERY_MS || (row->every_ms == 0 && row->cron));
    if (!valid || zj_schedules_put(self->schedules, row, why) == NULL)
        zj_log_warning("schedule skipped name=%s reason='%s'",
                       row->schedule ? row->schedule : "?",
                       *why ? why : "bad row");
}

int
zj_schedule_ep_load(zj_schedule_ep_t *self)
{
    assert(self);
    int rc = zj_store_list_schedules(self->jobs->store, s_load_one, self);
    double next = zj_schedules_next_at(self->schedules);
    if (rc == 0 && zj_schedules_size(self->schedules) > 0)
        zj_log_info("schedules loaded count=%zu next_at=%.3f due=%s",
                    zj_schedules_size(self->schedules), next,
                    next > 0 && next <= zj_now() ? "yes" : "no");
    return rc;
}

//  One fire of record: its job (as a SUBMIT of its definition would make
//  it), the run's row and the schedule's new next run, all in this turn.
static void
s_fire(zj_schedule_ep_t *self, const zj_job_t *record, double now)
{
    zj_job_t spec = {.kind = record->kind,
                     .args = record->args,
                     .priority = record->priority,
                     .max_attempts = record->max_attempts,
                     .timeout_ms = record->timeout_ms,
                     .backoff_ms = record->backoff_ms};
    double due = record->not_before;
    char *name = strdup(record->schedule);
    int64_t id = zj_lifecycle_submit(self->jobs, &spec);
    if (id > 0)
        zj_store_schedule_run(self->jobs->store, name, id, due);
    const zj_job_t *fired = zj_schedules_fired(self->schedules, name, id, now);
    zj_store_save_schedule(self->jobs->store, fired);
    if (id > 0)
        zj_log_info("schedule fired name=%s id=%" PRId64
                    " due_at=%.3f next_at=%.3f",
                    name, id, due, fired->not_before);
    else
        zj_log_warning("schedule fire dropped name=%s due_at=%.3f "
                       "reason='the store refused the job'",
                       name, due);
    free(name);
}

size_t
zj_schedule_ep_fire(zj_schedule_ep_t *self, double now)
{
    assert(self);
    size_t fired = 0;
    const zj_job_t *record;
    while (fired < ZJ_FIRES_PER_TURN &&
           zj_store_is_writable(self->jobs->store) &&
           (record = zj_schedules_due(self->schedules, now)) != NULL) {
        s_fire(self, record, now);
        fired++;
    }
    return fired;
}
