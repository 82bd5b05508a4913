/* test_uuidutil.c - UUID validation and the version 4 UUIDs uuid_new makes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "uuidutil.h"

static void accepts_the_canonical_form_in_either_case(void **state)
{
    (void)state;
    char out[UUID_STR_LEN];
    assert_true(uuid_is_valid("0F1E2D3C-4B5A-4978-8695-A4B3C2D1E0F9", out));
    assert_string_equal(out, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    assert_true(uuid_is_valid("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", NULL));
}

static void refuses_what_is_not_a_uuid(void **state)
{
    (void)state;
    const char *bad[] = {NULL,
                         "",
                         "0f1e2d3c4b5a49788695a4b3c2d1e0f9",
                         "{0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9}",
                         "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f",
                         "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9a",
                         "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0fg",
                         "0f1e2d3c_4b5a-4978-8695-a4b3c2d1e0f9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(uuid_is_valid(bad[i], NULL));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

#define MANY 20000

/* Lower case, canonical, version 4 with the RFC variant, and never the same twice. */
static void new_uuids_are_version_4_and_distinct(void **state)
{
    (void)state;
    char(*made)[UUID_STR_LEN] = calloc(MANY, sizeof *made);
    assert_non_null(made);
    unsigned variant_seen = 0;
    for (size_t i = 0; i < MANY; i++) {
        uuid_new(made[i]);
        char canonical[UUID_STR_LEN];
        assert_true(uuid_is_valid(made[i], canonical));
        assert_string_equal(made[i], canonical);
        assert_int_equal(made[i][14], '4');
        const char *v = strchr("89ab", made[i][19]);
        assert_non_null(v);
        variant_seen |= 1u << (v - "89ab");
    }
    assert_int_equal(variant_seen, 0xf); /* the two free variant bits are random */
    qsort(made, MANY, sizeof *made, cmp_str);
    for (size_t i = 1; i < MANY; i++)
        assert_string_not_equal(made[i - 1], made[i]);
    free(made);
}

static void *make_some(void *arg)
{
    char(*out)[UUID_STR_LEN] = arg;
    for (size_t i = 0; i < MANY / 4; i++)
        uuid_new(out[i]);
    return NULL;
}

/* Threads making UUIDs at once (the HTTP threads do) never make the same one. */
static void threads_make_distinct_uuids(void **state)
{
    (void)state;
    char(*made)[UUID_STR_LEN] = calloc(MANY, sizeof *made);
    assert_non_null(made);
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, make_some, made + i * (MANY / 4)), 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    qsort(made, MANY, sizeof *made, cmp_str);
    for (size_t i = 1; i < MANY; i++)
        assert_string_not_equal(made[i - 1], made[i]);
    free(made);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepts_the_canonical_form_in_either_case),
        cmocka_unit_test(refuses_what_is_not_a_uuid),
        cmocka_unit_test(new_uuids_are_version_4_and_distinct),
        cmocka_unit_test(threads_make_distinct_uuids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
