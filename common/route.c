/* route.c - segment-by-segment path matcher. */
#include "route.h"

#include <string.h>

bool route_match(const char *pattern, const char *path, struct route_params *out)
{
    struct route_params local;
    struct route_params *params = out ? out : &local;
    const char *p = pattern;
    const char *s = path;
    params->count = 0;

    while (*p) {
        if (p[0] == '*' && p[1] == '\0') {
            if (params->count == ROUTE_MAX_PARAMS)
                return false;
            params->p[params->count++] = (struct route_param){"*", 1, s, strlen(s)};
            return true;
        }
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close || params->count == ROUTE_MAX_PARAMS)
                return false;
            size_t n = strcspn(s, "/");
            if (n == 0)
                return false;
            params->p[params->count++] = (struct route_param){p + 1, (size_t)(close - p - 1), s, n};
            p = close + 1;
            s += n;
            continue;
        }
        if (*p != *s)
            return false;
        p++;
        s++;
    }
    return *s == '\0';
}
