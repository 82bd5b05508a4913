/* config.h - configuration read once at start from environment variables, by a table.
 *
 * Each binary declares one table of struct cfg_var; cfg_load() validates every entry
 * (required, type, range) and stops at the first bad one with a message naming it.
 * After loading, the targets are read-only for the life of the process. */
#ifndef COMMON_CONFIG_H
#define COMMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum cfg_type {
    CFG_STRING, /* target: const char ** (points into the environment or the default) */
    CFG_INT,    /* target: long *, checked against [min, max] */
    CFG_BOOL,   /* target: bool *, accepts true/false/1/0/yes/no/on/off */
    CFG_URL,    /* target: const char **, http:// or https://, trailing slashes removed */
};

enum {
    CFG_REQUIRED = 1 << 0, /* missing or empty is an error (def is ignored) */
    CFG_SECRET = 1 << 1,   /* masked by cfg_print */
};

struct cfg_var {
    const char *name;
    enum cfg_type type;
    void *target;
    const char *def; /* default as text; NULL means "unset" (empty string for strings) */
    long min, max;   /* CFG_INT only */
    unsigned flags;
    const char *help; /* one line, shown by --help and in .env.example */
};

/* Looks a variable up; returns NULL when unset. getenv() is one. */
typedef const char *(*cfg_lookup_fn)(const char *name);

/* Loads every variable of the table through lookup. Returns 0, or -1 with a message
 * naming the variable written into err. */
int cfg_load(const struct cfg_var *vars, size_t n, cfg_lookup_fn lookup, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Prints NAME=value lines of the effective configuration, secrets masked. */
void cfg_print(const struct cfg_var *vars, size_t n, FILE *out);
/* Prints the variables with defaults and help (for --help). */
void cfg_usage(const struct cfg_var *vars, size_t n, FILE *out);

/* Strict whole-string integer parse with range check; returns false on any junk. */
bool cfg_parse_long(const char *s, long min, long max, long *out);
bool cfg_parse_bool(const char *s, bool *out);

/* The common command line of every daemon. */
enum cfg_action { CFG_RUN, CFG_HELP, CFG_VERSION, CFG_CHECK, CFG_MIGRATE_ONLY, CFG_BAD_ARG };
/* Recognises --help, --version, --check-config, --migrate-only. */
enum cfg_action cfg_parse_args(int argc, char **argv);

#endif
