/* test_mail_compose.c - a purchase order as an email (mail/compose.h), without a server:
 * the language and its words, the addresses and their fallbacks, HTML escaping, what is
 * refused, and when an email row is skipped and why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailaddr.h"
#include "mail/compose.h"

static struct tenant_settings bakery(void)
{
    struct tenant_settings ts = {
        .whatsapp_enabled = true,
        .language = "es",
        .monthly_quota = 500,
        .po_channels = TENANT_CHANNEL_EMAIL,
        .email_enabled = true,
    };
    return ts;
}

static struct mail_order order(void)
{
    struct mail_order o = {
        .to = "pedidos@harinas.example",
        .supplier_name = "Harinas <Norte> & Hijos",
        .po_number = "PO-9",
        .total_amount = "1250.5",
        .currency = "EUR",
    };
    return o;
}

static void words_and_addresses_follow_the_bakery(void **state)
{
    (void)state;
    struct tenant_settings ts = bakery();
    struct mail_order o = order();
    struct mail m;
    char error[256];

    /* no address of its own: SMTP_FROM; Spanish; the amount as Spanish writes it */
    assert_int_equal(mail_compose(&o, &ts, "pedidos@plataforma.example", &m, error, sizeof error),
                     0);
    assert_string_equal(m.from_address, "pedidos@plataforma.example");
    assert_string_equal(m.from_name, "");
    assert_string_equal(m.reply_to, "");
    assert_string_equal(m.subject, "Orden de compra PO-9");
    assert_string_equal(m.text, "Hola Harinas <Norte> & Hijos, has recibido una nueva orden de "
                                "compra PO-9 por un total de 1.250,50 \xe2\x82\xac.\r\n");
    /* the same words in the HTML, escaped */
    assert_non_null(strstr(m.html, "<html lang=\"es\">"));
    assert_non_null(strstr(m.html, "Hola Harinas &lt;Norte&gt; &amp; Hijos, has recibido"));
    mail_clear(&m);

    /* its own address, name and reply-to; the order's language wins over its default */
    snprintf(ts.email_from_address, sizeof ts.email_from_address, "comandes@forn.example");
    snprintf(ts.email_from_name, sizeof ts.email_from_name, "Forn Estel");
    snprintf(ts.email_reply_to, sizeof ts.email_reply_to, "forn@forn.example");
    o.language = "ca";
    assert_int_equal(mail_compose(&o, &ts, "pedidos@plataforma.example", &m, error, sizeof error),
                     0);
    assert_string_equal(m.from_address, "comandes@forn.example");
    assert_string_equal(m.reply_to, "forn@forn.example");
    assert_string_equal(m.subject, "Ordre de compra PO-9 \xc2\xb7 Forn Estel");
    assert_string_equal(m.language, "ca");
    mail_clear(&m);

    /* an unknown order language: the bakery's */
    o.language = "xx";
    ts.language[0] = '\0';
    snprintf(ts.language, sizeof ts.language, "en");
    assert_int_equal(mail_compose(&o, &ts, "", &m, error, sizeof error), 0);
    assert_string_equal(m.subject, "Purchase order PO-9 \xc2\xb7 Forn Estel");
    mail_clear(&m);
}

static void what_cannot_be_sent_is_refused(void **state)
{
    (void)state;
    struct tenant_settings ts = bakery();
    struct mail_order o = order();
    struct mail m;
    char error[256];

    o.to = "not an address";
    assert_int_equal(mail_compose(&o, &ts, "p@plataforma.example", &m, error, sizeof error), -1);
    assert_non_null(strstr(error, "supplier's email address"));
    o = order();
    assert_int_equal(mail_compose(&o, &ts, "", &m, error, sizeof error), -1);
    assert_non_null(strstr(error, "no sender address"));
    o.total_amount = "12,5";
    assert_int_equal(mail_compose(&o, &ts, "p@plataforma.example", &m, error, sizeof error), -1);
    /* a header cannot be smuggled in through an address */
    assert_false(mailaddr_valid("a@b.example\r\nBcc: c@d.example"));
    assert_false(mailaddr_valid("<a@b.example>"));
    assert_true(mailaddr_valid("pedidos+po@harinas-norte.example"));
}

static void an_email_row_is_skipped_only_for_a_reason(void **state)
{
    (void)state;
    struct mail_policy p = {.configured = true, .whatsapp_on = true, .fallback_wanted = true};
    struct tenant_settings ts = bakery();

    ts.po_channels = TENANT_CHANNEL_WHATSAPP;
    assert_null(mail_skip_reason(&p, &ts, true)); /* a fallback, wanted */
    p.fallback_wanted = false;
    /* WhatsApp chosen (its switch on, "whatsapp" in the channels): no fallback */
    assert_string_equal(mail_skip_reason(&p, &ts, true), MAIL_SKIP_FALLBACK_OFF);
    /* both channels chosen: the email is the bakery's choice, not a fallback */
    ts.po_channels = TENANT_CHANNEL_EMAIL | TENANT_CHANNEL_WHATSAPP;
    assert_null(mail_skip_reason(&p, &ts, true));
    /* email chosen, WhatsApp not: among the channels, switched off, no plan for it */
    ts.po_channels = TENANT_CHANNEL_EMAIL;
    assert_null(mail_skip_reason(&p, &ts, true));
    ts.po_channels = TENANT_CHANNEL_EMAIL | TENANT_CHANNEL_WHATSAPP;
    ts.whatsapp_enabled = false;
    assert_null(mail_skip_reason(&p, &ts, true));
    ts.whatsapp_enabled = true;
    ts.monthly_quota = 0;
    assert_null(mail_skip_reason(&p, &ts, true));
    ts.monthly_quota = 500;
    p.whatsapp_on = false;
    assert_null(mail_skip_reason(&p, &ts, true));
    p.whatsapp_on = true;
    /* WhatsApp only, switched off, fallback not wanted: no */
    ts.po_channels = TENANT_CHANNEL_WHATSAPP;
    ts.whatsapp_enabled = false;
    assert_string_equal(mail_skip_reason(&p, &ts, true), MAIL_SKIP_FALLBACK_OFF);
    /* not a fallback: always, when email can go at all */
    assert_null(mail_skip_reason(&p, &ts, false));
    ts.email_enabled = false;
    assert_string_equal(mail_skip_reason(&p, &ts, false), MAIL_SKIP_TENANT);
    p.configured = false;
    assert_string_equal(mail_skip_reason(&p, &ts, false), MAIL_SKIP_NOT_CONFIGURED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(words_and_addresses_follow_the_bakery),
        cmocka_unit_test(what_cannot_be_sent_is_refused),
        cmocka_unit_test(an_email_row_is_skipped_only_for_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
