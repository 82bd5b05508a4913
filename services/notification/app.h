/* app.h - notification-service's configuration and shared state. */
#ifndef NOTIFICATION_APP_H
#define NOTIFICATION_APP_H

#include <stdbool.h>

#include "daemon.h"

#include "auth.h"

struct notification_config {
    struct daemon_http http; /* BIND_ADDRESS, the port, HTTP_* */
    const char *database_url;
    int db_connect_timeout_ms;
    struct auth_policy auth; /* JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL_SECONDS */
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
    long graph_timeout_ms;
    long phone_cache_seconds;
    /* webhook */
    const char *verify_token;
    const char *app_secret;
    long webhook_body_limit;
    /* intake */
    long intake_batch_max;
    /* sending */
    long mps_per_phone;
    long pair_interval_ms;
    long max_attempts;
    long retry_base_ms;
    long retry_max_ms;
    bool outbox_enabled;
    long worker_batch;
    long worker_inflight;
    long lease_seconds;
    long sender_lease_seconds; /* a dead instance's numbers move within this (owners.h) */
    long rate_margin_ms;
    long pause_probe_ms;
    long pause_probe_max_ms;
    long message_ttl_seconds;
    const char *template_fallback_language; /* "" when none */
    long template_sync_seconds;
    const char *billing_timezone;
    long messaging_limit;       /* fixed unique recipients per 24 h; 0: as Graph reports */
    long messaging_limit_share; /* percent one tenant may take once the account nears it */
    /* email (issue 21) */
    const char *smtp_url; /* smtp:// or smtps://; "" when no email is sent */
    const char *smtp_username;
    const char *smtp_password;
    const char *smtp_from; /* the sender when a bakery has no email_from_address */
    bool smtp_starttls;
    const char *smtp_ca_file; /* "" = the system's CA bundle */
    bool po_email_fallback;   /* a failed or skipped WhatsApp order goes by email */
    /* retention */
    long retention_days;
    long retention_batch;
    long retention_interval_seconds;
    const char *instance_id; /* lease owner name; hostname:pid when empty */
    /* order callbacks (callbacks/deliver.h) */
    const char *callback_url; /* "" when off */
    const char *callback_secret;
    long callback_timeout_ms;
    long callback_poll_ms;
    long callback_retry_base_ms;
    long callback_retry_max_ms;
    long callback_max_age_seconds;
};

struct tenant_settings_cache;

struct notification_app {
    struct notification_config cfg;
    struct tenant_settings_cache *settings; /* tenants' settings, kept current (thread-safe) */
};

#endif
