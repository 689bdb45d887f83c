//  json_keys.h - the keys of one JSON object, compared as the bytes they
//  stand for once unescaped ("a" and "\u0061" are equal). json.c's
//  scanner keeps each key of an open object as a slot and asks here,
//  when the object closes, whether one repeats.
#ifndef ZJ_JSON_KEYS_H
#define ZJ_JSON_KEYS_H

#include <stddef.h>
#include <stdint.h>

//  A key already checked by the scanner: its raw bytes between the
//  quotes, text[at .. at + (info >> 1)), with info's low bit set if a
//  backslash is among them.
typedef struct {
    size_t at;   //  Offset of the key's first raw byte
    size_t info; //  Raw size << 1 | escaped
} zj_json_slot_t;

//  Returns the offset of the first key in the text that equals an
//  earlier one, or SIZE_MAX if all differ. May reorder keys.
size_t zj_json_keys_repeat(const uint8_t *text, zj_json_slot_t *keys,
                           size_t count);

//  Returns the value of four hex digits at text[0..4), or -1.
static inline int32_t
zj_json_hex4(const uint8_t *text)
{
    int32_t value = 0;
    for (int index = 0; index < 4; index++) {
        uint8_t byte = text[index];
        int digit = byte >= '0' && byte <= '9'   ? byte - '0'
                    : byte >= 'a' && byte <= 'f' ? byte - 'a' + 10
                    : byte >= 'A' && byte <= 'F' ? byte - 'A' + 10
                                                 : -1;
        if (digit < 0)
            return -1;
        value = value << 4 | digit;
    }
    return value;
}

#endif
