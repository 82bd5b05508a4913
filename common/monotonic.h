/* monotonic.h - the monotonic clock, for deadlines and durations (never for dates: it
 * starts at an arbitrary point and does not follow changes to the wall clock). */
#ifndef COMMON_MONOTONIC_H
#define COMMON_MONOTONIC_H

#include <stdint.h>

int64_t monotonic_ms(void);
int64_t monotonic_us(void);

#endif
