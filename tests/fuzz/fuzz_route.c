/* fuzz_route.c - libFuzzer harness of the route matcher (common/route.c): request paths
 * against every real pattern of both services, and arbitrary patterns against arbitrary
 * paths. On a match, the parameters must lie inside the path and put back into the
 * pattern must give the path again, byte for byte. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The patterns of services/tenant/routes.c and services/notification/api/routes.c. */
static const char *const patterns[] = {
    "/health",
    "/ready",
    "/metrics",
    "/api/v1/openapi.json",
    "/api/v1/tenants",
    "/api/v1/tenants/{id}",
    "/api/v1/tenants/{id}/settings/notifications",
    "/api/v1/admin/whatsapp/phone-numbers",
    "/api/v1/admin/whatsapp/tenants",
    "/api/v1/admin/whatsapp/tenants/{id}/assign-phone",
    "/api/v1/admin/whatsapp/tenants/{id}/unassign-phone",
    "/api/v1/admin/whatsapp/tenants/{id}/diagnostics",
    "/api/v1/admin/whatsapp/audit-log",
    "/app/*",
    "/api/v1/notifications/purchase-orders",
    "/api/v1/whatsapp/messages",
    "/api/v1/whatsapp/messages/{id}",
    "/api/v1/whatsapp/webhook",
    "/api/v1/whatsapp/phone-numbers",
    "/api/v1/whatsapp/templates",
    "/api/v1/whatsapp/config-status",
    "/{version}/{waba}/message_templates",
    "/{a}/{b}/{c}/{d}",
    "/{a}/{b}/{c}/{d}/{e}",
    "/x/{a}/*",
};

static void check(int ok, const char *what, const char *pattern, const char *path)
{
    if (ok)
        return;
    fprintf(stderr, "route invariant broken: %s\npattern: %s\npath: %s\n", what, pattern, path);
    abort();
}

/* Rebuilds the path a match implies: literal bytes of the pattern, each {name} replaced
 * by its value, a final '*' by the rest. */
static void check_match(const char *pattern, const char *path, const struct route_params *m)
{
    size_t plen = strlen(path);
    size_t cap = plen + strlen(pattern) + 1;
    char *rebuilt = malloc(cap);
    size_t n = 0, k = 0;

    check(m->count <= ROUTE_MAX_PARAMS, "too many parameters", pattern, path);
    for (size_t i = 0; i < m->count; i++) {
        const struct route_param *p = &m->p[i];
        check(p->value >= path && p->value + p->value_len <= path + plen,
              "parameter outside the path", pattern, path);
        if (!(p->name_len == 1 && p->name[0] == '*')) {
            check(p->value_len > 0, "empty {parameter}", pattern, path);
            check(memchr(p->value, '/', p->value_len) == NULL, "'/' inside a {parameter}", pattern,
                  path);
        }
    }
    for (const char *s = pattern; *s;) {
        if (s[0] == '*' && s[1] == '\0') {
            check(k < m->count, "'*' without its parameter", pattern, path);
            memcpy(rebuilt + n, m->p[k].value, m->p[k].value_len);
            n += m->p[k++].value_len;
            break;
        }
        if (*s == '{') {
            const char *close = strchr(s, '}');
            check(close != NULL && k < m->count, "{ without its parameter", pattern, path);
            check(m->p[k].name == s + 1 && m->p[k].name_len == (size_t)(close - s - 1),
                  "parameter name does not point into the pattern", pattern, path);
            memcpy(rebuilt + n, m->p[k].value, m->p[k].value_len);
            n += m->p[k++].value_len;
            s = close + 1;
            continue;
        }
        rebuilt[n++] = *s++;
        check(n < cap, "rebuilt path overflows", pattern, path);
    }
    check(k == m->count, "unused parameters", pattern, path);
    check(n == plen && memcmp(rebuilt, path, n) == 0, "parameters do not rebuild the path", pattern,
          path);
    free(rebuilt);
}

static void try(const char *pattern, const char *path)
{
    struct route_params m;
    memset(&m, 0xa5, sizeof m); /* stale garbage must not leak into a result */
    if (route_match(pattern, path, &m))
        check_match(pattern, path, &m);
    (void)route_match(pattern, path, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    /* Exact-size heap copies so that AddressSanitizer sees any read past the end. */
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    if (data[0] & 1) {
        /* "pattern\npath" */
        char *nl = strchr(text, '\n');
        if (nl) {
            *nl = '\0';
            size_t plen = (size_t)(nl - text);
            char *pattern = malloc(plen + 1);
            memcpy(pattern, text, plen + 1);
            size_t qlen = strlen(nl + 1);
            char *path = malloc(qlen + 1);
            memcpy(path, nl + 1, qlen + 1);
            try(pattern, path);
            free(pattern);
            free(path);
        }
    } else {
        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++)
            try(patterns[i], text);
    }
    free(text);
    return 0;
}
