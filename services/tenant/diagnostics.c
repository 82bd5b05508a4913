/* diagnostics.c - the seed's "Tenant doesn't receive WhatsApp messages" checklist run for
 * one tenant: each check answers ok or not with what it found and a one-line fix. The
 * checks that need the WABA ask notification-service; when it is down they say so and
 * the answer is still 200, since that is itself the diagnosis. */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "handlers.h"
#include "jsonutil.h"

#define TEMPLATE_NAME "po_notification"
#define FIX_UNREACHABLE "start notification-service / check NOTIFICATION_SERVICE_URL"
#define FIX_UPSTREAM                                                                               \
    "check notification-service's log and its GET /ready (the Graph API may be failing)"

struct diag {
    const char *tenant_id;
    const json_t *settings;
    json_t *checks; /* owned */
    bool all_ok;
    /* once a call finds notification-service unreachable the others are not tried, so a
     * hanging peer costs one timeout, not three */
    bool upstream_down;
    char upstream_error[512];
};

/* Appends a check; fix is dropped (null) when ok. Returns the check object (borrowed). */
static json_t *add(struct diag *d, const char *name, bool ok, const char *detail, const char *fix)
{
    json_t *check = json_pack("{s:s, s:b, s:s, s:s?}", "name", name, "ok", ok, "detail", detail,
                              "fix", ok ? NULL : fix);
    json_array_append_new(d->checks, check);
    d->all_ok = d->all_ok && ok;
    return check;
}

enum upstream_call { CALL_PHONE_NUMBERS, CALL_CONFIG_STATUS, CALL_TEMPLATES };

/* Asks notification-service, unless an earlier call found it unreachable. */
static enum notif_status call(struct diag *d, enum upstream_call which, struct notif_result *r)
{
    enum notif_status st = NOTIF_UNREACHABLE;
    if (d->upstream_down) {
        memset(r, 0, sizeof(*r));
        snprintf(r->error, sizeof r->error, "%s", d->upstream_error);
        return st;
    }
    switch (which) {
    case CALL_PHONE_NUMBERS:
        st = notif_phone_numbers(r);
        break;
    case CALL_CONFIG_STATUS:
        st = notif_config_status(r);
        break;
    case CALL_TEMPLATES:
        st = notif_templates(TEMPLATE_NAME, r);
        break;
    }
    if (st == NOTIF_UNREACHABLE) {
        d->upstream_down = true;
        snprintf(d->upstream_error, sizeof d->upstream_error, "%s", r->error);
    }
    return st;
}

static json_t *add_upstream_failure(struct diag *d, const char *name, enum notif_status st,
                                    const struct notif_result *r)
{
    return add(d, name, false, r->error, st == NOTIF_UNREACHABLE ? FIX_UNREACHABLE : FIX_UPSTREAM);
}

static void check_enabled(struct diag *d)
{
    bool whatsapp = json_is_true(json_object_get(d->settings, "whatsapp_enabled"));
    bool po = !json_is_false(json_object_get(d->settings, "enable_po_notifications"));
    char *fix = xasprintf("the bakery's owner turns it on in Settings > Notifications "
                          "(PUT /api/v1/tenants/%s/settings/notifications "
                          "{\"whatsapp_enabled\": true, \"enable_po_notifications\": true})",
                          d->tenant_id);
    if (!whatsapp)
        add(d, "whatsapp_enabled", false,
            "WhatsApp is disabled in the tenant's notification settings", fix);
    else if (!po)
        add(d, "whatsapp_enabled", false,
            "WhatsApp is enabled but purchase-order notifications are off", fix);
    else
        add(d, "whatsapp_enabled", true, "WhatsApp and purchase-order notifications are enabled",
            NULL);
    free(fix);
}

static char *assign_fix(const struct diag *d)
{
    return xasprintf("assign a number on /app/admin/whatsapp "
                     "(POST /api/v1/admin/whatsapp/tenants/%s/assign-phone)",
                     d->tenant_id);
}

