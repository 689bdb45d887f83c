//  httpd.c - a small HTTP/1.1 server on libuv for zjob's http tests.
//  usage: httpd PORTFILE. Binds 127.0.0.1 on a free port, writes the port
//  to PORTFILE (through PORTFILE.tmp and a rename), serves until SIGTERM
//  and exits 0. One request per connection, then Connection: close.
//  Routes: GET /hello, GET /status/NNN, POST|PUT /echo (body and X-Test
//  echoed), GET /slow?ms=N, GET /headers (the request's as JSON),
//  GET /bytes?hex=HEX (those bytes, to test bodies that are not text);
//  else 404.
#include <ctype.h>
#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <uv.h>

#define HTTPD_MAX_HEAD (64 * 1024)         //  Bytes of request line + headers
#define HTTPD_MAX_BODY (16 * 1024 * 1024)  //  Bytes of request body
#define HTTPD_MAX_SLOW_MS (10 * 60 * 1000) //  Longest /slow wait

//  One client connection, freed once both of its handles are closed.
typedef struct {
    uv_tcp_t tcp;           //  The client's socket
    uv_timer_t timer;       //  The /slow wait
    uv_write_t interim;     //  A 100 Continue being written
    uv_write_t write;       //  The response being written
    uv_shutdown_t shutdown; //  The FIN after it
    int handles_open;       //  tcp and timer, until their close callbacks
    char *request;          //  Bytes read so far
    size_t size;            //  Bytes in request
    size_t capacity;        //  Bytes allocated for request
    size_t head_size;       //  Bytes up to the blank line; 0 until seen
    size_t body_size;       //  Content-Length of the request
    bool responding;        //  The request is complete: read only for EOF
    char *response;         //  Bytes being written
} conn_t;

//  --- connection lifetime -------------------------------------------------

static void
s_handle_closed(uv_handle_t *handle)
{
    conn_t *conn = (conn_t *) handle->data;
    if (--conn->handles_open > 0)
        return;
    free(conn->request);
    free(conn->response);
    free(conn);
}

static void
s_conn_close(conn_t *conn)
{
    if (!uv_is_closing((uv_handle_t *) &conn->tcp))
        uv_close((uv_handle_t *) &conn->tcp, s_handle_closed);
    if (!uv_is_closing((uv_handle_t *) &conn->timer))
        uv_close((uv_handle_t *) &conn->timer, s_handle_closed);
}

static void
s_shutdown_done(uv_shutdown_t *request, int status)
{
    (void) status;
    s_conn_close((conn_t *) request->data);
}

static void
s_write_done(uv_write_t *request, int status)
{
    conn_t *conn = (conn_t *) request->data;
    if (status < 0 || uv_is_closing((uv_handle_t *) &conn->tcp)) {
        s_conn_close(conn);
        return;
    }
    conn->shutdown.data = conn;
    if (uv_shutdown(&conn->shutdown, (uv_stream_t *) &conn->tcp,
                    s_shutdown_done) != 0)
        s_conn_close(conn);
}

static const char *
s_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    default:
        return "Status";
    }
}

//  Sends one response and closes the connection after it. extra is more
//  header lines, each ending in CRLF, or "".
static void
s_respond(conn_t *conn, int status, const char *type, const char *extra,
          const char *body, size_t body_size)
{
    if (conn->response || uv_is_closing((uv_handle_t *) &conn->tcp))
        return;
    conn->responding = true;
    //  204 and 304 carry no body by definition.
    if (status == 204 || status == 304)
        body_size = 0;
    char head[1024];
    int head_size = snprintf(head, sizeof(head),
                             "HTTP/1.1 %d %s\r\n"
                             "Content-Type: %s\r\n"
                             "Content-Length: %zu\r\n"
                             "Connection: close\r\n"
                             "%s\r\n",
                             status, s_reason(status), type, body_size, extra);
    if (head_size < 0 || (size_t) head_size >= sizeof(head)) {
        s_conn_close(conn);
        return;
    }
    conn->response = (char *) malloc((size_t) head_size + body_size + 1);
    if (conn->response == NULL) {
        s_conn_close(conn);
        return;
    }
    memcpy(conn->response, head, (size_t) head_size);
    if (body_size)
        memcpy(conn->response + head_size, body, body_size);
    uv_buf_t buffer =
        uv_buf_init(conn->response, (unsigned) (head_size + body_size));
    conn->write.data = conn;
    if (uv_write(&conn->write, (uv_stream_t *) &conn->tcp, &buffer, 1,
                 s_write_done) != 0)
        s_conn_close(conn);
}

