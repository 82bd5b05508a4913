/* tenant_settings.h - tenants' notification settings, read from tenant-service and cached.
 *
 * GET {TENANT_SERVICE_URL}/api/v1/tenants/{id}/settings/notifications with a service
 * token minted here (role service, sub "notification-service", re-minted well before it
 * expires). Answers are kept for the TTL; when a refresh fails the stale entry is served
 * (stale-if-error); after a failure tenant-service is left alone for a second, so an
 * outage costs one refused request a second, not one per message.
 *
 * One owner thread (the outbox worker): not thread-safe, and a call may block for up to
 * the upstream timeout. */
#ifndef NOTIFICATION_TENANT_SETTINGS_H
#define NOTIFICATION_TENANT_SETTINGS_H

#include <stdbool.h>

#include "auth.h"

#define TENANT_PHONE_ID_MAX 33 /* Meta's ids are decimal numbers; 32 digits is plenty */
#define TENANT_LANGUAGE_MAX 16

/* The keys sending needs, with DESIGN.md section 3's defaults for absent keys. */
struct tenant_settings {
    bool whatsapp_enabled;
    bool po_notifications_enabled;             /* enable_po_notifications */
    char phone_number_id[TENANT_PHONE_ID_MAX]; /* "" when none is assigned */
    bool phone_number_id_invalid;              /* set, but not 1-32 digits: never used */
    char language[TENANT_LANGUAGE_MAX];        /* whatsapp_default_language */
};

enum tenant_settings_status {
    TENANT_SETTINGS_OK,
    TENANT_SETTINGS_UNKNOWN,     /* tenant-service answered 404: no such tenant */
    TENANT_SETTINGS_UNAVAILABLE, /* no answer and nothing cached: try again later */
};

struct tenant_settings_cache;

/* base_url: tenant-service's; auth (borrowed, must outlive the cache) mints the service
 * token; ttl_seconds 0 means every call asks (still stale-if-error). Free with
 * tenant_settings_free() (NULL ok). */
struct tenant_settings_cache *tenant_settings_new(const char *base_url,
                                                  const struct auth_policy *auth, long ttl_seconds,
                                                  long timeout_ms);
void tenant_settings_free(struct tenant_settings_cache *c);

/* Fills out with tenant_id's settings (OK), from the cache when fresh, from tenant-service
 * otherwise, from a stale entry when tenant-service fails. */
enum tenant_settings_status tenant_settings_get(struct tenant_settings_cache *c,
                                                const char *tenant_id, struct tenant_settings *out);

#endif
