/* activity_store.h - the SQL of a tenant's recent WhatsApp activity: its messages of the
 * last days counted by status and skip reason, for the admin console's bakery details
 * (issue 22). Returns a db_status (DB_OK, or DB_UNAVAILABLE to answer 503 with). */
#ifndef NOTIFICATION_ACTIVITY_STORE_H
#define NOTIFICATION_ACTIVITY_STORE_H

#include <jansson.h>

#include "db.h"

/* The WhatsApp messages of tenant_id (a checked UUID) created in the last days days,
 * counted in one statement (docs/openapi.yaml, WhatsappActivity): on DB_OK *out is a new
 * object the caller owns. */
enum db_status activity_store_count(const char *tenant_id, long days, json_t **out)
    __attribute__((warn_unused_result));

#endif
