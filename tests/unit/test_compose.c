/* test_compose.c - the decision for one claimed message (outbox/compose.h), without a
 * database: every skip reason, stale settings never skipping, the sender choice, the
 * language, the parameters and the exact Graph body of DESIGN.md section 6. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "outbox/compose.h"

#define TENANT "3f0c2a8e-9c1b-4a53-8a44-2f8f5d1e6b7a"
#define MESSAGE "0b6f2f0e-8f0e-4a8c-9a55-1c2d3e4f5a6b"
#define PLATFORM "109876543210001"

static struct outbox_row po(void)
{
    struct outbox_row r = {
        .id = MESSAGE,
        .tenant_id = TENANT,
        .kind = OUTBOX_PURCHASE_ORDER,
        .recipient = "+34612345678",
        .template_name = "po_notification",
        .supplier_name = "Proveedor ABC",
        .po_number = "PO-2024-001",
        .total_amount = "1250.00",
        .currency = "EUR",
    };
    return r;
}

static struct tenant_settings settings(bool enabled, const char *phone, const char *language)
{
    struct tenant_settings s;
    memset(&s, 0, sizeof s);
    s.whatsapp_enabled = enabled;
    s.po_notifications_enabled = true;
    s.po_channels = TENANT_CHANNEL_WHATSAPP;
    snprintf(s.phone_number_id, sizeof s.phone_number_id, "%s", phone);
    snprintf(s.display_phone_number, sizeof s.display_phone_number, "%s",
             *phone ? "+34 612 345 679" : "");
    snprintf(s.language, sizeof s.language, "%s", language);
    return s;
}

static struct compose_result decide(enum tenant_settings_status st,
                                    const struct tenant_settings *ts, const struct outbox_row *row)
{
    struct compose_input in = {true, PLATFORM, st, ts, row};
    struct compose_result out;
    compose(&in, &out);
    return out;
}

static void assert_skip(struct compose_result *c, const char *reason)
{
    assert_int_equal(c->outcome, COMPOSE_SKIP);
    assert_string_equal(c->skip_reason, reason);
    assert_null(c->body);
    compose_result_clear(c);
}

static void assert_wait(struct compose_result *c)
{
    assert_int_equal(c->outcome, COMPOSE_WAIT);
    assert_non_null(strstr(c->error, "waiting for the tenant's settings"));
    assert_null(c->body);
    compose_result_clear(c);
}

static void the_design_documents_request_exactly(void **state)
{
    (void)state;
    struct outbox_row row = po();
    struct tenant_settings ts = settings(true, "109876543210002", "es");
    struct compose_result c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_SEND);
    assert_string_equal(c.phone_number_id, "109876543210002");
    assert_string_equal(c.sender_display, "+34 612 345 679");
    assert_string_equal(c.language, "es");
    assert_string_equal(c.parameters, "[\"Proveedor ABC\",\"PO-2024-001\",\"1.250,00 €\"]");
    assert_string_equal(
        c.body,
        "{\"messaging_product\":\"whatsapp\",\"recipient_type\":\"individual\","
        "\"to\":\"+34612345678\",\"type\":\"template\",\"template\":{\"name\":"
        "\"po_notification\",\"language\":{\"code\":\"es\"},\"components\":[{\"type\":"
        "\"body\",\"parameters\":[{\"type\":\"text\",\"text\":\"Proveedor ABC\"},{\"type\":"
        "\"text\",\"text\":\"PO-2024-001\"},{\"type\":\"text\",\"text\":\"1.250,00 €\"}]}]},"
        "\"biz_opaque_callback_data\":\"" MESSAGE "\"}");
    compose_result_clear(&c);
}

static void the_tenants_language_formats_the_amount(void **state)
{
    (void)state;
    struct outbox_row row = po();
    struct tenant_settings ts = settings(true, "", "en");
    struct compose_result c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_SEND);
    assert_string_equal(c.language, "en");
    assert_string_equal(c.parameters, "[\"Proveedor ABC\",\"PO-2024-001\",\"€1,250.00\"]");
    compose_result_clear(&c);

    /* a generic message's own language and parameters win */
    row.kind = OUTBOX_TEMPLATE;
    row.language = "eu";
    row.parameters = "[\"a\",\"b\"]";
    c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_SEND);
    assert_string_equal(c.language, "eu");
    assert_string_equal(c.parameters, "[\"a\",\"b\"]");
    compose_result_clear(&c);
}

static void the_sender_is_the_tenants_number_else_the_platforms(void **state)
{
    (void)state;
    struct outbox_row row = po();
    struct tenant_settings own = settings(true, "109876543210003", "es");
    struct compose_result c = decide(TENANT_SETTINGS_OK, &own, &row);
    assert_string_equal(c.phone_number_id, "109876543210003");
    compose_result_clear(&c);

    struct tenant_settings none = settings(true, "", "es");
    c = decide(TENANT_SETTINGS_OK, &none, &row);
    assert_int_equal(c.outcome, COMPOSE_SEND);
    assert_string_equal(c.phone_number_id, PLATFORM);
    assert_string_equal(c.sender_display, ""); /* the platform's, not the tenant's */
    compose_result_clear(&c);

    struct compose_input in = {true, "", TENANT_SETTINGS_OK, &none, &row};
    compose(&in, &c);
    assert_skip(&c, COMPOSE_SKIP_NO_SENDER);

    none.phone_number_id_invalid = true;
    c = decide(TENANT_SETTINGS_OK, &none, &row);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    assert_non_null(strstr(c.error, "not a phone number id"));
    compose_result_clear(&c);
}

