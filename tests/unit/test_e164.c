/* test_e164.c - phone number normalization and masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "e164.h"
#include "log.h"

static void accepts_spaces_dashes_and_brackets(void **state)
{
    (void)state;
    char out[E164_MAX];
    assert_true(e164_normalize("+34 612 345 678", out));
    assert_string_equal(out, "+34612345678");
    assert_true(e164_normalize("+34-612-345-678", out));
    assert_string_equal(out, "+34612345678");
    assert_true(e164_normalize("+1 (650) 555-1234", out));
    assert_string_equal(out, "+16505551234");
    assert_true(e164_normalize("0034 612.345.678", out));
    assert_string_equal(out, "+34612345678");
}

static void refuses_what_is_not_e164(void **state)
{
    (void)state;
    char out[E164_MAX];
    const char *bad[] = {
        "",
        "+",
        "612345678",
        "+0 612 345 678",
        "+34 612 abc 678",
        "+3461234",
        "+34612345678901234",
        "++34612345678",
        "+34 612 345 678\n",
        "+34\0x",
        "34612345678",
        "+34/612345678",
        "+1234567890123456",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(e164_normalize(bad[i], out));
    assert_false(e164_normalize(NULL, out));
}

static void fifteen_digits_is_the_maximum(void **state)
{
    (void)state;
    char out[E164_MAX];
    assert_true(e164_normalize("+123456789012345", out));
    assert_string_equal(out, "+123456789012345");
    assert_false(e164_normalize("+1234567890123456", out));
    assert_true(e164_normalize("+12345678", out));
}

static void masking_keeps_only_prefix_and_tail(void **state)
{
    (void)state;
    char out[32];
    assert_string_equal(log_mask_phone("+34612345678", out, sizeof out), "+34612***678");
    assert_string_equal(log_mask_phone("123", out, sizeof out), "***");
    assert_string_equal(log_mask_phone(NULL, out, sizeof out), "***");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_spaces_dashes_and_brackets),
        cmocka_unit_test(refuses_what_is_not_e164),
        cmocka_unit_test(fifteen_digits_is_the_maximum),
        cmocka_unit_test(masking_keeps_only_prefix_and_tail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
