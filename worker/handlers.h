//  handlers.h - the built-in job kinds (docs/design.md "The worker").
//  echo, sleep, exec in handlers_io.c; http in handlers_http.c; sha256
//  and primes in handlers_cpu.c. Each is a zjob_handler_fn.
#ifndef ZJ_HANDLERS_H
#define ZJ_HANDLERS_H

#include "include/zjob/handler.h"

//  io: returns its args unchanged.
zjob_handler_fn zj_handler_echo;
//  io: {"seconds": S} -> {"slept": S}.
zjob_handler_fn zj_handler_sleep;
//  io: {"argv": [...], "stdin": "..."} -> {"exit", "stdout", "stderr"}.
zjob_handler_fn zj_handler_exec;
//  io: {"url", "method", "headers", "body"} -> {"status", "headers", "body"}.
zjob_handler_fn zj_handler_http;
//  cpu: {"data": "...", "rounds": N} -> {"hex": "..."}.
zjob_handler_fn zj_handler_sha256;
//  cpu: {"limit": N} -> {"count": C}, the primes <= N.
zjob_handler_fn zj_handler_primes;

//  Sets *error_p to a malloc'd "bad args: <reason>" and returns
//  ZJOB_FAILED_FINAL: the common way for a handler to reject its args.
int zj_handler_bad_args(char **error_p, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