static void check_phone_assigned(struct diag *d, const char *phone_id, const char *display)
{
    char *fix = assign_fix(d);
    char *detail;
    if (phone_id[0])
        detail = xasprintf("Phone number %s (id %s) is assigned to this tenant",
                           display[0] ? display : phone_id, phone_id);
    else
        detail = xstrdup("No phone number is assigned: messages would go out from the "
                         "platform's default number");
    add(d, "phone_assigned", phone_id[0] != '\0', detail, fix);
    free(detail);
    free(fix);
}

static void check_phone_in_waba(struct diag *d, const char *phone_id)
{
    static const char name[] = "phone_in_waba";
    struct notif_result r = {0};
    char *detail = NULL;
    char *fix = assign_fix(d);
    json_t *check;

    if (!phone_id[0]) {
        check =
            add(d, name, false, "No phone number is assigned, so none to look up in the WABA", fix);
        json_object_set_new(check, "quality_rating", json_null());
        goto out;
    }
    enum notif_status st = call(d, CALL_PHONE_NUMBERS, &r);
    if (st != NOTIF_OK) {
        check = add_upstream_failure(d, name, st, &r);
        json_object_set_new(check, "quality_rating", json_null());
        goto out;
    }
    const json_t *phone = notif_find_phone(r.json, phone_id);
    if (!phone) {
        detail = xasprintf("Phone number id %s is not in the WhatsApp Business Account any more",
                           phone_id);
        check = add(d, name, false, detail, fix);
        json_object_set_new(check, "quality_rating", json_null());
        goto out;
    }
    const char *rating = json_str(phone, "quality_rating");
    if (!rating)
        rating = "UNKNOWN";
    if (strcmp(rating, "RED") == 0) {
        detail = xasprintf("Phone number id %s is in the WABA, but its quality rating is RED: "
                           "Meta severely restricts what it may send",
                           phone_id);
        check = add(d, name, false, detail,
                    "review the number's quality in WhatsApp Manager (blocks, reports, opt-outs) "
                    "or assign a number rated GREEN on /app/admin/whatsapp");
    } else {
        detail = xasprintf(
            "Phone number id %s is in the WABA with quality rating %s%s", phone_id, rating,
            strcmp(rating, "YELLOW") == 0 ? ": Meta may lower its messaging limits" : "");
        check = add(d, name, true, detail, NULL);
    }
    json_object_set_new(check, "quality_rating", json_string(rating));
out:
    notif_result_free(&r);
    free(detail);
    free(fix);
}

/* "A, B" of the strings of array; the caller frees it. */
static char *joined(const json_t *array)
{
    struct buf b = {0};
    size_t i;
    const json_t *item;
    json_array_foreach (array, i, item) {
        if (!json_is_string(item))
            continue;
        buf_printf(&b, "%s%s", b.len ? ", " : "", json_string_value(item));
    }
    return b.data ? buf_steal(&b) : xstrdup("");
}

static void check_master_credentials(struct diag *d)
{
    static const char name[] = "master_credentials";
    struct notif_result r = {0};
    char *detail = NULL;

    enum notif_status st = call(d, CALL_CONFIG_STATUS, &r);
    if (st != NOTIF_OK) {
        add_upstream_failure(d, name, st, &r);
        goto out;
    }
    const json_t *cs = r.json;
    if (!json_is_true(json_object_get(cs, "credentials_configured"))) {
        char *missing = joined(json_object_get(cs, "missing"));
        detail = xasprintf("notification-service lacks the master account's %s",
                           missing[0] ? missing : "credentials");
        free(missing);
        add(d, name, false, detail,
            "set WHATSAPP_BUSINESS_ACCOUNT_ID, WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID "
            "in notification-service's environment and restart it");
    } else if (json_is_false(json_object_get(cs, "enabled"))) {
        add(d, name, false,
            "ENABLE_WHATSAPP_NOTIFICATIONS is false: notification-service skips every WhatsApp "
            "message",
            "set ENABLE_WHATSAPP_NOTIFICATIONS=true for notification-service and restart it");
    } else if (json_is_true(json_object_get(cs, "sending_paused"))) {
        const char *why = json_str(cs, "paused_reason");
        detail = xasprintf("Sending is paused: %s", why ? why : "no reason given");
        add(d, name, false, detail,
            "renew WHATSAPP_ACCESS_TOKEN (a System User token) and restart notification-service; "
            "queued messages go out once a send succeeds");
    } else {
        add(d, name, true, "The master account's credentials are configured and sending is active",
            NULL);
    }
out:
    notif_result_free(&r);
    free(detail);
}

