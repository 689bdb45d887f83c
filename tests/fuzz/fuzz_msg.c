//  fuzz_msg.c - libFuzzer target for zj_msg_decode, run by `make fuzz`.
//  Any bytes must decode or fail cleanly with a code and a reason; whatever
//  decodes must pass zj_msg_check, encode, and decode again to the same
//  frame. Seeds: seeds/msg/, one valid frame per message type.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "proto/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

//  A failed decode: one of the decoder's codes, no message, and a
//  non-empty reason that ends inside why.
static void
s_check_refusal(int rc, const zj_msg_t *msg, const char *why)
{
    if (rc != ZJ_EPROTO && rc != ZJ_EVERSION && rc != ZJ_ETOOBIG &&
        rc != ZJ_EJSON)
        abort();
    if (msg != NULL || why[0] == '\0' || memchr(why, '\0', ZJ_WHY_SIZE) == NULL)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zj_msg_t *msg = NULL;
    uint64_t req = 0;
    char why[ZJ_WHY_SIZE] = "";
    int rc = zj_msg_decode(data, size, &msg, &req, why);
    if (rc != 0) {
        s_check_refusal(rc, msg, why);
        return 0;
    }
    if (!zj_msg_is(msg) || zj_msg_check(msg, why) != 0 || req != msg->req)
        abort();
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
