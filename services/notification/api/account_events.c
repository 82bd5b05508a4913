/* account_events.c - each account-level change stored, then turned into its effect. */
#include "api/account_events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "api/handlers.h"
#include "api/store.h"
#include "config.h"
#include "api/waba.h"
#include "jsonutil.h"
#include "log.h"
#include "metrics.h"
#include "outbox/holds.h"
#include "outbox/outbox.h"
#include "outbox/pause.h"
#include "tenants/account_changes.h"

enum effect { APPLIED, IGNORED, INVALID };

static const char events_help[] = "Account-level webhook changes by field and outcome.";

static void count(const char *field, const char *result)
{
    char labels[128];
    snprintf(labels, sizeof labels, "field=\"%s\",result=\"%s\"", field, result);
    metric_inc(metrics_counter("whatsapp_webhook_account_events_total", events_help, labels));
}

static const char *str(const json_t *value, const char *key)
{
    const char *s = json_string_value(json_object_get(value, key));
    return s && *s ? s : NULL;
}

static enum effect template_status(const struct account_event *e, struct holds_event_key key)
{
    const char *name = str(e->value, "message_template_name");
    const char *language = str(e->value, "message_template_language");
    const char *status = str(e->value, "event");
    if (!name || !language || !status || strlen(name) >= HOLDS_NAME_MAX ||
        strlen(language) >= HOLDS_LANGUAGE_MAX)
        return INVALID;
    waba_templates_forget();
    if (holds_template_status(name, language, status, str(e->value, "reason"), key) == HOLDS_OLDER)
        return IGNORED;
    account_changes_template_status(name, language, status, str(e->value, "reason"));
    return APPLIED;
}

/* po_notification leaving UTILITY changes the price of every purchase order: the
 * operator must hear of it. Meta first announces the move (correct_category), then makes
 * it (new_category). */
static enum effect template_category(const struct account_event *e)
{
    const char *name = str(e->value, "message_template_name");
    const char *language = str(e->value, "message_template_language");
    const char *now = str(e->value, "new_category");
    const char *coming = str(e->value, "correct_category");
    if (!name || (!now && !coming))
        return INVALID;
    waba_templates_forget();
    const char *category = now ? now : coming;
    if (strcmp(name, OUTBOX_PO_TEMPLATE) == 0 && strcmp(category, "UTILITY") != 0) {
        char labels[96];
        snprintf(labels, sizeof labels, "template=\"%s\",category=\"%.32s\"", OUTBOX_PO_TEMPLATE,
                 category);
        metric_inc(metrics_counter("whatsapp_template_category_changes_total",
                                   "Moves of a template out of UTILITY announced or made by Meta.",
                                   labels));
        log_error(
            "%s: Meta %s %s (%s) from %s to %s: every purchase order is now priced as %s; "
            "review the template's text or appeal in WhatsApp Manager",
            now ? "TEMPLATE CATEGORY CHANGED" : "TEMPLATE CATEGORY CHANGE ANNOUNCED",
            now ? "moved" : "will move", name, language ? language : "?",
            now ? (str(e->value, "previous_category") ? str(e->value, "previous_category") : "?")
                : "UTILITY",
            category, category);
    } else {
        log_info("template category update\ttemplate=%s language=%s category=%s", name,
                 language ? language : "?", category);
    }
    return APPLIED;
}

static enum effect template_quality(const struct account_event *e)
{
    const char *name = str(e->value, "message_template_name");
    const char *language = str(e->value, "message_template_language");
    const char *quality = str(e->value, "new_quality_score");
    waba_templates_forget();
    log_info("template quality update\ttemplate=%s language=%s quality=%s", name ? name : "?",
             language ? language : "?", quality ? quality : "?");
    if (name && language && quality)
        account_changes_template_quality(name, language, quality);
    return APPLIED;
}

static enum effect number_quality(const struct account_event *e)
{
    const char *number = str(e->value, "display_phone_number");
    const char *event = str(e->value, "event");
    if (!number || !event)
        return INVALID;
    waba_phone_numbers_forget();
    bool bad = strcmp(event, "FLAGGED") == 0 || strcmp(event, "DOWNGRADE") == 0;
    if (bad)
        log_warn("a number's quality fell\tdisplay_phone_number=%s event=%s limit=%s", number,
                 event, str(e->value, "current_limit") ? str(e->value, "current_limit") : "-");
    else
        log_info("a number's quality changed\tdisplay_phone_number=%s event=%s", number, event);
    account_changes_number_quality(number, event);
    return APPLIED;
}

