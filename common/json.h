//  json.h - checks JSON text against zjob's limits, through jansson.
#ifndef ZJ_JSON_H
#define ZJ_JSON_H

#include <stddef.h>

//  Returns 0 if text[0..size) is one valid JSON value nested at most
//  max_depth deep; else ZJ_EJSON with a one-line reason in why.
int zj_json_check(const char *text, size_t size, int max_depth, char *why);

#endif
