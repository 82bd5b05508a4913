/* test_mailaddr.c - the email addresses a resend accepts for a supplier, and those it
 * refuses before anything is queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailaddr.h"

static void accepts_ordinary_addresses_and_lowers_the_domain(void **state)
{
    (void)state;
    char out[MAILADDR_MAX];
    assert_true(mailaddr_normalize("pedidos@harinas.example", out));
    assert_string_equal(out, "pedidos@harinas.example");
    assert_true(mailaddr_normalize("  Ana.Ruiz+po@Molino-Norte.ES ", out));
    assert_string_equal(out, "Ana.Ruiz+po@molino-norte.es");
    assert_true(mailaddr_normalize("o'brien@mail.co.uk", out));
    assert_string_equal(out, "o'brien@mail.co.uk");
}

static void refuses_what_is_not_an_address(void **state)
{
    (void)state;
    char out[MAILADDR_MAX];
    const char *bad[] = {
        "",
        "   ",
        "pedidos",
        "@harinas.example",
        "pedidos@",
        "pedidos@harinas",
        "pedidos@@harinas.example",
        "a@b@harinas.example",
        ".pedidos@harinas.example",
        "pedidos.@harinas.example",
        "ped..idos@harinas.example",
        "pedidos@-harinas.example",
        "pedidos@harinas-.example",
        "pedidos@harinas..example",
        "pedidos@harinas.e",
        "pedidos@harinas.c0m",
        "pedidos@[192.168.0.1]",
        "\"ped idos\"@harinas.example",
        "ped idos@harinas.example",
        "pedidos@harinas.example\n",
        "pedídos@harinas.example",
        "'); DROP TABLE tenants;--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (mailaddr_normalize(bad[i], out))
            fail_msg("accepted \"%s\"", bad[i]);
    }
    assert_false(mailaddr_normalize(NULL, out));
}

/* "a@" and labels of at most 49 'c's, then ".com", n characters in all (n > 60). */
static void address_of_length(char *out, size_t n)
{
    static const char c49[] = "ccccccccccccccccccccccccccccccccccccccccccccccccc";
    size_t len = (size_t)snprintf(out, n + 1, "a@");
    while (n - len - 4 > 0) {
        size_t rest = n - len - 4, label = rest > 50 ? 49 : rest;
        len += (size_t)snprintf(out + len, n + 1 - len, "%.*s", (int)label, c49);
        if (len < n - 4)
            len += (size_t)snprintf(out + len, n + 1 - len, ".");
    }
    snprintf(out + len, n + 1 - len, ".com");
}

static void lengths_are_bounded(void **state)
{
    (void)state;
    char out[MAILADDR_MAX], addr[400];
    snprintf(addr, sizeof addr, "%.64s@harinas.example",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_true(mailaddr_normalize(addr, out));
    snprintf(addr, sizeof addr, "%.65s@harinas.example",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_false(mailaddr_normalize(addr, out));
    /* a 64-character label is one too many */
    snprintf(addr, sizeof addr, "a@%.64s.example",
             "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    assert_false(mailaddr_normalize(addr, out));
    /* 254 characters in all is the most */
    address_of_length(addr, 254);
    assert_int_equal(strlen(addr), 254);
    assert_true(mailaddr_normalize(addr, out));
    address_of_length(addr, 255);
    assert_int_equal(strlen(addr), 255);
    assert_false(mailaddr_normalize(addr, out));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_ordinary_addresses_and_lowers_the_domain),
        cmocka_unit_test(refuses_what_is_not_an_address),
        cmocka_unit_test(lengths_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
