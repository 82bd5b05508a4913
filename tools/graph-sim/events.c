/* events.c - builds the values of account-level webhooks in Meta's shapes (template ids
 * are numbers there, as in Meta's webhook reference) and queues them on the webhook
 * sender, which signs and delivers them like statuses. */
#include "events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "settings.h"
#include "sim.h"
#include "webhook.h"

static const char *const fields[] = {
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "phone_number_quality_update",
    "account_update",
    "business_capability_update",
};
#define NFIELDS (sizeof fields / sizeof fields[0])

const char *events_tier_name(long limit)
{
    switch (limit) {
    case 250:
        return "TIER_250";
    case 2000:
        return "TIER_2K";
    case 10000:
        return "TIER_10K";
    case 100000:
        return "TIER_100K";
    default:
        return "TIER_UNLIMITED";
    }
}

static long current_limit(void)
{
    struct sim_settings s;
    settings_get(&s);
    return s.messaging_limit;
}

static void queue(const char *field, json_t *value, long delay_ms)
{
    if (webhook_account(field, value, delay_ms) != 0)
        log_debug("account event not sent: no webhook URL\tfield=%s", field);
}

/* The template part of a value: id (a number), name, language. A new object. */
static json_t *template_value(const char *name, const char *language, const struct tpl_info *info)
{
    return json_pack("{s:I, s:s, s:s}", "message_template_id",
                     (json_int_t)strtoll(info->id, NULL, 10), "message_template_name", name,
                     "message_template_language", language);
}

void events_template_status(const char *name, const char *language, const struct tpl_info *info,
                            const char *reason, long delay_ms)
{
    json_t *v = template_value(name, language, info);
    json_object_set_new(v, "event", json_string(info->status));
    json_object_set_new(v, "message_template_category", json_string(info->category));
    json_object_set_new(v, "reason", json_string(reason && *reason ? reason : "NONE"));
    queue("message_template_status_update", v, delay_ms);
}

/* Queues field for a template whose what (the key's stem) went from previous to now: Meta
 * names the two keys previous_<what> and new_<what>. */
static void queue_template_change(const char *field, const char *name, const char *language,
                                  const struct tpl_info *info, const char *what,
                                  const char *previous, const char *now)
{
    char key[64];
    json_t *v = template_value(name, language, info);
    snprintf(key, sizeof key, "previous_%s", what);
    json_object_set_new(v, key, json_string(previous));
    snprintf(key, sizeof key, "new_%s", what);
    json_object_set_new(v, key, json_string(now));
    queue(field, v, 0);
}

void events_template_quality(const char *name, const char *language, const struct tpl_info *info,
                             const char *previous)
{
    queue_template_change("message_template_quality_update", name, language, info, "quality_score",
                          previous, info->quality);
}

void events_template_category(const char *name, const char *language, const struct tpl_info *info,
                              const char *previous)
{
    queue_template_change("template_category_update", name, language, info, "category", previous,
                          info->category);
}

void events_phone_quality(const struct sim_phone *p, const char *event)
{
    const char *tier = events_tier_name(current_limit());
    queue("phone_number_quality_update",
          json_pack("{s:s, s:s, s:s, s:s}", "display_phone_number", p->digits, "event", event,
                    "current_limit", tier, "max_daily_conversations_per_business", tier),
          0);
}

/* Fills the keys of v that Meta sends and the caller left out. Returns 0, or -1 with a
 * reason in err. */
