/* app.h - notification-service's configuration and shared state. */
#ifndef NOTIFICATION_APP_H
#define NOTIFICATION_APP_H

#include <stdbool.h>

struct notification_config {
    const char *bind_address;
    long port;
    long http_threads;
    long body_limit;
    long conn_timeout;
    const char *database_url;
    const char *jwt_secret;
    const char *tenant_url;
    long upstream_timeout_ms;
    const char *log_level;
    /* master WABA credentials */
    const char *graph_base_url;
    const char *api_version;
    const char *business_account_id;
    const char *access_token;
    const char *default_phone_number_id;
    bool enabled;
    /* webhook */
    const char *verify_token;
    const char *app_secret;
};

struct notification_app {
    struct notification_config cfg;
};

#endif
