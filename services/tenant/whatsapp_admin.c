/* whatsapp_admin.c - the platform admin's WhatsApp endpoints (DESIGN.md section 5): the
 * master WABA's phone numbers with who holds each, the account's health, the tenants'
 * WhatsApp status, assigning and unassigning numbers, and the audit log of those
 * changes. */
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "handlers.h"
#include "jsonutil.h"
#include "log.h"
#include "settings_readers.h"

#define PHONE_ID_MAX 32
#define DISPLAY_MAX 32
#define AUDIT_LIMIT_DEFAULT 50

/* A copy of obj[key] when it is a string, else JSON null. */
static json_t *string_or_null(const json_t *obj, const char *key)
{
    const char *s = json_str(obj, key);
    return s ? json_string(s) : json_null();
}

void handle_admin_phone_numbers(struct http_request *req)
{
    struct notif_result waba = {0};
    json_t *holders = NULL;
    json_t *list = NULL;
    size_t i;
    const json_t *phone;

    enum notif_status ns = notif_phone_numbers(&waba);
    if (ns != NOTIF_OK) {
        reply_upstream_failure(req, ns, &waba);
        goto out;
    }
    enum store_status st = store_phone_holders(&holders);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    list = json_array();
    json_array_foreach (waba.json, i, phone) {
        const char *id = json_str(phone, "id");
        if (!id)
            continue; /* notification-service only lists numbers with an id */
        const json_t *holder = json_object_get(holders, id);
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "display_phone_number",
                            string_or_null(phone, "display_phone_number"));
        json_object_set_new(o, "verified_name", string_or_null(phone, "verified_name"));
        json_object_set_new(o, "quality_rating", string_or_null(phone, "quality_rating"));
        json_object_set_new(o, "is_default",
                            json_boolean(json_is_true(json_object_get(phone, "is_default"))));
        json_object_set_new(o, "assigned_tenant_id", string_or_null(holder, "tenant_id"));
        json_object_set_new(o, "assigned_tenant_name", string_or_null(holder, "tenant_name"));
        json_array_append_new(list, o);
    }
    http_reply_json(req, 200, list);
    list = NULL;
out:
    json_decref(list);
    json_decref(holders);
    notif_result_free(&waba);
}

/* notification-service holds the token and the pause state, so its answer is the
 * health; tenant-service adds nothing and only maps its failures. */
void handle_admin_health(struct http_request *req)
{
    struct notif_result health = {0};
    enum notif_status ns = notif_health(&health);
    if (ns == NOTIF_OK) {
        http_reply_json(req, 200, health.json);
        health.json = NULL; /* the reply took it */
    } else {
        reply_upstream_failure(req, ns, &health);
    }
    notif_result_free(&health);
}

void handle_admin_tenants(struct http_request *req)
{
    json_t *list = NULL;
    enum store_status st = store_whatsapp_tenants(&list);
    reply_store_result(req, st, list);
}

/* Meta's phone number ids are digits. */
static bool phone_id_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= PHONE_ID_MAX && strspn(s, "0123456789") == n;
}

/* A display number as Meta writes them: "+34 612 345 678". */
static bool display_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= DISPLAY_MAX && strspn(s, "+0123456789 -().") == n &&
           strpbrk(s, "0123456789");
}

/* Do two display numbers name the same number? Spaces, dashes, dots and brackets are
 * only presentation. */
static bool same_number(const char *a, const char *b)
{
    static const char presentation[] = " -.()";
    for (;;) {
        while (*a && strchr(presentation, *a))
            a++;
        while (*b && strchr(presentation, *b))
            b++;
        if (*a != *b)
            return false;
        if (!*a)
            return true;
        a++;
        b++;
    }
}

/* Checks the assign-phone body; replies and returns false when it is not acceptable. */
static bool assign_body_ok(struct http_request *req, const json_t *body)
{
    static const struct json_field fields[] = {
        {"phone_number_id", JK_STRING, true, 0},
        {"display_phone_number", JK_STRING, false, 0},
    };
    const char *field, *problem;
    if (!json_check_object(body, fields, 2, false, &field, &problem)) {
        http_reply_field_error(req, 422, "validation_error", field, "%s %s", field, problem);
        return false;
    }
    if (!phone_id_ok(json_str(body, "phone_number_id"))) {
        http_reply_field_error(req, 422, "validation_error", "phone_number_id",
                               "phone_number_id must be a Meta phone number id (1 to %d digits)",
                               PHONE_ID_MAX);
        return false;
    }
    const char *display = json_str(body, "display_phone_number");
    if (display && display[0] && !display_ok(display)) {
        http_reply_field_error(req, 422, "validation_error", "display_phone_number",
                               "display_phone_number must be a phone number such as "
                               "\"+34 612 345 678\" (at most %d characters)",
                               DISPLAY_MAX);
        return false;
    }
    return true;
}

