//  http.h - libcurl's multi interface driven by the worker's libuv loop.
//  One zj_http_t per worker serves every http job; zjob_http (in
//  include/zjob/handler.h) adds a transfer and suspends the job's coroutine
//  until curl reports it done. Sockets and timers go through libuv, so a
//  thousand transfers need no thread.
#ifndef ZJ_HTTP_H
#define ZJ_HTTP_H

#include <stdbool.h>
#include <uv.h>

typedef struct zj_http zj_http_t;

//  Creates the driver on loop. Returns NULL on failure.
zj_http_t *zj_http_new(uv_loop_t *loop);

//  Aborts every transfer (their jobs' awaits return ZJ_ECANCELLED), frees
//  curl and closes the libuv handles (run the loop once after).
void zj_http_destroy(zj_http_t **self_p);

//  Transfers in flight.
size_t zj_http_active(const zj_http_t *self);

//  True if text is a non-empty HTTP token: RFC 7230 tchar only (ASCII
//  letters and digits and !#$%&'*+-.^_`|~, whatever the locale), as
//  header names and methods must be. False for NULL.
bool zj_http_is_token(const char *text);

#endif
