/* handlers.h - notification-service's request handlers, one file per resource. */
#ifndef NOTIFICATION_HANDLERS_H
#define NOTIFICATION_HANDLERS_H

#include "db.h"
#include "http.h"
#include "uuidutil.h"

/* ops.c: readiness, and metrics with the queue gauges refreshed */
void handle_ready(struct http_request *req);
void handle_metrics(struct http_request *req);
/* ops.c: GET /api/v1/openapi.json, this service's part of docs/openapi.yaml */
void handle_openapi(struct http_request *req);
/* ops.c: the answer to a failed store call st (not DB_OK): 503 database_unavailable when
 * the database cannot be reached (the client retries), else 500 naming what failed. */
void reply_db_failure(struct http_request *req, enum db_status st, const char *what);

/* intake.c: new outbox rows */
void handle_purchase_order(struct http_request *req);
void handle_template_message(struct http_request *req);

/* messages.c: reading outbox rows */
void handle_messages_list(struct http_request *req);
void handle_message_get(struct http_request *req);
/* messages.c: the tenant a caller may read, from the query's tenant_id (asked, NULL when
 * absent): a user's own (403 for another), else the one asked for (*tenant NULL: all),
 * written canonical into out. Answers (422, 403) and returns false on a refusal. */
bool scope_tenant(struct http_request *req, const char *asked, char out[UUID_STR_LEN],
                  const char **tenant);

/* orders.c: a purchase order's whole story, and a tenant's recent orders (issue 21) */
void handle_order_get(struct http_request *req);
void handle_orders_list(struct http_request *req);

/* message_actions.c: a message sent again (corrected) or stopped before Graph has it */
void handle_message_resend(struct http_request *req);
void handle_message_cancel(struct http_request *req);

/* webhook.c: Meta's webhook */
void handle_webhook_verify(struct http_request *req);
void handle_webhook_post(struct http_request *req);

/* waba.c: the master WhatsApp account */
void handle_phone_numbers(struct http_request *req);
void handle_templates(struct http_request *req);
void handle_config_status(struct http_request *req);
/* health.c: the whole account in one answer: version, sending state, numbers, templates,
 * messaging limit (200 even when Graph fails) */
void handle_health(struct http_request *req);
/* waba.c: an operator ends a pause of the whole account (outbox/pause.h) */
void handle_resume(struct http_request *req);

/* templates.c: po_notification per offered language, read; and created where missing */
void handle_template_report(struct http_request *req);
void handle_template_sync(struct http_request *req);

/* account_events.c: the stored account-level webhook changes, newest first */
void handle_account_events_list(struct http_request *req);

/* usage.c: a month's usage and cost per tenant (JSON or CSV), and the rate card */
void handle_usage(struct http_request *req);
void handle_rate_card_get(struct http_request *req);
void handle_rate_card_put(struct http_request *req);

/* quota_usage.c: a tenant's quota units taken this month */
void handle_quota_usage(struct http_request *req);

/* activity.c: a tenant's messages of the last days counted by status and skip reason */
void handle_activity(struct http_request *req);

#endif
