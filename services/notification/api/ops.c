/* ops.c - operational endpoints: /ready (PostgreSQL, the Graph credentials and the
 * sending pause, tenant-service), /metrics with the outbox gauges read at scrape time, the
 * API description; and the one answer every handler gives when the database fails. */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "api/waba.h"
#include "api/handlers.h"
#include "httpclient.h"
#include "log.h"
#include "metrics.h"
#include "openapi.h"
#include "outbox/pause.h"
#include "api/store.h"

#define TENANT_PROBE_TIMEOUT_MS 1000L

/* tenant-service's /health: "ok", or why not (into text). */
static const char *probe_tenant_service(const struct notification_config *cfg, char *text,
                                        size_t len)
{
    struct httpc_result res;
    char *url = xasprintf("%s/health", cfg->tenant_url);
    long timeout = cfg->upstream_timeout_ms < TENANT_PROBE_TIMEOUT_MS ? cfg->upstream_timeout_ms
                                                                      : TENANT_PROBE_TIMEOUT_MS;

    if (httpc_json("GET", url, NULL, NULL, timeout, &res) != 0)
        snprintf(text, len, "unreachable: %s", res.error);
    else if (res.status != 200)
        snprintf(text, len, "unhealthy: HTTP %ld", res.status);
    else
        snprintf(text, len, "ok");
    httpc_result_free(&res);
    free(url);
    return text;
}

/* 503 only for what stops this instance from doing its work: the database, and a sending
 * pause after a token error (somebody has to renew the token). Missing credentials and
 * an unreachable tenant-service are reported as degraded: intake and webhooks still work,
 * and messages wait in the outbox. Graph itself is not called: readiness probes would
 * spend Meta's small management-call allowance. */
void handle_ready(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    json_t *checks = json_object();
    json_t *degraded = json_array();
    const char *failing = NULL;
    char text[320];
    struct pause_state pause;
    json_t *paused = NULL;

    if (db_ping()) {
        json_object_set_new(checks, "database", json_string("ok"));
    } else {
        json_object_set_new(checks, "database", json_string("unreachable"));
        failing = "database";
    }

    if (!cfg->enabled) {
        json_object_set_new(checks, "graph", json_string("disabled"));
    } else if (pause_state(&pause)) {
        snprintf(text, sizeof text, "paused: %s", pause.reason);
        json_object_set_new(checks, "graph", json_string(text));
        paused = pause_json(&pause);
        if (!failing)
            failing = "graph";
    } else if (!graph_credentials_configured(cfg)) {
        json_object_set_new(checks, "graph", json_string("not_configured"));
        json_array_append_new(degraded, json_string("graph"));
    } else {
        json_object_set_new(checks, "graph", json_string("ok"));
    }

    probe_tenant_service(cfg, text, sizeof text);
    json_object_set_new(checks, "tenant_service", json_string(text));
    if (strcmp(text, "ok") != 0)
        json_array_append_new(degraded, json_string("tenant_service"));

    json_t *body = json_pack("{s:s, s:o, s:o}", "status", failing ? "unavailable" : "ready",
                             "checks", checks, "degraded", degraded);
    if (failing)
        json_object_set_new(body, "failing", json_string(failing));
    if (paused)
        json_object_set_new(body, "paused", paused);
    http_reply_json(req, failing ? 503 : 200, body);
}

void handle_metrics(struct http_request *req)
{
    long depth;
    double oldest;

    /* Read here rather than in a gauge callback: those run under the registry's lock,
     * and a slow database must not stall every other metric update. */
    if (store_queue_stats(&depth, &oldest) == DB_OK) {
        metric_set(metrics_gauge("whatsapp_queue_depth", "Messages queued or being sent.", ""),
                   (double)depth);
        metric_set(metrics_gauge("whatsapp_queue_oldest_age_seconds",
                                 "Age of the oldest queued message.", ""),
                   oldest);
    }
    http_handle_metrics(req);
}

void reply_db_failure(struct http_request *req, enum db_status st, const char *what)
{
    if (st == DB_UNAVAILABLE)
        http_reply_error(req, 503, "database_unavailable",
                         "The database is unavailable; retry later");
    else
        http_reply_error(req, 500, "internal_error", "%s failed", what);
}

/* The description was converted and compiled in at build time (tools/openapi-embed), so
 * serving it needs neither YAML nor a file. */
void handle_openapi(struct http_request *req)
{
    http_reply_bytes(req, 200, "application/json; charset=utf-8", openapi_json, openapi_json_len);
}
