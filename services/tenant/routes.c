/* routes.c - every endpoint tenant-service serves, with the roles allowed to call it.
 * Finer rights (a user only for their own tenant, owner/admin to write) are checked by
 * the handlers. */
#include "routes.h"

#include "handlers.h"

#define ADMIN AUTH_ROLE_ADMIN
#define WRITERS (AUTH_ROLE_ADMIN | AUTH_ROLE_USER)
#define READERS (AUTH_ROLE_ADMIN | AUTH_ROLE_USER | AUTH_ROLE_SERVICE)
#define SERVICES (AUTH_ROLE_ADMIN | AUTH_ROLE_SERVICE)

const struct http_route tenant_routes[] = {
    {"GET", "/health", http_handle_health, 0, HTTP_ROUTE_QUIET | HTTP_ROUTE_INLINE},
    {"GET", "/ready", handle_ready, 0, HTTP_ROUTE_QUIET},
    {"GET", "/metrics", http_handle_metrics, 0, HTTP_ROUTE_QUIET | HTTP_ROUTE_INLINE},
    {"GET", "/api/v1/openapi.json", handle_openapi, 0, HTTP_ROUTE_INLINE},

    {"POST", "/api/v1/tenants", handle_tenant_create, ADMIN},
    {"GET", "/api/v1/tenants", handle_tenant_list, ADMIN},
    {"GET", "/api/v1/tenants/{id}", handle_tenant_get, READERS},
    {"GET", "/api/v1/tenants/{id}/settings/notifications", handle_settings_get, READERS,
     HTTP_ROUTE_INLINE},
    {"PUT", "/api/v1/tenants/{id}/settings/notifications", handle_settings_put, WRITERS},
    {"GET", "/api/v1/tenants/{id}/whatsapp/sender", handle_tenant_sender, READERS},
    {"GET", "/api/v1/tenants/{id}/whatsapp/languages", handle_tenant_languages, READERS},
    /* the platform's support contact, for the owner's card (issue 22) */
    {"GET", "/api/v1/support-contact", handle_support_contact, READERS},
    /* followed by every notification-service instance: not worth an access-log line */
    {"GET", "/api/v1/internal/settings-changes", handle_settings_changes, SERVICES,
     HTTP_ROUTE_QUIET | HTTP_ROUTE_INLINE},

    /* WhatsApp plans (issue 20): the tenant's users read theirs, the admin changes it */
    {"GET", "/api/v1/tenants/{id}/plan", handle_tenant_plan_get, READERS},
    {"GET", "/api/v1/admin/tenants/{id}/plan", handle_admin_plan_get, ADMIN},
    {"PUT", "/api/v1/admin/tenants/{id}/plan", handle_admin_plan_put, ADMIN},
    /* the bakery's recent orders, and an order sent again (issue 21) */
    {"GET", "/api/v1/tenants/{id}/orders", handle_tenant_orders, READERS},
    {"POST", "/api/v1/tenants/{id}/messages/{message_id}/resend", handle_tenant_message_resend,
     WRITERS},
    /* notification-service's quota crossings, written to the audit log */
    {"POST", "/api/v1/internal/tenants/{id}/quota-events", handle_internal_quota_event,
     AUTH_ROLE_SERVICE},
    /* notification-service's changes of the WhatsApp account, for the live pages */
    {"POST", "/api/v1/internal/whatsapp/account-events", handle_internal_account_event,
     AUTH_ROLE_SERVICE},

    /* the web pages' sign-in and live stream (issue 22) */
    {"POST", "/api/v1/auth/links", handle_auth_link_create, SERVICES},
    {"POST", "/api/v1/auth/sessions", handle_auth_session_open, 0},
    {"GET", "/api/v1/auth/session", handle_auth_session_get, AUTH_ROLES_ANY},
    {"DELETE", "/api/v1/auth/session", handle_auth_session_close, AUTH_ROLES_ANY},
    {"GET", "/api/v1/events", handle_events, WRITERS, HTTP_ROUTE_INLINE},

    {"GET", "/api/v1/admin/whatsapp/phone-numbers", handle_admin_phone_numbers, ADMIN},
    {"GET", "/api/v1/admin/whatsapp/health", handle_admin_health, ADMIN},
    {"GET", "/api/v1/admin/whatsapp/templates", handle_admin_templates, ADMIN},
    {"POST", "/api/v1/admin/whatsapp/templates/sync", handle_admin_templates_sync, ADMIN},
    {"GET", "/api/v1/admin/whatsapp/tenants", handle_admin_tenants, ADMIN},
    {"POST", "/api/v1/admin/whatsapp/tenants/{id}/assign-phone", handle_admin_assign_phone, ADMIN},
    {"DELETE", "/api/v1/admin/whatsapp/tenants/{id}/unassign-phone", handle_admin_unassign_phone,
     ADMIN},
    {"GET", "/api/v1/admin/whatsapp/tenants/{id}/diagnostics", handle_admin_diagnostics, ADMIN},
    /* a bakery's details in the console (issue 22): its last days, and a test message */
    {"GET", "/api/v1/admin/whatsapp/tenants/{id}/activity", handle_admin_tenant_activity, ADMIN},
    {"POST", "/api/v1/admin/whatsapp/tenants/{id}/test-message", handle_admin_test_message_send,
     ADMIN},
    {"GET", "/api/v1/admin/whatsapp/tenants/{id}/test-message/{message_id}",
     handle_admin_test_message_get, ADMIN},
    {"GET", "/api/v1/admin/whatsapp/audit-log", handle_admin_audit_log, ADMIN},

    {"GET", "/app/*", handle_static, 0, HTTP_ROUTE_INLINE},
};
const size_t tenant_routes_count = sizeof(tenant_routes) / sizeof(tenant_routes[0]);
