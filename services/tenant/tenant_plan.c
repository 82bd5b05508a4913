/* tenant_plan.c - a tenant's WhatsApp plan and monthly quota (issue 20): the platform
 * admin reads and changes it (every change audited), the tenant's own users and services
 * read it. The plans themselves are in plans.c; the plan reaches notification-service
 * with the settings (store.c, migration 0004). */
#include "handlers.h"
#include "log.h"
#include "plans.h"

/* GET /api/v1/tenants/{id}/plan: the same document as the admin's, for whoever may read
 * the tenant's settings. The month's usage (notification-service's count against the
 * quota, whatsapp_quota_usage of its migration 0012) is not built yet: when it is, it is
 * asked of notification-service here and joins this answer as its own key. */
void handle_tenant_plan_get(struct http_request *req)
{
    reply_tenant_document(req, store_plan_get);
}

/* GET /api/v1/admin/tenants/{id}/plan */
void handle_admin_plan_get(struct http_request *req)
{
    reply_tenant_document(req, store_plan_get);
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
