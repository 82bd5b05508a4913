/* templates_admin.c - GET /api/v1/admin/whatsapp/templates and POST
 * /api/v1/admin/whatsapp/templates/sync: the platform admin's view of po_notification in
 * every offered language, and the button that creates the missing ones. The input is
 * checked here against common/po_template.h; notification-service, which holds the
 * token, reads and creates at Meta. */
#include <string.h>

#include "handlers.h"
#include "jsonutil.h"
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
    const char *name = http_query(req, "name"), *language = http_query(req, "language");
    struct notif_result r = {0};

    if (name && strcmp(name, PO_TEMPLATE_NAME) != 0) {
        http_reply_field_error(req, 422, "validation_error", "name",
                               "name: only " PO_TEMPLATE_NAME " is managed by the platform");
        return;
    }
    if (language && !po_text(language)) {
        http_reply_field_error(req, 422, "validation_error", "language",
                               "language must be one of es, en, eu, ca, gl");
        return;
    }
    reply_report(req, notif_template_report(language, &r), &r);
}

void handle_admin_templates_sync(struct http_request *req)
{
    static const struct json_field fields[] = {{"languages", JK_STRING_ARRAY, false, 16}};
    const char *field, *problem;
    struct notif_result r = {0};
    json_t *body = http_body_object(req);

    if (!body)
        return;
    if (!json_check_object(body, fields, 1, false, &field, &problem)) {
        http_reply_field_error(req, 422, "validation_error", field, "%s %s", field, problem);
        goto out;
    }
    size_t i;
    const json_t *v;
    json_array_foreach (json_object_get(body, "languages"), i, v) {
        if (!po_text(json_string_value(v))) {
            http_reply_field_error(req, 422, "validation_error", "languages",
                                   "languages must list codes among es, en, eu, ca, gl");
            goto out;
        }
    }
    reply_report(req, notif_template_sync(body, &r), &r);
out:
    json_decref(body);
}
