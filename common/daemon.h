/* daemon.h - the start-up sequence every binary shares: command line (--help,
 * --version, --check-config, --migrate-only), configuration, logging. */
#ifndef COMMON_DAEMON_H
#define COMMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "http.h"

/* The HTTP listener every service configures the same way. */
struct daemon_http {
    const char *bind_address;
    long port;
    long threads; /* 0: one per online CPU */
    long workers;
    long body_limit;
    long conn_timeout;
};

/* The configuration rows of the JWT policy (a struct auth_policy lvalue), for a
 * service's table: JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL_SECONDS. */
/* clang-format off */
#define DAEMON_AUTH_VARS(policy)                                                                   \
    {"JWT_SECRET", CFG_STRING, (void *)&(policy).secret, NULL, 0, 0, CFG_REQUIRED | CFG_SECRET,   \
     "HS256 secret that signs every bearer token"},                                                \
    {"JWT_ISSUER", CFG_STRING, (void *)&(policy).issuer, "", 0, 0, 0,                              \
     "when set, every bearer token's iss must equal it (and service tokens carry it)"},            \
    {"JWT_AUDIENCE", CFG_STRING, (void *)&(policy).audience, "", 0, 0, 0,                          \
     "when set, every bearer token's aud must equal or contain it (and service tokens carry "      \
     "it)"},                                                                                       \
    {"JWT_MAX_TTL_SECONDS", CFG_INT, (void *)&(policy).max_ttl, "7776000", 60, 315360000, 0,       \
     "longest bearer-token lifetime accepted (exp - iat, or exp - now without iat)"}

/* The configuration rows of the listener (a struct daemon_http lvalue): BIND_ADDRESS,
 * port_var (default port_default), HTTP_THREADS, HTTP_WORKERS, HTTP_BODY_LIMIT (help
 * body_help), HTTP_CONNECTION_TIMEOUT. */
#define DAEMON_HTTP_VARS(h, port_var, port_default, body_help)                                     \
    {"BIND_ADDRESS", CFG_STRING, (void *)&(h).bind_address, "127.0.0.1", 0, 0, 0,                  \
     "address to listen on (0.0.0.0 in containers)"},                                              \
    {port_var, CFG_INT, (void *)&(h).port, port_default, 0, 65535, 0,                              \
     "HTTP port (0 = any free port)"},                                                             \
    {"HTTP_THREADS", CFG_INT, (void *)&(h).threads, "0", 0, 256, 0,                                \
     "threads that read requests and send answers (0 = one per online CPU)"},                      \
    {"HTTP_WORKERS", CFG_INT, (void *)&(h).workers, "8", 0, 256, 0,                                \
     "threads that run the requests that wait on the database or another service (each holds "   \
     "one database connection; 0 = they run on the HTTP_THREADS)"},                                \
    {"HTTP_BODY_LIMIT", CFG_INT, (void *)&(h).body_limit, "65536", 1024, 16777216, 0, body_help},  \
    {"HTTP_CONNECTION_TIMEOUT", CFG_INT, (void *)&(h).conn_timeout, "30", 1, 3600, 0,              \
     "seconds an idle client connection is kept"}

/* The database connection's deadline (an int lvalue): DATABASE_CONNECT_TIMEOUT_MS. */
#define DAEMON_DB_VARS(connect_timeout_ms)                                                         \
    {"DATABASE_CONNECT_TIMEOUT_MS", CFG_INT, (void *)&(connect_timeout_ms), "1000", 100, 60000,   \
     0, "longest a request waits for a new database connection before answering 503 (start-up " \
        "waits at least 10 s)"}
/* clang-format on */

/* Parses the command line and loads the configuration table; handles --help, --version
 * and --check-config itself. Returns CFG_RUN or CFG_MIGRATE_ONLY when the caller should
 * go on; otherwise *exit_code holds what main should return. log_level_var, when not
 * NULL, is the configured LOG_LEVEL string. */
enum cfg_action daemon_prepare(int argc, char **argv, const char *name, const char *summary,
                               const struct cfg_var *vars, size_t n, const char *const *log_level,
                               int *exit_code);

/* After daemon_prepare() said CFG_RUN or CFG_MIGRATE_ONLY: starts libcurl, points the
 * database layer at database_url (connect_timeout_ms: db_init()) and applies the migrations of
 * scope. Returns -1 when the service must not start (logged; exit 1), 1 when it is done
 * (--migrate-only; exit 0), 0 when it goes on serving. */
int daemon_open(enum cfg_action action, const char *database_url, int connect_timeout_ms,
                const char *scope, const struct db_migration *migrations, size_t n)
    __attribute__((warn_unused_result));

/* The server configuration of h, auth, routes and app. */
struct http_server_config daemon_http_server(const struct daemon_http *h,
                                             const struct auth_policy *auth,
                                             const struct http_route *routes, size_t nroutes,
                                             void *app);

#endif
