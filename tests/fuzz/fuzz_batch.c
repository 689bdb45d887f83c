//  fuzz_batch.c - libFuzzer target for the lines of `zjob submit --batch
//  FILE`, run by `make fuzz`. The input is the file: it is cut into lines
//  as getline does, and each goes to zj_cli_batch_line (client/cli_batch.c)
//  on its own. A refused line must leave a reason and nothing owned. The
//  accepted ones must be jobs libzjob would send: put in a SUBMIT as
//  zjob_client_submit does (one per input, cut at its batch and frame
//  limits), zj_msg_encode (which applies zj_msg_check) must take them and
//  zj_msg_decode must give back the same jobs. Seeds: seeds/batch/.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "proto/codec.h"
#include "proto/limits.h"
#include "proto/msg.h"

//  Bytes of jobs per SUBMIT, as client/zjob_submit.c cuts its batches.
#define S_FRAME_BUDGET (ZJ_MAX_FRAME / 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

//  True if the two strings are equal, both NULL counting as equal.
static bool
s_same(const char *one, const char *other)
{
    if (one == NULL || other == NULL)
        return one == other;
    return strcmp(one, other) == 0;
}

//  True if a SUBMIT job came back as it was sent.
static bool
s_same_job(const zj_job_t *sent, const zj_job_t *back)
{
    return s_same(back->kind, sent->kind) && s_same(back->args, sent->args) &&
           back->priority == sent->priority &&
           back->max_attempts == sent->max_attempts &&
           back->timeout_ms == sent->timeout_ms &&
           back->delay_ms == sent->delay_ms &&
           back->backoff_ms == sent->backoff_ms;
}

//  Encodes *submit_p and decodes the frame again; aborts if either side
//  refuses it or a job comes back different. Destroys *submit_p.
static void
s_round_trip(zj_msg_t **submit_p)
{
    zj_msg_t *sent = *submit_p;
    char why[ZJ_WHY_SIZE] = "";
    char *frame = NULL;
    size_t frame_size = 0;
    if (zj_msg_encode(sent, &frame, &frame_size, why) != 0)
        abort();
    zj_msg_t *back = NULL;
    if (zj_msg_decode(frame, frame_size, &back, NULL, why) != 0)
        abort();
    free(frame);
    if (back->type != ZJ_MSG_SUBMIT || back->job_count != sent->job_count)
        abort();
    for (size_t index = 0; index < sent->job_count; index++)
        if (!s_same_job(&sent->jobs[index], &back->jobs[index]))
            abort();
    zj_msg_destroy(&back);
    zj_msg_destroy(submit_p);
}

//  Runs one line (length bytes from start, newline kept) through the
//  parser, in a buffer of its own so that ASan sees any read past its
//  end. Returns 0 with *spec filled (kind and args owned), or -1 when
//  the line is refused; aborts if the parser breaks its contract.
static int
s_line(const uint8_t *start, size_t length, zjob_spec_t *spec)
{
    //  Defaults as flags could set them, kind and args included, to see
    //  that a line keeps what it does not name and ignores the rest.
    static const zjob_spec_t defaults = {.kind = "ignored",
                                         .args = "ignored",
                                         .priority = -7,
                                         .retries = 3,
                                         .timeout_ms = 2000,
                                         .delay_ms = 5,
                                         .backoff_ms = 250};
    char *line = malloc(length + 1);
    if (line == NULL)
        abort();
    memcpy(line, start, length);
    line[length] = 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_cli_batch_line(line, &defaults, spec, why);
    free(line);
    if (rc != 0 && (why[0] == 0 || spec->kind || spec->args))
        abort();
    if (rc == 0 && (spec->kind == NULL || spec->kind == defaults.kind ||
                    spec->args == defaults.args))
        abort();
    return rc;
}

//  Moves spec's job into submit as libzjob builds it (client/
//  zjob_submit.c): the job takes over kind, args and after.
static void
s_add_job(zj_msg_t *submit, const zjob_spec_t *spec)
{
    zj_job_t *job = zj_msg_add_job(submit);
    job->kind = (char *) spec->kind;
    job->args = (char *) spec->args;
    job->priority = spec->priority;
    job->max_attempts = spec->retries + 1;
    job->timeout_ms = spec->timeout_ms;
    job->delay_ms = spec->delay_ms;
    job->backoff_ms = spec->backoff_ms;
    //  The defaults have no after: one the line gave is the spec's own.
    job->after = (int64_t *) spec->after;
    job->after_count = (uint32_t) spec->after_count;
}

//  A SUBMIT with no jobs yet, as a client would start one.
static zj_msg_t *
s_submit_new(void)
{
    zj_msg_t *submit = zj_msg_new(ZJ_MSG_SUBMIT);
    submit->req = 1;
    return submit;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zj_msg_t *submit = s_submit_new();
    size_t bytes = 0; //  In submit, counted as libzjob cuts batches
    const uint8_t *end = data + size;
    for (const uint8_t *start = data; start < end;) {
        //  getline's lines: up to and including each newline, the last
        //  one without. A NUL byte ends the text the parser sees, as in
        //  the CLI, which hands getline's buffer on as a C string.
        const uint8_t *newline = memchr(start, '\n', (size_t) (end - start));
        size_t length =
            newline ? (size_t) (newline - start) + 1 : (size_t) (end - start);
        zjob_spec_t spec;
        if (s_line(start, length, &spec) == 0) {
            size_t job_bytes =
                64 + strlen(spec.kind) + (spec.args ? strlen(spec.args) : 0);
            if (submit->job_count == ZJ_MAX_BATCH ||
                bytes + job_bytes > S_FRAME_BUDGET) {
                s_round_trip(&submit);
                submit = s_submit_new();
                bytes = 0;
            }
            s_add_job(submit, &spec);
            bytes += job_bytes;
        }
        start += length;
    }
    if (submit->job_count > 0)
        s_round_trip(&submit);
    zj_msg_destroy(&submit);
    return 0;
}
