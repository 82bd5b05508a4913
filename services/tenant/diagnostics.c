/* diagnostics.c - the seed's "Tenant doesn't receive WhatsApp messages" checklist run for
 * one tenant: each check answers ok or not with what it found and a one-line fix. What
 * the WABA says (numbers, templates, whether the account sends) comes from one source,
 * notification-service's health (GET /api/v1/whatsapp/health), asked once per request;
 * its parts for this tenant's number and template are attached as they are. When
 * notification-service is down the checks that need it say so and the answer is still
 * 200, since that is itself the diagnosis. */
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
    const char *language; /* the tenant's template language; borrowed from settings */
    json_t *checks;       /* owned */
    bool all_ok;
    enum notif_status health_st;
    struct notif_result health; /* notification-service's health; json set when NOTIF_OK */
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

/* A failed check for want of the health: notification-service's failure (why), or
 * Graph's as notification-service reports it. */
static json_t *add_upstream_failure(struct diag *d, const char *name, const char *why)
{
    return add(d, name, false, why,
               d->health_st == NOTIF_UNREACHABLE ? FIX_UNREACHABLE : FIX_UPSTREAM);
}

/* The health's phone_numbers or templates (borrowed), or NULL with the reason in why
 * (a new string the caller frees) when there is none to judge by: notification-service
 * failed, or Graph did and nothing was cached. */
