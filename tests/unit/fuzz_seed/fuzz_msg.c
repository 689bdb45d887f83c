//  fuzz_msg.c - libFuzzer harness for zj_msg_decode (not part of make).
//  Any input must decode or fail cleanly; whatever decodes must encode, and
//  decode again to the same frame. The .msgpack files next to it are the
//  seed corpus, one valid frame per message type. See README.md.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zj_msg_t *msg = NULL;
    char why[ZJ_WHY_SIZE] = "";
    if (zj_msg_decode(data, size, &msg, NULL, why) != 0) {
        if (msg != NULL || why[0] == '\0')
            abort();
        return 0;
    }
    char *first = NULL, *second = NULL;
    size_t first_size = 0, second_size = 0;
    zj_msg_t *again = NULL;
    if (zj_msg_encode(msg, &first, &first_size, why) != 0 ||
        zj_msg_decode(first, first_size, &again, NULL, why) != 0 ||
        zj_msg_encode(again, &second, &second_size, why) != 0 ||
        first_size != second_size || memcmp(first, second, first_size) != 0)
        abort();
    free(first);
    free(second);
    zj_msg_destroy(&again);
    zj_msg_destroy(&msg);
    return 0;
}
