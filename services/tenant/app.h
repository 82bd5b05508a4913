/* app.h - tenant-service's configuration, shared read-only by every handler. */
#ifndef TENANT_APP_H
#define TENANT_APP_H

#include <stdbool.h>

#include "daemon.h"

#include "auth.h"

struct tenant_config {
    struct daemon_http http; /* BIND_ADDRESS, the port, HTTP_* */
    const char *database_url;
    int db_connect_timeout_ms;
    struct auth_policy auth; /* JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL_SECONDS */
    const char *notification_url;
    long upstream_timeout_ms;
    const char *static_dir;
    const char *plan_default;    /* PLAN_DEFAULT: a name plan_find() knows (checked at start) */
    const char *support_email;   /* SUPPORT_EMAIL, "" when unset (checked at start: support.h) */
    const char *support_phone;   /* SUPPORT_PHONE, likewise */
    const char *public_url;      /* PUBLIC_URL: base of sign-in links, "" = the request's Host */
    long session_ttl_seconds;    /* SESSION_TTL_SECONDS: a page session's lifetime */
    long events_max_streams;     /* EVENTS_MAX_STREAMS: open live streams per instance */
    long settings_cache_entries; /* SETTINGS_CACHE_ENTRIES: cached settings documents, 0 = none */
    const char *log_level;
};

struct tenant_app {
    struct tenant_config cfg;
};

#endif
