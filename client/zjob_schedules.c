//  zjob_schedules.c - libzjob's schedules: SCHEDULE add, rm and list
//  through zjob_exchange.c, and the public view of the records.
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/zjob_internal.h"
#include "common/cron.h"
#include "common/err.h"
#include "common/json.h"
#include "proto/limits.h"

typedef struct {
    const char *op;                  //  "add", "rm" or "list"
    const zjob_schedule_t *schedule; //  add: the schedule; rm: its name
    const char *name;                //  rm
    bool replace;                    //  add
    zjob_schedule_fn *fn;            //  Called per record, or NULL
    void *arg;
} s_request_t;

static zj_msg_t *
s_build(void *arg, size_t index)
{
    (void) index;
    s_request_t *request = arg;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SCHEDULE);
    msg->op = strdup(request->op);
    msg->replace = request->replace;
    const zjob_schedule_t *schedule = request->schedule;
    if (schedule) {
        zj_job_t job = {.schedule = (char *) schedule->name,
                        .every_ms = schedule->every_ms,
                        .cron = (char *) schedule->cron,
                        .kind = (char *) schedule->spec.kind,
                        .args = (char *) schedule->spec.args,
                        .priority = schedule->spec.priority,
                        .max_attempts = schedule->spec.retries + 1,
                        .timeout_ms = schedule->spec.timeout_ms,
                        .backoff_ms = schedule->spec.backoff_ms};
        zj_job_copy(zj_msg_add_job(msg), &job);
    } else if (request->name)
        zj_msg_add_job(msg)->schedule = strdup(request->name);
    return msg;
}

static int
s_handle(void *arg, size_t index, const zj_msg_t *reply)
{
    (void) index;
    s_request_t *request = arg;
    for (size_t at = 0; request->fn && at < reply->job_count; at++) {
        const zj_job_t *job = &reply->jobs[at];
        zjob_schedule_t view = {.name = job->schedule,
                                .every_ms = job->every_ms,
                                .cron = job->cron,
                                .spec = {.kind = job->kind,
                                         .args = job->args,
                                         .priority = job->priority,
                                         .retries = job->max_attempts > 0
                                                        ? job->max_attempts - 1
                                                        : 0,
                                         .timeout_ms = job->timeout_ms,
                                         .backoff_ms = job->backoff_ms},
                                .next_at = job->not_before,
                                .last_at = job->started_at,
                                .last_id = job->id,
                                .created_at = job->created_at};
        request->fn(request->arg, &view);
    }
    return 0;
}

static int
s_send(zjob_client_t *self, s_request_t *request)
{
    zj_client_begin(self);
    int rc = zj_client_exchange(self, 1, ZJ_MSG_SCHEDULE, s_build, s_handle,
                                request);
    return zj_client_end(self, rc);
}

static int
s_check_name(zjob_client_t *self, const char *name)
{
    if (name && zj_kind_name_is_valid(name))
        return 0;
    return zj_client_fail(self, ZJ_EUSAGE,
                          "bad schedule name '%.40s' (1..%d of "
                          "[A-Za-z0-9_.:-])",
                          name ? name : "", ZJ_MAX_KIND - 1);
}

//  What the coordinator would refuse, refused here with the same words.
static int
s_check(zjob_client_t *self, const zjob_schedule_t *schedule)
{
    const zjob_spec_t *spec = &schedule->spec;
    char why[ZJ_WHY_SIZE] = "";
    int rc = s_check_name(self, schedule->name);
    if (rc)
        return rc;
    if ((schedule->every_ms > 0) == (schedule->cron != NULL))
        return zj_client_fail(self, ZJ_EUSAGE, "give one of every and cron");
    if (schedule->every_ms > 0 && schedule->every_ms < ZJ_MIN_EVERY_MS)
        return zj_client_fail(self, ZJ_EUSAGE,
                              "every %lld ms is under %d ms (1 s)",
                              (long long) schedule->every_ms, ZJ_MIN_EVERY_MS);
    zj_cron_t cron;
    if (schedule->cron && zj_cron_parse(schedule->cron, &cron, why))
        return zj_client_fail(self, ZJ_EUSAGE, "%s", why);
    if (spec->kind == NULL || !zj_kind_name_is_valid(spec->kind))
        return zj_client_fail(self, ZJ_EUSAGE, "bad kind name '%.40s'",
                              spec->kind ? spec->kind : "");
    if (spec->args &&
        zj_json_check(spec->args, strlen(spec->args), ZJ_MAX_DEPTH, why))
        return zj_client_fail(self, ZJ_EJSON, "args: %s", why);
    if (spec->retries < 0 || spec->retries == INT32_MAX ||
        spec->timeout_ms < 0 || spec->backoff_ms < 0)
        return zj_client_fail(self, ZJ_EUSAGE,
                              "retries, timeout and backoff must be >= 0");
    return 0;
}

int
zjob_client_schedule_add(zjob_client_t *self, const zjob_schedule_t *schedule,
                         bool replace, zjob_schedule_fn *fn, void *arg)
{
    assert(self && schedule);
    zj_client_begin(self);
    int rc = s_check(self, schedule);
    if (rc)
        return zj_client_end(self, rc);
    s_request_t request = {.op = "add",
                           .schedule = schedule,
                           .replace = replace,
                           .fn = fn,
                           .arg = arg};
    return s_send(self, &request);
}

int
zjob_client_schedule_rm(zjob_client_t *self, const char *name,
                        zjob_schedule_fn *fn, void *arg)
{
    assert(self);
    zj_client_begin(self);
    int rc = s_check_name(self, name);
    if (rc)
        return zj_client_end(self, rc);
    s_request_t request = {.op = "rm", .name = name, .fn = fn, .arg = arg};
    return s_send(self, &request);
}

int
zjob_client_schedules(zjob_client_t *self, zjob_schedule_fn *fn, void *arg)
{
    assert(self && fn);
    s_request_t request = {.op = "list", .fn = fn, .arg = arg};
    return s_send(self, &request);
}