static void
s_respond_text(conn_t *conn, int status, const char *text)
{
    s_respond(conn, status, "text/plain", "", text, strlen(text));
}

//  --- request parsing ------------------------------------------------------

//  Finds header name in the request head; returns its value's length and
//  sets *value_p, or returns -1.
static int
s_header(conn_t *conn, const char *name, const char **value_p)
{
    size_t name_size = strlen(name);
    const char *line = strstr(conn->request, "\r\n");
    const char *end = conn->request + conn->head_size;
    while (line && line + 2 < end) {
        line += 2;
        const char *eol = strstr(line, "\r\n");
        if (eol == NULL || eol >= end)
            break;
        if ((size_t) (eol - line) > name_size && line[name_size] == ':' &&
            strncasecmp(line, name, name_size) == 0) {
            const char *value = line + name_size + 1;
            while (value < eol && (*value == ' ' || *value == '\t'))
                value++;
            *value_p = value;
            return (int) (eol - value);
        }
        line = eol;
    }
    return -1;
}

//  Once the blank line is in: checks the head and reads Content-Length.
//  Returns false if it has already answered with an error.
static bool
s_parse_head(conn_t *conn, const char *blank)
{
    conn->head_size = (size_t) (blank - conn->request) + 4;
    const char *value;
    if (s_header(conn, "Transfer-Encoding", &value) >= 0) {
        s_respond_text(conn, 411, "send a Content-Length");
        return false;
    }
    int size = s_header(conn, "Content-Length", &value);
    if (size < 0)
        return true;
    char *end;
    unsigned long long length = strtoull(value, &end, 10);
    if (end == value || !isdigit((unsigned char) *value)) {
        s_respond_text(conn, 400, "bad Content-Length");
        return false;
    }
    if (length > HTTPD_MAX_BODY) {
        s_respond_text(conn, 413, "body too large");
        return false;
    }
    conn->body_size = (size_t) length;
    return true;
}

//  --- routes ---------------------------------------------------------------

static void
s_slow_done(uv_timer_t *timer)
{
    s_respond_text((conn_t *) timer->data, 200, "slow");
}

static void
s_route_slow(conn_t *conn, const char *query)
{
    const char *ms = query ? strstr(query, "ms=") : NULL;
    long wait_ms = ms ? strtol(ms + 3, NULL, 10) : 0;
    if (wait_ms < 0 || wait_ms > HTTPD_MAX_SLOW_MS) {
        s_respond_text(conn, 400, "bad ms");
        return;
    }
    uv_timer_start(&conn->timer, s_slow_done, (uint64_t) wait_ms, 0);
}

static void
s_route_bytes(conn_t *conn, const char *query)
{
    const char *hex = query ? strstr(query, "hex=") : NULL;
    hex = hex ? hex + 4 : "";
    size_t size = strspn(hex, "0123456789abcdefABCDEF") / 2;
    char *bytes = (char *) malloc(size + 1);
    if (bytes == NULL) {
        s_conn_close(conn);
        return;
    }
    for (size_t index = 0; index < size; index++) {
        unsigned value = 0;
        sscanf(hex + 2 * index, "%2x", &value);
        bytes[index] = (char) value;
    }
    s_respond(conn, 200, "application/octet-stream", "", bytes, size);
    free(bytes);
}

