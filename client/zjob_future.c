//  zjob_future.c - libzjob's futures: one job's outcome, awaited through
//  zjob_client_await and kept (an owned copy) once resolved, so that later
//  waits return at once.
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "client/zjob_internal.h"
#include "proto/msg.h"
#include "zjob/zjob.h"

struct zjob_future {
    zjob_client_t *client; //  Borrowed; outlives the future
    int64_t id;            //  The job
    bool resolved;         //  True once job holds the outcome
    zj_job_t job;          //  Owned copy of the outcome
    zjob_result_t view;    //  Public view into job
};

zjob_future_t *
zjob_future_new(zjob_client_t *client, int64_t id)
{
    assert(client);
    zjob_future_t *self = calloc(1, sizeof *self);
    if (self == NULL)
        abort();
    self->client = client;
    self->id = id;
    return self;
}

int
zjob_client_submit_future(zjob_client_t *self, const zjob_spec_t *spec,
                          zjob_future_t **future_p)
{
    assert(self);
    assert(future_p);
    *future_p = NULL;
    int64_t id = 0;
    int rc = zjob_client_submit(self, spec, 1, &id);
    if (rc == 0)
        *future_p = zjob_future_new(self, id);
    return rc;
}

void
zjob_future_destroy(zjob_future_t **self_p)
{
    assert(self_p);
    zjob_future_t *self = *self_p;
    if (self == NULL)
        return;
    zj_job_clear(&self->job);
    free(self);
    *self_p = NULL;
}

int64_t
zjob_future_id(const zjob_future_t *self)
{
    assert(self);
    return self->id;
}

static void
s_future_resolve(void *arg, const zjob_result_t *result)
{
    zjob_future_t *self = arg;
    zj_job_t job = {.id = result->id,
                    .state = zj_state_from_name(result->state),
                    .attempts = result->attempts,
                    .worker = (char *) result->worker,
                    .started_at = result->started_at,
                    .finished_at = result->finished_at,
                    .result = (char *) result->result,
                    .error = (char *) result->error};
    zj_job_copy(&self->job, &job);
    zj_client_job_view(&self->job, &self->view);
    self->resolved = true;
}

int
zjob_future_wait(zjob_future_t *self, int64_t timeout_ms,
                 const zjob_result_t **result_p)
{
    assert(self);
    if (!self->resolved) {
        int rc = zjob_client_await(self->client, &self->id, 1, true, timeout_ms,
                                   s_future_resolve, self);
        if (rc)
            return rc;
    }
    if (result_p)
        *result_p = &self->view;
    return 0;
}
