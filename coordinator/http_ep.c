//  http_ep.c - the status page's HTTP endpoint on civetweb's threads
//  (see .h).
#define _GNU_SOURCE //  pipe2, RTLD_NEXT
#include <arpa/inet.h>
#include <assert.h>
#include <civetweb.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/duration.h"
#include "common/err.h"
#include "common/log.h"
#include "common/why.h"
#include "coordinator/http_ep.h"
#include "coordinator/prom.h"
#include "coordinator/store_view.h"
#include "coordinator/web_assets.h"

//  civetweb 1.15 as Debian builds it gives its threads 100 KB stacks, a
//  size compiled in that no option changes. A request here runs SQLite
//  and jansson on them, and in sanitizer builds civetweb's own header
//  printing overflowed that. So the coordinator (civetweb's only caller)
//  raises any stack size asked below S_MIN_STACK: this definition wins
//  over libc's for the whole program and calls it with the larger size.
#define S_MIN_STACK (2 * 1024 * 1024)

int
pthread_attr_setstacksize(pthread_attr_t *attributes, size_t size)
{
    typedef int(s_setter_fn)(pthread_attr_t *, size_t);
    static s_setter_fn *setter = NULL;
    if (setter == NULL)
        setter = (s_setter_fn *) dlsym(RTLD_NEXT, "pthread_attr_setstacksize");
    assert(setter);
    return setter(attributes, size < S_MIN_STACK ? S_MIN_STACK : size);
}

struct zj_http_ep {
    struct mg_context *server; //  civetweb, or NULL
    char address[128];         //  As bound
    char *token;               //  Required of requests, or NULL
    char *db_path;             //  The store, for its views
    int wake[2];               //  Pipe: requests write, the loop reads
    pthread_mutex_t lock;      //  Guards what follows
    pthread_cond_t published;  //  Signalled on each publish
    char *text;                //  The newest overview, or NULL
    int64_t text_ms;           //  zj_mono_ms() it was published
    uint64_t generation;       //  Publishes so far
    bool wanted;               //  A request waits for a new overview
};

//  Parses PORT (1..65535) from text; returns it, or 0.
static int
s_port(const char *text)
{
    if (*text == '\0' || strlen(text) > 5 ||
        strspn(text, "0123456789") != strlen(text))
        return 0;
    int port = atoi(text);
    return port <= 65535 ? port : 0;
}

//  host (no brackets) as an address; sets *loopback. Returns false if it
//  is not an IP literal.
static bool
s_host(const char *host, bool ipv6, bool *loopback)
{
    unsigned char bytes[16];
    if (ipv6) {
        if (inet_pton(AF_INET6, host, bytes) != 1)
            return false;
        *loopback = memcmp(bytes, &in6addr_loopback, 16) == 0;
        return true;
    }
    if (inet_pton(AF_INET, host, bytes) != 1)
        return false;
    *loopback = bytes[0] == 127;
    return true;
}

int
zj_http_ep_parse_addr(const char *addr, char *out, size_t size, bool *loopback,
                      char *why)
{
    assert(addr && out && loopback && why);
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(addr, ':');
    const char *port_text = colon ? colon + 1 : addr;
    bool ipv6 = addr[0] == '[';
    if (colon) {
        size_t length = (size_t) (colon - addr);
        if (ipv6 && (length < 2 || addr[length - 1] != ']'))
            colon = NULL;
        else if (length - 2 * ipv6 >= sizeof host || length == 0)
            colon = NULL;
        else
            snprintf(host, sizeof host, "%.*s", (int) (length - 2 * ipv6),
                     addr + ipv6);
    }
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    int port = s_port(port_text);
    if ((colon == NULL && strchr(addr, ':')) || port == 0 ||
        !s_host(host, ipv6, loopback))
        return zj_why_fail(ZJ_EUSAGE, why,
                           "--http takes HOST:PORT or PORT (127.0.0.1:7780, "
                           "[::1]:7780, 7780), not '%.40s'",
                           addr);
    snprintf(out, size, ipv6 ? "[%s]:%d" : "%s:%d", host, port);
    return 0;
}

