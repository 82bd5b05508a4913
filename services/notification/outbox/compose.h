/* compose.h - what becomes of one claimed message, decided without any I/O from the
 * platform's switch, the tenant's settings (and how current they are) and the row: it is
 * skipped (and why), failed before sending (and why), waits for settings, or becomes the
 * exact Graph request (sender number, language, parameters, body). The worker applies
 * the answer; unit tests drive it directly. */
#ifndef NOTIFICATION_OUTBOX_COMPOSE_H
#define NOTIFICATION_OUTBOX_COMPOSE_H

#include <stdbool.h>
#include <stdint.h>

#include "outbox/outbox.h"
#include "tenants/settings.h"

/* Skip reasons, as stored in skip_reason. */
#define COMPOSE_SKIP_PLATFORM "whatsapp_notifications_disabled" /* ENABLE_WHATSAPP_... false */
#define COMPOSE_SKIP_TENANT "whatsapp_disabled_for_tenant"
#define COMPOSE_SKIP_PO "po_notifications_disabled"
#define COMPOSE_SKIP_OPTED_OUT "recipient_opted_out"
#define COMPOSE_SKIP_NO_SENDER "no_sender_phone_number"
#define COMPOSE_SKIP_QUOTA "quota_exceeded" /* the plan's monthly quota is used (worker.c) */
#define COMPOSE_SKIP_CHANNEL "whatsapp_not_in_channels" /* po_notification_channels */

enum compose_outcome {
    COMPOSE_SEND, /* the request below */
    COMPOSE_SKIP, /* skip_reason */
    COMPOSE_FAIL, /* error: final, before any request */
    COMPOSE_WAIT, /* error says why: settings as new as the message are needed */
};

struct compose_input {
    bool platform_enabled;        /* ENABLE_WHATSAPP_NOTIFICATIONS */
    const char *default_phone_id; /* WHATSAPP_PHONE_NUMBER_ID, "" when none */
    enum tenant_settings_status settings_status;
    const struct tenant_settings *settings; /* when OK or STALE */
    const struct outbox_row *row;
    int64_t now_us;   /* wall clock */
    long ttl_seconds; /* WHATSAPP_MESSAGE_TTL_SECONDS: older messages fail unsent; 0 none */
    /* A purchase order goes out in this language instead of the tenant's (whose template
     * is not approved), or NULL. A template message keeps the language it asked for. */
    const char *fallback_language;
};

/* The decision. Strings are owned (compose_result_clear() frees them) except
 * skip_reason, which is static. */
struct compose_result {
    enum compose_outcome outcome;
    const char *skip_reason;
    char *error;
    char phone_number_id[TENANT_PHONE_ID_MAX];
    char sender_display[TENANT_DISPLAY_MAX]; /* the tenant's own number as shown, or "" */
    char language[TENANT_LANGUAGE_MAX];
    char fallback_from[TENANT_LANGUAGE_MAX]; /* the tenant's language, when it fell back */
    char *parameters;                        /* JSON array text */
    char *body;                              /* the Graph request body */
};

/* Decides for in into *out (zeroed first). */
void compose(const struct compose_input *in, struct compose_result *out);
void compose_result_clear(struct compose_result *r);

#endif
