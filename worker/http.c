//  http.c - libcurl's multi socket interface driven by the worker's libuv
//  loop, and the zjob_http awaitable built on it. curl tells us which
//  sockets to watch (one uv_poll_t each) and when to time out (one
//  uv_timer_t); libuv tells curl what happened. A transfer lives on its
//  job's coroutine stack while the coroutine waits, so a thousand
//  transfers cost a thousand easy handles and no thread.
#include <assert.h>
#include <ctype.h>
#include <curl/curl.h>
#include <czmq.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "proto/limits.h"
#include "worker/coro.h"
#include "worker/http.h"
#include "worker/job_ctx.h"

//  A response's body and headers together may use half a job's result:
//  the other half leaves room for JSON escaping or base64.
#define ZJ_HTTP_MAX_RESPONSE (ZJ_MAX_RESULT / 2)

#define ZJ_HTTP_SOCKET_TAG 0x5a4a4853   //  "ZJHS"
#define ZJ_HTTP_TRANSFER_TAG 0x5a4a4854 //  "ZJHT"

struct zj_http {
    uv_loop_t *loop;     //  The worker's loop (borrowed)
    CURLM *multi;        //  The one multi handle every transfer joins
    uv_timer_t timer;    //  The single timeout curl asks for
    zlistx_t *transfers; //  s_transfer_t in flight (borrowed from stacks)
    zlistx_t *sockets;   //  s_socket_t being watched (owned until closed)
    bool closing;        //  Set by zj_http_destroy: refuse new transfers
};

//  One socket curl asked us to watch.
typedef struct {
    uint32_t tag;      //  ZJ_HTTP_SOCKET_TAG while alive
    uv_poll_t poll;    //  Its libuv watcher
    curl_socket_t fd;  //  The socket
    zj_http_t *http;   //  The driver that watches it
    void *list_handle; //  Its place in http->sockets
} s_socket_t;

//  One request in flight, on the waiting coroutine's stack.
typedef struct {
    uint32_t tag;                //  ZJ_HTTP_TRANSFER_TAG while alive
    zj_http_t *http;             //  The driver it runs on
    zjob_ctx_t *ctx;             //  The job waiting for it
    CURL *easy;                  //  The curl transfer
    struct curl_slist *headers;  //  Request header lines
    zchunk_t *body;              //  Response body so far
    zchunk_t *head;              //  Header lines of the latest response
    void *list_handle;           //  Its place in http->transfers, or NULL
    bool over_cap;               //  The response passed the cap
    bool cancelled;              //  Abandoned or aborted by destroy
    CURLcode result;             //  curl's outcome once done
    char error[CURL_ERROR_SIZE]; //  curl's detailed reason
} s_transfer_t;

static pthread_once_t s_global_once = PTHREAD_ONCE_INIT;
static CURLcode s_global_rc = CURLE_FAILED_INIT;

static void
s_global_init(void)
{
    s_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int s_socket_changed(CURL *easy, curl_socket_t fd, int what, void *arg,
                            void *socketp);
static int s_timer_changed(CURLM *multi, long timeout_ms, void *arg);
static void s_free_self(uv_handle_t *handle);
//  Writes a failure into response; returns code.
static int s_fail(zjob_http_response_t *response, int code, const char *format,
                  ...) __attribute__((format(printf, 3, 4)));

zj_http_t *
zj_http_new(uv_loop_t *loop)
{
    assert(loop);
    zj_http_t *self = (zj_http_t *) calloc(1, sizeof(zj_http_t));
    if (self == NULL)
        return NULL;
    self->loop = loop;
    self->transfers = zlistx_new();
    self->sockets = zlistx_new();
    if (self->transfers == NULL || self->sockets == NULL ||
        uv_timer_init(loop, &self->timer) != 0) {
        zlistx_destroy(&self->transfers);
        zlistx_destroy(&self->sockets);
        free(self);
        return NULL;
    }
    self->timer.data = self;
    return self;
}

//  curl, and the TLS library under it, start with the first transfer: a
//  worker that never runs one never pays their memory (about 2.4 MiB).
static int
s_start_multi(zj_http_t *self, zjob_http_response_t *response)
{
    if (self->multi)
        return 0;
    pthread_once(&s_global_once, s_global_init);
    if (s_global_rc != CURLE_OK)
        return s_fail(response, ZJ_ESYS, "curl_global_init: %s",
                      curl_easy_strerror(s_global_rc));
    self->multi = curl_multi_init();
    if (self->multi == NULL)
        return s_fail(response, ZJ_ENOMEM, "curl_multi_init failed");
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, s_socket_changed);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, s_timer_changed);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    return 0;
}

