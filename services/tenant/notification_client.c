/* notification_client.c - JSON calls to notification-service with a cached service token. */
#include "notification_client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "auth.h"
#include "httpclient.h"
#include "log.h"
#include "metrics.h"
#include "service_token.h"

#define PING_TIMEOUT_MS 1000L
/* A sync creates up to five templates at Meta, one Graph call each. */
#define SYNC_TIMEOUT_MS 60000L

static const char *notif_url; /* borrowed, without a trailing slash (CFG_URL) */
static long notif_timeout_ms;
static struct service_token token;

void notif_init(const char *base_url, const struct auth_policy *auth, long timeout_ms)
{
    notif_url = base_url;
    service_token_init(&token, auth, "tenant-service");
    notif_timeout_ms = timeout_ms;
}

void notif_cleanup(void)
{
    service_token_free(&token);
}

static void count(const char *path, const char *outcome)
{
    char labels[256];
    snprintf(labels, sizeof labels, "target=\"notification-service\",path=\"%s\",outcome=\"%s\"",
             path, outcome);
    metric_inc(metrics_counter("upstream_requests_total",
                               "Calls to other services, by outcome (ok, error, unreachable).",
                               labels));
}

/* Describes a non-200 answer in out->error, with notification-service's own words. */
static void describe_failure(const struct httpc_result *res, struct notif_result *out)
{
    const char *code = res->json ? json_string_value(json_object_get(res->json, "error")) : NULL;
    const char *msg = res->json ? json_string_value(json_object_get(res->json, "message")) : NULL;
    if (res->status == 401 || res->status == 403)
        snprintf(out->error, sizeof out->error,
                 "notification-service refused tenant-service's token (HTTP %ld: %s): both "
                 "services need the same JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE and "
                 "JWT_MAX_TTL_SECONDS",
                 res->status, msg ? msg : "no reason given");
    else if (msg)
        snprintf(out->error, sizeof out->error, "notification-service answered HTTP %ld (%s): %s",
                 res->status, code ? code : "error", msg);
    else
        snprintf(out->error, sizeof out->error, "notification-service answered HTTP %ld",
                 res->status);
}

/* Calls method path (with query; body may be NULL) within timeout_ms and checks that a
 * 200 answer is JSON of type expect; with relay, any 2xx or 4xx answer but 401 and 403
 * (those say the services disagree on tokens) is taken, to be passed on. path_label is
 * the path without the query, for metrics. */
static enum notif_status call_json(const char *method, const char *path, const char *path_label,
                                   const json_t *body, long timeout_ms, json_type expect,
                                   bool relay, struct notif_result *out)
{
    enum notif_status st = NOTIF_FAILED;
    struct httpc_result res;
    char *url = xasprintf("%s%s", notif_url, path);
    char *bearer = service_token_get(&token);

    memset(out, 0, sizeof(*out));
    memset(&res, 0, sizeof res);
    if (httpc_json(method, url, bearer, body, timeout_ms, &res) != 0) {
        snprintf(out->error, sizeof out->error, "notification-service is unreachable at %s (%s)",
                 notif_url, res.error);
        st = NOTIF_UNREACHABLE;
        goto out;
    }
    out->http_status = res.status;
    bool relayed =
        relay && res.status >= 200 && res.status < 500 && res.status != 401 && res.status != 403;
    if (res.status != 200 && !relayed) {
        describe_failure(&res, out);
        goto out;
    }
    if (!res.json || json_typeof(res.json) != expect) {
        snprintf(out->error, sizeof out->error,
                 "notification-service answered %s with something other than the JSON %s the "
                 "contract promises",
                 path_label, expect == JSON_ARRAY ? "array" : "object");
        goto out;
    }
    out->json = res.json;
    res.json = NULL;
    st = NOTIF_OK;
out:
    if (st != NOTIF_OK)
        log_warn("notification-service call failed\tpath=%s error=\"%s\"", path_label, out->error);
    count(path_label, st == NOTIF_OK ? "ok" : st == NOTIF_UNREACHABLE ? "unreachable" : "error");
    httpc_result_free(&res);
    free(bearer);
    free(url);
    return st;
}

static enum notif_status get_json(const char *path, const char *path_label, json_type expect,
                                  struct notif_result *out)
{
    return call_json("GET", path, path_label, NULL, notif_timeout_ms, expect, false, out);
}

enum notif_status notif_phone_numbers(struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/phone-numbers";
    return get_json(path, path, JSON_ARRAY, out);
}

enum notif_status notif_config_status(struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/config-status";
    return get_json(path, path, JSON_OBJECT, out);
}

