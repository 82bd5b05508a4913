/* templates_admin.c - GET /api/v1/admin/whatsapp/templates and POST
 * /api/v1/admin/whatsapp/templates/sync: the platform admin's view of po_notification in
 * every offered language, and the button that creates the missing ones. The input is
 * checked here against common/po_template.h; notification-service, which holds the
 * token, reads and creates at Meta. */
#include <string.h>

#include "handlers.h"
#include "notification_client.h"
#include "po_template.h"

/* Answers notification-service's report, or why it could not be had. */
static void reply_report(struct http_request *req, enum notif_status st, struct notif_result *r)
{
    if (st == NOTIF_OK) {
        http_reply_json(req, 200, r->json);
        r->json = NULL; /* the reply took it */
    } else {
        reply_upstream_failure(req, st, r);
    }
    notif_result_free(r);
}

void handle_admin_templates(struct http_request *req)
{
    const char *message;
    struct notif_result r = {0};
    const char *language = http_query(req, "language");
    const char *field = po_template_query_problem(http_query(req, "name"), language, &message);
    if (field) {
        http_reply_field_error(req, 422, "validation_error", field, "%s", message);
        return;
    }
    reply_report(req, notif_template_report(language, &r), &r);
}

void handle_admin_templates_sync(struct http_request *req)
{
    const char *message;
    struct notif_result r = {0};
    json_t *body = http_body_object(req);
    if (!body)
        return;
    const char *field = po_template_sync_problem(body, &message);
    if (field)
        http_reply_field_error(req, 422, "validation_error", field, "%s", message);
    else
        reply_report(req, notif_template_sync(body, &r), &r);
    json_decref(body);
}
