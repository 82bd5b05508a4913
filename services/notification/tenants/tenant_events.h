/* tenant_events.h - what notification-service tells tenant-service off the send path: a
 * tenant's quota crossings (tenants/quota_events.h) and the account's changes
 * (tenants/account_changes.h), each one POST to an internal route of tenant-service.
 *
 * Callers only queue a POST (no I/O, never blocks); a periodic thread posts the queue. A
 * POST tenant-service did not take (down, refusing) is logged and counted, then dropped:
 * the caller's own log line stays the record, and what tenant-service misses is at most
 * an audit row or a live refresh of an open page (docs/decisions.md, "Quota events"). */
#ifndef NOTIFICATION_TENANT_EVENTS_H
#define NOTIFICATION_TENANT_EVENTS_H

#include <jansson.h>
#include <stdbool.h>

#include "app.h"

/* Starts the posting thread (cfg borrowed). False (logged) when it cannot start. */
bool tenant_events_start(const struct notification_config *cfg) __attribute__((warn_unused_result));
/* Queues a POST of body to path (tenant-service's, from "/api/..."). kind names the event
 * in the metric and logs, what describes it for the logs (no token, numbers masked); both
 * and path are copied. body is taken: the queue owns it from here, also when it drops it.
 * Safe from any thread; a full queue or a stopped module drops it (logged). */
void tenant_events_push(const char *kind, const char *path, json_t *body, const char *what);
/* Stops the thread; POSTs still queued are dropped (logged). */
void tenant_events_stop(void);

#endif
