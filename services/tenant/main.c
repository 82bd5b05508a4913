/* main.c - tenant-service: tenants, their notification settings, WhatsApp phone-number
 * assignment and its audit log; serves the admin page and the settings card. */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "daemon.h"
#include "db.h"
#include "http.h"
#include "httpclient.h"
#include "log.h"
#include "notification_client.h"
#include "routes.h"
#include "settings_listener.h"
#include "shutdown.h"

extern const struct db_migration tenant_migrations[];
extern const size_t tenant_migrations_count;

static struct tenant_app app;

#define C(field) ((void *)&app.cfg.field)
static const struct cfg_var config_vars[] = {
    {"TENANT_DATABASE_URL", CFG_STRING, C(database_url), NULL, 0, 0, CFG_REQUIRED | CFG_SECRET,
     "PostgreSQL connection URL of the tenant database"},
    {"JWT_SECRET", CFG_STRING, C(auth.secret), NULL, 0, 0, CFG_REQUIRED | CFG_SECRET,
     "HS256 secret that signs every bearer token"},
    {"JWT_ISSUER", CFG_STRING, C(auth.issuer), "", 0, 0, 0,
     "when set, every bearer token's iss must equal it (and service tokens carry it)"},
    {"JWT_AUDIENCE", CFG_STRING, C(auth.audience), "", 0, 0, 0,
     "when set, every bearer token's aud must equal or contain it (and service tokens carry "
     "it)"},
    {"JWT_MAX_TTL_SECONDS", CFG_INT, C(auth.max_ttl), "7776000", 60, 315360000, 0,
     "longest bearer-token lifetime accepted (exp - iat, or exp - now without iat)"},
    {"BIND_ADDRESS", CFG_STRING, C(bind_address), "127.0.0.1", 0, 0, 0,
     "address to listen on (0.0.0.0 in containers)"},
    {"TENANT_PORT", CFG_INT, C(port), "8001", 0, 65535, 0, "HTTP port (0 = any free port)"},
    {"HTTP_THREADS", CFG_INT, C(http_threads), "8", 1, 256, 0,
     "HTTP worker threads (each holds one database connection)"},
    {"HTTP_BODY_LIMIT", CFG_INT, C(body_limit), "65536", 1024, 16777216, 0,
     "largest accepted request body in bytes"},
    {"HTTP_CONNECTION_TIMEOUT", CFG_INT, C(conn_timeout), "30", 1, 3600, 0,
     "seconds an idle client connection is kept"},
    {"NOTIFICATION_SERVICE_URL", CFG_URL, C(notification_url), "http://127.0.0.1:8002", 0, 0, 0,
     "base URL of notification-service (WABA phone numbers, templates)"},
    {"UPSTREAM_TIMEOUT_MS", CFG_INT, C(upstream_timeout_ms), "5000", 100, 60000, 0,
     "timeout of calls to notification-service"},
    {"STATIC_DIR", CFG_STRING, C(static_dir), "frontend-static", 0, 0, 0,
     "directory of the web pages served under /app/"},
    {"LOG_LEVEL", CFG_STRING, C(log_level), "info", 0, 0, 0, "debug, info, warn or error"},
};
#undef C

int main(int argc, char **argv)
{
    int exit_code = 0;
    shutdown_init();
    enum cfg_action action = daemon_prepare(
        argc, argv, "tenant-service", "tenants and WhatsApp phone assignment", config_vars,
        sizeof config_vars / sizeof config_vars[0], &app.cfg.log_level, &exit_code);
    if (action != CFG_RUN && action != CFG_MIGRATE_ONLY)
        return exit_code;

    httpc_global_init();
    db_init(app.cfg.database_url);
    atexit(db_cleanup); /* the connection db_migrate() may leave unused */
    if (db_migrate("tenant", tenant_migrations, tenant_migrations_count) < 0) {
        log_error("migrations failed; not starting");
        return 1;
    }
    if (action == CFG_MIGRATE_ONLY)
        return 0;

    notif_init(app.cfg.notification_url, &app.cfg.auth, app.cfg.upstream_timeout_ms);
    struct http_server_config http = {
        .bind_address = app.cfg.bind_address,
        .port = (unsigned)app.cfg.port,
        .threads = (unsigned)app.cfg.http_threads,
        .body_limit = (size_t)app.cfg.body_limit,
        .conn_timeout = (unsigned)app.cfg.conn_timeout,
        .auth = &app.cfg.auth,
        .routes = tenant_routes,
        .nroutes = tenant_routes_count,
        .app = &app,
    };
    struct http_server *srv = http_server_start(&http);
    if (!srv) {
        notif_cleanup();
        httpc_global_cleanup();
        return 1;
    }
    if (!settings_listener_start(srv)) {
        http_server_stop(srv);
        notif_cleanup();
        httpc_global_cleanup();
        return 1;
    }
    log_info("listening\taddress=%s port=%u version=%s", app.cfg.bind_address,
             http_server_port(srv), VERSION);

    int sig = shutdown_wait();
    log_info("shutting down\tsignal=%d", sig);
    http_server_stop(srv);
    settings_listener_stop();
    notif_cleanup();
    httpc_global_cleanup();
    log_info("stopped");
    return 0;
}
