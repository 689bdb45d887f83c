//  handlers_http.c - the built-in "http" kind (io): one request through
//  zjob_http, the response as JSON. Args {"url", "method", "headers",
//  "body", "timeout"} -> {"status", "headers", "body"}; a body that is not
//  UTF-8 comes back base64 in "body_base64" so the result stays JSON. An
//  error status (>= 400) fails the job, keeping the result, unless args
//  say "check": false; only statuses worth a retry (408, 425, 429, 5xx)
//  leave the job its retries.
#include <czmq.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/limits.h"
#include "worker/handlers.h"
#include "worker/http.h"

//  Longest "timeout" accepted, in seconds (a year).
#define ZJ_HTTP_MAX_TIMEOUT_S (365.0 * 24 * 3600)

//  Reads args "headers" into *headers_p (malloc'd; strings borrowed from
//  the JSON). Returns 0 or zj_handler_bad_args.
static int
s_read_headers(json_t *object, zjob_http_request_t *request,
               zjob_header_t **headers_p, char **error_p)
{
    if (object == NULL)
        return 0;
    if (!json_is_object(object))
        return zj_handler_bad_args(error_p, "'headers' must be an object");
    size_t count = json_object_size(object);
    zjob_header_t *headers =
        (zjob_header_t *) calloc(count + 1, sizeof(zjob_header_t));
    if (headers == NULL)
        return zj_handler_bad_args(error_p, "out of memory");
    *headers_p = headers;
    const char *name;
    json_t *value;
    json_object_foreach(object, name, value) {
        if (!zj_http_is_token(name))
            return zj_handler_bad_args(error_p, "bad header name '%.64s'",
                                       name);
        if (!json_is_string(value))
            return zj_handler_bad_args(error_p,
                                       "header '%.64s' must be a string", name);
        const char *text = json_string_value(value);
        if (strlen(text) != json_string_length(value) || strpbrk(text, "\r\n"))
            return zj_handler_bad_args(
                error_p, "header '%.64s' has a line break or NUL", name);
        headers[request->header_count].name = name;
        headers[request->header_count].value = text;
        request->header_count++;
    }
    request->headers = headers;
    return 0;
}

//  Reads the optional "timeout" (seconds) into request->timeout_ms.
static int
s_read_timeout(json_t *timeout, zjob_http_request_t *request, char **error_p)
{
    if (timeout == NULL)
        return 0;
    double seconds = json_is_number(timeout) ? json_number_value(timeout) : 0;
    if (!(seconds > 0 && seconds <= ZJ_HTTP_MAX_TIMEOUT_S))
        return zj_handler_bad_args(
            error_p, "'timeout' must be a number of seconds in (0, %.0f]",
            ZJ_HTTP_MAX_TIMEOUT_S);
    request->timeout_ms = (int64_t) ceil(seconds * 1000);
    return 0;
}

//  Fills request and *check_p from args (strings borrowed from root).
//  Returns 0 or zj_handler_bad_args.
static int
s_read_args(json_t *root, zjob_http_request_t *request, bool *check_p,
            zjob_header_t **headers_p, char **error_p)
{
    if (!json_is_object(root))
        return zj_handler_bad_args(error_p, "args must be an object");
    json_t *url = json_object_get(root, "url");
    if (!json_is_string(url) || json_string_length(url) == 0)
        return zj_handler_bad_args(error_p, "'url' must be a string");
    request->url = json_string_value(url);
    if (strlen(request->url) != json_string_length(url))
        return zj_handler_bad_args(error_p, "'url' has a NUL");
    json_t *method = json_object_get(root, "method");
    if (method) {
        if (!json_is_string(method) ||
            !zj_http_is_token(json_string_value(method)))
            return zj_handler_bad_args(error_p,
                                       "'method' must be an HTTP method");
        request->method = json_string_value(method);
    }
    json_t *body = json_object_get(root, "body");
    if (body) {
        if (!json_is_string(body))
            return zj_handler_bad_args(error_p, "'body' must be a string");
        request->body = json_string_value(body);
        request->body_size = json_string_length(body);
    }
    int rc = s_read_timeout(json_object_get(root, "timeout"), request, error_p);
    if (rc == 0)
        rc = zj_handler_read_check(root, check_p, error_p);
    if (rc != 0)
        return rc;
    return s_read_headers(json_object_get(root, "headers"), request, headers_p,
                          error_p);
}

