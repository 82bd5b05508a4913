/* console_auth.h - the web pages' sign-in (issue 22): one-time links, the session cookie
 * and its CSRF token. The handlers are in handlers.h. */
#ifndef TENANT_CONSOLE_AUTH_H
#define TENANT_CONSOLE_AUTH_H

#include "http.h"

#define CONSOLE_SESSION_COOKIE "bakery_session"
#define CONSOLE_LINK_TTL_MAX 900 /* 15 minutes: a link is a password in an e-mail */
#define CONSOLE_SECRET_HEX 64    /* codes, session ids, CSRF tokens: 32 random bytes */

/* The SHA-256 (hex) under which the session with id value is stored; false when value
 * is not an id we hand out. */
bool console_session_hash(const char *value, char out[CONSOLE_SECRET_HEX + 1])
    __attribute__((warn_unused_result));

/* The HTTP layer's session check (struct http_session_hook): the live session whose id is
 * value, with its CSRF token. Unknown, malformed or ended: HTTP_SESSION_NONE. */
enum http_session_result console_session_verify(const char *value, struct auth_principal *out,
                                                char csrf[HTTP_CSRF_MAX]);

#endif
