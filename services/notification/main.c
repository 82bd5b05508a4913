/* main.c - notification-service: purchase-order events to WhatsApp template messages
 * through a durable outbox, status webhooks, opt-outs. The only holder of the master
 * WhatsApp access token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "daemon.h"
#include "db.h"
#include "http.h"
#include "httpclient.h"
#include "log.h"
#include "mailaddr.h"
#include "po_template.h"
#include "retention.h"
#include "tenants/tenant_events.h"
#include "api/intake_batch.h"
#include "api/routes.h"
#include "api/templates.h"
#include "api/waba.h"
#include "api/usage_store.h"
#include "callbacks/deliver.h"
#include "shutdown.h"
#include "tenants/settings.h"
#include "outbox/wakeup.h"
#include "outbox/worker.h"

extern const struct db_migration notification_migrations[];
extern const size_t notification_migrations_count;

static struct notification_app app;

#define C(field) ((void *)&app.cfg.field)
static const struct cfg_var config_vars[] = {
    {"NOTIFICATION_DATABASE_URL", CFG_STRING, C(database_url), NULL, 0, 0,
     CFG_REQUIRED | CFG_SECRET, "PostgreSQL connection URL of the notification database"},
    DAEMON_DB_VARS(app.cfg.db_connect_timeout_ms),
    DAEMON_AUTH_VARS(app.cfg.auth),
    DAEMON_HTTP_VARS(app.cfg.http, "NOTIFICATION_PORT", "8002",
                     "largest accepted request body in bytes (webhooks of Meta can reach 3 MB: "
                     "see WEBHOOK_BODY_LIMIT)"),
    {"TENANT_SERVICE_URL", CFG_URL, C(tenant_url), "http://127.0.0.1:8001", 0, 0, 0,
     "base URL of tenant-service (notification settings)"},
    {"UPSTREAM_TIMEOUT_MS", CFG_INT, C(upstream_timeout_ms), "5000", 100, 60000, 0,
     "timeout of calls to tenant-service"},
    {"GRAPH_API_BASE_URL", CFG_URL, C(graph_base_url), "https://graph.facebook.com", 0, 0, 0,
     "Meta Graph API base URL (graph-sim's URL in the sandbox)"},
    {"WHATSAPP_API_VERSION", CFG_STRING, C(api_version), "v25.0", 0, 0, 0,
     "Graph API version (Meta serves an expired one as its oldest live version, silently)"},
    {"WHATSAPP_BUSINESS_ACCOUNT_ID", CFG_STRING, C(business_account_id), "", 0, 0, 0,
     "master WhatsApp Business Account id"},
    {"WHATSAPP_ACCESS_TOKEN", CFG_STRING, C(access_token), "", 0, 0, CFG_SECRET,
     "master system-user access token"},
    {"WHATSAPP_PHONE_NUMBER_ID", CFG_STRING, C(default_phone_number_id), "", 0, 0, 0,
     "default (fallback) sender phone number id"},
    {"ENABLE_WHATSAPP_NOTIFICATIONS", CFG_BOOL, C(enabled), "true", 0, 0, 0,
     "false: every message ends skipped"},
    {"WHATSAPP_WEBHOOK_VERIFY_TOKEN", CFG_STRING, C(verify_token), "", 0, 0, CFG_SECRET,
     "token Meta echoes in the webhook verification GET"},
    {"WHATSAPP_APP_SECRET", CFG_STRING, C(app_secret), "", 0, 0, CFG_SECRET,
     "Meta app secret; when set, webhook POSTs must carry a valid X-Hub-Signature-256"},
    {"GRAPH_TIMEOUT_MS", CFG_INT, C(graph_timeout_ms), "10000", 100, 120000, 0,
     "timeout of one Graph API request"},
    {"PHONE_NUMBERS_CACHE_SECONDS", CFG_INT, C(phone_cache_seconds), "60", 0, 86400, 0,
     "how long the WABA's phone-number and template lists are cached"},
    {"WEBHOOK_BODY_LIMIT", CFG_INT, C(webhook_body_limit), "4194304", 1024, 67108864, 0,
     "largest accepted webhook POST in bytes (Meta sends up to 3 MB)"},
    {"INTAKE_BATCH_MAX_MESSAGES", CFG_INT, C(intake_batch_max), "256", 1, 10000, 0,
     "most intake requests written in one transaction: those that arrive while a commit is "
     "in flight are written together by the next (group commit)"},
    {"WHATSAPP_MPS_PER_PHONE", CFG_INT, C(mps_per_phone), "80", 1, 10000, 0,
     "messages per second per sender number (Meta's default throughput is 80)"},
    {"WHATSAPP_PAIR_INTERVAL_MS", CFG_INT, C(pair_interval_ms), "6000", 0, 600000, 0,
     "least time between two messages to one recipient from one number (pair limit)"},
    {"WHATSAPP_MAX_ATTEMPTS", CFG_INT, C(max_attempts), "8", 1, 100, 0,
     "send attempts before a transient failure becomes final"},
    {"WHATSAPP_RETRY_BASE_MS", CFG_INT, C(retry_base_ms), "1000", 10, 3600000, 0,
     "first retry delay; doubles per attempt, with jitter"},
    {"WHATSAPP_RETRY_MAX_MS", CFG_INT, C(retry_max_ms), "300000", 10, 86400000, 0,
     "longest retry delay"},
    {"OUTBOX_ENABLED", CFG_BOOL, C(outbox_enabled), "true", 0, 0, 0,
     "false: this instance only takes events and webhooks; other instances send"},
    {"OUTBOX_BATCH_SIZE", CFG_INT, C(worker_batch), "200", 1, 10000, 0,
     "messages claimed per outbox query"},
    {"OUTBOX_MAX_INFLIGHT", CFG_INT, C(worker_inflight), "512", 1, 10000, 0,
     "messages a worker holds at once: Graph requests in flight and sends waiting for a "
     "rate limit"},
    {"WHATSAPP_RATE_MARGIN_MS", CFG_INT, C(rate_margin_ms), "0", 0, 1000, 0,
     "added to the 1 s throughput window and the pair interval (sends are already dated "
     "by Graph's answer)"},
    {"WHATSAPP_PAUSE_PROBE_MS", CFG_INT, C(pause_probe_ms), "5000", 100, 600000, 0,
     "the first probe of a paused account, template language or number waits this long"},
    {"WHATSAPP_PAUSE_PROBE_MAX_MS", CFG_INT, C(pause_probe_max_ms), "300000", 100, 3600000, 0,
     "each probe waits twice as long as the one before, up to this"},
    {"WHATSAPP_MESSAGE_TTL_SECONDS", CFG_INT, C(message_ttl_seconds), "43200", 30, 43200, 0,
     "a message not sent this long after its order fails unsent; Meta's utility template "
     "TTL has the same range"},
    {"TEMPLATE_FALLBACK_LANGUAGE", CFG_STRING, C(template_fallback_language), "es", 0, 0, 0,
     "a purchase order whose language has no approved template goes out in this one "
     "(empty: it waits for the approval)"},
    {"TEMPLATE_SYNC_INTERVAL_SECONDS", CFG_INT, C(template_sync_seconds), "3600", 0, 86400, 0,
     "how often the template statuses are read from Graph to repair what a lost webhook "
     "missed (0: never)"},
    {"BILLING_TIMEZONE", CFG_STRING, C(billing_timezone), "Europe/Madrid", 0, 0, 0,
     "the calendar month of quotas and usage is this time zone's"},
    {"WHATSAPP_MESSAGING_LIMIT", CFG_INT, C(messaging_limit), "0", 0, 10000000, 0,
     "unique recipients the account may reach per rolling 24 h (0: the business portfolio's "
     "limit as Graph reports it)"},
    {"SMTP_URL", CFG_STRING, C(smtp_url), "", 0, 0, 0,
     "mail server for purchase orders by email: smtp://host:port or smtps://host:port "
     "(empty: no email; those messages wait)"},
    {"SMTP_USERNAME", CFG_STRING, C(smtp_username), "", 0, 0, 0,
     "AUTH user at the mail server (empty: no AUTH)"},
    {"SMTP_PASSWORD", CFG_STRING, C(smtp_password), "", 0, 0, CFG_SECRET,
     "AUTH password at the mail server"},
    {"SMTP_FROM", CFG_STRING, C(smtp_from), "", 0, 0, 0,
     "sender address of a bakery without email_from_address"},
    {"SMTP_STARTTLS", CFG_BOOL, C(smtp_starttls), "true", 0, 0, 0,
     "smtp:// must upgrade with STARTTLS (false: plain, for a server on this machine)"},
    {"SMTP_CA_FILE", CFG_STRING, C(smtp_ca_file), "", 0, 0, 0,
     "CA bundle the mail server's certificate is checked against (empty: the system's)"},
    {"PO_EMAIL_FALLBACK", CFG_BOOL, C(po_email_fallback), "true", 0, 0, 0,
     "a purchase order whose WhatsApp message fails or is skipped goes by email, when its "
     "event has supplier_email"},
    {"MESSAGING_LIMIT_TENANT_SHARE", CFG_INT, C(messaging_limit_share), "25", 1, 100, 0,
     "percent of the messaging limit one tenant may take once the account nears it"},
    {"OUTBOX_LEASE_SECONDS", CFG_INT, C(lease_seconds), "60", 5, 3600, 0,
     "how long a claimed message is reserved before another worker may take it"},
    {"SENDER_LEASE_SECONDS", CFG_INT, C(sender_lease_seconds), "10", 2, 600, 0,
     "each sender number is owned by one instance; a dead instance's numbers are taken over "
     "within this many seconds"},
    {"WHATSAPP_RETENTION_DAYS", CFG_INT, C(retention_days), "90", 1, 36500, 0,
     "messages older than this are deleted"},
    {"RETENTION_BATCH_SIZE", CFG_INT, C(retention_batch), "1000", 1, 100000, 0,
     "rows deleted per retention statement"},
    {"RETENTION_INTERVAL_SECONDS", CFG_INT, C(retention_interval_seconds), "3600", 1, 604800, 0,
     "pause between two retention passes"},
    {"INSTANCE_ID", CFG_STRING, C(instance_id), "", 0, 0, 0,
     "this instance's name in outbox leases (default hostname:pid)"},
    {"ORDER_CALLBACK_URL", CFG_URL, C(callback_url), "", 0, 0, 0,
     "where each change of a purchase order's delivery state is POSTed, signed (empty: no "
     "callbacks)"},
    {"ORDER_CALLBACK_SECRET", CFG_STRING, C(callback_secret), "", 0, 0, CFG_SECRET,
     "HMAC-SHA256 key of the callbacks' X-Signature-256 header (required with the URL)"},
    {"ORDER_CALLBACK_TIMEOUT_MS", CFG_INT, C(callback_timeout_ms), "5000", 100, 8000, 0,
     "timeout of one callback request"},
    {"ORDER_CALLBACK_POLL_MS", CFG_INT, C(callback_poll_ms), "200", 10, 60000, 0,
     "how often the callback queue is looked at when it was empty"},
    {"ORDER_CALLBACK_RETRY_BASE_MS", CFG_INT, C(callback_retry_base_ms), "1000", 10, 3600000, 0,
     "first retry delay of a failed callback; doubles per attempt"},
    {"ORDER_CALLBACK_RETRY_MAX_MS", CFG_INT, C(callback_retry_max_ms), "600000", 10, 86400000, 0,
     "longest retry delay of a failed callback"},
    {"ORDER_CALLBACK_MAX_AGE_SECONDS", CFG_INT, C(callback_max_age_seconds), "86400", 60, 2592000,
     0, "a callback still failing this long after its change is dropped (logged, counted)"},
    {"LOG_LEVEL", CFG_STRING, C(log_level), "info", 0, 0, 0, "debug, info, warn or error"},
};
#undef C

int main(int argc, char **argv)
{
    int exit_code = 0;
    shutdown_init();
    enum cfg_action action = daemon_prepare(
        argc, argv, "notification-service", "purchase-order events to WhatsApp messages",
        config_vars, sizeof config_vars / sizeof config_vars[0], &app.cfg.log_level, &exit_code);
    if (action != CFG_RUN && action != CFG_MIGRATE_ONLY)
        return exit_code;
    if (app.cfg.template_fallback_language[0] && !po_text(app.cfg.template_fallback_language)) {
        log_error("TEMPLATE_FALLBACK_LANGUAGE must be empty or one of the offered languages "
                  "(es, en, eu, ca, gl)\tvalue=\"%s\"",
                  app.cfg.template_fallback_language);
        return 2;
    }
    char err[256];
    if (!callbacks_config_valid(&app.cfg, err, sizeof err)) {
        log_error("%s", err);
        return 2;
    }

    if (app.cfg.smtp_url[0] && strncmp(app.cfg.smtp_url, "smtp://", 7) != 0 &&
        strncmp(app.cfg.smtp_url, "smtps://", 8) != 0) {
        log_error("SMTP_URL must be an smtp:// or smtps:// URL\tvalue=\"%s\"", app.cfg.smtp_url);
        return 2;
    }
    if (app.cfg.smtp_url[0] && app.cfg.smtp_from[0] && !mailaddr_valid(app.cfg.smtp_from)) {
        log_error("SMTP_FROM must be one email address\tvalue=\"%s\"", app.cfg.smtp_from);
        return 2;
    }

    int opened =
        daemon_open(action, app.cfg.database_url, app.cfg.db_connect_timeout_ms, "notification",
                    notification_migrations, notification_migrations_count);
    if (opened != 0)
        return opened < 0 ? 1 : 0;
    /* Months of quotas and usage are calendar months of this zone: asked of PostgreSQL,
     * which computes them. */
    bool zone_known = false;
    if (usage_store_timezone_known(app.cfg.billing_timezone, &zone_known) != DB_OK) {
        log_error("BILLING_TIMEZONE could not be checked: the database failed\terror=\"%s\"",
                  db_error_message());
        return 1;
    }
    if (!zone_known) {
        log_error("BILLING_TIMEZONE must be a time zone name PostgreSQL knows, such as "
                  "Europe/Madrid\tvalue=\"%s\"",
                  app.cfg.billing_timezone);
        return 2;
    }
    if (!callbacks_switch(&app.cfg))
        return 1;

    struct http_server_config http = daemon_http_server(
        &app.cfg.http, &app.cfg.auth, notification_routes, notification_routes_count, &app);
    notification_routes_configure(&app.cfg);
    if (!wakeup_init())
        return 1;
    /* Settings requests are on the send path: never wait longer than 2 s for one. */
    struct tenant_settings_config sc = {
        .base_url = app.cfg.tenant_url,
        .auth = &app.cfg.auth,
        .timeout_ms = app.cfg.upstream_timeout_ms < 2000 ? app.cfg.upstream_timeout_ms : 2000,
    };
    app.settings = tenant_settings_new(&sc);
    if (app.cfg.outbox_enabled && !tenant_settings_follow(app.settings)) {
        tenant_settings_free(app.settings);
        return 1;
    }
    if (!intake_batch_start(app.cfg.intake_batch_max)) {
        tenant_settings_free(app.settings);
        return 1;
    }
    struct http_server *srv = http_server_start(&http);
    if (!srv) {
        intake_batch_stop();
        tenant_settings_free(app.settings);
        return 1;
    }
    if (!retention_start(&app.cfg) || !template_reads_start(&app.cfg) ||
        !tenant_events_start(&app.cfg) || !waba_limit_reads_start(&app.cfg) ||
        !callbacks_start(&app.cfg)) {
        waba_limit_reads_stop();
        tenant_events_stop();
        template_reads_stop();
        retention_stop();
        http_server_stop(srv);
        intake_batch_stop();
        tenant_settings_free(app.settings);
        return 1;
    }
    /* An instance without senders serves intake and webhooks only; another sends. */
    struct worker *worker = NULL;
    if (app.cfg.outbox_enabled ? !(worker = worker_start(&app.cfg, app.settings))
                               : !wakeup_notifier_start()) {
        callbacks_stop();
        waba_limit_reads_stop();
        tenant_events_stop();
        template_reads_stop();
        retention_stop();
        http_server_stop(srv);
        intake_batch_stop();
        tenant_settings_free(app.settings);
        return 1;
    }
    db_thread_pass_on(); /* the main thread's work is done: a request uses its connection */
    log_info("listening\taddress=%s port=%u version=%s", app.cfg.http.bind_address,
             http_server_port(srv), VERSION);

    int sig = shutdown_wait();
    log_info("shutting down\tsignal=%d", sig);
    http_server_stop(srv);
    intake_batch_stop(); /* after the last request: what they queued is committed */
    callbacks_stop();
    worker_stop(worker);
    wakeup_notifier_stop();
    waba_limit_reads_stop();
    tenant_events_stop();
    template_reads_stop();
    retention_stop();
    tenant_settings_free(app.settings);
    httpc_global_cleanup();
    log_info("stopped");
    return 0;
}
