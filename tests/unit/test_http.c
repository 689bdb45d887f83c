//  test_http.c - tests worker/http.c (zjob_http on curl multi and libuv)
//  and the http handler (worker/handlers_http.c) against the real test
//  server, tests/e2e/httpd.c, found as $ZJ_HTTPD, next to the test binary,
//  or as bin/httpd. Each test gets its own server, loop and coroutines.
#include <check.h>
#include <czmq.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "proto/limits.h"
#include "tests/unit/suites.h"
#include "worker/coro.h"
#include "worker/handlers.h"
#include "worker/http.h"
#include "worker/job_ctx.h"

#ifndef MANY_JOBS
#define MANY_JOBS 200 //  Transfers at once in test_many_at_once
#endif

static pid_t s_server_pid; //  The httpd child
static int s_port;         //  Its port
static char s_dir[64];     //  Temp dir holding its port file
static uv_loop_t s_loop;   //  The loop every job runs on
static zj_coro_rt_t *s_rt; //  Coroutines for the jobs
static zj_http_t *s_http;  //  The driver under test

//  --- the server -------------------------------------------------------

static void
s_httpd_path(char *path, size_t size)
{
    const char *env = getenv("ZJ_HTTPD");
    if (env && *env) {
        snprintf(path, size, "%s", env);
        return;
    }
    //  make builds $(BIN)/httpd next to $(BIN)/test-unit.
    char self[2048];
    ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (length > 0) {
        self[length] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            snprintf(path, size, "%s/httpd", self);
            if (access(path, X_OK) == 0)
                return;
        }
    }
    snprintf(path, size, "bin/httpd");
}

//  Reads the port from path; 0 while the file is not there.
static int
s_read_port(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return 0;
    int port = 0;
    if (fscanf(file, "%d", &port) != 1)
        port = 0;
    fclose(file);
    return port;
}

static void
s_server_start(void)
{
    char httpd[4096];
    s_httpd_path(httpd, sizeof(httpd));
    ck_assert_msg(access(httpd, X_OK) == 0,
                  "no test server at %s: run 'make bin/httpd' or set "
                  "ZJ_HTTPD",
                  httpd);
    snprintf(s_dir, sizeof(s_dir), "/tmp/zj-test-http-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    char portfile[128];
    snprintf(portfile, sizeof(portfile), "%s/port", s_dir);

    s_server_pid = fork();
    ck_assert_int_ge(s_server_pid, 0);
    if (s_server_pid == 0) {
        //  Dies with the test process, even one Check kills.
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(httpd, httpd, portfile, (char *) NULL);
        _exit(127);
    }
    int64_t deadline = zclock_mono() + 10000;
    while ((s_port = s_read_port(portfile)) == 0) {
        int status;
        ck_assert_msg(waitpid(s_server_pid, &status, WNOHANG) == 0,
                      "%s exited before writing its port", httpd);
        ck_assert_msg(zclock_mono() < deadline, "%s wrote no port", httpd);
        zclock_sleep(10);
    }
}

static void
s_server_stop(void)
{
    if (s_server_pid <= 0)
        return;
    kill(s_server_pid, SIGTERM);
    int status = 0;
    ck_assert_int_eq(waitpid(s_server_pid, &status, 0), s_server_pid);
    s_server_pid = 0;
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "httpd did not exit 0 on SIGTERM (status %d)", status);
    char portfile[128];
    snprintf(portfile, sizeof(portfile), "%s/port", s_dir);
    unlink(portfile);
    rmdir(s_dir);
}

static void
s_setup(void)
{
    s_server_start();
    ck_assert_int_eq(uv_loop_init(&s_loop), 0);
    s_rt = zj_coro_rt_new(0);
    ck_assert_ptr_nonnull(s_rt);
    s_http = zj_http_new(&s_loop);
    ck_assert_ptr_nonnull(s_http);
}

static void
s_teardown(void)
{
    zj_http_destroy(&s_http);
    ck_assert_ptr_null(s_http);
    uv_run(&s_loop, UV_RUN_DEFAULT); //  Lets the closed handles go
    ck_assert_int_eq(uv_loop_close(&s_loop), 0);
    ck_assert_int_eq(zj_coro_rt_alive(s_rt), 0);
    zj_coro_rt_destroy(&s_rt);
    s_server_stop();
}

