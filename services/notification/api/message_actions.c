/* message_actions.c - what a bakery can do about one message (issue 21): send it again,
 * maybe to a corrected phone or email (POST /api/v1/whatsapp/messages/{id}/resend: a new
 * message linked to the old one, idempotent per key), or stop it while Graph has not
 * accepted it (POST .../cancel). The platform admin, services, and the bakery's owner or
 * admin may; its other members may not. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "app.h"
#include "api/handlers.h"
#include "api/store.h"
#include "e164.h"
#include "hex.h"
#include "jsonutil.h"
#include "log.h"
#include "mailaddr.h"
#include "outbox/compose.h"
#include "outbox/wakeup.h"
#include "uuidutil.h"

#define RESEND_KEY_MAX 200
#define RESEND_KEY_PREFIX "resend:"

/* The message a request acts on: {id} canonical into id, and the tenant it must belong
 * to into *scope (a user's own; the tenant_id query's for others, NULL when absent).
 * A user needs the bakery's owner or admin role. Answers and returns false when not. */
static bool action_target(struct http_request *req, char id[UUID_STR_LEN],
                          char scope_buf[UUID_STR_LEN], const char **scope)
{
    const struct auth_principal *p = http_principal(req);
    if (!uuid_is_valid(http_param(req, "id"), id)) {
        http_reply_error(req, 404, "not_found", "No such message");
        return false;
    }
    if (p->role == AUTH_ROLE_USER && !auth_can_write_tenant(p, p->tenant_id)) {
        http_reply_error(req, 403, "forbidden",
                         "Only the bakery's owner or admin may resend or cancel its messages");
        return false;
    }
    return scope_tenant(req, http_query(req, "tenant_id"), scope_buf, scope);
}

/* SHA-256 of what makes a resend this resend: the message and the checked body. */
static void resend_hash(const char *follows, const json_t *body, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    char *text = xasprintf("resend\n%s\n%s", follows, canon ? canon : "");
    out[0] = '\0';
    if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32)
        hex_encode(md, mdlen, out);
    free(canon);
    free(text);
}

/* The checked resend body: idempotency_key, and the corrections normalized. */
struct resend_request {
    const char *key;
    char phone[E164_MAX];     /* "" when not corrected */
    char email[MAILADDR_MAX]; /* "" when not corrected */
};

/* Checks the body's shape and values into *r (strings borrowed from body). Answers and
 * returns false when it is refused. */
static bool resend_check(struct http_request *req, const json_t *body, struct resend_request *r)
{
    static const struct json_field fields[] = {
        {"idempotency_key", JK_STRING, true, RESEND_KEY_MAX},
        {"supplier_phone", JK_STRING, false, 64},
        {"supplier_email", JK_STRING, false, 320},
    };
    const char *field = NULL, *problem = NULL;
    memset(r, 0, sizeof(*r));
    if (!json_check_object(body, fields, sizeof fields / sizeof fields[0], false, &field,
                           &problem)) {
        http_reply_field_error(req, 422, "validation_error", field ? field : "body", "%s %s",
                               field ? field : "the body", problem);
        return false;
    }
    r->key = json_str(body, "idempotency_key");
    size_t n = strlen(r->key), blank = strspn(r->key, " ");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)r->key[i];
        if (c < 0x20 || c == 0x7f)
            blank = 0, n = 0; /* refused below */
    }
    if (n == 0 || blank == n) {
        http_reply_field_error(req, 422, "validation_error", "idempotency_key",
                               "idempotency_key must be 1 to %d characters without control "
                               "characters, not blank",
                               RESEND_KEY_MAX);
        return false;
    }
    const char *phone = json_str(body, "supplier_phone");
    if (phone && !e164_normalize(phone, r->phone)) {
        http_reply_field_error(req, 422, "validation_error", "supplier_phone",
                               "supplier_phone must be an international phone number: + and "
                               "country code, e.g. +34612345678");
        return false;
    }
    const char *email = json_str(body, "supplier_email");
    if (email && !mailaddr_normalize(email, r->email)) {
        http_reply_field_error(req, 422, "validation_error", "supplier_email",
                               "supplier_email must be an email address, e.g. "
                               "pedidos@proveedor.es");
        return false;
    }
    return true;
}

/* The new message's channel, recipients and request, from the old one and the
 * corrections (docs/decisions.md, "Resend and cancel"). Fills m and returns the new
 * payload (owned), or answers 422 and returns NULL. */
static json_t *resend_compose(struct http_request *req, const struct store_message_head *old,
                              const struct resend_request *r, struct store_resend *m)
{
    bool po = strcmp(old->kind, "purchase_order") == 0;
    const char *phone_key = po ? "supplier_phone" : "to";
    if (!po && r->email[0]) {
        http_reply_field_error(req, 422, "validation_error", "supplier_email",
                               "A template message goes by WhatsApp only: it takes no "
                               "supplier_email");
        return NULL;
    }
    /* One correction says the channel; none or both keep the old message's. */
    if (r->phone[0] && !r->email[0])
        m->channel = "whatsapp";
    else if (r->email[0] && !r->phone[0])
        m->channel = "email";
    else
        m->channel = strcmp(old->channel, "email") == 0 ? "email" : "whatsapp";

    json_t *payload = json_deep_copy(old->payload);
    if (r->phone[0])
        json_object_set_new(payload, phone_key, json_string(r->phone));
    if (r->email[0])
        json_object_set_new(payload, "supplier_email", json_string(r->email));
    const char *phone = json_str(payload, phone_key);
    const char *email = json_str(payload, "supplier_email");
    m->recipient_phone = phone ? phone : old->recipient_phone;
    m->recipient_email = email ? email : old->recipient_email;
    if (strcmp(m->channel, "whatsapp") == 0 && !*m->recipient_phone) {
        http_reply_field_error(req, 422, "validation_error", "supplier_phone",
                               "This order has no phone number to send to: give supplier_phone");
        json_decref(payload);
        return NULL;
    }
    if (strcmp(m->channel, "email") == 0 && !m->recipient_email) {
        http_reply_field_error(req, 422, "validation_error", "supplier_email",
                               "This order has no email address to send to: give "
                               "supplier_email");
        json_decref(payload);
        return NULL;
    }
    return payload;
}

