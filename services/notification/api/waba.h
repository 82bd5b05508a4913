/* waba.h - the master WhatsApp account as configured (which credentials are missing),
 * its state as the reports show it, and its phone-number and template lists as Graph
 * last gave them. The Graph-backed admin endpoints themselves are in handlers.h. */
#ifndef NOTIFICATION_WABA_H
#define NOTIFICATION_WABA_H

#include <jansson.h>
#include <stdbool.h>

#include "app.h"
#include "outbox/pause.h"

#define WABA_NOT_CONFIGURED "WhatsApp master account not configured"

/* The names of the unset master-account variables (WHATSAPP_BUSINESS_ACCOUNT_ID,
 * WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID) as a new JSON array the caller owns. */
json_t *graph_missing_credentials(const struct notification_config *cfg);

/* True when all three are set. */
bool graph_credentials_configured(const struct notification_config *cfg);

/* How a list is read, and what came of it. */
struct waba_read {
    long timeout_ms;   /* in: per Graph request */
    bool cache_only;   /* in: never ask Graph; serve the cached copy, however old */
    const char *cache; /* out: "hit", "miss", "stale" (Graph failed or was not asked and
                          the copy is old), NULL when there was nothing to serve */
    char error[512];   /* out: why Graph could not be read, "" when it could or was not asked */
};

/* The WABA's phone numbers, each {id, display_phone_number, verified_name,
 * quality_rating, status, name_status, throughput_level, can_send_message,
 * messaging_limit} (strings or null; the last is the business portfolio's), or its
 * templates, each {name, language, status, category, id, quality (quality_score.score),
 * message_send_ttl_seconds (integer or null), rejected_reason}. A new array, or NULL when Graph
 * failed and nothing was cached. Read through Graph when the cached copy is older than
 * PHONE_NUMBERS_CACHE_SECONDS; the caller checks that the WABA id and token are set. */
json_t *waba_phone_numbers(const struct notification_config *cfg, struct waba_read *rd);
json_t *waba_templates(const struct notification_config *cfg, struct waba_read *rd);

/* On a sending instance, reads the messaging limit from the default number now and then
 * every 15 minutes (a change also comes as a business_capability_update webhook, and
 * with every read of the phone-number list), so that the outbox keeps to it from its
 * start. Nothing to do without the number and token. False when the thread cannot
 * start. */
bool waba_limit_reads_start(const struct notification_config *cfg)
    __attribute__((warn_unused_result));
void waba_limit_reads_stop(void);

/* Records the business portfolio's messaging limit (unique recipients per rolling 24 h,
 * 0: unlimited) that Meta reported through source, for every instance's outbox; logs a
 * change. */
void waba_messaging_limit_report(long limit, const char *source);

/* True when id is the platform's own number, WHATSAPP_PHONE_NUMBER_ID. */
bool waba_is_default_phone(const struct notification_config *cfg, const char *id);

/* Expires the cached phone-number list: the next read asks Graph (a number's quality or
 * status changed), and the old copy is served only when Graph fails. */
void waba_phone_numbers_forget(void);
/* The same for the template list (a template's status, quality or category changed). */
void waba_templates_forget(void);

/* A pause of the whole account as the reports show it: {code, reason, since, source}
 * (code null when Meta gave none); a new reference. */
json_t *pause_json(const struct pause_state *p);

#endif