static void s_transfer_detach(s_transfer_t *transfer);
static void s_socket_close(zj_http_t *self, s_socket_t *sock);

void
zj_http_destroy(zj_http_t **self_p)
{
    assert(self_p);
    zj_http_t *self = *self_p;
    if (self == NULL)
        return;
    //  Each aborted job resumes here and may try another request; closing
    //  makes that fail at once, so the list only shrinks.
    self->closing = true;
    s_transfer_t *transfer;
    while ((transfer = (s_transfer_t *) zlistx_first(self->transfers))) {
        assert(transfer->tag == ZJ_HTTP_TRANSFER_TAG);
        s_transfer_detach(transfer);
        transfer->cancelled = true;
        zj_coro_resume(transfer->ctx->coro);
    }
    if (self->multi)
        curl_multi_cleanup(self->multi);
    self->multi = NULL;
    //  curl normally removes its sockets itself; close any it left.
    s_socket_t *sock;
    while ((sock = (s_socket_t *) zlistx_first(self->sockets)))
        s_socket_close(self, sock);
    zlistx_destroy(&self->transfers);
    zlistx_destroy(&self->sockets);
    uv_timer_stop(&self->timer);
    uv_close((uv_handle_t *) &self->timer, s_free_self);
    *self_p = NULL;
}

static void
s_free_self(uv_handle_t *handle)
{
    free(handle->data);
}

size_t
zj_http_active(const zj_http_t *self)
{
    assert(self);
    return self->transfers ? zlistx_size(self->transfers) : 0;
}

bool
zj_http_is_token(const char *text)
{
    if (text == NULL || *text == '\0')
        return false;
    for (; *text; text++) {
        //  ASCII letters and digits by range: isalnum() follows the
        //  locale, and a plugin may set one where bytes past 0x7f count.
        char byte = *text;
        bool alnum = (byte >= 'a' && byte <= 'z') ||
                     (byte >= 'A' && byte <= 'Z') ||
                     (byte >= '0' && byte <= '9');
        if (!alnum && strchr("!#$%&'*+-.^_`|~", byte) == NULL)
            return false;
    }
    return true;
}

//  --- curl's sockets and timer on libuv ---------------------------------

//  Called by libuv when a watched socket is ready: tell curl, then hand
//  out whatever finished.
static void s_check_done(zj_http_t *self);

static void
s_socket_ready(uv_poll_t *poll, int status, int events)
{
    s_socket_t *sock = (s_socket_t *) poll->data;
    assert(sock->tag == ZJ_HTTP_SOCKET_TAG);
    zj_http_t *self = sock->http;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running = 0;
    //  sock may be closed inside this call; do not touch it after.
    curl_multi_socket_action(self->multi, sock->fd, flags, &running);
    s_check_done(self);
}

static void
s_socket_free(uv_handle_t *handle)
{
    s_socket_t *sock = (s_socket_t *) handle->data;
    sock->tag = 0;
    free(sock);
}

static s_socket_t *
s_socket_new(zj_http_t *self, curl_socket_t fd)
{
    s_socket_t *sock = (s_socket_t *) calloc(1, sizeof(s_socket_t));
    if (sock == NULL)
        return NULL;
    if (uv_poll_init_socket(self->loop, &sock->poll, fd) != 0) {
        free(sock);
        return NULL;
    }
    sock->tag = ZJ_HTTP_SOCKET_TAG;
    sock->fd = fd;
    sock->http = self;
    sock->poll.data = sock;
    sock->list_handle = zlistx_add_end(self->sockets, sock);
    return sock;
}

static void
s_socket_close(zj_http_t *self, s_socket_t *sock)
{
    assert(sock->tag == ZJ_HTTP_SOCKET_TAG);
    zlistx_delete(self->sockets, sock->list_handle);
    uv_close((uv_handle_t *) &sock->poll, s_socket_free);
}

