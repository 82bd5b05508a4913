/* email.h - a pragmatic check of an e-mail address (RFC 5321 sizes, a dot-atom local
 * part, a domain of LDH labels with an alphabetic top level): enough to catch typos and
 * to keep anything but an address out of an SMTP command or a mail header; whether it
 * receives mail only a mail server can tell. tenant-service checks the settings'
 * addresses with it, notification-service the orders' and SMTP_FROM. */
#ifndef COMMON_EMAIL_H
#define COMMON_EMAIL_H

#include <stdbool.h>

#define EMAIL_ADDRESS_MAX 254

/* True when s (NULL is false) is such an address. */
bool email_address_valid(const char *s);

#endif
