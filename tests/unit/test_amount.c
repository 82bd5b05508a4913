/* test_amount.c - the {{3}} amount of po_notification: every language style, rounding on
 * the digits, exponents, and refusal of what is not an amount. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "amount.h"

struct amount_case {
    const char *amount;
    const char *currency;
    const char *language;
    const char *expected; /* NULL: refused */
};

static void run_cases(const struct amount_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct amount_case *c = &cases[i];
        char out[AMOUNT_TEXT_MAX];
        int rc = amount_format(c->amount, c->currency, c->language, out, sizeof out);
        if (c->expected) {
            if (rc != 0 || strcmp(out, c->expected) != 0)
                fail_msg("%s %s %s: got rc %d \"%s\", want \"%s\"", c->amount, c->currency,
                         c->language, rc, out, c->expected);
        } else if (rc != -1 || out[0] != '\0') {
            fail_msg("%s %s %s: accepted as \"%s\"", c->amount ? c->amount : "(null)",
                     c->currency ? c->currency : "(null)", c->language ? c->language : "(null)",
                     out);
        }
    }
}

static void design_examples(void **state)
{
    (void)state;
    static const struct amount_case cases[] = {
        {"1250", "EUR", "es", "1.250,00 €"},
        {"1250.00", "EUR", "es", "1.250,00 €"},
        {"1250", "EUR", "eu", "1.250,00 €"},
        {"1250", "EUR", "en", "€1,250.00"},
        {"1250", "USD", "es", "1.250,00 USD"},
        {"1250", "USD", "en", "USD 1,250.00"},
        {"1250", "GBP", "en_GB", "GBP 1,250.00"},
        {"1250", "EUR", "en-US", "€1,250.00"},
        /* the four Iberian languages write it alike (issue 19) */
        {"1250", "EUR", "ca", "1.250,00 €"},
        {"1250", "EUR", "gl", "1.250,00 €"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void grouping(void **state)
{
    (void)state;
    static const struct amount_case cases[] = {
        {"0", "EUR", "es", "0,00 €"},
        {"7", "EUR", "es", "7,00 €"},
        {"999.99", "EUR", "es", "999,99 €"},
        {"1000", "EUR", "en", "€1,000.00"},
        {"12345.6", "EUR", "es", "12.345,60 €"},
        {"123456", "EUR", "en", "€123,456.00"},
        {"1234567.89", "EUR", "es", "1.234.567,89 €"},
        {"1234567.89", "EUR", "en", "€1,234,567.89"},
        {"0001250.5", "EUR", "es", "1.250,50 €"},
        {".5", "EUR", "es", "0,50 €"},
        {"5.", "EUR", "es", "5,00 €"},
        {"1234567890123456789012345678901234567890", "EUR", "en",
         "€1,234,567,890,123,456,789,012,345,678,901,234,567,890.00"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void rounds_half_away_from_zero_on_digits(void **state)
{
    (void)state;
    /* 0.1 + 0.2 style values that a float would get wrong are exact here. */
    static const struct amount_case cases[] = {
        {"1250.004", "EUR", "es", "1.250,00 €"},
        {"1250.005", "EUR", "es", "1.250,01 €"},
        {"1250.0999999999999", "EUR", "es", "1.250,10 €"},
        {"2.675", "EUR", "en", "€2.68"},
        {"1.005", "EUR", "en", "€1.01"},
        {"999.995", "EUR", "es", "1.000,00 €"},
        {"99999.999", "EUR", "en", "€100,000.00"},
        {"0.004", "EUR", "es", "0,00 €"},
        {"0.005", "EUR", "es", "0,01 €"},
        {"-0.004", "EUR", "es", "0,00 €"},
        {"-2.675", "EUR", "es", "-2,68 €"},
        {"-1250", "EUR", "en", "-€1,250.00"},
        {"-1250", "USD", "en", "-USD 1,250.00"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void exponents(void **state)
{
    (void)state;
    static const struct amount_case cases[] = {
        {"1.25e3", "EUR", "es", "1.250,00 €"},
        {"1.25E+3", "EUR", "en", "€1,250.00"},
        {"125000e-2", "EUR", "es", "1.250,00 €"},
        {"5e-3", "EUR", "es", "0,01 €"},
        {"4e-3", "EUR", "es", "0,00 €"},
        {"1e-64", "EUR", "es", "0,00 €"},
        {"1e39", "EUR", "en", "€1,000,000,000,000,000,000,000,000,000,000,000,000,000.00"},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void refuses_what_is_not_an_amount(void **state)
{
    (void)state;
    static const struct amount_case cases[] = {
        {"", "EUR", "es", NULL},
        {"-", "EUR", "es", NULL},
        {".", "EUR", "es", NULL},
        {"+5", "EUR", "es", NULL},
        {"1,250.00", "EUR", "es", NULL},
        {"1 250", "EUR", "es", NULL},
        {"12a", "EUR", "es", NULL},
        {"1e", "EUR", "es", NULL},
        {"1e+", "EUR", "es", NULL},
        {"1e65", "EUR", "es", NULL},
        {"1e40", "EUR", "es", NULL}, /* 41 integer digits */
        {"0x10", "EUR", "es", NULL},
        {"NaN", "EUR", "es", NULL},
        {"inf", "EUR", "es", NULL},
        {"1.5 ", "EUR", "es", NULL},
        {"--1", "EUR", "es", NULL},
        {"1250", "eur", "es", NULL},
        {"1250", "EURO", "es", NULL},
        {"1250", "EU", "es", NULL},
        {"1250", "", "es", NULL},
        {NULL, "EUR", "es", NULL},
        {"1250", NULL, "es", NULL},
        {"1250", "EUR", NULL, NULL},
        {"12345678901234567890123456789012345678901234567890123456789012345", "EUR", "es", NULL},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

static void never_overruns_the_output(void **state)
{
    (void)state;
    char out[13];
    assert_int_equal(amount_format("1250", "EUR", "es", out, sizeof out), 0);
    assert_string_equal(out, "1.250,00 €"); /* 12 bytes ('€' is 3) and the NUL */
    assert_int_equal(amount_format("12500", "EUR", "es", out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(amount_format("1", "EUR", "es", out, 1), -1);
    assert_int_equal(amount_format("1", "EUR", "es", NULL, 10), -1);
    char big[AMOUNT_TEXT_MAX];
    memset(big, 'x', sizeof big);
    assert_int_equal(amount_format("-1e39", "USD", "es", big, sizeof big), 0);
    assert_true(strlen(big) < AMOUNT_TEXT_MAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(design_examples),
        cmocka_unit_test(grouping),
        cmocka_unit_test(rounds_half_away_from_zero_on_digits),
        cmocka_unit_test(exponents),
        cmocka_unit_test(refuses_what_is_not_an_amount),
        cmocka_unit_test(never_overruns_the_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
