/* app.h - tenant-service's configuration, shared read-only by every handler. */
#ifndef TENANT_APP_H
#define TENANT_APP_H

#include <stdbool.h>

struct tenant_config {
    const char *bind_address;
    long port;
    long http_threads;
    long body_limit;
    long conn_timeout;
    const char *database_url;
    const char *jwt_secret;
    const char *notification_url;
    long upstream_timeout_ms;
    const char *static_dir;
    const char *log_level;
};

struct tenant_app {
    struct tenant_config cfg;
};

#endif
