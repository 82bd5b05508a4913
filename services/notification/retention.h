/* retention.h - the background job that deletes messages older than
 * WHATSAPP_RETENTION_DAYS (and webhook statuses nobody claimed) in batches. */
#ifndef NOTIFICATION_RETENTION_H
#define NOTIFICATION_RETENTION_H

#include <stdbool.h>

#include "app.h"

/* Starts the job's thread: a pass at once, then one every RETENTION_INTERVAL_SECONDS.
 * cfg must outlive the thread. False (logged) when the thread cannot start. */
bool retention_start(const struct notification_config *cfg) __attribute__((warn_unused_result));

/* Stops the thread (it wakes at once, between two batches at worst) and waits for it.
 * Harmless when it was not started. */
void retention_stop(void);

#endif
