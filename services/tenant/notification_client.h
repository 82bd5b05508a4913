/* notification_client.h - tenant-service's calls to notification-service, the only
 * holder of the master WhatsApp credentials: the WABA's phone numbers, the master
 * account's configuration status, the message templates and the account's health
 * (DESIGN.md section 1).
 *
 * Every call carries a service token (role service, sub "tenant-service") minted here
 * from JWT_SECRET, cached and minted again a while before it expires. Calls block for at
 * most UPSTREAM_TIMEOUT_MS and are safe from any thread. */
#ifndef TENANT_NOTIFICATION_CLIENT_H
#define TENANT_NOTIFICATION_CLIENT_H

#include <jansson.h>
#include <stdbool.h>

#include "auth.h"

enum notif_status {
    NOTIF_OK = 0,
    NOTIF_UNREACHABLE = -1, /* no HTTP answer: refused, reset, timed out */
    NOTIF_FAILED = -2,      /* an answer, but not 200 with the JSON the contract promises */
};

struct notif_result {
    long http_status; /* notification-service's status; 0 when unreachable */
    json_t *json;     /* NOTIF_OK: the body, owned by the result */
    char error[512];  /* otherwise: one sentence saying what went wrong */
};

/* Sets where notification-service is (base_url, without a trailing slash, must stay
 * valid) and how tokens are minted
 * (auth is borrowed and must stay valid). Call once, before any other call. */
void notif_init(const char *base_url, const struct auth_policy *auth, long timeout_ms);
/* Frees the cached token. */
void notif_cleanup(void);

/* GET /api/v1/whatsapp/phone-numbers: on NOTIF_OK out->json is an array of
 * {id, display_phone_number, verified_name, quality_rating, is_default}; is_default marks
 * the platform's own number (WHATSAPP_PHONE_NUMBER_ID), which no bakery may hold. */
enum notif_status notif_phone_numbers(struct notif_result *out) __attribute__((warn_unused_result));
/* GET /api/v1/whatsapp/config-status: on NOTIF_OK out->json is an object with
 * credentials_configured, missing, enabled, sending_paused, paused_reason. */
enum notif_status notif_config_status(struct notif_result *out) __attribute__((warn_unused_result));
/* GET /api/v1/whatsapp/templates?name=NAME (NAME of [a-z0-9_]): on NOTIF_OK out->json is
 * an array of {name, language, status, category}. */
enum notif_status notif_templates(const char *name, struct notif_result *out)
    __attribute__((warn_unused_result));
/* GET /api/v1/whatsapp/health: on NOTIF_OK out->json is an object with api_version,
 * account {state, paused, missing}, messaging_limit, phone_numbers, templates and graph
 * {cache, error} (docs/openapi.yaml, WhatsappHealth). */
enum notif_status notif_health(struct notif_result *out) __attribute__((warn_unused_result));
/* GET /api/v1/whatsapp/templates/report[?language=L] (L an offered language): on NOTIF_OK
 * out->json is {template, languages [...], created, graph} (docs/openapi.yaml). */
enum notif_status notif_template_report(const char *language, struct notif_result *out)
    __attribute__((warn_unused_result));
/* POST /api/v1/whatsapp/templates/sync with body ({} or {"languages": [...]}, checked by
 * the caller): the same report after creating the missing languages. Waits up to 60 s:
 * each creation is a Graph call. */
enum notif_status notif_template_sync(const json_t *body, struct notif_result *out)
    __attribute__((warn_unused_result));
/* GET /api/v1/whatsapp/quota-usage?tenant_id=ID (ID a checked UUID): on NOTIF_OK
 * out->json is {tenant_id, month "2026-12", used}, this month's quota units. */
enum notif_status notif_quota_usage(const char *tenant_id, struct notif_result *out)
    __attribute__((warn_unused_result));
/* GET /api/v1/notifications/purchase-orders?tenant_id=ID&limit=N (ID a checked UUID): on
 * NOTIF_OK out->json is {orders, count}, the tenant's last N orders with their story. */
enum notif_status notif_orders(const char *tenant_id, long limit, struct notif_result *out)
    __attribute__((warn_unused_result));
/* POST /api/v1/whatsapp/messages/MID/resend?tenant_id=ID with body (MID and ID checked
 * UUIDs; the message must be the tenant's). NOTIF_OK for any answer to pass on to the
 * caller as it is (out->http_status: 202, 200, or a 4xx with the error shape); failures
 * as for the other calls. */
enum notif_status notif_resend(const char *tenant_id, const char *message_id, const json_t *body,
                               struct notif_result *out) __attribute__((warn_unused_result));
/* GET /api/v1/whatsapp/activity?tenant_id=ID&days=N (ID a checked UUID): on NOTIF_OK
 * out->json is the tenant's messages of the last N days counted by status and skip
 * reason (docs/openapi.yaml, WhatsappActivity). */
enum notif_status notif_activity(const char *tenant_id, long days, struct notif_result *out)
    __attribute__((warn_unused_result));
/* POST /api/v1/whatsapp/messages with body (a template message request, built by the
 * caller). NOTIF_OK for any answer to pass on (out->http_status: 202, 200 on a replay, or
 * a 4xx with the error shape); failures as for the other calls. */
enum notif_status notif_send_template(const json_t *body, struct notif_result *out)
    __attribute__((warn_unused_result));
/* GET /api/v1/whatsapp/messages/MID (MID a checked UUID). NOTIF_OK for a 200 (the message)
 * and for a 404 (out->http_status says which); failures as for the other calls. */
enum notif_status notif_message(const char *message_id, struct notif_result *out)
    __attribute__((warn_unused_result));
/* True when notification-service answers GET /health (short timeout, no token). */
bool notif_reachable(void);
void notif_result_free(struct notif_result *r);

/* The object of a phone-number list whose "id" is phone_id, or NULL. Borrowed. */
const json_t *notif_find_phone(const json_t *list, const char *phone_id);

/* The platform's default number in a phone-number list, or NULL. Borrowed. */
const json_t *notif_default_phone(const json_t *list);

#endif