//  --- jobs: one coroutine each ------------------------------------------

typedef struct {
    zjob_ctx_t ctx;                //  What the job can reach
    char url[256];                 //  Its request's url
    zjob_http_request_t request;   //  Its request
    zjob_http_response_t response; //  What zjob_http filled
    const char *args;              //  Handler args, when it runs the handler
    char *result;                  //  Handler result
    char *error;                   //  Handler error
    int rc;                        //  What the call returned
    bool done;                     //  The call returned
} s_job_t;

static void
s_job_body(void *arg)
{
    s_job_t *job = (s_job_t *) arg;
    job->ctx.coro = zj_coro_current(s_rt);
    if (job->args)
        job->rc =
            zj_handler_http(&job->ctx, job->args, &job->result, &job->error);
    else
        job->rc = zjob_http(&job->ctx, &job->request, &job->response);
    job->done = true;
}

//  Prepares job for path on the test server (or a full url).
static void
s_job_init(s_job_t *job, const char *method, const char *path)
{
    memset(job, 0, sizeof(*job));
    job->ctx.job_id = 1;
    job->ctx.kind = "http";
    job->ctx.loop = &s_loop;
    job->ctx.http = s_http;
    if (strstr(path, "://"))
        snprintf(job->url, sizeof(job->url), "%s", path);
    else
        snprintf(job->url, sizeof(job->url), "http://127.0.0.1:%d%s", s_port,
                 path);
    job->request.url = job->url;
    job->request.method = method;
}

//  Starts job's coroutine; it runs until its first wait.
static void
s_job_start(s_job_t *job)
{
    ck_assert_ptr_nonnull(zj_coro_spawn(s_rt, s_job_body, job));
}

//  Runs job to its end on the loop.
static void
s_job_run(s_job_t *job)
{
    s_job_start(job);
    uv_run(&s_loop, UV_RUN_DEFAULT);
    ck_assert(job->done);
}

static void
s_job_clear(s_job_t *job)
{
    zjob_http_response_clear(&job->response);
    ck_assert_ptr_null(job->response.body);
    ck_assert_ptr_null(job->response.headers);
    free(job->result);
    free(job->error);
    job->result = job->error = NULL;
}

static const char *
s_header(const zjob_http_response_t *response, const char *name)
{
    for (size_t index = 0; index < response->header_count; index++)
        if (strcasecmp(response->headers[index].name, name) == 0)
            return response->headers[index].value;
    return NULL;
}

//  What zj_job_ctx_cancel does: mark, then abandon the pending wait.
static void
s_cancel(zjob_ctx_t *ctx)
{
    ctx->cancelled = true;
    if (ctx->abandon)
        ctx->abandon(ctx);
}

//  A port nothing listens on: bound once, then closed.
static int
s_closed_port(void)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_tcp_t tcp;
    uv_tcp_init(&loop, &tcp);
    struct sockaddr_in address;
    uv_ip4_addr("127.0.0.1", 0, &address);
    ck_assert_int_eq(uv_tcp_bind(&tcp, (struct sockaddr *) &address, 0), 0);
    int size = sizeof(address);
    uv_tcp_getsockname(&tcp, (struct sockaddr *) &address, &size);
    uv_close((uv_handle_t *) &tcp, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return ntohs(address.sin_port);
}

//  Threads in this process.
static int
s_thread_count(void)
{
    DIR *tasks = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(tasks);
    int count = 0;
    struct dirent *entry;
    while ((entry = readdir(tasks)))
        if (entry->d_name[0] != '.')
            count++;
    closedir(tasks);
    return count;
}

//  --- zjob_http -----------------------------------------------------------

START_TEST(test_get_hello)
{
    s_job_t job;
    s_job_init(&job, NULL, "/hello");
    s_job_run(&job);
    ck_assert_int_eq(job.rc, 0);
    ck_assert_ptr_null(job.response.error);
    ck_assert_int_eq(job.response.status, 200);
    ck_assert_uint_eq(job.response.body_size, 11);
    ck_assert_str_eq(job.response.body, "hello world");
    ck_assert_ptr_nonnull(s_header(&job.response, "content-type"));
    ck_assert_str_eq(s_header(&job.response, "Content-Type"), "text/plain");
    ck_assert_str_eq(s_header(&job.response, "Content-Length"), "11");
    ck_assert_uint_eq(zj_http_active(s_http), 0);
    s_job_clear(&job);
}
END_TEST

