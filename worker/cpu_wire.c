//  cpu_wire.c - the frames on a CPU-pool socketpair (see cpu_wire.h): the
//  request encoder the pool uses and the checks each side runs on what
//  it reads. No I/O here; cpu_pool.c and cpu_child.c own their sockets.
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "proto/limits.h"
#include "worker/cpu_wire.h"

char *
zj_cpu_wire_encode_request(int64_t job_id, int32_t attempt, const char *kind,
                           const char *args, size_t *size_p)
{
    assert(kind && args && size_p);
    size_t kind_size = strlen(kind);
    size_t args_size = strlen(args);
    assert(kind_size > 0 && kind_size <= ZJ_MAX_KIND);
    assert(args_size <= ZJ_MAX_ARGS);

    zj_cpu_request_t request = {.magic = ZJ_CPU_MAGIC,
                                .kind_size = (uint32_t) kind_size,
                                .args_size = (uint32_t) args_size,
                                .attempt = attempt,
                                .job_id = job_id};
    size_t size = sizeof request + kind_size + args_size;
    char *frame = malloc(size);
    assert(frame);
    memcpy(frame, &request, sizeof request);
    memcpy(frame + sizeof request, kind, kind_size);
    memcpy(frame + sizeof request + kind_size, args, args_size);
    *size_p = size;
    return frame;
}

bool
zj_cpu_wire_request_is_valid(const zj_cpu_request_t *request)
{
    assert(request);
    return request->magic == ZJ_CPU_MAGIC &&
           request->kind_size <= ZJ_MAX_KIND &&
           request->args_size <= ZJ_MAX_ARGS;
}

bool
zj_cpu_wire_reply_is_valid(const zj_cpu_reply_t *reply, int64_t job_id)
{
    assert(reply);
    size_t limit = reply->what == ZJ_CPU_FRAME_PROGRESS ? ZJ_MAX_PROGRESS_TEXT
                   : reply->what == ZJ_CPU_FRAME_LOG    ? ZJ_MAX_LOG
                   : reply->ok                          ? ZJ_MAX_RESULT
                                                        : ZJ_MAX_TEXT;
    return reply->magic == ZJ_CPU_MAGIC && reply->job_id == job_id &&
           reply->what <= ZJ_CPU_FRAME_LOG && reply->text_size <= limit &&
           reply->done >= 0 && reply->total >= 0;
}
