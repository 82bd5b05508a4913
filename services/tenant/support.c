/* support.c - the platform's support contact: SUPPORT_EMAIL and SUPPORT_PHONE checked at
 * start, and GET /api/v1/support-contact, which gives them to the owner's card (a
 * "contact support" without an address helps nobody). */
#include "support.h"

#include <string.h>

#include "app.h"
#include "handlers.h"

static bool email_ok(const char *s)
{
    size_t n = strlen(s);
    const char *at = strchr(s, '@');
    if (n > SUPPORT_EMAIL_MAX || !at || at == s || !at[1] || strchr(at + 1, '@'))
        return false;
    for (const char *p = s; *p; p++) {
        if (*p <= ' ' || *p > '~' || strchr("<>\"(),;:\\[]", *p))
            return false;
    }
    return true;
}

static bool phone_ok(const char *s)
{
    size_t n = strlen(s);
    return n <= SUPPORT_PHONE_MAX && strspn(s, "+0123456789 -().") == n && strpbrk(s, "0123456789");
}

const char *support_contact_problem(const char *email, const char *phone)
{
    if (email && email[0] && !email_ok(email))
        return "SUPPORT_EMAIL must be an e-mail address such as soporte@example.com";
    if (phone && phone[0] && !phone_ok(phone))
        return "SUPPORT_PHONE must be a phone number such as \"+34 900 123 456\" (at most 32 "
               "characters)";
    return NULL;
}

static json_t *configured(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

/* Any signed-in caller may read it: the contact is the platform's, not a tenant's. */
void handle_support_contact(struct http_request *req)
{
    const struct tenant_app *app = http_app(req);
    http_reply_json(req, 200,
                    json_pack("{s:o, s:o}", "email", configured(app->cfg.support_email), "phone",
                              configured(app->cfg.support_phone)));
}
