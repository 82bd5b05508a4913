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

#endif
