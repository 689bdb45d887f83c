//  cpu_wire.h - the frames on a CPU-pool socketpair, shared by the parent
//  (cpu_pool.c) and its processes (cpu_child.c). Both ends are one binary
//  forked once, so a frame is a plain struct in host byte order followed
//  by its text. Either side checks what it reads with the _is_valid calls.
#ifndef ZJ_CPU_WIRE_H
#define ZJ_CPU_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZJ_CPU_MAGIC 0x5a4a4350u //  Starts every frame on the socketpair

//  Parent -> child: this header, then kind_size bytes, then args_size.
typedef struct {
    uint32_t magic;     //  ZJ_CPU_MAGIC
    uint32_t kind_size; //  Bytes of kind that follow
    uint32_t args_size; //  Bytes of args after the kind
    int32_t attempt;    //  The job's attempt
    int64_t job_id;     //  The job
} zj_cpu_request_t;

//  What a child -> parent frame is.
#define ZJ_CPU_FRAME_REPLY 0    //  The job's result or error: it is done
#define ZJ_CPU_FRAME_PROGRESS 1 //  Its progress (zjob_progress): goes on
#define ZJ_CPU_FRAME_LOG 2      //  What it wrote to stdout and stderr

//  Child -> parent: this header, then text_size bytes of result or error;
//  or (what) of the job's progress text or log, any number of times
//  before the reply.
typedef struct {
    uint32_t magic;     //  ZJ_CPU_MAGIC
    uint32_t ok;        //  1 if text is a result, 0 if an error
    uint32_t text_size; //  Bytes of text that follow
    uint32_t no_retry;  //  1 if the error is final (ZJOB_FAILED_FINAL)
    int64_t job_id;     //  Echoes the request
    double started_at;  //  Unix seconds, before the handler ran
    double finished_at; //  Unix seconds, after it returned
    uint32_t what;      //  ZJ_CPU_FRAME_*
    uint32_t reserved;  //  0
    int64_t done;       //  Progress: units done
    int64_t total;      //  Progress: of this many, 0 = unknown
} zj_cpu_reply_t;

//  Encodes the request frame of one job: header, kind, then args (no NULs).
//  kind must be 1..ZJ_MAX_KIND bytes and args at most ZJ_MAX_ARGS; the
//  caller checks (asserted). Returns the frame, which the caller owns and
//  frees, and writes its size into *size_p. Never fails.
char *zj_cpu_wire_encode_request(int64_t job_id, int32_t attempt,
                                 const char *kind, const char *args,
                                 size_t *size_p);

//  True if request starts with ZJ_CPU_MAGIC and its kind and args sizes
//  are within ZJ_MAX_KIND and ZJ_MAX_ARGS.
bool zj_cpu_wire_request_is_valid(const zj_cpu_request_t *request);

//  True if reply starts with ZJ_CPU_MAGIC, answers job_id, and its text
//  is within ZJ_MAX_RESULT (a result), ZJ_MAX_TEXT (an error) or
//  ZJ_MAX_PROGRESS_TEXT (a progress report, whose counts are >= 0) or
//  ZJ_MAX_LOG (a log), and what is one of the ZJ_CPU_FRAME_*.
bool zj_cpu_wire_reply_is_valid(const zj_cpu_reply_t *reply, int64_t job_id);

#endif