int
zj_http_ep_read_token(const char *path, char **token_p, char *why)
{
    assert(path && token_p && why);
    *token_p = NULL;
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return zj_why_fail(ZJ_EUSAGE, why, "cannot read --http-token %s: %s",
                           path, strerror(errno));
    struct stat info;
    char line[ZJ_HTTP_TOKEN_MAX + 2] = "";
    bool shared = fstat(fileno(file), &info) == 0 && (info.st_mode & 077);
    bool read = fgets(line, sizeof line, file) != NULL;
    fclose(file);
    if (shared)
        return zj_why_fail(ZJ_EUSAGE, why,
                           "--http-token %s may be read by others: run chmod "
                           "600 %s",
                           path, path);
    line[strcspn(line, "\r\n")] = '\0';
    size_t length = strlen(line);
    bool printable = true;
    for (size_t index = 0; index < length; index++)
        printable &= line[index] > ' ' && line[index] < 127;
    if (!read || !printable || length < ZJ_HTTP_TOKEN_MIN ||
        length > ZJ_HTTP_TOKEN_MAX)
        return zj_why_fail(ZJ_EUSAGE, why,
                           "--http-token %s: its first line must be %d to %d "
                           "printable characters, without spaces",
                           path, ZJ_HTTP_TOKEN_MIN, ZJ_HTTP_TOKEN_MAX);
    *token_p = strdup(line);
    assert(*token_p);
    return 0;
}

//  Responses

static const char *s_security_policy =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'";

static int
s_send(struct mg_connection *conn, int status, const char *type,
       const char *body, size_t size)
{
    char length[32];
    snprintf(length, sizeof length, "%zu", size);
    mg_response_header_start(conn, status);
    mg_response_header_add(conn, "Content-Type", type, -1);
    mg_response_header_add(conn, "Content-Length", length, -1);
    mg_response_header_add(conn, "Cache-Control", "no-store", -1);
    mg_response_header_add(conn, "X-Content-Type-Options", "nosniff", -1);
    mg_response_header_add(conn, "Content-Security-Policy", s_security_policy,
                           -1);
    if (status == 401)
        mg_response_header_add(conn, "WWW-Authenticate",
                               "Basic realm=\"zjob\", charset=\"UTF-8\"", -1);
    if (status == 405)
        mg_response_header_add(conn, "Allow", "GET, HEAD", -1);
    mg_response_header_send(conn);
    const char *method = mg_get_request_info(conn)->request_method;
    if (strcmp(method, "HEAD") != 0 && size > 0)
        mg_write(conn, body, size);
    return status;
}

//  Sends value (taking it) as JSON.
static int
s_send_json(struct mg_connection *conn, int status, json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY |
                                       JSON_REAL_PRECISION(15));
    json_decref(value);
    assert(text);
    s_send(conn, status, "application/json", text, strlen(text));
    free(text);
    return status;
}

static int
s_send_error(struct mg_connection *conn, int status, const char *text)
{
    return s_send_json(conn, status, json_pack("{s:s}", "error", text));
}

//  The HTTP status of an error code (common/err.h).
static int
s_status_of(int code)
{
    return code == ZJ_ENOTFOUND ? 404
           : code == ZJ_EUSAGE  ? 400
           : code == ZJ_ETOOBIG ? 413
                                : 503;
}

//  Authorization

//  True if given (size bytes) is the token, in time that does not depend
//  on where they differ: both are hashed first, so lengths leak nothing.
static bool
s_is_token(const zj_http_ep_t *self, const char *given, size_t size)
{
    unsigned char expected[32], actual[32];
    crypto_generichash(expected, sizeof expected,
                       (const unsigned char *) self->token, strlen(self->token),
                       NULL, 0);
    crypto_generichash(actual, sizeof actual, (const unsigned char *) given,
                       size, NULL, 0);
    return sodium_memcmp(expected, actual, sizeof expected) == 0;
}

