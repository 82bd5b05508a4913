/* webhook.h - Meta's webhook for notification-service: status reports and inbound
 * messages (GET/POST /api/v1/whatsapp/webhook, handlers in handlers.h), and the hand-over
 * of statuses that arrived before their message's wamid was stored. */
#ifndef NOTIFICATION_WEBHOOK_H
#define NOTIFICATION_WEBHOOK_H

/* Call right after storing wamid on message message_id (a UUID): statuses Meta reported
 * for that wamid before it was known, kept in whatsapp_pending_statuses, are applied to
 * the message with the one-way status order and deleted. Uses the calling thread's
 * database connection (inside its transaction, if one is open). Returns how many pending
 * statuses were applied (usually 0), or -1 when the database failed (logged; the
 * statuses stay pending and are pruned after a day). */
int webhook_apply_pending(const char *message_id, const char *wamid);

#endif