//  A JSON string of value; bytes that break UTF-8 become '?'.
static json_t *
s_lossy_string(const char *value)
{
    json_t *string = json_string(value);
    if (string)
        return string;
    char *copy = strdup(value);
    if (copy == NULL)
        return NULL;
    for (char *cursor = copy; *cursor; cursor++)
        if ((unsigned char) *cursor >= 0x80)
            *cursor = '?';
    string = json_string(copy);
    free(copy);
    return string;
}

//  The response headers as an object of lower-cased names; repeats are
//  joined with ", " as RFC 9110 allows.
static json_t *
s_headers_object(const zjob_http_response_t *response)
{
    json_t *object = json_object();
    for (size_t index = 0; index < response->header_count; index++) {
        char *name = strdup(response->headers[index].name);
        if (name == NULL)
            break;
        for (char *cursor = name; *cursor; cursor++)
            *cursor = (char) tolower((unsigned char) *cursor);
        const char *value = response->headers[index].value;
        json_t *earlier = json_object_get(object, name);
        if (earlier) {
            char *joined =
                zsys_sprintf("%s, %s", json_string_value(earlier), value);
            json_object_set_new(object, name, s_lossy_string(joined));
            free(joined);
        } else
            json_object_set_new(object, name, s_lossy_string(value));
        free(name);
    }
    return object;
}

//  Sets "body", or "body_base64" when the body is not UTF-8.
static int
s_set_body(json_t *result, const zjob_http_response_t *response)
{
    json_t *text = json_stringn(response->body, response->body_size);
    if (text)
        return json_object_set_new(result, "body", text);
    size_t size = sodium_base64_ENCODED_LEN(response->body_size,
                                            sodium_base64_VARIANT_ORIGINAL);
    char *base64 = (char *) malloc(size);
    if (base64 == NULL)
        return -1;
    sodium_bin2base64(base64, size, (const unsigned char *) response->body,
                      response->body_size, sodium_base64_VARIANT_ORIGINAL);
    int rc = json_object_set_new(result, "body_base64", json_string(base64));
    free(base64);
    return rc;
}

//  Builds the result JSON text. Returns 0, or 1 with *error_p set.
static int
s_result(const zjob_http_response_t *response, char **result_p, char **error_p)
{
    json_t *result = json_object();
    json_object_set_new(result, "status", json_integer(response->status));
    json_object_set_new(result, "headers", s_headers_object(response));
    char *text = NULL;
    if (s_set_body(result, response) == 0)
        text = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    if (text == NULL) {
        *error_p = strdup("http: cannot build the result");
        return 1;
    }
    if (strlen(text) > ZJ_MAX_RESULT) {
        free(text);
        *error_p = zsys_sprintf("http: result over %d bytes", ZJ_MAX_RESULT);
        return 1;
    }
    *result_p = text;
    return 0;
}

//  An error status fails the job: ZJOB_FAILED when a later attempt may
//  get another answer (timeout, too early, too many requests, server
//  errors), else ZJOB_FAILED_FINAL (the same request fails again).
static int
s_status_failure(int status, char **error_p)
{
    *error_p = zsys_sprintf("http: status %d", status);
    bool retry =
        status == 408 || status == 425 || status == 429 || status >= 500;
    return retry ? ZJOB_FAILED : ZJOB_FAILED_FINAL;
}

int
zj_handler_http(zjob_ctx_t *ctx, const char *args, char **result_p,
                char **error_p)
{
    json_error_t json_error;
    json_t *root = json_loads(args, 0, &json_error);
    if (root == NULL)
        return zj_handler_bad_args(error_p, "%s", json_error.text);
    zjob_http_request_t request = {0};
    zjob_header_t *headers = NULL;
    bool check = true;
    int rc = s_read_args(root, &request, &check, &headers, error_p);
    if (rc == 0) {
        zjob_http_response_t response;
        int code = zjob_http(ctx, &request, &response);
        if (code == 0) {
            rc = s_result(&response, result_p, error_p);
            if (rc == 0 && check && response.status >= 400)
                rc = s_status_failure(response.status, error_p);
        } else {
            *error_p =
                zsys_sprintf("http: %s", response.error ? response.error
                                                        : zj_strerror(code));
            rc = 1;
        }
        zjob_http_response_clear(&response);
    }
    free(headers);
    json_decref(root);
    return rc;
}
