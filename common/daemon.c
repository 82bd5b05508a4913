/* daemon.c - shared command-line and configuration handling for the binaries. */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "httpclient.h"
#include "log.h"

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

enum cfg_action daemon_prepare(int argc, char **argv, const char *name, const char *summary,
                               const struct cfg_var *vars, size_t n, const char *const *log_level,
                               int *exit_code)
{
    char err[256];
    enum cfg_action action = cfg_parse_args(argc, argv);
    *exit_code = 0;
    switch (action) {
    case CFG_HELP:
        printf("%s %s - %s\n\nusage: %s [--help | --version | --check-config | --migrate-only]\n\n",
               name, VERSION, summary, name);
        cfg_usage(vars, n, stdout);
        return action;
    case CFG_VERSION:
        printf("%s %s\n", name, VERSION);
        return action;
    case CFG_BAD_ARG:
        fprintf(stderr, "%s: unknown argument; see --help\n", name);
        *exit_code = 2;
        return action;
    default:
        break;
    }
    if (cfg_load(vars, n, env_lookup, err, sizeof err) != 0) {
        fprintf(stderr, "%s: configuration error: %s\n", name, err);
        *exit_code = 2;
        return CFG_BAD_ARG;
    }
    enum log_level level = LOG_INFO;
    if (log_level && *log_level && **log_level && !log_level_parse(*log_level, &level)) {
        fprintf(stderr, "%s: configuration error: LOG_LEVEL must be debug, info, warn or error\n",
                name);
        *exit_code = 2;
        return CFG_BAD_ARG;
    }
    log_init(name, level);
    if (action == CFG_CHECK) {
        cfg_print(vars, n, stdout);
        return action;
    }
    return action;
}

int daemon_open(enum cfg_action action, const char *database_url, int connect_timeout_ms,
                const char *scope, const struct db_migration *migrations, size_t n)
{
    httpc_global_init();
    db_init(database_url, connect_timeout_ms);
    atexit(db_cleanup); /* the connection db_migrate() may leave unused */
    if (db_migrate(scope, migrations, n) < 0) {
        log_error("migrations failed; not starting");
        return -1;
    }
    return action == CFG_MIGRATE_ONLY ? 1 : 0;
}

static long online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? n : 1;
}

struct http_server_config daemon_http_server(const struct daemon_http *h,
                                             const struct auth_policy *auth,
                                             const struct http_route *routes, size_t nroutes,
                                             void *app)
{
    struct http_server_config c = {
        .bind_address = h->bind_address,
        .port = (unsigned)h->port,
        .threads = (unsigned)(h->threads > 0 ? h->threads : online_cpus()),
        .workers = (unsigned)h->workers,
        .body_limit = (size_t)h->body_limit,
        .conn_timeout = (unsigned)h->conn_timeout,
        .auth = auth,
        .routes = routes,
        .nroutes = nroutes,
        .app = app,
    };
    return c;
}
