/* main.c - graph-sim: a local simulator of Meta's WhatsApp Cloud API (Graph API) for
 * tests, benchmarks and the sandbox: phone numbers, templates, template sends with Meta's
 * validation, errors and limits, signed status webhooks, and faults on demand. */
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "daemon.h"
#include "faults.h"
#include "graph_error.h"
#include "http.h"
#include "httpclient.h"
#include "limiter.h"
#include "log.h"
#include "metrics.h"
#include "msglimit.h"
#include "msgstore.h"
#include "phones.h"
#include "routes.h"
#include "settings.h"
#include "shutdown.h"
#include "sim.h"
#include "templates.h"
#include "webhook.h"

struct sim_config sim_cfg;
struct prng sim_rng;

#define C(field) ((void *)&sim_cfg.field)
static const struct cfg_var config_vars[] = {
    {"GRAPH_SIM_BIND_ADDRESS", CFG_STRING, C(http.bind_address), "127.0.0.1", 0, 0, 0,
     "address to listen on"},
    {"GRAPH_SIM_PORT", CFG_INT, C(http.port), "8090", 0, 65535, 0, "HTTP port (0 = any free port)"},
    {"GRAPH_SIM_HTTP_THREADS", CFG_INT, C(http.threads), "4", 1, 256, 0, "HTTP worker threads"},
    {"GRAPH_SIM_BODY_LIMIT", CFG_INT, C(http.body_limit), "1048576", 1024, 16777216, 0,
     "largest accepted request body in bytes"},
    {"GRAPH_SIM_CONNECTION_TIMEOUT", CFG_INT, C(http.conn_timeout), "60", 1, 3600, 0,
     "seconds an idle client connection is kept"},
    {"GRAPH_SIM_ACCESS_TOKEN", CFG_STRING, C(access_token), "graph-sim-access-token", 0, 0,
     CFG_SECRET, "the bearer token the Graph API accepts"},
    {"GRAPH_SIM_WABA_ID", CFG_STRING, C(waba_id), "102290129340398", 0, 0, 0,
     "WhatsApp Business Account id"},
    {"GRAPH_SIM_APP_SECRET", CFG_STRING, C(app_secret), "graph-sim-app-secret", 0, 0, CFG_SECRET,
     "app secret that signs webhooks (X-Hub-Signature-256)"},
    {"GRAPH_SIM_PHONE_COUNT", CFG_INT, C(phone_count), "10", 0, 120, 0,
     "sandbox phone numbers to create (+34 612 345 678 and up)"},
    {"GRAPH_SIM_PHONES_FILE", CFG_STRING, C(phones_file), "", 0, 0, 0,
     "JSON file of phone numbers (replaces GRAPH_SIM_PHONE_COUNT)"},
    {"GRAPH_SIM_NOT_ON_WHATSAPP", CFG_STRING, C(not_on_whatsapp), "", 0, 0, 0,
     "comma-separated recipients that are not on WhatsApp (failed, 131026)"},
    {"GRAPH_SIM_TEMPLATE_AUTO_APPROVE", CFG_BOOL, C(template_auto_approve), "true", 0, 0, 0,
     "templates created through the Graph API start APPROVED (else PENDING)"},
    {"GRAPH_SIM_PUBLIC_URL", CFG_STRING, C(public_url), "", 0, 0, 0,
     "base of paging.next links (default: http:// and the Host header)"},
    {"GRAPH_SIM_ERROR_STATUS", CFG_STRING, C(error_status), "meta", 0, 0, 0,
     "meta: 429/404/... per code as documented; 400: every 4xx error answers 400"},
    {"GRAPH_SIM_SEED", CFG_INT, C(seed), "1", 0, 9007199254740991L, 0,
     "seed of every random decision (ids, fault rates)"},
    {"GRAPH_SIM_MPS", CFG_INT, C(mps), "80", 0, 10000, 0,
     "messages per second per phone number (130429 above; 0 = unlimited)"},
    {"GRAPH_SIM_PAIR_WINDOW_MS", CFG_INT, C(pair_window_ms), "6000", 0, 86400000, 0,
     "one message per recipient per number in this window (131056; 0 = off)"},
    {"GRAPH_SIM_MESSAGES_MAX", CFG_INT, C(messages_max), "100000", 1, 10000000, 0,
     "accepted sends kept for GET /_sim/messages"},
    {"GRAPH_SIM_WEBHOOK_URL", CFG_URL, C(webhook_url), "", 0, 0, 0,
     "where status and inbound webhooks are POSTed (empty = none)"},
    {"GRAPH_SIM_STATUS_DELAY_MS", CFG_INT, C(status_delay_ms), "100", 0, 3600000, 0,
     "delay from a send to its first status, and between statuses"},
    {"GRAPH_SIM_STATUSES", CFG_STRING, C(statuses), "sent,delivered,read", 0, 0, 0,
     "statuses sent after a successful send"},
    {"GRAPH_SIM_WEBHOOK_BATCH_MAX", CFG_INT, C(webhook_batch_max), "100", 1, 1000, 0,
     "most items in one webhook POST"},
    {"GRAPH_SIM_WEBHOOK_TIMEOUT_MS", CFG_INT, C(webhook_timeout_ms), "5000", 100, 60000, 0,
     "timeout of one webhook POST"},
    {"GRAPH_SIM_WEBHOOK_RETRY_MIN_MS", CFG_INT, C(webhook_retry_min_ms), "100", 1, 600000, 0,
     "first wait after a failed webhook POST (doubles per failure)"},
    {"GRAPH_SIM_WEBHOOK_RETRY_MAX_MS", CFG_INT, C(webhook_retry_max_ms), "5000", 1, 3600000, 0,
     "longest wait between webhook retries"},
    {"GRAPH_SIM_WEBHOOK_QUEUE_MAX", CFG_INT, C(webhook_queue_max), "1000000", 1000, 100000000, 0,
     "pending webhook items kept while the target is down (beyond: dropped, counted)"},
    {"GRAPH_SIM_DUPLICATE_DELAY_MS", CFG_INT, C(duplicate_delay_ms), "200", 0, 3600000, 0,
     "how long after the original a duplicated webhook item is sent"},
    {"GRAPH_SIM_NOW", CFG_STRING, C(now), "", 0, 0, 0,
     "the simulated date (YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or unix seconds); empty = real"},
    {"GRAPH_SIM_TEMPLATE_REVIEW_MS", CFG_INT, C(template_review_ms), "0", 0, 86400000, 0,
     "templates created through the Graph API stay PENDING this long, then are decided "
     "(0 = decided at creation by GRAPH_SIM_TEMPLATE_AUTO_APPROVE)"},
    {"GRAPH_SIM_TEMPLATE_REJECT_LANGUAGES", CFG_STRING, C(reject_languages), "", 0, 0, 0,
     "comma-separated languages the template review rejects"},
    {"GRAPH_SIM_MESSAGING_LIMIT", CFG_INT, C(messaging_limit), "0", 0, 100000, 0,
     "unique recipients per rolling 24 h for the portfolio: 250, 2000, 10000, 100000 or 0 "
     "(unlimited)"},
    {"GRAPH_SIM_PRICING", CFG_STRING, C(pricing), "pmp", 0, 0, 0,
     "pricing on statuses: pmp, cbp (with conversation) or none"},
    {"LOG_LEVEL", CFG_STRING, C(log_level), "info", 0, 0, 0, "debug, info, warn or error"},
};
#undef C

