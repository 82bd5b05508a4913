/* amount.h - money amounts as an order's message shows them (the {{3}} parameter of
 * po_notification, the email's text): formatted from the exact decimal text (never
 * through a float), in the style of the message's language.
 *
 *   es, eu, ca, gl and every other:   1.250,00 €    1.250,00 USD
 *   en (en, en_US, en-GB...):           €1,250.00    USD 1,250.00
 *
 * Amounts are rounded half away from zero to cents, on the digits. Pure: no state. */
#ifndef COMMON_AMOUNT_H
#define COMMON_AMOUNT_H

#include <stddef.h>

/* The longest result amount_format() writes, NUL included (40 integer digits, their
 * separators, the cents, the sign and the currency). */
#define AMOUNT_TEXT_MAX 96

/* Formats amount (a JSON or SQL numeric text: "-"? digits ["." digits] [e[+-]digits])
 * in currency (ISO 4217, three capital letters) for language into out. Returns 0, or -1
 * when the amount or currency is malformed, has more than 40 integer digits, or out is
 * too small (out is then an empty string). */
int amount_format(const char *amount, const char *currency, const char *language, char *out,
                  size_t outlen) __attribute__((warn_unused_result));

#endif
