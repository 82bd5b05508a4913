/* quota_events.c - a quota crossing as the POST tenant-service's audit log takes. */
#include "tenants/quota_events.h"

#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "tenants/tenant_events.h"

void quota_events_push(const char *tenant_id, const char *event, long used, long quota,
                       const char *month)
{
    char month7[8];
    snprintf(month7, sizeof month7, "%.7s", month);
    char *path = xasprintf("/api/v1/internal/tenants/%s/quota-events", tenant_id);
    char *what = xasprintf("tenant=%s used=%ld quota=%ld month=%s", tenant_id, used, quota, month7);
    tenant_events_push(event, path,
                       json_pack("{s:s, s:I, s:I, s:s}", "event", event, "used", (json_int_t)used,
                                 "quota", (json_int_t)quota, "month", month7),
                       what);
    free(what);
    free(path);
}
