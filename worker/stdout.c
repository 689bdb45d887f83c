//  stdout.c - I/O handlers' stdout into their job's log (see stdout.h).
#define _GNU_SOURCE
#include <assert.h>
#include <stdio.h>

#include "worker/stdout.h"

static struct {
    FILE *real;   //  The process's stdout, while captured
    FILE *stream; //  Ours, or NULL
    zj_stdout_fn *fn;
    void *arg;
    int64_t job_id;  //  Holding the loop now, or 0
    int32_t attempt; //  Its attempt
} s_capture;

static ssize_t
s_write(void *cookie, const char *text, size_t size)
{
    (void) cookie;
    if (s_capture.job_id > 0)
        s_capture.fn(s_capture.arg, s_capture.job_id, s_capture.attempt, text,
                     size);
    else if (fwrite(text, 1, size, s_capture.real) != size)
        return -1;
    return (ssize_t) size;
}

int
zj_stdout_capture(zj_stdout_fn *fn, void *arg)
{
    assert(fn);
    if (s_capture.stream)
        return 0;
    cookie_io_functions_t functions = {.write = s_write};
    FILE *stream = fopencookie(NULL, "w", functions);
    if (stream == NULL)
        return -1;
    setvbuf(stream, NULL, _IONBF, 0);
    fflush(stdout);
    s_capture.real = stdout;
    s_capture.stream = stream;
    s_capture.fn = fn;
    s_capture.arg = arg;
    stdout = stream;
    return 0;
}

void
zj_stdout_job(int64_t job_id, int32_t attempt)
{
    s_capture.job_id = job_id;
    s_capture.attempt = attempt;
}

void
zj_stdout_release(void)
{
    if (s_capture.stream == NULL)
        return;
    stdout = s_capture.real;
    fclose(s_capture.stream);
    s_capture.stream = NULL;
    s_capture.job_id = 0;
}
