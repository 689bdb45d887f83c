//  flags.h - values of command-line flags that are not durations, and
//  the environment variables that stand in for flags. Used by the
//  programs' main.c files.
#ifndef ZJ_FLAGS_H
#define ZJ_FLAGS_H

#include <stdint.h>

//  Parses text as a byte size into *bytes: a whole number, optionally
//  followed by K, M or G (powers of 1024; "KiB", "MiB", "GiB" and "B"
//  are taken too). Returns 0, or ZJ_EUSAGE for anything else or a size
//  over 2^40.
int zj_size_parse(const char *text, int64_t *bytes);

//  Returns the value of the environment variable name, or NULL if it is
//  unset or empty, so that `ZJOB_KEY= zjob ...` counts as not given. The
//  text belongs to the environment: valid until the variable changes.
const char *zj_flags_from_env(const char *name);

//  Prints "PROGRAM VERSION (protocol N)" on stdout, for --version;
//  protocol is ZJ_PROTO_VERSION (proto/limits.h).
void zj_flags_print_version(const char *program, int protocol);

#endif
