//  policy.h - the limits an operator sets, at or under the protocol's
//  ceilings in limits.h. The coordinator checks every frame it receives
//  against them and tells workers the two they must respect (WELCOME);
//  the worker turns a result over max_result into a failure.
#ifndef ZJ_POLICY_H
#define ZJ_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/msg.h"

#define ZJ_MIN_MESSAGE (64 * 1024) //  Least --max-message
#define ZJ_FRAME_SLACK (16 * 1024) //  Frame bytes besides one args/result

typedef struct {
    int64_t max_message; //  Bytes in one frame a peer sends us
    int64_t max_batch;   //  Jobs in one SUBMIT
    int64_t max_args;    //  Bytes of args JSON per job (0: fit the frame)
    int64_t max_result;  //  Bytes of result JSON per job (0: fit the frame)
} zj_limits_t;

//  Sets limits to the protocol's ceilings.
void zj_limits_defaults(zj_limits_t *limits);

//  Checks limits as an operator set them, each within its range (why
//  names the flag), and gives max_args and max_result left at 0 the most
//  max_message holds with ZJ_FRAME_SLACK to spare. Returns 0 or
//  ZJ_EUSAGE.
int zj_limits_settle(zj_limits_t *limits, char *why);

//  Checks a received frame of size bytes, decoded into msg: its size
//  and, for a SUBMIT, its number of jobs and each job's args. Returns 0,
//  or ZJ_ETOOBIG with why naming the limit and its flag.
int zj_limits_check(const zj_limits_t *limits, size_t size, const zj_msg_t *msg,
                    char *why);

//  If outcome's result is over max_result, makes outcome a final failure
//  that says so and returns true; else returns false. A failed outcome
//  only loses its result (its error stands) and false is returned.
bool zj_limits_cap_result(const zj_limits_t *limits, zj_job_t *outcome);

#endif