//  The password of a Basic header's base64 (any user name).
static bool
s_basic_matches(const zj_http_ep_t *self, const char *encoded)
{
    unsigned char decoded[ZJ_HTTP_TOKEN_MAX + 256];
    size_t size = 0;
    if (sodium_base642bin(decoded, sizeof decoded - 1, encoded, strlen(encoded),
                          NULL, &size, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    decoded[size] = '\0';
    const char *colon = memchr(decoded, ':', size);
    if (colon == NULL)
        return false;
    const char *password = colon + 1;
    return s_is_token(self, password,
                      size - (size_t) (password - (const char *) decoded));
}

static bool
s_authorized(const zj_http_ep_t *self, struct mg_connection *conn)
{
    if (self->token == NULL)
        return true;
    const char *header = mg_get_header(conn, "Authorization");
    if (header == NULL)
        return false;
    if (strncmp(header, "Bearer ", 7) == 0)
        return s_is_token(self, header + 7, strlen(header + 7));
    if (strncmp(header, "Basic ", 6) == 0)
        return s_basic_matches(self, header + 6);
    return false;
}

//  The overview, from the loop

//  A copy of the newest overview, asking the loop for one when it is
//  older than ZJ_HTTP_FRESH_MS and waiting up to ZJ_HTTP_WAIT_MS for it.
//  NULL if the loop never published one.
static char *
s_overview(zj_http_ep_t *self)
{
    pthread_mutex_lock(&self->lock);
    int64_t now_ms = zj_mono_ms();
    if (self->text == NULL || now_ms - self->text_ms >= ZJ_HTTP_FRESH_MS) {
        uint64_t seen = self->generation;
        if (!self->wanted) {
            self->wanted = true;
            ssize_t written = write(self->wake[1], "w", 1);
            (void) written; //  A full pipe wakes the loop already
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += ZJ_HTTP_WAIT_MS / 1000;
        until.tv_nsec += (ZJ_HTTP_WAIT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (self->generation == seen &&
               pthread_cond_timedwait(&self->published, &self->lock, &until) !=
                   ETIMEDOUT)
            ;
    }
    char *copy = self->text ? strdup(self->text) : NULL;
    pthread_mutex_unlock(&self->lock);
    return copy;
}

static int
s_on_overview(zj_http_ep_t *self, struct mg_connection *conn, bool metrics)
{
    char *text = s_overview(self);
    if (text == NULL)
        return s_send_error(conn, 503,
                            "the coordinator's loop has not answered yet");
    if (!metrics) {
        s_send(conn, 200, "application/json", text, strlen(text));
        free(text);
        return 200;
    }
    json_t *overview = json_loads(text, 0, NULL);
    free(text);
    assert(overview);
    char *exposition = zj_prom_text(overview);
    json_decref(overview);
    s_send(conn, 200, "text/plain; version=0.0.4; charset=utf-8", exposition,
           strlen(exposition));
    free(exposition);
    return 200;
}

//  The store's views

//  A whole number in 1..max from query's var, or fallback when absent.
//  Returns -1 when it is there but not such a number.
static int64_t
s_query_number(const char *query, const char *var, int64_t fallback,
               int64_t max)
{
    char text[32];
    int length =
        query ? mg_get_var(query, strlen(query), var, text, sizeof text) : -1;
    if (length == -1)
        return fallback;
    if (length <= 0 || length > 18 ||
        strspn(text, "0123456789") != (size_t) length)
        return -1;
    int64_t value = strtoll(text, NULL, 10);
    return value >= 1 && value <= max ? value : -1;
}

//  A short text from query's var into out[size], or NULL when absent.
static const char *
s_query_text(const char *query, const char *var, char *out, size_t size)
{
    if (query == NULL || mg_get_var(query, strlen(query), var, out, size) <= 0)
        return NULL;
    return out;
}

static int
s_view_reply(struct mg_connection *conn, int rc, json_t *value, const char *why)
{
    if (rc == 0)
        return s_send_json(conn, 200, value);
    return s_send_error(conn, s_status_of(rc), why);
}

static int
s_on_jobs(zj_http_ep_t *self, struct mg_connection *conn, const char *query)
{
    char state[32], kind[256], why[ZJ_WHY_SIZE] = "";
    zj_view_query_t view = {
        .state = s_query_text(query, "state", state, sizeof state),
        .kind = s_query_text(query, "kind", kind, sizeof kind),
        .before = s_query_number(query, "before", 0, INT64_MAX / 2),
        .limit = (int) s_query_number(query, "limit", 50, ZJ_VIEW_JOBS_MAX),
    };
    if (view.before < 0 || view.limit < 0)
        return s_send_error(conn, 400,
                            "limit must be 1..500 and before a job id");
    json_t *out = NULL;
    int rc = zj_store_view_jobs(self->db_path, &view, &out, why);
    return s_view_reply(conn, rc, out, why);
}

static int
s_on_job(zj_http_ep_t *self, struct mg_connection *conn, const char *id_text)
{
    char why[ZJ_WHY_SIZE] = "";
    size_t length = strlen(id_text);
    if (length == 0 || length > 18 || strspn(id_text, "0123456789") != length)
        return s_send_error(conn, 400, "a job id is a whole number");
    json_t *out = NULL;
    int rc =
        zj_store_view_job(self->db_path, strtoll(id_text, NULL, 10), &out, why);
    return s_view_reply(conn, rc, out, why);
}

static int
s_on_api(zj_http_ep_t *self, struct mg_connection *conn, const char *path,
         const char *query)
{
    char why[ZJ_WHY_SIZE] = "";
    json_t *out = NULL;
    int rc;
    if (strcmp(path, "overview") == 0)
        return s_on_overview(self, conn, false);
    if (strcmp(path, "jobs") == 0)
        return s_on_jobs(self, conn, query);
    if (strncmp(path, "jobs/", 5) == 0)
        return s_on_job(self, conn, path + 5);
    if (strcmp(path, "failures") == 0) {
        int64_t limit =
            s_query_number(query, "limit", 20, ZJ_VIEW_FAILURES_MAX);
        if (limit < 0)
            return s_send_error(conn, 400, "limit must be 1..200");
        rc = zj_store_view_failures(self->db_path, (int) limit, &out, why);
    } else if (strcmp(path, "schedules") == 0)
        rc = zj_store_view_schedules(self->db_path, &out, why);
    else if (strcmp(path, "limits") == 0)
        rc = zj_store_view_limits(self->db_path, &out, why);
    else
        return s_send_error(conn, 404, "no such API: see docs/page.md");
    return s_view_reply(conn, rc, out, why);
}

//  The status page's files (web_assets.h): "/" and "/static/<file>".
static int
s_on_asset(struct mg_connection *conn, const char *path)
{
    const zj_web_asset_t *asset = zj_web_asset_find(path);
    if (!asset)
        return s_send_error(conn, 404, "no such page");
    return s_send(conn, 200, asset->type, (const char *) asset->data,
                  asset->size);
}

static int
s_on_request(struct mg_connection *conn, void *arg)
{
    zj_http_ep_t *self = arg;
    const struct mg_request_info *request = mg_get_request_info(conn);
    const char *method = request->request_method;
    const char *path = request->local_uri ? request->local_uri : "/";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return s_send_error(conn, 405, "read-only: GET and HEAD only");
    if (!s_authorized(self, conn))
        return s_send_error(conn, 401, "this page needs the --http-token");
    if (strcmp(path, "/metrics") == 0)
        return s_on_overview(self, conn, true);
    if (strncmp(path, "/api/", 5) == 0)
        return s_on_api(self, conn, path + 5, request->query_string);
    return s_on_asset(conn, path);
}

static int
s_on_log(const struct mg_connection *conn, const char *message)
{
    (void) conn;
    zj_log_warning("http said=\"%s\"", message);
    return 1;
}

//  Lifecycle

static int
s_start(zj_http_ep_t *self, const char *bound, char *why)
{
    const char *options[] = {"listening_ports",
                             bound,
                             "num_threads",
                             ZJ_HTTP_THREADS,
                             "request_timeout_ms",
                             "10000",
                             "enable_keep_alive",
                             "yes",
                             "keep_alive_timeout_ms",
                             "5000",
                             "tcp_nodelay",
                             "1",
                             NULL};
    struct mg_callbacks callbacks = {.log_message = s_on_log};
    struct mg_init_data init = {&callbacks, self, options};
    char text[ZJ_WHY_SIZE] = "";
    unsigned code = 0;
    struct mg_error_data error = {&code, text, sizeof text};
    //  civetweb counts its users: each endpoint inits and exits it once.
    mg_init_library(0);
    self->server = mg_start2(&init, &error);
    if (self->server == NULL) {
        mg_exit_library();
        return zj_why_fail(ZJ_ESYS, why, "cannot serve --http %s: %s", bound,
                           text[0] ? text : "civetweb did not start");
    }
    mg_set_request_handler(self->server, "/", s_on_request, self);
    snprintf(self->address, sizeof self->address, "%s", bound);
    return 0;
}

zj_http_ep_t *
zj_http_ep_new(const char *addr, const char *token, const char *db_path,
               char *why)
{
    assert(addr && db_path && why);
    char bound[128];
    bool loopback = false;
    if (zj_http_ep_parse_addr(addr, bound, sizeof bound, &loopback, why))
        return NULL;
    if (!loopback && token == NULL) {
        zj_why_set(why,
                   "--http %s is not a loopback address: give --http-token "
                   "FILE too (docs/operations.md)",
                   bound);
        return NULL;
    }
    zj_http_ep_t *self = calloc(1, sizeof *self);
    assert(self);
    self->wake[0] = self->wake[1] = -1;
    self->token = token ? strdup(token) : NULL;
    self->db_path = strdup(db_path);
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&self->published, &attributes);
    pthread_condattr_destroy(&attributes);
    pthread_mutex_init(&self->lock, NULL);
    if (pipe2(self->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        zj_why_set(why, "cannot make a pipe: %s", strerror(errno));
        zj_http_ep_destroy(&self);
        return NULL;
    }
    if (s_start(self, bound, why) != 0)
        zj_http_ep_destroy(&self);
    return self;
}

void
zj_http_ep_destroy(zj_http_ep_t **self_p)
{
    assert(self_p);
    zj_http_ep_t *self = *self_p;
    if (self == NULL)
        return;
    if (self->server) {
        mg_stop(self->server);
        mg_exit_library();
    }
    if (self->wake[0] >= 0) {
        close(self->wake[0]);
        close(self->wake[1]);
    }
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->published);
    free(self->text);
    free(self->token);
    free(self->db_path);
    free(self);
    *self_p = NULL;
}

int
zj_http_ep_fd(const zj_http_ep_t *self)
{
    assert(self);
    return self->wake[0];
}

bool
zj_http_ep_wanted(zj_http_ep_t *self)
{
    assert(self);
    char bytes[64];
    while (read(self->wake[0], bytes, sizeof bytes) > 0)
        ;
    pthread_mutex_lock(&self->lock);
    bool wanted = self->wanted;
    self->wanted = false;
    pthread_mutex_unlock(&self->lock);
    return wanted;
}

void
zj_http_ep_publish(zj_http_ep_t *self, char *text)
{
    assert(self && text);
    pthread_mutex_lock(&self->lock);
    free(self->text);
    self->text = text;
    self->text_ms = zj_mono_ms();
    self->generation++;
    pthread_cond_broadcast(&self->published);
    pthread_mutex_unlock(&self->lock);
}

const char *
zj_http_ep_address(const zj_http_ep_t *self)
{
    assert(self);
    return self->address;
}
