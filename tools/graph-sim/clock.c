/* clock.c - the simulator's wall clock ("today" for the version table, timestamps, the
 * 24-hour windows), which a test may set (GRAPH_SIM_NOW, POST /_sim/clock), and a sleep.
 * Intervals (webhook timing, limits) use the monotonic clock of monotonic.h. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "sim.h"

static _Atomic int64_t offset_ms;    /* added to the real clock */
static int64_t configured_offset_ms; /* from GRAPH_SIM_NOW; what a reset goes back to */

static int64_t real_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sim_wall_ms(void)
{
    return real_ms() + atomic_load(&offset_ms);
}

bool sim_parse_time(const char *s, int64_t *out_ms)
{
    struct tm tm;
    long secs;
    if (!s || !*s)
        return false;
    if (strspn(s, "0123456789") == strlen(s)) {
        if (!cfg_parse_long(s, 0, 99999999999L, &secs))
            return false;
        *out_ms = (int64_t)secs * 1000;
        return true;
    }
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (!end)
        return false;
    if (*end == 'T' || *end == ' ') {
        end = strptime(end + 1, "%H:%M:%S", &tm);
        if (!end)
            return false;
        if (*end == 'Z')
            end++;
    }
    if (*end)
        return false;
    *out_ms = (int64_t)timegm(&tm) * 1000;
    return true;
}

int sim_clock_init(char *err, size_t errlen)
{
    int64_t at;
    configured_offset_ms = 0;
    if (sim_cfg.now && *sim_cfg.now) {
        if (!sim_parse_time(sim_cfg.now, &at)) {
            snprintf(err, errlen,
                     "GRAPH_SIM_NOW must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or unix seconds");
            return -1;
        }
        configured_offset_ms = at - real_ms();
    }
    atomic_store(&offset_ms, configured_offset_ms);
    return 0;
}

void sim_clock_set_ms(int64_t wall_ms)
{
    atomic_store(&offset_ms, wall_ms - real_ms());
}

void sim_clock_advance_ms(int64_t ms)
{
    atomic_fetch_add(&offset_ms, ms);
}

void sim_clock_reset(void)
{
    atomic_store(&offset_ms, configured_offset_ms);
}

void sim_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
