//  json.c - a validating JSON scanner (see json.h): one pass over the text,
//  no tree and no recursion. A small state machine reads values, keys and
//  what follows a value; open containers and the keys of open objects sit
//  on one stack of slots, kept in the caller's frame until it outgrows it.
//  An object's keys are compared when it closes.
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/json.h"
#include "common/json_keys.h"
#include "common/why.h"

#define S_NEST_LIMIT 2048 //  Containers around a value, as jansson's
#define S_INLINE_SLOTS 64 //  Slots before the stack moves to the heap
#define S_EXPONENT_CAP 1000000000000000LL //  Exponents saturate here

//  2^1024 - 2^970, halfway between DBL_MAX and 2^1024: the smallest real
//  that strtod rounds up to infinity (ties go to the even 2^1024).
static const char s_real_limit[] =
    "17976931348623158079372897140530341507993413271003782693617377898044"
    "49682927647509466490179775872070963302864166928879109465555478519404"
    "02630657488671505820681908902000708383676273854845817711531764475730"
    "27006985557136695962284291481986083493647529271907416844436551070434"
    "2711559699508093042880177904174497792";

//  The bytes a string holds as they are: ASCII but controls, '"' and '\\'.
static const bool s_plain[256] = {
    [0x20 ... 0x21] = true, [0x23 ... 0x5B] = true, [0x5D ... 0x7F] = true};

//  One entry of the stack: an open container, or a key of an open object
//  (json_keys.h). For a container, at is the enclosing one's slot and
//  info its bracket.
typedef zj_json_slot_t s_slot_t;

typedef struct {
    const uint8_t *text; //  The text checked
    size_t size;         //  Its size in bytes
    size_t at;           //  Offset of the next byte to read
    char *why;           //  Where a refusal's reason goes
    int depth;           //  Containers open at text[at]
    int deepest;         //  Most containers open at once so far
    size_t frame;        //  Slot of the innermost open container
    s_slot_t *slots;     //  The stack, inline or on the heap
    size_t used;         //  Slots in use
    size_t capacity;     //  Slots available
    s_slot_t inline_slots[S_INLINE_SLOTS]; //  The stack while it fits
} s_scan_t;

//  What the scanner does next; each step returns the one after it.
enum { S_FAILED, S_VALUE, S_KEY, S_AFTER, S_DONE };

static int s_scan(s_scan_t *self);

int
zj_json_check(const char *text, size_t size, int max_depth, char *why)
{
    assert(text || size == 0);
    assert(why);
    s_scan_t scan; //  Fields one by one: the inline slots stay untouched
    scan.text = (const uint8_t *) text;
    scan.size = size;
    scan.at = 0;
    scan.why = why;
    scan.depth = 0;
    scan.deepest = 0;
    scan.frame = SIZE_MAX;
    scan.slots = scan.inline_slots;
    scan.used = 0;
    scan.capacity = S_INLINE_SLOTS;
    int rc = s_scan(&scan);
    if (scan.slots != scan.inline_slots)
        free(scan.slots);
    if (rc == 0 && scan.deepest > max_depth)
        rc = zj_why_fail(ZJ_EJSON, why, "JSON nested %d deep > %d",
                         scan.deepest, max_depth);
    return rc;
}

//  Writes "invalid JSON at byte <at>: <reason>" into why. Returns ZJ_EJSON.
static int
s_fail(s_scan_t *self, size_t at, const char *format, ...)
{
    char reason[160];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    return zj_why_fail(ZJ_EJSON, self->why, "invalid JSON at byte %zu: %s", at,
                       reason);
}

//  Fails on the byte at text[at] (or the end of the text) where what was
//  expected. Returns S_FAILED.
static int
s_fail_byte(s_scan_t *self, const char *what)
{
    size_t at = self->at;
    if (at == self->size)
        s_fail(self, at, "unexpected end of text, %s expected", what);
    else if (self->text[at] > 0x20 && self->text[at] < 0x7f)
        s_fail(self, at, "unexpected '%c', %s expected", self->text[at], what);
    else
        s_fail(self, at, "unexpected byte 0x%02x, %s expected", self->text[at],
               what);
    return S_FAILED;
}

//  Returns the byte at text[at], or 0 at the end of the text.
static inline uint8_t
s_peek(const s_scan_t *self)
{
    return self->at < self->size ? self->text[self->at] : 0;
}

static inline void
s_skip_space(s_scan_t *self)
{
    while (self->at < self->size) {
        uint8_t byte = self->text[self->at];
        if (byte != ' ' && byte != '\n' && byte != '\r' && byte != '\t')
            break;
        self->at++;
    }
}

