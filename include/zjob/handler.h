//  handler.h - the API for job handlers, built in or loaded from plugins.
//
//  A handler runs one job: it gets the args as JSON text and returns a
//  result as JSON text, or an error. I/O handlers run as coroutines on the
//  worker's event loop and may await (sleep, fds, child processes, HTTP)
//  with the functions below: each suspends only the calling job. CPU
//  handlers run in a pool process and must not await.
//
//  A plugin is a shared object that exports
//      int zjob_plugin_init(zjob_registry_t *registry);
//  which calls zjob_registry_add for each kind and returns 0. It is built
//  with `cc -shared -fPIC $(pkg-config --cflags zjob) plugin.c -o
//  plugin.so` and loaded with `zjob-worker --plugin ./plugin.so`; the
//  functions below are not in a library: the worker exports them (it is
//  linked with -rdynamic) and the loader binds the plugin to them. See
//  zjob-plugin(7).
#ifndef ZJOB_HANDLER_H
#define ZJOB_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errors.h" //  ZJOB_E* codes

#ifdef __cplusplus
extern "C" {
#endif

typedef struct zjob_ctx zjob_ctx_t;           //  One running job
typedef struct zjob_registry zjob_registry_t; //  Kinds a worker offers

typedef enum { ZJOB_CLASS_IO = 0, ZJOB_CLASS_CPU = 1 } zjob_class_t;

#define ZJOB_FAILED 1       //  Handler failed; retry if attempts remain
#define ZJOB_FAILED_FINAL 2 //  Handler failed; retrying cannot help

//  Runs one job. args is JSON text ("null" when the job had none).
//  On success returns 0 and sets *result_p to malloc'd JSON text. On
//  failure returns ZJOB_FAILED (retried while attempts remain) or
//  ZJOB_FAILED_FINAL (retrying cannot help: bad args), and sets *error_p
//  to a malloc'd one-line reason ("bad args: 'seconds' must be a number").
//  Any other non-zero value counts as ZJOB_FAILED. The worker frees both.
typedef int(zjob_handler_fn)(zjob_ctx_t *ctx, const char *args, char **result_p,
                             char **error_p);

//  Registers kind with its class and handler. Returns 0, or non-zero if
//  the name is invalid or already taken.
int zjob_registry_add(zjob_registry_t *registry, const char *kind,
                      zjob_class_t klass, zjob_handler_fn *handler);

//  The running job's id, kind and attempt number: 1 for its first run,
//  2 for its first retry, and so on (a run after its worker was lost
//  counts as an attempt too).
int64_t zjob_ctx_job_id(const zjob_ctx_t *ctx);
const char *zjob_ctx_kind(const zjob_ctx_t *ctx);
int32_t zjob_ctx_attempt(const zjob_ctx_t *ctx);

//  Reports how far the job is: done of total units (total 0: unknown) and
//  what it is doing (text, NULL for nothing; cut past 256 bytes). From I/O
//  and CPU handlers alike; it never waits. Only the latest report counts:
//  the worker sends at most five a second per worker, the coordinator
//  keeps the latest in the job's record (`zjob status`, `zjob watch`) and
//  stores it at most once a second per job. Returns 0, or ZJOB_EUSAGE for
//  done or total below 0, or done above a total that is not 0.
int zjob_progress(zjob_ctx_t *ctx, int64_t done, int64_t total,
                  const char *text);

//  Adds a line to the job's log (printf-style; a newline is added if the
//  text has none), kept in the store and shown by `zjob logs ID`. From I/O
//  and CPU handlers alike; it never waits. What a handler prints goes to
//  its log too: an I/O handler's stdout (through stdio: printf, puts), a
//  CPU handler's stdout and stderr; and so does what an `exec` job's
//  program writes. Each attempt logs at most the worker's --max-log bytes (1
//  MiB by default); a job's log holds at most 4 MiB over all its attempts.
void zjob_log(zjob_ctx_t *ctx, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  --- Awaitables: I/O handlers only. Each returns 0 on success, or a
//  negative ZJOB_E* code of errors.h (ZJOB_ECANCELLED when the job was
//  cancelled or timed out while waiting, ZJOB_EDENIED when called from a
//  CPU handler, ZJOB_ESYS on a system error, ZJOB_ETIMEOUT).

//  Suspends the job for ms milliseconds.
int zjob_sleep(zjob_ctx_t *ctx, int64_t ms);

#define ZJOB_READABLE 1
#define ZJOB_WRITABLE 2
//  Suspends the job until fd is readable and/or writable (events), or
//  timeout_ms passes (ZJOB_ETIMEOUT; timeout_ms < 0 waits for ever). Sets
//  fd non-blocking; fails with ZJOB_ESYS if another job already waits on fd.
int zjob_wait_fd(zjob_ctx_t *ctx, int fd, int events, int64_t timeout_ms);

//  The outcome of a child process.
typedef struct {
    int exit_status; //  Exit code, or -1 if killed by a signal
    int term_signal; //  Signal that killed it, or 0
    char *out;       //  Everything it wrote to stdout, NUL-terminated
    size_t out_size; //  Bytes in out
    char *err;       //  Everything it wrote to stderr, NUL-terminated
    size_t err_size; //  Bytes in err
} zjob_process_t;

//  Runs argv[0] (searched in PATH) with argv, feeds it stdin_data, and
//  suspends the job until it exits and its output is read. Fills *process;
//  the caller frees process->out and process->err with free().
//  Output past max_output bytes per stream is cut (0 = 16 MiB).
int zjob_spawn(zjob_ctx_t *ctx, char *const argv[], const char *stdin_data,
               size_t stdin_size, size_t max_output, zjob_process_t *process);

//  One HTTP header.
typedef struct {
    const char *name;
    const char *value;
} zjob_header_t;

//  An HTTP request. method NULL means GET.
typedef struct {
    const char *url;
    const char *method;
    const zjob_header_t *headers;
    size_t header_count;
    const char *body;
    size_t body_size;
    int64_t timeout_ms; //  0 = no limit of its own
} zjob_http_request_t;

//  An HTTP response; the caller frees it with zjob_http_response_clear.
typedef struct {
    long status;            //  HTTP status code
    zjob_header_t *headers; //  Response headers (owned)
    size_t header_count;    //  Entries in headers
    char *body;             //  Body, NUL-terminated (owned)
    size_t body_size;       //  Bytes in body
    char *error;            //  On failure: curl's reason (owned)
} zjob_http_response_t;

//  Performs the request through the worker's curl multi handle and
//  suspends the job until it completes. Returns 0 with *response filled
//  (any HTTP status counts as success), or a negative code with
//  response->error set.
int zjob_http(zjob_ctx_t *ctx, const zjob_http_request_t *request,
              zjob_http_response_t *response);
void zjob_http_response_clear(zjob_http_response_t *response);

//  --- Sub-jobs: I/O handlers only. A handler submits children of any
//  kind and class, and awaits them; while it awaits, its I/O slot goes
//  back to the worker (up to the worker's --max-suspended parents), so
//  parents waiting for children never hold the slots those need. The
//  children of a job are keyed by the order of its calls: when the job
//  runs again (its worker was lost, or it is retried), its first call to
//  zjob_submit gets back the child the first call made before, and so
//  on. A handler that makes the same calls in the same order (a
//  deterministic one) so makes each child exactly once; one that does
//  not gets the children of its earlier run, whatever it asks for now
//  (and the coordinator logs "child differs").

//  A child, with the options of `zjob submit`.
typedef struct {
    const char *kind;     //  Its kind (required)
    const char *args;     //  JSON text, or NULL for none
    int32_t priority;     //  Higher runs first
    int32_t max_attempts; //  1 + retries; 0 = 1
    int64_t timeout_ms;   //  Per attempt; 0 = none
    int64_t delay_ms;     //  Run no sooner than this from now
    int64_t backoff_ms;   //  First retry's wait; 0 = the default
    const int64_t *after; //  Jobs it runs after (--after), or NULL
    size_t after_count;   //  Entries in after
} zjob_child_t;

//  What an awaited job ended with.
typedef struct {
    int64_t id;        //  The job
    bool succeeded;    //  Its state is succeeded
    const char *state; //  "succeeded", "failed" or "cancelled" (static)
    char *result;      //  Its result JSON, or NULL (owned)
    char *error;       //  Its one-line error, or NULL (owned)
} zjob_outcome_t;

//  Frees what outcome owns and zeroes it.
void zjob_outcome_clear(zjob_outcome_t *outcome);

//  Submits one child and suspends until the coordinator has stored it.
//  Sets *id_p. Returns 0 or a negative code (zjob_ctx_error says why).
int zjob_submit(zjob_ctx_t *ctx, const zjob_child_t *child, int64_t *id_p);

//  The same for count children at once (fewer round trips); ids gets
//  their ids in order. Each child takes the next call number.
int zjob_submit_many(zjob_ctx_t *ctx, const zjob_child_t *children,
                     size_t count, int64_t *ids);

//  Suspends until job id ends, and fills *outcome. Returns 0 when it
//  ended (whatever its state), or a negative code.
int zjob_await(zjob_ctx_t *ctx, int64_t id, zjob_outcome_t *outcome);

//  Suspends until every job of ids ends; outcomes[i] is that of ids[i].
//  Returns 0 or a negative code (then outcomes hold nothing).
int zjob_gather(zjob_ctx_t *ctx, const int64_t *ids, size_t count,
                zjob_outcome_t *outcomes);

//  Called with each outcome as its job ends, in the order they end;
//  borrowed for the call. A non-zero return stops the wait.
typedef int(zjob_completed_fn)(void *arg, const zjob_outcome_t *outcome);

//  Calls fn for each job of ids as it ends. Returns 0 once all ended,
//  what fn returned if it stopped the wait, or a negative code.
int zjob_as_completed(zjob_ctx_t *ctx, const int64_t *ids, size_t count,
                      zjob_completed_fn *fn, void *arg);

//  Why the last sub-job call of this job failed, or "".
const char *zjob_ctx_error(const zjob_ctx_t *ctx);

#ifdef __cplusplus
}
#endif

#endif
