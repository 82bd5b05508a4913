/* versions.c - the version table from Meta's changelog (release and expiry dates, UTC
 * midnight). A version is live from its release until its expiry; v26.0 has no expiry
 * announced. */
#include "versions.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

struct version {
    int major;
    const char *released; /* YYYY-MM-DD */
    const char *expires;  /* YYYY-MM-DD, NULL = none announced */
};

static const struct version table[] = {
    {18, "2023-09-12", "2026-01-26"}, {19, "2024-01-23", "2026-05-21"},
    {20, "2024-05-21", "2026-09-24"}, {21, "2024-10-02", "2027-01-21"},
    {22, "2025-01-21", "2027-05-20"}, {23, "2025-05-29", "2027-10-08"},
    {24, "2025-10-08", "2028-02-18"}, {25, "2026-02-18", "2028-07-29"},
    {26, "2026-07-29", NULL},
};
#define NVERSIONS (sizeof table / sizeof table[0])

/* The dates in ms, parsed once (every Graph request resolves its version). */
static int64_t released_ms[NVERSIONS], expires_ms[NVERSIONS];
static pthread_once_t parsed = PTHREAD_ONCE_INIT;

static int64_t day_ms(const char *date)
{
    int64_t ms = 0;
    if (!date || !sim_parse_time(date, &ms))
        return INT64_MAX;
    return ms;
}

static void parse_dates(void)
{
    for (size_t i = 0; i < NVERSIONS; i++) {
        released_ms[i] = day_ms(table[i].released);
        expires_ms[i] = day_ms(table[i].expires);
    }
}

static bool released(const struct version *v, int64_t now)
{
    pthread_once(&parsed, parse_dates);
    return released_ms[v - table] <= now;
}

static bool live(const struct version *v, int64_t now)
{
    return released(v, now) && now < expires_ms[v - table];
}

/* The oldest live version at now (the newest released one if, oddly, none is live). */
static const struct version *oldest_live(int64_t now)
{
    const struct version *newest = &table[0];
    for (size_t i = 0; i < NVERSIONS; i++) {
        if (live(&table[i], now))
            return &table[i];
        if (released(&table[i], now))
            newest = &table[i];
    }
    return newest;
}

/* "v21.0" -> 21; -1 when s is not v, one to three digits, ".0". */
static int parse_major(const char *s)
{
    if (!s || s[0] != 'v')
        return -1;
    size_t n = strspn(s + 1, "0123456789");
    if (n < 1 || n > 3 || strcmp(s + 1 + n, ".0") != 0)
        return -1;
    int major = 0;
    for (size_t i = 0; i < n; i++)
        major = major * 10 + (s[1 + i] - '0');
    return major;
}

bool versions_resolve(const char *asked, int64_t wall_ms, char served[VERSIONS_NAME_MAX])
{
    const struct version *oldest = oldest_live(wall_ms);
    int major = parse_major(asked);
    snprintf(served, VERSIONS_NAME_MAX, "v%d.0", oldest->major);
    if (major < 0)
        return false;
    if (major < table[0].major)
        return major >= 2; /* long expired: served as the oldest live one */
    for (size_t i = 0; i < NVERSIONS; i++) {
        if (table[i].major != major)
            continue;
        if (!released(&table[i], wall_ms))
            return false;
        if (live(&table[i], wall_ms))
            snprintf(served, VERSIONS_NAME_MAX, "v%d.0", major);
        return true;
    }
    return false;
}

json_t *versions_json(int64_t wall_ms)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < NVERSIONS; i++) {
        const struct version *v = &table[i];
        const char *state = !released(v, wall_ms) ? "unreleased"
                            : live(v, wall_ms)    ? "live"
                                                  : "expired";
        json_t *o =
            json_pack("{s:s, s:s, s:s}", "version", "", "released", v->released, "state", state);
        json_object_set_new(o, "version", json_sprintf("v%d.0", v->major));
        json_object_set_new(o, "expires", v->expires ? json_string(v->expires) : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}