/* Loads every module from the configuration. Returns 0, or -1 (message printed). */
static int sim_init(void)
{
    char err[256];
    if (strcmp(sim_cfg.error_status, "meta") != 0 && strcmp(sim_cfg.error_status, "400") != 0) {
        log_error("configuration error\treason=\"GRAPH_SIM_ERROR_STATUS must be meta or 400\"");
        return -1;
    }
    if (!sim_cfg.access_token[0] || !sim_cfg.waba_id[0]) {
        log_error("configuration error\treason=\"GRAPH_SIM_ACCESS_TOKEN and GRAPH_SIM_WABA_ID "
                  "must not be empty\"");
        return -1;
    }
    gerr_set_all_400(strcmp(sim_cfg.error_status, "400") == 0);
    prng_seed(&sim_rng, (uint64_t)sim_cfg.seed);
    if (sim_clock_init(err, sizeof err) != 0 || settings_init(err, sizeof err) != 0 ||
        faults_init(err, sizeof err) != 0 || phones_init(err, sizeof err) != 0) {
        log_error("configuration error\treason=\"%s\"", err);
        return -1;
    }
    templates_init();
    msgstore_init((size_t)sim_cfg.messages_max);
    metrics_gauge_fn("graph_sim_messages_accepted", "Sends accepted since start or reset.", "",
                     msgstore_accepted, NULL);
    metrics_gauge_fn("graph_sim_webhook_pending", "Webhook items waiting for delivery.", "",
                     webhook_pending, NULL);
    return 0;
}

static void sim_free(void)
{
    templates_free();
    phones_free();
    limiter_free();
    msgstore_free();
    msglimit_free();
}

int main(int argc, char **argv)
{
    int exit_code = 0;
    struct http_server *srv = NULL;
    bool webhooks = false;

    shutdown_init();
    enum cfg_action action = daemon_prepare(
        argc, argv, "graph-sim", "a local simulator of the WhatsApp Cloud API (Graph API)",
        config_vars, sizeof config_vars / sizeof config_vars[0], &sim_cfg.log_level, &exit_code);
    if (action != CFG_RUN)
        return action == CFG_MIGRATE_ONLY ? 0 : exit_code;

    httpc_global_init();
    exit_code = 1;
    if (sim_init() != 0)
        goto out;
    if (webhook_start() != 0)
        goto out;
    webhooks = true;

    /* no route of graph-sim takes a bearer token of ours: no auth policy */
    struct http_server_config http =
        daemon_http_server(&sim_cfg.http, NULL, sim_routes, sim_routes_count, NULL);
    srv = http_server_start(&http);
    if (!srv)
        goto out;
    log_info("listening\taddress=%s port=%u version=%s waba=%s seed=%ld webhook_url=\"%s\"",
             sim_cfg.http.bind_address, http_server_port(srv), VERSION, sim_cfg.waba_id,
             sim_cfg.seed, sim_cfg.webhook_url);

    int sig = shutdown_wait();
    log_info("shutting down\tsignal=%d", sig);
    exit_code = 0;
out:
    http_server_stop(srv);
    if (webhooks)
        webhook_stop();
    sim_free();
    httpc_global_cleanup();
    if (exit_code == 0)
        log_info("stopped");
    return exit_code;
}
