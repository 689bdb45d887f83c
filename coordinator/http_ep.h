//  http_ep.h - the HTTP endpoint (zjob-coordinator --http ADDR): the
//  status page, its JSON API and /metrics, read-only, served by civetweb
//  on threads of its own so that no request runs on the loop.
//
//  What the loop knows reaches the threads as one overview text
//  (overview.h) that the loop publishes when a request asks for one
//  newer than ZJ_HTTP_FRESH_MS: the request sets a flag and writes a
//  byte to a pipe the loop polls (zj_http_ep_fd); the loop, between two
//  turns' work, makes the text and publishes it (zj_http_ep_publish);
//  waiting requests wake. So a scrape costs the loop one overview, at
//  most one per ZJ_HTTP_FRESH_MS however many ask, and nothing when no
//  one asks. What the store knows (a job, the failures, the schedules)
//  is read by the threads on connections of their own (store_view.h).
//
//  Off loopback, every request must carry the token of --http-token
//  (Authorization: Bearer TOKEN, or Basic with the token as password,
//  which browsers ask for). docs/operations.md, "The status page".
#ifndef ZJ_HTTP_EP_H
#define ZJ_HTTP_EP_H

#include <stdbool.h>
#include <stddef.h>

#define ZJ_HTTP_FRESH_MS 250 //  An overview this recent is served as is
#define ZJ_HTTP_WAIT_MS 2000 //  A request waits this long for the loop
#define ZJ_HTTP_THREADS                                                        \
    "16"                       //  Connections served at once (a kept-alive
                               //  one holds its thread: a browser opens 6)
#define ZJ_HTTP_TOKEN_MIN 16   //  Bytes a token has at least
#define ZJ_HTTP_TOKEN_MAX 1024 //  ... and at most

typedef struct zj_http_ep zj_http_ep_t;

//  Checks addr (HOST:PORT, or PORT for 127.0.0.1:PORT; HOST an IPv4 or a
//  bracketed IPv6 literal, or localhost) and writes civetweb's form of it
//  into out[size]. Sets *loopback. Returns 0, or ZJ_EUSAGE with why set.
int zj_http_ep_parse_addr(const char *addr, char *out, size_t size,
                          bool *loopback, char *why);

//  Reads the token file at path (its first line, ZJ_HTTP_TOKEN_MIN to
//  ZJ_HTTP_TOKEN_MAX printable bytes; a file others may read is refused)
//  into a new string at *token_p. Returns 0, or ZJ_EUSAGE with why set.
int zj_http_ep_read_token(const char *path, char **token_p, char *why);

//  Starts serving at addr (as zj_http_ep_parse_addr takes it), reading
//  the store at db_path for its store views. token (copied) may be NULL
//  only on loopback. Returns NULL with why set when the address is bad,
//  not loopback without a token, or cannot be bound.
zj_http_ep_t *zj_http_ep_new(const char *addr, const char *token,
                             const char *db_path, char *why);

//  Stops serving (waits for the requests in flight, which the loop no
//  longer answers: they get what was published, or 503); sets *self_p to
//  NULL. NULL is fine.
void zj_http_ep_destroy(zj_http_ep_t **self_p);

//  The file descriptor the loop polls: readable when a request wants a
//  new overview.
int zj_http_ep_fd(const zj_http_ep_t *self);

//  For the loop, after its poll: true (once) if a request wants a new
//  overview. Empties the pipe.
bool zj_http_ep_wanted(zj_http_ep_t *self);

//  For the loop: the new overview (takes ownership of text), which wakes
//  the requests waiting for it.
void zj_http_ep_publish(zj_http_ep_t *self, char *text);

//  The address served, as civetweb bound it ("127.0.0.1:7780").
const char *zj_http_ep_address(const zj_http_ep_t *self);

#endif
