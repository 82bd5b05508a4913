/* whatsapp_languages.c - GET /api/v1/tenants/{id}/whatsapp/languages: the languages a
 * bakery may pick for its messages (common/po_template.c, in that order), each with
 * Meta's status of the po_notification template in it, so the owner's card offers only
 * what can be sent. When notification-service cannot say, every language is offered
 * and marked unknown (docs/decisions.md, issue 19). */
#include <string.h>

#include "handlers.h"
#include "po_template.h"

/* Meta's status of po_notification in language, from notification-service's list: a new
 * string, "MISSING" when the account has no such template, null when Graph gave none.
 * Meta keeps one template per name and language; should two come, APPROVED wins. */
static json_t *template_status(const json_t *templates, const char *language)
{
    const json_t *found = NULL;
    size_t i;
    const json_t *item;
    json_array_foreach (templates, i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *lang = json_string_value(json_object_get(item, "language"));
        if (!name || !lang || strcmp(name, PO_TEMPLATE_NAME) != 0 || strcmp(lang, language) != 0)
            continue;
        const char *status = json_string_value(json_object_get(item, "status"));
        if (!found || (status && strcmp(status, "APPROVED") == 0))
            found = item;
    }
    if (!found)
        return json_string("MISSING");
    const char *status = json_string_value(json_object_get(found, "status"));
    return status ? json_string(status) : json_null();
}

void handle_tenant_languages(struct http_request *req)
{
    char id[UUID_STR_LEN];
    json_t *tenant = NULL;
    struct notif_result templates = {0};

    if (!tenant_id_param(req, id))
        return;
    if (!auth_can_read_tenant(http_principal(req), id)) {
        http_reply_error(req, 403, "forbidden", "You may only read your own tenant's data");
        return;
    }
    enum store_status st = store_tenant_get(id, &tenant);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    /* Any failure (unreachable, Graph down, credentials missing) is logged by the client
     * and leaves the statuses unknown rather than refusing the card its list. */
    bool known = notif_templates(PO_TEMPLATE_NAME, &templates) == NOTIF_OK;
    json_t *languages = json_array();
    for (size_t i = 0; i < po_texts_count; i++) {
        json_t *status =
            known ? template_status(templates.json, po_texts[i].language) : json_null();
        const char *s = json_string_value(status);
        bool available = !known || (s && strcmp(s, "APPROVED") == 0);
        json_array_append_new(languages,
                              json_pack("{s:s, s:s, s:o, s:b}", "code", po_texts[i].language,
                                        "name", po_texts[i].name, "template_status", status,
                                        "available", available));
    }
    http_reply_json(
        req, 200, json_pack("{s:o, s:b}", "languages", languages, "template_status_known", known));
out:
    notif_result_free(&templates);
    json_decref(tenant);
}
