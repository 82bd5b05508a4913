/* tenant_activity.c - GET /api/v1/admin/whatsapp/tenants/{id}/activity?days=N (issue 22):
 * a bakery's WhatsApp messages of the last N days (default 30) counted by status and skip
 * reason, as notification-service, which owns the messages, counts them. */
#include "handlers.h"

#define ACTIVITY_DEFAULT_DAYS 30
#define ACTIVITY_MAX_DAYS 366

void handle_admin_tenant_activity(struct http_request *req)
{
    char id[UUID_STR_LEN];
    long days = ACTIVITY_DEFAULT_DAYS;
    struct notif_result r = {0};

    if (!tenant_id_param(req, id) || !query_count_or_reply(req, "days", ACTIVITY_MAX_DAYS, &days) ||
        !tenant_exists_or_reply(req, id))
        return;
    reply_notif_read(req, notif_activity(id, days, &r), &r);
}