START_TEST(test_status_codes)
{
    s_job_t job;
    s_job_init(&job, "GET", "/no/such/page");
    s_job_run(&job);
    ck_assert_int_eq(job.rc, 0); //  Any HTTP status is a success
    ck_assert_int_eq(job.response.status, 404);
    s_job_clear(&job);

    s_job_init(&job, "GET", "/status/503");
    s_job_run(&job);
    ck_assert_int_eq(job.rc, 0);
    ck_assert_int_eq(job.response.status, 503);
    ck_assert_str_eq(job.response.body, "status 503");
    s_job_clear(&job);
}
END_TEST

START_TEST(test_echo_round_trip)
{
    static const char body[] = "ping\0pong";
    const zjob_header_t headers[] = {{"X-Test", "round trip"},
                                     {"Content-Type", "application/x-zj"}};
    const char *methods[] = {"POST", "PUT"};
    for (int index = 0; index < 2; index++) {
        s_job_t job;
        s_job_init(&job, methods[index], "/echo");
        job.request.headers = headers;
        job.request.header_count = 2;
        job.request.body = body;
        job.request.body_size = sizeof(body) - 1;
        s_job_run(&job);
        ck_assert_int_eq(job.rc, 0);
        ck_assert_int_eq(job.response.status, 200);
        ck_assert_uint_eq(job.response.body_size, sizeof(body) - 1);
        ck_assert_mem_eq(job.response.body, body, sizeof(body) - 1);
        ck_assert_str_eq(s_header(&job.response, "X-Test"), "round trip");
        ck_assert_str_eq(s_header(&job.response, "Content-Type"),
                         "application/x-zj");
        s_job_clear(&job);
    }
}
END_TEST

START_TEST(test_expect_continue)
{
    //  The server's 100 Continue carries X-Interim: 1; only the final
    //  response's headers may be reported.
    const zjob_header_t headers[] = {{"Expect", "100-continue"}};
    s_job_t job;
    s_job_init(&job, "POST", "/echo");
    job.request.headers = headers;
    job.request.header_count = 1;
    job.request.body = "after the go-ahead";
    job.request.body_size = strlen(job.request.body);
    s_job_run(&job);
    ck_assert_int_eq(job.rc, 0);
    ck_assert_int_eq(job.response.status, 200);
    ck_assert_str_eq(job.response.body, "after the go-ahead");
    ck_assert_ptr_null(s_header(&job.response, "X-Interim"));
    ck_assert_str_eq(s_header(&job.response, "Content-Length"), "18");
    s_job_clear(&job);
}
END_TEST

START_TEST(test_large_echo)
{
    size_t size = 1024 * 1024;
    char *body = (char *) malloc(size);
    ck_assert_ptr_nonnull(body);
    for (size_t index = 0; index < size; index++)
        body[index] = (char) ('a' + index % 26);
    s_job_t job;
    s_job_init(&job, "POST", "/echo");
    job.request.body = body;
    job.request.body_size = size;
    s_job_run(&job);
    ck_assert_int_eq(job.rc, 0);
    ck_assert_uint_eq(job.response.body_size, size);
    ck_assert_mem_eq(job.response.body, body, size);
    s_job_clear(&job);
    free(body);
}
END_TEST

START_TEST(test_body_over_cap)
{
    size_t size = ZJ_MAX_RESULT / 2 + 1;
    char *body = (char *) calloc(1, size);
    ck_assert_ptr_nonnull(body);
    s_job_t job;
    s_job_init(&job, "POST", "/echo");
    job.request.body = body;
    job.request.body_size = size;
    s_job_run(&job);
    ck_assert_int_eq(job.rc, ZJ_ETOOBIG);
    ck_assert_ptr_nonnull(job.response.error);
    ck_assert_str_eq(job.response.error, "response body over 2097152 bytes");
    ck_assert_ptr_null(job.response.body);
    s_job_clear(&job);
    free(body);
}
END_TEST

