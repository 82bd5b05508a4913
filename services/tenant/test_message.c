/* test_message.c - the console's "send a test message" (issue 22): the admin types a
 * phone and the bakery's po_notification goes to it as one of its orders would, from the
 * number notification-service picks for the bakery (its own, else the platform's, or
 * skipped with the reason), in the bakery's language with the template's own example
 * values. The page reads the message back to show what happened to it.
 *
 *   POST /api/v1/admin/whatsapp/tenants/{id}/test-message {"phone": "+34..."}
 *   GET  /api/v1/admin/whatsapp/tenants/{id}/test-message/{message_id} */
#include <string.h>

#include "e164.h"
#include "handlers.h"
#include "jsonutil.h"
#include "log.h"
#include "po_template.h"

/* A test's idempotency key: new per click, and recognisable in the bakery's messages. */
#define TEST_KEY_PREFIX "console-test-"

/* The E.164 phone of the body {"phone": "..."} (nothing else) into out; replies 422 and
 * returns false when it is not one. */
static bool test_phone(struct http_request *req, const json_t *body, char out[E164_MAX])
{
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)body, key, v) {
        if (strcmp(key, "phone") != 0) {
            http_reply_field_error(req, 422, "validation_error", key, "Unknown field %s", key);
            return false;
        }
    }
    const char *phone = json_string_value(json_object_get(body, "phone"));
    if (!phone || !e164_normalize(phone, out)) {
        http_reply_field_error(req, 422, "validation_error", "phone",
                               "phone must be an international number such as +34612345678");
        return false;
    }
    return true;
}

/* The template message request notification-service takes: po_notification in the
 * bakery's language (Spanish when its settings name none offered), the language's example
 * values with the order number made a test's. Returns a new object. */
static json_t *test_request(const char *tenant_id, const char *phone, const json_t *settings)
{
    const struct po_text *text = po_text(json_str(settings, "whatsapp_default_language"));
    if (!text)
        text = po_text("es");
    char key[UUID_STR_LEN + sizeof TEST_KEY_PREFIX];
    char nonce[UUID_STR_LEN];
    uuid_new(nonce);
    snprintf(key, sizeof key, "%s%s", TEST_KEY_PREFIX, nonce);
    char order[16];
    snprintf(order, sizeof order, "TEST-%.8s", nonce);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s, s, s]}", "idempotency_key", key, "tenant_id",
                     tenant_id, "to", phone, "template_name", PO_TEMPLATE_NAME, "language",
                     text->language, "parameters", text->example[0], order, text->example[2]);
}

void handle_admin_test_message_send(struct http_request *req)
{
    char id[UUID_STR_LEN], phone[E164_MAX];
    json_t *body = NULL, *settings = NULL, *request = NULL;
    struct notif_result r = {0};

    if (!tenant_id_param(req, id))
        return;
    body = http_body_object(req);
    if (!body || !test_phone(req, body, phone))
        goto out;
    enum store_status st = store_settings_get(id, &settings);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    request = test_request(id, phone, settings);
    enum notif_status ns = notif_send_template(request, &r);
    if (ns != NOTIF_OK) {
        reply_upstream_failure(req, ns, &r);
        goto out;
    }
    if (r.http_status == 202 || r.http_status == 200) {
        char masked[32];
        log_info("test message asked\ttenant=%s message_id=%s to=%s actor=\"%s\"", id,
                 json_string_value(json_object_get(r.json, "message_id")),
                 log_mask_phone(phone, masked, sizeof masked), http_principal(req)->sub);
        json_object_set_new(r.json, "to", json_string(phone));
        json_object_set(r.json, "language", json_object_get(request, "language"));
    }
    http_reply_json(req, (unsigned)r.http_status, r.json);
    r.json = NULL;
out:
    notif_result_free(&r);
    json_decref(request);
    json_decref(settings);
    json_decref(body);
}

void handle_admin_test_message_get(struct http_request *req)
{
    char id[UUID_STR_LEN], message_id[UUID_STR_LEN];
    struct notif_result r = {0};

    if (!tenant_id_param(req, id))
        return;
    if (!uuid_is_valid(http_param(req, "message_id"), message_id)) {
        http_reply_error(req, 404, "not_found", "No such message");
        return;
    }
    if (!tenant_exists_or_reply(req, id))
        return;
    enum notif_status ns = notif_message(message_id, &r);
    if (ns != NOTIF_OK) {
        reply_upstream_failure(req, ns, &r);
        goto out;
    }
    /* Only this bakery's test messages: the route reads no other message. */
    const char *tenant = json_str(r.json, "tenant_id");
    const char *key = json_str(r.json, "idempotency_key");
    if (r.http_status != 200 || !tenant || strcmp(tenant, id) != 0 || !key ||
        strncmp(key, TEST_KEY_PREFIX, strlen(TEST_KEY_PREFIX)) != 0) {
        http_reply_error(req, 404, "not_found", "No such test message of this tenant");
        goto out;
    }
    http_reply_json(req, 200, r.json);
    r.json = NULL;
out:
    notif_result_free(&r);
}
