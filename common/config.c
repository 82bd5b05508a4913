/* config.c - table-driven environment configuration with range-checked parsing. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"

bool cfg_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !((*s >= '0' && *s <= '9') || *s == '-'))
        return false;
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || end == s || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool cfg_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* A URL without its trailing slashes, so every user can append "/path". The copies
 * live as long as the process (the configuration does). */
static const char *trimmed_url(const char *url)
{
    static char *copies[64];
    static size_t ncopies;
    size_t n = strlen(url);
    if (n == 0 || url[n - 1] != '/')
        return url;
    while (n > 0 && url[n - 1] == '/')
        n--;
    if (ncopies == sizeof copies / sizeof copies[0])
        return url; /* never with the daemons' handful of URLs */
    copies[ncopies] = xstrndup(url, n);
    return copies[ncopies++];
}

int cfg_load(const struct cfg_var *vars, size_t n, cfg_lookup_fn lookup, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfg_var *v = &vars[i];
        const char *val = lookup(v->name);
        if (val && !*val && v->type != CFG_STRING)
            val = NULL; /* an empty number or flag means "use the default" */
        if (!val || !*val) {
            if (v->flags & CFG_REQUIRED) {
                snprintf(err, errlen, "%s is required but not set", v->name);
                return -1;
            }
            if (!val)
                val = v->def;
        }
        switch (v->type) {
        case CFG_STRING:
            *(const char **)v->target = val ? val : "";
            break;
        case CFG_URL:
            if (val && *val && strncmp(val, "http://", 7) != 0 &&
                strncmp(val, "https://", 8) != 0) {
                snprintf(err, errlen, "%s must be an http:// or https:// URL", v->name);
                return -1;
            }
            *(const char **)v->target = trimmed_url(val ? val : "");
            break;
        case CFG_INT:
            if (!cfg_parse_long(val ? val : "0", v->min, v->max, (long *)v->target)) {
                snprintf(err, errlen, "%s must be an integer between %ld and %ld", v->name, v->min,
                         v->max);
                return -1;
            }
            break;
        case CFG_BOOL:
            if (!cfg_parse_bool(val ? val : "false", (bool *)v->target)) {
                snprintf(err, errlen, "%s must be true or false", v->name);
                return -1;
            }
            break;
        }
    }
    return 0;
}

void cfg_print(const struct cfg_var *vars, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfg_var *v = &vars[i];
        switch (v->type) {
        case CFG_STRING:
        case CFG_URL: {
            const char *s = *(const char **)v->target;
            if ((v->flags & CFG_SECRET) && s && *s)
                fprintf(out, "%s=****** (%zu chars)\n", v->name, strlen(s));
            else
                fprintf(out, "%s=%s\n", v->name, s ? s : "");
            break;
        }
        case CFG_INT:
            fprintf(out, "%s=%ld\n", v->name, *(long *)v->target);
            break;
        case CFG_BOOL:
            fprintf(out, "%s=%s\n", v->name, *(bool *)v->target ? "true" : "false");
            break;
        }
    }
}

void cfg_usage(const struct cfg_var *vars, size_t n, FILE *out)
{
    fprintf(out, "Environment variables:\n");
    for (size_t i = 0; i < n; i++) {
        const struct cfg_var *v = &vars[i];
        fprintf(out, "  %-34s %s", v->name, v->help ? v->help : "");
        if (v->flags & CFG_REQUIRED)
            fprintf(out, " (required)");
        else if (v->def && *v->def)
            fprintf(out, " (default: %s)", v->def);
        fputc('\n', out);
    }
}

enum cfg_action cfg_parse_args(int argc, char **argv)
{
    if (argc <= 1)
        return CFG_RUN;
    if (argc > 2)
        return CFG_BAD_ARG;
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return CFG_HELP;
    if (strcmp(argv[1], "--version") == 0)
        return CFG_VERSION;
    if (strcmp(argv[1], "--check-config") == 0)
        return CFG_CHECK;
    if (strcmp(argv[1], "--migrate-only") == 0)
        return CFG_MIGRATE_ONLY;
    return CFG_BAD_ARG;
}
