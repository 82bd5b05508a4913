/* account_changes.h - tells tenant-service of a change of the WhatsApp account that its
 * admin pages show: a number's quality, a template's status or quality (Meta's webhooks,
 * api/account_events.h) and the account's pause and resume (outbox/pause.h). tenant-
 * service passes them to its open pages' live stream (POST
 * /api/v1/internal/whatsapp/account-events). Queued through tenants/tenant_events.h:
 * never blocks, and a lost one is only a page refreshed at its next poll. */
#ifndef NOTIFICATION_ACCOUNT_CHANGES_H
#define NOTIFICATION_ACCOUNT_CHANGES_H

/* event: Meta's (FLAGGED, UNFLAGGED, DOWNGRADE, UPGRADE, ...). */
void account_changes_number_quality(const char *display_phone_number, const char *event);
/* status: Meta's event (APPROVED, REJECTED, PAUSED, ...); reason may be NULL. */
void account_changes_template_status(const char *name, const char *language, const char *status,
                                     const char *reason);
/* quality: Meta's new_quality_score (GREEN, YELLOW, RED, UNKNOWN). */
void account_changes_template_quality(const char *name, const char *language, const char *quality);
/* source: "send" or "event"; code: Meta's error code, or -1 when it gave none. */
void account_changes_paused(const char *source, long code, const char *reason);
void account_changes_resumed(void);

#endif