/* The newest account_update applied: an older one arriving late changes nothing. */
static pthread_mutex_t account_lock = PTHREAD_MUTEX_INITIALIZER;
static struct holds_event_key account_newest;

/* The restriction of an ACCOUNT_RESTRICTION that stops our sends (business-initiated
 * messages), or NULL. */
static const json_t *messaging_restriction(const json_t *value)
{
    size_t i;
    const json_t *r;
    json_array_foreach (json_object_get(value, "restriction_info"), i, r) {
        const char *type = str(r, "restriction_type");
        if (type && strcmp(type, "RESTRICTED_BIZ_INITIATED_MESSAGING") == 0)
            return r;
    }
    return NULL;
}

/* True when ban_info disables the account now ("DISABLE", alone or in a list). */
static bool disabled(const json_t *value)
{
    const json_t *state = json_object_get(json_object_get(value, "ban_info"), "waba_ban_state");
    if (json_is_string(state))
        return strcmp(json_string_value(state), "DISABLE") == 0;
    size_t i;
    const json_t *s;
    json_array_foreach (state, i, s) {
        if (json_is_string(s) && strcmp(json_string_value(s), "DISABLE") == 0)
            return true;
    }
    return false;
}

static enum effect account_update(const struct account_event *e, struct holds_event_key key)
{
    const char *event = str(e->value, "event");
    char reason[PAUSE_REASON_MAX];
    if (!event)
        return INVALID;
    pthread_mutex_lock(&account_lock);
    bool newer = key.time_s > account_newest.time_s ||
                 (key.time_s == account_newest.time_s && key.seq > account_newest.seq);
    if (newer)
        account_newest = key;
    pthread_mutex_unlock(&account_lock);
    if (!newer)
        return IGNORED;
    const json_t *r = messaging_restriction(e->value);
    if (strcmp(event, "ACCOUNT_RESTRICTION") == 0 && r) {
        const json_t *until = json_object_get(r, "expiration");
        char *when = NULL;
        if (json_is_integer(until)) {
            json_t *t = json_time_ms((int64_t)json_integer_value(until) * 1000);
            when = xstrdup(json_string_value(t));
            json_decref(t);
        }
        snprintf(reason, sizeof reason,
                 "account_update ACCOUNT_RESTRICTION: RESTRICTED_BIZ_INITIATED_MESSAGING%s%s",
                 when ? " until " : "", when ? when : "");
        free(when);
        pause_set(PAUSE_BY_EVENT, -1, reason);
    } else if (strcmp(event, "DISABLED_UPDATE") == 0 && disabled(e->value)) {
        pause_set(PAUSE_BY_EVENT, -1, "account_update DISABLED_UPDATE: the account is disabled");
    } else {
        log_warn("account update\tevent=%s", event);
    }
    return APPLIED;
}

static enum effect apply(const struct account_event *e, struct holds_event_key key)
{
    const char *f = e->field;
    if (strcmp(f, "message_template_status_update") == 0)
        return template_status(e, key);
    if (strcmp(f, "template_category_update") == 0)
        return template_category(e);
    if (strcmp(f, "phone_number_quality_update") == 0)
        return number_quality(e);
    if (strcmp(f, "account_update") == 0)
        return account_update(e, key);
    if (strcmp(f, "message_template_quality_update") == 0)
        return template_quality(e);
    /* business_capability_update: the portfolio's messaging limit, an integer (-1:
     * unlimited), which the phone-number list shows as a tier too */
    waba_phone_numbers_forget();
    const json_t *limit = json_object_get(e->value, "max_daily_conversations_per_business");
    if (!json_is_integer(limit)) {
        log_info("business capability update without a messaging limit");
        return APPLIED;
    }
    json_int_t n = json_integer_value(limit);
    log_info("business capability update\tmessaging_limit=%lld", (long long)n);
    waba_messaging_limit_report(n < 0 ? 0 : (long)n, "business_capability_update");
    return APPLIED;
}

