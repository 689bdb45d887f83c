//  zjob_submit.c - libzjob's submit: checks every job locally, cuts the
//  jobs into SUBMIT batches of at most the client's batch size and about
//  S_FRAME_BUDGET bytes, and sends them pipelined (zjob_exchange.c),
//  writing the ids each SUBMITTED reply carries back in input order.
#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "client/zjob_internal.h"
#include "common/err.h"
#include "common/json.h"
#include "proto/limits.h"

#define S_FRAME_BUDGET (ZJ_MAX_FRAME / 2) //  Bytes of jobs per SUBMIT

typedef struct {
    zjob_client_t *client;    //  The caller
    const zjob_spec_t *specs; //  What to submit
    int64_t *ids;             //  Where the ids go
    size_t *starts;           //  Batch b is specs[starts[b]..starts[b+1])
    char token[56];           //  This call's part of each token
} s_submit_t;

//  A token per call, "<process>-<call>": 32 random hex digits drawn once
//  per process, then this call's number in 16 hex digits. Batch b of the
//  call is sent, and sent again after a relink, with "<token>-<b>"
//  (PROTOCOL.md, "Retrying a SUBMIT"), so the coordinator makes its jobs
//  once. Tokens of one process ascend: the coordinator's token table
//  grows at its end, not at random pages.
static pthread_mutex_t s_token_lock = PTHREAD_MUTEX_INITIALIZER;
static char s_process[33];  //  The random part, for s_process_pid
static pid_t s_process_pid; //  0 until drawn; a fork draws again
static uint64_t s_calls;    //  Calls numbered in this process

static void
s_draw_process(void)
{
    uint8_t bytes[16];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t) sizeof bytes) {
        //  No entropy to be had: time and pid still tell processes apart.
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t mix[2] = {(uint64_t) now.tv_sec * 1000000000u +
                               (uint64_t) now.tv_nsec,
                           (uint64_t) getpid()};
        memcpy(bytes, mix, sizeof bytes);
    }
    for (size_t index = 0; index < sizeof bytes; index++)
        snprintf(s_process + 2 * index, 3, "%02x", bytes[index]);
    s_process_pid = getpid();
    s_calls = 0;
}

static void
s_new_token(char *token, size_t size)
{
    pthread_mutex_lock(&s_token_lock);
    if (s_process_pid != getpid())
        s_draw_process();
    uint64_t call = ++s_calls;
    pthread_mutex_unlock(&s_token_lock);
    snprintf(token, size, "%s-%016" PRIx64, s_process, call);
}

static int
s_check_spec(zjob_client_t *self, const zjob_spec_t *spec, size_t index)
{
    char why[ZJ_WHY_SIZE] = "";
    if (!zj_kind_name_is_valid(spec->kind))
        return zj_client_fail(self, ZJ_EUSAGE, "job %zu: bad kind name '%.64s'",
                              index, spec->kind ? spec->kind : "(null)");
    if (spec->args && strlen(spec->args) > ZJ_MAX_ARGS)
        return zj_client_fail(self, ZJ_ETOOBIG, "job %zu: args over %d bytes",
                              index, ZJ_MAX_ARGS);
    if (spec->args &&
        zj_json_check(spec->args, strlen(spec->args), ZJ_MAX_DEPTH, why))
        return zj_client_fail(self, ZJ_EJSON, "job %zu: args: %s", index, why);
    if (spec->after_count > ZJ_MAX_AFTER || (spec->after_count && !spec->after))
        return zj_client_fail(self, ZJ_EUSAGE,
                              "job %zu: after holds 0..%d job ids", index,
                              ZJ_MAX_AFTER);
    for (size_t at = 0; at < spec->after_count; at++)
        if (spec->after[at] < 1)
            return zj_client_fail(self, ZJ_EUSAGE,
                                  "job %zu: after holds %lld, not a job id",
                                  index, (long long) spec->after[at]);
    if (spec->unique && !zj_unique_key_is_valid(spec->unique))
        return zj_client_fail(self, ZJ_EUSAGE,
                              "job %zu: unique key is not 1..%d bytes of "
                              "printable UTF-8",
                              index, ZJ_MAX_UNIQUE);
    if (spec->unique_for_ms < 0 || spec->unique_for_ms > ZJ_MAX_UNIQUE_FOR_MS)
        return zj_client_fail(self, ZJ_EUSAGE,
                              "job %zu: unique_for is not 1 ms..366 d", index);
    if (spec->retries < 0 || spec->retries == INT32_MAX ||
        spec->timeout_ms < 0 || spec->delay_ms < 0 || spec->backoff_ms < 0)
        return zj_client_fail(
            self, ZJ_EUSAGE, "job %zu: retries, timeout and delay must be >= 0",
            index);
    return 0;
}

