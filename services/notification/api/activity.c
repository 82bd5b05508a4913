/* activity.c - GET /api/v1/whatsapp/activity?tenant_id=UUID&days=N (issue 22): a tenant's
 * WhatsApp messages of the last N days (default 30; rows older than the retention are
 * gone) counted by status and skip reason, for the console's bakery details. */
#include "config.h"
#include "api/activity_store.h"
#include "api/handlers.h"
#include "uuidutil.h"

#define ACTIVITY_DEFAULT_DAYS 30
#define ACTIVITY_MAX_DAYS 366

void handle_activity(struct http_request *req)
{
    char id[UUID_STR_LEN];
    long days = ACTIVITY_DEFAULT_DAYS;
    json_t *doc = NULL;

    if (!uuid_is_valid(http_query(req, "tenant_id"), id)) {
        http_reply_field_error(req, 422, "validation_error", "tenant_id",
                               "tenant_id must be a UUID");
        return;
    }
    const char *s = http_query(req, "days");
    if (s && !cfg_parse_long(s, 1, ACTIVITY_MAX_DAYS, &days)) {
        http_reply_field_error(req, 422, "validation_error", "days",
                               "days must be an integer from 1 to %d", ACTIVITY_MAX_DAYS);
        return;
    }
    enum db_status st = activity_store_count(id, days, &doc);
    if (st != DB_OK) {
        reply_db_failure(req, st, "counting the tenant's messages");
        return;
    }
    http_reply_json(req, 200, doc);
}
