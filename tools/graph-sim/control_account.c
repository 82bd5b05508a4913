/* control_account.c - /_sim/ endpoints about the account's state and its announcements:
 * account-level webhooks on demand, and changes of a template or a number that show in
 * the Graph API and are announced by the webhook Meta sends for them. */
#include <stdio.h>
#include <string.h>

#include "control.h"
#include "events.h"
#include "jsonutil.h"
#include "phones.h"
#include "templates.h"
#include "webhook.h"

void control_handle_account_events(struct http_request *req)
{
    char err[320];
    json_t *body = http_body_object(req);
    if (!body)
        return;
    int rc = events_emit(body, err, sizeof err);
    if (rc == -2)
        http_reply_error(req, 409, "no_webhook_url",
                         "No webhook URL is set (GRAPH_SIM_WEBHOOK_URL or /_sim/settings)");
    else if (rc != 0)
        http_reply_error(req, 422, "invalid_value", "%s", err);
    else
        http_reply_json(req, 200, json_pack("{s:b}", "success", 1));
    json_decref(body);
}

void control_handle_template_update(struct http_request *req)
{
    static const struct json_field fields[] = {
        {"name", JK_STRING, true, 512},    {"language", JK_STRING, true, 15},
        {"status", JK_STRING, false, 15},  {"reason", JK_STRING, false, 63},
        {"quality", JK_STRING, false, 11}, {"category", JK_STRING, false, 23},
    };
    char err[256];
    struct tpl_info before, after;
    json_t *body = control_checked_body(req, fields, sizeof fields / sizeof fields[0]);
    if (!body)
        return;
    const char *name = json_str(body, "name"), *lang = json_str(body, "language");
    struct tpl_change c = {json_str(body, "status"), json_str(body, "reason"),
                           json_str(body, "quality"), json_str(body, "category")};
    int rc = templates_update(name, lang, &c, &before, &after, err, sizeof err);
    if (rc == -1) {
        http_reply_error(req, 404, "unknown_template", "No template %s in %s", name, lang);
        goto out;
    }
    if (rc != 0) {
        http_reply_error(req, 422, "invalid_value", "%s", err);
        goto out;
    }
    if (c.status)
        events_template_status(name, lang, &after, c.reason, 0);
    if (c.quality && strcmp(before.quality, after.quality) != 0)
        events_template_quality(name, lang, &after, before.quality);
    if (c.category && strcmp(before.category, after.category) != 0)
        events_template_category(name, lang, &after, before.category);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", after.id, "name", name,
                              "language", lang, "status", after.status, "category", after.category,
                              "quality", after.quality));
out:
    json_decref(body);
}

static int quality_rank(const char *q)
{
    return strcmp(q, "GREEN") == 0    ? 3
           : strcmp(q, "YELLOW") == 0 ? 2
           : strcmp(q, "RED") == 0    ? 1
                                      : 0;
}

/* The phone_number_quality_update event a change implies (NULL = none). */
static const char *implied_event(const struct sim_phone *b, const struct sim_phone *a)
{
    if (strcmp(a->status, b->status) != 0) {
        if (strcmp(a->status, "FLAGGED") == 0)
            return "FLAGGED";
        if (strcmp(b->status, "FLAGGED") == 0)
            return "UNFLAGGED";
    }
    if (quality_rank(a->quality_rating) < quality_rank(b->quality_rating))
        return "DOWNGRADE";
    if (quality_rank(a->quality_rating) > quality_rank(b->quality_rating))
        return "UPGRADE";
    if (strcmp(a->throughput_level, "HIGH") == 0 && strcmp(b->throughput_level, "HIGH") != 0)
        return "THROUGHPUT_UPGRADE";
    return NULL;
}

void control_handle_phone_update(struct http_request *req)
{
    static const struct json_field fields[] = {
        {"phone_number_id", JK_STRING, true, 31},   {"quality_rating", JK_STRING, false, 15},
        {"status", JK_STRING, false, 23},           {"name_status", JK_STRING, false, 23},
        {"throughput_level", JK_STRING, false, 15}, {"event", JK_STRING, false, 31},
    };
    char err[320];
    struct sim_phone before, after;
    json_t *body = control_checked_body(req, fields, sizeof fields / sizeof fields[0]);
    if (!body)
        return;
    struct phone_change c = {json_str(body, "quality_rating"), json_str(body, "status"),
                             json_str(body, "name_status"), json_str(body, "throughput_level")};
    int rc = phones_update(json_str(body, "phone_number_id"), &c, &before, &after, err, sizeof err);
    if (rc == -1) {
        http_reply_field_error(req, 404, "unknown_phone_number", "phone_number_id",
                               "No phone number with this id in the WABA");
        goto out;
    }
    if (rc != 0) {
        http_reply_error(req, 422, "invalid_value", "%s", err);
        goto out;
    }
    const char *event =
        json_str(body, "event") ? json_str(body, "event") : implied_event(&before, &after);
    if (event)
        events_phone_quality(&after, event);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", after.id, "quality_rating",
                              after.quality_rating, "status", after.status, "name_status",
                              after.name_status, "event",
                              event ? json_string(event) : json_null()));
out:
    json_decref(body);
}
