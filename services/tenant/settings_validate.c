/* settings_validate.c - the notification-settings keys a tenant may change, the values
 * each takes, and the free-text rule shared with the tenants' names. */
#include "settings_validate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mailaddr.h"
#include "po_template.h"

enum setting_kind {
    SET_BOOL,
    SET_LANGUAGE, /* one of po_texts[] (common/po_template.h) */
    SET_EMAIL,    /* "" or an address */
    SET_TEXT,     /* a single line */
    SET_CHANNELS, /* distinct members of channels[] */
};

struct setting {
    const char *key;
    enum setting_kind kind;
    size_t max_chars; /* SET_EMAIL, SET_TEXT */
};

/* The keys a tenant may change (DESIGN.md sections 3 and 5). */
static const struct setting settings[] = {
    {"whatsapp_enabled", SET_BOOL, 0},
    {"whatsapp_default_language", SET_LANGUAGE, 0},
    {"email_enabled", SET_BOOL, 0},
    {"email_from_address", SET_EMAIL, 254},
    {"email_from_name", SET_TEXT, 100},
    {"email_reply_to", SET_EMAIL, 254},
    {"enable_po_notifications", SET_BOOL, 0},
    {"enable_inventory_alerts", SET_BOOL, 0},
    {"enable_production_alerts", SET_BOOL, 0},
    {"enable_forecast_alerts", SET_BOOL, 0},
    {"po_notification_channels", SET_CHANNELS, 0},
    {"inventory_alert_channels", SET_CHANNELS, 0},
    {"production_alert_channels", SET_CHANNELS, 0},
    {"forecast_alert_channels", SET_CHANNELS, 0},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

/* Set only through POST /api/v1/admin/whatsapp/tenants/{id}/assign-phone. */
static const char *const admin_keys[] = {"whatsapp_phone_number_id",
                                         "whatsapp_display_phone_number"};
/* Served with the settings, set only through PUT /api/v1/admin/tenants/{id}/plan. */
static const char *const plan_keys[] = {"plan", "whatsapp_monthly_quota"};
/* The per-tenant credentials of the old model: the master account replaced them. */
static const char *const removed_keys[] = {"whatsapp_access_token", "whatsapp_business_account_id",
                                           "whatsapp_api_version"};
static const char *const channels[] = {"email", "whatsapp"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool member(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, set[i]) == 0)
            return true;
    }
    return false;
}

/* Checks value for setting s. Returns NULL, or a sentence fragment for the 422. */
static const char *value_problem(const struct setting *s, const json_t *value)
{
    switch (s->kind) {
    case SET_BOOL:
        return json_is_boolean(value) ? NULL : "must be true or false";
    case SET_LANGUAGE:
        if (!json_is_string(value) || !po_text(json_string_value(value)))
            return "must be one of \"es\", \"en\", \"eu\", \"ca\", \"gl\"";
        return NULL;
    case SET_EMAIL:
    case SET_TEXT: {
        if (!json_is_string(value))
            return "must be a string";
        const char *text = json_string_value(value); /* jansson refuses \u0000 */
        const char *problem = text_problem(text, s->max_chars);
        if (problem)
            return problem;
        if (s->kind == SET_EMAIL && text[0] && !mailaddr_valid(text))
            return "must be an e-mail address (or \"\" for none)";
        return NULL;
    }
    case SET_CHANNELS: {
        if (!json_is_array(value))
            return "must be an array of channels (\"email\", \"whatsapp\")";
        size_t i;
        const json_t *item;
        json_array_foreach (value, i, item) {
            if (!json_is_string(item) ||
                !member(json_string_value(item), channels, COUNT(channels)))
                return "must hold only the channels \"email\" and \"whatsapp\"";
            for (size_t j = 0; j < i; j++) {
                if (json_equal(item, json_array_get(value, j)))
                    return "must not name a channel twice";
            }
        }
        return NULL;
    }
    }
    return "is not valid";
}

