/* mailaddr.h - checking an email address (a supplier's, a bakery's, the platform's)
 * before it is stored or used: the addr-spec of RFC 5321 that mail servers accept in
 * practice. The one check of both services. */
#ifndef COMMON_MAILADDR_H
#define COMMON_MAILADDR_H

#include <stdbool.h>

#define MAILADDR_MAX 255 /* 254 characters (RFC 5321's path limit less the brackets), NUL */

/* Trims spaces around in and checks the rest is local@domain: a dot-atom local part of at
 * most 64 characters (letters, digits and !#$%&'*+/=?^_`{|}~- between single dots), and
 * a domain of at least two dot-separated labels (letters, digits, inner hyphens, 1 to 63
 * characters each), the last of two or more letters. Quoted local parts, address
 * literals and non-ASCII addresses are refused: mail servers without SMTPUTF8 refuse
 * them too. Writes the address, its domain lower-cased, into out and returns true; else
 * false (out unspecified). */
bool mailaddr_normalize(const char *in, char out[MAILADDR_MAX]);

/* True when s (NULL is false) is such an address as it stands, with no spaces around:
 * what may go into an SMTP command and a mail header. tenant-service checks the settings'
 * addresses with it, notification-service SMTP_FROM and what it composes. */
bool mailaddr_valid(const char *s);

#endif
