/* monotonic.h - the two clocks: monotonic, for deadlines and durations (never for dates:
 * it starts at an arbitrary point and does not follow changes to the wall clock), and
 * the wall clock, for dates (since the Unix epoch). */
#ifndef COMMON_MONOTONIC_H
#define COMMON_MONOTONIC_H

#include <stdint.h>

int64_t monotonic_ms(void);
int64_t monotonic_us(void);
int64_t wallclock_ms(void);
int64_t wallclock_us(void);

#endif
