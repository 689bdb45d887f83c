//  stdout.h - what I/O handlers print to stdout goes to their job's log.
//  I/O jobs run in the worker's own process, so the worker points stdout
//  at a stream of its own (unbuffered): what is written to it while a job
//  holds the loop goes to that job, the rest to the real stdout. The
//  runner says which job holds the loop (zj_stdout_job) as the coroutines
//  switch. Only what goes through stdio's stdout is seen: write(1, ...)
//  still goes to the real one, as does stderr (the worker's own log).
//  One per process: it replaces the global stdout.
#ifndef ZJ_STDOUT_H
#define ZJ_STDOUT_H

#include <stddef.h>
#include <stdint.h>

//  Job job_id, in attempt, printed size bytes of text (borrowed).
typedef void(zj_stdout_fn)(void *arg, int64_t job_id, int32_t attempt,
                           const char *text, size_t size);

//  Points stdout at the capturing stream. Returns 0, or -1 (stdout is
//  left as it was).
int zj_stdout_capture(zj_stdout_fn *fn, void *arg);

//  The job that holds the loop now (job_id 0: none).
void zj_stdout_job(int64_t job_id, int32_t attempt);

//  Puts the real stdout back. Idempotent.
void zj_stdout_release(void);

#endif
