/* uuidutil.h - UUID validation (libuuid) and generation (OpenSSL's random bytes). */
#ifndef COMMON_UUIDUTIL_H
#define COMMON_UUIDUTIL_H

#include <stdbool.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* True when s is a UUID in the canonical 8-4-4-4-12 hex form (either case). When out is
 * not NULL it receives the lower-case canonical form. */
bool uuid_is_valid(const char *s, char out[UUID_STR_LEN]);
/* Writes a new random (version 4) UUID, lower case. */
void uuid_new(char out[UUID_STR_LEN]);

#endif
