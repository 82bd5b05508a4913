/* compose.c - the decision for one claimed message, in the order DESIGN.md section 6
 * gives: the platform's switch, the tenant's settings, opt-outs, the sender number (the
 * tenant's own, else the platform's), then the template's language, parameters and the
 * Graph body. */
#include "outbox/compose.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "e164.h"
#include "graph/request.h"
#include "amount.h"

static void fail(struct compose_result *out, enum compose_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct compose_result *out, enum compose_outcome outcome, const char *fmt, ...)
{
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    out->outcome = outcome;
    out->error = buf_steal(&b);
}

static bool string_array(const json_t *a)
{
    size_t i;
    const json_t *v;
    bool ok = json_is_array(a);
    json_array_foreach (a, i, v)
        ok = ok && json_is_string(v);
    return ok;
}

/* The body parameters: {{1}} supplier, {{2}} PO number, {{3}} the amount formatted for
 * language; or a generic message's own. A new reference, or NULL with out failed. */
static json_t *parameters(const struct outbox_row *row, const char *language,
                          struct compose_result *out)
{
    char amount[AMOUNT_TEXT_MAX];
    const char *problem = NULL;
    json_t *params = NULL;

    if (row->kind == OUTBOX_TEMPLATE)
        params = json_loads(row->parameters ? row->parameters : "", 0, NULL);
    else if (!row->supplier_name || !row->po_number)
        problem = "the purchase order has no supplier_name or po_number";
    else if (amount_format(row->total_amount, row->currency, language, amount, sizeof amount))
        problem = "the purchase order's total_amount and currency cannot be formatted";
    else /* NULL on invalid UTF-8 */
        params = json_pack("[s, s, s]", row->supplier_name, row->po_number, amount);
    if (!problem && !string_array(params))
        problem = "the message's template parameters are not a list of strings";
    if (problem) {
        json_decref(params);
        params = NULL;
        fail(out, COMPOSE_FAIL, "%s", problem);
    }
    return params;
}

/* A skip for a settings reason is final; one decided on settings that may be older
 * than the message waits instead (stale-if-error sends, never skips). */
static void skip(struct compose_result *out, const struct compose_input *in, const char *reason,
                 bool by_settings)
{
    if (by_settings && in->settings_status == TENANT_SETTINGS_STALE) {
        fail(out, COMPOSE_WAIT,
             "waiting for the tenant's settings: they could not be "
             "confirmed as current");
        return;
    }
    out->outcome = COMPOSE_SKIP;
    out->skip_reason = reason;
}

void compose(const struct compose_input *in, struct compose_result *out)
{
    const struct outbox_row *row = in->row;
    const struct tenant_settings *ts = in->settings;
    json_t *params = NULL;

    memset(out, 0, sizeof(*out));
    if (!in->platform_enabled) {
        skip(out, in, COMPOSE_SKIP_PLATFORM, false);
        return;
    }
    /* An order that waited out its time to live (a paused account, a held template, an
     * outage) would reach the supplier too late to mean anything: it fails instead. */
    if (in->ttl_seconds > 0 && in->now_us - row->created_us > (int64_t)in->ttl_seconds * 1000000) {
        fail(out, COMPOSE_FAIL,
             "expired: not sent within %ld s of the order (WHATSAPP_MESSAGE_TTL_SECONDS)",
             in->ttl_seconds);
        return;
    }
    switch (in->settings_status) {
    case TENANT_SETTINGS_OK:
    case TENANT_SETTINGS_STALE:
        break;
    case TENANT_SETTINGS_UNKNOWN:
        fail(out, COMPOSE_FAIL, "unknown tenant %s", row->tenant_id);
        return;
    case TENANT_SETTINGS_UNAVAILABLE:
        fail(out, COMPOSE_WAIT,
             "waiting for the tenant's settings: tenant-service does not "
             "answer");
        return;
    }
    if (!ts->whatsapp_enabled) {
        skip(out, in, COMPOSE_SKIP_TENANT, true);
        return;
    }
    if (row->kind == OUTBOX_PURCHASE_ORDER && !ts->po_notifications_enabled) {
        skip(out, in, COMPOSE_SKIP_PO, true);
        return;
    }
    /* the bakery's orders go by email only (its email row follows: migration 0016) */
    if (row->kind == OUTBOX_PURCHASE_ORDER && !(ts->po_channels & TENANT_CHANNEL_WHATSAPP)) {
        skip(out, in, COMPOSE_SKIP_CHANNEL, true);
        return;
    }
    if (row->opted_out) {
        skip(out, in, COMPOSE_SKIP_OPTED_OUT, false);
        return;
    }
    if (ts->phone_number_id_invalid) {
        fail(out, COMPOSE_FAIL, "the tenant's whatsapp_phone_number_id is not a phone number id");
        return;
    }
    /* The seed's choice: the tenant's number when assigned, else the platform's. */
    const char *phone = ts->phone_number_id[0] ? ts->phone_number_id : in->default_phone_id;
    if (!*phone) {
        skip(out, in, COMPOSE_SKIP_NO_SENDER, true);
        return;
    }
    if (strlen(row->recipient) >= E164_MAX) {
        fail(out, COMPOSE_FAIL, "the recipient is not an E.164 phone number");
        return;
    }
    const char *language =
        row->kind == OUTBOX_TEMPLATE && row->language ? row->language : ts->language;
    if (row->kind == OUTBOX_PURCHASE_ORDER && in->fallback_language &&
        strcmp(in->fallback_language, language) != 0) {
        snprintf(out->fallback_from, sizeof out->fallback_from, "%s", language);
        language = in->fallback_language;
    }
    params = parameters(row, language, out);
    if (!params)
        return;
    out->body = graph_template_body(row->recipient, row->template_name, language, params, row->id);
    if (!out->body) {
        fail(out, COMPOSE_FAIL, "the Graph request cannot be encoded (invalid UTF-8?)");
        json_decref(params);
        return;
    }
    out->outcome = COMPOSE_SEND;
    snprintf(out->phone_number_id, sizeof out->phone_number_id, "%s", phone);
    snprintf(out->sender_display, sizeof out->sender_display, "%s",
             ts->phone_number_id[0] ? ts->display_phone_number : "");
    snprintf(out->language, sizeof out->language, "%s", language);
    out->parameters = json_dumps(params, JSON_COMPACT);
    json_decref(params);
}

void compose_result_clear(struct compose_result *r)
{
    free(r->error);
    free(r->parameters);
    free(r->body);
    memset(r, 0, sizeof(*r));
}
