/* e164.h - normalizing phone numbers to E.164 ("+" and 8 to 15 digits). */
#ifndef COMMON_E164_H
#define COMMON_E164_H

#include <stdbool.h>

#define E164_MAX 17 /* '+', 15 digits, NUL */

/* Removes spaces, dashes, dots and brackets from in and checks the rest is '+' followed
 * by 8 to 15 digits, the first not 0. Writes the result to out and returns true, or
 * returns false (out unspecified). A leading "00" international prefix is accepted as
 * '+'; a number without either is refused: we cannot guess its country. */
bool e164_normalize(const char *in, char out[E164_MAX]);

#endif