static void refuse(struct settings_problem *p, unsigned status, const char *code, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void refuse(struct settings_problem *p, unsigned status, const char *code, const char *field,
                   const char *fmt, ...)
{
    va_list ap;
    p->status = status;
    p->code = code;
    p->field = field;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
}

bool settings_validate_patch(const json_t *patch, struct settings_problem *problem)
{
    const char *key;
    const json_t *value;

    for (size_t i = 0; i < COUNT(admin_keys); i++) {
        if (json_object_get(patch, admin_keys[i])) {
            refuse(problem, 403, "phone_assigned_by_admin", admin_keys[i],
                   "The WhatsApp phone number is assigned by the platform admin; "
                   "contact support to get one");
            return false;
        }
    }
    for (size_t i = 0; i < COUNT(plan_keys); i++) {
        if (json_object_get(patch, plan_keys[i])) {
            refuse(problem, 403, "plan_set_by_admin", plan_keys[i],
                   "%s comes with the WhatsApp plan, which the platform admin sets; contact "
                   "support to change it",
                   plan_keys[i]);
            return false;
        }
    }
    json_object_foreach ((json_t *)patch, key, value) {
        if (member(key, removed_keys, COUNT(removed_keys))) {
            refuse(problem, 422, "validation_error", key,
                   "%s no longer exists: WhatsApp messages go out through the "
                   "platform's master account",
                   key);
            return false;
        }
        const struct setting *s = NULL;
        for (size_t i = 0; i < NSETTINGS && !s; i++) {
            if (strcmp(settings[i].key, key) == 0)
                s = &settings[i];
        }
        if (!s) {
            refuse(problem, 422, "validation_error", key, "%s is not a notification setting", key);
            return false;
        }
        const char *why = value_problem(s, value);
        if (why) {
            if (s->max_chars && strcmp(why, "is too long") == 0)
                refuse(problem, 422, "validation_error", key,
                       "%s is too long (at most %zu characters)", key, s->max_chars);
            else
                refuse(problem, 422, "validation_error", key, "%s %s", key, why);
            return false;
        }
    }
    return true;
}

/* Decodes the UTF-8 sequence at *p (valid, as jansson guarantees) and moves past it. */
static unsigned long next_code_point(const unsigned char **p)
{
    const unsigned char *s = *p;
    unsigned long cp;
    int more;
    if (s[0] < 0x80) {
        cp = s[0];
        more = 0;
    } else if ((s[0] & 0xE0) == 0xC0) {
        cp = s[0] & 0x1Fu;
        more = 1;
    } else if ((s[0] & 0xF0) == 0xE0) {
        cp = s[0] & 0x0Fu;
        more = 2;
    } else {
        cp = s[0] & 0x07u;
        more = 3;
    }
    int i = 1;
    for (; i <= more && (s[i] & 0xC0) == 0x80; i++)
        cp = (cp << 6) | (s[i] & 0x3Fu);
    *p = s + i; /* a truncated sequence (not from jansson) still moves forward */
    return cp;
}

/* Characters that change how the text around them shows without being seen: the bidi
 * embeddings, overrides and isolates, and the zero-width ones. */
static bool invisible_format(unsigned long cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060 || cp == 0xFEFF;
}

const char *name_problem(const char *s, size_t max_chars)
{
    const char *problem = text_problem(s, max_chars);
    if (problem)
        return problem;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (invisible_format(next_code_point(&p)))
            return "must not contain invisible or text-direction characters (U+200B-200D, "
                   "U+202A-202E, U+2060, U+2066-2069, U+FEFF)";
    }
    return NULL;
}

const char *text_problem(const char *s, size_t max_chars)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return "must not contain control characters";
        if ((*p & 0xC0) != 0x80) /* jansson guarantees UTF-8: count lead bytes */
            chars++;
    }
    if (chars > max_chars)
        return "is too long";
    return NULL;
}