static inline bool
s_is_digit(const s_scan_t *self, size_t at)
{
    return at < self->size && self->text[at] >= '0' && self->text[at] <= '9';
}

static int s_value(s_scan_t *self);
static int s_key(s_scan_t *self);
static int s_after(s_scan_t *self);

//  Runs the state machine over the whole text. Returns 0 or ZJ_EJSON.
static int
s_scan(s_scan_t *self)
{
    int state = S_VALUE;
    while (state != S_DONE) {
        if (state == S_VALUE)
            state = s_value(self);
        else if (state == S_KEY)
            state = s_key(self);
        else if (state == S_AFTER)
            state = s_after(self);
        else
            return ZJ_EJSON;
    }
    assert(self->depth == 0 && self->used == 0);
    return 0;
}

//  Doubles the stack, moving it to the heap the first time.
static int
s_grow(s_scan_t *self)
{
    bool was_inline = self->slots == self->inline_slots;
    size_t capacity = self->capacity * 2;
    s_slot_t *slots = was_inline
                          ? malloc(capacity * sizeof *slots)
                          : realloc(self->slots, capacity * sizeof *slots);
    if (slots == NULL)
        return s_fail(self, self->at, "out of memory");
    if (was_inline)
        memcpy(slots, self->inline_slots, sizeof self->inline_slots);
    self->slots = slots;
    self->capacity = capacity;
    return 0;
}

static inline int
s_push(s_scan_t *self, size_t at, size_t info)
{
    if (self->used == self->capacity && s_grow(self))
        return ZJ_EJSON;
    self->slots[self->used].at = at;
    self->slots[self->used].info = info;
    self->used++;
    return 0;
}

//  Opens the container whose bracket is at text[at] and steps past it.
static int
s_open(s_scan_t *self, uint8_t kind)
{
    if (s_push(self, self->frame, kind))
        return ZJ_EJSON;
    self->frame = self->used - 1;
    if (++self->depth > self->deepest)
        self->deepest = self->depth;
    self->at++;
    return 0;
}

static int s_keys_unique(s_scan_t *self, s_slot_t *keys, size_t count);

//  Closes the innermost container on the bracket at text[at], checking an
//  object's keys, and steps past it.
static int
s_close(s_scan_t *self)
{
    size_t frame = self->frame;
    if (self->slots[frame].info == '{' &&
        s_keys_unique(self, self->slots + frame + 1, self->used - frame - 1))
        return ZJ_EJSON;
    self->used = frame;
    self->frame = self->slots[frame].at;
    self->depth--;
    self->at++;
    return 0;
}

static int s_string(s_scan_t *self, bool *escaped);
static int s_number(s_scan_t *self);

//  Matches the literal word at text[at] and steps past it.
static int
s_literal(s_scan_t *self, const char *word)
{
    size_t length = strlen(word);
    if (self->size - self->at < length ||
        memcmp(self->text + self->at, word, length) != 0) {
        s_fail(self, self->at, "invalid literal, %s expected", word);
        return S_FAILED;
    }
    self->at += length;
    return S_AFTER;
}

//  Reads a value: a scalar whole, or the opening of a container (and its
//  close too if it is empty).
static int
s_value(s_scan_t *self)
{
    s_skip_space(self);
    if (self->depth >= S_NEST_LIMIT) {
        s_fail(self, self->at, "nested over %d deep", S_NEST_LIMIT);
        return S_FAILED;
    }
    uint8_t byte = s_peek(self);
    if (byte == '[' || byte == '{') {
        if (s_open(self, byte))
            return S_FAILED;
        s_skip_space(self);
        if (s_peek(self) == byte + 2) //  ']' and '}' follow '[' and '{'
            return s_close(self) ? S_FAILED : S_AFTER;
        return byte == '[' ? S_VALUE : S_KEY;
    }
    if (byte == '"')
        return s_string(self, NULL) ? S_FAILED : S_AFTER;
    if (byte == '-' || (byte >= '0' && byte <= '9'))
        return s_number(self) ? S_FAILED : S_AFTER;
    if (byte == 't')
        return s_literal(self, "true");
    if (byte == 'f')
        return s_literal(self, "false");
    if (byte == 'n')
        return s_literal(self, "null");
    return s_fail_byte(self, "value");
}

//  Reads an object's key and the colon after it, keeping the key's slot.
static int
s_key(s_scan_t *self)
{
    s_skip_space(self);
    if (s_peek(self) != '"')
        return s_fail_byte(self, "string key");
    size_t start = self->at + 1;
    bool escaped;
    if (s_string(self, &escaped))
        return S_FAILED;
    size_t size = self->at - 1 - start;
    if (s_push(self, start, size << 1 | escaped))
        return S_FAILED;
    s_skip_space(self);
    if (s_peek(self) != ':')
        return s_fail_byte(self, "':'");
    self->at++;
    return S_VALUE;
}