static void
s_route_status(conn_t *conn, const char *code)
{
    char *end;
    long status = strtol(code, &end, 10);
    if (end - code != 3 || *end || status < 200 || status > 599) {
        s_respond_text(conn, 404, "not found");
        return;
    }
    char body[32];
    snprintf(body, sizeof(body), "status %ld", status);
    s_respond_text(conn, (int) status, body);
}

static void
s_route_echo(conn_t *conn)
{
    const char *value;
    char extra[512] = "";
    int size = s_header(conn, "X-Test", &value);
    if (size >= 0 && size < 400)
        snprintf(extra, sizeof(extra), "X-Test: %.*s\r\n", size, value);
    char type[256] = "application/octet-stream";
    size = s_header(conn, "Content-Type", &value);
    if (size >= 0 && size < 200)
        snprintf(type, sizeof(type), "%.*s", size, value);
    s_respond(conn, 200, type, extra, conn->request + conn->head_size,
              conn->body_size);
}

static void
s_route_headers(conn_t *conn)
{
    json_t *headers = json_object();
    const char *line = strstr(conn->request, "\r\n") + 2;
    const char *end = conn->request + conn->head_size - 2;
    while (line < end) {
        const char *eol = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', (size_t) (eol - line));
        if (colon) {
            char *name = strndup(line, (size_t) (colon - line));
            const char *value = colon + 1;
            while (*value == ' ' || *value == '\t')
                value++;
            json_object_set_new(headers, name,
                                json_stringn(value, (size_t) (eol - value)));
            free(name);
        }
        line = eol + 2;
    }
    char *text = json_dumps(headers, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(headers);
    if (text == NULL) {
        s_respond_text(conn, 500, "json failed");
        return;
    }
    s_respond(conn, 200, "application/json", "", text, strlen(text));
    free(text);
}

static void
s_interim_done(uv_write_t *request, int status)
{
    if (status < 0)
        s_conn_close((conn_t *) request->data);
}

//  Answers "Expect: 100-continue" with a go-ahead. It carries a header
//  of its own, which clients must not mistake for the final response's.
static void
s_continue(conn_t *conn)
{
    static char go_ahead[] = "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\n";
    const char *value;
    int size = s_header(conn, "Expect", &value);
    if (size != 12 || strncasecmp(value, "100-continue", 12) != 0)
        return;
    uv_buf_t buffer = uv_buf_init(go_ahead, sizeof(go_ahead) - 1);
    conn->interim.data = conn;
    if (uv_write(&conn->interim, (uv_stream_t *) &conn->tcp, &buffer, 1,
                 s_interim_done) != 0)
        s_conn_close(conn);
}

//  The whole request is in: answer it.
static void
s_route(conn_t *conn)
{
    conn->responding = true;
    char method[16], target[2048];
    if (sscanf(conn->request, "%15s %2047s HTTP/1.", method, target) != 2) {
        s_respond_text(conn, 400, "bad request line");
        return;
    }
    char *query = strchr(target, '?');
    if (query)
        *query++ = '\0';
    bool get = strcmp(method, "GET") == 0;
    if (get && strcmp(target, "/hello") == 0)
        s_respond_text(conn, 200, "hello world");
    else if (get && strncmp(target, "/status/", 8) == 0)
        s_route_status(conn, target + 8);
    else if (get && strcmp(target, "/slow") == 0)
        s_route_slow(conn, query);
    else if (get && strcmp(target, "/headers") == 0)
        s_route_headers(conn);
    else if (get && strcmp(target, "/bytes") == 0)
        s_route_bytes(conn, query);
    else if ((strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) &&
             strcmp(target, "/echo") == 0)
        s_route_echo(conn);
    else
        s_respond_text(conn, 404, "not found");
}

//  --- reading ------------------------------------------------------------

static void
s_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buffer)
{
    conn_t *conn = (conn_t *) handle->data;
    if (conn->capacity - conn->size < suggested + 1) {
        size_t capacity = conn->capacity * 2 + suggested + 1;
        char *request = (char *) realloc(conn->request, capacity);
        if (request == NULL) {
            *buffer = uv_buf_init(NULL, 0);
            return;
        }
        conn->request = request;
        conn->capacity = capacity;
    }
    *buffer = uv_buf_init(conn->request + conn->size,
                          (unsigned) (conn->capacity - conn->size - 1));
}

