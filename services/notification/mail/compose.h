/* mail/compose.h - a purchase order as an email, decided without I/O: the addresses
 * (the bakery's From and Reply-To from its settings, SMTP_FROM when it has none), the
 * subject with the order number, and the same words as the WhatsApp template in the
 * bakery's language (common/po_template.h) as plain text and as HTML. Unit tests drive
 * it directly (tests/unit/test_mail_compose.c). */
#ifndef NOTIFICATION_MAIL_COMPOSE_H
#define NOTIFICATION_MAIL_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>

#include "tenants/settings.h"

struct mail_order {
    const char *language;      /* the order's language, NULL: the bakery's default */
    const char *to;            /* the supplier's address */
    const char *supplier_name; /* the payload's fields, exact text */
    const char *po_number;
    const char *total_amount;
    const char *currency;
};

/* The message; every string owned (mail_clear() frees them). */
struct mail {
    char *from_address; /* the envelope's and the From header's address */
    char *from_name;    /* "" when none */
    char *reply_to;     /* "" when none */
    char *to;
    char *subject; /* UTF-8, not yet encoded for a header */
    char *text;    /* text/plain, UTF-8, CRLF line ends */
    char *html;    /* text/html, UTF-8 */
    char language[TENANT_LANGUAGE_MAX];
};

/* Builds the email of order for a bakery with settings ts; smtp_from is SMTP_FROM.
 * Returns 0, or -1 with why in error (an address missing, an amount that cannot be
 * written: the message fails, final). */
int mail_compose(const struct mail_order *order, const struct tenant_settings *ts,
                 const char *smtp_from, struct mail *out, char *error, size_t errlen)
    __attribute__((warn_unused_result));

void mail_clear(struct mail *m);

/* Skip reasons of an email row, as stored in skip_reason. */
#define MAIL_SKIP_NOT_CONFIGURED "email_not_configured"    /* no SMTP_URL */
#define MAIL_SKIP_TENANT "email_disabled_for_tenant"       /* its email_enabled is false */
#define MAIL_SKIP_FALLBACK_OFF "email_fallback_not_wanted" /* PO_EMAIL_FALLBACK false */

/* What the platform allows. */
struct mail_policy {
    bool configured;      /* SMTP_URL is set */
    bool whatsapp_on;     /* ENABLE_WHATSAPP_NOTIFICATIONS */
    bool fallback_wanted; /* PO_EMAIL_FALLBACK */
};

/* Why the email of an order of a bakery with settings ts is not sent (one of the
 * reasons above), or NULL when it is. fallback: the row stands in for a WhatsApp message
 * that failed or was skipped. Such an email goes when fallbacks are wanted, or when the
 * bakery chose email of its own accord: "email" among its channels, and WhatsApp either
 * among them too or not available to it (not among them, switched off, a plan without
 * WhatsApp). */
const char *mail_skip_reason(const struct mail_policy *p, const struct tenant_settings *ts,
                             bool fallback);

#endif