enum notif_status notif_health(struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/health";
    return get_json(path, path, JSON_OBJECT, out);
}

enum notif_status notif_templates(const char *name, struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/templates";
    size_t n = strlen(name);
    if (n == 0 || n > 512 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
        memset(out, 0, sizeof(*out));
        snprintf(out->error, sizeof out->error, "not a template name");
        return NOTIF_FAILED;
    }
    char *with_query = xasprintf("%s?name=%s", path, name);
    enum notif_status st = get_json(with_query, path, JSON_ARRAY, out);
    free(with_query);
    return st;
}

enum notif_status notif_template_report(const char *language, struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/templates/report";
    char *with_query = language ? xasprintf("%s?language=%s", path, language) : xstrdup(path);
    enum notif_status st = get_json(with_query, path, JSON_OBJECT, out);
    free(with_query);
    return st;
}

enum notif_status notif_template_sync(const json_t *body, struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/templates/sync";
    long timeout = notif_timeout_ms > SYNC_TIMEOUT_MS ? notif_timeout_ms : SYNC_TIMEOUT_MS;
    return call_json("POST", path, path, body, timeout, JSON_OBJECT, false, out);
}

enum notif_status notif_quota_usage(const char *tenant_id, struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/quota-usage";
    char *with_query = xasprintf("%s?tenant_id=%s", path, tenant_id);
    enum notif_status st = get_json(with_query, path, JSON_OBJECT, out);
    free(with_query);
    return st;
}

enum notif_status notif_orders(const char *tenant_id, long limit, struct notif_result *out)
{
    static const char path[] = "/api/v1/notifications/purchase-orders";
    char *with_query = xasprintf("%s?tenant_id=%s&limit=%ld", path, tenant_id, limit);
    enum notif_status st = get_json(with_query, path, JSON_OBJECT, out);
    free(with_query);
    return st;
}

enum notif_status notif_resend(const char *tenant_id, const char *message_id, const json_t *body,
                               struct notif_result *out)
{
    static const char label[] = "/api/v1/whatsapp/messages/{id}/resend";
    char *path =
        xasprintf("/api/v1/whatsapp/messages/%s/resend?tenant_id=%s", message_id, tenant_id);
    enum notif_status st =
        call_json("POST", path, label, body, notif_timeout_ms, JSON_OBJECT, true, out);
    free(path);
    return st;
}

enum notif_status notif_activity(const char *tenant_id, long days, struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/activity";
    char *with_query = xasprintf("%s?tenant_id=%s&days=%ld", path, tenant_id, days);
    enum notif_status st = get_json(with_query, path, JSON_OBJECT, out);
    free(with_query);
    return st;
}

enum notif_status notif_send_template(const json_t *body, struct notif_result *out)
{
    static const char path[] = "/api/v1/whatsapp/messages";
    return call_json("POST", path, path, body, notif_timeout_ms, JSON_OBJECT, true, out);
}

enum notif_status notif_message(const char *message_id, struct notif_result *out)
{
    static const char label[] = "/api/v1/whatsapp/messages/{id}";
    char *path = xasprintf("/api/v1/whatsapp/messages/%s", message_id);
    enum notif_status st =
        call_json("GET", path, label, NULL, notif_timeout_ms, JSON_OBJECT, true, out);
    /* Only "there" or "not there" is an answer; any other relayed status is a failure. */
    if (st == NOTIF_OK && out->http_status != 200 && out->http_status != 404) {
        snprintf(out->error, sizeof out->error, "notification-service answered HTTP %ld for %s",
                 out->http_status, label);
        notif_result_free(out);
        st = NOTIF_FAILED;
    }
    free(path);
    return st;
}

bool notif_reachable(void)
{
    struct httpc_result res;
    char *url = xasprintf("%s/health", notif_url);
    bool ok = httpc_json("GET", url, NULL, NULL, PING_TIMEOUT_MS, &res) == 0 && res.status == 200;
    httpc_result_free(&res);
    free(url);
    return ok;
}

void notif_result_free(struct notif_result *r)
{
    json_decref(r->json);
    r->json = NULL;
}

const json_t *notif_find_phone(const json_t *list, const char *phone_id)
{
    size_t i;
    const json_t *item;
    json_array_foreach (list, i, item) {
        const char *id = json_string_value(json_object_get(item, "id"));
        if (id && strcmp(id, phone_id) == 0)
            return item;
    }
    return NULL;
}

const json_t *notif_default_phone(const json_t *list)
{
    size_t i;
    const json_t *item;
    json_array_foreach (list, i, item) {
        if (json_is_true(json_object_get(item, "is_default")))
            return item;
    }
    return NULL;
}
