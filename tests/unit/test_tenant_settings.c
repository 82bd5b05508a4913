/* test_tenant_settings.c - notification-service's reading of a tenant's settings
 * document (tenants/settings.h), the plan's two keys above all: what tenant-service
 * sends is taken, and an older tenant-service (no keys), a null quota or a mistyped one
 * leave sending unlimited rather than stopped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tenants/settings.h"

/* Parses text (a JSON object) into *out. */
static void parse(const char *text, struct tenant_settings *out)
{
    json_error_t err;
    json_t *doc = json_loads(text, 0, &err);
    if (!doc)
        fail_msg("bad fixture %s: %s", text, err.text);
    memset(out, 0x5a, sizeof(*out)); /* nothing may be left over */
    tenant_settings_parse(doc, out);
    json_decref(doc);
}

static void plan_and_quota_are_taken(void **state)
{
    (void)state;
    struct tenant_settings s;
    parse("{\"plan\": \"standard\", \"whatsapp_monthly_quota\": 500}", &s);
    assert_string_equal(s.plan, "standard");
    assert_int_equal(s.monthly_quota, 500);
    parse("{\"plan\": \"basic\", \"whatsapp_monthly_quota\": 0}", &s);
    assert_string_equal(s.plan, "basic");
    assert_int_equal(s.monthly_quota, 0);
    /* an override of the plan's quota comes as the effective number */
    parse("{\"plan\": \"basic\", \"whatsapp_monthly_quota\": 2147483647}", &s);
    assert_int_equal(s.monthly_quota, 2147483647L);
}

static void null_quota_is_unlimited(void **state)
{
    (void)state;
    struct tenant_settings s;
    parse("{\"plan\": \"enterprise\", \"whatsapp_monthly_quota\": null}", &s);
    assert_string_equal(s.plan, "enterprise");
    assert_int_equal(s.monthly_quota, TENANT_QUOTA_UNLIMITED);
}

/* An older tenant-service sends neither key: keep sending. */
static void absent_keys_leave_sending_unlimited(void **state)
{
    (void)state;
    struct tenant_settings s;
    parse("{\"whatsapp_enabled\": true, \"whatsapp_phone_number_id\": \"109876543210001\"}", &s);
    assert_string_equal(s.plan, "");
    assert_int_equal(s.monthly_quota, TENANT_QUOTA_UNLIMITED);
    assert_true(s.whatsapp_enabled);
    assert_string_equal(s.phone_number_id, "109876543210001");
    parse("{}", &s);
    assert_string_equal(s.plan, "");
    assert_int_equal(s.monthly_quota, TENANT_QUOTA_UNLIMITED);
    assert_string_equal(s.language, "es");
}

static void mistyped_keys_take_the_defaults(void **state)
{
    (void)state;
    static const char *const quotas[] = {"-1", "-500", "\"500\"", "500.0", "true", "[500]", "{}"};
    struct tenant_settings s;
    for (size_t i = 0; i < sizeof quotas / sizeof quotas[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"plan\": \"standard\", \"whatsapp_monthly_quota\": %s}",
                 quotas[i]);
        parse(text, &s);
        if (s.monthly_quota != TENANT_QUOTA_UNLIMITED)
            fail_msg("whatsapp_monthly_quota %s read as %ld", quotas[i], s.monthly_quota);
        assert_string_equal(s.plan, "standard");
    }
    static const char *const plans[] = {
        "42",           "null",          "\"\"",
        "\"Standard\"", "\"gold plan\"", "\"a-plan-name-longer-than-fits\"",
        "[\"basic\"]"};
    for (size_t i = 0; i < sizeof plans / sizeof plans[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"plan\": %s, \"whatsapp_monthly_quota\": 7}", plans[i]);
        parse(text, &s);
        if (s.plan[0])
            fail_msg("plan %s read as \"%s\"", plans[i], s.plan);
        assert_int_equal(s.monthly_quota, 7);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_and_quota_are_taken),
        cmocka_unit_test(null_quota_is_unlimited),
        cmocka_unit_test(absent_keys_leave_sending_unlimited),
        cmocka_unit_test(mistyped_keys_take_the_defaults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