static void check_template(struct diag *d)
{
    static const char name[] = "template_approved";
    struct notif_result r = {0};
    char *detail = NULL;
    char *fix = NULL;
    json_t *languages = json_array();
    const json_t *found = NULL;
    size_t i;
    const json_t *t;

    const char *lang = json_str(d->settings, "whatsapp_default_language");
    if (!lang || !lang[0])
        lang = "es";
    enum notif_status st = call(d, CALL_TEMPLATES, &r);
    if (st != NOTIF_OK) {
        add_upstream_failure(d, name, st, &r);
        goto out;
    }
    json_array_foreach (r.json, i, t) {
        const char *tl = json_str(t, "language");
        const char *tn = json_str(t, "name");
        if (!tl || !tn || strcmp(tn, TEMPLATE_NAME) != 0)
            continue;
        json_array_append_new(languages, json_string(tl));
        if (strcmp(tl, lang) == 0)
            found = t;
    }
    const char *status = found ? json_str(found, "status") : NULL;
    if (!found) {
        char *have = joined(languages);
        detail = xasprintf("Template %s has no \"%s\" version in the WABA (languages: %s)",
                           TEMPLATE_NAME, lang, have[0] ? have : "none");
        free(have);
        fix = xasprintf("create %s in \"%s\" (category UTILITY) in WhatsApp Manager and wait "
                        "for Meta's approval, or change the tenant's whatsapp_default_language",
                        TEMPLATE_NAME, lang);
        add(d, name, false, detail, fix);
    } else if (status && strcmp(status, "APPROVED") == 0) {
        detail = xasprintf("Template %s is approved in \"%s\"", TEMPLATE_NAME, lang);
        add(d, name, true, detail, NULL);
    } else {
        detail = xasprintf("Template %s in \"%s\" is %s, not APPROVED", TEMPLATE_NAME, lang,
                           status ? status : "of unknown status");
        if (status && strcmp(status, "PENDING") == 0)
            fix = xstrdup("wait for Meta's review (15 minutes to 24 hours)");
        else
            fix = xasprintf("fix %s in WhatsApp Manager and submit it again", TEMPLATE_NAME);
        add(d, name, false, detail, fix);
    }
out:
    json_decref(languages);
    notif_result_free(&r);
    free(detail);
    free(fix);
}

void handle_admin_diagnostics(struct http_request *req)
{
    char id[UUID_STR_LEN];
    char *tenant_name = NULL;
    json_t *settings = NULL;
    struct diag d;

    memset(&d, 0, sizeof d);
    if (!tenant_id_param(req, id))
        goto out;
    enum store_status st = store_tenant_settings(id, &tenant_name, &settings);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    const char *phone_id = json_str(settings, "whatsapp_phone_number_id");
    const char *display = json_str(settings, "whatsapp_display_phone_number");
    d.tenant_id = id;
    d.settings = settings;
    d.checks = json_array();
    d.all_ok = true;
    check_enabled(&d);
    check_phone_assigned(&d, phone_id ? phone_id : "", display ? display : "");
    check_phone_in_waba(&d, phone_id ? phone_id : "");
    check_master_credentials(&d);
    check_template(&d);
    http_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:b, s:o}", "tenant_id", id, "tenant_name", tenant_name,
                              "ok", d.all_ok, "checks", d.checks));
    d.checks = NULL;
out:
    json_decref(d.checks);
    json_decref(settings);
    free(tenant_name);
}
