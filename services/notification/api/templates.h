/* templates.h - po_notification in every offered language (common/po_template.h), as the
 * platform manages it: GET /api/v1/whatsapp/templates/report reads what Meta has per
 * language; POST /api/v1/whatsapp/templates/sync also creates the missing languages
 * (UTILITY, the language's text with its examples, message_send_ttl_seconds =
 * WHATSAPP_MESSAGE_TTL_SECONDS). Both tell the template holds (outbox/holds.h) what they
 * read, so sending follows what is approved. A thread reads the statuses every
 * TEMPLATE_SYNC_INTERVAL_SECONDS (first a few seconds after the start) to repair what a
 * lost webhook missed; it creates nothing. The handlers are declared in handlers.h. */
#ifndef NOTIFICATION_TEMPLATES_H
#define NOTIFICATION_TEMPLATES_H

#include <stdbool.h>

#include "app.h"

/* Starts the periodic read (nothing when the interval is 0 or the account is not
 * configured). False (logged) when the thread cannot start. */
bool template_reads_start(const struct notification_config *cfg);
void template_reads_stop(void);

#endif
