/* whatsapp_sender.c - GET /api/v1/tenants/{id}/whatsapp/sender: where a bakery's orders
 * actually go out from, as the owner's card and the admin page show it. It applies the
 * sender choice of notification-service (DESIGN.md section 6): nothing while WhatsApp is
 * off for the bakery or for the platform; the bakery's own number when it has one; the
 * platform's default number (WHATSAPP_PHONE_NUMBER_ID) otherwise; nowhere when there is
 * none. */
#include <string.h>

#include "handlers.h"
#include "jsonutil.h"

static json_t *str_or_null(const json_t *obj, const char *key)
{
    const char *s = json_str(obj, key);
    return s && *s ? json_string(s) : json_null();
}

void handle_tenant_sender(struct http_request *req)
{
    char id[UUID_STR_LEN];
    json_t *settings = NULL;
    struct notif_result phones = {0}, status = {0};

    if (!tenant_id_param(req, id))
        return;
    if (!auth_can_read_tenant(http_principal(req), id)) {
        http_reply_error(req, 403, "forbidden", "You may only read your own tenant's data");
        return;
    }
    enum store_status st = store_settings_get(id, &settings);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        return;
    }
    bool enabled = json_is_true(json_object_get(settings, "whatsapp_enabled"));
    const char *assigned = json_str(settings, "whatsapp_phone_number_id");
    bool has_own = assigned && *assigned;

    /* The platform's switch and numbers are notification-service's to say. */
    enum notif_status ns = notif_config_status(&status);
    if (ns == NOTIF_OK)
        ns = notif_phone_numbers(&phones);
    if (ns != NOTIF_OK && enabled && !has_own) {
        /* without it nobody can say where these orders go */
        reply_upstream_failure(req, ns, ns == NOTIF_OK ? &phones : &status);
        goto out;
    }
    bool platform_on = ns != NOTIF_OK || json_is_true(json_object_get(status.json, "enabled"));
    const json_t *number = NULL;
    const char *state;
    if (!platform_on) {
        state = "platform_disabled";
    } else if (!enabled) {
        state = "off";
    } else if (has_own) {
        state = "assigned";
        number = notif_find_phone(phones.json, assigned);
    } else {
        number = notif_default_phone(phones.json);
        state = number ? "platform" : "none";
    }
    json_t *out = json_pack("{s:s, s:b, s:b, s:s}", "tenant_id", id, "whatsapp_enabled", enabled,
                            "platform_sending_enabled", platform_on, "state", state);
    bool sends = strcmp(state, "assigned") == 0 || strcmp(state, "platform") == 0;
    if (strcmp(state, "assigned") == 0 && !number) {
        /* notification-service unreachable: what the settings say */
        json_object_set_new(out, "phone_number_id", json_string(assigned));
        json_object_set_new(out, "display_phone_number",
                            str_or_null(settings, "whatsapp_display_phone_number"));
        json_object_set_new(out, "verified_name", json_null());
        json_object_set_new(out, "quality_rating", json_null());
    } else {
        json_object_set_new(out, "phone_number_id",
                            sends ? str_or_null(number, "id") : json_null());
        json_object_set_new(out, "display_phone_number",
                            sends ? str_or_null(number, "display_phone_number") : json_null());
        json_object_set_new(out, "verified_name",
                            sends ? str_or_null(number, "verified_name") : json_null());
        json_object_set_new(out, "quality_rating",
                            sends ? str_or_null(number, "quality_rating") : json_null());
    }
    http_reply_json(req, 200, out);
out:
    notif_result_free(&phones);
    notif_result_free(&status);
    json_decref(settings);
}