static void every_skip_reason(void **state)
{
    (void)state;
    struct outbox_row row = po();
    struct tenant_settings ts = settings(true, "109876543210002", "es");
    struct compose_input in = {false, PLATFORM, TENANT_SETTINGS_OK, &ts, &row};
    struct compose_result c;
    compose(&in, &c);
    assert_skip(&c, COMPOSE_SKIP_PLATFORM);

    struct tenant_settings off = settings(false, "109876543210002", "es");
    c = decide(TENANT_SETTINGS_OK, &off, &row);
    assert_skip(&c, COMPOSE_SKIP_TENANT);

    struct tenant_settings no_po = ts;
    no_po.po_notifications_enabled = false;
    c = decide(TENANT_SETTINGS_OK, &no_po, &row);
    assert_skip(&c, COMPOSE_SKIP_PO);
    row.kind = OUTBOX_TEMPLATE; /* only purchase orders follow enable_po_notifications */
    row.parameters = "[]";
    c = decide(TENANT_SETTINGS_OK, &no_po, &row);
    assert_int_equal(c.outcome, COMPOSE_SEND);
    compose_result_clear(&c);

    row = po();
    row.opted_out = true;
    c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_skip(&c, COMPOSE_SKIP_OPTED_OUT);
}

/* Settings that may be older than the message (tenant-service cannot be asked) may send
 * but never skip: a skip for a settings reason waits. Other skips stand. */
static void stale_settings_send_but_never_skip(void **state)
{
    (void)state;
    struct outbox_row row = po();
    struct tenant_settings ts = settings(true, "109876543210002", "es");
    struct compose_result c = decide(TENANT_SETTINGS_STALE, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_SEND);
    compose_result_clear(&c);

    struct tenant_settings off = settings(false, "", "es");
    c = decide(TENANT_SETTINGS_STALE, &off, &row);
    assert_wait(&c);
    struct tenant_settings no_po = ts;
    no_po.po_notifications_enabled = false;
    c = decide(TENANT_SETTINGS_STALE, &no_po, &row);
    assert_wait(&c);
    struct tenant_settings none = settings(true, "", "es");
    struct compose_input in = {true, "", TENANT_SETTINGS_STALE, &none, &row};
    compose(&in, &c);
    assert_wait(&c);

    row.opted_out = true;
    c = decide(TENANT_SETTINGS_STALE, &ts, &row);
    assert_skip(&c, COMPOSE_SKIP_OPTED_OUT);
}

static void unknown_and_unavailable_tenants(void **state)
{
    (void)state;
    struct outbox_row row = po();
    struct compose_result c = decide(TENANT_SETTINGS_UNKNOWN, NULL, &row);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    assert_string_equal(c.error, "unknown tenant " TENANT);
    compose_result_clear(&c);
    c = decide(TENANT_SETTINGS_UNAVAILABLE, NULL, &row);
    assert_wait(&c);
}

static void bad_rows_fail_before_sending(void **state)
{
    (void)state;
    struct tenant_settings ts = settings(true, "", "es");
    struct outbox_row row = po();
    row.supplier_name = NULL;
    struct compose_result c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    assert_non_null(strstr(c.error, "supplier_name"));
    compose_result_clear(&c);

    row = po();
    row.total_amount = "twelve";
    c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    compose_result_clear(&c);

    row = po();
    row.kind = OUTBOX_TEMPLATE;
    row.parameters = "[1, 2]";
    c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    assert_non_null(strstr(c.error, "list of strings"));
    compose_result_clear(&c);

    row = po();
    row.supplier_name = "Prov\xff"; /* not UTF-8 */
    c = decide(TENANT_SETTINGS_OK, &ts, &row);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    compose_result_clear(&c);
}

/* WHATSAPP_MESSAGE_TTL_SECONDS: an order older than it fails unsent, whatever held it
 * (even settings that cannot be read); one second younger, it goes. */
static void an_order_past_its_time_to_live_fails_unsent(void **state)
{
    (void)state;
    struct tenant_settings ts = settings(true, "", "es");
    struct outbox_row row = po();
    row.created_us = 1765000000LL * 1000000;
    struct compose_input in = {
        true, PLATFORM, TENANT_SETTINGS_OK, &ts, &row, row.created_us + 43201LL * 1000000, 43200};
    struct compose_result c;
    compose(&in, &c);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    assert_string_equal(c.error, "expired: not sent within 43200 s of the order "
                                 "(WHATSAPP_MESSAGE_TTL_SECONDS)");
    assert_null(c.body);
    compose_result_clear(&c);
    in.settings_status = TENANT_SETTINGS_UNAVAILABLE; /* it would wait for ever */
    compose(&in, &c);
    assert_int_equal(c.outcome, COMPOSE_FAIL);
    compose_result_clear(&c);
    in.settings_status = TENANT_SETTINGS_OK;
    in.now_us = row.created_us + 43199LL * 1000000;
    compose(&in, &c);
    assert_int_equal(c.outcome, COMPOSE_SEND);
    compose_result_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_design_documents_request_exactly),
        cmocka_unit_test(the_tenants_language_formats_the_amount),
        cmocka_unit_test(the_sender_is_the_tenants_number_else_the_platforms),
        cmocka_unit_test(every_skip_reason),
        cmocka_unit_test(stale_settings_send_but_never_skip),
        cmocka_unit_test(unknown_and_unavailable_tenants),
        cmocka_unit_test(bad_rows_fail_before_sending),
        cmocka_unit_test(an_order_past_its_time_to_live_fails_unsent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
