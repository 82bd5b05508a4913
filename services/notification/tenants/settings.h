/* tenant_settings.h - tenants' notification settings, kept current by following
 * tenant-service's change feed (GET /api/v1/internal/settings-changes).
 *
 * The cache knows how current it is. Its position is the newest change number it has
 * applied, and its mark is the wall-clock time at which a feed request that it applied
 * was sent: every change committed before the mark is in the cache. A follower thread
 * long-polls the feed, so a change reaches the cache within milliseconds; before a batch
 * of messages is decided, tenant_settings_refresh() asks the feed once more when the
 * mark is not newer than the newest message, so a change answered 200 before a message was
 * accepted always governs it (DESIGN.md section 9). Tenants not yet cached are fetched
 * in that same request.
 *
 * When tenant-service cannot be reached, what the cache holds is served as STALE
 * (stale-if-error); after a failure tenant-service is left alone for 250 ms, so an
 * outage costs a few refused requests a second, not one per message.
 *
 * Thread-safe: the follower writes, the outbox worker and intake's HTTP threads read.
 * Calls that ask tenant-service block for at most the configured timeout. */
#ifndef NOTIFICATION_TENANT_SETTINGS_H
#define NOTIFICATION_TENANT_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define TENANT_PHONE_ID_MAX 33 /* Meta's ids are decimal numbers; 32 digits is plenty */
#define TENANT_LANGUAGE_MAX 16
#define TENANT_DISPLAY_MAX 40
#define TENANT_PLAN_MAX 16
#define TENANT_QUOTA_UNLIMITED (-1L) /* monthly_quota without a limit */
#define TENANT_EMAIL_MAX 255         /* an address, as tenant-service validates it */
#define TENANT_NAME_MAX 101

/* po_notification_channels, as bits. */
#define TENANT_CHANNEL_WHATSAPP 1u
#define TENANT_CHANNEL_EMAIL 2u

/* The keys sending needs, with DESIGN.md section 3's defaults for absent keys. */
struct tenant_settings {
    bool whatsapp_enabled;
    bool po_notifications_enabled;             /* enable_po_notifications */
    char phone_number_id[TENANT_PHONE_ID_MAX]; /* "" when none is assigned */
    bool phone_number_id_invalid;              /* set, but not 1-32 digits: never used */
    char display_phone_number[TENANT_DISPLAY_MAX];
    char language[TENANT_LANGUAGE_MAX]; /* whatsapp_default_language */
    /* The WhatsApp plan (issue 20): tenant-service's "plan" ("basic", "standard",
     * "enterprise"; "" when absent or not a plan name: an older tenant-service), and
     * "whatsapp_monthly_quota", the effective quota of messages a calendar month (the
     * plan's or the tenant's override), TENANT_QUOTA_UNLIMITED when null (unlimited),
     * absent or not a whole number >= 0: an older tenant-service never stops sending. */
    char plan[TENANT_PLAN_MAX];
    long monthly_quota;
    /* Email (issue 21): the purchase order's channels, and the sender's address. */
    unsigned po_channels;                      /* po_notification_channels: TENANT_CHANNEL_* bits */
    bool email_enabled;                        /* email_enabled */
    char email_from_address[TENANT_EMAIL_MAX]; /* "" when unset: SMTP_FROM */
    char email_from_name[TENANT_NAME_MAX];
    char email_reply_to[TENANT_EMAIL_MAX];
};

enum tenant_settings_status {
    TENANT_SETTINGS_OK,          /* out holds settings current as of the time asked for */
    TENANT_SETTINGS_STALE,       /* out holds settings that may be older: no answer */
    TENANT_SETTINGS_UNKNOWN,     /* tenant-service knows no such tenant (current) */
    TENANT_SETTINGS_UNAVAILABLE, /* no answer and nothing usable cached: try again later */
};

struct tenant_settings_config {
    const char *base_url;           /* tenant-service's, no trailing '/'; must outlive the cache */
    const struct auth_policy *auth; /* mints the service token; must outlive the cache */
    long timeout_ms;                /* of one request that is not a long poll */
};

struct tenant_settings_cache;

/* Reads the keys above from a settings document (a feed row's "settings"), defaults for
 * absent or mistyped keys; out is overwritten whole. Pure: tests/unit/test_tenant_settings.c. */
void tenant_settings_parse(const json_t *obj, struct tenant_settings *out);

/* A new, empty cache; free with tenant_settings_free() (NULL ok). */
struct tenant_settings_cache *tenant_settings_new(const struct tenant_settings_config *cfg);
/* Starts the follower thread (long polls of the feed). False (logged) when it cannot. */
bool tenant_settings_follow(struct tenant_settings_cache *c) __attribute__((warn_unused_result));
/* Stops the follower (within about a second) and frees everything. */
void tenant_settings_free(struct tenant_settings_cache *c);

/* Makes the n tenants' settings current as of need_us (wall-clock microseconds, e.g.
 * the newest message's created_at): one feed request when the cache is older or a tenant
 * is missing, none otherwise. Failures leave the cache as it was (see _get). Current as
 * of a time means: a feed request sent strictly after it was answered. */
void tenant_settings_refresh(struct tenant_settings_cache *c, const char *const *tenant_ids,
                             size_t n, int64_t need_us);

/* The cached settings of tenant_id, and whether they are current as of need_us. Never
 * asks tenant-service: call tenant_settings_refresh() first. */
enum tenant_settings_status tenant_settings_get(struct tenant_settings_cache *c,
                                                const char *tenant_id, int64_t need_us,
                                                struct tenant_settings *out);

/* Whether the cache knows that tenant_id exists. Never asks tenant-service. */
bool tenant_settings_known(struct tenant_settings_cache *c, const char *tenant_id);

/* Does tenant_id exist? OK (it does), UNKNOWN (tenant-service says it does not), or
 * UNAVAILABLE (no answer). Asks tenant-service unless the cache already knows it. */
enum tenant_settings_status tenant_settings_exists(struct tenant_settings_cache *c,
                                                   const char *tenant_id);

#endif