START_TEST(test_many_at_once)
{
    s_job_t *jobs = (s_job_t *) calloc(MANY_JOBS, sizeof(s_job_t));
    ck_assert_ptr_nonnull(jobs);
    for (int index = 0; index < MANY_JOBS; index++) {
        s_job_init(&jobs[index], NULL, index % 2 ? "/hello" : "/slow?ms=50");
        s_job_start(&jobs[index]);
    }
    //  Every job is suspended with its transfer in flight, on one thread.
    ck_assert_uint_eq(zj_http_active(s_http), MANY_JOBS);
    ck_assert_uint_eq(zj_coro_rt_alive(s_rt), MANY_JOBS);
    ck_assert_int_eq(s_thread_count(), 1);
    for (int index = 0; index < MANY_JOBS; index++)
        ck_assert(!jobs[index].done);
    uv_run(&s_loop, UV_RUN_DEFAULT);
    for (int index = 0; index < MANY_JOBS; index++) {
        ck_assert(jobs[index].done);
        ck_assert_int_eq(jobs[index].rc, 0);
        ck_assert_int_eq(jobs[index].response.status, 200);
        ck_assert_str_eq(jobs[index].response.body,
                         index % 2 ? "hello world" : "slow");
        s_job_clear(&jobs[index]);
    }
    ck_assert_uint_eq(zj_http_active(s_http), 0);
    free(jobs);
}
END_TEST

START_TEST(test_connection_refused)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello", s_closed_port());
    s_job_t job;
    s_job_init(&job, NULL, url);
    s_job_run(&job);
    ck_assert_int_eq(job.rc, ZJ_ESYS);
    ck_assert_ptr_nonnull(job.response.error);
    ck_assert_msg(strstr(job.response.error, "onnect"), "error: %s",
                  job.response.error);
    ck_assert_ptr_null(job.response.body);
    s_job_clear(&job);
}
END_TEST

START_TEST(test_timeout)
{
    s_job_t job;
    s_job_init(&job, NULL, "/slow?ms=60000");
    job.request.timeout_ms = 200;
    s_job_run(&job);
    ck_assert_int_eq(job.rc, ZJ_ETIMEOUT);
    ck_assert_ptr_nonnull(job.response.error);
    ck_assert_msg(strstr(job.response.error, "imed out"), "error: %s",
                  job.response.error);
    s_job_clear(&job);
}
END_TEST

static void
s_cancel_fired(uv_timer_t *timer)
{
    s_job_t *job = (s_job_t *) timer->data;
    ck_assert_ptr_nonnull(job->ctx.abandon);
    ck_assert_uint_eq(zj_http_active(s_http), 1);
    s_cancel(&job->ctx);
    //  The job resumed inside the cancel.
    ck_assert(job->done);
    ck_assert_uint_eq(zj_http_active(s_http), 0);
    uv_close((uv_handle_t *) timer, NULL);
}

START_TEST(test_cancel)
{
    s_job_t job;
    s_job_init(&job, NULL, "/slow?ms=60000");
    s_job_start(&job);
    uv_timer_t timer;
    uv_timer_init(&s_loop, &timer);
    timer.data = &job;
    uv_timer_start(&timer, s_cancel_fired, 100, 0);
    uv_run(&s_loop, UV_RUN_DEFAULT);
    ck_assert(job.done);
    ck_assert_int_eq(job.rc, ZJ_ECANCELLED);
    ck_assert_ptr_nonnull(job.response.error);
    ck_assert_ptr_null(job.ctx.abandon);
    s_job_clear(&job);

    //  A cancelled job's later awaits fail at once.
    job.done = false;
    s_job_start(&job);
    ck_assert(job.done);
    ck_assert_int_eq(job.rc, ZJ_ECANCELLED);
    s_job_clear(&job);
}
END_TEST

START_TEST(test_destroy_aborts)
{
    s_job_t jobs[3];
    for (int index = 0; index < 3; index++) {
        s_job_init(&jobs[index], NULL, "/slow?ms=60000");
        s_job_start(&jobs[index]);
    }
    ck_assert_uint_eq(zj_http_active(s_http), 3);
    zj_http_destroy(&s_http);
    ck_assert_ptr_null(s_http);
    for (int index = 0; index < 3; index++) {
        ck_assert(jobs[index].done);
        ck_assert_int_eq(jobs[index].rc, ZJ_ECANCELLED);
        s_job_clear(&jobs[index]);
    }
}
END_TEST

