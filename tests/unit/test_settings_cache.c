/* test_settings_cache.c - tenant-service's settings cache (settings_cache.h) on its own: it
 * answers only while it may, never keeps a document read before a change it applied,
 * forgets what it is told to and keeps the rest, and holds at most its bound, the least
 * recently read going first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monotonic.h"
#include "settings_cache.h"

#define BOUND 3
static const char ids[5][UUID_STR_LEN] = {
    "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002",
    "00000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000004",
    "00000000-0000-4000-8000-000000000005",
};

/* True when the cache answers id with want (want NULL: it does not answer). */
static bool answers(const char *id, const char *want)
{
    size_t len = 0;
    char *got = settings_cache_get(id, &len);
    bool same = want ? got && len == strlen(want) && strcmp(got, want) == 0 : got == NULL;
    free(got);
    return same;
}

static void put(const char *id, const char *doc)
{
    settings_cache_put(id, doc, settings_cache_ticket());
}

static int fresh(void **state)
{
    (void)state;
    settings_cache_forget_all();
    settings_cache_serve_until(monotonic_ms() + 60000);
    return 0;
}

static void a_document_is_answered_only_while_the_cache_may(void **state)
{
    (void)state;
    put(ids[0], "{\"a\":1}");
    assert_true(answers(ids[0], "{\"a\":1}"));
    settings_cache_stop_serving();
    assert_true(answers(ids[0], NULL));
    settings_cache_serve_until(monotonic_ms() - 1); /* a lease that has run out */
    assert_true(answers(ids[0], NULL));
    settings_cache_serve_until(monotonic_ms() + 60000);
    assert_true(answers(ids[0], "{\"a\":1}"));
}

static void a_document_read_before_a_change_was_applied_is_not_kept(void **state)
{
    (void)state;
    uint64_t ticket = settings_cache_ticket();
    settings_cache_forget(&ids[3], 1); /* any tenant's change, applied during the read */
    settings_cache_put(ids[1], "{\"old\":true}", ticket);
    assert_true(answers(ids[1], NULL));

    ticket = settings_cache_ticket();
    settings_cache_forget_all();
    settings_cache_put(ids[1], "{\"old\":true}", ticket);
    assert_true(answers(ids[1], NULL));

    put(ids[1], "{\"new\":true}"); /* read after the change: kept */
    assert_true(answers(ids[1], "{\"new\":true}"));
}

static void a_change_forgets_its_tenants_and_keeps_the_others(void **state)
{
    (void)state;
    put(ids[0], "{\"t\":0}");
    put(ids[1], "{\"t\":1}");
    put(ids[2], "{\"t\":2}");
    const char changed[2][UUID_STR_LEN] = {"00000000-0000-4000-8000-000000000001",
                                           "00000000-0000-4000-8000-000000000003"};
    settings_cache_forget(changed, 2);
    assert_true(answers(ids[0], NULL));
    assert_true(answers(ids[1], "{\"t\":1}"));
    assert_true(answers(ids[2], NULL));
    settings_cache_forget_all();
    assert_true(answers(ids[1], NULL));
}

static void a_newer_document_replaces_the_older(void **state)
{
    (void)state;
    put(ids[0], "{\"v\":1}");
    put(ids[0], "{\"v\":2, \"longer\":\"yes\"}");
    assert_true(answers(ids[0], "{\"v\":2, \"longer\":\"yes\"}"));
}

static void the_least_recently_read_goes_first_at_the_bound(void **state)
{
    (void)state;
    for (int i = 0; i < BOUND; i++)
        put(ids[i], "{}");
    assert_true(answers(ids[0], "{}")); /* read: 1 is now the least recent */
    put(ids[3], "{\"t\":3}");
    assert_true(answers(ids[1], NULL));
    assert_true(answers(ids[0], "{}"));
    assert_true(answers(ids[2], "{}"));
    assert_true(answers(ids[3], "{\"t\":3}"));
    put(ids[4], "{\"t\":4}"); /* 0 was read before 2 and 3: it goes */
    assert_true(answers(ids[0], NULL));
    assert_true(answers(ids[4], "{\"t\":4}"));
}

static int setup(void **state)
{
    (void)state;
    settings_cache_init(BOUND);
    return settings_cache_enabled() ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    settings_cache_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(a_document_is_answered_only_while_the_cache_may, fresh),
        cmocka_unit_test_setup(a_document_read_before_a_change_was_applied_is_not_kept, fresh),
        cmocka_unit_test_setup(a_change_forgets_its_tenants_and_keeps_the_others, fresh),
        cmocka_unit_test_setup(a_newer_document_replaces_the_older, fresh),
        cmocka_unit_test_setup(the_least_recently_read_goes_first_at_the_bound, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
