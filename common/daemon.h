/* daemon.h - the start-up sequence every binary shares: command line (--help,
 * --version, --check-config, --migrate-only), configuration, logging. */
#ifndef COMMON_DAEMON_H
#define COMMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Parses the command line and loads the configuration table; handles --help, --version
 * and --check-config itself. Returns CFG_RUN or CFG_MIGRATE_ONLY when the caller should
 * go on; otherwise *exit_code holds what main should return. log_level_var, when not
 * NULL, is the configured LOG_LEVEL string. */
enum cfg_action daemon_prepare(int argc, char **argv, const char *name, const char *summary,
                               const struct cfg_var *vars, size_t n, const char *const *log_level,
                               int *exit_code);

#endif