//  CURLMOPT_SOCKETFUNCTION: curl says which events it wants on fd.
static int
s_socket_changed(CURL *easy, curl_socket_t fd, int what, void *arg,
                 void *socketp)
{
    (void) easy;
    zj_http_t *self = (zj_http_t *) arg;
    s_socket_t *sock = (s_socket_t *) socketp;
    if (what == CURL_POLL_REMOVE) {
        //  curl forgets its own pointer to sock when it removes fd.
        if (sock)
            s_socket_close(self, sock);
        return 0;
    }
    if (sock == NULL) {
        sock = s_socket_new(self, fd);
        if (sock == NULL)
            return -1;
        curl_multi_assign(self->multi, fd, sock);
    }
    int events = 0;
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    if (events == 0)
        return uv_poll_stop(&sock->poll) == 0 ? 0 : -1;
    return uv_poll_start(&sock->poll, events, s_socket_ready) == 0 ? 0 : -1;
}

static void
s_timer_fired(uv_timer_t *timer)
{
    zj_http_t *self = (zj_http_t *) timer->data;
    int running = 0;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    s_check_done(self);
}

//  CURLMOPT_TIMERFUNCTION: curl wants one call after timeout_ms (-1: none).
//  curl forbids calling it back from here, so even 0 goes through libuv.
static int
s_timer_changed(CURLM *multi, long timeout_ms, void *arg)
{
    (void) multi;
    zj_http_t *self = (zj_http_t *) arg;
    if (timeout_ms < 0)
        return uv_timer_stop(&self->timer) == 0 ? 0 : -1;
    return uv_timer_start(&self->timer, s_timer_fired, (uint64_t) timeout_ms,
                          0) == 0
               ? 0
               : -1;
}

//  Resumes the job of every finished transfer. A resumed job may add or
//  cancel transfers; curl keeps its message queue right through that.
static void
s_check_done(zj_http_t *self)
{
    CURLMsg *message;
    int left = 0;
    while ((message = curl_multi_info_read(self->multi, &left))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        //  message dies with curl_multi_remove_handle: copy first.
        CURLcode result = message->data.result;
        char *private_p = NULL;
        curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE, &private_p);
        s_transfer_t *transfer = (s_transfer_t *) private_p;
        assert(transfer && transfer->tag == ZJ_HTTP_TRANSFER_TAG);
        s_transfer_detach(transfer);
        transfer->result = result;
        zj_coro_resume(transfer->ctx->coro);
    }
}

//  --- one transfer ------------------------------------------------------

//  Takes transfer out of the multi and out of the list; the job no longer
//  has a wait to abandon.
static void
s_transfer_detach(s_transfer_t *transfer)
{
    assert(transfer->list_handle);
    zj_http_t *http = transfer->http;
    curl_multi_remove_handle(http->multi, transfer->easy);
    zlistx_delete(http->transfers, transfer->list_handle);
    transfer->list_handle = NULL;
    transfer->ctx->abandon = NULL;
    transfer->ctx->abandon_arg = NULL;
}

//  ctx->abandon while the job waits: drop the transfer, resume the job.
static void
s_abandon(zjob_ctx_t *ctx)
{
    s_transfer_t *transfer = (s_transfer_t *) ctx->abandon_arg;
    assert(transfer && transfer->tag == ZJ_HTTP_TRANSFER_TAG);
    s_transfer_detach(transfer);
    transfer->cancelled = true;
    zj_coro_resume(ctx->coro);
}

static bool
s_fits_cap(s_transfer_t *transfer, size_t bytes)
{
    size_t used = zchunk_size(transfer->body) + zchunk_size(transfer->head);
    if (bytes <= ZJ_HTTP_MAX_RESPONSE - used)
        return true;
    transfer->over_cap = true;
    return false;
}

//  CURLOPT_WRITEFUNCTION: a piece of the response body.
static size_t
s_body_write(char *data, size_t size, size_t count, void *arg)
{
    s_transfer_t *transfer = (s_transfer_t *) arg;
    size_t bytes = size * count;
    if (!s_fits_cap(transfer, bytes))
        return 0; //  Fewer bytes than given: curl fails the transfer
    zchunk_extend(transfer->body, data, bytes);
    return bytes;
}

//  CURLOPT_HEADERFUNCTION: one header line. A status line starts a new
//  response (after a 100 Continue, say), so only the last one's are kept.
static size_t
s_header_write(char *data, size_t size, size_t count, void *arg)
{
    s_transfer_t *transfer = (s_transfer_t *) arg;
    size_t bytes = size * count;
    if (bytes >= 5 && memcmp(data, "HTTP/", 5) == 0)
        zchunk_set(transfer->head, NULL, 0);
    if (!s_fits_cap(transfer, bytes))
        return 0;
    zchunk_extend(transfer->head, data, bytes);
    return bytes;
}

