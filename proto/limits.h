//  limits.h - every protocol limit, in one place.
//  The decoder enforces them on every frame; the coordinator and CLI check
//  user input against the same numbers. Documented in proto/PROTOCOL.md.
#ifndef ZJ_LIMITS_H
#define ZJ_LIMITS_H

#include "common/why.h" //  ZJ_WHY_SIZE, the bytes of a one-line reason

#define ZJ_PROTO_VERSION 1              //  The "v" of every frame
#define ZJ_MAX_FRAME (32 * 1024 * 1024) //  Bytes in one msgpack frame
#define ZJ_MAX_BATCH 10000              //  Jobs, ids or results per message
#define ZJ_MAX_KIND 64                  //  Bytes in a kind name
#define ZJ_MAX_ARGS (1024 * 1024)       //  Bytes of args JSON per job
#define ZJ_MAX_RESULT (4 * 1024 * 1024) //  Bytes of result JSON per job
#define ZJ_MAX_TEXT 4096                //  Bytes in names, errors, reasons
#define ZJ_MAX_KINDS 256                //  Kinds one worker may offer
#define ZJ_MAX_DEPTH 32                 //  Nesting of args/result JSON
#define ZJ_MAX_TOKEN 64                 //  Bytes in a SUBMIT's token
#define ZJ_MAX_PROGRESS_TEXT 256        //  Bytes of a job's progress text
#define ZJ_MAX_LOG (4 * 1024 * 1024)    //  Bytes of a job's log, all attempts
#define ZJ_MAX_AFTER 1000               //  Ids in one job's after
#define ZJ_MAX_SCHEDULES 10000          //  Schedules one coordinator keeps
#define ZJ_MIN_EVERY_MS 1000            //  Shortest --every of a schedule
#define ZJ_MAX_CONCURRENCY 1000000      //  A kind's concurrency limit, at most
#define ZJ_MAX_RATE 1000000.0           //  A kind's rate limit, jobs/s, at most
#define ZJ_MIN_RATE (1.0 / 86400)       //  ... at least (one a day)
#define ZJ_MAX_UNIQUE 256               //  Bytes in a job's unique key
#define ZJ_UNIQUE_FOR_MS (24LL * 3600 * 1000)           //  Default key window
#define ZJ_MAX_UNIQUE_FOR_MS (366LL * 24 * 3600 * 1000) //  Longest window

#endif
