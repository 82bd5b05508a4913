/* mail/compose.c - a purchase order as an email in the bakery's language. */
#include "mail/compose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "mailaddr.h"
#include "amount.h"
#include "po_template.h"

/* The subject's words, per offered language ("%s": the order number). */
static const struct {
    const char *language;
    const char *subject;
} subjects[] = {
    {"es", "Orden de compra %s"}, {"en", "Purchase order %s"}, {"eu", "%s erosketa-agindua"},
    {"ca", "Ordre de compra %s"}, {"gl", "Orde de compra %s"},
};

static const char *subject_format(const char *language)
{
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++)
        if (strcmp(subjects[i].language, language) == 0)
            return subjects[i].subject;
    return subjects[0].subject;
}

/* body with {{1}}..{{3}} replaced by params, into b; escape writes HTML. */
static void fill(struct buf *b, const char *body, const char *const params[3], bool escape)
{
    for (const char *p = body; *p;) {
        const char *v = NULL;
        if (p[0] == '{' && p[1] == '{' && p[2] >= '1' && p[2] <= '3' && p[3] == '}' && p[4] == '}')
            v = params[p[2] - '1'];
        const char *s = v ? v : p;
        size_t n = v ? strlen(v) : 1;
        for (size_t i = 0; i < n; i++) {
            const char c = s[i];
            if (escape && c == '<')
                buf_append_str(b, "&lt;");
            else if (escape && c == '>')
                buf_append_str(b, "&gt;");
            else if (escape && c == '&')
                buf_append_str(b, "&amp;");
            else if (escape && c == '"')
                buf_append_str(b, "&quot;");
            else
                buf_append(b, &c, 1);
        }
        p += v ? 5 : 1;
    }
}

int mail_compose(const struct mail_order *order, const struct tenant_settings *ts,
                 const char *smtp_from, struct mail *out, char *error, size_t errlen)
{
    char amount[AMOUNT_TEXT_MAX];
    struct buf b = {0};
    memset(out, 0, sizeof(*out));

    const char *language = order->language && po_text(order->language) ? order->language
                           : po_text(ts->language)                     ? ts->language
                                                                       : "es";
    snprintf(out->language, sizeof out->language, "%s", language);
    const char *from = ts->email_from_address[0] ? ts->email_from_address : smtp_from;
    if (!mailaddr_valid(order->to)) {
        snprintf(error, errlen, "the supplier's email address is not valid");
        return -1;
    }
    if (!mailaddr_valid(from)) {
        snprintf(error, errlen,
                 "no sender address: the bakery's email_from_address and "
                 "SMTP_FROM are unset or not valid");
        return -1;
    }
    if (!order->supplier_name || !order->po_number ||
        amount_format(order->total_amount, order->currency, language, amount, sizeof amount)) {
        snprintf(error, errlen,
                 "the purchase order's supplier, number or amount cannot be "
                 "written");
        return -1;
    }
    out->from_address = xstrdup(from);
    out->from_name = xstrdup(ts->email_from_name);
    out->reply_to = xstrdup(mailaddr_valid(ts->email_reply_to) ? ts->email_reply_to : "");
    out->to = xstrdup(order->to);

    buf_printf(&b, subject_format(language), order->po_number);
    if (ts->email_from_name[0])
        buf_printf(&b, " \xc2\xb7 %s", ts->email_from_name); /* U+00B7 middle dot */
    out->subject = buf_steal(&b);

    const char *params[3] = {order->supplier_name, order->po_number, amount};
    const char *body = po_text(language)->body;
    fill(&b, body, params, false);
    buf_append_str(&b, "\r\n");
    out->text = buf_steal(&b);

    buf_printf(&b,
               "<!DOCTYPE html>\r\n<html lang=\"%s\"><head><meta charset=\"utf-8\">"
               "</head><body><p>",
               language);
    fill(&b, body, params, true);
    buf_append_str(&b, "</p></body></html>\r\n");
    out->html = buf_steal(&b);
    return 0;
}

void mail_clear(struct mail *m)
{
    free(m->from_address);
    free(m->from_name);
    free(m->reply_to);
    free(m->to);
    free(m->subject);
    free(m->text);
    free(m->html);
    memset(m, 0, sizeof(*m));
}

const char *mail_skip_reason(const struct mail_policy *p, const struct tenant_settings *ts,
                             bool fallback)
{
    if (!p->configured)
        return MAIL_SKIP_NOT_CONFIGURED;
    if (!ts->email_enabled)
        return MAIL_SKIP_TENANT;
    bool whatsapp = p->whatsapp_on && ts->whatsapp_enabled && ts->monthly_quota != 0 &&
                    (ts->po_channels & TENANT_CHANNEL_WHATSAPP);
    bool chosen = (ts->po_channels & TENANT_CHANNEL_EMAIL) &&
                  (!whatsapp || (ts->po_channels & TENANT_CHANNEL_WHATSAPP));
    return fallback && !p->fallback_wanted && !chosen ? MAIL_SKIP_FALLBACK_OFF : NULL;
}
