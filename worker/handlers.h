//  handlers.h - the built-in job kinds (docs/design.md "The worker").
//  echo, sleep, exec in handlers_io.c; http in handlers_http.c; sha256
//  and primes in handlers_cpu.c. Each is a zjob_handler_fn.
#ifndef ZJ_HANDLERS_H
#define ZJ_HANDLERS_H

#include <jansson.h>
#include <stdbool.h>

#include "include/zjob/handler.h"

//  io: returns its args unchanged.
zjob_handler_fn zj_handler_echo;
//  io: {"seconds": S} -> {"slept": S}.
zjob_handler_fn zj_handler_sleep;
//  io: {"argv": [...], "stdin": "...", "check": true} -> {"exit",
//  "signal", "stdout", "stderr"}; a non-zero exit or a signal fails the
//  job (retryable, the result kept) unless "check" is false.
zjob_handler_fn zj_handler_exec;
//  io: {"url", "method", "headers", "body", "timeout", "check": true} ->
//  {"status", "headers", "body"}; a status >= 400 fails the job (the
//  result kept; final unless 408, 425, 429 or 5xx) unless "check" is false.
zjob_handler_fn zj_handler_http;
//  io: {"kind": K, "items": [...], "concurrency": N, "collect_errors":
//  false} -> {"results": [...]}: one child per item (handlers_map.c).
zjob_handler_fn zj_handler_map;
//  cpu: {"data": "...", "rounds": N} -> {"hex": "..."}.
zjob_handler_fn zj_handler_sha256;
//  cpu: {"limit": N} -> {"count": C}, the primes <= N.
zjob_handler_fn zj_handler_primes;

//  Sets *error_p to a malloc'd "bad args: <reason>" and returns
//  ZJOB_FAILED_FINAL: the common way for a handler to reject its args.
int zj_handler_bad_args(char **error_p, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

//  Reads the optional boolean "check" of args object root into *check_p
//  (true when absent). Returns 0 or zj_handler_bad_args.
int zj_handler_read_check(json_t *root, bool *check_p, char **error_p);

#endif
