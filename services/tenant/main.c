/* main.c - tenant-service: tenants, their notification settings, WhatsApp phone-number
 * assignment and its audit log; serves the admin page and the settings card. */
#include <stdio.h>
#include <stdlib.h>

#include "app.h"
#include "console_auth.h"
#include "console_events.h"
#include "daemon.h"
#include "db.h"
#include "http.h"
#include "httpclient.h"
#include "log.h"
#include "notification_client.h"
#include "plans.h"
#include "routes.h"
#include "settings_cache.h"
#include "settings_listener.h"
#include "settings_read.h"
#include "settings_readers.h"
#include "shutdown.h"
#include "support.h"

extern const struct db_migration tenant_migrations[];
extern const size_t tenant_migrations_count;

static struct tenant_app app;

#define C(field) ((void *)&app.cfg.field)
static const struct cfg_var config_vars[] = {
    {"TENANT_DATABASE_URL", CFG_STRING, C(database_url), NULL, 0, 0, CFG_REQUIRED | CFG_SECRET,
     "PostgreSQL connection URL of the tenant database"},
    DAEMON_DB_VARS(app.cfg.db_connect_timeout_ms),
    DAEMON_AUTH_VARS(app.cfg.auth),
    DAEMON_HTTP_VARS(app.cfg.http, "TENANT_PORT", "8001", "largest accepted request body in bytes"),
    {"NOTIFICATION_SERVICE_URL", CFG_URL, C(notification_url), "http://127.0.0.1:8002", 0, 0, 0,
     "base URL of notification-service (WABA phone numbers, templates)"},
    {"UPSTREAM_TIMEOUT_MS", CFG_INT, C(upstream_timeout_ms), "5000", 100, 60000, 0,
     "timeout of calls to notification-service"},
    {"STATIC_DIR", CFG_STRING, C(static_dir), "frontend-static", 0, 0, 0,
     "directory of the web pages served under /app/"},
    {"PLAN_DEFAULT", CFG_STRING, C(plan_default), "standard", 0, 0, 0,
     "the WhatsApp plan of new tenants: basic, standard or enterprise"},
    {"SUPPORT_EMAIL", CFG_STRING, C(support_email), NULL, 0, 0, 0,
     "support e-mail address the owner's card shows (empty: none)"},
    {"SUPPORT_PHONE", CFG_STRING, C(support_phone), NULL, 0, 0, 0,
     "support phone number the owner's card shows (empty: none)"},
    {"PUBLIC_URL", CFG_URL, C(public_url), NULL, 0, 0, 0,
     "base URL of the web pages in sign-in links, e.g. https://console.example.com (empty: "
     "the scheme and Host of the request that makes the link)"},
    {"SESSION_TTL_SECONDS", CFG_INT, C(session_ttl_seconds), "28800", 300, 2592000, 0,
     "lifetime of a web page session opened by a sign-in link (seconds)"},
    {"EVENTS_MAX_STREAMS", CFG_INT, C(events_max_streams), "200", 1, 10000, 0,
     "live-update streams (GET /api/v1/events) this instance keeps open at once"},
    {"SETTINGS_CACHE_ENTRIES", CFG_INT, C(settings_cache_entries), "10000", 0, 10000000, 0,
     "tenants' notification settings this instance keeps in memory for reads (0: none, every "
     "read asks the database)"},
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
    if ((action == CFG_RUN || action == CFG_MIGRATE_ONLY || action == CFG_CHECK) &&
        !plan_find(app.cfg.plan_default)) {
        fprintf(stderr,
                "tenant-service: configuration error: PLAN_DEFAULT must be %s (got \"%s\")\n",
                plan_names(), app.cfg.plan_default);
        return 2;
    }
    const char *support_problem =
        action == CFG_RUN || action == CFG_MIGRATE_ONLY || action == CFG_CHECK
            ? support_contact_problem(app.cfg.support_email, app.cfg.support_phone)
            : NULL;
    if (support_problem) {
        fprintf(stderr, "tenant-service: configuration error: %s\n", support_problem);
        return 2;
    }
    if (action != CFG_RUN && action != CFG_MIGRATE_ONLY)
        return exit_code;

    int opened = daemon_open(action, app.cfg.database_url, app.cfg.db_connect_timeout_ms, "tenant",
                             tenant_migrations, tenant_migrations_count);
    if (opened != 0)
        return opened < 0 ? 1 : 0;

    notif_init(app.cfg.notification_url, &app.cfg.auth, app.cfg.upstream_timeout_ms);
    struct http_server_config http =
        daemon_http_server(&app.cfg.http, &app.cfg.auth, tenant_routes, tenant_routes_count, &app);
    http.session = (struct http_session_hook){CONSOLE_SESSION_COOKIE, console_session_verify};
    settings_cache_init(app.cfg.settings_cache_entries);
    if (!settings_readers_start()) {
        settings_cache_free();
        notif_cleanup();
        httpc_global_cleanup();
        return 1;
    }
    if (!settings_read_start()) {
        settings_readers_stop();
        settings_cache_free();
        notif_cleanup();
        httpc_global_cleanup();
        return 1;
    }
    if (!console_events_start(app.cfg.events_max_streams)) {
        settings_read_stop();
        settings_readers_stop();
        settings_cache_free();
        notif_cleanup();
        httpc_global_cleanup();
        return 1;
    }
    struct http_server *srv = http_server_start(&http);
    if (!srv) {
        console_events_stop();
        settings_read_stop();
        settings_readers_stop();
        settings_cache_free();
        notif_cleanup();
        httpc_global_cleanup();
        return 1;
    }
    if (!settings_listener_start(srv)) {
        console_events_stop();
        http_server_stop(srv);
        settings_read_stop();
        settings_readers_stop();
        settings_cache_free();
        notif_cleanup();
        httpc_global_cleanup();
        return 1;
    }
    log_info("listening\taddress=%s port=%u version=%s", app.cfg.http.bind_address,
             http_server_port(srv), VERSION);

    int sig = shutdown_wait();
    log_info("shutting down\tsignal=%d", sig);
    /* The listener wakes the server's parked requests: it stops first. */
    settings_listener_stop();
    console_events_stop(); /* ends the live streams, so the server's stop need not wait */
    http_server_stop(srv);
    settings_read_stop();    /* after the last request */
    settings_readers_stop(); /* after the last change's wait, which needs this reader too */
    settings_cache_free();
    notif_cleanup();
    httpc_global_cleanup();
    log_info("stopped");
    return 0;
}