void handle_admin_assign_phone(struct http_request *req)
{
    char id[UUID_STR_LEN];
    json_t *body = NULL;
    json_t *tenant = NULL;
    struct notif_result waba = {0};
    struct store_assignment a = {0};
    enum store_status st;

    if (!tenant_id_param(req, id))
        goto out;
    body = http_body_object(req);
    if (!body || !assign_body_ok(req, body))
        goto out;
    /* An unknown tenant is answered without troubling notification-service. */
    st = store_tenant_get(id, &tenant);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    const char *phone_id = json_str(body, "phone_number_id");
    enum notif_status ns = notif_phone_numbers(&waba);
    if (ns != NOTIF_OK) {
        reply_upstream_failure(req, ns, &waba);
        goto out;
    }
    const json_t *phone = notif_find_phone(waba.json, phone_id);
    if (!phone) {
        http_reply_field_error(req, 422, "phone_number_not_in_waba", "phone_number_id",
                               "Phone number id %s is not in the WhatsApp Business Account",
                               phone_id);
        goto out;
    }
    const char *waba_display = json_str(phone, "display_phone_number");
    if (json_is_true(json_object_get(phone, "is_default"))) {
        http_reply_field_error(req, 409, "phone_number_reserved", "phone_number_id",
                               "Phone number %s is the platform's default number "
                               "(WHATSAPP_PHONE_NUMBER_ID): it sends for every bakery without a "
                               "number of its own and cannot be assigned to one",
                               waba_display ? waba_display : phone_id);
        goto out;
    }
    /* The number as the WABA writes it; a different one given is refused, so no two
     * bakeries can show the same number and the audit log names the right one. */
    const char *display = json_str(body, "display_phone_number");
    if (display && display[0] && waba_display && !same_number(display, waba_display)) {
        http_reply_field_error(req, 422, "display_phone_number_mismatch", "display_phone_number",
                               "display_phone_number \"%s\" is not this number: the account "
                               "shows it as \"%s\" (omit display_phone_number to use that)",
                               display, waba_display);
        goto out;
    }
    if (waba_display)
        display = waba_display;
    if (!display)
        display = "";

    st = store_phone_assign(id, phone_id, display, http_principal(req)->sub, &a);
    if (st == STORE_OK && a.changed) /* the next read, on any instance, must see it */
        st = settings_readers_await();
    if (st == STORE_CONFLICT) {
        json_t *err = json_pack(
            "{s:b, s:s, s:s, s:o, s:o}", "success", 0, "error", "phone_already_assigned", "message",
            "Phone number already assigned to another tenant", "assigned_tenant_id",
            a.holder[0] ? json_string(a.holder) : json_null(), "assigned_tenant_name",
            a.holder_name ? json_string(a.holder_name) : json_null());
        http_reply_json(req, 409, err);
        goto out;
    }
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    if (a.changed)
        log_info("phone number assigned\ttenant=%s phone_number_id=%s previous=%s actor=\"%s\"", id,
                 phone_id, a.previous_phone_id[0] ? a.previous_phone_id : "none",
                 http_principal(req)->sub);
    char *message = xasprintf("Phone number %s assigned to tenant '%s'",
                              display[0] ? display : phone_id, a.tenant_name);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:s, s:s, s:s, s:s}", "success", 1, "message", message,
                              "tenant_id", id, "phone_number_id", phone_id, "display_phone_number",
                              display));
    free(message);
out:
    store_assignment_free(&a);
    notif_result_free(&waba);
    json_decref(tenant);
    json_decref(body);
}

void handle_admin_unassign_phone(struct http_request *req)
{
    char id[UUID_STR_LEN];
    struct store_assignment a = {0};
    char *message = NULL;

    if (!tenant_id_param(req, id))
        goto out;
    enum store_status st = store_phone_unassign(id, http_principal(req)->sub, &a);
    if (st == STORE_OK && a.changed)
        st = settings_readers_await();
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    if (a.changed) {
        log_info("phone number unassigned\ttenant=%s phone_number_id=%s actor=\"%s\"", id,
                 a.previous_phone_id, http_principal(req)->sub);
        message = xasprintf("Phone number %s unassigned from tenant '%s'",
                            a.previous_display[0] ? a.previous_display : a.previous_phone_id,
                            a.tenant_name);
    } else {
        message = xasprintf("Tenant '%s' has no phone number assigned", a.tenant_name);
    }
    http_reply_json(
        req, 200, json_pack("{s:b, s:s, s:s}", "success", 1, "message", message, "tenant_id", id));
out:
    free(message);
    store_assignment_free(&a);
}

void handle_admin_audit_log(struct http_request *req)
{
    char tenant[UUID_STR_LEN];
    long limit = AUDIT_LIMIT_DEFAULT;
    json_t *rows = NULL;

    const char *tenant_arg = http_query(req, "tenant_id");
    bool filtered = tenant_arg && tenant_arg[0];
    if (filtered && !uuid_is_valid(tenant_arg, tenant)) {
        http_reply_field_error(req, 422, "validation_error", "tenant_id",
                               "tenant_id must be a tenant id (a UUID)");
        return;
    }
    const char *limit_arg = http_query(req, "limit");
    if (limit_arg && limit_arg[0] && !cfg_parse_long(limit_arg, 1, STORE_AUDIT_LIMIT_MAX, &limit)) {
        http_reply_field_error(req, 422, "validation_error", "limit",
                               "limit must be an integer from 1 to %d", STORE_AUDIT_LIMIT_MAX);
        return;
    }
    enum store_status st = store_audit_list(filtered ? tenant : NULL, limit, &rows);
    reply_store_result(req, st, rows);
}
