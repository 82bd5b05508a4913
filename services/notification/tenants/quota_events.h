/* quota_events.h - tells tenant-service when a tenant crosses 80% (quota_warning) or
 * 100% (quota_reached) of its monthly WhatsApp quota, so that its audit log shows it
 * (POST /api/v1/internal/tenants/{id}/quota-events, issue 20), through the queue of
 * tenants/tenant_events.h: the worker never waits on tenant-service. */
#ifndef NOTIFICATION_QUOTA_EVENTS_H
#define NOTIFICATION_QUOTA_EVENTS_H

/* Queues one event; month is "2026-12" or "2026-12-01". Safe from any thread. */
void quota_events_push(const char *tenant_id, const char *event, long used, long quota,
                       const char *month);

#endif
