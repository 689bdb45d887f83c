//  test_http_ep.c - the status page's endpoint (coordinator/http_ep.c):
//  its address and token checks, and requests over real sockets (libcurl
//  on a thread) while the test plays the loop.
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/why.h"
#include "coordinator/http_ep.h"
#include "tests/unit/suites.h"

START_TEST(test_http_addresses)
{
    char out[128], why[ZJ_WHY_SIZE];
    bool loopback = false;
    ck_assert_int_eq(
        zj_http_ep_parse_addr("7780", out, sizeof out, &loopback, why), 0);
    ck_assert_str_eq(out, "127.0.0.1:7780");
    ck_assert(loopback);
    ck_assert_int_eq(
        zj_http_ep_parse_addr("localhost:80", out, sizeof out, &loopback, why),
        0);
    ck_assert_str_eq(out, "127.0.0.1:80");
    ck_assert_int_eq(
        zj_http_ep_parse_addr("[::1]:7780", out, sizeof out, &loopback, why),
        0);
    ck_assert_str_eq(out, "[::1]:7780");
    ck_assert(loopback);
    ck_assert_int_eq(
        zj_http_ep_parse_addr("0.0.0.0:7780", out, sizeof out, &loopback, why),
        0);
    ck_assert(!loopback);
    const char *bad[] = {"",           "0",           "65536",
                         "host:7780",  "1.2.3.4:",    ":7780",
                         "[::1:7780",  "::1:7780",    "1.2.3.4:77a",
                         "1.2.3.4:-1", "[1.2.3.4]:80"};
    for (size_t index = 0; index < sizeof bad / sizeof *bad; index++) {
        why[0] = '\0';
        ck_assert_msg(zj_http_ep_parse_addr(bad[index], out, sizeof out,
                                            &loopback, why) == ZJ_EUSAGE,
                      "%s taken", bad[index]);
        ck_assert_ptr_nonnull(strstr(why, "--http takes"));
    }
}
END_TEST

//  Writes text to a new file of mode; returns its path (static).
static const char *
s_token_file(const char *text, mode_t mode)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/zjob-token.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    fchmod(fd, mode);
    close(fd);
    return path;
}

START_TEST(test_http_token_files)
{
    char why[ZJ_WHY_SIZE], *token = NULL;
    const char *path = s_token_file("0123456789abcdef0123\n", 0600);
    ck_assert_int_eq(zj_http_ep_read_token(path, &token, why), 0);
    ck_assert_str_eq(token, "0123456789abcdef0123");
    free(token);
    unlink(path);
    path = s_token_file("0123456789abcdef0123\n", 0644);
    ck_assert_int_eq(zj_http_ep_read_token(path, &token, why), ZJ_EUSAGE);
    ck_assert_ptr_nonnull(strstr(why, "chmod 600"));
    ck_assert_ptr_null(token);
    unlink(path);
    path = s_token_file("short\n", 0600);
    ck_assert_int_eq(zj_http_ep_read_token(path, &token, why), ZJ_EUSAGE);
    unlink(path);
    path = s_token_file("with a space in it ok\n", 0600);
    ck_assert_int_eq(zj_http_ep_read_token(path, &token, why), ZJ_EUSAGE);
    unlink(path);
    ck_assert_int_eq(zj_http_ep_read_token("/nonexistent/t", &token, why),
                     ZJ_EUSAGE);
    ck_assert_ptr_nonnull(strstr(why, "cannot read"));
}
END_TEST

//  A free port on 127.0.0.1 (another process may take it meanwhile; the
//  test then fails to start, rarely).
static int
s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &address, sizeof address), 0);
    socklen_t size = sizeof address;
    getsockname(fd, (struct sockaddr *) &address, &size);
    close(fd);
    return ntohs(address.sin_port);
}

typedef struct {
    char url[128];
    const char *header; //  Or NULL
    const char *method; //  Or NULL for GET
    long status;
    char body[4096];
    size_t size;
} s_request_t;

static size_t
s_collect(char *data, size_t size, size_t count, void *arg)
{
    s_request_t *request = arg;
    size_t room = sizeof request->body - 1 - request->size;
    size_t take = size * count < room ? size * count : room;
    memcpy(request->body + request->size, data, take);
    request->size += take;
    request->body[request->size] = '\0';
    return size * count;
}

static void *
s_fetch(void *arg)
{
    s_request_t *request = arg;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers =
        request->header ? curl_slist_append(NULL, request->header) : NULL;
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, request);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    if (request->method)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &request->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return NULL;
}

//  Fetches path from port with header, in this thread.
static void
s_get(s_request_t *request, int port, const char *path, const char *header)
{
    memset(request, 0, sizeof *request);
    snprintf(request->url, sizeof request->url, "http://127.0.0.1:%d%s", port,
             path);
    request->header = header;
    s_fetch(request);
}

//  Plays the loop until a request wants an overview (or 5 s), then
//  publishes text. Returns true if one was wanted.
static bool
s_loop_publishes(zj_http_ep_t *http, const char *text)
{
    struct pollfd wake = {.fd = zj_http_ep_fd(http), .events = POLLIN};
    for (int round = 0; round < 50; round++) {
        if (poll(&wake, 1, 100) == 1 && zj_http_ep_wanted(http)) {
            zj_http_ep_publish(http, strdup(text));
            return true;
        }
    }
    return false;
}

