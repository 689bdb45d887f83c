//  json_keys.c - duplicate keys of one JSON object (see json_keys.h).
//  A handful of keys are compared pairwise; more are heap-sorted in place
//  and compared with their neighbours, so no object costs more than
//  O(n log n) comparisons and nothing is allocated. Keys without a
//  backslash compare with memcmp; the others through a cursor that
//  unescapes one byte at a time.
#include <stdbool.h>
#include <string.h>

#include "common/json_keys.h"

#define S_SMALL_OBJECT 16 //  Keys compared pairwise; more are sorted

//  Reads through a key already checked, one unescaped byte at a time.
typedef struct {
    const uint8_t *at;  //  Next raw byte
    const uint8_t *end; //  The closing quote
    uint8_t pending[4]; //  UTF-8 of the last \u escape
    int count;          //  Bytes in pending
    int next;           //  Next byte of pending to return
} s_cursor_t;

//  Returns the byte that the one-letter escape \<letter> stands for.
static uint8_t
s_unescaped(uint8_t letter)
{
    static const char letters[] = "bfnrt", bytes[] = "\b\f\n\r\t";
    const char *found = strchr(letters, letter);
    return found ? (uint8_t) bytes[found - letters] : letter;
}

//  Writes code point's UTF-8 into out. Returns its length.
static int
s_utf8_encode(uint32_t code, uint8_t out[4])
{
    if (code < 0x80) {
        out[0] = (uint8_t) code;
        return 1;
    }
    if (code < 0x800) {
        out[0] = (uint8_t) (0xC0 | code >> 6);
        out[1] = (uint8_t) (0x80 | (code & 0x3F));
        return 2;
    }
    if (code < 0x10000) {
        out[0] = (uint8_t) (0xE0 | code >> 12);
        out[1] = (uint8_t) (0x80 | (code >> 6 & 0x3F));
        out[2] = (uint8_t) (0x80 | (code & 0x3F));
        return 3;
    }
    out[0] = (uint8_t) (0xF0 | code >> 18);
    out[1] = (uint8_t) (0x80 | (code >> 12 & 0x3F));
    out[2] = (uint8_t) (0x80 | (code >> 6 & 0x3F));
    out[3] = (uint8_t) (0x80 | (code & 0x3F));
    return 4;
}

//  Returns the key's next unescaped byte, or -1 at its end.
static int
s_cursor_next(s_cursor_t *self)
{
    if (self->next < self->count)
        return self->pending[self->next++];
    if (self->at == self->end)
        return -1;
    if (*self->at != '\\')
        return *self->at++;
    if (self->at[1] != 'u') {
        self->at += 2;
        return s_unescaped(self->at[-1]);
    }
    uint32_t code = (uint32_t) zj_json_hex4(self->at + 2);
    self->at += 6;
    if (code >= 0xD800 && code <= 0xDBFF) {
        uint32_t low = (uint32_t) zj_json_hex4(self->at + 2);
        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        self->at += 6;
    }
    self->count = s_utf8_encode(code, self->pending);
    self->next = 1;
    return self->pending[0];
}

//  Orders two keys as memcmp would order their unescaped bytes.
static int
s_key_compare(const uint8_t *text, const zj_json_slot_t *a,
              const zj_json_slot_t *b)
{
    size_t a_size = a->info >> 1, b_size = b->info >> 1;
    if (((a->info | b->info) & 1) == 0) {
        int order = memcmp(text + a->at, text + b->at,
                           a_size < b_size ? a_size : b_size);
        return order ? order : (a_size > b_size) - (a_size < b_size);
    }
    s_cursor_t a_cursor = {text + a->at, text + a->at + a_size, {0}, 0, 0};
    s_cursor_t b_cursor = {text + b->at, text + b->at + b_size, {0}, 0, 0};
    while (true) {
        int a_byte = s_cursor_next(&a_cursor);
        int b_byte = s_cursor_next(&b_cursor);
        if (a_byte != b_byte || a_byte < 0)
            return a_byte - b_byte;
    }
}

//  Returns whether two keys are equal once unescaped; quick when neither
//  has an escape.
static inline bool
s_key_equal(const uint8_t *text, const zj_json_slot_t *a,
            const zj_json_slot_t *b)
{
    if (((a->info | b->info) & 1) == 0)
        return a->info == b->info && text[a->at] == text[b->at] &&
               memcmp(text + a->at, text + b->at, a->info >> 1) == 0;
    return s_key_compare(text, a, b) == 0;
}

//  Orders keys by unescaped bytes, then by place in the text.
static int
s_key_order(const uint8_t *text, const zj_json_slot_t *a,
            const zj_json_slot_t *b)
{
    int order = s_key_compare(text, a, b);
    return order ? order : (a->at > b->at) - (a->at < b->at);
}

static void
s_sift_down(const uint8_t *text, zj_json_slot_t *keys, size_t root,
            size_t count)
{
    while (2 * root + 1 < count) {
        size_t child = 2 * root + 1;
        if (child + 1 < count &&
            s_key_order(text, &keys[child], &keys[child + 1]) < 0)
            child++;
        if (s_key_order(text, &keys[root], &keys[child]) >= 0)
            return;
        zj_json_slot_t swap = keys[root];
        keys[root] = keys[child];
        keys[child] = swap;
        root = child;
    }
}

//  Heap sort: in place, O(n log n) comparisons, no allocation.
static void
s_keys_sort(const uint8_t *text, zj_json_slot_t *keys, size_t count)
{
    for (size_t root = count / 2; root-- > 0;)
        s_sift_down(text, keys, root, count);
    for (size_t end = count; end-- > 1;) {
        zj_json_slot_t swap = keys[0];
        keys[0] = keys[end];
        keys[end] = swap;
        s_sift_down(text, keys, 0, end);
    }
}

size_t
zj_json_keys_repeat(const uint8_t *text, zj_json_slot_t *keys, size_t count)
{
    size_t repeat = SIZE_MAX;
    if (count <= S_SMALL_OBJECT) {
        for (size_t later = 1; later < count && repeat == SIZE_MAX; later++)
            for (size_t earlier = 0; earlier < later; earlier++)
                if (s_key_equal(text, &keys[earlier], &keys[later])) {
                    repeat = keys[later].at;
                    break;
                }
        return repeat;
    }
    //  Sorted, equal keys are neighbours; the first in the text of each
    //  run of equals sorts first.
    s_keys_sort(text, keys, count);
    for (size_t index = 1; index < count; index++)
        if (keys[index].at < repeat &&
            s_key_compare(text, &keys[index - 1], &keys[index]) == 0)
            repeat = keys[index].at;
    return repeat;
}