static int fill(const char *field, json_t *v, char *err, size_t errlen)
{
    const char *tier = events_tier_name(current_limit());
    if (strncmp(field, "message_template", 16) == 0 ||
        strcmp(field, "template_category_update") == 0) {
        const char *name = json_string_value(json_object_get(v, "message_template_name"));
        const char *lang = json_string_value(json_object_get(v, "message_template_language"));
        struct tpl_info info;
        if (name && lang && templates_find(name, lang, &info) == TPL_FOUND) {
            if (!json_object_get(v, "message_template_id"))
                json_object_set_new(v, "message_template_id",
                                    json_integer((json_int_t)strtoll(info.id, NULL, 10)));
            if (strcmp(field, "message_template_status_update") == 0 &&
                !json_object_get(v, "message_template_category"))
                json_object_set_new(v, "message_template_category", json_string(info.category));
        }
        if (strcmp(field, "message_template_status_update") == 0 && !json_object_get(v, "reason"))
            json_object_set_new(v, "reason", json_string("NONE"));
        return 0;
    }
    if (strcmp(field, "phone_number_quality_update") == 0 || strcmp(field, "account_update") == 0) {
        const char *id = json_string_value(json_object_get(v, "phone_number_id"));
        struct sim_phone p;
        if (id) { /* our short form: the number by id */
            if (!phones_get(id, &p)) {
                snprintf(err, errlen, "value.phone_number_id: no such number");
                return -1;
            }
            json_object_set_new(
                v, strcmp(field, "account_update") == 0 ? "phone_number" : "display_phone_number",
                json_string(p.digits));
            json_object_del(v, "phone_number_id");
        }
        if (strcmp(field, "phone_number_quality_update") == 0 &&
            !json_object_get(v, "current_limit"))
            json_object_set_new(v, "current_limit", json_string(tier));
        return 0;
    }
    if (strcmp(field, "business_capability_update") == 0) {
        /* an integer here (Meta: 250, 2000, 10000, 100000, or -1 for unlimited), a tier
         * name in phone_number_quality_update */
        long limit = current_limit();
        if (!json_object_get(v, "max_daily_conversations_per_business"))
            json_object_set_new(v, "max_daily_conversations_per_business",
                                json_integer(limit > 0 ? limit : -1));
        if (!json_object_get(v, "max_phone_numbers_per_business"))
            json_object_set_new(v, "max_phone_numbers_per_business", json_integer(20));
    }
    return 0;
}

/* Checks one {field, value, raw} item and builds its value (a new reference in *out). */
static int one(const json_t *item, const char **field_out, json_t **out, char *err, size_t errlen)
{
    const char *field = json_string_value(json_object_get(item, "field"));
    const json_t *value = json_object_get(item, "value");
    const json_t *raw = json_object_get(item, "raw");
    size_t k = 0;
    while (field && k < NFIELDS && strcmp(fields[k], field) != 0)
        k++;
    if (!field || k == NFIELDS) {
        snprintf(err, errlen,
                 "field must be one of message_template_status_update, "
                 "message_template_quality_update, template_category_update, "
                 "phone_number_quality_update, account_update, business_capability_update");
        return -1;
    }
    if (raw && !json_is_boolean(raw)) {
        snprintf(err, errlen, "raw must be true or false");
        return -1;
    }
    if (json_is_true(raw)) { /* exactly as given: for testing bad payloads */
        *field_out = fields[k];
        *out = value ? json_deep_copy(value) : json_null();
        return 0;
    }
    if (value && !json_is_object(value)) {
        snprintf(err, errlen, "value must be an object (or use raw)");
        return -1;
    }
    json_t *v = value ? json_deep_copy(value) : json_object();
    if (fill(fields[k], v, err, errlen) != 0) {
        json_decref(v);
        return -1;
    }
    *field_out = fields[k];
    *out = v;
    return 0;
}

int events_emit(const json_t *body, char *err, size_t errlen)
{
    const char *names[64];
    json_t *values[64];
    size_t n = 0, i;
    int rc = -1;
    const json_t *list = json_object_get(body, "events");
    const json_t *item;
    struct sim_settings set;

    if (list &&
        (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 64)) {
        snprintf(err, errlen, "events must be an array of 1 to 64 {field, value} objects");
        return -1;
    }
    settings_get(&set);
    if (!set.webhook_url[0])
        return -2;
    if (!list) {
        if (one(body, &names[0], &values[0], err, errlen) != 0)
            return -1;
        n = 1;
    } else {
        json_array_foreach (list, i, item) {
            if (!json_is_object(item) || one(item, &names[n], &values[n], err, errlen) != 0) {
                if (!json_is_object(item))
                    snprintf(err, errlen, "events[%zu] must be an object", i);
                goto out;
            }
            n++;
        }
    }
    for (i = 0; i < n; i++) {
        queue(names[i], values[i], 0);
        values[i] = NULL;
    }
    rc = 0;
out:
    for (i = 0; i < n; i++)
        json_decref(values[i]);
    return rc;
}
