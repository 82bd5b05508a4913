/* route.h - matching request paths against route patterns with {name} parameters.
 *
 * Pure and allocation-free so it can be unit-tested and fuzzed on its own. */
#ifndef COMMON_ROUTE_H
#define COMMON_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTE_MAX_PARAMS 4

struct route_param {
    const char *name; /* points into the pattern, name_len bytes, no braces */
    size_t name_len;
    const char *value; /* points into the path, value_len bytes */
    size_t value_len;
};

struct route_params {
    size_t count;
    struct route_param p[ROUTE_MAX_PARAMS];
};

/* Matches path against pattern. A pattern segment "{name}" matches one non-empty path
 * segment; a final "*" matches the (possibly empty) rest of the path and is reported
 * as the parameter "*". Everything else must match byte for byte. Returns true on a
 * match and fills out (which may be NULL). */
bool route_match(const char *pattern, const char *path, struct route_params *out);

#endif