START_TEST(test_denied_without_loop)
{
    s_job_t job;
    s_job_init(&job, NULL, "/hello");
    job.ctx.loop = NULL; //  As in a CPU pool process
    job.rc = zjob_http(&job.ctx, &job.request, &job.response);
    ck_assert_int_eq(job.rc, ZJ_EDENIED);
    ck_assert_ptr_nonnull(job.response.error);
    s_job_clear(&job);

    s_job_init(&job, NULL, "/hello");
    job.ctx.http = NULL;
    job.rc = zjob_http(&job.ctx, &job.request, &job.response);
    ck_assert_int_eq(job.rc, ZJ_EDENIED);
    s_job_clear(&job);
}
END_TEST

START_TEST(test_bad_requests)
{
    const zjob_header_t split[] = {{"X-Evil", "a\r\nHost: elsewhere"}};
    const zjob_header_t bad_name[] = {{"Bad Name", "x"}};
    const zjob_header_t no_name[] = {{NULL, "x"}};
    struct {
        const char *name;
        const char *method;
        const char *path;
        const zjob_header_t *headers;
    } rows[] = {
        {"method with a space", "GE T", "/hello", NULL},
        {"header injection", NULL, "/hello", split},
        {"header name", NULL, "/hello", bad_name},
        {"no header name", NULL, "/hello", no_name},
        {"ftp url", NULL, "ftp://127.0.0.1/", NULL},
        {"file url", NULL, "file:///etc/passwd", NULL},
    };
    for (size_t index = 0; index < sizeof(rows) / sizeof(rows[0]); index++) {
        s_job_t job;
        s_job_init(&job, rows[index].method, rows[index].path);
        job.request.headers = rows[index].headers;
        job.request.header_count = rows[index].headers ? 1 : 0;
        s_job_run(&job);
        ck_assert_msg(job.rc == ZJ_EARGS, "%s: rc %d", rows[index].name,
                      job.rc);
        ck_assert_msg(job.response.error && *job.response.error, "%s",
                      rows[index].name);
        s_job_clear(&job);
    }
    s_job_t job;
    s_job_init(&job, NULL, "/hello");
    job.request.url = NULL;
    s_job_run(&job);
    ck_assert_int_eq(job.rc, ZJ_EARGS);
    s_job_clear(&job);
}
END_TEST

//  --- the http handler --------------------------------------------------

//  Runs the handler with args; "%d" in args_format becomes the port.
static void
s_handler_run(s_job_t *job, const char *args_format)
{
    static char args[512];
    snprintf(args, sizeof(args), args_format, s_port);
    s_job_init(job, NULL, "/");
    job->args = args;
    s_job_run(job);
}

START_TEST(test_handler_get)
{
    s_job_t job;
    s_handler_run(&job, "{\"url\": \"http://127.0.0.1:%d/hello\"}");
    ck_assert_msg(job.rc == 0, "error: %s", job.error);
    ck_assert_ptr_null(job.error);
    json_t *result = json_loads(job.result, 0, NULL);
    ck_assert_ptr_nonnull(result);
    ck_assert_int_eq(json_integer_value(json_object_get(result, "status")),
                     200);
    json_t *headers = json_object_get(result, "headers");
    ck_assert_str_eq(
        json_string_value(json_object_get(headers, "content-type")),
        "text/plain");
    ck_assert_ptr_null(json_object_get(headers, "Content-Type"));
    ck_assert_str_eq(json_string_value(json_object_get(result, "body")),
                     "hello world");
    json_decref(result);
    s_job_clear(&job);
}
END_TEST

START_TEST(test_handler_echo)
{
    s_job_t job;
    s_handler_run(&job, "{\"url\": \"http://127.0.0.1:%d/echo\", "
                        "\"method\": \"PUT\", \"body\": \"caf\\u00e9\", "
                        "\"headers\": {\"X-Test\": \"t1\"}, \"timeout\": 5}");
    ck_assert_msg(job.rc == 0, "error: %s", job.error);
    json_t *result = json_loads(job.result, 0, NULL);
    ck_assert_ptr_nonnull(result);
    json_t *headers = json_object_get(result, "headers");
    ck_assert_str_eq(json_string_value(json_object_get(headers, "x-test")),
                     "t1");
    ck_assert_str_eq(json_string_value(json_object_get(result, "body")),
                     "caf\xc3\xa9");
    json_decref(result);
    s_job_clear(&job);
}
END_TEST

