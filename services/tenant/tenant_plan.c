/* tenant_plan.c - a tenant's WhatsApp plan and monthly quota (issue 20): the platform
 * admin reads and changes it (every change audited), the tenant's own users and services
 * read it. The plans themselves are in plans.c; the plan reaches notification-service
 * with the settings (store.c, migration 0004). */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "handlers.h"
#include "jsonutil.h"
#include "log.h"
#include "plans.h"
#include "settings_readers.h"

/* The plan with this month's usage as notification-service counts it (its
 * whatsapp_quota_usage, migration 0012): "usage": {"month", "used"}, or null when
 * notification-service cannot be asked (the plan still answers). */
static void reply_plan_with_usage(struct http_request *req, bool admin_only)
{
    char id[UUID_STR_LEN];
    json_t *doc = NULL;
    struct notif_result usage;

    if (!tenant_id_param(req, id))
        return;
    if (!admin_only && !auth_can_read_tenant(http_principal(req), id)) {
        http_reply_error(req, 403, "forbidden", "You may only read your own tenant's data");
        return;
    }
    enum store_status st = store_plan_get(id, &doc);
    if (st != STORE_OK) {
        reply_store_result(req, st, doc);
        return;
    }
    json_t *value = json_null();
    if (notif_quota_usage(id, &usage) == NOTIF_OK) {
        const char *month = json_string_value(json_object_get(usage.json, "month"));
        const json_t *used = json_object_get(usage.json, "used");
        if (month && json_is_integer(used))
            value = json_pack("{s:s, s:I}", "month", month, "used", json_integer_value(used));
        else
            log_warn("notification-service's quota usage lacks month or used\ttenant=%s", id);
    }
    notif_result_free(&usage);
    json_object_set_new(doc, "usage", value);
    http_reply_json(req, 200, doc);
}

/* GET /api/v1/tenants/{id}/plan: the same document as the admin's, for whoever may read
 * the tenant's settings. */
void handle_tenant_plan_get(struct http_request *req)
{
    reply_plan_with_usage(req, false);
}

/* GET /api/v1/admin/tenants/{id}/plan */
void handle_admin_plan_get(struct http_request *req)
{
    reply_plan_with_usage(req, true);
}

/* True when s is "YYYY-MM" with a month 01-12. */
static bool is_month(const char *s)
{
    if (!s || strlen(s) != 7 || s[4] != '-' || strspn(s, "0123456789") != 4 ||
        strspn(s + 5, "0123456789") != 2)
        return false;
    int month = (s[5] - '0') * 10 + (s[6] - '0');
    return month >= 1 && month <= 12;
}

/* POST /api/v1/internal/tenants/{id}/quota-events (role service): notification-service
 * tells of a tenant crossing 80% (quota_warning) or 100% (quota_reached) of its monthly
 * quota; one audit row per tenant, event and month, however often it is told. */
void handle_internal_quota_event(struct http_request *req)
{
    char id[UUID_STR_LEN];
    json_t *body = NULL;
    bool written = false;

    if (!tenant_id_param(req, id))
        return;
    body = http_body_object(req);
    if (!body)
        return;
    static const struct json_field fields[] = {
        {"event", JK_STRING, true, 16},
        {"used", JK_INTEGER, true, 0},
        {"quota", JK_INTEGER, true, 0},
        {"month", JK_STRING, true, 7},
    };
    const char *field = NULL, *problem = NULL;
    if (!json_check_object(body, fields, sizeof fields / sizeof fields[0], false, &field,
                           &problem)) {
        http_reply_field_error(req, 422, "validation_error", field ? field : "body", "%s %s",
                               field ? field : "the body", problem);
        goto out;
    }
    const char *event = json_str(body, "event"), *month = json_str(body, "month");
    json_int_t used = json_integer_value(json_object_get(body, "used"));
    json_int_t quota = json_integer_value(json_object_get(body, "quota"));
    if (strcmp(event, "quota_warning") != 0 && strcmp(event, "quota_reached") != 0)
        field = "event", problem = "event must be quota_warning or quota_reached";
    else if (used < 0)
        field = "used", problem = "used must be >= 0";
    else if (quota < 0)
        field = "quota", problem = "quota must be >= 0";
    else if (!is_month(month))
        field = "month", problem = "month must be YYYY-MM";
    if (field) {
        http_reply_field_error(req, 422, "validation_error", field, "%s", problem);
        goto out;
    }
    char *reason = xasprintf("%s: %" JSON_INTEGER_FORMAT " of %" JSON_INTEGER_FORMAT " messages",
                             month, used, quota);
    enum store_status st = store_quota_event(id, event, http_principal(req)->sub, reason, &written);
    free(reason);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    if (written)
        log_info("quota event audited\ttenant=%s event=%s month=%s used=%" JSON_INTEGER_FORMAT
                 " quota=%" JSON_INTEGER_FORMAT,
                 id, event, month, used, quota);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:s, s:b}", "tenant_id", id, "event", event, "month",
                              month, "recorded", written));
out:
    json_decref(body);
}

/* PUT /api/v1/admin/tenants/{id}/plan: {"plan"} and/or {"quota_override"}. The whole body
 * is checked before anything is written, so a refusal changes nothing. */
void handle_admin_plan_put(struct http_request *req)
{
    char id[UUID_STR_LEN];
    json_t *body = NULL;
    struct plan_change change;
    struct plan_problem problem;
    struct store_plan_outcome done = {0};
    const struct auth_principal *who = http_principal(req);

    if (!tenant_id_param(req, id))
        goto out;
    body = http_body_object(req);
    if (!body)
        goto out;
    if (!plan_check_change(body, &change, &problem)) {
        http_reply_field_error(req, 422, "validation_error", problem.field, "%s", problem.message);
        goto out;
    }
    enum store_status st = store_plan_change(id, &change, who->sub, &done);
    if (st == STORE_OK && (done.plan_changed || done.override_changed))
        st = settings_readers_await(); /* the plan is in the settings GET */
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    if (done.plan_changed)
        log_info("plan changed\ttenant=%s plan=%s previous=%s actor=\"%s\"", id, done.new_plan,
                 done.old_plan, who->sub);
    if (done.override_changed)
        log_info("quota override changed\ttenant=%s quota_override=%ld previous=%ld actor=\"%s\"",
                 id, done.new_override, done.old_override, who->sub);
    http_reply_json(req, 200, done.plan);
    done.plan = NULL;
out:
    json_decref(done.plan);
    json_decref(body);
}
