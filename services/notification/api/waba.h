/* graph_admin.h - the master WhatsApp account as configured: which credentials are
 * missing. The Graph-backed admin endpoints themselves are in handlers.h. */
#ifndef NOTIFICATION_GRAPH_ADMIN_H
#define NOTIFICATION_GRAPH_ADMIN_H

#include <jansson.h>
#include <stdbool.h>

#include "app.h"

/* The names of the unset master-account variables (WHATSAPP_BUSINESS_ACCOUNT_ID,
 * WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID) as a new JSON array the caller owns. */
json_t *graph_missing_credentials(const struct notification_config *cfg);

/* True when all three are set. */
bool graph_credentials_configured(const struct notification_config *cfg);

#endif