//  A request for the overview asks the loop, which publishes; one soon
//  after is served the same without asking; /metrics is made from it.
START_TEST(test_http_overview_comes_from_the_loop)
{
    char why[ZJ_WHY_SIZE] = "", addr[32];
    int port = s_free_port();
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    zj_http_ep_t *http = zj_http_ep_new(addr, NULL, "/nonexistent.db", why);
    ck_assert_msg(http != NULL, "%s", why);
    s_request_t request = {0};
    snprintf(request.url, sizeof request.url,
             "http://127.0.0.1:%d/api/overview", port);
    pthread_t thread;
    pthread_create(&thread, NULL, s_fetch, &request);
    ck_assert(s_loop_publishes(http, "{\"version\": \"t\"}"));
    pthread_join(thread, NULL);
    ck_assert_int_eq(request.status, 200);
    ck_assert_str_eq(request.body, "{\"version\": \"t\"}");
    //  Fresh: served without the loop.
    s_get(&request, port, "/metrics", NULL);
    ck_assert_int_eq(request.status, 200);
    ck_assert_ptr_nonnull(
        strstr(request.body, "zjob_build_info{version=\"t\"} 1"));
    ck_assert(!zj_http_ep_wanted(http));
    //  Read-only, and the store's views say what is wrong.
    s_get(&request, port, "/api/jobs/12x", NULL);
    ck_assert_int_eq(request.status, 400);
    s_get(&request, port, "/api/jobs?limit=0", NULL);
    ck_assert_int_eq(request.status, 400);
    s_get(&request, port, "/api/nope", NULL);
    ck_assert_int_eq(request.status, 404);
    s_get(&request, port, "/api/failures", NULL);
    ck_assert_int_eq(request.status, 503);
    ck_assert_ptr_nonnull(strstr(request.body, "cannot read the store"));
    memset(&request, 0, sizeof request);
    snprintf(request.url, sizeof request.url, "http://127.0.0.1:%d/metrics",
             port);
    request.method = "POST";
    s_fetch(&request);
    ck_assert_int_eq(request.status, 405);
    zj_http_ep_destroy(&http);
    ck_assert_ptr_null(http);
}
END_TEST

//  A loop that never answers: the request gets 503 after its wait, not
//  a hang.
START_TEST(test_http_overview_without_a_loop_is_503)
{
    char why[ZJ_WHY_SIZE] = "", addr[32];
    int port = s_free_port();
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    zj_http_ep_t *http = zj_http_ep_new(addr, NULL, "/nonexistent.db", why);
    ck_assert_msg(http != NULL, "%s", why);
    s_request_t request;
    s_get(&request, port, "/api/overview", NULL);
    ck_assert_int_eq(request.status, 503);
    ck_assert_ptr_nonnull(strstr(request.body, "has not answered"));
    ck_assert(zj_http_ep_wanted(http));
    zj_http_ep_destroy(&http);
}
END_TEST

//  With a token, nothing is served without it: Bearer and Basic (any
//  user) carry it.
START_TEST(test_http_token_is_required)
{
    char why[ZJ_WHY_SIZE] = "", addr[32];
    int port = s_free_port();
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);
    const char *token = "0123456789abcdef0123";
    zj_http_ep_t *http = zj_http_ep_new(addr, token, "/nonexistent.db", why);
    ck_assert_msg(http != NULL, "%s", why);
    s_request_t request;
    s_get(&request, port, "/api/nope", NULL);
    ck_assert_int_eq(request.status, 401);
    s_get(&request, port, "/api/nope",
          "Authorization: Bearer 0123456789abcdef012");
    ck_assert_int_eq(request.status, 401);
    s_get(&request, port, "/api/nope",
          "Authorization: Bearer 0123456789abcdef0123");
    ck_assert_int_eq(request.status, 404);
    //  base64("me:0123456789abcdef0123")
    s_get(&request, port, "/api/nope",
          "Authorization: Basic bWU6MDEyMzQ1Njc4OWFiY2RlZjAxMjM=");
    ck_assert_int_eq(request.status, 404);
    s_get(&request, port, "/api/nope", "Authorization: Basic !!!");
    ck_assert_int_eq(request.status, 401);
    zj_http_ep_destroy(&http);
    //  Off loopback, a token is a must.
    ck_assert_ptr_null(zj_http_ep_new("0.0.0.0:1", NULL, "x.db", why));
    ck_assert_ptr_nonnull(strstr(why, "--http-token"));
}
END_TEST

Suite *
test_http_ep_suite(void)
{
    Suite *suite = suite_create("http_ep");
    TCase *tcase = tcase_create("core");
    tcase_set_timeout(tcase, 30);
    tcase_add_test(tcase, test_http_addresses);
    tcase_add_test(tcase, test_http_token_files);
    tcase_add_test(tcase, test_http_overview_comes_from_the_loop);
    tcase_add_test(tcase, test_http_overview_without_a_loop_is_503);
    tcase_add_test(tcase, test_http_token_is_required);
    suite_add_tcase(suite, tcase);
    return suite;
}