void handle_message_resend(struct http_request *req)
{
    const struct notification_app *app = http_app(req);
    char id[UUID_STR_LEN], scope_buf[UUID_STR_LEN], new_id[UUID_STR_LEN], hash[65];
    char masked[32];
    const char *scope = NULL;
    struct store_message_head old = {0};
    struct resend_request r;
    struct store_resend m = {0};
    struct store_message_ref ref;
    json_t *body = NULL, *payload = NULL, *canon = NULL;
    char *payload_text = NULL, *key = NULL;

    if (!action_target(req, id, scope_buf, &scope))
        goto out;
    body = http_body_object(req);
    if (!body || !resend_check(req, body, &r))
        goto out;
    enum db_status st = store_message_head(id, scope, &old);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Reading the message");
        goto out;
    }
    if (!old.found) {
        http_reply_error(req, 404, "not_found", "No such message");
        goto out;
    }
    /* Sending it again while it may still go out would send it twice. */
    if (strcmp(old.status, "queued") == 0 || strcmp(old.status, "sending") == 0) {
        http_reply_json(req, 409,
                        json_pack("{s:b, s:s, s:s, s:s}", "success", 0, "error", "message_pending",
                                  "message",
                                  "The message is still on its way: cancel it first, or wait "
                                  "until it is sent or fails",
                                  "status", old.status));
        goto out;
    }
    payload = resend_compose(req, &old, &r, &m);
    if (!payload)
        goto out;
    canon = json_pack("{s:s, s:s, s:s}", "idempotency_key", r.key, "supplier_phone", r.phone,
                      "supplier_email", r.email);
    resend_hash(id, canon, hash);
    uuid_new(new_id);
    payload_text = json_dump_compact(payload);
    key = xasprintf(RESEND_KEY_PREFIX "%s", r.key);
    bool whatsapp = strcmp(m.channel, "whatsapp") == 0;
    m.id = new_id;
    m.tenant_id = old.tenant_id;
    m.follows = id;
    m.idempotency_key = key;
    m.request_hash = hash;
    m.payload = payload_text;
    m.status = whatsapp && !app->cfg.enabled ? "skipped" : "queued";
    m.skip_reason = whatsapp && !app->cfg.enabled ? COMPOSE_SKIP_PLATFORM : NULL;
    st = store_message_resend(&m, &ref);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Storing the resend");
        goto out;
    }
    if (!ref.id[0]) {
        http_reply_error(req, 404, "not_found", "No such message");
        goto out;
    }
    if (!ref.same_request) {
        http_reply_error(req, 409, "idempotency_conflict",
                         "idempotency_key was already used for a different request (message %s)",
                         ref.id);
        goto out;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/v1/whatsapp/messages/%s", ref.id);
    http_add_header(req, "Location", location);
    json_t *answer = json_pack("{s:b, s:s, s:s, s:s}", "success", 1, "message_id", ref.id, "status",
                               ref.status, "follows_id", id);
    if (!ref.created) {
        json_object_set_new(answer, "duplicate", json_true());
        http_reply_json(req, 200, answer);
        goto out;
    }
    if (strcmp(ref.status, "queued") == 0)
        wakeup_queued();
    log_info("message resent\tmessage_id=%s follows=%s tenant=%s channel=%s to=%s status=%s "
             "actor=\"%s\"",
             ref.id, id, old.tenant_id, m.channel,
             whatsapp ? log_mask_phone(m.recipient_phone, masked, sizeof masked) : "(email)",
             ref.status, http_principal(req)->sub);
    http_reply_json(req, 202, answer);
out:
    free(key);
    free(payload_text);
    json_decref(canon);
    json_decref(payload);
    json_decref(body);
    store_message_head_free(&old);
}

void handle_message_cancel(struct http_request *req)
{
    char id[UUID_STR_LEN], scope_buf[UUID_STR_LEN], status[16];
    const char *scope = NULL;
    bool canceled = false;

    /* The route takes no body (a POST without one needs no Content-Type). */
    if (!action_target(req, id, scope_buf, &scope))
        return;
    enum db_status st = store_message_cancel(id, scope, status, &canceled);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Canceling the message");
        return;
    }
    if (!status[0]) {
        http_reply_error(req, 404, "not_found", "No such message");
        return;
    }
    if (strcmp(status, "canceled") != 0) {
        http_reply_json(req, 409,
                        json_pack("{s:b, s:s, s:s, s:s}", "success", 0, "error",
                                  "message_not_cancelable", "message",
                                  strcmp(status, "sending") == 0
                                      ? "The message is being sent right now: it can no longer "
                                        "be stopped"
                                      : "Only a queued message can be canceled: this one is past "
                                        "that",
                                  "status", status));
        return;
    }
    if (canceled)
        log_info("message canceled\tmessage_id=%s actor=\"%s\"", id, http_principal(req)->sub);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:s, s:s, s:b}", "success", 1, "message_id", id, "status",
                              status, "already_canceled", !canceled));
}