static zj_msg_t *
s_build_submit(void *arg, size_t batch)
{
    s_submit_t *submit = arg;
    zj_msg_t *msg = zj_msg_new(ZJ_MSG_SUBMIT);
    msg->token = malloc(ZJ_MAX_TOKEN + 1);
    assert(msg->token);
    snprintf(msg->token, ZJ_MAX_TOKEN + 1, "%s-%zu", submit->token, batch);
    for (size_t index = submit->starts[batch];
         index < submit->starts[batch + 1]; index++) {
        const zjob_spec_t *spec = &submit->specs[index];
        zj_job_t job = {.kind = (char *) spec->kind,
                        .args = (char *) spec->args,
                        .priority = spec->priority,
                        .max_attempts = spec->retries + 1,
                        .timeout_ms = spec->timeout_ms,
                        .delay_ms = spec->delay_ms,
                        .backoff_ms = spec->backoff_ms,
                        .after = (int64_t *) spec->after,
                        .after_count = (uint32_t) spec->after_count,
                        .unique = (char *) spec->unique,
                        .unique_for_ms =
                            spec->unique ? spec->unique_for_ms : 0};
        zj_job_copy(zj_msg_add_job(msg), &job);
    }
    return msg;
}

static int
s_handle_submitted(void *arg, size_t batch, const zj_msg_t *reply)
{
    s_submit_t *submit = arg;
    size_t first = submit->starts[batch];
    size_t count = submit->starts[batch + 1] - first;
    if (reply->id_count != count)
        return zj_client_fail(submit->client, ZJ_EPROTO,
                              "SUBMITTED has %zu ids for %zu jobs",
                              reply->id_count, count);
    memcpy(submit->ids + first, reply->ids, count * sizeof(int64_t));
    return 0;
}

//  Cuts specs into batches of at most self->batch jobs and about
//  S_FRAME_BUDGET bytes. Returns the number of batches; starts gets one
//  more entry than that.
static size_t
s_cut_batches(zjob_client_t *self, const zjob_spec_t *specs, size_t count,
              size_t *starts)
{
    size_t batches = 0, in_batch = 0, bytes = 0;
    for (size_t index = 0; index < count; index++) {
        size_t size =
            64 + strlen(specs[index].kind) +
            (specs[index].args ? strlen(specs[index].args) : 0) +
            (specs[index].unique ? 32 + strlen(specs[index].unique) : 0);
        if (in_batch == self->batch ||
            (in_batch > 0 && bytes + size > S_FRAME_BUDGET)) {
            in_batch = 0;
            bytes = 0;
        }
        if (in_batch == 0)
            starts[batches++] = index;
        in_batch++;
        bytes += size;
    }
    starts[batches] = count;
    return batches;
}

int
zjob_client_submit(zjob_client_t *self, const zjob_spec_t *specs, size_t count,
                   int64_t *ids)
{
    assert(self);
    zj_client_begin(self);
    if (count == 0)
        return 0;
    if (specs == NULL || ids == NULL)
        return zj_client_fail(self, ZJ_EUSAGE, "no specs or no room for ids");
    for (size_t index = 0; index < count; index++) {
        int rc = s_check_spec(self, &specs[index], index);
        if (rc)
            return rc;
    }
    memset(ids, 0, count * sizeof(int64_t));
    s_submit_t submit = {self, specs, ids, calloc(count + 1, sizeof(size_t)),
                         ""};
    if (submit.starts == NULL)
        return zj_client_fail(self, ZJ_ENOMEM, "out of memory");
    s_new_token(submit.token, sizeof submit.token);
    size_t batches = s_cut_batches(self, specs, count, submit.starts);
    int rc = zj_client_exchange(self, batches, ZJ_MSG_SUBMITTED, s_build_submit,
                                s_handle_submitted, &submit);
    free(submit.starts);
    return zj_client_end(self, rc);
}