//  Reads what follows a value: the end of the text at the top, else a
//  comma or the bracket that closes the innermost container.
static int
s_after(s_scan_t *self)
{
    s_skip_space(self);
    if (self->depth == 0)
        return self->at == self->size ? S_DONE
                                      : s_fail_byte(self, "end of text");
    uint8_t kind = (uint8_t) self->slots[self->frame].info;
    uint8_t byte = s_peek(self);
    if (byte == ',') {
        self->at++;
        return kind == '[' ? S_VALUE : S_KEY;
    }
    if (byte == kind + 2)
        return s_close(self) ? S_FAILED : S_AFTER;
    return s_fail_byte(self, kind == '[' ? "',' or ']'" : "',' or '}'");
}

//  Returns the \uXXXX escape at text[at], or -1 if there is none.
static int32_t
s_unicode_escape(const s_scan_t *self, size_t at)
{
    if (self->size - at < 6 || self->text[at] != '\\' ||
        self->text[at + 1] != 'u')
        return -1;
    return zj_json_hex4(self->text + at + 2);
}

//  Checks the \uXXXX escape at text[*at_p] (with its low surrogate, if it
//  is a high one) and steps past it.
static int
s_unicode(s_scan_t *self, size_t *at_p)
{
    size_t at = *at_p;
    int32_t unit = s_unicode_escape(self, at);
    if (unit < 0)
        return s_fail(self, at, "invalid \\u escape");
    if (unit == 0)
        return s_fail(self, at, "\\u0000 not allowed");
    if (unit >= 0xDC00 && unit <= 0xDFFF)
        return s_fail(self, at, "lone low surrogate \\u%04X", unit);
    if (unit >= 0xD800 && unit <= 0xDBFF) {
        int32_t low = s_unicode_escape(self, at + 6);
        if (low < 0xDC00 || low > 0xDFFF)
            return s_fail(self, at, "high surrogate \\u%04X without a low one",
                          unit);
        at += 6;
    }
    *at_p = at + 6;
    return 0;
}

//  Checks the escape at text[*at_p] and steps past it.
static int
s_escape(s_scan_t *self, size_t *at_p)
{
    size_t at = *at_p;
    uint8_t byte = at + 1 < self->size ? self->text[at + 1] : 0;
    if (byte == 'u')
        return s_unicode(self, at_p);
    if (byte == 0 || strchr("\"\\/bfnrt", byte) == NULL)
        return s_fail(self, at, "invalid escape");
    *at_p = at + 2;
    return 0;
}

size_t
zj_utf8_length(const uint8_t *bytes, size_t left)
{
    assert(bytes && left > 0);
    uint8_t lead = bytes[0], low = 0x80, high = 0xBF;
    size_t length = 0;
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2;
    else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        low = lead == 0xE0 ? 0xA0 : low;
        high = lead == 0xED ? 0x9F : high;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        low = lead == 0xF0 ? 0x90 : low;
        high = lead == 0xF4 ? 0x8F : high;
    }
    if (length == 0 || left < length || bytes[1] < low || bytes[1] > high)
        return 0;
    for (size_t index = 2; index < length; index++)
        if (bytes[index] < 0x80 || bytes[index] > 0xBF)
            return 0;
    return length;
}

//  Checks the UTF-8 sequence that starts with a byte >= 0x80 at
//  text[*at_p] and steps past it.
static int
s_utf8(s_scan_t *self, size_t *at_p)
{
    size_t length = zj_utf8_length(self->text + *at_p, self->size - *at_p);
    if (length == 0)
        return s_fail(self, *at_p, "invalid UTF-8 in string");
    *at_p += length;
    return 0;
}

//  Reads the string whose opening quote is at text[at] up to and past its
//  closing quote. Sets *escaped, if asked, to whether it has a backslash.
static int
s_string(s_scan_t *self, bool *escaped)
{
    const uint8_t *text = self->text;
    size_t size = self->size;
    size_t at = self->at + 1;
    bool any_escape = false;
    while (true) {
        //  Four plain bytes a step while they last: most of a string.
        while (size - at >= 4 && s_plain[text[at]] && s_plain[text[at + 1]] &&
               s_plain[text[at + 2]] && s_plain[text[at + 3]])
            at += 4;
        while (at < size && s_plain[text[at]])
            at++;
        if (at == size)
            return s_fail(self, self->at, "unterminated string");
        uint8_t byte = text[at];
        if (byte == '"')
            break;
        int rc = 0;
        if (byte == '\\') {
            any_escape = true;
            rc = s_escape(self, &at);
        } else if (byte < 0x20)
            rc = s_fail(self, at, "control byte 0x%02x in string", byte);
        else
            rc = s_utf8(self, &at);
        if (rc)
            return rc;
    }
    self->at = at + 1;
    if (escaped)
        *escaped = any_escape;
    return 0;
}

