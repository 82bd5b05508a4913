/* support.h - the platform's support contact (SUPPORT_EMAIL, SUPPORT_PHONE): the check
 * of its configuration at start, pure so that tests/unit/test_support.c runs the same
 * code, and the route that gives it to the pages. */
#ifndef TENANT_SUPPORT_H
#define TENANT_SUPPORT_H

#include <stddef.h>

#define SUPPORT_EMAIL_MAX 254
#define SUPPORT_PHONE_MAX 32

/* NULL when email and phone (either may be NULL or "": not configured) are acceptable,
 * else a static sentence naming the variable at fault. An address is one '@' between
 * non-empty parts, printable ASCII without spaces or <>"; a phone is digits with "+ -()."
 * as Meta and people write them; each within its _MAX. */
const char *support_contact_problem(const char *email, const char *phone);

#endif
