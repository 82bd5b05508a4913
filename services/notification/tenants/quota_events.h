/* quota_events.h - tells tenant-service when a tenant crosses 80% (quota_warning) or
 * 100% (quota_reached) of its monthly WhatsApp quota, so that its audit log shows it
 * (POST /api/v1/internal/tenants/{id}/quota-events, issue 20).
 *
 * The worker only queues an event (no I/O, never blocks); a periodic thread posts the
 * queue. An event tenant-service did not take (down, refusing) is logged and dropped:
 * the log line quota_warning / quota_reached of the worker stays the record
 * (docs/decisions.md, "Quota events"). */
#ifndef NOTIFICATION_QUOTA_EVENTS_H
#define NOTIFICATION_QUOTA_EVENTS_H

#include <stdbool.h>

#include "app.h"

/* Starts the posting thread (cfg borrowed). False (logged) when it cannot start. */
bool quota_events_start(const struct notification_config *cfg) __attribute__((warn_unused_result));
/* Queues one event; month is "2026-12" or "2026-12-01". Safe from any thread; a full
 * queue or a stopped module drops it (logged). */
void quota_events_push(const char *tenant_id, const char *event, long used, long quota,
                       const char *month);
/* Stops the thread; events still queued are dropped (logged). */
void quota_events_stop(void);

#endif
