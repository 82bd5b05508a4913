/* test_pgarray.c - array literals: quoting and escaping of every element, NULL against
 * the text "NULL", numbers, and a buffer reused for a second array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "pgarray.h"

static void elements_are_quoted_and_escaped(void **state)
{
    (void)state;
    struct buf b = {0};
    pgarray_open(&b);
    pgarray_add(&b, "plain");
    pgarray_add(&b, "say \"hola\"");
    pgarray_add(&b, "C:\\dir");
    pgarray_add(&b, NULL);
    pgarray_add(&b, "NULL");
    pgarray_add(&b, "");
    pgarray_add(&b, "a,b {c}");
    pgarray_add(&b, "Añadido €");
    pgarray_close(&b);
    assert_string_equal(b.data, "{\"plain\",\"say \\\"hola\\\"\",\"C:\\\\dir\",NULL,\"NULL\",\"\","
                                "\"a,b {c}\",\"Añadido €\"}");
    buf_free(&b);
}

static void numbers_and_null_numbers(void **state)
{
    (void)state;
    struct buf b = {0};
    pgarray_open(&b);
    pgarray_add_long(&b, 0, false);
    pgarray_add_long(&b, -131026, false);
    pgarray_add_long(&b, 1732406400123LL, false);
    pgarray_add_long(&b, 7, true);
    pgarray_close(&b);
    assert_string_equal(b.data, "{\"0\",\"-131026\",\"1732406400123\",NULL}");
    buf_free(&b);
}

static void a_buffer_opened_again_starts_a_new_array(void **state)
{
    (void)state;
    struct buf b = {0};
    pgarray_open(&b);
    pgarray_close(&b);
    assert_string_equal(b.data, "{}");
    pgarray_open(&b);
    pgarray_add(&b, "x");
    pgarray_close(&b);
    assert_string_equal(b.data, "{\"x\"}");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(elements_are_quoted_and_escaped),
        cmocka_unit_test(numbers_and_null_numbers),
        cmocka_unit_test(a_buffer_opened_again_starts_a_new_array),
    };
    return cmocka_run_group_tests_name("pgarray", tests, NULL, NULL);
}
