//  duration.h - durations ("250ms", "2s", "5m", "1h30m", "1d") and clocks.
#ifndef ZJ_DURATION_H
#define ZJ_DURATION_H

#include <stdint.h>

//  Parses text as a duration into *ms: parts of a number and a unit
//  (d, h, m, s, ms), largest unit first, each at most once ("1d",
//  "1h30m", "1.5s", "250ms"). A bare number means seconds ("1.5").
//  Numbers are digits with an optional fraction. Returns 0, or ZJ_EUSAGE
//  for text that is not such a duration (or is over 9e15 ms).
int zj_duration_parse(const char *text, int64_t *ms);

//  Wall clock as unix seconds with sub-millisecond precision.
double zj_now(void);

//  Monotonic clock in milliseconds, for deadlines.
int64_t zj_mono_ms(void);

//  Monotonic clock in microseconds.
int64_t zj_mono_us(void);

#endif
