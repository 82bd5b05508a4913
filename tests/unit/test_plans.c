/* test_plans.c - tenant-service's plans (plans.h): the three plans and their default
 * quotas, the quota table the statements read, and the check of an admin's change of a
 * plan: what passes, and the field each refusal names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "plans.h"

static void three_plans_with_their_quotas(void **state)
{
    (void)state;
    assert_int_equal(plan_find("basic")->monthly_quota, 0);
    assert_int_equal(plan_find("standard")->monthly_quota, 500);
    assert_int_equal(plan_find("enterprise")->monthly_quota, PLAN_UNLIMITED);
    assert_null(plan_find("gold"));
    assert_null(plan_find("Standard"));
    assert_null(plan_find(""));
    assert_null(plan_find(NULL));
    assert_string_equal(plan_names(), "basic, standard or enterprise");
    assert_string_equal(plan_quotas_json(), "{\"basic\":0,\"standard\":500,\"enterprise\":null}");
}

static char field[64]; /* the refused field of the last check(): p->field dies with the body */

/* Checks text; returns whether it passed, with *c and *p filled. */
static bool check(const char *text, struct plan_change *c, struct plan_problem *p)
{
    json_error_t err;
    json_t *body = json_loads(text, 0, &err);
    if (!body)
        fail_msg("bad fixture %s: %s", text, err.text);
    memset(p, 0, sizeof(*p));
    bool ok = plan_check_change(body, c, p);
    snprintf(field, sizeof field, "%s", ok ? "" : p->field);
    json_decref(body);
    return ok;
}

static void good_changes(void **state)
{
    (void)state;
    struct plan_change c;
    struct plan_problem p;
    assert_true(check("{\"plan\": \"enterprise\"}", &c, &p));
    assert_string_equal(c.plan->name, "enterprise");
    assert_false(c.set_override);
    assert_true(check("{\"quota_override\": 1000}", &c, &p));
    assert_null(c.plan);
    assert_true(c.set_override);
    assert_int_equal(c.quota_override, 1000);
    assert_true(check("{\"plan\": \"basic\", \"quota_override\": null}", &c, &p));
    assert_string_equal(c.plan->name, "basic");
    assert_true(c.set_override);
    assert_int_equal(c.quota_override, -1);
    assert_true(check("{\"quota_override\": 0}", &c, &p));
    assert_int_equal(c.quota_override, 0);
    assert_true(check("{\"quota_override\": 2147483647}", &c, &p));
    assert_int_equal(c.quota_override, PLAN_QUOTA_MAX);
    assert_true(check("{}", &c, &p));
    assert_null(c.plan);
    assert_false(c.set_override);
}

static void bad_changes_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"plan\": \"gold\"}", "plan"},
        {"{\"plan\": \"Enterprise\"}", "plan"},
        {"{\"plan\": null}", "plan"},
        {"{\"plan\": 2}", "plan"},
        {"{\"plan\": [\"basic\"]}", "plan"},
        {"{\"quota_override\": -1}", "quota_override"},
        {"{\"quota_override\": \"10\"}", "quota_override"},
        {"{\"quota_override\": 10.5}", "quota_override"},
        {"{\"quota_override\": 10.0}", "quota_override"},
        {"{\"quota_override\": true}", "quota_override"},
        {"{\"quota_override\": 2147483648}", "quota_override"},
        {"{\"plan\": \"basic\", \"quota_override\": -5}", "quota_override"},
        {"{\"plan\": \"basic\", \"colour\": \"red\"}", "colour"},
        {"{\"monthly_quota\": 10}", "monthly_quota"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct plan_change c;
        struct plan_problem p;
        if (check(cases[i].body, &c, &p))
            fail_msg("%s passed", cases[i].body);
        assert_string_equal(field, cases[i].field);
        assert_non_null(strstr(p.message, cases[i].field));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(three_plans_with_their_quotas),
        cmocka_unit_test(good_changes),
        cmocka_unit_test(bad_changes_name_the_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
