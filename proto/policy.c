//  policy.c - operator limits (see policy.h).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/why.h"
#include "proto/limits.h"
#include "proto/policy.h"

void
zj_limits_defaults(zj_limits_t *limits)
{
    *limits =
        (zj_limits_t){ZJ_MAX_FRAME, ZJ_MAX_BATCH, ZJ_MAX_ARGS, ZJ_MAX_RESULT};
}

static int
s_settle_one(int64_t value, int64_t least, int64_t most, const char *flag,
             const char *unit, char *why)
{
    if (value >= least && value <= most)
        return 0;
    return zj_why_fail(ZJ_EUSAGE, why, "%s takes %lld..%lld %s", flag,
                       (long long) least, (long long) most, unit);
}

static int64_t
s_min(int64_t left, int64_t right)
{
    return left < right ? left : right;
}

int
zj_limits_settle(zj_limits_t *limits, char *why)
{
    int64_t room = limits->max_message - ZJ_FRAME_SLACK;
    int64_t most_args = s_min(ZJ_MAX_ARGS, room);
    int64_t most_result = s_min(ZJ_MAX_RESULT, room);
    static const char fitted[] = "bytes (with 16K spare in --max-message)";
    if (limits->max_args == 0)
        limits->max_args = most_args;
    if (limits->max_result == 0)
        limits->max_result = most_result;
    int rc;
    if ((rc = s_settle_one(limits->max_message, ZJ_MIN_MESSAGE, ZJ_MAX_FRAME,
                           "--max-message", "bytes", why)) ||
        (rc = s_settle_one(limits->max_batch, 1, ZJ_MAX_BATCH, "--max-batch",
                           "jobs", why)) ||
        (rc = s_settle_one(limits->max_args, 2, most_args, "--max-args", fitted,
                           why)) ||
        (rc = s_settle_one(limits->max_result, 4, most_result, "--max-result",
                           fitted, why)))
        return rc;
    return 0;
}

static int
s_check_submit(const zj_limits_t *limits, const zj_msg_t *msg, char *why)
{
    if ((int64_t) msg->job_count > limits->max_batch)
        return zj_why_fail(ZJ_ETOOBIG, why,
                           "%s of %zu jobs is over this coordinator's "
                           "limit of %lld per message (--max-batch); "
                           "nothing was queued",
                           zj_msg_type_name(msg->type), msg->job_count,
                           (long long) limits->max_batch);
    for (size_t index = 0; index < msg->job_count; index++) {
        const char *args = msg->jobs[index].args;
        size_t size = args ? strlen(args) : 0;
        if ((int64_t) size > limits->max_args)
            return zj_why_fail(ZJ_ETOOBIG, why,
                               "job %zu: args of %zu bytes are over this "
                               "coordinator's limit of %lld (--max-args); "
                               "nothing was queued",
                               index, size, (long long) limits->max_args);
    }
    return 0;
}

int
zj_limits_check(const zj_limits_t *limits, size_t size, const zj_msg_t *msg,
                char *why)
{
    if ((int64_t) size > limits->max_message)
        return zj_why_fail(ZJ_ETOOBIG, why,
                           "message of %zu bytes is over this coordinator's "
                           "limit of %lld (--max-message)",
                           size, (long long) limits->max_message);
    if (msg->type == ZJ_MSG_SUBMIT || msg->type == ZJ_MSG_SPAWN)
        return s_check_submit(limits, msg, why);
    return 0;
}

bool
zj_limits_cap_result(const zj_limits_t *limits, zj_job_t *outcome)
{
    size_t size = outcome->result ? strlen(outcome->result) : 0;
    if ((int64_t) size <= limits->max_result)
        return false;
    if (outcome->state != ZJ_STATE_SUCCEEDED) {
        //  A failed job's result is extra (exec's output): it goes, and
        //  the failure stands as it was.
        free(outcome->result);
        outcome->result = NULL;
        return false;
    }
    char error[ZJ_WHY_SIZE];
    snprintf(error, sizeof error,
             "result of %zu bytes is over the coordinator's limit of %lld "
             "(--max-result)",
             size, (long long) limits->max_result);
    free(outcome->result);
    outcome->result = NULL;
    free(outcome->error);
    outcome->error = strdup(error);
    outcome->state = ZJ_STATE_FAILED;
    outcome->no_retry = true;
    return true;
}
