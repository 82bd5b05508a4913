/* waba.h - the master WhatsApp account as configured (which credentials are missing) and
 * its state as the reports show it. The Graph-backed admin endpoints themselves are in
 * handlers.h. */
#ifndef NOTIFICATION_WABA_H
#define NOTIFICATION_WABA_H

#include <jansson.h>
#include <stdbool.h>

#include "app.h"
#include "outbox/pause.h"

/* The names of the unset master-account variables (WHATSAPP_BUSINESS_ACCOUNT_ID,
 * WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID) as a new JSON array the caller owns. */
json_t *graph_missing_credentials(const struct notification_config *cfg);

/* True when all three are set. */
bool graph_credentials_configured(const struct notification_config *cfg);

/* Expires the cached phone-number list: the next read asks Graph (a number's quality or
 * status changed), and the old copy is served only when Graph fails. */
void waba_phone_numbers_forget(void);
/* The same for the template list (a template's status, quality or category changed). */
void waba_templates_forget(void);

/* A pause of the whole account as the reports show it: {code, reason, since, source}
 * (code null when Meta gave none); a new reference. */
json_t *pause_json(const struct pause_state *p);

#endif