static void
s_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buffer)
{
    (void) buffer;
    conn_t *conn = (conn_t *) stream->data;
    if (nread < 0) {
        //  EOF or error: also how a cancelled /slow client leaves.
        s_conn_close(conn);
        return;
    }
    if (conn->responding)
        return;
    conn->size += (size_t) nread;
    conn->request[conn->size] = '\0';
    if (conn->head_size == 0) {
        const char *blank = strstr(conn->request, "\r\n\r\n");
        if (blank == NULL) {
            if (conn->size > HTTPD_MAX_HEAD)
                s_respond_text(conn, 431, "head too large");
            return;
        }
        if (!s_parse_head(conn, blank))
            return;
        if (conn->size < conn->head_size + conn->body_size)
            s_continue(conn);
    }
    if (conn->size >= conn->head_size + conn->body_size)
        s_route(conn);
}

static void
s_accept(uv_stream_t *server, int status)
{
    if (status < 0)
        return;
    conn_t *conn = (conn_t *) calloc(1, sizeof(conn_t));
    if (conn == NULL)
        return;
    uv_tcp_init(server->loop, &conn->tcp);
    uv_timer_init(server->loop, &conn->timer);
    conn->tcp.data = conn->timer.data = conn;
    conn->handles_open = 2;
    if (uv_accept(server, (uv_stream_t *) &conn->tcp) != 0 ||
        uv_read_start((uv_stream_t *) &conn->tcp, s_alloc, s_read) != 0)
        s_conn_close(conn);
}

//  --- main ---------------------------------------------------------------

static void
s_close_any(uv_handle_t *handle, void *arg)
{
    (void) arg;
    if (uv_is_closing(handle))
        return;
    //  Connection handles carry their conn_t; the rest carry nothing.
    uv_close(handle, handle->data ? s_handle_closed : NULL);
}

static void
s_terminate(uv_signal_t *signal, int signum)
{
    (void) signum;
    uv_walk(signal->loop, s_close_any, NULL);
}

static int
s_write_port(uv_tcp_t *server, const char *path)
{
    struct sockaddr_in address;
    int size = sizeof(address);
    if (uv_tcp_getsockname(server, (struct sockaddr *) &address, &size) != 0)
        return -1;
    char tmp_path[4096];
    snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
    FILE *file = fopen(tmp_path, "w");
    if (file == NULL)
        return -1;
    fprintf(file, "%d\n", ntohs(address.sin_port));
    if (fclose(file) != 0)
        return -1;
    return rename(tmp_path, path);
}

//  A thousand clients need a thousand descriptors: lift the soft limit.
static void
s_raise_fd_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

int
main(int argc, char *argv[])
{
    if (argc != 2) {
        fprintf(stderr, "usage: httpd PORTFILE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    s_raise_fd_limit();
    uv_loop_t loop;
    uv_loop_init(&loop);
    uv_tcp_t server;
    uv_signal_t sigterm;
    uv_tcp_init(&loop, &server);
    uv_signal_init(&loop, &sigterm);
    server.data = sigterm.data = NULL;
    struct sockaddr_in address;
    uv_ip4_addr("127.0.0.1", 0, &address);
    int rc = uv_tcp_bind(&server, (struct sockaddr *) &address, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *) &server, 4096, s_accept);
    if (rc == 0)
        rc = uv_signal_start(&sigterm, s_terminate, SIGTERM);
    if (rc != 0 || s_write_port(&server, argv[1]) != 0) {
        fprintf(stderr, "httpd: cannot serve: %s\n",
                rc ? uv_strerror(rc) : "cannot write the port file");
        uv_walk(&loop, s_close_any, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        uv_loop_close(&loop);
        return 1;
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}