static int
s_fail(zjob_http_response_t *response, int code, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    free(response->error);
    response->error = zsys_vprintf(format, args);
    va_end(args);
    return code;
}

static int
s_add_headers(s_transfer_t *transfer, const zjob_http_request_t *request,
              zjob_http_response_t *response)
{
    bool has_expect = false;
    for (size_t index = 0; index < request->header_count; index++) {
        const zjob_header_t *header = &request->headers[index];
        if (!zj_http_is_token(header->name))
            return s_fail(response, ZJ_EARGS, "bad header name");
        const char *value = header->value ? header->value : "";
        if (strpbrk(value, "\r\n"))
            return s_fail(response, ZJ_EARGS, "header '%s' has a line break",
                          header->name);
        if (strcasecmp(header->name, "Expect") == 0)
            has_expect = true;
        //  curl sends "Name;" as an empty header; "Name:" would delete it.
        char *line = *value ? zsys_sprintf("%s: %s", header->name, value)
                            : zsys_sprintf("%s;", header->name);
        struct curl_slist *list = curl_slist_append(transfer->headers, line);
        free(line);
        if (list == NULL)
            return s_fail(response, ZJ_ENOMEM, "out of memory");
        transfer->headers = list;
    }
    //  Without this curl sends Expect: 100-continue for large bodies and
    //  waits a second for a go-ahead many servers never send.
    if (!has_expect) {
        struct curl_slist *list =
            curl_slist_append(transfer->headers, "Expect:");
        if (list == NULL)
            return s_fail(response, ZJ_ENOMEM, "out of memory");
        transfer->headers = list;
    }
    return 0;
}

//  Sets the method and body. The body is not copied: the request outlives
//  the transfer, since its caller waits until the transfer is detached.
static void
s_set_method(CURL *easy, const zjob_http_request_t *request)
{
    const char *method = request->method ? request->method : "GET";
    bool has_body = request->body != NULL || strcmp(method, "POST") == 0;
    if (has_body) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t) (request->body ? request->body_size : 0));
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                         request->body ? request->body : "");
    }
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, has_body ? "POST" : "GET") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
}

//  Builds the easy handle for request. Returns 0 or a code with
//  response->error set.
static int
s_transfer_setup(s_transfer_t *transfer, const zjob_http_request_t *request,
                 zjob_http_response_t *response)
{
    if (request->url == NULL || *request->url == '\0')
        return s_fail(response, ZJ_EARGS, "no url");
    if (request->method && !zj_http_is_token(request->method))
        return s_fail(response, ZJ_EARGS, "bad method");
    transfer->body = zchunk_new(NULL, 0);
    transfer->head = zchunk_new(NULL, 0);
    transfer->easy = curl_easy_init();
    if (transfer->easy == NULL)
        return s_fail(response, ZJ_ENOMEM, "curl_easy_init failed");
    int rc = s_add_headers(transfer, request, response);
    if (rc != 0)
        return rc;
    CURL *easy = transfer->easy;
    if (curl_easy_setopt(easy, CURLOPT_URL, request->url) != CURLE_OK)
        return s_fail(response, ZJ_EARGS, "bad url");
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    //  Redirects are not followed: the job reports the 3xx and Location,
    //  and a URL cannot lead the worker to hosts its submitter never named.
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
    s_set_method(easy, request);
    if (request->timeout_ms > 0)
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) request->timeout_ms);
    curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t) ZJ_HTTP_MAX_RESPONSE);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, s_body_write);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, s_header_write);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer);
    return 0;
}

static void
s_transfer_cleanup(s_transfer_t *transfer)
{
    assert(transfer->list_handle == NULL);
    curl_easy_cleanup(transfer->easy);
    curl_slist_free_all(transfer->headers);
    zchunk_destroy(&transfer->body);
    zchunk_destroy(&transfer->head);
    transfer->tag = 0;
}