START_TEST(test_handler_binary_body)
{
    s_job_t job;
    s_handler_run(&job, "{\"url\": \"http://127.0.0.1:%d/bytes?hex=ff00fe\"}");
    ck_assert_msg(job.rc == 0, "error: %s", job.error);
    json_t *result = json_loads(job.result, 0, NULL);
    ck_assert_ptr_nonnull(result);
    ck_assert_ptr_null(json_object_get(result, "body"));
    ck_assert_str_eq(json_string_value(json_object_get(result, "body_base64")),
                     "/wD+");
    json_decref(result);
    s_job_clear(&job);
}
END_TEST

START_TEST(test_handler_transport_error)
{
    char args[128];
    snprintf(args, sizeof(args), "{\"url\": \"http://127.0.0.1:%d/\"}",
             s_closed_port());
    s_job_t job;
    s_job_init(&job, NULL, "/");
    job.args = args;
    s_job_run(&job);
    ck_assert_int_ne(job.rc, 0);
    ck_assert_ptr_null(job.result);
    ck_assert_ptr_nonnull(job.error);
    ck_assert_msg(strncmp(job.error, "http: ", 6) == 0, "%s", job.error);
    s_job_clear(&job);
}
END_TEST

//  An HTTP error status fails the job, and says whether a retry may
//  help; the response is kept in the result; "check": false opts out.
START_TEST(test_handler_error_statuses)
{
    static const struct {
        const char *path; //  On the test server
        bool check;       //  Args leave "check" on
        int rc;           //  What the handler returns
    } rows[] = {
        {"/status/204", true, 0},
        {"/status/500", true, ZJOB_FAILED},
        {"/status/503", true, ZJOB_FAILED},
        {"/status/429", true, ZJOB_FAILED},
        {"/status/408", true, ZJOB_FAILED},
        {"/status/425", true, ZJOB_FAILED},
        {"/status/404", true, ZJOB_FAILED_FINAL},
        {"/status/400", true, ZJOB_FAILED_FINAL},
        {"/status/404", false, 0},
        {"/status/500", false, 0},
    };
    for (size_t index = 0; index < sizeof rows / sizeof rows[0]; index++) {
        char args[256];
        snprintf(args, sizeof args, "{\"url\": \"http://127.0.0.1:%%d%s\"%s}",
                 rows[index].path,
                 rows[index].check ? "" : ", \"check\": false");
        s_job_t job;
        s_handler_run(&job, args);
        ck_assert_msg(job.rc == rows[index].rc, "%s: rc %d error %s", args,
                      job.rc, job.error);
        ck_assert_ptr_nonnull(job.result);
        json_t *result = json_loads(job.result, 0, NULL);
        int status = atoi(rows[index].path + strlen("/status/"));
        ck_assert_int_eq(json_integer_value(json_object_get(result, "status")),
                         status);
        json_decref(result);
        if (job.rc) {
            char says[32];
            snprintf(says, sizeof says, "http: status %d", status);
            ck_assert_msg(job.error &&
                              strncmp(job.error, says, strlen(says)) == 0,
                          "%s: error %s", args, job.error);
        } else
            ck_assert_ptr_null(job.error);
        s_job_clear(&job);
    }
}
END_TEST

