/* webhook_parse.c - reading a webhook body: every entry[].changes[].value's statuses[]
 * and messages[], each item validated on its own; bad ones are counted and skipped. */
#include "api/webhook_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "uuidutil.h"

#define TIMESTAMP_MAX 253402300799LL /* 9999-12-31T23:59:59Z */
#define LOGGED_ITEMS_MAX 10          /* bad items logged one by one per request */

void webhook_batch_free(struct webhook_batch *b)
{
    json_decref(b->body);
    for (size_t i = 0; i < b->nowned; i++)
        free(b->owned[i]);
    free(b->owned);
    free(b->ev);
    free(b->in);
    free(b->acc);
}

const char *const webhook_account_fields[] = {
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "phone_number_quality_update",
    "account_update",
    "business_capability_update",
};
const size_t webhook_account_fields_count =
    sizeof webhook_account_fields / sizeof webhook_account_fields[0];

static void skip_item(struct webhook_batch *b, long *counter, const char *kind, const char *why,
                      size_t entry, size_t change, size_t index)
{
    (*counter)++;
    if (b->logged++ < LOGGED_ITEMS_MAX)
        log_warn("webhook item skipped\tkind=%s reason=\"%s\" entry=%zu change=%zu index=%zu", kind,
                 why, entry, change, index);
}

/* A string without embedded NULs, at most max bytes (0: any), or NULL. */
static const char *clean_str(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != json_string_length(v) || (max && json_string_length(v) > max))
        return NULL;
    return s;
}

/* Meta's unix timestamps come as strings ("1750263773"); integers are accepted too. */
static bool parse_ts(const json_t *v, long long *out)
{
    long parsed;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0 || i > TIMESTAMP_MAX)
            return false;
        *out = i;
        return true;
    }
    const char *s = clean_str(v, 32);
    if (!s || !cfg_parse_long(s, 0, (long)TIMESTAMP_MAX, &parsed))
        return false;
    *out = parsed;
    return true;
}

/* errors[0] of a failed status as one line: "title: message (details)", skipping what is
 * absent or repeated. Returns a fresh string the batch owns, or NULL. */
/* Hands text (owned, NULL fine) to the batch, which frees it; returns it. */
static const char *keep(struct webhook_batch *b, char *text)
{
    if (!text)
        return NULL;
    if (b->nowned == b->ownedcap) {
        b->ownedcap = b->ownedcap ? 2 * b->ownedcap : 8;
        b->owned = xrealloc(b->owned, b->ownedcap * sizeof(*b->owned));
    }
    b->owned[b->nowned++] = text;
    return text;
}

static const char *error_text(struct webhook_batch *b, const json_t *err)
{
    const char *title = clean_str(json_object_get(err, "title"), 0);
    const char *message = clean_str(json_object_get(err, "message"), 0);
    const char *details =
        clean_str(json_object_get(json_object_get(err, "error_data"), "details"), 0);
    struct buf text = {0};

    if (title && message && strcmp(title, message) != 0)
        buf_printf(&text, "%s: %s", title, message);
    else if (message || title)
        buf_append_str(&text, message ? message : title);
    if (details && (!message || strcmp(details, message) != 0))
        buf_printf(&text, text.len ? " (%s)" : "%s", details);
    if (!text.len) {
        buf_free(&text);
        return NULL;
    }
    return keep(b, buf_steal(&text));
}

static void add_status(struct webhook_batch *b, const json_t *item, size_t entry, size_t change,
                       size_t index)
{
    static const char *const known[] = {"sent", "delivered", "read", "failed"};
    struct webhook_status e = {0};
    const char *why = NULL;

    e.wamid = clean_str(json_object_get(item, "id"), WEBHOOK_WAMID_MAX);
    e.status = clean_str(json_object_get(item, "status"), 32);
    if (!json_is_object(item))
        why = "not an object";
    else if (!e.wamid || !*e.wamid)
        why = "id missing or invalid";
    else if (!e.status)
        why = "status missing or invalid";
    else if (!parse_ts(json_object_get(item, "timestamp"), &e.ts))
        why = "timestamp missing or invalid";
    if (why) {
        skip_item(b, &b->statuses_invalid, "status", why, entry, change, index);
        return;
    }
    size_t k = 0;
    while (k < sizeof known / sizeof known[0] && strcmp(known[k], e.status) != 0)
        k++;
    if (k == sizeof known / sizeof known[0]) {
        /* Not an error: Meta adds statuses (e.g. "deleted") we have no use for. */
        b->statuses_unknown++;
        return;
    }
    e.user_id = clean_str(json_object_get(item, "recipient_user_id"), WEBHOOK_USER_ID_MAX);
    const json_t *pricing = json_object_get(item, "pricing");
    if (json_is_object(pricing))
        e.pricing = keep(b, json_dumps(pricing, JSON_COMPACT | JSON_SORT_KEYS));
    const char *callback = clean_str(json_object_get(item, "biz_opaque_callback_data"), 64);
    e.callback_id = callback && uuid_is_valid(callback, NULL) ? callback : NULL;
    if (strcmp(e.status, "failed") == 0) {
        const json_t *err = json_array_get(json_object_get(item, "errors"), 0);
        const json_t *code = json_object_get(err, "code");
        if (json_is_integer(code) && json_integer_value(code) >= -2147483647 &&
            json_integer_value(code) <= 2147483647) {
            e.has_error_code = true;
            e.error_code = (long)json_integer_value(code);
        }
        e.error_message = json_is_object(err) ? error_text(b, err) : NULL;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 64;
        b->ev = xrealloc(b->ev, b->cap * sizeof(*b->ev));
    }
    b->ev[b->n++] = e;
}