//  Copies head's "name: value" lines into response->headers as one block,
//  the array followed by its strings, so that one free releases it.
static int
s_parse_headers(zchunk_t *head, zjob_http_response_t *response)
{
    char *text = zsys_sprintf("%.*s", (int) zchunk_size(head),
                              (char *) zchunk_data(head));
    size_t text_size = strlen(text);
    size_t lines = 1; //  At most one header per line
    for (const char *cursor = text; (cursor = strchr(cursor, '\n')); cursor++)
        lines++;
    size_t array = lines * sizeof(zjob_header_t);
    char *block = (char *) malloc(array + text_size + 2 * lines);
    if (block == NULL) {
        free(text);
        return s_fail(response, ZJ_ENOMEM, "out of memory");
    }
    zjob_header_t *headers = (zjob_header_t *) block;
    char *strings = block + array;
    size_t found = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        //  Skips the status line, the blank line and obsolete folding.
        if (colon == NULL || colon == line || isspace((unsigned char) *line))
            continue;
        char *value = colon + 1;
        value += strspn(value, " \t");
        size_t value_size = strlen(value);
        while (value_size && isspace((unsigned char) value[value_size - 1]))
            value_size--;
        headers[found].name = strings;
        strings += sprintf(strings, "%.*s", (int) (colon - line), line) + 1;
        headers[found].value = strings;
        strings += sprintf(strings, "%.*s", (int) value_size, value) + 1;
        found++;
    }
    assert(found <= lines);
    free(text);
    response->headers = headers;
    response->header_count = found;
    return 0;
}

//  Fills response from a transfer that left the multi; returns 0 or a
//  code with response->error set.
static int
s_transfer_outcome(s_transfer_t *transfer, zjob_http_response_t *response)
{
    if (transfer->cancelled)
        return s_fail(response, ZJ_ECANCELLED, "cancelled");
    if (transfer->over_cap || transfer->result == CURLE_FILESIZE_EXCEEDED)
        return s_fail(response, ZJ_ETOOBIG, "response body over %d bytes",
                      ZJ_HTTP_MAX_RESPONSE);
    if (transfer->result != CURLE_OK) {
        const char *text = transfer->error[0]
                               ? transfer->error
                               : curl_easy_strerror(transfer->result);
        int code = ZJ_ESYS;
        if (transfer->result == CURLE_OPERATION_TIMEDOUT)
            code = ZJ_ETIMEOUT;
        else if (transfer->result == CURLE_UNSUPPORTED_PROTOCOL ||
                 transfer->result == CURLE_URL_MALFORMAT)
            code = ZJ_EARGS;
        return s_fail(response, code, "%s", text);
    }
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE,
                      &response->status);
    size_t size = zchunk_size(transfer->body);
    response->body = (char *) malloc(size + 1);
    if (response->body == NULL)
        return s_fail(response, ZJ_ENOMEM, "out of memory");
    if (size)
        memcpy(response->body, zchunk_data(transfer->body), size);
    response->body[size] = '\0';
    response->body_size = size;
    return s_parse_headers(transfer->head, response);
}

int
zjob_http(zjob_ctx_t *ctx, const zjob_http_request_t *request,
          zjob_http_response_t *response)
{
    assert(ctx);
    assert(request);
    assert(response);
    memset(response, 0, sizeof(*response));
    if (ctx->loop == NULL || ctx->http == NULL || ctx->coro == NULL)
        return s_fail(response, ZJ_EDENIED, "http needs an I/O job");
    if (ctx->cancelled || ctx->http->closing)
        return s_fail(response, ZJ_ECANCELLED, "cancelled");

    s_transfer_t transfer = {
        .tag = ZJ_HTTP_TRANSFER_TAG, .http = ctx->http, .ctx = ctx};
    int rc = s_start_multi(ctx->http, response);
    if (rc != 0)
        return rc;
    rc = s_transfer_setup(&transfer, request, response);
    if (rc == 0) {
        CURLMcode added =
            curl_multi_add_handle(ctx->http->multi, transfer.easy);
        if (added != CURLM_OK)
            rc = s_fail(response, ZJ_ESYS, "%s", curl_multi_strerror(added));
    }
    if (rc == 0) {
        transfer.list_handle = zlistx_add_end(ctx->http->transfers, &transfer);
        ctx->abandon = s_abandon;
        ctx->abandon_arg = &transfer;
        //  Resumed by s_check_done, s_abandon or zj_http_destroy, each of
        //  which detaches the transfer first.
        zj_coro_yield(ctx->coro);
        assert(transfer.list_handle == NULL);
        rc = s_transfer_outcome(&transfer, response);
    }
    s_transfer_cleanup(&transfer);
    if (rc != 0) {
        //  A failure carries its reason and nothing else.
        char *error = response->error;
        response->error = NULL;
        zjob_http_response_clear(response);
        response->error = error;
    }
    return rc;
}

void
zjob_http_response_clear(zjob_http_response_t *response)
{
    assert(response);
    free(response->headers); //  One block with its strings
    free(response->body);
    free(response->error);
    memset(response, 0, sizeof(*response));
}