START_TEST(test_handler_bad_args)
{
    const char *rows[] = {
        "not json",
        "null",
        "[]",
        "{}",
        "{\"url\": 5}",
        "{\"url\": \"\"}",
        "{\"url\": \"http://h/\", \"method\": 5}",
        "{\"url\": \"http://h/\", \"method\": \"GE T\"}",
        "{\"url\": \"http://h/\", \"headers\": []}",
        "{\"url\": \"http://h/\", \"headers\": {\"a\": 5}}",
        "{\"url\": \"http://h/\", \"headers\": {\"a b\": \"x\"}}",
        "{\"url\": \"http://h/\", \"headers\": {\"a:\": \"x\"}}",
        "{\"url\": \"http://h/\", \"headers\": {\"caf\u00e9\": \"x\"}}",
        "{\"url\": \"http://h/\", \"method\": \"G\u00c9T\"}",
        "{\"url\": \"http://h/\", \"headers\": {\"a\": \"x\\r\\ny: z\"}}",
        "{\"url\": \"http://h/\", \"body\": 5}",
        "{\"url\": \"http://h/\", \"timeout\": \"5\"}",
        "{\"url\": \"http://h/\", \"timeout\": -1}",
        "{\"url\": \"http://h/\", \"timeout\": 0}",
        "{\"url\": \"http://h/\", \"check\": \"no\"}",
    };
    zjob_ctx_t ctx = {.kind = "http"}; //  No loop: args fail first
    for (size_t index = 0; index < sizeof(rows) / sizeof(rows[0]); index++) {
        char *result = NULL;
        char *error = NULL;
        int rc = zj_handler_http(&ctx, rows[index], &result, &error);
        ck_assert_msg(rc != 0, "accepted %s", rows[index]);
        ck_assert_ptr_null(result);
        ck_assert_msg(error && strncmp(error, "bad args: ", 10) == 0,
                      "%s -> %s", rows[index], error);
        free(error);
    }
    //  Good args where no loop runs: the handler reports http's refusal.
    char *result = NULL;
    char *error = NULL;
    ck_assert_int_ne(
        zj_handler_http(&ctx, "{\"url\": \"http://h/\"}", &result, &error), 0);
    ck_assert_ptr_null(result);
    ck_assert_ptr_nonnull(error);
    ck_assert_msg(strncmp(error, "http: ", 6) == 0, "%s", error);
    free(error);
}
END_TEST

//  Header names and methods are RFC 7230 tokens: every byte a tchar, at
//  least one, and NULL none. The set is spelled out here, so a check that
//  follows the locale or forgets NULL fails.
START_TEST(test_is_token)
{
    const char *tchar = "!#$%&'*+-.^_`|~0123456789"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    for (int value = 1; value < 256; value++) {
        char text[4] = {'A', (char) value, 'z', '\0'};
        bool expected = strchr(tchar, value) != NULL;
        ck_assert_msg(zj_http_is_token(text) == expected, "byte 0x%02x", value);
        ck_assert_msg(zj_http_is_token(text + 1) == expected,
                      "byte 0x%02x first", value);
    }
    ck_assert(!zj_http_is_token(NULL));
    ck_assert(!zj_http_is_token(""));
    ck_assert(zj_http_is_token("X-Request-Id"));
    ck_assert(zj_http_is_token("PATCH"));
    ck_assert(!zj_http_is_token("Bad Name"));
    ck_assert(!zj_http_is_token("Host:"));
    ck_assert(!zj_http_is_token("caf\xc3\xa9"));
}
END_TEST

Suite *
test_http_suite(void)
{
    Suite *suite = suite_create("http");
    TCase *tcase = tcase_create("http");
    tcase_add_checked_fixture(tcase, s_setup, s_teardown);
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_get_hello);
    tcase_add_test(tcase, test_status_codes);
    tcase_add_test(tcase, test_echo_round_trip);
    tcase_add_test(tcase, test_expect_continue);
    tcase_add_test(tcase, test_large_echo);
    tcase_add_test(tcase, test_body_over_cap);
    tcase_add_test(tcase, test_many_at_once);
    tcase_add_test(tcase, test_connection_refused);
    tcase_add_test(tcase, test_timeout);
    tcase_add_test(tcase, test_cancel);
    tcase_add_test(tcase, test_destroy_aborts);
    tcase_add_test(tcase, test_denied_without_loop);
    tcase_add_test(tcase, test_bad_requests);
    tcase_add_test(tcase, test_handler_get);
    tcase_add_test(tcase, test_handler_echo);
    tcase_add_test(tcase, test_handler_binary_body);
    tcase_add_test(tcase, test_handler_transport_error);
    tcase_add_test(tcase, test_handler_error_statuses);
    suite_add_tcase(suite, tcase);

    //  Args are refused before any request: no server needed.
    TCase *args = tcase_create("args");
    tcase_add_test(args, test_handler_bad_args);
    tcase_add_test(args, test_is_token);
    suite_add_tcase(suite, args);
    return suite;
}
