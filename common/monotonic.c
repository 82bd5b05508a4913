/* monotonic.c - CLOCK_MONOTONIC and CLOCK_REALTIME in the units callers count in. */
#include "monotonic.h"

#include <time.h>

int64_t monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t monotonic_ms(void)
{
    return monotonic_us() / 1000;
}

int64_t wallclock_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t wallclock_ms(void)
{
    return wallclock_us() / 1000;
}
