/* quota_usage.c - GET /api/v1/whatsapp/quota-usage?tenant_id=UUID (issue 20): a tenant's
 * WhatsApp quota units taken this month in BILLING_TIMEZONE, as the workers count them
 * (whatsapp_quota_usage, outbox.c). tenant-service shows it beside the plan. */
#include "app.h"
#include "api/handlers.h"
#include "api/store.h"
#include "uuidutil.h"

void handle_quota_usage(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    char id[UUID_STR_LEN], month[8];
    long used = 0;

    if (!uuid_is_valid(http_query(req, "tenant_id"), id)) {
        http_reply_field_error(req, 422, "validation_error", "tenant_id",
                               "tenant_id must be a UUID");
        return;
    }
    enum db_status st = store_quota_usage(id, cfg->billing_timezone, month, &used);
    if (st != DB_OK) {
        reply_db_failure(req, st, "reading the quota usage");
        return;
    }
    http_reply_json(
        req, 200,
        json_pack("{s:s, s:s, s:I}", "tenant_id", id, "month", month, "used", (json_int_t)used));
}
