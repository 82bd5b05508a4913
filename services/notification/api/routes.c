/* routes.c - every endpoint notification-service serves, with the roles allowed. */
#include "api/routes.h"

#include <string.h>

#include "api/handlers.h"

#define SERVICE_OR_ADMIN (AUTH_ROLE_SERVICE | AUTH_ROLE_ADMIN)
#define WEBHOOK "/api/v1/whatsapp/webhook"

struct http_route notification_routes[] = {
    {"GET", "/health", http_handle_health, 0, HTTP_ROUTE_QUIET | HTTP_ROUTE_INLINE},
    {"GET", "/ready", handle_ready, 0, HTTP_ROUTE_QUIET},
    {"GET", "/metrics", handle_metrics, 0, HTTP_ROUTE_QUIET}, /* asks the database */
    {"GET", "/api/v1/openapi.json", handle_openapi, 0, HTTP_ROUTE_INLINE},
    /* intake */
    {"POST", "/api/v1/notifications/purchase-orders", handle_purchase_order, SERVICE_OR_ADMIN,
     HTTP_ROUTE_INLINE},
    {"POST", "/api/v1/whatsapp/messages", handle_template_message, SERVICE_OR_ADMIN,
     HTTP_ROUTE_INLINE},
    /* reading; tenant users are scoped to their tenant by the handlers */
    {"GET", "/api/v1/whatsapp/messages", handle_messages_list, AUTH_ROLES_ANY},
    {"GET", "/api/v1/whatsapp/messages/{id}", handle_message_get, AUTH_ROLES_ANY},
    /* an order's story and a tenant's recent orders; the bakery's owner or admin resends
     * or cancels (issue 21). Cancel takes no body. */
    {"GET", "/api/v1/notifications/purchase-orders", handle_orders_list, AUTH_ROLES_ANY},
    {"GET", "/api/v1/notifications/purchase-orders/{event_id}", handle_order_get, AUTH_ROLES_ANY},
    {"POST", "/api/v1/whatsapp/messages/{id}/resend", handle_message_resend, AUTH_ROLES_ANY},
    {"POST", "/api/v1/whatsapp/messages/{id}/cancel", handle_message_cancel, AUTH_ROLES_ANY,
     HTTP_ROUTE_RAW_BODY},
    /* Meta's webhook: public, authenticated by the verify token and the body signature */
    {"GET", WEBHOOK, handle_webhook_verify, 0},
    {"POST", WEBHOOK, handle_webhook_post, 0, HTTP_ROUTE_RAW_BODY},
    /* the master account */
    {"GET", "/api/v1/whatsapp/phone-numbers", handle_phone_numbers, SERVICE_OR_ADMIN},
    {"GET", "/api/v1/whatsapp/templates", handle_templates, SERVICE_OR_ADMIN},
    {"GET", "/api/v1/whatsapp/config-status", handle_config_status, SERVICE_OR_ADMIN},
    /* po_notification in every offered language: what Meta has, and creating the rest */
    {"GET", "/api/v1/whatsapp/templates/report", handle_template_report, SERVICE_OR_ADMIN},
    {"POST", "/api/v1/whatsapp/templates/sync", handle_template_sync, SERVICE_OR_ADMIN},
    {"GET", "/api/v1/whatsapp/health", handle_health, SERVICE_OR_ADMIN},
    /* a tenant's quota units taken this month, shown with its plan by tenant-service */
    {"GET", "/api/v1/whatsapp/quota-usage", handle_quota_usage, SERVICE_OR_ADMIN},
    /* a tenant's last days by status and skip reason, for the console's details */
    {"GET", "/api/v1/whatsapp/activity", handle_activity, SERVICE_OR_ADMIN},
    /* an operator ends a pause of the whole account without waiting for the probe */
    {"POST", "/api/v1/admin/whatsapp/resume", handle_resume, AUTH_ROLE_ADMIN},
    /* the account-level webhook changes Meta sent, as kept */
    {"GET", "/api/v1/admin/whatsapp/account-events", handle_account_events_list, AUTH_ROLE_ADMIN},
    /* usage and cost per tenant and month, for invoicing, and the rate card it prices with */
    {"GET", "/api/v1/admin/whatsapp/usage", handle_usage, AUTH_ROLE_ADMIN},
    {"GET", "/api/v1/admin/whatsapp/rate-card", handle_rate_card_get, AUTH_ROLE_ADMIN},
    {"PUT", "/api/v1/admin/whatsapp/rate-card", handle_rate_card_put, AUTH_ROLE_ADMIN},
};
const size_t notification_routes_count =
    sizeof(notification_routes) / sizeof(notification_routes[0]);

void notification_routes_configure(const struct notification_config *cfg)
{
    for (size_t i = 0; i < notification_routes_count; i++) {
        struct http_route *r = &notification_routes[i];
        if (strcmp(r->method, "POST") == 0 && strcmp(r->pattern, WEBHOOK) == 0)
            r->body_limit = (size_t)cfg->webhook_body_limit;
    }
}