static const json_t *health_list(const struct diag *d, const char *key, char **why)
{
    *why = NULL;
    if (d->health_st != NOTIF_OK) {
        *why = xstrdup(d->health.error);
        return NULL;
    }
    const json_t *list = json_object_get(d->health.json, key);
    const char *graph_error = json_str(json_object_get(d->health.json, "graph"), "error");
    if (json_array_size(list) == 0 && graph_error) {
        *why = xasprintf("notification-service could not read the WABA through the Graph API: %s",
                         graph_error);
        return NULL;
    }
    if (!json_is_array(list)) {
        *why = xstrdup("notification-service's health has no list of the WABA");
        return NULL;
    }
    return list;
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
    char *detail = NULL;
    char *why = NULL;
    char *fix = assign_fix(d);
    json_t *check;

    if (!phone_id[0]) {
        check =
            add(d, name, false, "No phone number is assigned, so none to look up in the WABA", fix);
        json_object_set_new(check, "quality_rating", json_null());
        goto out;
    }
    const json_t *list = health_list(d, "phone_numbers", &why);
    if (!list) {
        check = add_upstream_failure(d, name, why);
        json_object_set_new(check, "quality_rating", json_null());
        goto out;
    }
    const json_t *phone = notif_find_phone(list, phone_id);
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
    free(why);
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

/* A pause after a token error needs a new token; any other (the account restricted,
 * locked, unpaid, over a limit) needs Meta's side fixed first. */
static char *pause_fix(const json_t *pause)
{
    const json_t *code = json_object_get(pause, "code");
    json_int_t c = json_integer_value(code);
    if (json_is_integer(code) && (c == 0 || c == 190))
        return xstrdup("renew WHATSAPP_ACCESS_TOKEN (a System User token) and restart "
                       "notification-service; queued messages go out once a send succeeds");
    return xstrdup("fix what Meta reports in WhatsApp Manager (payment method, restriction, "
                   "limits); queued messages go out once notification-service's probe succeeds, "
                   "or at once after POST /api/v1/admin/whatsapp/resume on notification-service");
}

static void check_master_credentials(struct diag *d)
{
    static const char name[] = "master_credentials";
    char *detail = NULL;

    if (d->health_st != NOTIF_OK) {
        add_upstream_failure(d, name, d->health.error);
        return;
    }
    const json_t *account = json_object_get(d->health.json, "account");
    const char *state = json_str(account, "state");
    if (!state)
        state = "unknown";
    if (json_array_size(json_object_get(account, "missing")) > 0) {
        char *missing = joined(json_object_get(account, "missing"));
        detail = xasprintf("notification-service lacks the master account's %s", missing);
        free(missing);
        add(d, name, false, detail,
            "set WHATSAPP_BUSINESS_ACCOUNT_ID, WHATSAPP_ACCESS_TOKEN and WHATSAPP_PHONE_NUMBER_ID "
            "in notification-service's environment and restart it");
    } else if (strcmp(state, "disabled") == 0) {
        add(d, name, false,
            "ENABLE_WHATSAPP_NOTIFICATIONS is false: notification-service skips every WhatsApp "
            "message",
            "set ENABLE_WHATSAPP_NOTIFICATIONS=true for notification-service and restart it");
    } else if (strcmp(state, "paused") == 0) {
        const json_t *pause = json_object_get(account, "paused");
        const char *why = json_str(pause, "reason");
        char *fix = pause_fix(pause);
        detail =
            xasprintf("Sending is paused for the whole account: %s", why ? why : "no reason given");
        add(d, name, false, detail, fix);
        free(fix);
    } else if (strcmp(state, "sending") == 0) {
        add(d, name, true, "The master account's credentials are configured and sending is active",
            NULL);
    } else {
        detail = xasprintf("notification-service reports the account as %s", state);
        add(d, name, false, detail, FIX_UPSTREAM);
    }
    free(detail);
}

static void check_template(struct diag *d)
{
    static const char name[] = "template_approved";
    char *detail = NULL;
    char *fix = NULL;
    char *why = NULL;
    json_t *languages = json_array();
    const json_t *found = NULL;
    size_t i;
    const json_t *t;

    const json_t *list = health_list(d, "templates", &why);
    if (!list) {
        add_upstream_failure(d, name, why);
        goto out;
    }
    json_array_foreach (list, i, t) {
        const char *tl = json_str(t, "language");
        const char *tn = json_str(t, "name");
        if (!tl || !tn || strcmp(tn, TEMPLATE_NAME) != 0)
            continue;
        json_array_append_new(languages, json_string(tl));
        if (strcmp(tl, d->language) == 0)
            found = t;
    }
    const char *status = found ? json_str(found, "status") : NULL;
    if (!found) {
        char *have = joined(languages);
        detail = xasprintf("Template %s has no \"%s\" version in the WABA (languages: %s)",
                           TEMPLATE_NAME, d->language, have[0] ? have : "none");
        free(have);
        fix = xasprintf("create %s in \"%s\" (category UTILITY) in WhatsApp Manager and wait "
                        "for Meta's approval, or change the tenant's whatsapp_default_language",
                        TEMPLATE_NAME, d->language);
        add(d, name, false, detail, fix);
    } else if (status && strcmp(status, "APPROVED") == 0) {
        detail = xasprintf("Template %s is approved in \"%s\"", TEMPLATE_NAME, d->language);
        add(d, name, true, detail, NULL);
    } else {
        detail = xasprintf("Template %s in \"%s\" is %s, not APPROVED", TEMPLATE_NAME, d->language,
                           status ? status : "of unknown status");
        if (status && strcmp(status, "PENDING") == 0)
            fix = xstrdup("wait for Meta's review (15 minutes to 24 hours)");
        else
            fix = xasprintf("fix %s in WhatsApp Manager and submit it again", TEMPLATE_NAME);
        add(d, name, false, detail, fix);
    }
out:
    json_decref(languages);
    free(why);
    free(detail);
    free(fix);
}

/* The health entry of the number this tenant's orders go out from (its own, else the
 * platform's default), or null; a new reference. */
static json_t *sender_health(const struct diag *d, const char *phone_id)
{
    char *why = NULL;
    const json_t *list = health_list(d, "phone_numbers", &why);
    free(why);
    const json_t *phone = !list         ? NULL
                          : phone_id[0] ? notif_find_phone(list, phone_id)
                                        : notif_default_phone(list);
    return phone ? json_deep_copy(phone) : json_null();
}

/* The health entry of the tenant's template in its language, or null; a new reference. */
static json_t *template_health(const struct diag *d)
{
    char *why = NULL;
    const json_t *list = health_list(d, "templates", &why);
    free(why);
    size_t i;
    const json_t *t;
    json_array_foreach (list, i, t) {
        const char *tn = json_str(t, "name");
        const char *tl = json_str(t, "language");
        if (tn && tl && strcmp(tn, TEMPLATE_NAME) == 0 && strcmp(tl, d->language) == 0)
            return json_deep_copy(t);
    }
    return json_null();
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
    if (!phone_id)
        phone_id = "";
    d.tenant_id = id;
    d.settings = settings;
    d.language = json_str(settings, "whatsapp_default_language");
    if (!d.language || !d.language[0])
        d.language = "es";
    d.checks = json_array();
    d.all_ok = true;
    d.health_st = notif_health(&d.health);
    check_enabled(&d);
    check_phone_assigned(&d, phone_id, display ? display : "");
    check_phone_in_waba(&d, phone_id);
    check_master_credentials(&d);
    check_template(&d);
    const json_t *account = json_object_get(d.health.json, "account");
    json_t *body = json_pack("{s:s, s:s, s:b, s:o, s:o, s:o, s:o}", "tenant_id", id, "tenant_name",
                             tenant_name, "ok", d.all_ok, "checks", d.checks, "account",
                             account ? json_deep_copy(account) : json_null(), "phone_number_health",
                             sender_health(&d, phone_id), "template_health", template_health(&d));
    d.checks = NULL; /* the body took it */
    http_reply_json(req, 200, body);
out:
    json_decref(d.checks);
    notif_result_free(&d.health);
    json_decref(settings);
    free(tenant_name);
}
