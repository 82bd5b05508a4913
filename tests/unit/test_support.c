/* test_support.c - the check of tenant-service's support contact (support.h): what
 * SUPPORT_EMAIL and SUPPORT_PHONE accept, and that a refusal names the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support.h"

static void unset_or_well_formed_values_pass(void **state)
{
    (void)state;
    assert_null(support_contact_problem(NULL, NULL));
    assert_null(support_contact_problem("", ""));
    assert_null(support_contact_problem("soporte@bakery.example", "+34 900 123 456"));
    assert_null(support_contact_problem("help+wa@example.com", "(900) 123-456"));
}

static void a_bad_email_names_support_email(void **state)
{
    (void)state;
    static const char *const bad[] = {"soporte",      "@example.com",         "soporte@",
                                      "a@b@c",        "so porte@example.com", "<a@b.example>",
                                      "a@b.example\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = support_contact_problem(bad[i], NULL);
        assert_non_null(p);
        assert_non_null(strstr(p, "SUPPORT_EMAIL"));
    }
    char long_email[300];
    memset(long_email, 'a', sizeof long_email - 1);
    long_email[sizeof long_email - 1] = '\0';
    long_email[10] = '@';
    assert_non_null(support_contact_problem(long_email, NULL));
}

static void a_bad_phone_names_support_phone(void **state)
{
    (void)state;
    static const char *const bad[] = {"call us", "+34 900 123 456 ext. 2", "---",
                                      "+34 900 123 456 789 012 345 678 901 234"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = support_contact_problem(NULL, bad[i]);
        assert_non_null(p);
        assert_non_null(strstr(p, "SUPPORT_PHONE"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unset_or_well_formed_values_pass),
        cmocka_unit_test(a_bad_email_names_support_email),
        cmocka_unit_test(a_bad_phone_names_support_phone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