enum db_status account_events_apply(const struct webhook_batch *b, json_t *summary)
{
    long applied = 0, repeats = 0, invalid = b->events_invalid, ignored = 0;
    enum db_status st = DB_OK;

    for (long k = 0; k < b->events_invalid; k++)
        count("unparsed", "invalid");
    for (long k = 0; k < b->events_unknown; k++)
        count("other", "unknown");

    for (size_t i = 0; i < b->nacc; i++) {
        const struct account_event *e = &b->acc[i];
        long long id = 0;
        char *text = json_dumps(e->value, JSON_COMPACT);
        /* jsonb refuses a NUL character; such a value is Meta's mistake, not a reason to
         * refuse the batch. */
        if (!text || strstr(text, "\\u0000")) {
            free(text);
            invalid++;
            count(e->field, "invalid");
            log_warn("account event not stored: its value has a NUL character\tfield=%s", e->field);
            continue;
        }
        st = store_account_event_add(e->field, e->waba_id, e->time, text, &id);
        free(text);
        if (st != DB_OK)
            break;
        if (id == 0) {
            repeats++;
            count(e->field, "repeat");
            continue;
        }
        switch (apply(e, (struct holds_event_key){e->time, id})) {
        case APPLIED:
            applied++;
            count(e->field, "applied");
            break;
        case IGNORED:
            ignored++;
            count(e->field, "ignored");
            break;
        case INVALID:
            invalid++;
            count(e->field, "invalid");
            log_warn("account event stored but not applied: a key it needs is missing\t"
                     "field=%s id=%lld",
                     e->field, id);
            break;
        }
    }
    json_object_set_new(
        summary, "account_events",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "received",
                  (json_int_t)(b->nacc + (size_t)b->events_invalid + (size_t)b->events_unknown),
                  "applied", (json_int_t)applied, "repeats", (json_int_t)repeats, "ignored",
                  (json_int_t)ignored, "invalid", (json_int_t)invalid, "unknown",
                  (json_int_t)b->events_unknown));
    return st;
}

/* ---------- the history ---------- */

#define EVENTS_DEFAULT_LIMIT 100
#define EVENTS_MAX_LIMIT 500

void handle_account_events_list(struct http_request *req)
{
    long limit = EVENTS_DEFAULT_LIMIT, before = 0;
    const char *field = http_query(req, "field");
    const char *s;
    char before_text[24];
    json_t *rows = NULL;

    if (field) {
        size_t k = 0;
        while (k < webhook_account_fields_count && strcmp(webhook_account_fields[k], field) != 0)
            k++;
        if (k == webhook_account_fields_count) {
            http_reply_field_error(req, 422, "validation_error", "field",
                                   "field must be one of message_template_status_update, "
                                   "message_template_quality_update, template_category_update, "
                                   "phone_number_quality_update, account_update, "
                                   "business_capability_update");
            return;
        }
    }
    s = http_query(req, "limit");
    if (s && !cfg_parse_long(s, 1, EVENTS_MAX_LIMIT, &limit)) {
        http_reply_field_error(req, 422, "validation_error", "limit",
                               "limit must be an integer from 1 to %d", EVENTS_MAX_LIMIT);
        return;
    }
    s = http_query(req, "before");
    if (s && !cfg_parse_long(s, 1, 0x7fffffffffffffffL, &before)) {
        http_reply_field_error(req, 422, "validation_error", "before",
                               "before must be an event id (a positive integer)");
        return;
    }
    snprintf(before_text, sizeof before_text, "%ld", before);
    enum db_status st = store_account_event_list(field, s ? before_text : NULL, limit, &rows);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Reading the account events");
        return;
    }
    const json_t *last = json_array_get(rows, json_array_size(rows) - 1);
    json_t *next = json_array_size(rows) == (size_t)limit
                       ? json_integer(json_integer_value(json_object_get(last, "id")))
                       : json_null();
    http_reply_json(req, 200,
                    json_pack("{s:o, s:I, s:o}", "events", rows, "count",
                              (json_int_t)json_array_size(rows), "next_before", next));
}
