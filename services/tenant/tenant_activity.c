/* tenant_activity.c - GET /api/v1/admin/whatsapp/tenants/{id}/activity?days=N (issue 22):
 * a bakery's WhatsApp messages of the last N days (default 30) counted by status and skip
 * reason, as notification-service, which owns the messages, counts them. */
#include "config.h"
#include "handlers.h"

#define ACTIVITY_DEFAULT_DAYS 30
#define ACTIVITY_MAX_DAYS 366

void handle_admin_tenant_activity(struct http_request *req)
{
    char id[UUID_STR_LEN];
    long days = ACTIVITY_DEFAULT_DAYS;
    struct notif_result r = {0};

    if (!tenant_id_param(req, id))
        return;
    const char *s = http_query(req, "days");
    if (s && !cfg_parse_long(s, 1, ACTIVITY_MAX_DAYS, &days)) {
        http_reply_field_error(req, 422, "validation_error", "days",
                               "days must be an integer from 1 to %d", ACTIVITY_MAX_DAYS);
        return;
    }
    if (!tenant_exists_or_reply(req, id))
        return;
    enum notif_status ns = notif_activity(id, days, &r);
    if (ns != NOTIF_OK) {
        reply_upstream_failure(req, ns, &r);
        goto out;
    }
    http_reply_json(req, 200, r.json);
    r.json = NULL;
out:
    notif_result_free(&r);
}
