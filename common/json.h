//  json.h - checks JSON text against zjob's limits, without parsing it
//  into a tree. The CLI, libzjob, the decoder and the worker run every
//  job's args and result through it.
#ifndef ZJ_JSON_H
#define ZJ_JSON_H

#include <stddef.h>
#include <stdint.h>

//  Returns 0 if text[0..size) is one valid JSON value nested at most
//  max_depth deep; else ZJ_EJSON with a one-line reason in
//  why[ZJ_WHY_SIZE]. Accepted is exactly what jansson's json_loadb takes
//  with JSON_DECODE_ANY | JSON_REJECT_DUPLICATES:
//  - one value of any type (RFC 8259), with optional spaces, tabs, CRs
//    and LFs around it and nothing else after it;
//  - strings of valid UTF-8 (no overlong forms, no UTF-16 surrogates,
//    nothing past U+10FFFF) with no byte below 0x20, and only the escapes
//    \" \\ \/ \b \f \n \r \t \uXXXX, where \u0000 is refused, a
//    \uD800-\uDBFF must be followed by a \uDC00-\uDFFF and a lone
//    \uDC00-\uDFFF is refused;
//  - numbers by the RFC grammar (no '+', no leading zero, digits on both
//    sides of '.', an exponent with digits); an integer (no '.', no
//    exponent) must fit in int64_t, and a real must not round past
//    DBL_MAX (a real too small for a double is fine);
//  - true, false, null;
//  - no two keys of one object equal once unescaped ("a", "\u0061");
//  - no value inside more than 2048 containers (jansson's own limit).
//  Depth counts containers: a scalar is 0 deep, "[]" 1, "[{}]" 2. A text
//  that is valid but too deep gets "JSON nested D deep > max_depth"; any
//  other refusal "invalid JSON at byte N: reason", N counted from 0 (for
//  a duplicate key, the second key's opening quote).
//  Never recursive; allocates nothing unless the open containers and the
//  keys of the open objects outnumber 64 at some point. Thread-safe.
int zj_json_check(const char *text, size_t size, int max_depth, char *why);

//  Bytes of the valid UTF-8 sequence at bytes[0] (left > 0 bytes there),
//  or 0 if it is not one: Unicode table 3-7, no overlong forms, no
//  surrogates, nothing past U+10FFFF. The rule zj_json_check holds
//  strings to.
size_t zj_utf8_length(const uint8_t *bytes, size_t left);

#endif