/* STOP/BAJA and START/ALTA, any case, surrounded by any white space. */
static enum inbound_action keyword(const char *text)
{
    static const struct {
        const char *word;
        enum inbound_action action;
    } words[] = {
        {"STOP", INBOUND_OPT_OUT},
        {"BAJA", INBOUND_OPT_OUT},
        {"START", INBOUND_OPT_IN},
        {"ALTA", INBOUND_OPT_IN},
    };
    if (!text)
        return INBOUND_OTHER;
    while (*text == ' ' || (*text >= '\t' && *text <= '\r'))
        text++;
    size_t len = strlen(text);
    while (len && (text[len - 1] == ' ' || (text[len - 1] >= '\t' && text[len - 1] <= '\r')))
        len--;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i].word) == len && strncasecmp(words[i].word, text, len) == 0)
            return words[i].action;
    }
    return INBOUND_OTHER;
}

static void add_inbound(struct webhook_batch *b, const json_t *item, const char *phone_number_id,
                        size_t entry, size_t change, size_t index)
{
    struct inbound in = {0};
    const char *from = clean_str(json_object_get(item, "from"), 20);
    char plus[24];
    const char *why = NULL;

    /* A user with a username may be named only by a business-scoped user id. */
    in.user_id = clean_str(json_object_get(item, "from_user_id"), WEBHOOK_USER_ID_MAX);
    snprintf(plus, sizeof plus, "+%s", from ? from : "");
    if (!json_is_object(item))
        why = "not an object";
    else if (!phone_number_id)
        why = "metadata.phone_number_id missing";
    else if (!from && !in.user_id)
        why = "neither from nor from_user_id";
    else if (from && !e164_normalize(plus, in.from))
        why = "from is not a phone number";
    if (why) {
        skip_item(b, &b->inbound_invalid, "message", why, entry, change, index);
        return;
    }
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *text = NULL;
    if (type && strcmp(type, "text") == 0)
        text = clean_str(json_object_get(json_object_get(item, "text"), "body"), 0);
    else if (type && strcmp(type, "button") == 0)
        text = clean_str(json_object_get(json_object_get(item, "button"), "text"), 0);
    in.action = keyword(text);
    in.phone_number_id = phone_number_id;
    in.id = clean_str(json_object_get(item, "id"), WEBHOOK_WAMID_MAX);
    /* An opt-out is never lost for want of a timestamp: then it counts from now. */
    if (!parse_ts(json_object_get(item, "timestamp"), &in.ts))
        in.ts = (long long)time(NULL);
    if (b->nin == b->incap) {
        b->incap = b->incap ? 2 * b->incap : 8;
        b->in = xrealloc(b->in, b->incap * sizeof(*b->in));
    }
    b->in[b->nin++] = in;
}

/* Keeps a change of an account-level field; counts and logs the rest. */
static void add_account_event(struct webhook_batch *b, const json_t *entry, const char *field,
                              const json_t *value, size_t ei, size_t ci)
{
    const char *known = NULL;
    for (size_t k = 0; k < webhook_account_fields_count && !known; k++) {
        if (strcmp(webhook_account_fields[k], field) == 0)
            known = webhook_account_fields[k];
    }
    if (!known) {
        skip_item(b, &b->events_unknown, "change", "a field we do not subscribe to", ei, ci, 0);
        return;
    }
    if (!json_is_object(value)) {
        skip_item(b, &b->events_invalid, known, "value is not an object", ei, ci, 0);
        return;
    }
    struct account_event e = {.field = known, .value = value};
    if (!parse_ts(json_object_get(entry, "time"), &e.time))
        e.time = (long long)time(NULL); /* an event is never lost for want of a time */
    e.waba_id = clean_str(json_object_get(entry, "id"), 64);
    if (b->nacc == b->acccap) {
        b->acccap = b->acccap ? 2 * b->acccap : 4;
        b->acc = xrealloc(b->acc, b->acccap * sizeof(*b->acc));
    }
    b->acc[b->nacc++] = e;
}

/* Collects the statuses, inbound messages and account-level changes of every
 * entry[].changes[]. */
static void collect(struct webhook_batch *b, const json_t *body)
{
    size_t ei, ci, i;
    const json_t *entry, *change, *item;

    json_array_foreach (json_object_get(body, "entry"), ei, entry) {
        json_array_foreach (json_object_get(entry, "changes"), ci, change) {
            const json_t *value = json_object_get(change, "value");
            const char *field = json_string_value(json_object_get(change, "field"));
            if (field && strcmp(field, "messages") != 0) {
                add_account_event(b, entry, field, value, ei, ci);
                continue;
            }
            if (!json_is_object(value))
                continue;
            const char *phone_number_id = clean_str(
                json_object_get(json_object_get(value, "metadata"), "phone_number_id"), 64);
            json_array_foreach (json_object_get(value, "statuses"), i, item)
                add_status(b, item, ei, ci, i);
            json_array_foreach (json_object_get(value, "messages"), i, item)
                add_inbound(b, item, phone_number_id, ei, ci, i);
        }
    }
}

bool webhook_parse(const char *raw, size_t len, struct webhook_batch *b, char *err, size_t errlen)
{
    json_error_t jerr;

    /* Embedded NULs are allowed so that one odd inbound text cannot reject a whole batch;
     * clean_str() refuses them where they matter. */
    b->body = json_loadb(raw, len, JSON_ALLOW_NUL, &jerr);
    if (!b->body || !json_is_object(b->body)) {
        snprintf(err, errlen, "%s", b->body ? "not a JSON object" : jerr.text);
        return false;
    }
    collect(b, b->body);
    return true;
}
