/* handlers.h - tenant-service's request handlers, one file per resource, and the small
 * replies and checks they share (reply.c). */
#ifndef TENANT_HANDLERS_H
#define TENANT_HANDLERS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "notification_client.h"
#include "settings_validate.h"
#include "store.h"
#include "uuidutil.h"

/* ops.c */
void handle_ready(struct http_request *req);
/* ops.c: GET /api/v1/openapi.json, this service's part of docs/openapi.yaml */
void handle_openapi(struct http_request *req);

/* tenants.c */
void handle_tenant_create(struct http_request *req);
void handle_tenant_list(struct http_request *req);
void handle_tenant_get(struct http_request *req);

/* settings.c */
void handle_settings_get(struct http_request *req);
void handle_settings_put(struct http_request *req);

/* whatsapp_sender.c: where a tenant's orders go out from */
void handle_tenant_sender(struct http_request *req);

/* whatsapp_languages.c: the languages a tenant may pick, with Meta's template status */
void handle_tenant_languages(struct http_request *req);

/* settings_feed.c: the change feed notification-service follows */
void handle_settings_changes(struct http_request *req);

/* tenant_plan.c: a tenant's WhatsApp plan and quota */
void handle_tenant_plan_get(struct http_request *req);
void handle_admin_plan_get(struct http_request *req);
void handle_admin_plan_put(struct http_request *req);
/* POST /api/v1/internal/tenants/{id}/quota-events: notification-service's quota crossings */
void handle_internal_quota_event(struct http_request *req);
/* account_changes.c: POST /api/v1/internal/whatsapp/account-events, notification-service's
 * changes of the WhatsApp account, for the admins' live pages */
void handle_internal_account_event(struct http_request *req);

/* tenant_orders.c: the bakery's recent orders and resending one (notification-service's) */
void handle_tenant_orders(struct http_request *req);
void handle_tenant_message_resend(struct http_request *req);

/* whatsapp_admin.c */
void handle_admin_phone_numbers(struct http_request *req);
void handle_admin_health(struct http_request *req);
/* templates_admin.c */
void handle_admin_templates(struct http_request *req);
void handle_admin_templates_sync(struct http_request *req);
void handle_admin_tenants(struct http_request *req);
void handle_admin_assign_phone(struct http_request *req);
void handle_admin_unassign_phone(struct http_request *req);
void handle_admin_audit_log(struct http_request *req);

/* support.c: GET /api/v1/support-contact */
void handle_support_contact(struct http_request *req);

/* diagnostics.c */
void handle_admin_diagnostics(struct http_request *req);

/* tenant_activity.c: a bakery's last days of WhatsApp messages (notification-service's) */
void handle_admin_tenant_activity(struct http_request *req);

/* test_message.c: a test message from the bakery's sender to a phone the admin types,
 * and that message read back */
void handle_admin_test_message_send(struct http_request *req);
void handle_admin_test_message_get(struct http_request *req);

/* console_auth.c: sign-in links and the session cookie (issue 22) */
void handle_auth_link_create(struct http_request *req);
void handle_auth_session_open(struct http_request *req);
void handle_auth_session_get(struct http_request *req);
void handle_auth_session_close(struct http_request *req);

/* console_events.c: GET /api/v1/events, the pages' live stream (issue 22) */
void handle_events(struct http_request *req);

/* static.c */
void handle_static(struct http_request *req);

/* reply.c */
/* Reads the {id} path parameter as a tenant id, writing its canonical form into out. A
 * value that is not a UUID names no tenant: then it has replied 404 tenant_not_found
 * and returns false. */
bool tenant_id_param(struct http_request *req, char out[UUID_STR_LEN]);
/* Whether tenant id (canonical) exists; when not, or when the database cannot say, it has
 * replied (404 tenant_not_found, 503) and returns false. */
bool tenant_exists_or_reply(struct http_request *req, const char *id);
/* Answers a failed store call: 404 tenant_not_found, 503 database_unavailable, or 500. */
void reply_store_failure(struct http_request *req, enum store_status st);
/* Answers 200 with doc (stolen) when st is STORE_OK, else as reply_store_failure(). */
void reply_store_result(struct http_request *req, enum store_status st, json_t *doc);
/* Answers GET of a document of the tenant named by {id}: 404 for a bad id, 403 unless the
 * caller may read that tenant, else what fetch(id, &doc) finds. */
void reply_tenant_document(struct http_request *req,
                           enum store_status (*fetch)(const char *tenant_id, json_t **out));
/* Answers a failed notification-service call: 503 upstream_unavailable when it cannot be
 * reached or says it is unavailable, else 502 upstream_error; the message says why. */
void reply_upstream_failure(struct http_request *req, enum notif_status st,
                            const struct notif_result *r);
/* Answers a notification-service read as it came (200 and its document), or its failure
 * as reply_upstream_failure does; frees r either way. */
void reply_notif_read(struct http_request *req, enum notif_status st, struct notif_result *r);
/* Reads the query parameter NAME into *out when present: true if absent or an integer
 * from 1 to max; else answers 422 validation_error on that field and returns false. */
bool query_count_or_reply(struct http_request *req, const char *name, long max, long *out);

#endif
