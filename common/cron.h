//  cron.h - cron expressions ("*/15 9-17 * * mon-fri"), in UTC.
//  Five fields: minute (0-59), hour (0-23), day of month (1-31), month
//  (1-12 or jan..dec) and day of week (0-7 or sun..sat, 0 and 7 both
//  Sunday). Each is a list of items "*", "N", "N-M", "*/S", "N-M/S" or
//  "N/S" (N to the field's end, every S). As in Vixie cron, when both
//  the day of month and the day of week are restricted (neither starts
//  with '*'), a day matches if EITHER does. "@hourly", "@daily",
//  "@weekly", "@monthly" and "@yearly" name the usual five fields. Times
//  are UTC: no time zone, so no daylight saving hour runs twice or never.
//  Pure: no clock, no allocation, safe from any thread.
#ifndef ZJ_CRON_H
#define ZJ_CRON_H

#include <stdbool.h>
#include <stdint.h>

#define ZJ_MAX_CRON 128 //  Bytes of a cron expression's text

typedef struct {
    uint64_t minutes;   //  Bit m set: minute m (0-59)
    uint32_t hours;     //  Bit h: hour h (0-23)
    uint32_t days;      //  Bit d: day of month d (1-31)
    uint16_t months;    //  Bit m: month m (1-12)
    uint8_t weekdays;   //  Bit w: day of week w (0-6, Sunday 0)
    bool days_star;     //  The day-of-month field starts with '*'
    bool weekdays_star; //  ... and the day-of-week field
} zj_cron_t;

//  Parses text into *cron. Returns 0, or ZJ_EUSAGE with a one-line
//  reason naming the bad field in why[ZJ_WHY_SIZE] (may be NULL). An
//  expression no date can match (only day 30 of February) is refused.
int zj_cron_parse(const char *text, zj_cron_t *cron, char *why);

//  The first whole minute strictly after after (unix seconds, UTC) that
//  cron matches, as unix seconds; -1 if none in the next 28 years (never
//  for what zj_cron_parse accepts).
int64_t zj_cron_next(const zj_cron_t *cron, int64_t after);

#endif