//  Fails unless the integer whose digits are text[digits..end) fits in
//  int64_t, as jansson's strtoll demands.
static int
s_integer_fits(s_scan_t *self, size_t start, size_t digits, size_t end)
{
    bool negative = digits > start;
    size_t count = end - digits;
    const char *limit =
        negative ? "9223372036854775808" : "9223372036854775807";
    if (count < 19 ||
        (count == 19 && memcmp(self->text + digits, limit, 19) <= 0))
        return 0;
    return s_fail(self, start,
                  negative ? "too big negative integer" : "too big integer");
}

//  Fails if the real at text[start..end) overflows a double: if it is at
//  least s_real_limit in size. Exact for any length, and no strtod, so no
//  copy and no locale.
static int
s_real_fits(s_scan_t *self, size_t start, size_t end)
{
    const uint8_t *text = self->text;
    size_t at = text[start] == '-' ? start + 1 : start;
    size_t first = SIZE_MAX; //  First significant digit
    long long magnitude = 0; //  The real is 0.DDD... * 10^magnitude
    bool fraction = false;
    for (; at < end && (text[at] | 0x20) != 'e'; at++) {
        if (text[at] == '.')
            fraction = true;
        else if (first == SIZE_MAX && text[at] == '0')
            magnitude -= fraction;
        else {
            first = first == SIZE_MAX ? at : first;
            magnitude += !fraction;
        }
    }
    if (first == SIZE_MAX)
        return 0; //  Zero, whatever its exponent
    if (at < end) {
        bool negative = text[++at] == '-';
        at += text[at] == '-' || text[at] == '+';
        long long exponent = 0;
        for (; at < end; at++)
            if (exponent < S_EXPONENT_CAP)
                exponent = exponent * 10 + (text[at] - '0');
        magnitude += negative ? -exponent : exponent;
    }
    long long limit_magnitude = sizeof s_real_limit - 1;
    if (magnitude != limit_magnitude)
        return magnitude < limit_magnitude
                   ? 0
                   : s_fail(self, start, "real number overflow");
    const char *limit = s_real_limit;
    for (at = first; at < end && (text[at] | 0x20) != 'e' && *limit; at++) {
        if (text[at] == '.')
            continue;
        if (text[at] != *limit)
            return text[at] < *limit
                       ? 0
                       : s_fail(self, start, "real number overflow");
        limit++;
    }
    //  Equal so far: the limit's last digit is not 0, so a shorter real is
    //  smaller, and a real as long or longer is at least the limit.
    return *limit ? 0 : s_fail(self, start, "real number overflow");
}

//  Reads the number at text[at] by the RFC grammar, then checks that
//  jansson could hold it.
static int
s_number(s_scan_t *self)
{
    size_t start = self->at;
    size_t at = self->text[start] == '-' ? start + 1 : start;
    size_t digits = at;
    if (!s_is_digit(self, at))
        return s_fail(self, at, "digit expected in number");
    if (self->text[at++] == '0' && s_is_digit(self, at))
        return s_fail(self, digits, "leading zero in number");
    while (s_is_digit(self, at))
        at++;
    size_t digits_end = at;
    if (at < self->size && self->text[at] == '.') {
        if (!s_is_digit(self, ++at))
            return s_fail(self, at, "digit expected after '.'");
        while (s_is_digit(self, at))
            at++;
    }
    if (at < self->size && (self->text[at] | 0x20) == 'e') {
        at++;
        if (at < self->size && (self->text[at] == '+' || self->text[at] == '-'))
            at++;
        if (!s_is_digit(self, at))
            return s_fail(self, at, "digit expected in exponent");
        while (s_is_digit(self, at))
            at++;
    }
    self->at = at;
    if (at == digits_end)
        return s_integer_fits(self, start, digits, digits_end);
    return s_real_fits(self, start, at);
}
//  Fails if two of an object's keys are equal once unescaped, naming the
//  first key in the text that repeats an earlier one (json_keys.c).
static int
s_keys_unique(s_scan_t *self, s_slot_t *keys, size_t count)
{
    size_t repeat = zj_json_keys_repeat(self->text, keys, count);
    if (repeat == SIZE_MAX)
        return 0;
    return s_fail(self, repeat - 1, "duplicate object key");
}
