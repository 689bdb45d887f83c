//  duration.h - durations ("250ms", "2s", "5m", "1h") and clocks.
#ifndef ZJ_DURATION_H
#define ZJ_DURATION_H

#include <stdint.h>

//  Parses text as a duration into *ms. A bare number means seconds and
//  may have a fraction ("1.5"). Returns 0, or ZJ_EUSAGE for text that is
//  not a non-negative duration.
int zj_duration_parse(const char *text, int64_t *ms);

//  Wall clock as unix seconds with sub-millisecond precision.
double zj_now(void);

//  Monotonic clock in milliseconds, for deadlines.
int64_t zj_mono_ms(void);

//  Monotonic clock in microseconds.
int64_t zj_mono_us(void);

#endif
