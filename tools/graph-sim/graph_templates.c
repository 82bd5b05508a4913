/* graph_templates.c - GET and POST /{version}/{waba}/message_templates. */
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "graph.h"
#include "graph_error.h"
#include "paging.h"
#include "phones.h"
#include "settings.h"
#include "sim.h"
#include "strlist.h"
#include "templates.h"

/* Answers for a node other than the WABA; returns true when it did. */
static bool not_the_waba(struct http_request *req)
{
    struct sim_phone probe;
    const char *id = http_param(req, "node");
    if (strcmp(id, sim_cfg.waba_id) == 0)
        return false;
    if (phones_get(id, &probe))
        graph_unknown_field(req, "message_templates", "WhatsAppBusinessPhoneNumber");
    else
        graph_unknown_object(req, id);
    return true;
}

void graph_handle_templates_get(struct http_request *req)
{
    static const char *const keep[] = {"fields", "name", "language", "status", "category", NULL};
    unsigned mask = TF_DEFAULT;
    char bad[72];

    if (graph_begin(req) || not_the_waba(req))
        return;
    const char *fields = http_query(req, "fields");
    if (fields && !templates_parse_fields(fields, &mask, bad, sizeof bad)) {
        graph_unknown_field(req, bad, "WhatsAppMessageTemplate");
        return;
    }
    json_t *items = templates_list(http_query(req, "name"), http_query(req, "language"),
                                   http_query(req, "status"), http_query(req, "category"), mask);
    json_t *page = paging_page(req, items, keep);
    if (page)
        gerr_reply_json(req, 200, page);
}

void graph_handle_templates_post(struct http_request *req)
{
    struct tpl_info info;
    char err[256];
    size_t len;
    json_t *body = NULL;

    if (graph_begin(req) || not_the_waba(req))
        return;
    const char *raw = http_body(req, &len);
    body = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(body)) {
        gerr_reply(req, 100, "The request body must be a JSON object");
        goto out;
    }
    /* With a review delay the template is PENDING until then, and then APPROVED, or
     * REJECTED when its language is in the rejected list; the decision is announced by
     * message_template_status_update. Without one it is decided now (the default). */
    struct sim_settings set;
    settings_get(&set);
    const char *lang = json_string_value(json_object_get(body, "language"));
    bool rejected = lang && strlist_has(set.reject_languages, lang);
    struct tpl_review review = {set.template_review_ms, rejected ? set.reject_reason : NULL};
    const char *outcome = rejected                                                      ? "REJECTED"
                          : set.template_review_ms > 0 || sim_cfg.template_auto_approve ? "APPROVED"
                                                                                        : "PENDING";
    int rc = templates_create(body, false, outcome, &review, &info, err, sizeof err);
    if (rc == -2) {
        gerr_reply_ex(req, 400, 100, 2388024, NULL, "(#100) Invalid parameter", err);
        goto out;
    }
    if (rc != 0) {
        gerr_reply(req, 100, "%s", err);
        goto out;
    }
    if (set.template_review_ms > 0) {
        struct tpl_info decided = info;
        snprintf(decided.status, sizeof decided.status, "%s", outcome);
        events_template_status(json_string_value(json_object_get(body, "name")), lang, &decided,
                               rejected ? set.reject_reason : NULL, set.template_review_ms);
    }
    gerr_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:s}", "id", info.id, "status", info.status, "category",
                              info.category));
out:
    json_decref(body);
}
